//! Ed25519 public keys and signatures as plain byte newtypes (encodable, comparable),
//! with verification and batch verification.
//!
//! # One verification rule: ZIP-215
//!
//! Every Ed25519 signature Verity checks (transactions at admission, in block validation,
//! in replay and in audit; consensus votes in certificates, evidence and light clients;
//! DSSE envelopes, run signatures, approvals) is checked by the one rule of
//! [ZIP-215](https://zips.z.cash/zip-0215), through `ed25519-zebra`, its reference
//! implementation: the cofactored equation `[8][s]B = [8]R + [8][k]A`, `s` canonical.
//! It is the rule Commonware's consensus engine counts votes by, so a vote the engine
//! counted is a vote Verity accepts; and batch verification of the cofactored equation
//! accepts exactly what single verification accepts (short of a 2^-128 chance), so a
//! signature's fate never depends on which batch it was checked in. (The cofactorless
//! equation of `verify_strict` cannot be batched that way: a signature whose nonce point
//! has a small-order component passes a batch for one choice of coefficients in eight.)
//! Signatures stay non-malleable: `R`'s bytes are hashed into `k`, so another `R` (a
//! torsion point added, another encoding) needs another `s`, which only the key's owner
//! can compute.
//!
//! Keys are checked where they enter the ledger ([`PublicKey::validate`]: accounts,
//! rotations, genesis, validators): a canonical encoding of a point of the prime-order
//! subgroup. A small-order key would let anyone sign for it (ZIP-215 accepts the
//! identity key's "universal" signatures), so no such key can ever hold an account.

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::Signer;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

use crate::error::TypesError;

/// An Ed25519 public key (32 bytes). Shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PublicKey(pub [u8; 32]);

/// An Ed25519 signature (64 bytes). Shown as 128 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl PublicKey {
    /// Parses the key as a curve point.
    pub fn to_dalek(&self) -> Result<ed25519_dalek::VerifyingKey, TypesError> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).map_err(|_| TypesError::InvalidPublicKey)
    }

    /// Checks a key that enters the ledger (an account's key, a rotation, a genesis
    /// account or validator, a validator added later): the canonical encoding of a point
    /// of the prime-order subgroup. Refuses undecodable bytes, non-canonical encodings,
    /// small-order points (for which signatures can be forged) and points with a
    /// small-order component (never produced by a real key).
    pub fn validate(&self) -> Result<(), TypesError> {
        let point = self.to_dalek()?.to_edwards();
        let weak = |reason: &'static str| Err(TypesError::WeakPublicKey { key: self.to_hex(), reason });
        if point.compress().to_bytes() != self.0 {
            return weak("not the canonical encoding of its point");
        }
        if point.is_small_order() {
            return weak("a point of small order, for which anyone can forge signatures");
        }
        if !point.is_torsion_free() {
            return weak("a point with a small-order component, which no real key has");
        }
        Ok(())
    }

    /// Verifies `sig` over `msg` under this key by the ZIP-215 rule (see the module
    /// docs): the one rule for every signature on the ledger.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), TypesError> {
        let vk = ed25519_zebra::VerificationKey::try_from(self.0).map_err(|_| TypesError::InvalidPublicKey)?;
        vk.verify(&ed25519_zebra::Signature::from_bytes(&sig.0), msg).map_err(|_| TypesError::BadSignature)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A signing key. Never encoded on the ledger; kept in keystore files.
///
/// Wiped from memory on drop: ed25519-dalek's `SigningKey` zeroises its secret in its
/// own `Drop` when its `zeroize` feature is on, which the workspace enables explicitly
/// (rather than relying on the crate's default features). [`SecretKey::seed`] returns a
/// copy the caller should hold in `zeroize::Zeroizing`.
pub struct SecretKey(ed25519_dalek::SigningKey);

// The only field zeroises itself on drop; the check below fails to compile if the
// `zeroize` feature of ed25519-dalek is ever turned off.
impl zeroize::ZeroizeOnDrop for SecretKey {}
const _: () = {
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    let _ = zeroize_on_drop::<ed25519_dalek::SigningKey>;
};

impl SecretKey {
    /// Builds a key from its 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SecretKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed (what a keystore stores).
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl Clone for SecretKey {
    fn clone(&self) -> Self {
        SecretKey(self.0.clone())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public={})", self.public_key().to_hex())
    }
}

