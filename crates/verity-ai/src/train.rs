//! A deterministic trainer for the tabular models of [`crate::model`].
//!
//! Same data, configuration and code on the same platform give bit-identical weights,
//! and so a byte-identical safetensors file. What makes that hold:
//!
//! - every random draw (split, initial weights, batch order) comes from a ChaCha20
//!   stream seeded by the configuration ([`crate::rng`]);
//! - one thread; every sum runs in a fixed order (rows in batch order, products in
//!   index order), in `f32` for weights and gradients and `f64` for the standardisation
//!   statistics and the logged loss;
//! - no hash-map iteration, no clock, no environment.
//!
//! The floating-point functions used are `+ - * /`, `sqrt` (exactly rounded by IEEE
//! 754) and `exp`/`ln` from the platform's maths library, which is why bit-identity
//! is promised on one platform and not across platforms.
//!
//! Training is mini-batch SGD with momentum on the mean softmax cross-entropy plus
//! `l2 / 2 * ||W||^2` over the weight matrices (not the biases). Features are
//! standardised with the training rows' mean and (population) standard deviation; a
//! constant column gets a standard deviation of 1. MLP weights start Glorot-uniform,
//! logistic regression starts at zero; biases start at zero.

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Split};
use crate::error::AiError;
use crate::model::{relu, Arch, Dense, Model, TrainingInfo, HIDDEN_MAX};
use crate::rng::Rng;

/// Most epochs a configuration may ask for.
pub const EPOCHS_MAX: u32 = 100_000;
/// Largest mini-batch.
pub const BATCH_MAX: u32 = 65_536;

/// Everything that determines a training run besides the data and the code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub arch: Arch,
    pub epochs: u32,
    pub learning_rate: f64,
    pub momentum: f64,
    pub batch_size: u32,
    pub l2: f64,
    /// Seeds the initial weights and the batch order.
    pub seed: u64,
    /// The held-out split (its own seed).
    pub split: Split,
}

impl TrainConfig {
    /// The defaults `verity train` uses for `arch`.
    pub fn new(arch: Arch) -> TrainConfig {
        TrainConfig {
            arch,
            epochs: 40,
            learning_rate: 0.05,
            momentum: 0.9,
            batch_size: 32,
            l2: 1e-3,
            seed: 0,
            split: Split { seed: 0, test_ppm: 200_000 },
        }
    }

    pub fn validate(&self) -> Result<(), AiError> {
        let bad = |m: String| Err(AiError::InvalidConfig(m));
        if let Arch::Mlp { hidden } = self.arch {
            if hidden == 0 || hidden as usize > HIDDEN_MAX {
                return bad(format!("hidden units must be 1 to {HIDDEN_MAX}, got {hidden}"));
            }
        }
        if self.epochs == 0 || self.epochs > EPOCHS_MAX {
            return bad(format!("epochs must be 1 to {EPOCHS_MAX}, got {}", self.epochs));
        }
        if self.batch_size == 0 || self.batch_size > BATCH_MAX {
            return bad(format!("batch size must be 1 to {BATCH_MAX}, got {}", self.batch_size));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate <= 10.0) {
            return bad(format!("learning rate must be above 0 and at most 10, got {}", self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad(format!("momentum must be at least 0 and below 1, got {}", self.momentum));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0 && self.l2 <= 1.0) {
            return bad(format!("l2 must be from 0 to 1, got {}", self.l2));
        }
        self.split.validate()
    }
}

/// One epoch's line of the training log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: u32,
    /// Mean cross-entropy over the epoch's training rows (before the weight penalty),
    /// accumulated while training.
    pub loss: f64,
}

/// Correct predictions out of a number of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accuracy {
    pub correct: u64,
    pub total: u64,
}

impl Accuracy {
    /// The fraction correct (0 for no rows).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// What training produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    pub model: Model,
    pub epochs: Vec<EpochLog>,
    pub train_rows: usize,
    /// Accuracy on the held-out rows, computed with the inference path.
    pub test_accuracy: Accuracy,
}

impl TrainOutcome {
    /// The training log: one line `epoch N loss L` per epoch (loss with 6 decimals),
    /// then `test_accuracy CORRECT/TOTAL`.
    pub fn log_text(&self) -> String {
        let mut s = String::new();
        for e in &self.epochs {
            s.push_str(&format!("epoch {} loss {:.6}\n", e.epoch, e.loss));
        }
        s.push_str(&format!("test_accuracy {}/{}\n", self.test_accuracy.correct, self.test_accuracy.total));
        s
    }
}

