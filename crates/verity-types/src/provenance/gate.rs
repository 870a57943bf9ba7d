//! Deploy gates, pending gate changes, risk policies and deployments.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TypesError;
use crate::hash::Hash;
use crate::ids::{check_id, AccountId, OrgId};
use crate::limits::{GATE_EVALUATORS_MAX, GATE_METRICS_MAX, GATE_REQUIREMENTS_MAX};

use super::*;

/// One requirement of a deploy gate.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateRequirement {
    pub kind: AttestationKind,
    /// Environments it applies to (empty: every environment). Sorted.
    #[serde(default)]
    pub environments: Vec<EnvId>,
    /// Evaluators whose attestations count (empty: any account with the evaluator role). Sorted.
    #[serde(default)]
    pub evaluators: Vec<AccountId>,
    /// Minimum values of named metrics (for higher-is-better metrics) or maximum values
    /// (for lower-is-better ones), in ppm. Sorted by name.
    #[serde(default)]
    pub metrics: Vec<MetricBound>,
}

/// A bound on one metric in a gate.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricBound {
    pub name: String,
    pub bound_ppm: i64,
}

impl GateRequirement {
    pub fn validate(&self) -> Result<(), TypesError> {
        self.kind.validate()?;
        check_len("environments", &self.environments, 0, GATE_REQUIREMENTS_MAX)?;
        check_sorted_unique("environments", &self.environments, |e| e.clone())?;
        self.environments.iter().try_for_each(EnvId::validate)?;
        check_len("evaluators", &self.evaluators, 0, GATE_EVALUATORS_MAX)?;
        check_sorted_unique("evaluators", &self.evaluators, |e| e.clone())?;
        self.evaluators.iter().try_for_each(AccountId::validate)?;
        check_len("metrics", &self.metrics, 0, GATE_METRICS_MAX)?;
        check_sorted_unique("metrics", &self.metrics, |m| m.name.clone())?;
        self.metrics.iter().try_for_each(|m| check_metric_name(&m.name))
    }

    /// Whether the requirement applies to deploys into `env`.
    pub fn applies_to(&self, env: &EnvId) -> bool {
        self.environments.is_empty() || self.environments.contains(env)
    }

    /// Why `att` does not satisfy this requirement, or `None` when it does. Does not look
    /// at the attestation's model version or the evaluator's roles.
    pub fn shortfall(&self, att: &Attestation) -> Option<String> {
        if att.kind != self.kind {
            return Some(format!("kind is {}, not {}", att.kind, self.kind));
        }
        if att.revoked.is_some() {
            return Some("revoked".into());
        }
        if !att.passed {
            return Some("did not pass".into());
        }
        if !self.evaluators.is_empty() && !self.evaluators.contains(&att.evaluator) {
            return Some(format!("evaluator {} is not accepted by the gate", att.evaluator));
        }
        for bound in &self.metrics {
            let Some(m) = att.metrics.iter().find(|m| m.name == bound.name) else {
                return Some(format!("has no metric {}", bound.name));
            };
            let ok = if m.higher_is_better { m.value_ppm >= bound.bound_ppm } else { m.value_ppm <= bound.bound_ppm };
            if !ok {
                let rel = if m.higher_is_better { "below the minimum" } else { "above the maximum" };
                return Some(format!("metric {} = {} ppm is {rel} of {} ppm", m.name, m.value_ppm, bound.bound_ppm));
            }
        }
        None
    }
}

/// Checks a metric name: 1..=64 bytes of `a-z 0-9 _ . -`.
pub fn check_metric_name(name: &str) -> Result<(), TypesError> {
    check_id("metric name", name)
}

impl GateRequirement {
    /// Whether every attestation that satisfies `self` also satisfies `other` (same kind,
    /// evaluators among `other`'s, every bound of `other` present with the same value).
    /// A bound moved either way does not imply the old one: whether a metric's bound is a
    /// minimum or a maximum is said by the attestation's metric, not by the gate.
    pub fn implies(&self, other: &GateRequirement) -> bool {
        self.kind == other.kind
            && (other.evaluators.is_empty()
                || (!self.evaluators.is_empty() && self.evaluators.iter().all(|e| other.evaluators.contains(e))))
            && other.metrics.iter().all(|b| self.metrics.contains(b))
    }
}

