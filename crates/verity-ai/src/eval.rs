//! The evaluation oracle: runs a suite of checks on a model's held-out data and states
//! the results as in-toto Statement v1 evaluation attestations, one per attestation
//! kind, ready to be signed in a DSSE envelope and submitted to the ledger.
//!
//! # Suite file (TOML)
//!
//! ```toml
//! id = "digits-basic"                 # the attestation's `suite`
//! description = "..."                 # optional
//!
//! [dataset]
//! name = "sklearn-digits"             # the attestation's data set name
//! path = "../../data/sklearn/digits.csv"   # relative to the suite file
//! sha256 = "6ebb3d2f..."              # refused if the file differs
//!
//! [split]                             # the held-out rows (see data::Split)
//! seed = 0
//! test_fraction = 0.2
//!
//! [[check]]
//! type = "accuracy"                   # accuracy on the held-out rows
//! kind = "performance"                # attestation kind the metric goes to
//! metric = "accuracy"                 # metric name (unique within its kind)
//! min = 0.93                          # threshold: higher is better
//!
//! [[check]]
//! type = "group_accuracy_gap"         # largest minus smallest per-group accuracy
//! kind = "fairness"
//! metric = "even_odd_accuracy_gap"
//! group_by = "class"                  # "class" or "attribute"
//! groups = [ { name = "even", classes = ["0", "2", "4", "6", "8"] },
//!            { name = "odd",  classes = ["1", "3", "5", "7", "9"] } ]   # omit: each class
//! max = 0.05                          # threshold: lower is better
//!
//! [[check]]
//! type = "group_accuracy_gap"
//! kind = "fairness"
//! metric = "radius_accuracy_gap"
//! group_by = "attribute"
//! attribute = "x0"                    # a feature column
//! split_at = 14.0                     # groups `x0 < 14` and `x0 >= 14`; omit: each value
//! max = 0.1
//!
//! [[check]]
//! type = "noise_accuracy"             # accuracy with seeded noise added to every feature
//! kind = "robustness"
//! metric = "gaussian_noise_accuracy"
//! noise = "gaussian"                  # or "uniform" (in [-scale, scale))
//! scale = 2.0                         # standard deviation, in the data's own units
//! seed = 7
//! clip = [0.0, 16.0]                  # optional: clamp after adding noise
//! min = 0.85
//! ```
//!
//! Thresholds are optional (a metric without one is reported and always met). Values
//! are fractions turned into parts per million: accuracies are rounded down and gaps
//! up, so rounding never flatters the model; thresholds are rounded to nearest.
//! A statement's `passed` is true exactly when every metric of its kind meets its
//! threshold.
//!
//! When the model records its training data and split (native models do) and the suite
//! uses the same data file with another split, evaluation is refused: test rows could
//! have been trained on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use verity_types::dsse::{Envelope, EvalDataset, EvaluationPredicate, EvaluationStatement, IN_TOTO_PAYLOAD_TYPE};
use verity_types::keys::SecretKey;
use verity_types::limits::METRICS_MAX;
use verity_types::provenance::{check_metric_name, check_text, AttestationKind, Metric};
use verity_types::{AccountId, Hash};

use crate::corpus::Corpus;
use crate::data::{fraction_ppm, Dataset, Split, PPM};
use crate::error::AiError;
use crate::infer::{predict, Backend, FileClassifier, Matrix};
use crate::rng::Rng;

/// Largest suite file read.
pub const SUITE_BYTES_MAX: u64 = 1 << 20;
/// Most groups of a gap check.
pub const GROUPS_MAX: usize = 1024;

/// A parsed and checked suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub id: String,
    pub description: Option<String>,
    pub data: SuiteData,
    pub checks: Vec<Check>,
}

/// What a suite evaluates on.
#[derive(Clone, Debug, PartialEq)]
pub enum SuiteData {
    /// Held-out rows of a tabular data file.
    Table { dataset: SuiteDataset, split: Split },
    /// A labelled corpus of files the suite generates ([`crate::corpus`]); every file
    /// is held out (no model trained on a corpus generated for its evaluation).
    Corpus(SuiteCorpus),
}

/// A generated corpus: its recorded name, the generator's inputs and the manifest digest.
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteCorpus {
    pub name: String,
    pub seed: u64,
    pub per_type: u32,
    /// Empty: every type the generator makes.
    pub labels: Vec<String>,
    pub sha256: [u8; 32],
}

