//! The off-chain toolkit on real data: scikit-learn's digits (vendored under
//! `data/sklearn/`): training reaches a real accuracy bar, is bit-for-bit reproducible,
//! survives a save/load round trip with the same output hash, and the evaluator's
//! statements parse, verify under the evaluator's key and fail honestly.

use std::path::{Path, PathBuf};

use verity_ai::data::{Dataset, Split};
use verity_ai::eval::{self, Suite};
use verity_ai::infer::{self, Matrix};
use verity_ai::model::{Arch, Model};
use verity_ai::train::{train, TrainConfig};
use verity_ai::AiError;
use verity_types::dsse::EvaluationStatement;
use verity_types::keys::SecretKey;
use verity_types::{AccountId, Hash};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn digits() -> Dataset {
    Dataset::load(&repo().join("data/sklearn/digits.csv")).expect("the vendored digits load")
}

const DIGITS_SHA256: &str = "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8";

#[test]
fn digits_file_is_the_vendored_one() {
    let d = digits();
    assert_eq!(hex::encode(d.sha256), DIGITS_SHA256);
    assert_eq!((d.rows(), d.feature_count(), d.class_names.len()), (1797, 64, 10));
}

#[test]
fn default_training_clears_the_accuracy_bar() {
    let d = digits();
    for (arch, bar) in [(Arch::Logreg, 0.95), (Arch::Mlp { hidden: 32 }, 0.965)] {
        let out = train(&d, &TrainConfig::new(arch)).expect("trains");
        let acc = out.test_accuracy.fraction();
        println!("{arch:?}: held-out accuracy {acc:.4} ({:?})", out.test_accuracy);
        assert_eq!(out.test_accuracy.total, 359);
        assert!(acc >= bar, "{arch:?}: held-out accuracy {acc} is below {bar}");
    }
}

#[test]
fn training_is_bit_for_bit_reproducible() {
    let d = digits();
    for arch in [Arch::Logreg, Arch::Mlp { hidden: 16 }] {
        let config = TrainConfig { epochs: 3, ..TrainConfig::new(arch) };
        let a = train(&d, &config).expect("trains");
        let b = train(&d, &config).expect("trains");
        assert_eq!(a.model.to_bytes(), b.model.to_bytes(), "{arch:?}");
        assert_eq!(a.log_text(), b.log_text());
        let other_seed = train(&d, &TrainConfig { seed: 1, ..config.clone() }).expect("trains");
        assert_ne!(a.model.to_bytes(), other_seed.model.to_bytes(), "{arch:?}: the seed must matter");
        let other_split =
            train(&d, &TrainConfig { split: Split { seed: 5, test_ppm: 200_000 }, ..config.clone() }).expect("trains");
        assert_ne!(a.model.to_bytes(), other_split.model.to_bytes(), "{arch:?}: the split must matter");
    }
}

/// The SHA-256 of a short logistic-regression run's file, pinned on the platform it
/// was measured on (the trainer promises bit-identity per platform, since `exp` comes
/// from the platform's maths library). A change here is a change of the trainer, the
/// RNG streams or the file format, and must be deliberate.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn golden_model_digest() {
    let out = train(&digits(), &TrainConfig { epochs: 2, ..TrainConfig::new(Arch::Logreg) }).expect("trains");
    assert_eq!(hex::encode(verity_types::sha256(&out.model.to_bytes()).0), GOLDEN_LOGREG_2_EPOCHS);
}

const GOLDEN_LOGREG_2_EPOCHS: &str = "fcdbbd71679ae79a7cd49db6c9ca37e9553c5fb247707d05731f079184c12443";

#[test]
fn saved_model_predicts_the_same_bits() {
    let d = digits();
    let out = train(&d, &TrainConfig { epochs: 3, ..TrainConfig::new(Arch::Mlp { hidden: 16 }) }).expect("trains");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.safetensors");
    out.model.save(&path).expect("saves");
    let loaded = infer::open(&path).expect("opens");
    assert_eq!(loaded.native(), Some(&out.model));
    let input = Matrix { rows: d.rows(), cols: d.feature_count(), data: d.features.clone() };
    let a = infer::predict(loaded.as_ref(), &input).expect("predicts");
    let b = infer::predict(&out.model, &input).expect("predicts");
    assert_eq!(a.output_hash(), b.output_hash());
    assert_eq!(a.output_hash(), infer::predict(loaded.as_ref(), &input).expect("again").output_hash());
    let p = a.probabilities(0);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    // A corrupted file is refused with a typed error.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(infer::open(&path), Err(AiError::Model { .. })));
}

struct Fixture {
    dir: tempfile::TempDir,
    model: PathBuf,
}

fn fixture() -> Fixture {
    let d = digits();
    let out = train(&d, &TrainConfig::new(Arch::Logreg)).expect("trains");
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("digits-logreg.safetensors");
    out.model.save(&model).expect("saves");
    Fixture { dir, model }
}

