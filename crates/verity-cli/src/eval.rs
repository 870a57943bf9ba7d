//! `verity eval run`: the evaluation oracle. Runs a suite (TOML, format in docs/AI.md)
//! on a model, prints every metric against its threshold, signs one in-toto evaluation
//! statement per attestation kind in a DSSE envelope with the evaluator's keystore key,
//! writes each to a file and, with `--submit`, posts each to the ledger through the same
//! call `verity attest submit` uses.
//!
//! A failed threshold is a result, not an error: the statement says `passed: false`,
//! is signed and submitted like any other, and the command exits 0. It exits non-zero
//! when the evaluation cannot run (bad suite, wrong data set digest, overlapping split)
//! or a submission fails.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use verity_ai::corpus::Corpus;
use verity_ai::eval::{self, Suite};
use verity_ai::infer;
use verity_client::Client;

use crate::Global;

#[derive(Subcommand)]
pub enum EvalCmd {
    /// Run a suite on a model; sign one attestation per kind (--as), optionally submit them.
    Run(EvalRunArgs),
    /// Write the labelled file corpus a [corpus] suite generates, and print its digest.
    Corpus(CorpusArgs),
}

#[derive(Args)]
pub struct CorpusArgs {
    /// The generator's seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Files of each type.
    #[arg(long, default_value_t = 20)]
    pub per_type: u32,
    /// Only these types (comma-separated; default: every type the generator makes).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Directory to write the files and labels.csv into (created if missing).
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct EvalRunArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// The suite file (TOML).
    #[arg(long)]
    pub suite: PathBuf,
    /// The statements' subject name, e.g. digits@1 (default: the model file's name without extension).
    #[arg(long)]
    pub subject: Option<String>,
    /// The evaluator's keystore key (name or account); without it nothing is signed or written.
    #[arg(long = "as", alias = "signer")]
    pub signer: Option<String>,
    /// Directory for the signed envelopes (SUITE.KIND.dsse.json).
    #[arg(short = 'o', long = "out-dir", default_value = ".")]
    pub out_dir: PathBuf,
    /// Post each signed attestation to the node and print its id.
    #[arg(long)]
    pub submit: bool,
}

pub fn run(g: &Global, cmd: EvalCmd) -> Result<()> {
    match cmd {
        EvalCmd::Run(a) => run_suite(g, a),
        EvalCmd::Corpus(a) => write_corpus(g, a),
    }
}

fn write_corpus(g: &Global, a: CorpusArgs) -> Result<()> {
    let corpus = Corpus::generate(a.seed, a.per_type, &a.labels)?;
    if let Some(dir) = &a.out {
        corpus.write(dir)?;
    }
    let digest = hex::encode(corpus.digest());
    if g.json {
        println!(
            "{}",
            json!({"generator": verity_ai::corpus::GENERATOR, "seed": a.seed, "per_type": a.per_type,
                   "files": corpus.files.len(), "sha256": digest,
                   "out": a.out.as_ref().map(|d| d.display().to_string())})
        );
    } else {
        println!("{} files, generator {}, sha256 {digest}", corpus.files.len(), verity_ai::corpus::GENERATOR);
        if let Some(dir) = &a.out {
            println!("written to {} (labels in {})", dir.display(), verity_ai::corpus::MANIFEST);
        }
    }
    Ok(())
}

/// Keeps file names portable: anything but ASCII letters, digits, `.`, `_`, `-` becomes `_`.
fn file_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

fn default_subject(model: &Path) -> String {
    model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into())
}

