//! magika on tract against the reference: the `magika` 1.0.3 Python package on
//! onnxruntime, from the repository's `.venv` (`scripts/py-venv.sh`), classifies the
//! same generated corpus; labels must match file for file and every one of the 214
//! scores must agree within 1e-5. The model comes from `scripts/fetch-magika.sh`
//! (`models/magika`), which `scripts/test.sh` runs first.
//!
//! A missing model or venv fails the test; VERITY_SKIP_PY_INTEROP=1 skips it.

use std::path::{Path, PathBuf};
use std::process::Command;

use verity_ai::corpus::Corpus;
use verity_ai::infer::{self, Backend, Matrix};
use verity_ai::magika::{Input, Magika};

fn model_dir() -> Option<PathBuf> {
    if verity_testkit::repo::skip_py_interop("the magika tests") {
        return None;
    }
    let dir = std::env::var_os("VERITY_MAGIKA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| verity_testkit::repo::repo_root().join("models/magika"));
    assert!(
        verity_ai::magika::is_model_dir(&dir),
        "{} has no magika model: run scripts/fetch-magika.sh (or set VERITY_SKIP_PY_INTEROP=1 to skip)",
        dir.display()
    );
    Some(dir)
}

#[derive(serde::Deserialize)]
struct Oracle {
    path: String,
    dl: String,
    output: String,
    score: f64,
    scores: Option<Vec<f64>>,
}

#[test]
fn labels_and_scores_match_the_reference_magika() {
    let Some(dir) = model_dir() else { return };
    let magika = Magika::load(&dir).expect("the fetched model loads");
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = Corpus::generate(11, 3, &[]).expect("corpus");
    let mut paths = corpus.write(tmp.path()).expect("write corpus");
    // Edge cases of the feature rules: empty, shorter than min_file_size_for_dl,
    // whitespace-only, short after stripping, invalid UTF-8, exactly one block, and
    // a file longer than two blocks with whitespace at both ends.
    let edge: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("tiny", b"abc".to_vec()),
        ("spaces", b"   \n\t\r\x0b\x0c   ".to_vec()),
        ("short_stripped", b"        hi\n\n\n\n".to_vec()),
        ("binary_short", vec![0xff, 0xfe, 0x00, 0x81, 0x82]),
        ("block", (0..4096u32).map(|i| b"abcdefgh\n"[(i % 9) as usize]).collect()),
        ("long", {
            let mut v = b"\n\n   ".to_vec();
            v.extend(corpus.files[0].bytes.iter().cycle().take(9000));
            v.extend_from_slice(b"  \n\n");
            v
        }),
    ];
    for (name, bytes) in &edge {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        paths.push(p);
    }
    let ours = magika.classify_paths(&paths).expect("classify");

    let py = verity_testkit::repo::repo_root().join(".venv/bin/python");
    assert!(py.exists(), "{} is missing: run scripts/py-venv.sh", py.display());
    let out = Command::new(&py)
        .arg(verity_testkit::repo::repo_root().join("crates/verity-ai/tests/py/magika_oracle.py"))
        .args(&paths)
        .output()
        .expect("run the oracle");
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<Oracle> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("oracle JSON")).collect();
    assert_eq!(theirs.len(), paths.len());

    let mut model_runs = 0;
    let mut worst_overall = 0.0f64;
    for ((p, o), t) in paths.iter().zip(&ours).zip(&theirs) {
        assert_eq!(Path::new(&t.path), p.as_path());
        let our_dl = o.dl.clone().unwrap_or_else(|| "undefined".into());
        assert_eq!((our_dl.as_str(), o.output.as_str()), (t.dl.as_str(), t.output.as_str()), "{}", p.display());
        assert!((o.score - t.score).abs() <= 1e-5, "{}: score {} vs {}", p.display(), o.score, t.score);
        if let Some(scores) = &t.scores {
            model_runs += 1;
            let Input::Features(f) = magika.input_from_path(p).expect("features") else {
                panic!("{}: the reference ran the model, we did not", p.display())
            };
            let row = Matrix { rows: 1, cols: f.len(), data: f.iter().map(|&v| v as f32).collect() };
            let ours = magika.backend().logits(&row).expect("logits");
            assert_eq!(ours.data.len(), scores.len());
            let worst = ours.data.iter().zip(scores).map(|(a, b)| (f64::from(*a) - b).abs()).fold(0.0, f64::max);
            assert!(worst <= 1e-5, "{}: a score differs by {worst}", p.display());
            worst_overall = worst_overall.max(worst);
        }
    }
    println!("{model_runs} files through the model; largest score difference from the reference {worst_overall:e}");
    assert!(model_runs >= corpus.files.len(), "the model ran on every corpus file");
}

