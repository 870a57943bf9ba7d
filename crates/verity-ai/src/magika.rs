//! Magika, Google's file-type classifier, run on tract: the same features, model and
//! decision rules as the `magika` 1.0.3 Python package, so the labels and scores agree
//! with it (the interoperability test compares them file by file).
//!
//! A model directory holds the three files the package ships, as
//! `scripts/fetch-magika.sh` lays them out:
//!
//! ```text
//! model.onnx                  magika/models/standard_v3_3/model.onnx
//! config.min.json             magika/models/standard_v3_3/config.min.json
//! content_types_kb.min.json   magika/config/content_types_kb.min.json
//! ```
//!
//! # Features (magika's "v2" extraction, from `Magika._extract_features_from_seekable`)
//! Read at most `block_size` bytes from the start and from the end of the file. Strip
//! leading ASCII whitespace from the first block and trailing ASCII whitespace from the
//! last; keep the first `beg_size` bytes of the one (padded at the end with
//! `padding_token`) and the last `end_size` bytes of the other (padded at the start).
//! The model takes `beg ++ end` as one int32 row.
//!
//! # Decisions (from `Magika._get_result_or_features_from_seekable` and
//! `_get_output_label_from_dl_label_and_score`)
//! - an empty file is `empty`; a directory is `directory` (no model run);
//! - a file shorter than `min_file_size_for_dl`, or whose `min_file_size_for_dl`-th
//!   feature is padding after stripping, is `txt` if its first `block_size` bytes are
//!   valid UTF-8 and `unknown` otherwise (no model run);
//! - otherwise the model's best class (`dl`) with its score; `overwrite_map` renames
//!   some classes; in the default high-confidence mode a score under the class's
//!   threshold (or `medium_confidence_threshold`) gives `txt` for a text class and
//!   `unknown` for a binary one.

use std::collections::BTreeMap;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AiError;
use crate::infer::{argmax, Backend, BackendKind, FileClassifier, Matrix};
use crate::onnx::OnnxClassifier;

/// File names inside a magika model directory.
pub const MODEL_FILE: &str = "model.onnx";
pub const CONFIG_FILE: &str = "config.min.json";
pub const KB_FILE: &str = "content_types_kb.min.json";
/// Largest JSON file read from a model directory.
const JSON_BYTES_MAX: u64 = 4 << 20;

/// `config.min.json`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MagikaConfig {
    pub beg_size: usize,
    pub mid_size: usize,
    pub end_size: usize,
    pub use_inputs_at_offsets: bool,
    pub medium_confidence_threshold: f64,
    pub min_file_size_for_dl: usize,
    pub padding_token: i32,
    pub block_size: usize,
    pub target_labels_space: Vec<String>,
    pub thresholds: BTreeMap<String, f64>,
    pub overwrite_map: BTreeMap<String, String>,
    #[serde(default)]
    pub version_major: u32,
}

/// One entry of `content_types_kb.min.json`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ContentType {
    pub mime_type: Option<String>,
    pub group: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub extensions: Option<Vec<String>>,
    pub is_text: bool,
}

/// How confident the model must be before its label is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PredictionMode {
    /// Keep the model's label whatever its score.
    BestGuess,
    /// Keep it when the score reaches `medium_confidence_threshold`.
    MediumConfidence,
    /// Keep it when the score reaches the class's own threshold (magika's default).
    #[default]
    HighConfidence,
}

impl std::str::FromStr for PredictionMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "best-guess" => Ok(PredictionMode::BestGuess),
            "medium-confidence" => Ok(PredictionMode::MediumConfidence),
            "high-confidence" => Ok(PredictionMode::HighConfidence),
            other => Err(format!("{other:?} is not best-guess, medium-confidence or high-confidence")),
        }
    }
}

/// Why the output label differs from the model's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverwriteReason {
    None,
    OverwriteMap,
    LowConfidence,
}

