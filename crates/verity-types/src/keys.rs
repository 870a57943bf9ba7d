//! Ed25519 public keys and signatures as plain byte newtypes (encodable, comparable),
//! with verification and batch verification.

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::Signer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
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

    /// Verifies `sig` over `msg` under this key (strict verification: rejects
    /// non-canonical and small-order encodings).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), TypesError> {
        let vk = self.to_dalek()?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
        vk.verify_strict(msg, &sig).map_err(|_| TypesError::BadSignature)
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

/// Verifies many (message, signature, key) triples at once. Returns `Ok` only if all
/// verify. On failure the caller falls back to single verification to find the culprits.
pub fn verify_batch(messages: &[&[u8]], sigs: &[Signature], keys: &[PublicKey]) -> Result<(), TypesError> {
    if messages.len() != sigs.len() || sigs.len() != keys.len() {
        return Err(TypesError::BadSignature);
    }
    let mut vks = Vec::with_capacity(keys.len());
    for k in keys {
        vks.push(k.to_dalek()?);
    }
    let sigs: Vec<ed25519_dalek::Signature> = sigs.iter().map(|s| ed25519_dalek::Signature::from_bytes(&s.0)).collect();
    ed25519_dalek::verify_batch(messages, &sigs, &vks).map_err(|_| TypesError::BadSignature)
}

/// Decompressed public keys of recent signers, by compressed bytes.
static VERIFYING_KEYS: std::sync::Mutex<Option<std::collections::HashMap<[u8; 32], ed25519_dalek::VerifyingKey>>> =
    std::sync::Mutex::new(None);
/// Most cached keys (about 10 MB); the cache starts over when full.
const VERIFYING_KEYS_MAX: usize = 65_536;

/// Verifies many signatures, each as strictly as [`PublicKey::verify`], at batch speed:
/// one batch equation for all of them (about three times faster than one by one), and
/// only if that fails (or a key is of small order, which the batch equation would not
/// refuse) each one strictly. `Err(i)`: the first signature that does not verify.
pub fn verify_each(messages: &[&[u8]], sigs: &[Signature], keys: &[PublicKey]) -> Result<(), usize> {
    if messages.len() != sigs.len() || sigs.len() != keys.len() {
        return Err(messages.len().min(sigs.len()).min(keys.len()));
    }
    // Senders sign many transactions: each key is decompressed once per process (half
    // the cost of a batch verification is decompressing points) and kept in a bounded
    // cache; weak or invalid keys are not cached.
    let mut vks = Vec::with_capacity(keys.len());
    {
        let mut cache = VERIFYING_KEYS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cache = cache.get_or_insert_with(std::collections::HashMap::new);
        for k in keys {
            let vk = match cache.get(&k.0) {
                Some(vk) => *vk,
                None => match k.to_dalek().ok().filter(|vk| !vk.is_weak()) {
                    Some(vk) => {
                        if cache.len() >= VERIFYING_KEYS_MAX {
                            cache.clear();
                        }
                        cache.insert(k.0, vk);
                        vk
                    }
                    None => break,
                },
            };
            vks.push(vk);
        }
    }
    if vks.len() == keys.len() {
        let dsigs: Vec<ed25519_dalek::Signature> =
            sigs.iter().map(|s| ed25519_dalek::Signature::from_bytes(&s.0)).collect();
        if ed25519_dalek::verify_batch(messages, &dsigs, &vks).is_ok() {
            return Ok(());
        }
    }
    for (i, ((m, s), k)) in messages.iter().zip(sigs).zip(keys).enumerate() {
        if k.verify(m, s).is_err() {
            return Err(i);
        }
    }
    Ok(())
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

    #[test]
    fn sign_verify_and_batch() {
        let keys: Vec<SecretKey> = (0..8u8).map(|i| SecretKey::from_seed([i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 10]).collect();
        let sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let pks: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        for i in 0..8 {
            assert!(pks[i].verify(&msgs[i], &sigs[i]).is_ok());
            assert_eq!(pks[i].verify(b"other", &sigs[i]), Err(TypesError::BadSignature));
        }
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        assert!(verify_batch(&refs, &sigs, &pks).is_ok());
        let mut bad = sigs.clone();
        bad[3].0[0] ^= 1;
        assert!(verify_batch(&refs, &bad, &pks).is_err());
        assert_eq!(verify_each(&refs, &sigs, &pks), Ok(()));
        assert_eq!(verify_each(&refs, &bad, &pks), Err(3));
        assert_eq!(verify_each(&refs[..7], &sigs, &pks), Err(7));
        // A small-order key is refused as the strict check refuses it, batch or not.
        let mut weak = pks.clone();
        weak[5] = PublicKey([0; 32]);
        weak[5].0[0] = 1; // the identity point
        assert_eq!(verify_each(&refs, &sigs, &weak), Err(5));
    }

    #[test]
    fn hex_forms() {
        let pk = SecretKey::from_seed([7; 32]).public_key();
        assert_eq!(pk.to_string().parse::<PublicKey>(), Ok(pk));
        assert!("abcd".parse::<PublicKey>().is_err());
    }
}