#[test]
fn inference_is_deterministic_and_open_finds_the_backend() {
    let Some(dir) = model_dir() else { return };
    let backend = infer::open(&dir).expect("open a magika directory");
    assert_eq!(backend.classes().len(), 214);
    assert_eq!(backend.input_features(), 2048);
    let corpus = Corpus::generate(2, 2, &["python".into(), "png".into(), "pdf".into()]).expect("corpus");
    let files: Vec<&[u8]> = corpus.files.iter().map(|f| f.bytes.as_slice()).collect();
    let labels = backend.files().expect("magika classifies files").classify_files(&files).expect("classify");
    assert_eq!(labels.len(), 6);
    let magika = Magika::load(&dir).expect("load");
    let rows: Vec<f32> = files
        .iter()
        .flat_map(|b| match magika.input_from_bytes(b) {
            Input::Features(f) => f.into_iter().map(|v| v as f32).collect::<Vec<_>>(),
            Input::Decided(_) => panic!("corpus files are long enough for the model"),
        })
        .collect();
    let input = Matrix { rows: files.len(), cols: 2048, data: rows };
    let a = infer::predict(backend.as_ref(), &input).expect("predict");
    let b = infer::predict(backend.as_ref(), &input).expect("predict");
    assert_eq!(a.output_hash(), b.output_hash());
    // A row alone gives the same bits as in a batch.
    let first = Matrix { rows: 1, cols: 2048, data: input.data[..2048].to_vec() };
    assert_eq!(infer::predict(backend.as_ref(), &first).expect("predict").logits.data, a.logits.row(0));
    // Wrong widths and non-integers are refused, not run.
    assert!(backend.logits(&Matrix { rows: 1, cols: 3, data: vec![0.0; 3] }).is_err());
    let mut bad = first.clone();
    bad.data[0] = 0.5;
    assert!(backend.logits(&bad).is_err());
}

#[test]
fn the_example_magika_suite_runs_on_its_generated_corpus() {
    use verity_ai::eval::{self, Suite, SuiteData};
    use verity_types::dsse::EvaluationStatement;

    let Some(dir) = model_dir() else { return };
    let backend = infer::open(&dir).expect("open");
    let path = verity_testkit::repo::repo_root().join("examples/suites/magika.toml");
    let suite = Suite::load(&path).expect("the example suite parses");
    let digest = eval::model_digest(&dir).expect("fingerprint the model directory");
    let report = eval::evaluate(&suite, backend.as_ref(), "magika@1", digest).expect("evaluate");
    assert_eq!(report.test_rows, 23 * 20);
    let SuiteData::Corpus(c) = &suite.data else { panic!("a corpus suite") };
    assert_eq!(report.dataset_sha256, c.sha256);
    let kinds: Vec<&str> = report.statements.iter().map(|s| s.predicate.kind.as_str()).collect();
    assert_eq!(kinds, ["fairness", "performance", "robustness"]);
    let accuracy = report.results.iter().find(|r| r.metric.name == "accuracy").expect("accuracy");
    println!("magika corpus accuracy: {}", accuracy.detail);
    assert!(accuracy.metric.value_ppm >= 950_000, "{}", accuracy.detail);
    assert!(report.passed());
    for st in &report.statements {
        let parsed = EvaluationStatement::parse(&st.to_payload()).expect("parses");
        assert_eq!(parsed, *st);
        assert_eq!(parsed.subject[0].digest.sha256, digest);
    }
    // Byte noise must change what the model sees: at 10% some files are misread.
    let noisy = report.results.iter().find(|r| r.metric.name == "byte_noise_10pct_accuracy").expect("noise");
    assert!(noisy.metric.value_ppm < accuracy.metric.value_ppm, "{}", noisy.detail);

    // A suite whose digest does not match the regenerated corpus is refused.
    let text = std::fs::read_to_string(&path).expect("read suite");
    let other = text.replace(&hex::encode(c.sha256), &"00".repeat(32));
    let tampered = Suite::parse(&other, path.parent().expect("dir")).expect("parses");
    assert!(matches!(
        eval::evaluate(&tampered, backend.as_ref(), "magika@1", digest),
        Err(verity_ai::AiError::DatasetMismatch { .. })
    ));
}