/// The result for one file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Classification {
    /// The model's own best class, or `None` when the model was not run.
    pub dl: Option<String>,
    /// The label magika reports.
    pub output: String,
    /// The model's score for `dl` (1.0 when the model was not run).
    pub score: f64,
    pub overwrite_reason: OverwriteReason,
}

/// What to do with an input: answer without the model, or run it on these features.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Decided(Classification),
    Features(Vec<i32>),
}

/// A loaded magika model.
pub struct Magika {
    pub config: MagikaConfig,
    kb: BTreeMap<String, ContentType>,
    classifier: OnnxClassifier,
    pub mode: PredictionMode,
}

impl std::fmt::Debug for Magika {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Magika").field("classifier", &self.classifier).field("mode", &self.mode).finish()
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, AiError> {
    let size = std::fs::metadata(path).map_err(|e| AiError::io(path, e))?.len();
    if size > JSON_BYTES_MAX {
        return Err(refused(path, format!("larger than {JSON_BYTES_MAX} bytes")));
    }
    let bytes = std::fs::read(path).map_err(|e| AiError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| refused(path, format!("not a magika file of this kind: {e}")))
}

fn refused(path: &Path, reason: impl Into<String>) -> AiError {
    AiError::UnsupportedModelFormat { path: path.to_path_buf(), reason: reason.into() }
}

/// Whether `dir` looks like a magika model directory (it has the config file).
pub fn is_model_dir(dir: &Path) -> bool {
    dir.is_dir() && dir.join(CONFIG_FILE).is_file() && dir.join(MODEL_FILE).is_file()
}

impl Magika {
    /// Loads a model directory (see the module docs).
    pub fn load(dir: &Path) -> Result<Magika, AiError> {
        let config: MagikaConfig = read_json(&dir.join(CONFIG_FILE))?;
        let cfg_path = dir.join(CONFIG_FILE);
        // The extraction implemented here is magika's v2: no middle bytes, no offsets.
        if config.mid_size != 0 || config.use_inputs_at_offsets {
            return Err(refused(
                &cfg_path,
                "mid_size and use_inputs_at_offsets are not supported (magika's v2 features)",
            ));
        }
        if config.beg_size == 0
            || config.beg_size >= config.block_size
            || config.end_size >= config.block_size
            || config.block_size > 1 << 20
            || config.min_file_size_for_dl == 0
            || config.min_file_size_for_dl > config.beg_size
        {
            return Err(refused(&cfg_path, "beg_size, end_size, block_size or min_file_size_for_dl out of range"));
        }
        let kb: BTreeMap<String, ContentType> = read_json(&dir.join(KB_FILE))?;
        for label in config.target_labels_space.iter().chain(config.overwrite_map.values()) {
            if !kb.contains_key(label) {
                return Err(refused(&dir.join(KB_FILE), format!("no entry for the model's label {label:?}")));
            }
        }
        let classifier = OnnxClassifier::load(&dir.join(MODEL_FILE), config.target_labels_space.clone())?;
        if classifier.input_features() != config.beg_size + config.end_size {
            return Err(refused(
                &dir.join(MODEL_FILE),
                format!(
                    "the model takes {} features, the config gives {}",
                    classifier.input_features(),
                    config.beg_size + config.end_size
                ),
            ));
        }
        Ok(Magika { config, kb, classifier, mode: PredictionMode::default() })
    }

    /// The ONNX backend (classes are `target_labels_space`).
    pub fn backend(&self) -> &OnnxClassifier {
        &self.classifier
    }

    /// The knowledge-base entry of a label, when it has one.
    pub fn content_type(&self, label: &str) -> Option<&ContentType> {
        self.kb.get(label)
    }

