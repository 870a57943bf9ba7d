//! Training runs and model versions: the `RegisterRun` action with its compute
//! provider's signature, and a fingerprinted model published with its run in one
//! idempotent step.
//!
//! Fingerprinting and signing the model files (verity-oms) are the caller's: this module
//! takes their result, the OMS manifest digest, so the client needs no model code.
//! Publishing again with the same fingerprint and run does nothing and succeeds,
//! answering the version already on the ledger; a run file that disagrees with the run
//! the ledger holds under its id is refused.

use std::path::Path;

use serde::{Deserialize, Serialize};
use verity_types::keys::SecretKey;
use verity_types::{
    run_log_message, AccountId, Action, DatasetRef, Hash, ModelId, ModelVersionRef, RecordRef, RegisterModel,
    RegisterModelVersion, RegisterRun, RunId, Signature, TrainingRun,
};

use super::Signer;
use crate::error::ClientError;

/// The compute provider's signature over the run log ([`run_log_message`]).
pub enum ProviderSignature {
    /// Made elsewhere, given as is.
    Given(Signature),
    /// Made here with the provider's key.
    SignWith(SecretKey),
}

/// The fields of a training run as a user gives them: the training-run file (`RUN.json`,
/// documented in docs/AI.md), or `verity run register`'s flags. Unknown keys of a file
/// are kept out of the ledger but allowed, so a pipeline can add its own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunFile {
    pub run: String,
    /// `NAME@VERSION` of each dataset version.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// `NAME@VERSION` of the base model, for fine-tuning.
    #[serde(default)]
    pub base_model: Option<String>,
    pub code_commit: String,
    pub hyperparameters_sha256: Hash,
    pub training_date: String,
    pub team: String,
    pub run_log_sha256: Hash,
    /// The compute provider's account and its signature over the run log, when the
    /// provider signed elsewhere.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub provider_signature: Option<String>,
}

impl RunFile {
    pub fn read(path: &Path) -> Result<RunFile, ClientError> {
        let bytes = std::fs::read(path).map_err(|e| ClientError::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::Input(format!("{} is not a valid run file (see docs/AI.md): {e}", path.display()))
        })
    }

    /// The run's id.
    pub fn id(&self) -> Result<RunId, ClientError> {
        RunId::new(&self.run).map_err(|e| ClientError::invalid("run id", e))
    }

    /// The dataset versions, at least one.
    pub fn datasets(&self) -> Result<Vec<DatasetRef>, ClientError> {
        if self.datasets.is_empty() {
            return Err(ClientError::Input(
                "the run lists no datasets: a training run names the dataset versions it used (NAME@VERSION)".into(),
            ));
        }
        self.datasets.iter().map(|d| d.parse().map_err(|e| ClientError::invalid("datasets", e))).collect()
    }

    /// The provider's account and signature when the file carries them (both or neither).
    pub fn provider(&self) -> Result<Option<(AccountId, Signature)>, ClientError> {
        match (&self.provider, &self.provider_signature) {
            (Some(p), Some(s)) => Ok(Some((
                p.parse().map_err(|e| ClientError::invalid("provider", e))?,
                s.parse().map_err(|e| ClientError::invalid("provider_signature", e))?,
            ))),
            (None, None) => Ok(None),
            _ => Err(ClientError::Input("give both provider and provider_signature, or neither".into())),
        }
    }

    /// The base model version, if the run fine-tuned one.
    pub fn base_model(&self) -> Result<Option<ModelVersionRef>, ClientError> {
        self.base_model.as_deref().map(str::parse).transpose().map_err(|e| ClientError::invalid("base_model", e))
    }

    /// The `RegisterRun` action on chain `chain_id`, every field checked, with `provider`
    /// as the run's compute provider (datasets sorted, as the ledger stores them and the
    /// provider signs them).
    pub fn register_run(
        &self,
        chain_id: &str,
        provider: AccountId,
        signature: ProviderSignature,
    ) -> Result<Action, ClientError> {
        let (run, mut datasets) = (self.id()?, self.datasets()?);
        datasets.sort();
        let provider_signature = match signature {
            ProviderSignature::Given(s) => s,
            ProviderSignature::SignWith(k) => k.sign(&run_log_message(chain_id, &run, &datasets, &self.run_log_sha256)),
        };
        Ok(Action::RegisterRun(RegisterRun {
            run,
            datasets,
            base_model: self.base_model()?,
            code_commit: self.code_commit.clone(),
            hyperparams_hash: self.hyperparameters_sha256,
            training_date: self.training_date.clone(),
            team: self.team.clone(),
            run_log_hash: self.run_log_sha256,
            provider,
            provider_signature,
        }))
    }

    /// What differs between this file and the run the ledger holds under its id (empty:
    /// they agree on everything the ledger keeps from a file).
    fn differences(&self, on_ledger: &TrainingRun) -> Result<Vec<String>, ClientError> {
        let mut diffs = Vec::new();
        if on_ledger.code_commit != self.code_commit {
            diffs
                .push(format!("code_commit {} on the ledger, {} in the file", on_ledger.code_commit, self.code_commit));
        }
        if on_ledger.hyperparams_hash != self.hyperparameters_sha256 {
            diffs.push("hyperparameters_sha256".to_string());
        }
        if on_ledger.run_log_hash != self.run_log_sha256 {
            diffs.push("run_log_sha256".to_string());
        }
        let sorted_text = |mut refs: Vec<DatasetRef>| {
            refs.sort();
            refs.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        let (ledger, file) = (sorted_text(on_ledger.datasets.clone()), sorted_text(self.datasets()?));
        if ledger != file {
            diffs.push(format!("datasets {ledger:?} on the ledger, {file:?} in the file"));
        }
        Ok(diffs)
    }

    /// Everything [`publish`] checks before any slow step: the run id, the datasets and
    /// base model, and the provider fields.
    pub fn check(&self) -> Result<(), ClientError> {
        self.id()?;
        self.datasets()?;
        self.base_model()?;
        self.provider().map(|_| ())
    }
}