/// What a deploy gate asks, as its organisation sets it (`SetGate` sets `requirements`
/// only; `SetGateRules` all of it).
///
/// Which requirements apply to a deploy into environment `E`:
/// - every requirement with no environments (unscoped) applies everywhere;
/// - if some requirement names `E`, those naming `E` apply too;
/// - if none names `E` (an unlisted environment), the `defaults` apply too, or, when the
///   gate has no `defaults`, every environment-scoped requirement. An environment name
///   nobody listed is never a way around a scoped requirement.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateRules {
    pub requirements: Vec<GateRequirement>,
    /// What a deploy into an environment no requirement names must satisfy besides the
    /// unscoped requirements (`None`: every environment-scoped requirement). The
    /// requirements here name no environments.
    #[serde(default)]
    pub defaults: Option<Vec<GateRequirement>>,
    /// Independent evaluation: attestations by evaluators of the model's organisation do
    /// not count.
    #[serde(default)]
    pub independent: bool,
}

impl GateRules {
    /// Rules of the `SetGate` form: requirements only.
    pub fn requirements(requirements: Vec<GateRequirement>) -> Self {
        GateRules { requirements, defaults: None, independent: false }
    }

    pub fn validate(&self) -> Result<(), TypesError> {
        check_gate(&self.requirements)?;
        if let Some(d) = &self.defaults {
            check_gate(d)?;
            if d.iter().any(|r| !r.environments.is_empty()) {
                return Err(TypesError::InvalidField {
                    field: "defaults",
                    reason: "default requirements apply to unlisted environments and name none".into(),
                });
            }
        }
        Ok(())
    }

    /// Whether some requirement names `env`.
    pub fn names(&self, env: &EnvId) -> bool {
        self.requirements.iter().any(|r| r.environments.contains(env))
    }

    /// The requirements a deploy into `env` must satisfy, in gate order (the
    /// requirements first, then the defaults), per the rule in the type's doc.
    pub fn applicable(&self, env: &EnvId) -> Vec<&GateRequirement> {
        if self.names(env) {
            return self.requirements.iter().filter(|r| r.applies_to(env)).collect();
        }
        match &self.defaults {
            Some(d) => self.requirements.iter().filter(|r| r.environments.is_empty()).chain(d).collect(),
            None => self.requirements.iter().collect(),
        }
    }

    /// Why `new` would be looser than `self` (a deploy that `self` refuses could pass
    /// `new`), or `None` when every requirement of `self` for every environment is
    /// implied by one of `new` for that environment and independence is kept. Checked
    /// for each environment either names and for one neither names.
    pub fn loosened_by(&self, new: &GateRules) -> Option<String> {
        if self.independent && !new.independent {
            return Some("it drops independent evaluation".into());
        }
        let mut envs: Vec<Option<&EnvId>> = vec![None];
        for r in self.requirements.iter().chain(&new.requirements) {
            envs.extend(r.environments.iter().map(Some));
        }
        envs.sort();
        envs.dedup();
        // An environment neither gate names: any name that is not listed will do.
        let unlisted = unlisted_env(self, new);
        for env in envs {
            let e = env.unwrap_or(&unlisted);
            let (old, now) = (self.applicable(e), new.applicable(e));
            if let Some(r) = old.iter().find(|r| !now.iter().any(|n| n.implies(r))) {
                let place = match env {
                    Some(e) => format!("environment {e}"),
                    None => "an unlisted environment".into(),
                };
                return Some(format!(
                    "a deploy to {place} would no longer need the {} requirement as it stands",
                    r.kind
                ));
            }
        }
        None
    }
}

/// A valid environment name that neither gate names.
fn unlisted_env(a: &GateRules, b: &GateRules) -> EnvId {
    (0u32..)
        .map(|i| EnvId(format!("unlisted-{i}")))
        .find(|e| !a.names(e) && !b.names(e))
        .expect("two gates name finitely many environments")
}

/// A model's deploy gate in force. Key: `prov/gate/<model>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GatePolicy {
    pub model: ModelId,
    pub requirements: Vec<GateRequirement>,
    /// See [`GateRules::defaults`].
    #[serde(default)]
    pub defaults: Option<Vec<GateRequirement>>,
    /// See [`GateRules::independent`].
    #[serde(default)]
    pub independent: bool,
    pub set_by: AccountId,
    pub height: u64,
    /// The delayed change that put it in force, if it was one (see [`GateChange`]).
    #[serde(default)]
    pub change: Option<Hash>,
}

