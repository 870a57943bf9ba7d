//! ONNX classifiers on tract: a [`Backend`] for exported models such as magika.
//!
//! tract (`tract-onnx`) is pure Rust: the runtime is inside the `verity` binary, with no
//! shared library to ship or find, and it runs the graph the same way every time. A
//! model is loaded with its batch dimension fixed to one and each row is run on its
//! own, so a row's logits never depend on which other rows share its batch: the same
//! input gives the same bits on every run on one platform, which is what re-execution
//! by a verifier needs (the output hash of [`crate::infer`]).
//!
//! The model must have one input of shape `[N, F]` (int32, int64 or float32; `N` may
//! be symbolic) and a first output of shape `[N, C]` of float32. Inputs reach the
//! backend as `f32` rows (the [`Backend`] contract); for integer inputs every value
//! must be an integer in range, or the row is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid as _;

use crate::error::AiError;
use crate::infer::{check_batch, Backend, BackendKind, Matrix};

/// Largest ONNX file loaded.
pub const ONNX_BYTES_MAX: u64 = 1 << 30;
/// Most input features per row.
pub const ONNX_FEATURES_MAX: usize = 1 << 20;

type Plan = Arc<TypedRunnableModel>;

/// The element type of the model's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    I32,
    I64,
    F32,
}

/// An ONNX classifier: rows of `features` values in, one logit (or score) per class out.
pub struct OnnxClassifier {
    plan: Plan,
    input: InputType,
    features: usize,
    classes: Vec<String>,
}

impl std::fmt::Debug for OnnxClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxClassifier")
            .field("input", &self.input)
            .field("features", &self.features)
            .field("classes", &self.classes.len())
            .finish()
    }
}

fn refused(path: &Path, reason: impl Into<String>) -> AiError {
    AiError::UnsupportedModelFormat { path: path.to_path_buf(), reason: reason.into() }
}

impl OnnxClassifier {
    /// Loads `path`. `classes` names the outputs in order; empty names them `0`, `1`, ...
    /// The model's output width must equal the number of names given.
    pub fn load(path: &Path, classes: Vec<String>) -> Result<OnnxClassifier, AiError> {
        let size = std::fs::metadata(path).map_err(|e| AiError::io(path, e))?.len();
        if size > ONNX_BYTES_MAX {
            return Err(refused(path, format!("ONNX file is {size} bytes, more than the {ONNX_BYTES_MAX} allowed")));
        }
        let bytes = std::fs::read(path).map_err(|e| AiError::io(path, e))?;
        OnnxClassifier::from_bytes(path, &bytes, classes)
    }

    /// As [`OnnxClassifier::load`], from the file's bytes (`path` names it in errors).
    pub fn from_bytes(path: &Path, bytes: &[u8], classes: Vec<String>) -> Result<OnnxClassifier, AiError> {
        let owned: PathBuf = path.to_path_buf();
        // tract returns errors for what it refuses; a panic deep in a graph pass on a
        // hostile file is still caught here and reported as a refusal.
        let built = std::panic::catch_unwind(move || build(bytes))
            .map_err(|_| refused(&owned, "the ONNX runtime could not analyse this graph"))?;
        let (plan, input, features, outputs) =
            built.map_err(|e| refused(path, format!("ONNX model refused: {e:#}")))?;
        let classes = if classes.is_empty() { (0..outputs).map(|i| i.to_string()).collect() } else { classes };
        if classes.len() != outputs {
            return Err(refused(
                path,
                format!("the model has {outputs} outputs per row but {} class names were given", classes.len()),
            ));
        }
        Ok(OnnxClassifier { plan, input, features, classes })
    }

    /// The element type the model takes.
    pub fn input_type(&self) -> InputType {
        self.input
    }

    /// Runs one row; `row.len() == self.features`.
    fn run_row(&self, row: &[f32]) -> Result<Vec<f32>, AiError> {
        let shape = [1, self.features];
        let tensor = match self.input {
            InputType::F32 => Tensor::from_shape(&shape, row),
            InputType::I32 => Tensor::from_shape(&shape, &integral::<i32>(row, i32::MIN as f64, i32::MAX as f64)?),
            InputType::I64 => {
                // 2^53: every integer up to here is exact in f64, and an f32 is never
                // more precise than that.
                let limit = 9_007_199_254_740_992.0;
                Tensor::from_shape(&shape, &integral::<i64>(row, -limit, limit)?)
            }
        }
        .map_err(|e| AiError::InputMismatch(format!("{e:#}")))?;
        let out = self.plan.run(tvec!(tensor.into())).map_err(|e| AiError::InputMismatch(format!("{e:#}")))?;
        let first = out.first().ok_or_else(|| AiError::InputMismatch("the model returned no output".into()))?;
        let view = first.to_plain_array_view::<f32>().map_err(|e| AiError::InputMismatch(format!("{e:#}")))?;
        let values: Vec<f32> = view.iter().copied().collect();
        if values.len() != self.classes.len() {
            return Err(AiError::InputMismatch(format!(
                "the model returned {} values for a row, expected {}",
                values.len(),
                self.classes.len()
            )));
        }
        Ok(values)
    }
}

