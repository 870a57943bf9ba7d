//! The project's own tabular models (multinomial logistic regression and a one-hidden-
//! layer ReLU perceptron) and their file format: safetensors with Verity metadata.
//!
//! # File format (`verity-tabular`, version 1)
//!
//! A safetensors file whose tensors are all little-endian `F32`:
//!
//! | tensor | shape | meaning |
//! | --- | --- | --- |
//! | `norm.mean`, `norm.std` | `[features]` | standardisation: `x' = (x - mean) / std` |
//! | `linear.weight`, `linear.bias` | `[classes, features]`, `[classes]` | `logreg` |
//! | `hidden.weight`, `hidden.bias` | `[hidden, features]`, `[hidden]` | `mlp`: ReLU layer |
//! | `output.weight`, `output.bias` | `[classes, hidden]`, `[classes]` | `mlp`: logits |
//!
//! and these `__metadata__` strings: `format` = `verity-tabular`, `format_version` =
//! `1`, `arch` = `logreg` or `mlp`, `hidden` (mlp only, decimal), `features`
//! (decimal), `classes` (a JSON array of class names, label order), `normalisation` =
//! `standardise`, and optionally `training` (JSON: the training configuration and the
//! SHA-256 of the training data, which the evaluator uses to refuse a held-out split
//! that overlaps the training rows).
//!
//! Files are written here rather than by `safetensors::serialize`, because that
//! function writes `__metadata__` in `HashMap` order, which changes from one process to
//! the next; the layout is otherwise the same (tensors sorted by name, header padded
//! with spaces to a multiple of 8 bytes), and a test checks the two agree byte for byte
//! when the order cannot differ. Reading uses the `safetensors` crate, which checks the
//! header and the offsets; everything else (format, shapes, dtypes, finiteness, no
//! extra tensors) is checked here, each failure a typed [`ModelError`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::{Split, CLASSES_MAX, FEATURES_MAX, NAME_BYTES_MAX};
use crate::error::{AiError, ModelError};

/// The `format` metadata value.
pub const FORMAT_NAME: &str = "verity-tabular";
/// The `format_version` this build writes and reads.
pub const FORMAT_VERSION: &str = "1";
/// Largest model file read.
pub const MODEL_BYTES_MAX: u64 = 256 << 20;
/// Most hidden units of an MLP.
pub const HIDDEN_MAX: usize = 4096;

/// A model architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Arch {
    /// Multinomial logistic regression: one linear layer, softmax.
    Logreg,
    /// One hidden ReLU layer of `hidden` units, then a linear layer, softmax.
    Mlp { hidden: u32 },
}

impl Arch {
    pub fn name(&self) -> &'static str {
        match self {
            Arch::Logreg => "logreg",
            Arch::Mlp { .. } => "mlp",
        }
    }
}

/// A dense layer `y = W x + b`, `W` row-major `[outputs, inputs]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Dense {
    pub fn zeros(inputs: usize, outputs: usize) -> Dense {
        Dense { inputs, outputs, weight: vec![0.0; inputs * outputs], bias: vec![0.0; outputs] }
    }

    /// `out = W x + b`; each output sums its products in input order, one thread, so
    /// the result is the same bits on every run.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        debug_assert_eq!(x.len(), self.inputs);
        debug_assert_eq!(out.len(), self.outputs);
        for (o, out_o) in out.iter_mut().enumerate() {
            let row = &self.weight[o * self.inputs..(o + 1) * self.inputs];
            let mut acc = self.bias[o];
            for (w, xi) in row.iter().zip(x) {
                acc += w * xi;
            }
            *out_o = acc;
        }
    }
}

/// How training went, as recorded in the model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// SHA-256 (hex) of the training data file.
    pub data_sha256: String,
    /// The held-out split used.
    pub split: Split,
    /// The full training configuration (JSON, as `TrainConfig` serialises).
    pub config: serde_json::Value,
}

/// A trained tabular classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub arch: Arch,
    pub classes: Vec<String>,
    pub features: usize,
    /// Per-feature mean and standard deviation (never zero) of the training rows.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// One layer for `logreg`, two for `mlp`.
    pub layers: Vec<Dense>,
    pub training: Option<TrainingInfo>,
}

