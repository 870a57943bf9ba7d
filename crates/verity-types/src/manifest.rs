//! Dataset manifests: the off-ledger file that lists a dataset version's content, and the
//! commitments the ledger keeps of it.
//!
//! A manifest is canonical JSON (the exact bytes serde_json writes for
//! [`DatasetManifest`]: compact, fields in declaration order, items sorted by content id
//! with no repeats). Its SHA-256 is the manifest hash the ledger stores. The ledger also
//! stores an RFC 6962 root over the sorted content ids (leaf data = the 32 digest bytes),
//! so one item's membership can be proven without revealing the others.
//!
//! Schema `https://verity.dev/dataset-manifest/v1`:
//! ```json
//! {"schema":"https://verity.dev/dataset-manifest/v1","dataset":"digits","version":1,
//!  "items":[{"content":"<sha256 hex>","licence":{"spdx":"CC-BY-4.0"},"name":"a/b.png"}]}
//! ```
//! `name` (a relative path) is optional and only informative; `licence` is
//! `{"spdx": ID}` or `{"custom": "<sha256 of the terms>"}`.

use serde::{Deserialize, Serialize};

use crate::error::{ProofError, TypesError};
use crate::hash::{sha256, Hash};
use crate::limits::MANIFEST_ITEMS_MAX;
use crate::merkle;
use crate::proof::InclusionProof;
use crate::provenance::{check_sorted_unique, check_text, ContentId, DatasetId, Licence};

/// The manifest schema identifier.
pub const MANIFEST_SCHEMA: &str = "https://verity.dev/dataset-manifest/v1";

/// One item of a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestItem {
    pub content: ContentId,
    pub licence: Licence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A dataset manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetManifest {
    pub schema: String,
    pub dataset: DatasetId,
    pub version: u32,
    pub items: Vec<ManifestItem>,
}

impl DatasetManifest {
    /// Builds a manifest, sorting the items by content id. Refuses repeated content ids.
    pub fn new(dataset: DatasetId, version: u32, mut items: Vec<ManifestItem>) -> Result<Self, TypesError> {
        items.sort_by_key(|i| i.content);
        let m = DatasetManifest { schema: MANIFEST_SCHEMA.to_string(), dataset, version, items };
        m.validate()?;
        Ok(m)
    }

    /// Checks schema, version, item count, sort order, licences and names.
    pub fn validate(&self) -> Result<(), TypesError> {
        if self.schema != MANIFEST_SCHEMA {
            return Err(TypesError::InvalidField {
                field: "schema",
                reason: format!("is {:?}, expected {MANIFEST_SCHEMA:?}", self.schema),
            });
        }
        self.dataset.validate()?;
        if self.version == 0 {
            return Err(TypesError::InvalidField { field: "version", reason: "versions start at 1".into() });
        }
        if self.items.is_empty() || self.items.len() > MANIFEST_ITEMS_MAX {
            return Err(TypesError::InvalidField {
                field: "items",
                reason: format!("must hold 1 to {MANIFEST_ITEMS_MAX} items, got {}", self.items.len()),
            });
        }
        check_sorted_unique("items", &self.items, |i| i.content).map_err(|_| TypesError::InvalidField {
            field: "items",
            reason: "must be sorted by content id with no repeated content".into(),
        })?;
        for item in &self.items {
            item.licence.validate()?;
            if let Some(name) = &item.name {
                check_text("item name", name, 1024)?;
            }
        }
        Ok(())
    }

