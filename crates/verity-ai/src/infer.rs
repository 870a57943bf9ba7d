//! The inference runtime: logits, probabilities and classes from a model backend, with
//! an output hash that is the same on every re-execution.
//!
//! A [`Backend`] turns a batch of input rows into a batch of logits. The project's own
//! tabular models ([`crate::model::Model`], safetensors) are the native backend; ONNX
//! models (magika and other exported classifiers) run on tract ([`crate::onnx`]), and
//! [`open`] picks the backend from the path. Backends must be deterministic: the same input gives the same
//! logits, bit for bit, on every run on one platform (the native backend runs on one
//! thread with fixed summation order).
//!
//! # Output hash
//!
//! SHA-256 over the canonical encoding of a batch of logits:
//!
//! ```text
//! "verity/infer/v1" || rows as u64 LE || classes as u64 LE || logits as f32 LE, row-major
//! ```
//!
//! with every NaN written as the quiet NaN `0x7fc00000` (a NaN's payload bits are not
//! meaningful). Probabilities and classes are derived from the logits, so they are
//! covered by the hash.

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::error::AiError;
use crate::model::Model;

/// The domain tag that starts the output-hash encoding.
pub const OUTPUT_HASH_TAG: &[u8] = b"verity/infer/v1";
/// Most rows predicted in one call.
pub const BATCH_ROWS_MAX: usize = 1_000_000;

/// Which runtime runs a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The project's own tabular models (safetensors, `verity-tabular` format).
    Native,
    /// ONNX models, on tract ([`crate::onnx`], [`crate::magika`]).
    Onnx,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Native => "native",
            BackendKind::Onnx => "onnx",
        }
    }
}

/// A row-major matrix of `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// A model that maps input rows to logits.
///
/// `logits` may be called any number of times, from any thread; it must return the
/// same bits for the same input every time. `input_features` and `classes` describe
/// the shapes it accepts and returns and never change for a loaded model.
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// Columns each input row must have.
    fn input_features(&self) -> usize;
    /// Class names in logit order.
    fn classes(&self) -> &[String];
    /// One row of logits per input row; refuses inputs of the wrong width.
    fn logits(&self, input: &Matrix) -> Result<Matrix, AiError>;
    /// The native model, when this backend is one (the evaluator reads its training
    /// record to refuse overlapping splits).
    fn native(&self) -> Option<&Model> {
        None
    }
    /// The whole-file classifier, when this backend is one (magika): corpus suites
    /// evaluate through it.
    fn files(&self) -> Option<&dyn FileClassifier> {
        None
    }
}

/// Classifies whole files (magika): corpus suites in [`crate::eval`] need one.
pub trait FileClassifier: Send + Sync {
    /// The predicted label of each file's bytes, in order.
    fn classify_files(&self, files: &[&[u8]]) -> Result<Vec<String>, AiError>;
}

/// Refuses a batch whose rows do not have `features` columns or that is incomplete or
/// larger than [`BATCH_ROWS_MAX`]; every backend checks its input with this.
pub fn check_batch(input: &Matrix, features: usize) -> Result<(), AiError> {
    if input.cols != features {
        return Err(AiError::InputMismatch(format!("rows have {} features, the model takes {features}", input.cols)));
    }
    if input.rows > BATCH_ROWS_MAX || input.data.len() != input.rows * input.cols {
        return Err(AiError::InputMismatch(format!("a batch holds 1 to {BATCH_ROWS_MAX} complete rows")));
    }
    Ok(())
}

impl Backend for Model {
    fn kind(&self) -> BackendKind {
        BackendKind::Native
    }

    fn input_features(&self) -> usize {
        self.features
    }

    fn classes(&self) -> &[String] {
        &self.classes
    }

    fn logits(&self, input: &Matrix) -> Result<Matrix, AiError> {
        check_batch(input, self.features)?;
        let c = self.classes.len();
        let mut out = Matrix { rows: input.rows, cols: c, data: vec![0.0; input.rows * c] };
        for i in 0..input.rows {
            self.logits_row(input.row(i), &mut out.data[i * c..(i + 1) * c]);
        }
        Ok(out)
    }

    fn native(&self) -> Option<&Model> {
        Some(self)
    }
}