/// Converts `f32` values that must be integers in `lo..=hi` to `T`.
fn integral<T: TryFrom<i64>>(row: &[f32], lo: f64, hi: f64) -> Result<Vec<T>, AiError> {
    row.iter()
        .map(|&v| {
            let x = f64::from(v);
            if x.fract() != 0.0 || !(lo..=hi).contains(&x) {
                return Err(AiError::InputMismatch(format!("the model takes integers; {v} is not one in range")));
            }
            T::try_from(x as i64).map_err(|_| AiError::InputMismatch(format!("{v} is out of range")))
        })
        .collect()
}

/// Loads and optimises the graph with a batch of one: (plan, input type, features,
/// outputs per row).
fn build(bytes: &[u8]) -> TractResult<(Plan, InputType, usize, usize)> {
    let mut reader = bytes;
    let model = tract_onnx::onnx().model_for_read(&mut reader)?;
    let inputs = model.input_outlets()?.len();
    if inputs != 1 {
        anyhow::bail!("the model has {inputs} inputs; a classifier takes one");
    }
    let fact = model.input_fact(0)?.clone();
    let dt = fact.datum_type.concretize().ok_or_else(|| anyhow::anyhow!("the input's element type is not declared"))?;
    let input = match dt {
        DatumType::I32 => InputType::I32,
        DatumType::I64 => InputType::I64,
        DatumType::F32 => InputType::F32,
        other => anyhow::bail!("the input's element type is {other:?}; int32, int64 or float32 are supported"),
    };
    let shape = fact.shape.concretize().ok_or_else(|| anyhow::anyhow!("the input's rank is not declared"))?;
    if shape.len() != 2 {
        anyhow::bail!("the input has rank {}; a classifier takes [N, features]", shape.len());
    }
    let features = shape[1]
        .as_i64()
        .and_then(|f| usize::try_from(f).ok())
        .filter(|f| (1..=ONNX_FEATURES_MAX).contains(f))
        .ok_or_else(|| {
            anyhow::anyhow!("the input's feature dimension {} is not a number from 1 to {ONNX_FEATURES_MAX}", shape[1])
        })?;
    let model = model.with_input_fact(0, InferenceFact::dt_shape(dt, tvec!(1usize, features)))?;
    let optimised = model.into_optimized()?;
    let out = optimised.output_fact(0)?;
    if out.datum_type != DatumType::F32 {
        anyhow::bail!("the first output's element type is {:?}; float32 is supported", out.datum_type);
    }
    let dims = out.shape.as_concrete().ok_or_else(|| anyhow::anyhow!("the first output's shape is not fixed"))?;
    let outputs = match dims {
        [1, c] if *c > 0 => *c,
        other => anyhow::bail!("the first output has shape {other:?} for one row; expected [1, classes]"),
    };
    let plan = optimised.into_runnable()?;
    Ok((plan, input, features, outputs))
}

impl Backend for OnnxClassifier {
    fn kind(&self) -> BackendKind {
        BackendKind::Onnx
    }

    fn input_features(&self) -> usize {
        self.features
    }

    fn classes(&self) -> &[String] {
        &self.classes
    }

    fn logits(&self, input: &Matrix) -> Result<Matrix, AiError> {
        check_batch(input, self.features)?;
        use rayon::prelude::*;
        // Rows are independent runs of a batch-1 plan: running them in parallel cannot
        // change any row's bits.
        let rows: Vec<Vec<f32>> =
            (0..input.rows).into_par_iter().map(|i| self.run_row(input.row(i))).collect::<Result<_, _>>()?;
        let c = self.classes.len();
        let mut data = Vec::with_capacity(input.rows * c);
        for r in rows {
            data.extend_from_slice(&r);
        }
        Ok(Matrix { rows: input.rows, cols: c, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_not_a_panic() {
        let p = Path::new("x.onnx");
        for bytes in [&b""[..], b"\x08\x07\x12\x04xxxx\x1a", &[0xff; 64], b"not a model at all"] {
            assert!(matches!(
                OnnxClassifier::from_bytes(p, bytes, vec![]),
                Err(AiError::UnsupportedModelFormat { .. })
            ));
        }
    }

    #[test]
    fn integer_inputs_must_be_integers() {
        assert_eq!(integral::<i32>(&[1.0, 256.0, -3.0], -10.0, 300.0).expect("ok"), vec![1, 256, -3]);
        assert!(integral::<i32>(&[0.5], -10.0, 10.0).is_err());
        assert!(integral::<i32>(&[f32::NAN], -10.0, 10.0).is_err());
        assert!(integral::<i32>(&[11.0], -10.0, 10.0).is_err());
    }
}