    /// The canonical bytes (what is hashed and what a manifest file holds).
    pub fn to_canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }

    /// Parses a manifest file, requiring it to be valid and canonical.
    pub fn from_canonical(bytes: &[u8]) -> Result<Self, TypesError> {
        let m: DatasetManifest = serde_json::from_slice(bytes)
            .map_err(|e| TypesError::InvalidField { field: "manifest", reason: e.to_string() })?;
        m.validate()?;
        if m.to_canonical() != bytes {
            return Err(TypesError::InvalidField {
                field: "manifest",
                reason: "not in canonical form (compact JSON as `verity dataset build` writes it)".into(),
            });
        }
        Ok(m)
    }

    /// SHA-256 of the canonical bytes.
    pub fn hash(&self) -> Hash {
        sha256(&self.to_canonical())
    }

    /// The leaf hashes of the content ids, in order.
    pub fn leaves(&self) -> Vec<Hash> {
        self.items.iter().map(|i| content_leaf(&i.content)).collect()
    }

    /// The RFC 6962 root over the sorted content ids.
    pub fn root(&self) -> Hash {
        merkle::root(&self.leaves())
    }

    /// The sorted set of licences of the items.
    pub fn licences(&self) -> Vec<Licence> {
        let set: std::collections::BTreeSet<&Licence> = self.items.iter().map(|i| &i.licence).collect();
        set.into_iter().cloned().collect()
    }

    /// A proof that `content` is an item, revealing nothing about the other items beyond
    /// their count and the sibling hashes on its path.
    pub fn prove(&self, content: &ContentId) -> Result<MembershipProof, TypesError> {
        let index = self.items.binary_search_by(|i| i.content.cmp(content)).map_err(|_| TypesError::InvalidField {
            field: "content",
            reason: format!("{content} is not in dataset {}@{}", self.dataset, self.version),
        })?;
        let size = self.items.len() as u64;
        let proof = merkle::inclusion_proof(&self.leaves(), index as u64, size)
            .map_err(|e| TypesError::InvalidField { field: "proof", reason: e.to_string() })?;
        Ok(MembershipProof {
            dataset: self.dataset.clone(),
            version: self.version,
            content: *content,
            root: self.root(),
            count: size,
            proof,
        })
    }
}

/// The leaf hash of a content id in a dataset's tree.
pub fn content_leaf(content: &ContentId) -> Hash {
    merkle::leaf_hash(content.as_bytes())
}

/// A self-contained proof that one content id belongs to a dataset version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipProof {
    pub dataset: DatasetId,
    pub version: u32,
    pub content: ContentId,
    /// The dataset version's root and item count (as recorded on the ledger).
    pub root: Hash,
    pub count: u64,
    pub proof: InclusionProof,
}

impl MembershipProof {
    /// Verifies the proof against a root and count (from the ledger's dataset record).
    pub fn verify(&self, root: &Hash, count: u64) -> Result<(), ProofError> {
        if self.proof.tree_size != count || self.count != count {
            return Err(ProofError::RootMismatch { which: "dataset (item count differs)" });
        }
        if self.root != *root {
            return Err(ProofError::RootMismatch { which: "dataset" });
        }
        self.proof.verify(&content_leaf(&self.content), root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(n: u32) -> DatasetManifest {
        let items = (0..n)
            .map(|i| ManifestItem {
                content: sha256(&i.to_le_bytes()),
                licence: Licence::Spdx(if i % 2 == 0 { "MIT" } else { "CC-BY-4.0" }.into()),
                name: Some(format!("f{i}.txt")),
            })
            .collect();
        DatasetManifest::new(DatasetId::new("ds").expect("id"), 1, items).expect("valid")
    }

    #[test]
    fn canonical_round_trip_and_refusals() {
        let m = manifest(9);
        let bytes = m.to_canonical();
        assert_eq!(DatasetManifest::from_canonical(&bytes).expect("canonical"), m);
        let pretty = serde_json::to_vec_pretty(&m).expect("json");
        assert!(DatasetManifest::from_canonical(&pretty).is_err(), "non-canonical whitespace is refused");
        let mut unsorted = m.clone();
        unsorted.items.swap(0, 1);
        assert!(unsorted.validate().is_err());
        let dup = vec![m.items[0].clone(), m.items[0].clone()];
        assert!(DatasetManifest::new(m.dataset.clone(), 1, dup).is_err());
        assert_eq!(m.licences(), vec![Licence::Spdx("CC-BY-4.0".into()), Licence::Spdx("MIT".into())]);
    }

    #[test]
    fn membership_proofs_verify_and_fail() {
        let m = manifest(13);
        let (root, count) = (m.root(), m.items.len() as u64);
        for item in &m.items {
            let p = m.prove(&item.content).expect("member");
            p.verify(&root, count).expect("verifies");
            let mut other = p.clone();
            other.content = sha256(b"not a member");
            assert!(other.verify(&root, count).is_err());
            assert!(p.verify(&sha256(b"other root"), count).is_err());
            assert!(p.verify(&root, count + 1).is_err());
        }
        assert!(m.prove(&sha256(b"absent")).is_err());
    }
}