/// Verifies many signatures by the same rule as [`PublicKey::verify`] (ZIP-215), at
/// batch speed: one cofactored batch equation for all of them (signatures of one key
/// share a term), and only if that fails each one alone to find the first culprit.
/// Deterministic: the cofactored batch accepts exactly the signatures that verify one
/// by one (short of a 2^-128 chance), whatever else is in the batch, and its
/// coefficients are derived from the inputs, not drawn at random.
/// `Err(i)`: the first signature that does not verify.
pub fn verify_each(messages: &[&[u8]], sigs: &[Signature], keys: &[PublicKey]) -> Result<(), usize> {
    if messages.len() != sigs.len() || sigs.len() != keys.len() {
        return Err(messages.len().min(sigs.len()).min(keys.len()));
    }
    if keys.is_empty() {
        return Ok(());
    }
    let mut batch = ed25519_zebra::batch::Verifier::new();
    // The coefficients' seed commits to every input (Fiat-Shamir), so they are fixed
    // only after the signatures are.
    let mut transcript = Sha256::new();
    transcript.update(b"verity/batch-verify/v1");
    for ((m, s), k) in messages.iter().zip(sigs).zip(keys) {
        batch.queue((ed25519_zebra::VerificationKeyBytes::from(k.0), ed25519_zebra::Signature::from_bytes(&s.0), m));
        transcript.update(k.0);
        transcript.update(s.0);
        transcript.update((m.len() as u64).to_le_bytes());
        transcript.update(m);
    }
    let seed: [u8; 32] = transcript.finalize().into();
    if batch.verify(rand_chacha::ChaCha20Rng::from_seed(seed)).is_ok() {
        return Ok(());
    }
    for (i, ((m, s), k)) in messages.iter().zip(sigs).zip(keys).enumerate() {
        if k.verify(m, s).is_err() {
            return Err(i);
        }
    }
    // The batch equation failed but every signature verifies alone: impossible for the
    // cofactored equation except with probability 2^-128. Refuse the whole batch rather
    // than accept what the batch refused.
    Err(0)
}

/// Signatures no honest signer produces, for tests of the verification rule (the
/// simulation's Byzantine validator signs its votes with these). Each needs the signer's
/// seed: nothing here forges a signature.
pub mod adversarial {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};

    use super::Signature;

    /// Signs `msg` with the key of `seed` as RFC 8032 does, except that the nonce point is
    /// `R = [r]B + T` with `T` a point of order eight, and `k` is hashed over that `R`.
    /// The result satisfies the cofactored equation (ZIP-215: valid) but not the
    /// cofactorless one (`verify_strict`: invalid, and a cofactorless batch accepts it
    /// for one choice of coefficients in eight).
    pub fn sign_with_torsion_nonce(seed: &[u8; 32], msg: &[u8]) -> Signature {
        let h = Sha512::digest(seed);
        let mut a_bytes = [0u8; 32];
        a_bytes.copy_from_slice(&h[..32]);
        a_bytes[0] &= 248;
        a_bytes[31] &= 127;
        a_bytes[31] |= 64;
        let a = Scalar::from_bytes_mod_order(a_bytes);
        let public = (ED25519_BASEPOINT_POINT * a).compress();
        let r = Scalar::from_bytes_mod_order_wide(
            &Sha512::new().chain_update(&h[32..]).chain_update(msg).finalize().into(),
        );
        let nonce = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[1]).compress();
        let k = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(nonce.as_bytes())
                .chain_update(public.as_bytes())
                .chain_update(msg)
                .finalize()
                .into(),
        );
        let s = r + k * a;
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(nonce.as_bytes());
        out[32..].copy_from_slice(s.as_bytes());
        Signature(out)
    }
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], TypesError> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return Err(TypesError::InvalidHex(format!("expected {} hex digits, got {}", 2 * N, s.len())));
    }
    hex::decode_to_slice(s, &mut out).map_err(|e| TypesError::InvalidHex(e.to_string()))?;
    Ok(out)
}