    /// Decides a file's bytes without the model, or gives the model's features.
    /// `size` is the file's length; `read_at(offset, len)` returns those bytes.
    pub fn input_from(
        &self,
        size: u64,
        mut read_at: impl FnMut(u64, usize) -> std::io::Result<Vec<u8>>,
    ) -> std::io::Result<Input> {
        let c = &self.config;
        if size == 0 {
            return Ok(Input::Decided(decided("empty")));
        }
        if size < c.min_file_size_for_dl as u64 {
            let all = read_at(0, size as usize)?;
            return Ok(Input::Decided(decided(few_bytes_label(&all))));
        }
        let n = (c.block_size as u64).min(size) as usize;
        let first = read_at(0, n)?;
        let last = if size as usize == n { first.clone() } else { read_at(size - n as u64, n)? };
        let beg = lstrip(&first);
        let end = rstrip(&last);
        let mut features = Vec::with_capacity(c.beg_size + c.end_size);
        features.extend(beg.iter().take(c.beg_size).map(|&b| i32::from(b)));
        features.resize(c.beg_size, c.padding_token);
        if features[c.min_file_size_for_dl - 1] == c.padding_token {
            return Ok(Input::Decided(decided(few_bytes_label(&first))));
        }
        let tail = &end[end.len().saturating_sub(c.end_size)..];
        features.extend(std::iter::repeat_n(c.padding_token, c.end_size - tail.len()));
        features.extend(tail.iter().map(|&b| i32::from(b)));
        Ok(Input::Features(features))
    }

    /// [`Magika::input_from`] for bytes in memory.
    pub fn input_from_bytes(&self, bytes: &[u8]) -> Input {
        let read = |off: u64, len: usize| Ok(bytes[off as usize..off as usize + len].to_vec());
        // Reads are always inside the buffer, so this cannot fail.
        self.input_from(bytes.len() as u64, read).unwrap_or_else(|_| Input::Decided(decided("unknown")))
    }

    /// [`Magika::input_from`] for a path: reads only the first and last blocks.
    pub fn input_from_path(&self, path: &Path) -> Result<Input, AiError> {
        let meta = std::fs::metadata(path).map_err(|e| AiError::io(path, e))?;
        if meta.is_dir() {
            return Ok(Input::Decided(decided("directory")));
        }
        if !meta.is_file() {
            return Ok(Input::Decided(decided("unknown")));
        }
        let mut f = std::fs::File::open(path).map_err(|e| AiError::io(path, e))?;
        self.input_from(meta.len(), |off, len| {
            f.seek(SeekFrom::Start(off))?;
            let mut buf = vec![0; len];
            f.read_exact(&mut buf)?;
            Ok(buf)
        })
        .map_err(|e| AiError::io(path, e))
    }

    /// The label for the model's scores of one file.
    pub fn decide(&self, scores: &[f32]) -> Classification {
        let best = argmax(scores);
        let dl = self.config.target_labels_space[best].clone();
        let score = f64::from(scores[best]);
        let mut output = self.config.overwrite_map.get(&dl).cloned().unwrap_or_else(|| dl.clone());
        let mut reason = if output != dl { OverwriteReason::OverwriteMap } else { OverwriteReason::None };
        let keep = match self.mode {
            PredictionMode::BestGuess => true,
            PredictionMode::HighConfidence => {
                score >= *self.config.thresholds.get(&dl).unwrap_or(&self.config.medium_confidence_threshold)
            }
            PredictionMode::MediumConfidence => score >= self.config.medium_confidence_threshold,
        };
        if !keep {
            reason = OverwriteReason::LowConfidence;
            let text = self.kb.get(&output).is_some_and(|ct| ct.is_text);
            output = if text { "txt".into() } else { "unknown".into() };
            if dl == output {
                reason = OverwriteReason::None;
            }
        }
        Classification { dl: Some(dl), output, score, overwrite_reason: reason }
    }

    /// Classifies inputs: runs the model on those that need it (in one batch).
    pub fn classify_inputs(&self, inputs: Vec<Input>) -> Result<Vec<Classification>, AiError> {
        Ok(self.classify_inputs_with_scores(inputs)?.0)
    }

