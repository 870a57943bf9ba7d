//! `verity train` (deterministic training of the project's tabular models) and `verity
//! infer` (predictions with a re-executable output hash). No node is needed.
//!
//! `train` writes the model (safetensors), its training log next to it
//! (`NAME.train.log`: one `epoch N loss L` line per epoch, then the held-out accuracy),
//! and with `--run-out` a RUN.json describing the run for registering it on the ledger
//! (format in docs/AI.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::json;
use verity_ai::data::{Dataset, Labels, Split};
use verity_ai::eval::model_digest;
use verity_ai::infer::{self, Matrix};
use verity_ai::magika::{self, Magika};
use verity_ai::model::{canonical_json, Arch};
use verity_ai::train::{train, TrainConfig};
use verity_types::provenance::{check_commit, check_date, check_text};
use verity_types::{sha256, DatasetRef, RunId};

use crate::output::show;
use crate::Global;

#[derive(Args)]
pub struct TrainArgs {
    /// Training data: a CSV file (scikit-learn's layout, headerless numbers, or named columns).
    #[arg(long)]
    pub data: PathBuf,
    /// Model architecture: logreg (multinomial logistic regression) or mlp (one hidden ReLU layer).
    #[arg(long, value_parser = ["logreg", "mlp"])]
    pub arch: String,
    /// Hidden units of the mlp.
    #[arg(long, default_value_t = 32)]
    pub hidden: u32,
    /// Passes over the training rows (default 40).
    #[arg(long)]
    pub epochs: Option<u32>,
    /// SGD learning rate (default 0.05).
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD momentum (default 0.9).
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Rows per mini-batch (default 32).
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// L2 weight penalty (default 0.001).
    #[arg(long)]
    pub l2: Option<f64>,
    /// Seeds the initial weights and the batch order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seeds the held-out split (an evaluation suite must use the same split).
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Fraction of each class held out for testing.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Where to write the model (safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write RUN.json describing the run (for registering it on the ledger).
    #[arg(long)]
    pub run_out: Option<PathBuf>,
    /// A ledger data set the run used, NAME@VERSION (repeatable); recorded in RUN.json.
    #[arg(long = "dataset-ref")]
    pub dataset_refs: Vec<String>,
    /// The code commit recorded in RUN.json (default: `git rev-parse HEAD` here).
    #[arg(long)]
    pub code_commit: Option<String>,
    /// YYYY-MM-DD recorded in RUN.json (default: today, UTC).
    #[arg(long)]
    pub training_date: Option<String>,
    /// The team recorded in RUN.json.
    #[arg(long, default_value = "ml")]
    pub team: String,
}

#[derive(Args)]
pub struct InferArgs {
    /// The model: safetensors from `verity train`, an .onnx classifier, or a magika
    /// model directory (scripts/fetch-magika.sh).
    #[arg(long)]
    pub model: PathBuf,
    /// Input rows: a CSV with the model's feature columns, with or without the target column.
    #[arg(long, required_unless_present = "files", conflicts_with = "files")]
    pub data: Option<PathBuf>,
    /// Only rows A..B (0-based, B excluded), e.g. 0..10 (with --data).
    #[arg(long)]
    pub rows: Option<String>,
    /// Files to classify with a magika model directory (file types).
    #[arg(long, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// magika's confidence rule for --files: high-confidence, medium-confidence or best-guess.
    #[arg(long, default_value = "high-confidence")]
    pub mode: String,
}

/// The training log's path: next to the model, `NAME.train.log`.
pub fn log_path(model: &Path) -> PathBuf {
    model.with_extension("train.log")
}

pub fn run_train(g: &Global, a: TrainArgs) -> Result<()> {
    let data = Dataset::load(&a.data)?;
    let arch = match a.arch.as_str() {
        "logreg" => Arch::Logreg,
        _ => Arch::Mlp { hidden: a.hidden },
    };
    let defaults = TrainConfig::new(arch);
    let config = TrainConfig {
        arch,
        epochs: a.epochs.unwrap_or(defaults.epochs),
        learning_rate: a.lr.unwrap_or(defaults.learning_rate),
        momentum: a.momentum.unwrap_or(defaults.momentum),
        batch_size: a.batch_size.unwrap_or(defaults.batch_size),
        l2: a.l2.unwrap_or(defaults.l2),
        seed: a.seed,
        split: Split::new(a.split_seed, a.test_fraction)?,
    };
    // Check RUN.json's inputs before spending time on training.
    let run_meta = match &a.run_out {
        Some(_) => Some(RunMeta::from_args(&a)?),
        None => None,
    };

    let started = std::time::Instant::now();
    let outcome = train(&data, &config)?;
    let secs = started.elapsed().as_secs_f64();
    for p in std::iter::once(&a.out).chain(a.run_out.as_ref()) {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    outcome.model.save(&a.out)?;
    let log = outcome.log_text();
    let log_file = log_path(&a.out);
    std::fs::write(&log_file, &log).with_context(|| format!("writing {}", log_file.display()))?;
    let fingerprint = model_digest(&a.out)?;
    let acc = outcome.test_accuracy;
    let hyperparameters = serde_json::to_value(&config)?;
    let hyper_sha = sha256(canonical_json(&hyperparameters).as_bytes());
    let data_sha = hex::encode(data.sha256);
    let log_sha = sha256(log.as_bytes());

    if let (Some(path), Some(meta)) = (&a.run_out, run_meta) {
        // The run id names this run's inputs and outputs: the same training gives the same id.
        let id_hash = sha256(
            format!("verity/run/v1\n{}\n{data_sha}\n{}\n{}\n", meta.code_commit, hyper_sha.to_hex(), log_sha.to_hex())
                .as_bytes(),
        );
        let run = json!({
            "run": format!("run-{}", &id_hash.to_hex()[..16]),
            "datasets": meta.datasets,
            "base_model": null,
            "code_commit": meta.code_commit,
            "hyperparameters": hyperparameters,
            "hyperparameters_sha256": hyper_sha.to_hex(),
            "training_date": meta.training_date,
            "team": meta.team,
            "run_log_sha256": log_sha.to_hex(),
            "data_sha256": data_sha,
            "model_path": a.out.display().to_string(),
        });
        let mut bytes = serde_json::to_vec_pretty(&run)?;
        bytes.push(b'\n');
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }

    let final_loss = outcome.epochs.last().map(|e| e.loss).unwrap_or(f64::NAN);
    show(
        g.json,
        &json!({
            "model": a.out.display().to_string(), "log": log_file.display().to_string(),
            "run": a.run_out.as_ref().map(|p| p.display().to_string()),
            "fingerprint": fingerprint, "arch": arch.name(), "config": hyperparameters,
            "data_sha256": data_sha, "rows": data.rows(), "features": data.feature_count(),
            "classes": data.class_names, "train_rows": outcome.train_rows,
            "test_correct": acc.correct, "test_rows": acc.total, "test_accuracy": acc.fraction(),
            "final_loss": final_loss, "seconds": secs,
        }),
        vec![
            (
                "data",
                format!(
                    "{} ({} rows, {} features, {} classes)",
                    a.data.display(),
                    data.rows(),
                    data.feature_count(),
                    data.class_names.len()
                ),
            ),
            ("data sha256", data_sha.clone()),
            (
                "arch",
                match arch {
                    Arch::Mlp { hidden } => format!("mlp (hidden {hidden})"),
                    Arch::Logreg => "logreg".into(),
                },
            ),
            ("epochs", format!("{} (final loss {final_loss:.6})", config.epochs)),
            ("rows trained / held out", format!("{} / {}", outcome.train_rows, acc.total)),
            ("held-out accuracy", format!("{:.4} ({}/{})", acc.fraction(), acc.correct, acc.total)),
            ("model", a.out.display().to_string()),
            ("fingerprint (OMS)", fingerprint.to_hex()),
            ("training log", log_file.display().to_string()),
            ("run file", a.run_out.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "-".into())),
            ("seconds", format!("{secs:.2}")),
        ],
    );
    Ok(())
}

/// RUN.json's fields that come from the command line rather than from training.
struct RunMeta {
    datasets: Vec<String>,
    code_commit: String,
    training_date: String,
    team: String,
}

impl RunMeta {
    fn from_args(a: &TrainArgs) -> Result<RunMeta> {
        let mut datasets = Vec::new();
        for d in &a.dataset_refs {
            let r: DatasetRef = d.parse().with_context(|| format!("--dataset-ref {d:?}"))?;
            datasets.push(r.to_string());
        }
        let code_commit = match &a.code_commit {
            Some(c) => c.clone(),
            None => git_head().context("RUN.json needs the code commit: give --code-commit")?,
        };
        check_commit(&code_commit)?;
        let training_date = a.training_date.clone().unwrap_or_else(today_utc);
        check_date("training_date", &training_date)?;
        check_text("team", &a.team, 128)?;
        // The run id format must be one the ledger accepts.
        RunId::new("run-0123456789abcdef")?;
        Ok(RunMeta { datasets, code_commit, training_date, team: a.team.clone() })
    }
}

fn git_head() -> Result<String> {
    let out = Command::new("git").args(["rev-parse", "HEAD"]).output().context("running git")?;
    if !out.status.success() {
        bail!("not in a git repository ({})", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// Today's date in UTC, YYYY-MM-DD (civil-from-days, proleptic Gregorian).
fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    civil_date((secs / 86_400) as i64)
}

fn civil_date(days: i64) -> String {
    // Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn run_infer(g: &Global, a: InferArgs) -> Result<()> {
    let Some(data_path) = a.data.clone() else {
        if a.rows.is_some() {
            bail!("--rows selects rows of --data; with --files every file is classified");
        }
        return classify_files(g, &a);
    };
    let backend = infer::open(&a.model)?;
    let f = backend.input_features();
    // With the target column or without: decided by the column count.
    let data = match Dataset::load(&data_path) {
        Ok(d) if d.feature_count() == f => d,
        _ => Dataset::load_with(&data_path, Labels::Absent)?,
    };
    if data.feature_count() != f {
        bail!("{} has {} feature columns; the model takes {f}", data_path.display(), data.feature_count());
    }
    let (start, end) = match &a.rows {
        None => (0, data.rows()),
        Some(r) => {
            let (s, e) = r.split_once("..").ok_or_else(|| anyhow!("--rows {r:?} must look like A..B"))?;
            let (s, e): (usize, usize) = (s.parse()?, e.parse()?);
            if s >= e || e > data.rows() {
                bail!("--rows {r:?} must satisfy A < B <= {} (the data has {} rows)", data.rows(), data.rows());
            }
            (s, e)
        }
    };
    let rows: Vec<usize> = (start..end).collect();
    let subset = data.select(&rows);
    let input = Matrix { rows: subset.rows(), cols: f, data: subset.features.clone() };
    let pred = infer::predict(backend.as_ref(), &input)?;
    let classes = pred.classes();
    let hash = hex::encode(pred.output_hash());
    let names = backend.classes();
    let labelled = !subset.labels.is_empty() && subset.class_names.as_slice() == names;
    let correct = if labelled {
        Some(classes.iter().zip(&subset.labels).filter(|(p, l)| **p == **l as usize).count())
    } else {
        None
    };
    if g.json {
        let items: Vec<_> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"row": start + i, "class": names[*c], "probabilities": pred.probabilities(i),
                       "logits": pred.logits.row(i)})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "model": a.model.display().to_string(), "backend": backend.kind().name(),
                "classes": names, "rows": [start, end], "predictions": items, "output_hash": hash,
                "correct": correct,
            }))?
        );
        return Ok(());
    }
    println!("{:>6}  {:<12}  {:>11}{}", "row", "class", "probability", if labelled { "  label" } else { "" });
    for (i, c) in classes.iter().enumerate() {
        let p = pred.probabilities(i)[*c];
        let label =
            if labelled { format!("  {}", subset.class_names[subset.labels[i] as usize]) } else { String::new() };
        println!("{:>6}  {:<12}  {p:>11.4}{label}", start + i, names[*c]);
    }
    if let Some(c) = correct {
        println!("accuracy {:.4} ({c}/{})", c as f64 / classes.len() as f64, classes.len());
    }
    println!("output hash {hash}");
    Ok(())
}