/// Trains a model on the training rows of `data` (the split's complement).
pub fn train(data: &Dataset, config: &TrainConfig) -> Result<TrainOutcome, AiError> {
    config.validate()?;
    let classes = data.class_names.len();
    if data.labels.len() != data.rows() || classes < 2 {
        return Err(AiError::InvalidConfig("training needs labelled rows of at least two classes".into()));
    }
    let (train_idx, test_idx) = config.split.indices(&data.labels, classes);
    if train_idx.is_empty() || test_idx.is_empty() {
        return Err(AiError::InvalidConfig("the split leaves no training or no test rows".into()));
    }
    let f = data.feature_count();

    // Standardisation statistics over the training rows, in f64, rows in order.
    let n = train_idx.len() as f64;
    let mut sum = vec![0.0f64; f];
    for &r in &train_idx {
        for (s, x) in sum.iter_mut().zip(data.row(r)) {
            *s += f64::from(*x);
        }
    }
    let mean64: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let mut sq = vec![0.0f64; f];
    for &r in &train_idx {
        for ((s, x), m) in sq.iter_mut().zip(data.row(r)).zip(&mean64) {
            let d = f64::from(*x) - m;
            *s += d * d;
        }
    }
    let mean: Vec<f32> = mean64.iter().map(|m| *m as f32).collect();
    let std: Vec<f32> = sq
        .iter()
        .map(|s| {
            let sd = (s / n).sqrt() as f32;
            if sd.is_normal() && sd > 1e-6 {
                sd
            } else {
                1.0
            }
        })
        .collect();

    let mut model = Model {
        arch: config.arch,
        classes: data.class_names.clone(),
        features: f,
        mean,
        std,
        layers: Vec::new(),
        training: Some(TrainingInfo {
            data_sha256: hex::encode(data.sha256),
            split: config.split,
            config: serde_json::to_value(config).expect("a configuration serialises"),
        }),
    };
    let mut init = Rng::new(config.seed, "init");
    model.layers = match config.arch {
        Arch::Logreg => vec![Dense::zeros(f, classes)],
        Arch::Mlp { hidden } => {
            vec![glorot(f, hidden as usize, &mut init), glorot(hidden as usize, classes, &mut init)]
        }
    };

    // Standardised training rows, computed exactly as inference does.
    let mut xs = vec![0.0f32; train_idx.len() * f];
    for (k, &r) in train_idx.iter().enumerate() {
        model.normalise(data.row(r), &mut xs[k * f..(k + 1) * f]);
    }
    let ys: Vec<usize> = train_idx.iter().map(|&r| data.labels[r] as usize).collect();

    let mut grads: Vec<Dense> = model.layers.iter().map(|l| Dense::zeros(l.inputs, l.outputs)).collect();
    let mut velocity: Vec<Dense> = grads.clone();
    let mut acts: Vec<Vec<f32>> =
        std::iter::once(f).chain(model.layers.iter().map(|l| l.outputs)).map(|w| vec![0.0; w]).collect();
    let mut deltas: Vec<Vec<f32>> = acts.clone();
    let lr = config.learning_rate as f32;
    let mu = config.momentum as f32;
    let l2 = config.l2 as f32;

    let mut shuffle = Rng::new(config.seed, "shuffle");
    let mut order: Vec<usize> = (0..train_idx.len()).collect();
    let mut log = Vec::with_capacity(config.epochs as usize);
    for epoch in 1..=config.epochs {
        shuffle.shuffle(&mut order);
        let mut loss_sum = 0.0f64;
        for batch in order.chunks(config.batch_size as usize) {
            for g in &mut grads {
                g.weight.fill(0.0);
                g.bias.fill(0.0);
            }
            for &k in batch {
                loss_sum += backprop(&model.layers, &mut grads, &xs[k * f..(k + 1) * f], ys[k], &mut acts, &mut deltas);
            }
            let scale = 1.0 / batch.len() as f32;
            for ((layer, g), v) in model.layers.iter_mut().zip(&grads).zip(&mut velocity) {
                for ((w, gw), vw) in layer.weight.iter_mut().zip(&g.weight).zip(&mut v.weight) {
                    *vw = mu * *vw + (gw * scale + l2 * *w);
                    *w -= lr * *vw;
                }
                for ((b, gb), vb) in layer.bias.iter_mut().zip(&g.bias).zip(&mut v.bias) {
                    *vb = mu * *vb + gb * scale;
                    *b -= lr * *vb;
                }
            }
        }
        let loss = loss_sum / train_idx.len() as f64;
        if !loss.is_finite() {
            return Err(AiError::InvalidConfig(format!(
                "training diverged at epoch {epoch} (loss is not finite): lower the learning rate"
            )));
        }
        log.push(EpochLog { epoch, loss });
    }

    let test_accuracy = accuracy(&model, data, &test_idx);
    Ok(TrainOutcome { model, epochs: log, train_rows: train_idx.len(), test_accuracy })
}

/// Accuracy of `model` on `rows` of `data`, through the inference path.
pub fn accuracy(model: &Model, data: &Dataset, rows: &[usize]) -> Accuracy {
    let mut logits = vec![0.0f32; model.classes.len()];
    let mut correct = 0u64;
    for &r in rows {
        model.logits_row(data.row(r), &mut logits);
        if crate::infer::argmax(&logits) == data.labels[r] as usize {
            correct += 1;
        }
    }
    Accuracy { correct, total: rows.len() as u64 }
}