impl Suite {
    /// The data set's recorded name.
    pub fn dataset_name(&self) -> &str {
        match &self.data {
            SuiteData::Table { dataset, .. } => &dataset.name,
            SuiteData::Corpus(c) => &c.name,
        }
    }
}

/// The evaluation data set: its recorded name, where it is and what it must hash to.
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteDataset {
    pub name: String,
    /// Resolved against the suite file's directory.
    pub path: PathBuf,
    pub sha256: [u8; 32],
}

/// One check: what to measure, where the metric goes and its threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub kind: AttestationKind,
    pub metric: String,
    pub test: CheckTest,
    /// In ppm: a minimum for higher-is-better metrics, a maximum otherwise.
    pub threshold_ppm: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CheckTest {
    /// Accuracy on the held-out rows (higher is better).
    Accuracy,
    /// Largest minus smallest per-group accuracy on the held-out rows (lower is better).
    GroupAccuracyGap(Grouping),
    /// Accuracy on the held-out rows with seeded noise added (higher is better).
    NoiseAccuracy { noise: Noise, scale: f64, seed: u64, clip: Option<(f64, f64)> },
}

impl CheckTest {
    pub fn higher_is_better(&self) -> bool {
        !matches!(self, CheckTest::GroupAccuracyGap(_))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Grouping {
    /// One group per class.
    EachClass,
    /// Named sets of classes (by class name); a class may be in at most one set.
    ClassSets(Vec<(String, Vec<String>)>),
    /// By a feature column's value: below / at-or-above `split_at`, or each distinct value.
    Attribute { column: String, split_at: Option<f64> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noise {
    /// `scale * N(0, 1)`.
    Gaussian,
    /// `scale * U[-1, 1)`.
    Uniform,
    /// Corpus suites: each byte of each file is replaced by a random byte with
    /// probability `scale`.
    Bytes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteToml {
    id: String,
    description: Option<String>,
    dataset: Option<DatasetToml>,
    split: Option<SplitToml>,
    corpus: Option<CorpusToml>,
    #[serde(rename = "check", default)]
    checks: Vec<CheckToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasetToml {
    name: String,
    path: PathBuf,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusToml {
    name: String,
    generator: String,
    seed: u64,
    per_type: u32,
    #[serde(default)]
    labels: Vec<String>,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitToml {
    seed: u64,
    test_fraction: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckToml {
    #[serde(rename = "type")]
    check_type: String,
    kind: String,
    metric: String,
    min: Option<f64>,
    max: Option<f64>,
    group_by: Option<String>,
    groups: Option<Vec<GroupToml>>,
    attribute: Option<String>,
    split_at: Option<f64>,
    noise: Option<String>,
    scale: Option<f64>,
    seed: Option<u64>,
    clip: Option<[f64; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupToml {
    name: String,
    classes: Vec<String>,
}

impl Suite {
    /// Reads and checks a suite file.
    pub fn load(path: &Path) -> Result<Suite, AiError> {
        let size = std::fs::metadata(path).map_err(|e| AiError::io(path, e))?.len();
        if size > SUITE_BYTES_MAX {
            return Err(AiError::Suite { path: path.into(), reason: format!("larger than {SUITE_BYTES_MAX} bytes") });
        }
        let text = std::fs::read_to_string(path).map_err(|e| AiError::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Suite::parse(&text, base).map_err(|reason| AiError::Suite { path: path.into(), reason })
    }

    /// Parses suite text; a relative dataset path is resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Suite, String> {
        let raw: SuiteToml = toml::from_str(text).map_err(|e| e.to_string())?;
        check_text("id", &raw.id, 128).map_err(|e| e.to_string())?;
        if raw.id.is_empty() {
            return Err("id must not be empty".into());
        }
        let parse_sha = |field: &str, text: &str| {
            hex::decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| format!("{field} {text:?} is not 64 hex digits"))
        };
        let data = match (raw.dataset, raw.split, raw.corpus) {
            (Some(dataset), Some(split), None) => {
                check_text("dataset name", &dataset.name, 128).map_err(|e| e.to_string())?;
                if dataset.name.is_empty() {
                    return Err("dataset.name must not be empty".into());
                }
                let sha = parse_sha("dataset.sha256", &dataset.sha256)?;
                let split =
                    Split { seed: split.seed, test_ppm: fraction_ppm(split.test_fraction).map_err(|e| e.to_string())? };
                split.validate().map_err(|e| e.to_string())?;
                SuiteData::Table {
                    dataset: SuiteDataset { name: dataset.name, path: base.join(dataset.path), sha256: sha },
                    split,
                }
            }
            (None, None, Some(c)) => {
                check_text("corpus name", &c.name, 128).map_err(|e| e.to_string())?;
                if c.name.is_empty() {
                    return Err("corpus.name must not be empty".into());
                }
                if c.generator != crate::corpus::GENERATOR {
                    return Err(format!(
                        "corpus.generator {:?} is not one this build has ({})",
                        c.generator,
                        crate::corpus::GENERATOR
                    ));
                }
                if c.per_type == 0 || c.per_type > crate::corpus::PER_TYPE_MAX {
                    return Err(format!("corpus.per_type must be 1 to {}", crate::corpus::PER_TYPE_MAX));
                }
                if let Some(l) = c.labels.iter().find(|l| !crate::corpus::LABELS.contains(&l.as_str())) {
                    return Err(format!("corpus.labels: the generator has no type {l:?}"));
                }
                let sha256 = parse_sha("corpus.sha256", &c.sha256)?;
                SuiteData::Corpus(SuiteCorpus {
                    name: c.name,
                    seed: c.seed,
                    per_type: c.per_type,
                    labels: c.labels,
                    sha256,
                })
            }
            (None, None, None) => return Err("a suite needs [dataset] and [split], or [corpus]".into()),
            (_, _, Some(_)) => return Err("[corpus] replaces [dataset] and [split]: give one or the other".into()),
            _ => return Err("[dataset] and [split] go together".into()),
        };
        if raw.checks.is_empty() || raw.checks.len() > METRICS_MAX {
            return Err(format!("a suite has 1 to {METRICS_MAX} [[check]] tables, found {}", raw.checks.len()));
        }
        let mut checks = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in raw.checks.into_iter().enumerate() {
            let check = parse_check(c).map_err(|e| format!("check {}: {e}", i + 1))?;
            if !seen.insert((check.kind.to_string(), check.metric.clone())) {
                return Err(format!("check {}: metric {:?} appears twice in kind {}", i + 1, check.metric, check.kind));
            }
            checks.push(check);
        }
        for c in &checks {
            if let CheckTest::NoiseAccuracy { noise, clip, .. } = &c.test {
                let corpus = matches!(data, SuiteData::Corpus(_));
                if corpus != (*noise == Noise::Bytes) {
                    return Err(format!(
                        "metric {:?}: noise = \"bytes\" is for [corpus] suites, gaussian and uniform for tables",
                        c.metric
                    ));
                }
                if corpus && clip.is_some() {
                    return Err(format!("metric {:?}: clip does not apply to byte noise", c.metric));
                }
            }
        }
        Ok(Suite { id: raw.id, description: raw.description, data, checks })
    }
}

fn parse_check(c: CheckToml) -> Result<Check, String> {
    let kind = AttestationKind::new(&c.kind).map_err(|e| e.to_string())?;
    check_metric_name(&c.metric).map_err(|e| e.to_string())?;
    let unused = |name: &str, present: bool| {
        if present {
            Err(format!("{name} does not apply to {}", c.check_type))
        } else {
            Ok(())
        }
    };
    let grouping_fields = c.group_by.is_some() || c.groups.is_some() || c.attribute.is_some() || c.split_at.is_some();
    let noise_fields = c.noise.is_some() || c.scale.is_some() || c.seed.is_some() || c.clip.is_some();
    let test = match c.check_type.as_str() {
        "accuracy" => {
            unused("group_by/groups/attribute/split_at", grouping_fields)?;
            unused("noise/scale/seed/clip", noise_fields)?;
            CheckTest::Accuracy
        }
        "group_accuracy_gap" => {
            unused("noise/scale/seed/clip", noise_fields)?;
            let grouping = match c.group_by.as_deref() {
                Some("class") => {
                    unused("attribute/split_at", c.attribute.is_some() || c.split_at.is_some())?;
                    match c.groups {
                        None => Grouping::EachClass,
                        Some(groups) => {
                            if groups.len() < 2 || groups.len() > GROUPS_MAX {
                                return Err(format!("groups needs 2 to {GROUPS_MAX} entries"));
                            }
                            Grouping::ClassSets(groups.into_iter().map(|g| (g.name, g.classes)).collect())
                        }
                    }
                }
                Some("attribute") => {
                    unused("groups", c.groups.is_some())?;
                    let column = c.attribute.ok_or("group_by = \"attribute\" needs attribute = \"COLUMN\"")?;
                    if c.split_at.is_some_and(|s| !s.is_finite()) {
                        return Err("split_at must be finite".into());
                    }
                    Grouping::Attribute { column, split_at: c.split_at }
                }
                other => return Err(format!("group_by must be \"class\" or \"attribute\", got {other:?}")),
            };
            CheckTest::GroupAccuracyGap(grouping)
        }
        "noise_accuracy" => {
            unused("group_by/groups/attribute/split_at", grouping_fields)?;
            let noise = match c.noise.as_deref() {
                Some("gaussian") => Noise::Gaussian,
                Some("uniform") => Noise::Uniform,
                Some("bytes") => Noise::Bytes,
                other => return Err(format!("noise must be \"gaussian\", \"uniform\" or \"bytes\", got {other:?}")),
            };
            let scale = c.scale.ok_or("noise_accuracy needs scale")?;
            if !(scale.is_finite() && scale >= 0.0) {
                return Err(format!("scale must be finite and not negative, got {scale}"));
            }
            if noise == Noise::Bytes && scale > 1.0 {
                return Err(format!("scale is the fraction of bytes replaced: 0 to 1, got {scale}"));
            }
            let clip = match c.clip {
                None => None,
                Some([lo, hi]) if lo.is_finite() && hi.is_finite() && lo <= hi => Some((lo, hi)),
                Some(_) => return Err("clip must be [low, high] with finite low <= high".into()),
            };
            CheckTest::NoiseAccuracy { noise, scale, seed: c.seed.ok_or("noise_accuracy needs seed")?, clip }
        }
        other => return Err(format!("unknown check type {other:?} (accuracy, group_accuracy_gap, noise_accuracy)")),
    };
    let threshold = match (test.higher_is_better(), c.min, c.max) {
        (true, m, None) => m,
        (false, None, m) => m,
        (true, _, Some(_)) => return Err(format!("{} is higher-is-better: give min, not max", c.check_type)),
        (false, Some(_), _) => return Err(format!("{} is lower-is-better: give max, not min", c.check_type)),
    };
    let threshold_ppm = match threshold {
        None => None,
        Some(t) => {
            Some(i64::from(fraction_ppm(t).map_err(|_| format!("threshold {t} is not a fraction from 0 to 1"))?))
        }
    };
    Ok(Check { kind, metric: c.metric, test, threshold_ppm })
}

/// One measured metric, with a human-readable account of how it was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    pub kind: AttestationKind,
    pub metric: Metric,
    /// For example `even 0.9890 (180/182), odd 0.9780 (178/182)`.
    pub detail: String,
}

/// Everything an evaluation produced.
#[derive(Clone, Debug)]
pub struct EvalReport {
    pub suite: String,
    pub dataset_name: String,
    pub dataset_sha256: [u8; 32],
    pub test_rows: usize,
    /// In suite order.
    pub results: Vec<CheckResult>,
    /// One per attestation kind, in kind order; each parses with
    /// `EvaluationStatement::parse`.
    pub statements: Vec<EvaluationStatement>,
}

impl EvalReport {
    /// The statements signed by `signer` with `key`, each in a DSSE envelope.
    pub fn envelopes(&self, signer: &AccountId, key: &SecretKey) -> Vec<Envelope> {
        self.statements.iter().map(|st| Envelope::sign(IN_TOTO_PAYLOAD_TYPE, st.to_payload(), signer, key)).collect()
    }

    /// Whether every statement passed.
    pub fn passed(&self) -> bool {
        self.statements.iter().all(|s| s.predicate.passed)
    }
}

/// The model's OMS manifest digest (SHA-256, whole files, model-signing's defaults),
/// the subject digest of its attestations.
pub fn model_digest(path: &Path) -> Result<Hash, AiError> {
    let manifest = verity_oms::fingerprint(path, &verity_oms::Options::default(), None)?;
    Ok(Hash(manifest.digest()))
}

/// Runs `suite` against `backend`; the statements name the model as `subject_name`
/// with digest `subject_digest` (see [`model_digest`]).
pub fn evaluate(
    suite: &Suite,
    backend: &dyn Backend,
    subject_name: &str,
    subject_digest: Hash,
) -> Result<EvalReport, AiError> {
    let (prepared, test, data_sha256) = match &suite.data {
        SuiteData::Table { dataset, split } => prepare_table(dataset, *split, backend)?,
        SuiteData::Corpus(c) => prepare_corpus(c, backend)?,
    };
    let predicted = prepared.predict(None)?;
    let mut results = Vec::with_capacity(suite.checks.len());
    for check in &suite.checks {
        let (value_ppm, detail) = match &check.test {
            CheckTest::Accuracy => {
                let (c, n) = count_correct(&predicted, &test.labels, 0..test.rows());
                (ratio_ppm_floor(c, n), format!("{} ({c}/{n})", fmt_fraction(c, n)))
            }
            CheckTest::GroupAccuracyGap(grouping) => group_gap(&test, &predicted, grouping)?,
            CheckTest::NoiseAccuracy { noise, scale, seed, clip } => {
                let noisy_pred = prepared.predict(Some((*noise, *scale, *seed, *clip)))?;
                let (c, n) = count_correct(&noisy_pred, &test.labels, 0..test.rows());
                let (c0, _) = count_correct(&predicted, &test.labels, 0..test.rows());
                (
                    ratio_ppm_floor(c, n),
                    format!("{} ({c}/{n}; {} without noise)", fmt_fraction(c, n), fmt_fraction(c0, n)),
                )
            }
        };
        results.push(CheckResult {
            kind: check.kind.clone(),
            metric: Metric {
                name: check.metric.clone(),
                value_ppm,
                threshold_ppm: check.threshold_ppm,
                higher_is_better: check.test.higher_is_better(),
            },
            detail,
        });
    }

    // One statement per kind, metrics sorted by name (the ledger's canonical order).
    let mut by_kind: BTreeMap<AttestationKind, Vec<Metric>> = BTreeMap::new();
    for r in &results {
        by_kind.entry(r.kind.clone()).or_default().push(r.metric.clone());
    }
    let mut statements = Vec::new();
    for (kind, mut metrics) in by_kind {
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        let passed = metrics.iter().all(Metric::meets_threshold);
        let st = EvaluationStatement::new(
            subject_name,
            subject_digest,
            EvaluationPredicate {
                kind,
                suite: suite.id.clone(),
                dataset: EvalDataset { name: suite.dataset_name().to_string(), sha256: Hash(data_sha256) },
                metrics,
                passed,
            },
        );
        EvaluationStatement::parse(&st.to_payload()).map_err(|e| AiError::Statement(e.to_string()))?;
        statements.push(st);
    }
    Ok(EvalReport {
        suite: suite.id.clone(),
        dataset_name: suite.dataset_name().to_string(),
        dataset_sha256: data_sha256,
        test_rows: test.rows(),
        results,
        statements,
    })
}

/// How the predictions of a suite's data are made, with or without noise.
enum Prepared<'a> {
    Table { backend: &'a dyn Backend, input: Matrix },
    Corpus { classifier: &'a dyn FileClassifier, corpus: Corpus, classes: Vec<String> },
}

type NoiseSpec = (Noise, f64, u64, Option<(f64, f64)>);

impl Prepared<'_> {
    /// The predicted class index of each held-out row; for a corpus, a label outside
    /// the corpus's classes is `usize::MAX` (always wrong).
    fn predict(&self, noise: Option<NoiseSpec>) -> Result<Vec<usize>, AiError> {
        match self {
            Prepared::Table { backend, input } => {
                let Some((noise, scale, seed, clip)) = noise else {
                    return Ok(predict(*backend, input)?.classes());
                };
                let mut rng = Rng::new(seed, "noise");
                let mut noisy = input.clone();
                for v in &mut noisy.data {
                    let n = match noise {
                        Noise::Gaussian => rng.gaussian(),
                        Noise::Uniform | Noise::Bytes => rng.symmetric_f64(),
                    };
                    let mut x = f64::from(*v) + scale * n;
                    if let Some((lo, hi)) = clip {
                        x = x.clamp(lo, hi);
                    }
                    *v = x as f32;
                }
                Ok(predict(*backend, &noisy)?.classes())
            }
            Prepared::Corpus { classifier, corpus, classes } => {
                let noisy: Vec<Vec<u8>>;
                let files: Vec<&[u8]> = match noise {
                    None => corpus.files.iter().map(|f| f.bytes.as_slice()).collect(),
                    Some((_, rate, seed, _)) => {
                        let mut rng = Rng::new(seed, "noise");
                        noisy = corpus.files.iter().map(|f| corrupt_bytes(&f.bytes, rate, &mut rng)).collect();
                        noisy.iter().map(Vec::as_slice).collect()
                    }
                };
                let labels = classifier.classify_files(&files)?;
                Ok(labels.iter().map(|l| classes.iter().position(|c| c == l).unwrap_or(usize::MAX)).collect())
            }
        }
    }
}

/// Replaces each byte with a random one with probability `rate` (one uniform draw per
/// byte, then one draw for each replaced byte's value).
fn corrupt_bytes(bytes: &[u8], rate: f64, rng: &mut Rng) -> Vec<u8> {
    bytes.iter().map(|&b| if rng.unit_f64() < rate { rng.below(256) as u8 } else { b }).collect()
}

fn prepare_table<'a>(
    dataset: &SuiteDataset,
    split: Split,
    backend: &'a dyn Backend,
) -> Result<(Prepared<'a>, Dataset, [u8; 32]), AiError> {
    let data = Dataset::load(&dataset.path)?;
    if data.sha256 != dataset.sha256 {
        return Err(AiError::DatasetMismatch {
            path: dataset.path.clone(),
            expected: hex::encode(dataset.sha256),
            actual: hex::encode(data.sha256),
        });
    }
    if backend.input_features() != data.feature_count() {
        return Err(AiError::InputMismatch(format!(
            "the data set has {} features, the model takes {}",
            data.feature_count(),
            backend.input_features()
        )));
    }
    if backend.classes() != data.class_names.as_slice() {
        return Err(AiError::InputMismatch(format!(
            "the data set's classes {:?} are not the model's {:?}",
            data.class_names,
            backend.classes()
        )));
    }
    if let Some(training) = backend.native().and_then(|m| m.training.as_ref()) {
        if training.data_sha256 == hex::encode(data.sha256) && training.split != split {
            return Err(AiError::SplitMismatch {
                suite_seed: split.seed,
                suite_test_ppm: split.test_ppm,
                model_seed: training.split.seed,
                model_test_ppm: training.split.test_ppm,
            });
        }
    }
    let (_, test_rows) = split.indices(&data.labels, data.class_names.len());
    let test = data.select(&test_rows);
    let input = Matrix { rows: test.rows(), cols: test.feature_count(), data: test.features.clone() };
    Ok((Prepared::Table { backend, input }, test, data.sha256))
}

/// The corpus as a data set for the checks: classes are the corpus's labels in order,
/// and the one feature column, `size`, is each file's length in bytes (so a gap check
/// can group by `attribute = "size"`).
fn prepare_corpus<'a>(c: &SuiteCorpus, backend: &'a dyn Backend) -> Result<(Prepared<'a>, Dataset, [u8; 32]), AiError> {
    let classifier = backend.files().ok_or_else(|| {
        AiError::InputMismatch(
            "a corpus suite classifies files: the model must be a file classifier (a magika model directory)".into(),
        )
    })?;
    let corpus = Corpus::generate(c.seed, c.per_type, &c.labels)?;
    let digest = corpus.digest();
    if digest != c.sha256 {
        return Err(AiError::DatasetMismatch {
            path: PathBuf::from(format!("corpus {} (seed {}, {} per type)", c.name, c.seed, c.per_type)),
            expected: hex::encode(c.sha256),
            actual: hex::encode(digest),
        });
    }
    let mut classes: Vec<String> = Vec::new();
    for f in &corpus.files {
        if !classes.contains(&f.label) {
            classes.push(f.label.clone());
        }
    }
    let labels = corpus.files.iter().map(|f| classes.iter().position(|x| *x == f.label).unwrap_or(0) as u32).collect();
    let test = Dataset {
        sha256: digest,
        feature_names: vec!["size".into()],
        class_names: classes.clone(),
        features: corpus.files.iter().map(|f| f.bytes.len() as f32).collect(),
        labels,
    };
    Ok((Prepared::Corpus { classifier, corpus, classes }, test, digest))
}

fn count_correct(predicted: &[usize], labels: &[u32], rows: impl Iterator<Item = usize>) -> (u64, u64) {
    let (mut c, mut n) = (0u64, 0u64);
    for i in rows {
        n += 1;
        if predicted[i] == labels[i] as usize {
            c += 1;
        }
    }
    (c, n)
}

fn ratio_ppm_floor(c: u64, n: u64) -> i64 {
    if n == 0 {
        return 0;
    }
    (u128::from(c) * u128::from(PPM) / u128::from(n)) as i64
}

fn fmt_fraction(c: u64, n: u64) -> String {
    format!("{:.4}", if n == 0 { 0.0 } else { c as f64 / n as f64 })
}

/// The gap between the best and worst group accuracy, in ppm rounded up.
fn group_gap(test: &Dataset, predicted: &[usize], grouping: &Grouping) -> Result<(i64, String), AiError> {
    let rows = test.rows();
    // (group name, member rows)
    let groups: Vec<(String, Vec<usize>)> = match grouping {
        Grouping::EachClass => test
            .class_names
            .iter()
            .enumerate()
            .map(|(c, name)| (name.clone(), (0..rows).filter(|&i| test.labels[i] as usize == c).collect()))
            .collect(),
        Grouping::ClassSets(sets) => {
            let mut used = vec![false; test.class_names.len()];
            let mut out = Vec::new();
            for (name, classes) in sets {
                let mut members = vec![false; test.class_names.len()];
                for class in classes {
                    let c = test.class_names.iter().position(|n| n == class).ok_or_else(|| {
                        AiError::InputMismatch(format!(
                            "group {name:?} names class {class:?}, which the data set lacks"
                        ))
                    })?;
                    if used[c] {
                        return Err(AiError::InputMismatch(format!("class {class:?} is in two groups")));
                    }
                    used[c] = true;
                    members[c] = true;
                }
                out.push((name.clone(), (0..rows).filter(|&i| members[test.labels[i] as usize]).collect()));
            }
            out
        }
        Grouping::Attribute { column, split_at } => {
            let col = test.column(column).ok_or_else(|| {
                AiError::InputMismatch(format!(
                    "no feature column {column:?} (columns: {})",
                    test.feature_names.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
            match split_at {
                Some(at) => {
                    let below: Vec<usize> = (0..rows).filter(|&i| f64::from(test.row(i)[col]) < *at).collect();
                    let above: Vec<usize> = (0..rows).filter(|&i| f64::from(test.row(i)[col]) >= *at).collect();
                    vec![(format!("{column}<{at}"), below), (format!("{column}>={at}"), above)]
                }
                None => {
                    let mut values: Vec<f32> = (0..rows).map(|i| test.row(i)[col]).collect();
                    values.sort_by(f32::total_cmp);
                    values.dedup();
                    if values.len() > GROUPS_MAX {
                        return Err(AiError::InputMismatch(format!(
                            "column {column:?} has more than {GROUPS_MAX} distinct values; give split_at"
                        )));
                    }
                    values
                        .iter()
                        .map(|v| (format!("{column}={v}"), (0..rows).filter(|&i| test.row(i)[col] == *v).collect()))
                        .collect()
                }
            }
        }
    };
    let mut stats: Vec<(String, u64, u64)> = Vec::with_capacity(groups.len());
    for (name, members) in groups {
        let (c, n) = count_correct(predicted, &test.labels, members.into_iter());
        if n == 0 {
            return Err(AiError::InputMismatch(format!("group {name:?} has no held-out rows")));
        }
        stats.push((name, c, n));
    }
    if stats.len() < 2 {
        return Err(AiError::InputMismatch("a gap needs at least two groups with held-out rows".into()));
    }
    // Compare c/n exactly by cross-multiplication.
    let less = |a: &(String, u64, u64), b: &(String, u64, u64)| {
        u128::from(a.1) * u128::from(b.2) < u128::from(b.1) * u128::from(a.2)
    };
    let mut best = &stats[0];
    let mut worst = &stats[0];
    for s in &stats[1..] {
        if less(best, s) {
            best = s;
        }
        if less(s, worst) {
            worst = s;
        }
    }
    let num = u128::from(best.1) * u128::from(worst.2) - u128::from(worst.1) * u128::from(best.2);
    let den = u128::from(best.2) * u128::from(worst.2);
    let gap_ppm = (num * u128::from(PPM)).div_ceil(den) as i64;
    let detail = stats
        .iter()
        .map(|(name, c, n)| format!("{name} {} ({c}/{n})", fmt_fraction(*c, *n)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((gap_ppm, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "id = \"s\"\n[dataset]\nname = \"d\"\npath = \"d.csv\"\nsha256 = \"%SHA%\"\n[split]\nseed = 1\ntest_fraction = 0.5\n";

    fn suite(checks: &str) -> Result<Suite, String> {
        Suite::parse(&(HEADER.replace("%SHA%", &"ab".repeat(32)) + checks), Path::new("/base"))
    }

    #[test]
    fn suite_parsing() {
        let s = suite(
            "[[check]]\ntype = \"accuracy\"\nkind = \"performance\"\nmetric = \"accuracy\"\nmin = 0.93\n\
             [[check]]\ntype = \"group_accuracy_gap\"\nkind = \"fairness\"\nmetric = \"gap\"\ngroup_by = \"class\"\nmax = 0.05\n\
             [[check]]\ntype = \"noise_accuracy\"\nkind = \"safety\"\nmetric = \"noisy\"\nnoise = \"uniform\"\nscale = 1.0\nseed = 3\n",
        )
        .expect("parses");
        let SuiteData::Table { dataset, split } = &s.data else { panic!("a table suite") };
        assert_eq!(dataset.path, Path::new("/base/d.csv"));
        assert_eq!(*split, Split { seed: 1, test_ppm: 500_000 });
        assert_eq!(s.checks[0].threshold_ppm, Some(930_000));
        assert_eq!(s.checks[1].test, CheckTest::GroupAccuracyGap(Grouping::EachClass));
        assert_eq!(s.checks[1].threshold_ppm, Some(50_000));
        assert_eq!(s.checks[2].threshold_ppm, None);

        let refused = |checks: &str, needle: &str| {
            let e = suite(checks).expect_err(checks);
            assert!(e.contains(needle), "{checks:?}: {e}");
        };
        refused("", "1 to 32");
        refused("[[check]]\ntype = \"accuracy\"\nkind = \"performance\"\nmetric = \"a\"\nmax = 0.1\n", "give min");
        refused("[[check]]\ntype = \"group_accuracy_gap\"\nkind = \"fairness\"\nmetric = \"g\"\ngroup_by = \"class\"\nmin = 0.1\n", "give max");
        refused("[[check]]\ntype = \"accuracy\"\nkind = \"Performance\"\nmetric = \"a\"\n", "lowercase");
        refused("[[check]]\ntype = \"accuracy\"\nkind = \"performance\"\nmetric = \"a\"\nmin = 1.5\n", "fraction");
        refused(
            "[[check]]\ntype = \"accuracy\"\nkind = \"performance\"\nmetric = \"a\"\nscale = 1.0\n",
            "does not apply",
        );
        refused("[[check]]\ntype = \"accuracy\"\nkind = \"performance\"\nmetric = \"a\"\nbogus = 1\n", "unknown field");
        refused("[[check]]\ntype = \"f1\"\nkind = \"performance\"\nmetric = \"a\"\n", "unknown check type");
        refused(
            "[[check]]\ntype = \"accuracy\"\nkind = \"performance\"\nmetric = \"a\"\n[[check]]\ntype = \"accuracy\"\nkind = \"performance\"\nmetric = \"a\"\n",
            "twice",
        );
        refused(
            "[[check]]\ntype = \"group_accuracy_gap\"\nkind = \"fairness\"\nmetric = \"g\"\ngroup_by = \"attribute\"\n",
            "needs attribute",
        );
        let bad_sha = Suite::parse(
            &(HEADER.replace("%SHA%", "xyz") + "[[check]]\ntype = \"accuracy\"\nkind = \"p\"\nmetric = \"a\"\n"),
            Path::new("."),
        );
        assert!(bad_sha.expect_err("bad sha").contains("64 hex"));
    }

    proptest::proptest! {
        #[test]
        fn suite_parsing_never_panics(text in "\\PC{0,300}") {
            let _ = Suite::parse(&text, Path::new("."));
        }

        #[test]
        fn check_tables_never_panic(body in "(type|kind|metric|min|max|groups|noise|scale|seed|clip|split_at) = [-0-9.\"a-z\\[\\], ]{0,20}\n{0,3}") {
            let _ = suite(&format!("[[check]]\n{body}"));
        }
    }

    #[test]
    fn gap_is_exact_and_rounded_up() {
        // Group a: 2/3 correct, group b: 1/1 correct; gap 1/3 = 333333.3.. ppm -> 333334.
        let data = Dataset::parse(b"0,0\n1,0\n2,0\n3,1\n", crate::data::Labels::Present).expect("data");
        let predicted = [0, 0, 1, 1];
        let (gap, detail) = group_gap(&data, &predicted, &Grouping::EachClass).expect("gap");
        assert_eq!(gap, 333_334);
        assert!(detail.contains("0 0.6667 (2/3)"), "{detail}");
        assert_eq!(ratio_ppm_floor(2, 3), 666_666);
        let (gap, _) = group_gap(&data, &predicted, &Grouping::Attribute { column: "x0".into(), split_at: Some(1.5) })
            .expect("gap");
        // x0 < 1.5: rows 0,1 both right; >= 1.5: rows 2 wrong, 3 right -> 1 - 1/2.
        assert_eq!(gap, 500_000);
        assert!(group_gap(&data, &predicted, &Grouping::Attribute { column: "nope".into(), split_at: None }).is_err());
    }
}