fn suite_text(sha: &str, split_seed: u64, accuracy_min: f64) -> String {
    format!(
        r#"
id = "digits-test"
[dataset]
name = "sklearn-digits"
path = "{}"
sha256 = "{sha}"
[split]
seed = {split_seed}
test_fraction = 0.2
[[check]]
type = "accuracy"
kind = "performance"
metric = "accuracy"
min = {accuracy_min}
[[check]]
type = "group_accuracy_gap"
kind = "fairness"
metric = "even_odd_accuracy_gap"
group_by = "class"
groups = [{{ name = "even", classes = ["0", "2", "4", "6", "8"] }}, {{ name = "odd", classes = ["1", "3", "5", "7", "9"] }}]
max = 0.05
[[check]]
type = "group_accuracy_gap"
kind = "fairness"
metric = "class_accuracy_gap"
group_by = "class"
max = 0.2
[[check]]
type = "noise_accuracy"
kind = "robustness"
metric = "gaussian_noise_accuracy"
noise = "gaussian"
scale = 1.0
seed = 7
clip = [0.0, 16.0]
min = 0.6
"#,
        repo().join("data/sklearn/digits.csv").display()
    )
}

fn run(f: &Fixture, text: &str) -> Result<eval::EvalReport, AiError> {
    let suite_path = f.dir.path().join("suite.toml");
    std::fs::write(&suite_path, text).expect("write suite");
    let suite = Suite::load(&suite_path)?;
    let backend = infer::open(&f.model)?;
    eval::evaluate(&suite, backend.as_ref(), "digits@1", eval::model_digest(&f.model)?)
}

#[test]
fn evaluation_statements_parse_verify_and_fail_honestly() {
    let f = fixture();
    let report = run(&f, &suite_text(DIGITS_SHA256, 0, 0.93)).expect("evaluates");
    for r in &report.results {
        println!(
            "{} {} = {} ppm (threshold {:?}): {}",
            r.kind, r.metric.name, r.metric.value_ppm, r.metric.threshold_ppm, r.detail
        );
    }
    let kinds: Vec<String> = report.statements.iter().map(|s| s.predicate.kind.to_string()).collect();
    assert_eq!(kinds, ["fairness", "performance", "robustness"]);
    assert_eq!(report.test_rows, 359);
    let digest = eval::model_digest(&f.model).expect("digest");
    let key = SecretKey::from_seed([7; 32]);
    let eve = AccountId::new("eve").expect("id");
    for (st, env) in report.statements.iter().zip(report.envelopes(&eve, &key)) {
        env.verify("eve", &key.public_key()).expect("the evaluator's signature verifies");
        assert!(env.verify("eve", &SecretKey::from_seed([8; 32]).public_key()).is_err());
        let parsed = EvaluationStatement::parse(&env.payload).expect("the ledger's parser accepts it");
        assert_eq!(&parsed, st);
        assert_eq!(parsed.subject[0].digest.sha256, digest);
        assert_eq!(parsed.subject[0].name, "digits@1");
        assert_eq!(parsed.predicate.dataset.sha256, Hash(digits().sha256));
        assert_eq!(parsed.predicate.suite, "digits-test");
        // Metrics sorted by name, as the ledger requires.
        let names: Vec<&str> = parsed.predicate.metrics.iter().map(|m| m.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
    let perf = &report.statements[1];
    assert!(perf.predicate.passed, "{perf:?}");
    assert!(perf.predicate.metrics[0].value_ppm >= 930_000);

    // The same evaluation again gives the same statements (re-execution).
    let again = run(&f, &suite_text(DIGITS_SHA256, 0, 0.93)).expect("evaluates");
    assert_eq!(again.statements, report.statements);

    // An unreachable threshold gives passed = false, honestly, and the ledger's parser
    // still accepts the statement.
    let failing = run(&f, &suite_text(DIGITS_SHA256, 0, 0.9999)).expect("evaluates");
    let perf = &failing.statements[1];
    assert!(!perf.predicate.passed);
    assert!(!failing.passed());
    EvaluationStatement::parse(&perf.to_payload()).expect("a failed evaluation is a valid statement");
}

#[test]
fn evaluation_refuses_wrong_data_and_overlapping_splits() {
    let f = fixture();
    let wrong = "00".repeat(32);
    match run(&f, &suite_text(&wrong, 0, 0.9)) {
        Err(AiError::DatasetMismatch { expected, actual, .. }) => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, DIGITS_SHA256);
        }
        other => panic!("expected DatasetMismatch, got {other:?}"),
    }
    assert!(matches!(run(&f, &suite_text(DIGITS_SHA256, 9, 0.9)), Err(AiError::SplitMismatch { .. })));
    // A model trained on other data is refused on class or feature mismatch.
    let cancer = Dataset::load(&repo().join("data/sklearn/breast_cancer.csv")).expect("loads");
    let model = train(&cancer, &TrainConfig { epochs: 2, ..TrainConfig::new(Arch::Logreg) }).expect("trains");
    let backend: &dyn infer::Backend = &model.model;
    let suite = Suite::parse(&suite_text(DIGITS_SHA256, 0, 0.9), Path::new(".")).expect("suite");
    assert!(matches!(eval::evaluate(&suite, backend, "x@1", Hash::ZERO), Err(AiError::InputMismatch(_))));
}

#[test]
fn breast_cancer_trains_and_loads_with_named_classes() {
    let d = Dataset::load(&repo().join("data/sklearn/breast_cancer.csv")).expect("loads");
    assert_eq!(d.class_names, ["malignant", "benign"]);
    assert_eq!((d.rows(), d.feature_count()), (569, 30));
    let out = train(&d, &TrainConfig::new(Arch::Logreg)).expect("trains");
    println!("breast cancer logreg held-out accuracy {:.4}", out.test_accuracy.fraction());
    assert!(out.test_accuracy.fraction() >= 0.94, "{:?}", out.test_accuracy);
    let back = Model::from_bytes(&out.model.to_bytes()).expect("round trip");
    assert_eq!(back.classes, ["malignant", "benign"]);
}