/// Opens a model with the backend it calls for: a directory holding magika's files
/// ([`crate::magika`]) runs magika; safetensors (an 8-byte little-endian header length
/// followed by `{`) runs natively; a `.onnx` file runs on tract with classes named
/// `0`, `1`, ...
pub fn open(path: &Path) -> Result<Box<dyn Backend>, AiError> {
    if path.is_dir() {
        if crate::magika::is_model_dir(path) {
            return Ok(Box::new(crate::magika::Magika::load(path)?));
        }
        return Err(AiError::UnsupportedModelFormat {
            path: path.into(),
            reason: format!(
                "a directory model must hold magika's {} and {}",
                crate::magika::MODEL_FILE,
                crate::magika::CONFIG_FILE
            ),
        });
    }
    let mut head = [0u8; 9];
    {
        use std::io::Read as _;
        let mut f = std::fs::File::open(path).map_err(|e| AiError::io(path, e))?;
        let mut got = 0;
        while got < head.len() {
            match f.read(&mut head[got..]).map_err(|e| AiError::io(path, e))? {
                0 => break,
                n => got += n,
            }
        }
    }
    if head[8] == b'{' {
        return Ok(Box::new(Model::load(path)?));
    }
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx")) {
        return Ok(Box::new(crate::onnx::OnnxClassifier::load(path, Vec::new())?));
    }
    Err(AiError::UnsupportedModelFormat {
        path: path.into(),
        reason: "neither safetensors from `verity train`, an .onnx file, nor a magika model directory".into(),
    })
}

/// The logits of a batch, with what can be derived from them.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    pub logits: Matrix,
}

/// Runs `backend` on `input`.
pub fn predict(backend: &dyn Backend, input: &Matrix) -> Result<Predictions, AiError> {
    let logits = backend.logits(input)?;
    assert_eq!(
        (logits.rows, logits.cols),
        (input.rows, backend.classes().len()),
        "a backend returns one row of logits per input row, one per class"
    );
    Ok(Predictions { logits })
}

impl Predictions {
    /// The predicted class of each row: the index of its largest logit (the first on
    /// ties; a NaN never wins).
    pub fn classes(&self) -> Vec<usize> {
        (0..self.logits.rows).map(|i| argmax(self.logits.row(i))).collect()
    }

    /// Softmax probabilities of row `i` (computed in f64 from the logits).
    pub fn probabilities(&self, i: usize) -> Vec<f64> {
        let z = self.logits.row(i);
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f64> = z.iter().map(|v| f64::from(v - max).exp()).collect();
        let total: f64 = e.iter().sum();
        e.iter().map(|v| v / total).collect()
    }

    /// SHA-256 over the canonical encoding of the logits (see the module docs).
    pub fn output_hash(&self) -> [u8; 32] {
        output_hash(&self.logits)
    }
}

/// SHA-256 over the canonical encoding of a batch of logits (see the module docs).
pub fn output_hash(logits: &Matrix) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(OUTPUT_HASH_TAG);
    h.update((logits.rows as u64).to_le_bytes());
    h.update((logits.cols as u64).to_le_bytes());
    for v in &logits.data {
        let bits = if v.is_nan() { 0x7fc0_0000u32 } else { v.to_bits() };
        h.update(bits.to_le_bytes());
    }
    h.finalize().into()
}

/// The index of the largest value (the first on ties; NaN never wins; 0 if none).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] || v[best].is_nan() {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_hash_golden_and_canonical() {
        let m = Matrix { rows: 1, cols: 2, data: vec![1.0, -2.5] };
        // A change to this value is a change of the documented encoding.
        assert_eq!(hex::encode(output_hash(&m)), GOLDEN_HASH);
        let mut expected = Sha256::new();
        expected.update(b"verity/infer/v1");
        expected.update(1u64.to_le_bytes());
        expected.update(2u64.to_le_bytes());
        expected.update(1.0f32.to_le_bytes());
        expected.update((-2.5f32).to_le_bytes());
        assert_eq!(output_hash(&m), <[u8; 32]>::from(expected.finalize()));
        let nan_a = Matrix { rows: 1, cols: 1, data: vec![f32::from_bits(0x7fc0_0001)] };
        let nan_b = Matrix { rows: 1, cols: 1, data: vec![f32::NAN] };
        assert_eq!(output_hash(&nan_a), output_hash(&nan_b));
        // Shape is part of the hash.
        assert_ne!(output_hash(&m), output_hash(&Matrix { rows: 2, cols: 1, data: vec![1.0, -2.5] }));
    }

    const GOLDEN_HASH: &str = "01109a5fef4b6776ae84bb1bf41a378879a74efb09ad8cd6d2defc7da53489d1";

    #[test]
    fn argmax_rules() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 0.5]), 1);
        assert_eq!(argmax(&[0.5, f32::NAN]), 0);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn open_tells_formats_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let onnx = dir.path().join("m.onnx");
        std::fs::write(&onnx, [0x08, 0x07, 0x12, 0x04, b'x', b'x', b'x', b'x', 0x1a]).expect("write");
        assert!(
            matches!(open(&onnx), Err(AiError::UnsupportedModelFormat { reason, .. }) if reason.contains("ONNX model refused"))
        );
        let short = dir.path().join("short");
        std::fs::write(&short, b"ab").expect("write");
        assert!(matches!(open(&short), Err(AiError::UnsupportedModelFormat { .. })));
    }
}
