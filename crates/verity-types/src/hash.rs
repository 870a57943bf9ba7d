//! SHA-256 digests.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

use crate::error::TypesError;

/// A SHA-256 digest. Shown and parsed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero digest, used for "no parent" and empty subtrees.
    pub const ZERO: Hash = Hash([0u8; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex_string(&self.0)
    }

    /// The 64 hex digits in a stack buffer: JSON carries tens of thousands of hashes in a
    /// large audit bundle, and this avoids an allocation and a per-character iterator
    /// for each of them.
    fn hex_digits(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        hex::encode_to_slice(self.0, &mut out).expect("64 digits for 32 bytes");
        out
    }
}

/// Lowercase hex of `bytes`, through `hex::encode_to_slice` (a table lookup per byte;
/// `hex::encode` collects characters one by one and was a tenth of bundle verification).
pub(crate) fn hex_string(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    hex::encode_to_slice(bytes, &mut out).expect("the buffer holds two digits per byte");
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(bytes).into())
}

/// SHA-256 of the concatenation of `parts`, without copying them together.
pub fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex_digits()).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// The value of each hex digit (either case), `NOT_HEX` for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};
const NOT_HEX: u8 = 0xff;

impl FromStr for Hash {
    type Err = TypesError;
    /// Parses 64 hex digits (either case, optional `0x`) with a table lookup per digit:
    /// audit bundles carry tens of thousands of hashes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        if s.len() != 64 {
            return Err(TypesError::InvalidHex(format!("expected 64 hex digits, got {}", s.len())));
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let (high, low) = (HEX_VALUE[pair[0] as usize], HEX_VALUE[pair[1] as usize]);
            if high == NOT_HEX || low == NOT_HEX {
                return Err(TypesError::InvalidHex(format!("{s:?} holds a character that is not a hex digit")));
            }
            *byte = high << 4 | low;
        }
        Ok(Hash(out))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(std::str::from_utf8(&self.hex_digits()).expect("hex digits are ASCII"))
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor of `&str`: parsing a hash allocates nothing.
        struct HexHash;
        impl serde::de::Visitor<'_> for HexHash {
            type Value = Hash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("64 hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Hash, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(HexHash)
    }
}

/// Serde helpers for byte vectors shown as hex in JSON.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex_string(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// Serde helpers for optional byte vectors shown as hex in JSON.
pub mod hex_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&super::hex_string(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| hex::decode(s).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_golden() {
        // FIPS 180-2 test vector "abc".
        assert_eq!(sha256(b"abc").to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_parts(&[b"a", b"bc"]), sha256(b"abc"));
    }

    #[test]
    fn hex_roundtrip_and_errors() {
        let h = sha256(b"x");
        assert_eq!(h.to_hex().parse::<Hash>(), Ok(h));
        assert!("zz".parse::<Hash>().is_err());
        assert!("g".repeat(64).parse::<Hash>().is_err());
        let json = serde_json::to_string(&h).expect("serialize");
        assert_eq!(json, format!("\"{}\"", hex::encode(h.0)), "the same text as the hex crate");
        assert_eq!(serde_json::from_str::<Hash>(&json).expect("parse"), h);
        assert_eq!(format!("{h}"), hex::encode(h.0));
        // From a reader too (no borrowed string), and errors as errors.
        assert_eq!(serde_json::from_reader::<_, Hash>(json.as_bytes()).expect("parse"), h);
        assert!(serde_json::from_str::<Hash>("\"zz\"").is_err());
        assert!(serde_json::from_str::<Hash>("7").is_err());
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_string(&all), hex::encode(&all));
    }

    #[test]
    fn hex_parsing_agrees_with_the_hex_crate_on_every_character() {
        let h = sha256(b"y");
        assert_eq!(h.to_hex().to_uppercase().parse::<Hash>(), Ok(h));
        assert_eq!(format!("0x{h}").parse::<Hash>(), Ok(h));
        // Every byte value in every position class (high and low digit).
        for c in 0..=255u8 {
            for at in [0usize, 1, 63] {
                let mut text = h.to_hex().into_bytes();
                text[at] = c;
                let Ok(text) = String::from_utf8(text) else { continue };
                let mut expected = [0u8; 32];
                let ours = text.parse::<Hash>();
                match hex::decode_to_slice(&text, &mut expected) {
                    Ok(()) => assert_eq!(ours, Ok(Hash(expected)), "{text}"),
                    Err(_) => assert!(ours.is_err(), "{text}"),
                }
            }
        }
        assert!("é".repeat(32).parse::<Hash>().is_err());
    }
}
