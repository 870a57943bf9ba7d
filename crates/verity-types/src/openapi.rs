//! OpenAPI schemas (utoipa's `ToSchema`) of the values the node's HTTP API carries, for
//! the document verity-api and the node generate. Built only with the `openapi` feature:
//! an offline verifier that depends on this crate does not compile utoipa.
//!
//! A schema says what serde writes, which is not always what a derive would read from
//! the Rust type. Most types derive `ToSchema` beside their definition (behind
//! `cfg_attr(feature = "openapi", ...)`), with a field's schema named where its serde
//! form differs from its type (`value_type = Amount` on a `u128` written as a decimal
//! string). The types with a hand-written serde form have their schema written here:
//! hashes, keys and signatures (lowercase hex), escrow ids, record references and kinds
//! (text), and the marker types below for forms that have no Rust type of their own.
//! Identifiers get theirs from `string_id!`, and `Action` and `Event` from the macros
//! that declare them, so a new identifier or variant cannot miss one.
//!
//! # Status
//! Follows the JSON forms of the types: a change of a serde form changes its schema here
//! in the same commit (the node's conformance test holds responses to the document).

use std::borrow::Cow;

use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::hash::Hash;
use crate::ids::EscrowId;
use crate::keys::{PublicKey, Signature};
use crate::limits::ID_BYTES_MAX;
use crate::provenance::{RecordKind, RecordRef};

/// A string schema with a pattern and a description.
pub(crate) fn string(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).description(Some(description)).into()
}

/// The pattern of an identifier (`ids::check_id`): 1 to 64 of `a-z 0-9 . _ -`, starting
/// with a letter or digit.
pub(crate) fn id_pattern() -> String {
    format!("^{}$", id_chars())
}

fn id_chars() -> String {
    format!("[a-z0-9][a-z0-9._-]{{0,{}}}", ID_BYTES_MAX - 1)
}

/// Implements `ToSchema` for a type whose JSON is a string, named `$name` in the document.
macro_rules! string_schema {
    ($ty:ty, $name:literal, $pattern:expr, $description:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string(&$pattern, $description)
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

const HEX_32: &str = "^[0-9a-f]{64}$";

string_schema!(Hash, "Hash", HEX_32, "A SHA-256 digest: 64 lowercase hex digits.");
string_schema!(
    EscrowId,
    "EscrowId",
    HEX_32,
    "An escrow, named by the hash of the transaction that locked it: 64 lowercase hex digits."
);
string_schema!(PublicKey, "PublicKey", HEX_32, "An Ed25519 public key: 64 lowercase hex digits.");
string_schema!(Signature, "Signature", "^[0-9a-f]{128}$", "An Ed25519 signature: 128 lowercase hex digits.");
string_schema!(
    RecordRef,
    "RecordRef",
    format!(
        "^((content|optout|challenge|attestation|deployment|decision|dispute):[0-9a-f]{{64}}|run:{id}|(dataset|model):{id}@[1-9][0-9]{{0,9}})$",
        id = id_chars()
    ),
    "A provenance record's reference: `KIND:HASH` (content, optout, challenge, attestation, deployment, \
     decision, dispute), `run:ID`, or `dataset:NAME@VERSION` / `model:NAME@VERSION`."
);

impl PartialSchema for RecordKind {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(RecordKind::ALL.map(RecordKind::as_str)))
            .description(Some("The kind of a provenance record."))
            .into()
    }
}

impl ToSchema for RecordKind {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RecordKind")
    }
}

/// A `u128` amount, which JSON carries as a decimal string (`crate::amount`): the
/// `value_type` of amount fields.
pub struct Amount;

string_schema!(
    Amount,
    "Amount",
    "^(0|[1-9][0-9]{0,38})$",
    "An amount (an unsigned 128-bit integer) as a decimal string: JSON numbers lose precision above 2^53."
);

/// Bytes written as lowercase hex (`hash::hex_bytes`): the `value_type` of such fields.
pub struct HexBytes;

string_schema!(HexBytes, "HexBytes", "^([0-9a-f]{2})*$", "Bytes as lowercase hex.");

/// Bytes written as standard, padded base64 (DSSE envelopes): the `value_type` of such
/// fields.
pub struct Base64;

string_schema!(Base64, "Base64", "^[A-Za-z0-9+/]*={0,2}$", "Bytes as standard base64 with padding.");

/// The schema of an enum serde tags internally with `tag` whose every variant wraps a
/// struct: one of the structs' objects, each with `tag` set to its variant's name.
/// `variants` are the (tag value, struct schema name) pairs.
pub(crate) fn tagged_structs(tag: &str, variants: &[(&str, Cow<'static, str>)]) -> RefOr<Schema> {
    let mut one_of = OneOfBuilder::new();
    for (value, name) in variants {
        let tag_schema = ObjectBuilder::new().schema_type(Type::String).enum_values(Some([*value]));
        one_of = one_of.item(
            AllOfBuilder::new()
                .item(Ref::from_schema_name(name.clone()))
                .item(ObjectBuilder::new().schema_type(Type::Object).property(tag, tag_schema).required(tag)),
        );
    }
    one_of.into()
}

/// Adds `T`'s schema and the schemas it refers to, to `out` (a `ToSchema::schemas` of a
/// hand-written schema that refers to `T`).
pub(crate) fn push<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// Implements `ToSchema` for an enum serde tags internally with `type` whose every
/// variant wraps a struct (`Action`, `Event`), from its `(type name, struct)` list: one
/// of the structs, with `type` set to its variant's name.
macro_rules! tagged_structs_schema {
    ($enum:ident, $(($name:literal, $ty:ty)),* $(,)?) => {
        impl utoipa::PartialSchema for $enum {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::openapi::tagged_structs("type", &[$(($name, <$ty as utoipa::ToSchema>::name())),*])
            }
        }

        impl utoipa::ToSchema for $enum {
            fn schemas(out: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                $(crate::openapi::push::<$ty>(out);)*
            }
        }
    };
}

pub(crate) use tagged_structs_schema;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_pattern_is_the_identifier_rule() {
        assert_eq!(id_pattern(), "^[a-z0-9][a-z0-9._-]{0,63}$");
        assert_eq!(u128::MAX.to_string().len(), 39, "the Amount pattern allows 39 digits");
    }
}