/// A model version to publish: the model's name, its fingerprint (the OMS manifest
/// digest of its files), and the run that made it.
#[derive(Clone, Debug)]
pub struct ModelPublication {
    pub model: ModelId,
    /// Used when the model is registered for the first time.
    pub description: String,
    pub fingerprint: Hash,
    pub run: RunFile,
    /// The keystore key of the compute provider that signs the run log when the run file
    /// carries no provider signature (default: the owner).
    pub provider_signer: Option<String>,
}

/// What [`publish`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedModel {
    pub model: ModelId,
    pub version: u32,
    pub fingerprint: Hash,
    pub run: RunId,
    /// Every step was already on the ledger: nothing was sent.
    pub already_published: bool,
    pub registered_model: bool,
    pub registered_run: bool,
}

impl PublishedModel {
    /// The published version's record reference, `model:NAME@VERSION`.
    pub fn reference(&self) -> RecordRef {
        RecordRef::model_version(&self.model, self.version)
    }
}

/// Publishes `p` as `owner` (a keystore key): registers the model for the owner's
/// organisation if it is new, the run if the ledger does not hold it (refusing a run
/// file that disagrees with the one it holds), and the next version with this
/// fingerprint, unless a version with it exists (then its run must be this run).
pub async fn publish(signer: &mut Signer, owner: &str, p: &ModelPublication) -> Result<PublishedModel, ClientError> {
    p.run.check()?;
    let (model, run_id) = (&p.model, p.run.id()?);
    let client = signer.client().clone();

    let mut registered_model = false;
    let versions = match client.model(model.as_str()).await {
        Ok(v) => v.versions,
        Err(e) if e.is_not_found() => {
            let action =
                Action::RegisterModel(RegisterModel { model: model.clone(), description: p.description.clone() });
            signer.submit_committed(owner, action).await.map_err(|e| e.during(format!("registering model {model}")))?;
            registered_model = true;
            Vec::new()
        }
        Err(e) => return Err(e.during(format!("looking up model {model}"))),
    };

    let mut registered_run = false;
    match client.record(&RecordRef::Run(run_id.clone()).to_string()).await {
        Ok(view) => {
            let on_ledger: TrainingRun = serde_json::from_value(view.record)
                .map_err(|e| ClientError::Protocol(format!("the node's record of run {run_id} is not a run: {e}")))?;
            let diffs = p.run.differences(&on_ledger)?;
            if !diffs.is_empty() {
                return Err(ClientError::Input(format!(
                    "run {run_id} is already on the ledger with different fields: {}",
                    diffs.join("; ")
                )));
            }
        }
        Err(e) if e.is_not_found() => {
            let (provider, signature) = match p.run.provider()? {
                Some((account, signature)) => (account, ProviderSignature::Given(signature)),
                None => {
                    let (account, key) = signer.keystore().find(p.provider_signer.as_deref().unwrap_or(owner))?;
                    (account, ProviderSignature::SignWith(key))
                }
            };
            let chain_id = signer.chain_id().await?;
            let action = p.run.register_run(&chain_id, provider, signature)?;
            signer.submit_committed(owner, action).await.map_err(|e| e.during(format!("registering run {run_id}")))?;
            registered_run = true;
        }
        Err(e) => return Err(e.during(format!("looking up run {run_id}"))),
    }

    let published = |version, already_published| PublishedModel {
        model: model.clone(),
        version,
        fingerprint: p.fingerprint,
        run: run_id.clone(),
        already_published,
        registered_model,
        registered_run,
    };
    if let Some(v) = versions.iter().find(|v| v.fingerprint == p.fingerprint) {
        if v.run != run_id {
            return Err(ClientError::Input(format!(
                "{model}@{} already has this fingerprint with run {}, not {run_id}",
                v.version, v.run
            )));
        }
        return Ok(published(v.version, !registered_model && !registered_run));
    }
    let version = versions
        .iter()
        .map(|v| v.version)
        .max()
        .unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| ClientError::Input(format!("{model} has as many versions as a version number can count")))?;
    let action = Action::RegisterModelVersion(RegisterModelVersion {
        model: model.clone(),
        version,
        fingerprint: p.fingerprint,
        run: run_id.clone(),
    });
    signer.submit_committed(owner, action).await.map_err(|e| e.during(format!("registering {model}@{version}")))?;
    Ok(published(version, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_file() -> RunFile {
        RunFile {
            run: "run-1".into(),
            datasets: vec!["b@2".into(), "a@1".into()],
            base_model: None,
            code_commit: "abc1234".into(),
            hyperparameters_sha256: verity_types::sha256(b"h"),
            training_date: "2026-11-23".into(),
            team: "t".into(),
            run_log_sha256: verity_types::sha256(b"log"),
            provider: None,
            provider_signature: None,
        }
    }

    #[test]
    fn run_files_are_checked_before_anything_is_sent() {
        let f = run_file();
        f.check().expect("a good file");
        for (bad, what) in [
            (RunFile { datasets: vec![], ..run_file() }, "lists no datasets"),
            (RunFile { datasets: vec!["a".into()], ..run_file() }, "has no version"),
            (RunFile { datasets: vec!["a@1@2".into()], ..run_file() }, "more than one '@'"),
            (RunFile { base_model: Some("clf@0".into()), ..run_file() }, "versions start at 1"),
            (RunFile { run: "Bad Run".into(), ..run_file() }, "run id"),
            (RunFile { provider: Some("gpu".into()), ..run_file() }, "both provider and provider_signature"),
        ] {
            let err = bad.check().expect_err(what);
            assert!(format!("{err}: {:?}", std::error::Error::source(&err)).contains(what), "{err}");
        }
    }

    fn register(f: &RunFile, signature: ProviderSignature) -> RegisterRun {
        let provider = AccountId::new("gpu").expect("id");
        match f.register_run("chain", provider, signature).expect("a good file") {
            Action::RegisterRun(r) => r,
            other => panic!("a run action, not {}", other.name()),
        }
    }

    #[test]
    fn run_actions_sort_datasets_and_sign_what_the_ledger_checks() {
        let key = SecretKey::from_seed([7; 32]);
        let r = register(&run_file(), ProviderSignature::SignWith(key.clone()));
        assert_eq!(r.datasets.iter().map(ToString::to_string).collect::<Vec<_>>(), ["a@1", "b@2"]);
        let message = run_log_message("chain", &r.run, &r.datasets, &r.run_log_hash);
        key.public_key().verify(&message, &r.provider_signature).expect("the provider's signature verifies");
        let given = r.provider_signature;
        assert_eq!(register(&run_file(), ProviderSignature::Given(given)).provider_signature, given);
    }

    #[test]
    fn a_run_file_is_compared_with_the_ledger_field_by_field() {
        let f = run_file();
        let r = register(&f, ProviderSignature::SignWith(SecretKey::from_seed([7; 32])));
        let on_ledger = TrainingRun {
            id: r.run,
            datasets: r.datasets,
            base_model: r.base_model,
            code_commit: r.code_commit,
            hyperparams_hash: r.hyperparams_hash,
            training_date: r.training_date,
            team: r.team,
            run_log_hash: r.run_log_hash,
            provider: r.provider.clone(),
            provider_signature: r.provider_signature,
            registered_by: r.provider,
            org: verity_types::OrgId::new("lab").expect("id"),
            height: 3,
            tx: Hash::ZERO,
        };
        assert_eq!(f.differences(&on_ledger).expect("compared"), Vec::<String>::new(), "dataset order does not matter");
        let other = RunFile {
            datasets: vec!["a@1".into()],
            code_commit: "def5678".into(),
            run_log_sha256: Hash::ZERO,
            ..run_file()
        };
        assert_eq!(
            other.differences(&on_ledger).expect("compared"),
            [
                "code_commit abc1234 on the ledger, def5678 in the file",
                "run_log_sha256",
                r#"datasets ["a@1", "b@2"] on the ledger, ["a@1"] in the file"#,
            ]
        );
    }
}