macro_rules! hex_newtype {
    ($name:ident, $n:literal) => {
        impl FromStr for $name {
            type Err = TypesError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name(parse_hex::<$n>(s)?))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.0))
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_newtype!(PublicKey, 32);
hex_newtype!(Signature, 64);

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_and_messages() -> (Vec<SecretKey>, Vec<Vec<u8>>) {
        ((0..8u8).map(|i| SecretKey::from_seed([i; 32])).collect(), (0..8u8).map(|i| vec![i; 10]).collect())
    }

    #[test]
    fn sign_verify_and_batch() {
        let (keys, msgs) = keys_and_messages();
        let sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let pks: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        for i in 0..8 {
            assert!(pks[i].verify(&msgs[i], &sigs[i]).is_ok());
            assert_eq!(pks[i].verify(b"other", &sigs[i]), Err(TypesError::BadSignature));
            assert_eq!(pks[i].validate(), Ok(()));
        }
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let mut bad = sigs.clone();
        bad[3].0[0] ^= 1;
        assert_eq!(verify_each(&refs, &sigs, &pks), Ok(()));
        assert_eq!(verify_each(&refs, &bad, &pks), Err(3));
        assert_eq!(verify_each(&refs[..7], &sigs, &pks), Err(7));
        assert_eq!(verify_each(&[], &[], &[]), Ok(()));
        // `s` not reduced (s + l): the same point equation, refused as non-canonical.
        let mut unreduced = sigs[2];
        // l, the order of the base point, little-endian.
        let mut l = [0u8; 32];
        l[..16].copy_from_slice(&0x14def9dea2f79cd65812631a5cf5d3ed_u128.to_le_bytes());
        l[31] = 0x10;
        let mut carry = 0u16;
        for (byte, lj) in unreduced.0[32..].iter_mut().zip(l) {
            let v = *byte as u16 + lj as u16 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0, "s + l fits in 32 bytes");
        assert_eq!(pks[2].verify(&msgs[2], &unreduced), Err(TypesError::BadSignature));
    }

    /// The identity key: every (R = identity, s = 0) is a "universal" signature for it
    /// under the cofactored rule. It can never enter the ledger.
    fn identity_key() -> PublicKey {
        let mut k = [0u8; 32];
        k[0] = 1;
        PublicKey(k)
    }

    #[test]
    fn keys_entering_the_ledger_are_checked() {
        let good = SecretKey::from_seed([9; 32]).public_key();
        assert_eq!(good.validate(), Ok(()));
        let refused = |k: PublicKey| matches!(k.validate(), Err(TypesError::WeakPublicKey { .. }));
        // Small order: the identity and every other point of order 2, 4 or 8.
        for t in curve25519_dalek::constants::EIGHT_TORSION {
            assert!(refused(PublicKey(t.compress().to_bytes())), "{t:?}");
        }
        assert!(refused(identity_key()));
        // Mixed order: a real key plus a point of order 8.
        let mixed = good.to_dalek().expect("point").to_edwards() + curve25519_dalek::constants::EIGHT_TORSION[1];
        assert!(refused(PublicKey(mixed.compress().to_bytes())));
        // A non-canonical encoding of the identity (y = p + 1).
        let mut noncanonical = [0xffu8; 32];
        noncanonical[0] = 0xee;
        noncanonical[31] = 0x7f;
        assert!(matches!(
            PublicKey(noncanonical).validate(),
            Err(TypesError::WeakPublicKey { .. }) | Err(TypesError::InvalidPublicKey)
        ));
        // Not a point at all.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(PublicKey(off_curve).validate(), Err(TypesError::InvalidPublicKey));
    }

    #[test]
    fn universal_signature_of_the_identity_key() {
        // Why small-order keys are refused where they enter: this signature verifies
        // for every message under the identity key.
        let mut universal = [0u8; 64];
        universal[0] = 1;
        for msg in [b"pay alice".as_slice(), b"pay mallory"] {
            assert_eq!(identity_key().verify(msg, &Signature(universal)), Ok(()));
        }
    }

    #[test]
    fn a_torsion_nonce_gets_one_verdict_in_every_batch() {
        // A real key's signature whose nonce point has an order-8 component: valid by
        // the one rule (ZIP-215), alone and in any batch. Before, admission's
        // cofactorless batch admitted it for one batch composition in eight while
        // single (strict) verification refused it, so replay failed on the ledger.
        let (keys, msgs) = keys_and_messages();
        let odd = adversarial::sign_with_torsion_nonce(&keys[0].seed(), &msgs[0]);
        let pk = keys[0].public_key();
        assert_eq!(pk.verify(&msgs[0], &odd), Ok(()));
        // Not valid under the cofactorless rule, which the engine does not use.
        let dalek = ed25519_dalek::Signature::from_bytes(&odd.0);
        assert!(pk.to_dalek().expect("key").verify_strict(&msgs[0], &dalek).is_err());
        let mut verdicts = std::collections::BTreeSet::new();
        for n in 1..=48usize {
            // Batches of different sizes and contents: the verdict must never change.
            let idx: Vec<usize> = (0..n).map(|j| (j * 5 + n) % 8).collect();
            let mut sigs: Vec<Signature> = idx.iter().map(|&j| keys[j].sign(&msgs[j])).collect();
            let mut ms: Vec<&[u8]> = idx.iter().map(|&j| msgs[j].as_slice()).collect();
            let mut pks: Vec<PublicKey> = idx.iter().map(|&j| keys[j].public_key()).collect();
            sigs.push(odd);
            ms.push(&msgs[0]);
            pks.push(pk);
            verdicts.insert(verify_each(&ms, &sigs, &pks).map_err(|i| i == n));
            // The same signature over another message is refused in every batch.
            ms[n] = &msgs[1];
            verdicts.insert(verify_each(&ms, &sigs, &pks).map_err(|i| i == n));
        }
        assert_eq!(verdicts.into_iter().collect::<Vec<_>>(), vec![Ok(()), Err(true)]);
        // Nobody else can re-randomise it: another nonce encoding changes `k`.
        let mut moved = odd;
        moved.0[0] ^= 1;
        assert_eq!(pk.verify(&msgs[0], &moved), Err(TypesError::BadSignature));
    }

    #[test]
    fn hex_forms() {
        let pk = SecretKey::from_seed([7; 32]).public_key();
        assert_eq!(pk.to_string().parse::<PublicKey>(), Ok(pk));
        assert!("abcd".parse::<PublicKey>().is_err());
    }
}