impl GatePolicy {
    /// The gate's rules.
    pub fn rules(&self) -> GateRules {
        GateRules {
            requirements: self.requirements.clone(),
            defaults: self.defaults.clone(),
            independent: self.independent,
        }
    }
}

/// Checks a gate's requirement list: at most GATE_REQUIREMENTS_MAX, each valid.
pub fn check_gate(requirements: &[GateRequirement]) -> Result<(), TypesError> {
    check_len("requirements", requirements, 0, GATE_REQUIREMENTS_MAX)?;
    requirements.iter().try_for_each(GateRequirement::validate)
}

/// Domain separator of a gate change's id.
pub const GATE_CHANGE_ID_DOMAIN: &[u8] = b"verity/gate-change/v1\0";

/// The id of a proposed gate change: SHA-256 over a domain separator, the model, the
/// rules and the proposing transaction's hash. An approval names this id, so it approves
/// exactly these rules, proposed by this transaction: never another change, nor the same
/// rules proposed again later.
pub fn gate_change_id(model: &ModelId, rules: &GateRules, tx: &Hash) -> Hash {
    let mut bytes = GATE_CHANGE_ID_DOMAIN.to_vec();
    bytes.extend_from_slice(&crate::encoding::encode(model));
    bytes.extend_from_slice(&crate::encoding::encode(rules));
    bytes.extend_from_slice(tx.as_bytes());
    crate::hash::sha256(&bytes)
}

/// Where a proposed gate change stands.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GateChangeStatus {
    /// Waiting for its delay or an approval.
    Pending,
    /// In force: approved by an org admin of another organisation.
    Approved { by: AccountId, org: OrgId, height: u64 },
    /// In force: its delay passed (`height`: the block that first applied it).
    Activated { height: u64 },
    /// Replaced by a later `SetGate`/`SetGateRules` before it took effect.
    Superseded { by: Hash, height: u64 },
}

/// A gate change that loosens the gate in force, held back until another organisation
/// approves it or [`crate::limits::GATE_CHANGE_DELAY_MS`] of block time passes. Key:
/// `prov/gate_change/<id hex>`; the model's pending one: `prov/gate_pending/<model>`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateChange {
    pub id: Hash,
    pub model: ModelId,
    pub rules: GateRules,
    pub proposed_by: AccountId,
    /// Why it is held back: how it loosens the gate in force when proposed.
    pub loosens: String,
    pub height: u64,
    pub tx: Hash,
    /// The block time (ms) of the proposal, and from when it is in force without an approval.
    pub proposed_ms: u64,
    pub effective_ms: u64,
    pub status: GateChangeStatus,
}

/// What a model's organisation wants done with a deployment in force whose model version
/// is flagged or deprecated after the deploy. Key: `prov/risk/<model>` (absent: report
/// only).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RiskPolicy {
    pub model: ModelId,
    /// Suspend such a deployment: decisions against its model version are refused until
    /// the environment is rolled back (or the flag is lifted).
    pub suspend_at_risk: bool,
    pub set_by: AccountId,
    pub height: u64,
}

/// Why a deployment in force is at risk, as a reader sees it (derived from the records,
/// never stored).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentRisk {
    /// `flagged (n active flag(s))` and/or `deprecated: <reason>`.
    pub reasons: Vec<String>,
    /// The model's risk policy suspends it.
    pub suspended: bool,
}

/// Whether a deployment moved forward or rolled back.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[borsh(use_discriminant = false)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeploymentKind {
    Deploy,
    Rollback { from_version: u32, reason: String },
}

/// A deployment of a model version to an environment. Key: `prov/deployment/<id hex>`,
/// id = the deploying transaction's hash.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    pub id: Hash,
    pub model: ModelId,
    pub version: u32,
    pub environment: EnvId,
    pub kind: DeploymentKind,
    pub by: AccountId,
    pub height: u64,
    /// The attestations that satisfied the gate, one per requirement, in gate order.
    pub attestations: Vec<Hash>,
    /// The deployment it replaced in the environment, if any.
    pub previous: Option<Hash>,
}