impl Model {
    /// Standardises `x` into `out`.
    pub fn normalise(&self, x: &[f32], out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = (x[i] - self.mean[i]) / self.std[i];
        }
    }

    /// The logits of one row of raw (not yet standardised) features.
    pub fn logits_row(&self, x: &[f32], out: &mut [f32]) {
        let mut a = vec![0.0f32; self.features];
        self.normalise(x, &mut a);
        for (i, layer) in self.layers.iter().enumerate() {
            let mut next = vec![0.0f32; layer.outputs];
            layer.forward(&a, &mut next);
            if i + 1 < self.layers.len() {
                relu(&mut next);
            }
            a = next;
        }
        out.copy_from_slice(&a);
    }

    /// The tensors by file name, in name order.
    fn tensors(&self) -> Vec<(String, Vec<usize>, &[f32])> {
        let mut t: Vec<(String, Vec<usize>, &[f32])> = vec![
            ("norm.mean".into(), vec![self.features], &self.mean),
            ("norm.std".into(), vec![self.features], &self.std),
        ];
        for (name, layer) in layer_names(self.arch).iter().zip(&self.layers) {
            t.push((format!("{name}.weight"), vec![layer.outputs, layer.inputs], &layer.weight));
            t.push((format!("{name}.bias"), vec![layer.outputs], &layer.bias));
        }
        t.sort_by(|a, b| a.0.cmp(&b.0));
        t
    }

    fn metadata(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("format".into(), FORMAT_NAME.into());
        m.insert("format_version".into(), FORMAT_VERSION.into());
        m.insert("arch".into(), self.arch.name().into());
        if let Arch::Mlp { hidden } = self.arch {
            m.insert("hidden".into(), hidden.to_string());
        }
        m.insert("features".into(), self.features.to_string());
        m.insert("classes".into(), serde_json::to_string(&self.classes).expect("a list of strings serialises"));
        m.insert("normalisation".into(), "standardise".into());
        if let Some(t) = &self.training {
            m.insert("training".into(), canonical_json(&serde_json::to_value(t).expect("training info serialises")));
        }
        m
    }

    /// The safetensors bytes of the model: deterministic (same model, same bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        write_safetensors(&self.metadata(), &self.tensors())
    }

    /// Writes the model to `path`.
    pub fn save(&self, path: &Path) -> Result<(), AiError> {
        std::fs::write(path, self.to_bytes()).map_err(|e| AiError::io(path, e))
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<Model, AiError> {
        let size = std::fs::metadata(path).map_err(|e| AiError::io(path, e))?.len();
        if size > MODEL_BYTES_MAX {
            return Err(AiError::Model {
                path: path.into(),
                error: ModelError::TooLarge { size, max: MODEL_BYTES_MAX },
            });
        }
        let bytes = std::fs::read(path).map_err(|e| AiError::io(path, e))?;
        Model::from_bytes(&bytes).map_err(|error| AiError::Model { path: path.into(), error })
    }

    /// Parses and checks model bytes. Never panics, whatever the bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.len() as u64 > MODEL_BYTES_MAX {
            return Err(ModelError::TooLarge { size: bytes.len() as u64, max: MODEL_BYTES_MAX });
        }
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| ModelError::Safetensors(e.to_string()))?;
        let (_, header) =
            safetensors::SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Safetensors(e.to_string()))?;
        let empty = std::collections::HashMap::new();
        let meta = header.metadata().as_ref().unwrap_or(&empty);
        let get = |k: &'static str| meta.get(k).ok_or(ModelError::MissingMetadata(k));
        let format = meta.get("format");
        if format.map(String::as_str) != Some(FORMAT_NAME) {
            return Err(ModelError::WrongFormat { found: format.cloned() });
        }
        let version = get("format_version")?;
        if version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion { found: version.clone(), supported: FORMAT_VERSION });
        }
        let count = |k: &'static str, max: usize| -> Result<usize, ModelError> {
            let v = get(k)?;
            match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ModelError::BadMetadata { key: k, reason: format!("{v:?} is not a count from 1 to {max}") }),
            }
        };
        let arch = match get("arch")?.as_str() {
            "logreg" => Arch::Logreg,
            "mlp" => Arch::Mlp { hidden: count("hidden", HIDDEN_MAX)? as u32 },
            other => {
                return Err(ModelError::BadMetadata { key: "arch", reason: format!("unknown architecture {other:?}") })
            }
        };
        let features = count("features", FEATURES_MAX)?;
        let classes: Vec<String> = serde_json::from_str(get("classes")?)
            .map_err(|e| ModelError::BadMetadata { key: "classes", reason: e.to_string() })?;
        if classes.len() < 2 || classes.len() > CLASSES_MAX {
            return Err(ModelError::BadMetadata {
                key: "classes",
                reason: format!("{} classes; 2 to {CLASSES_MAX} are allowed", classes.len()),
            });
        }
        if classes.iter().any(|c| c.is_empty() || c.len() > NAME_BYTES_MAX) {
            return Err(ModelError::BadMetadata { key: "classes", reason: "a class name is empty or too long".into() });
        }
        let normalisation = get("normalisation")?;
        if normalisation != "standardise" {
            return Err(ModelError::BadMetadata {
                key: "normalisation",
                reason: format!("{normalisation:?} is not supported (standardise)"),
            });
        }
        let training = match meta.get("training") {
            None => None,
            Some(t) => Some(
                serde_json::from_str::<TrainingInfo>(t)
                    .map_err(|e| ModelError::BadMetadata { key: "training", reason: e.to_string() })?,
            ),
        };

        // Expected tensors and shapes.
        let dims: Vec<(usize, usize)> = match arch {
            Arch::Logreg => vec![(features, classes.len())],
            Arch::Mlp { hidden } => vec![(features, hidden as usize), (hidden as usize, classes.len())],
        };
        let mut expected: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        expected.insert("norm.mean".into(), vec![features]);
        expected.insert("norm.std".into(), vec![features]);
        for (name, (i, o)) in layer_names(arch).iter().zip(&dims) {
            expected.insert(format!("{name}.weight"), vec![*o, *i]);
            expected.insert(format!("{name}.bias"), vec![*o]);
        }
        let mut present: Vec<String> = st.names().into_iter().map(str::to_string).collect();
        present.sort();
        if let Some(extra) = present.iter().find(|n| !expected.contains_key(*n)) {
            return Err(ModelError::UnexpectedTensor(extra.clone()));
        }
        let tensor = |name: &str| -> Result<Vec<f32>, ModelError> {
            let view = st.tensor(name).map_err(|_| ModelError::MissingTensor(name.to_string()))?;
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(ModelError::WrongDtype { tensor: name.into(), dtype: format!("{:?}", view.dtype()) });
            }
            let want = &expected[name];
            if view.shape() != want.as_slice() {
                return Err(ModelError::WrongShape {
                    tensor: name.into(),
                    expected: want.clone(),
                    found: view.shape().to_vec(),
                });
            }
            let values: Vec<f32> =
                view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::BadValue(name.into()));
            }
            Ok(values)
        };
        let mean = tensor("norm.mean")?;
        let std = tensor("norm.std")?;
        if std.iter().any(|s| *s <= 0.0) {
            return Err(ModelError::BadValue("norm.std".into()));
        }
        let mut layers = Vec::new();
        for (name, (i, o)) in layer_names(arch).iter().zip(&dims) {
            layers.push(Dense {
                inputs: *i,
                outputs: *o,
                weight: tensor(&format!("{name}.weight"))?,
                bias: tensor(&format!("{name}.bias"))?,
            });
        }
        Ok(Model { arch, classes, features, mean, std, layers, training })
    }
}

