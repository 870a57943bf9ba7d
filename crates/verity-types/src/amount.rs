//! JSON form of u128 amounts: decimal strings (JSON numbers lose precision above 2^53,
//! and serde cannot buffer u128 inside internally tagged enums). Numbers are accepted
//! on input too.

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

struct U128Visitor;

impl Visitor<'_> for U128Visitor {
    type Value = u128;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer amount, as a decimal string or a number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u128, E> {
        Ok(v as u128)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u128, E> {
        u128::try_from(v).map_err(|_| E::custom("amount must not be negative"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u128, E> {
        v.parse::<u128>().map_err(|e| E::custom(format!("invalid amount {v:?}: {e}")))
    }
}

pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
    d.deserialize_any(U128Visitor)
}

/// `Option<u128>` as an optional decimal string.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super")] u128);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// `Vec<(AccountId, u128)>` splits with string amounts.
pub mod splits {
    use crate::ids::AccountId;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Pair(AccountId, #[serde(with = "super")] u128);

    pub fn serialize<S: Serializer>(v: &[(AccountId, u128)], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for (a, n) in v {
            seq.serialize_element(&Pair(a.clone(), *n))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(AccountId, u128)>, D::Error> {
        Ok(Vec::<Pair>::deserialize(d)?.into_iter().map(|p| (p.0, p.1)).collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::{AccountId, Action, AssetId, EscrowId, EscrowReleased, Event, Hash, Transfer};

    #[test]
    fn amounts_roundtrip_through_json_as_strings() {
        let big = u128::MAX - 7;
        let a = Action::Transfer(Transfer {
            to: AccountId::new("bob").expect("id"),
            asset: AssetId::new("usd").expect("id"),
            amount: big,
            memo: String::new(),
        });
        let json = serde_json::to_string(&a).expect("json");
        assert!(json.contains(&format!("\"amount\":\"{big}\"")), "{json}");
        assert_eq!(serde_json::from_str::<Action>(&json).expect("parse"), a);
        let e = Event::EscrowReleased(EscrowReleased {
            escrow: EscrowId(Hash::ZERO),
            asset: AssetId::new("usd").expect("id"),
            splits: vec![(AccountId::new("a").expect("id"), big)],
        });
        let json = serde_json::to_string(&e).expect("json");
        assert_eq!(serde_json::from_str::<Event>(&json).expect("parse"), e);
        // Plain numbers are accepted on input outside tagged enums; negative ones are not.
        #[derive(serde::Deserialize)]
        struct W(#[serde(with = "super")] u128);
        assert_eq!(serde_json::from_str::<W>("12").expect("n").0, 12);
        assert!(serde_json::from_str::<W>("-1").is_err());
        assert!(serde_json::from_str::<W>("\"1x\"").is_err());
    }
}