/// `verity infer --files`: magika's label for each file, with the output hash of the
/// model's scores for the files it ran on (in order), so a re-run can be compared.
fn classify_files(g: &Global, a: &InferArgs) -> Result<()> {
    if !magika::is_model_dir(&a.model) {
        bail!(
            "--files needs a magika model directory ({} and {}); fetch one with scripts/fetch-magika.sh",
            magika::MODEL_FILE,
            magika::CONFIG_FILE
        );
    }
    let mut m = Magika::load(&a.model)?;
    m.mode = a.mode.parse().map_err(|e: String| anyhow!("--mode: {e}"))?;
    let inputs = a.files.iter().map(|p| m.input_from_path(p)).collect::<Result<Vec<_>, _>>()?;
    let (results, scores) = m.classify_inputs_with_scores(inputs)?;
    let hash = hex::encode(infer::output_hash(&scores));
    if g.json {
        let items: Vec<_> = a
            .files
            .iter()
            .zip(&results)
            .map(|(p, r)| {
                let ct = m.content_type(&r.output);
                json!({"path": p.display().to_string(), "label": r.output, "dl": r.dl, "score": r.score,
                       "overwrite_reason": r.overwrite_reason, "group": ct.and_then(|c| c.group.clone()),
                       "description": ct.and_then(|c| c.description.clone()),
                       "mime_type": ct.and_then(|c| c.mime_type.clone())})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "model": a.model.display().to_string(), "backend": "onnx", "mode": a.mode,
                "files": items, "model_runs": scores.rows, "output_hash": hash,
            }))?
        );
        return Ok(());
    }
    for (p, r) in a.files.iter().zip(&results) {
        let desc = m.content_type(&r.output).and_then(|c| c.description.as_deref()).unwrap_or("");
        println!("{}: {} ({desc}) score {:.4}", p.display(), r.output, r.score);
    }
    println!("output hash {hash} ({} file(s) through the model)", scores.rows);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(20_415), "2025-11-23");
    }
}