fn run_suite(g: &Global, a: EvalRunArgs) -> Result<()> {
    if a.submit && a.signer.is_none() {
        bail!("--submit needs --as EVALUATOR: only signed attestations can be submitted");
    }
    // Find the key first, so a wrong name fails before the evaluation runs.
    let key = match &a.signer {
        Some(s) => Some(crate::commands::open_keystore(g)?.find(s)?),
        None => None,
    };
    let suite = Suite::load(&a.suite)?;
    let backend = infer::open(&a.model)?;
    let digest = eval::model_digest(&a.model)?;
    let subject = a.subject.clone().unwrap_or_else(|| default_subject(&a.model));
    let report = eval::evaluate(&suite, backend.as_ref(), &subject, digest)?;

    // Sign and write one envelope per kind.
    let mut files: Vec<Option<PathBuf>> = vec![None; report.statements.len()];
    let mut envelopes = Vec::new();
    if let Some((account, secret)) = &key {
        std::fs::create_dir_all(&a.out_dir).with_context(|| format!("creating {}", a.out_dir.display()))?;
        envelopes = report.envelopes(account, secret);
        for ((st, env), file) in report.statements.iter().zip(&envelopes).zip(&mut files) {
            let path =
                a.out_dir.join(format!("{}.{}.dsse.json", file_part(&suite.id), file_part(st.predicate.kind.as_str())));
            let mut bytes = serde_json::to_vec_pretty(env)?;
            bytes.push(b'\n');
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            *file = Some(path);
        }
    }

    // Submit each; keep going after a failure so every outcome is reported.
    let mut submitted: Vec<Option<Result<String, String>>> = vec![None; envelopes.len()];
    if a.submit {
        let signer = a.signer.as_deref().expect("checked above: --submit needs --as");
        let client = Client::new(&g.node);
        let rt = crate::commands::runtime()?;
        for (env, slot) in envelopes.iter().zip(&mut submitted) {
            let r = rt.block_on(crate::provenance::submit_attestation(g, &client, signer, env.clone(), false));
            *slot = Some(r.map(|id| id.to_hex()).map_err(|e| format!("{e:#}")));
        }
    }

    print_report(g, &a, &suite, &subject, digest, &report, &files, &submitted)?;
    if key.is_none() {
        eprintln!("note: nothing was signed or written: give --as EVALUATOR (a keystore key) to sign the statements");
    }
    let failures = submitted.iter().filter(|s| matches!(s, Some(Err(_)))).count();
    if failures > 0 {
        bail!("{failures} of {} attestation(s) could not be submitted", submitted.len());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    g: &Global,
    a: &EvalRunArgs,
    suite: &Suite,
    subject: &str,
    digest: verity_types::Hash,
    report: &eval::EvalReport,
    files: &[Option<PathBuf>],
    submitted: &[Option<Result<String, String>>],
) -> Result<()> {
    let ppm = |v: i64| format!("{:.6}", v as f64 / 1e6);
    if g.json {
        let results: Vec<_> = report
            .results
            .iter()
            .map(|r| {
                json!({"kind": r.kind, "metric": r.metric.name, "value_ppm": r.metric.value_ppm,
                       "threshold_ppm": r.metric.threshold_ppm, "higher_is_better": r.metric.higher_is_better,
                       "meets_threshold": r.metric.meets_threshold(), "detail": r.detail})
            })
            .collect();
        let statements: Vec<_> = report
            .statements
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let sub = submitted.get(i).cloned().flatten();
                json!({"kind": st.predicate.kind, "passed": st.predicate.passed,
                       // Ids are bound to the evaluator (the signer, who submits them).
                       "attestation_id": a.signer.as_deref().and_then(|s| verity_types::AccountId::new(s).ok())
                           .map(|e| verity_types::attestation_id(&e, &verity_types::sha256(&st.to_payload()))),
                       "file": files[i].as_ref().map(|p| p.display().to_string()),
                       "submitted": sub.as_ref().map(|r| r.is_ok()),
                       "submit_error": sub.and_then(|r| r.err())})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "suite": suite.id, "model": a.model.display().to_string(), "subject": subject,
                "fingerprint": digest, "dataset": {"name": report.dataset_name,
                "sha256": hex::encode(report.dataset_sha256)}, "test_rows": report.test_rows,
                "passed": report.passed(), "results": results, "statements": statements,
            }))?
        );
        return Ok(());
    }
    crate::output::table(vec![
        ("suite", suite.id.clone()),
        ("model", format!("{} (fingerprint {})", a.model.display(), digest.to_hex())),
        ("subject", subject.to_string()),
        (
            "dataset",
            format!(
                "{} sha256 {} ({} held-out rows)",
                report.dataset_name,
                hex::encode(report.dataset_sha256),
                report.test_rows
            ),
        ),
    ]);
    println!();
    let w = report.results.iter().map(|r| r.metric.name.len()).max().unwrap_or(6).max(6);
    let k = report.results.iter().map(|r| r.kind.as_str().len()).max().unwrap_or(4).max(4);
    println!("{:<k$}  {:<w$}  {:>8}  {:>11}  result", "kind", "metric", "value", "threshold");
    for r in &report.results {
        let m = &r.metric;
        let threshold = match m.threshold_ppm {
            None => "-".to_string(),
            Some(t) => format!("{} {}", if m.higher_is_better { ">=" } else { "<=" }, ppm(t)),
        };
        let result = match (m.threshold_ppm, m.meets_threshold()) {
            (None, _) => "info",
            (_, true) => "pass",
            (_, false) => "FAIL",
        };
        println!("{:<k$}  {:<w$}  {:>8}  {:>11}  {result}", r.kind.as_str(), m.name, ppm(m.value_ppm), threshold);
    }
    println!();
    for r in &report.results {
        println!("{}: {}", r.metric.name, r.detail);
    }
    println!();
    for (i, st) in report.statements.iter().enumerate() {
        let verdict = if st.predicate.passed { "passed" } else { "FAILED" };
        let file = files[i].as_ref().map(|p| format!(" -> {}", p.display())).unwrap_or_default();
        let sub = match submitted.get(i).cloned().flatten() {
            None => String::new(),
            Some(Ok(id)) => format!("; submitted, attestation {id}"),
            Some(Err(e)) => format!("; SUBMIT FAILED: {e}"),
        };
        println!("{} {verdict}{file}{sub}", st.predicate.kind);
    }
    Ok(())
}