    /// [`Magika::classify_inputs`], also returning the model's scores: one row per input
    /// that ran through the model, in input order (what an output hash covers).
    pub fn classify_inputs_with_scores(&self, inputs: Vec<Input>) -> Result<(Vec<Classification>, Matrix), AiError> {
        let width = self.config.beg_size + self.config.end_size;
        let rows: Vec<f32> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::Features(f) => Some(f.iter().map(|&v| v as f32)),
                Input::Decided(_) => None,
            })
            .flatten()
            .collect();
        let n = rows.len() / width;
        let scores = if n == 0 {
            Matrix { rows: 0, cols: self.config.target_labels_space.len(), data: vec![] }
        } else {
            self.classifier.logits(&Matrix { rows: n, cols: width, data: rows })?
        };
        let mut next = 0;
        let results = inputs
            .into_iter()
            .map(|i| match i {
                Input::Decided(c) => c,
                Input::Features(_) => {
                    next += 1;
                    self.decide(scores.row(next - 1))
                }
            })
            .collect();
        Ok((results, scores))
    }

    /// Classifies files.
    pub fn classify_paths(&self, paths: &[PathBuf]) -> Result<Vec<Classification>, AiError> {
        let inputs = paths.iter().map(|p| self.input_from_path(p)).collect::<Result<Vec<_>, _>>()?;
        self.classify_inputs(inputs)
    }
}

impl Backend for Magika {
    fn kind(&self) -> BackendKind {
        BackendKind::Onnx
    }
    fn input_features(&self) -> usize {
        self.classifier.input_features()
    }
    fn classes(&self) -> &[String] {
        self.classifier.classes()
    }
    fn logits(&self, input: &Matrix) -> Result<Matrix, AiError> {
        self.classifier.logits(input)
    }
    fn files(&self) -> Option<&dyn FileClassifier> {
        Some(self)
    }
}

/// The model's label (`dl`) when the model ran, the decided label otherwise: what the
/// model says, before thresholds replace low-confidence labels with `txt`/`unknown`.
impl FileClassifier for Magika {
    fn classify_files(&self, files: &[&[u8]]) -> Result<Vec<String>, AiError> {
        let inputs = files.iter().map(|b| self.input_from_bytes(b)).collect();
        Ok(self.classify_inputs(inputs)?.into_iter().map(|c| c.dl.unwrap_or(c.output)).collect())
    }
}

fn decided(label: &str) -> Classification {
    Classification { dl: None, output: label.into(), score: 1.0, overwrite_reason: OverwriteReason::None }
}

/// `txt` when the bytes are valid UTF-8, `unknown` otherwise (magika's rule for inputs
/// too short for the model).
fn few_bytes_label(bytes: &[u8]) -> &'static str {
    if std::str::from_utf8(bytes).is_ok() {
        "txt"
    } else {
        "unknown"
    }
}

/// Python's `bytes.isspace` set: space, \t, \n, \r, \x0b, \x0c.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn lstrip(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| !is_py_space(c)).unwrap_or(b.len());
    &b[start..]
}

fn rstrip(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| !is_py_space(c)).map_or(0, |i| i + 1);
    &b[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_matches_python() {
        assert_eq!(lstrip(b" \t\n\r\x0b\x0cab \n"), b"ab \n");
        assert_eq!(rstrip(b" ab \t\n\r\x0b\x0c"), b" ab");
        assert_eq!(lstrip(b"  "), b"");
        assert_eq!(rstrip(b"  "), b"");
        // NUL and 0x85 are not whitespace for Python bytes.
        assert_eq!(lstrip(b"\x00a"), b"\x00a");
        assert_eq!(lstrip(b"\x85a"), b"\x85a");
    }

    #[test]
    fn few_bytes_rule() {
        assert_eq!(few_bytes_label(b"hello"), "txt");
        assert_eq!(few_bytes_label(b"\xff\xfe"), "unknown");
        assert_eq!(few_bytes_label("é".as_bytes()), "txt");
    }

    #[test]
    fn prediction_modes_parse() {
        assert_eq!("best-guess".parse::<PredictionMode>(), Ok(PredictionMode::BestGuess));
        assert!("high".parse::<PredictionMode>().is_err());
    }
}