pub(crate) fn relu(v: &mut [f32]) {
    for x in v {
        if *x < 0.0 {
            *x = 0.0;
        }
    }
}

fn layer_names(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::Logreg => &["linear"],
        Arch::Mlp { .. } => &["hidden", "output"],
    }
}

/// JSON with object keys sorted and no whitespace (serde_json's `Value` keeps objects
/// in a sorted map unless its `preserve_order` feature is on; keys are sorted here
/// explicitly so the text does not depend on that feature).
pub fn canonical_json(v: &serde_json::Value) -> String {
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(v)).expect("a JSON value serialises")
}

/// Writes a safetensors file: tensors (already sorted by name, all F32) laid out in that
/// order, `__metadata__` first with sorted keys, header padded with spaces to 8 bytes.
fn write_safetensors(metadata: &BTreeMap<String, String>, tensors: &[(String, Vec<usize>, &[f32])]) -> Vec<u8> {
    let mut header = String::from("{\"__metadata__\":");
    header.push_str(&serde_json::to_string(metadata).expect("a string map serialises"));
    let mut offset = 0usize;
    for (name, shape, data) in tensors {
        let end = offset + data.len() * 4;
        header.push(',');
        header.push_str(&serde_json::to_string(name).expect("a string serialises"));
        header.push_str(&format!(
            ":{{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[{offset},{end}]}}",
            serde_json::to_string(shape).expect("a list of numbers serialises")
        ));
        offset = end;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, _, data) in tensors {
        for v in *data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(arch: Arch) -> Model {
        let features = 3usize;
        let layers = match arch {
            Arch::Logreg => vec![Dense {
                inputs: 3,
                outputs: 2,
                weight: vec![0.5, -1.0, 0.25, 1.0, 0.0, -0.5],
                bias: vec![0.1, -0.1],
            }],
            Arch::Mlp { hidden } => {
                let h = hidden as usize;
                vec![
                    Dense {
                        inputs: 3,
                        outputs: h,
                        weight: (0..3 * h).map(|i| (i as f32 - 3.0) / 7.0).collect(),
                        bias: vec![0.01; h],
                    },
                    Dense {
                        inputs: h,
                        outputs: 2,
                        weight: (0..2 * h).map(|i| i as f32 / 5.0).collect(),
                        bias: vec![0.0; 2],
                    },
                ]
            }
        };
        Model {
            arch,
            classes: vec!["no".into(), "yes".into()],
            features,
            mean: vec![1.0, 2.0, 3.0],
            std: vec![1.0, 0.5, 2.0],
            layers,
            training: Some(TrainingInfo {
                data_sha256: "00".repeat(32),
                split: Split { seed: 1, test_ppm: 200_000 },
                config: serde_json::json!({"b": 1, "a": [1, 2]}),
            }),
        }
    }

    #[test]
    fn round_trip_is_exact_and_bytes_are_stable() {
        for arch in [Arch::Logreg, Arch::Mlp { hidden: 4 }] {
            let m = tiny(arch);
            let bytes = m.to_bytes();
            assert_eq!(bytes, m.to_bytes());
            let back = Model::from_bytes(&bytes).expect("loads");
            assert_eq!(back, m);
            assert_eq!(back.to_bytes(), bytes);
            // The safetensors crate reads what we write.
            let st = safetensors::SafeTensors::deserialize(&bytes).expect("crate reads it");
            assert_eq!(st.len(), 2 + 2 * m.layers.len());
        }
    }

    #[test]
    fn writer_agrees_with_the_crate_when_metadata_order_cannot_differ() {
        let mean = [1.0f32, -2.5];
        let w = [0.5f32, 0.25, -1.0, 8.0];
        let tensors: Vec<(String, Vec<usize>, &[f32])> =
            vec![("a.mean".into(), vec![2], &mean[..]), ("b.weight".into(), vec![2, 2], &w[..])];
        let mut meta = BTreeMap::new();
        meta.insert("format".to_string(), "x".to_string());
        let ours = write_safetensors(&meta, &tensors);
        let to_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let (mb, wb) = (to_bytes(&mean), to_bytes(&w));
        let views = vec![
            ("a.mean", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &mb).expect("view")),
            ("b.weight", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 2], &wb).expect("view")),
        ];
        let theirs = safetensors::serialize(views, Some(meta.into_iter().collect())).expect("serialises");
        assert_eq!(ours, theirs);
    }

    #[test]
    fn mismatched_files_are_refused_with_typed_errors() {
        let m = tiny(Arch::Logreg);
        let edit = |f: &dyn Fn(&mut BTreeMap<String, String>)| {
            let mut meta = m.metadata();
            f(&mut meta);
            Model::from_bytes(&write_safetensors(&meta, &m.tensors()))
        };
        assert_eq!(
            edit(&|md| {
                md.remove("format");
            }),
            Err(ModelError::WrongFormat { found: None })
        );
        assert!(matches!(
            edit(&|md| {
                md.insert("format_version".into(), "2".into());
            }),
            Err(ModelError::UnsupportedVersion { .. })
        ));
        assert_eq!(
            edit(&|md| {
                md.remove("classes");
            }),
            Err(ModelError::MissingMetadata("classes"))
        );
        assert!(matches!(
            edit(&|md| {
                md.insert("features".into(), "4".into());
            }),
            Err(ModelError::WrongShape { .. })
        ));
        assert!(matches!(
            edit(&|md| {
                md.insert("features".into(), "0".into());
            }),
            Err(ModelError::BadMetadata { key: "features", .. })
        ));
        assert!(matches!(
            edit(&|md| {
                md.insert("arch".into(), "mlp".into());
            }),
            Err(ModelError::MissingMetadata("hidden"))
        ));
        assert!(matches!(
            edit(&|md| {
                md.insert("arch".into(), "mlp".into());
                md.insert("hidden".into(), "2".into());
            }),
            Err(ModelError::UnexpectedTensor(_))
        ));
        assert!(matches!(
            edit(&|md| {
                md.insert("classes".into(), "[\"one\"]".into());
            }),
            Err(ModelError::BadMetadata { key: "classes", .. })
        ));
        assert!(matches!(
            edit(&|md| {
                md.insert("training".into(), "{".into());
            }),
            Err(ModelError::BadMetadata { key: "training", .. })
        ));

        // Wrong values and missing tensors.
        let mut bad = m.clone();
        bad.std[1] = 0.0;
        assert_eq!(Model::from_bytes(&bad.to_bytes()), Err(ModelError::BadValue("norm.std".into())));
        bad = m.clone();
        bad.layers[0].weight[0] = f32::NAN;
        assert_eq!(Model::from_bytes(&bad.to_bytes()), Err(ModelError::BadValue("linear.weight".into())));
        let without_bias: Vec<_> = m.tensors().into_iter().filter(|t| t.0 != "linear.bias").collect();
        assert_eq!(
            Model::from_bytes(&write_safetensors(&m.metadata(), &without_bias)),
            Err(ModelError::MissingTensor("linear.bias".into()))
        );
        // Truncation and garbage.
        let bytes = m.to_bytes();
        assert!(matches!(Model::from_bytes(&bytes[..bytes.len() - 1]), Err(ModelError::Safetensors(_))));
        assert!(matches!(Model::from_bytes(b"not a model"), Err(ModelError::Safetensors(_))));
    }

    #[test]
    fn forward_matches_a_hand_computation() {
        let m = tiny(Arch::Logreg);
        let mut out = [0.0f32; 2];
        m.logits_row(&[2.0, 2.5, 5.0], &mut out);
        // normalised: [1, 1, 1]
        // Summed in the documented order: bias first, then inputs in index order, in f32.
        assert_eq!(out, [0.1f32 + 0.5 + -1.0 + 0.25, -0.1f32 + 1.0 + 0.0 + -0.5]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = Model::from_bytes(&bytes);
        }

        #[test]
        fn flipped_bytes_of_a_real_model_never_panic(pos in 0usize..4096, bit in 0u8..8) {
            let mut bytes = tiny(Arch::Mlp { hidden: 3 }).to_bytes();
            let i = pos % bytes.len();
            bytes[i] ^= 1 << bit;
            if let Ok(m) = Model::from_bytes(&bytes) {
                // A flip in the data section gives another valid model; it must still run.
                let mut out = vec![0.0f32; m.classes.len()];
                m.logits_row(&vec![0.0; m.features], &mut out);
            }
        }

        #[test]
        fn header_length_prefix_never_panics(len in proptest::prelude::any::<u64>(), tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut bytes = len.to_le_bytes().to_vec();
            bytes.extend_from_slice(&tail);
            let _ = Model::from_bytes(&bytes);
        }
    }
}