/// A layer with Glorot-uniform weights `U(-a, a)`, `a = sqrt(6 / (inputs + outputs))`.
fn glorot(inputs: usize, outputs: usize, rng: &mut Rng) -> Dense {
    let a = (6.0 / (inputs + outputs) as f64).sqrt();
    let mut d = Dense::zeros(inputs, outputs);
    for w in &mut d.weight {
        *w = (rng.symmetric_f64() * a) as f32;
    }
    d
}

/// Forward and backward pass for one row: adds the row's gradients to `grads` and
/// returns its cross-entropy.
fn backprop(
    layers: &[Dense],
    grads: &mut [Dense],
    x: &[f32],
    y: usize,
    acts: &mut [Vec<f32>],
    deltas: &mut [Vec<f32>],
) -> f64 {
    let last = layers.len() - 1;
    acts[0].copy_from_slice(x);
    for (l, layer) in layers.iter().enumerate() {
        let (before, after) = acts.split_at_mut(l + 1);
        layer.forward(&before[l], &mut after[0]);
        if l < last {
            relu(&mut after[0]);
        }
    }
    // Softmax and cross-entropy from the logits, shifted by their maximum.
    let z = &acts[last + 1];
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let delta = &mut deltas[last + 1];
    let mut total = 0.0f32;
    for (d, zi) in delta.iter_mut().zip(z) {
        *d = (zi - max).exp();
        total += *d;
    }
    let loss = f64::from(total.ln() - (z[y] - max));
    for d in delta.iter_mut() {
        *d /= total;
    }
    delta[y] -= 1.0;

    for l in (0..=last).rev() {
        let (lower, upper) = deltas.split_at_mut(l + 1);
        let d_out = &upper[0];
        let input = &acts[l];
        let layer = &layers[l];
        let g = &mut grads[l];
        for (o, d) in d_out.iter().enumerate() {
            g.bias[o] += d;
            let row = &mut g.weight[o * layer.inputs..(o + 1) * layer.inputs];
            for (gw, xi) in row.iter_mut().zip(input) {
                *gw += d * xi;
            }
        }
        if l > 0 {
            // Back through the weights and the ReLU (whose output is `input`).
            let d_in = &mut lower[l];
            d_in.fill(0.0);
            for (o, d) in d_out.iter().enumerate() {
                let row = &layer.weight[o * layer.inputs..(o + 1) * layer.inputs];
                for (di, w) in d_in.iter_mut().zip(row) {
                    *di += w * d;
                }
            }
            for (di, a) in d_in.iter_mut().zip(input) {
                if *a <= 0.0 {
                    *di = 0.0;
                }
            }
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Gaussian-ish blobs per class in 2-D, made with the crate's own RNG.
    fn blobs() -> Dataset {
        let mut rng = Rng::new(9, "test-blobs");
        let mut text = String::new();
        for i in 0..300 {
            let c = i % 3;
            let (cx, cy) = [(0.0, 0.0), (4.0, 0.0), (0.0, 4.0)][c];
            text.push_str(&format!("{},{},{c}\n", cx + rng.gaussian(), cy + rng.gaussian()));
        }
        Dataset::parse(text.as_bytes(), crate::data::Labels::Present).expect("blobs parse")
    }

    fn quick(arch: Arch, seed: u64) -> TrainConfig {
        TrainConfig { epochs: 5, seed, ..TrainConfig::new(arch) }
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let data = blobs();
        for arch in [Arch::Logreg, Arch::Mlp { hidden: 8 }] {
            let a = train(&data, &quick(arch, 1)).expect("trains");
            let b = train(&data, &quick(arch, 1)).expect("trains");
            assert_eq!(a.model.to_bytes(), b.model.to_bytes());
            assert_eq!(a.log_text(), b.log_text());
            let c = train(&data, &quick(arch, 2)).expect("trains");
            assert_ne!(a.model.to_bytes(), c.model.to_bytes(), "{arch:?}");
        }
    }

    #[test]
    fn learns_separable_blobs_and_loss_falls() {
        let data = blobs();
        for arch in [Arch::Logreg, Arch::Mlp { hidden: 8 }] {
            let out = train(&data, &quick(arch, 1)).expect("trains");
            assert!(out.test_accuracy.fraction() > 0.9, "{arch:?}: {:?}", out.test_accuracy);
            assert!(out.epochs.last().expect("epochs").loss < out.epochs[0].loss);
        }
    }

    #[test]
    fn bad_configurations_are_refused() {
        let data = blobs();
        let check = |f: &dyn Fn(&mut TrainConfig)| {
            let mut c = TrainConfig::new(Arch::Logreg);
            f(&mut c);
            assert!(matches!(train(&data, &c), Err(AiError::InvalidConfig(_))), "{c:?}");
        };
        check(&|c| c.epochs = 0);
        check(&|c| c.batch_size = 0);
        check(&|c| c.learning_rate = 0.0);
        check(&|c| c.learning_rate = f64::NAN);
        check(&|c| c.momentum = 1.0);
        check(&|c| c.l2 = -1.0);
        check(&|c| c.arch = Arch::Mlp { hidden: 0 });
        check(&|c| c.split.test_ppm = 0);
    }
}
