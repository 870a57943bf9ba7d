//! Identifiers of provenance records: datasets, runs, models, environments, attestation kinds, content.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::TypesError;
use crate::hash::Hash;
use crate::ids::{check_id, string_id};

string_id!(
    /// A dataset (its versions are numbered from 1).
    DatasetId,
    "dataset id"
);
string_id!(
    /// A training run.
    RunId,
    "run id"
);
string_id!(
    /// A model (its versions are numbered from 1).
    ModelId,
    "model id"
);
string_id!(
    /// A deployment environment (`staging`, `production`, ...).
    EnvId,
    "environment"
);
string_id!(
    /// A kind of evaluation attestation (`performance`, `fairness`, `safety`, ...).
    AttestationKind,
    "attestation kind"
);

/// A piece of content, named by the SHA-256 of its bytes.
pub type ContentId = Hash;
