//! Tabular data sets loaded from CSV files, and seeded train/test splits.
//!
//! Three layouts are read, told apart by the first line:
//!
//! - scikit-learn's bundled format (`breast_cancer.csv`, `iris.csv`, `wine_data.csv`):
//!   a first line `n_samples,n_features[,class names...]`, then rows of `n_features`
//!   numbers and an integer target. The first line is recognised when its first two
//!   fields are unsigned integers, every further field is a name (not a number) and the
//!   second line has `n_features + 1` fields.
//! - Headerless numeric rows (`digits.csv`, the decompressed `digits.csv.gz`): every
//!   field a number, the last an integer target.
//! - A header of column names (any field not a number): the target is the column named
//!   `target`, `label` or `class` (case-insensitive), else the last column; its values
//!   may be names.
//!
//! Features are parsed as `f32` (Rust's parser rounds correctly, so the same text
//! gives the same bits everywhere) and must be finite. Columns without names are called
//! `x0`, `x1`, ... Class names are the scikit-learn header's names, else the distinct
//! target values sorted (numerically when all are integers). A data set is named by
//! the SHA-256 of the file's bytes, which evaluations record.
//!
//! A [`Split`] is stratified: each class's rows (in file order) are shuffled with the
//! split's seeded stream and the first `round(n_class * test_ppm / 10^6)` go to the
//! test set; both sets are returned in ascending row order.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::AiError;
use crate::rng::Rng;

/// Largest data file read.
pub const DATA_BYTES_MAX: u64 = 64 << 20;
/// Most rows in a data set.
pub const DATA_ROWS_MAX: usize = 1_000_000;
/// Most feature columns.
pub const FEATURES_MAX: usize = 4096;
/// Most classes.
pub const CLASSES_MAX: usize = 1024;
/// Longest column or class name, in bytes.
pub const NAME_BYTES_MAX: usize = 128;
/// One million: fractions are kept in parts per million so splits are exact integers.
pub const PPM: u32 = 1_000_000;

/// Whether the file has a target column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels {
    /// The file has a target column (see the module documentation for which one).
    Present,
    /// Every column is a feature (inference inputs); only the headerless and named
    /// layouts can be read this way.
    Absent,
}

/// A loaded tabular data set: `rows x features` values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    pub feature_names: Vec<String>,
    /// Class names, indexed by label (empty when loaded with `Labels::Absent`).
    pub class_names: Vec<String>,
    /// `rows * feature_names.len()` values.
    pub features: Vec<f32>,
    /// One label per row, an index into `class_names` (empty with `Labels::Absent`).
    pub labels: Vec<u32>,
}

/// SHA-256 of a file, read whole (data files are bounded by `DATA_BYTES_MAX`).
pub fn file_sha256(path: &Path) -> Result<[u8; 32], AiError> {
    Ok(Sha256::digest(read_bounded(path)?).into())
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, AiError> {
    let meta = std::fs::metadata(path).map_err(|e| AiError::io(path, e))?;
    if meta.len() > DATA_BYTES_MAX {
        return Err(AiError::Data {
            path: path.into(),
            line: 0,
            reason: format!("{} bytes, more than the {DATA_BYTES_MAX} allowed", meta.len()),
        });
    }
    std::fs::read(path).map_err(|e| AiError::io(path, e))
}

impl Dataset {
    /// Loads a CSV file with a target column.
    pub fn load(path: &Path) -> Result<Dataset, AiError> {
        Self::load_with(path, Labels::Present)
    }

    /// Loads a CSV file, with or without a target column.
    pub fn load_with(path: &Path, labels: Labels) -> Result<Dataset, AiError> {
        let bytes = read_bounded(path)?;
        Self::parse(&bytes, labels).map_err(|(line, reason)| AiError::Data { path: path.into(), line, reason })
    }

    /// Parses CSV bytes; errors carry the 1-based line number (0: the whole file).
    pub fn parse(bytes: &[u8], labels: Labels) -> Result<Dataset, (usize, String)> {
        if bytes.len() as u64 > DATA_BYTES_MAX {
            return Err((0, format!("more than {DATA_BYTES_MAX} bytes")));
        }
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let text = std::str::from_utf8(bytes).map_err(|e| (0, format!("not UTF-8: {e}")))?;
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty());
        let (first_no, first) = lines.next().ok_or((0, "the file has no rows".to_string()))?;
        let first_fields: Vec<&str> = first.split(',').map(str::trim).collect();

        // Which layout: scikit-learn counted header, column names, or none.
        let second_len = lines.clone().next().map(|(_, l)| l.split(',').count());
        let counted =
            match (first_fields.first().map(|f| f.parse::<usize>()), first_fields.get(1).map(|f| f.parse::<usize>())) {
                (Some(Ok(n)), Some(Ok(f)))
                    if first_fields[2..].iter().all(|name| name.parse::<f64>().is_err())
                        && second_len == Some(f.saturating_add(1)) =>
                {
                    Some((n, f))
                }
                _ => None,
            };
        let named = counted.is_none() && first_fields.iter().any(|f| f.parse::<f64>().is_err());
        if counted.is_some() && labels == Labels::Absent {
            return Err((first_no, "a scikit-learn counted file always has a target column".into()));
        }

        let mut rows: Vec<(usize, Vec<&str>)> = Vec::new();
        if counted.is_none() && !named {
            rows.push((first_no, first_fields.clone()));
        }
        for (no, line) in lines {
            if rows.len() >= DATA_ROWS_MAX {
                return Err((no, format!("more than {DATA_ROWS_MAX} rows")));
            }
            rows.push((no, line.split(',').map(str::trim).collect()));
        }
        if rows.is_empty() {
            return Err((first_no, "the file has a header but no rows".into()));
        }
        let columns = match (counted, named) {
            (Some((_, f)), _) => f + 1,
            (None, true) => first_fields.len(),
            (None, false) => rows[0].1.len(),
        };
        for (no, fields) in &rows {
            if fields.len() != columns {
                return Err((*no, format!("{} fields, expected {columns}", fields.len())));
            }
        }
        // The target column, if any.
        let target = match (labels, counted, named) {
            (Labels::Absent, _, _) => None,
            (Labels::Present, None, true) => Some(
                first_fields
                    .iter()
                    .position(|f| ["target", "label", "class"].contains(&f.to_ascii_lowercase().as_str()))
                    .unwrap_or(columns - 1),
            ),
            (Labels::Present, _, _) => Some(columns - 1),
        };
        let features = columns - usize::from(target.is_some());
        if features == 0 || features > FEATURES_MAX {
            return Err((first_no, format!("{features} feature columns; 1 to {FEATURES_MAX} are allowed")));
        }
        let feature_names: Vec<String> = if named {
            let names: Vec<String> =
                (0..columns).filter(|c| Some(*c) != target).map(|c| first_fields[c].to_string()).collect();
            check_names(&names).map_err(|r| (first_no, r))?;
            names
        } else {
            (0..features).map(|i| format!("x{i}")).collect()
        };

        let mut values = Vec::with_capacity(rows.len() * features);
        let mut raw_targets: Vec<&str> = Vec::with_capacity(rows.len());
        for (no, fields) in &rows {
            for (c, field) in fields.iter().enumerate() {
                if Some(c) == target {
                    raw_targets.push(field);
                    continue;
                }
                let v: f32 =
                    field.parse().map_err(|_| (*no, format!("column {}: {field:?} is not a number", c + 1)))?;
                if !v.is_finite() {
                    return Err((*no, format!("column {}: {field:?} is not finite", c + 1)));
                }
                values.push(v);
            }
        }

        let (class_names, labels) = match (target, counted) {
            (None, _) => (Vec::new(), Vec::new()),
            (Some(_), Some((n, _))) => {
                if n != rows.len() {
                    return Err((first_no, format!("the header announces {n} rows, the file has {}", rows.len())));
                }
                let names: Vec<String> = first_fields[2..].iter().map(|s| s.to_string()).collect();
                if names.is_empty() {
                    integer_classes(&rows, &raw_targets)?
                } else {
                    check_names(&names).map_err(|r| (first_no, r))?;
                    let mut labels = Vec::with_capacity(rows.len());
                    for ((no, _), t) in rows.iter().zip(&raw_targets) {
                        match t.parse::<u32>() {
                            Ok(l) if (l as usize) < names.len() => labels.push(l),
                            _ => return Err((*no, format!("target {t:?} is not a class index below {}", names.len()))),
                        }
                    }
                    (names, labels)
                }
            }
            (Some(_), None) => {
                if !named || raw_targets.iter().all(|t| t.parse::<i64>().is_ok()) {
                    integer_classes(&rows, &raw_targets)?
                } else {
                    let mut names: Vec<String> = raw_targets.iter().map(|t| t.to_string()).collect();
                    names.sort();
                    names.dedup();
                    check_names(&names).map_err(|r| (first_no, r))?;
                    let labels = raw_targets
                        .iter()
                        .map(|t| names.binary_search_by(|n| n.as_str().cmp(t)).map(|i| i as u32))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|_| (first_no, "a target value vanished while indexing".to_string()))?;
                    (names, labels)
                }
            }
        };
        if class_names.len() > CLASSES_MAX {
            return Err((first_no, format!("{} classes, more than {CLASSES_MAX}", class_names.len())));
        }
        Ok(Dataset { sha256, feature_names, class_names, features: values, labels })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.features.len() / self.feature_names.len().max(1)
    }

    /// The number of feature columns.
    pub fn feature_count(&self) -> usize {
        self.feature_names.len()
    }

    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f32] {
        let f = self.feature_count();
        &self.features[i * f..(i + 1) * f]
    }

    /// The index of the feature column called `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.feature_names.iter().position(|n| n == name)
    }

    /// The rows at `indices`, in that order, as a new data set (same names and digest).
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(indices.len() * self.feature_count());
        for &i in indices {
            features.extend_from_slice(self.row(i));
        }
        Dataset {
            sha256: self.sha256,
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
            features,
            labels: if self.labels.is_empty() { Vec::new() } else { indices.iter().map(|&i| self.labels[i]).collect() },
        }
    }
}

fn check_names(names: &[String]) -> Result<(), String> {
    for n in names {
        if n.is_empty() || n.len() > NAME_BYTES_MAX || n.chars().any(char::is_control) {
            return Err(format!("name {n:?} must be 1 to {NAME_BYTES_MAX} bytes without control characters"));
        }
    }
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err("names must be distinct".into());
    }
    Ok(())
}

/// Classes named by distinct integer targets, sorted numerically.
fn integer_classes(rows: &[(usize, Vec<&str>)], raw: &[&str]) -> Result<(Vec<String>, Vec<u32>), (usize, String)> {
    let mut values = Vec::with_capacity(raw.len());
    for ((no, _), t) in rows.iter().zip(raw) {
        values.push(t.parse::<i64>().map_err(|_| (*no, format!("target {t:?} is not an integer")))?);
    }
    let mut distinct = values.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() > CLASSES_MAX {
        return Err((0, format!("more than {CLASSES_MAX} classes")));
    }
    let labels = values
        .iter()
        .map(|v| {
            distinct.binary_search(v).map(|i| i as u32).map_err(|_| (0, "a target vanished while indexing".to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((distinct.iter().map(ToString::to_string).collect(), labels))
}

/// A seeded, stratified train/test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub seed: u64,
    /// The fraction of each class held out for testing, in parts per million.
    pub test_ppm: u32,
}

impl Split {
    /// A split holding out `test_fraction` (0 < f < 1) of each class.
    pub fn new(seed: u64, test_fraction: f64) -> Result<Split, AiError> {
        let split = Split { seed, test_ppm: fraction_ppm(test_fraction)? };
        split.validate()?;
        Ok(split)
    }

    pub fn validate(&self) -> Result<(), AiError> {
        if self.test_ppm == 0 || self.test_ppm >= PPM {
            return Err(AiError::InvalidConfig(format!(
                "the test fraction must be above 0 and below 1 (got {} ppm)",
                self.test_ppm
            )));
        }
        Ok(())
    }

    /// `(train, test)` row indices for `labels` (indices into `classes` classes), each
    /// ascending.
    pub fn indices(&self, labels: &[u32], classes: usize) -> (Vec<usize>, Vec<usize>) {
        let mut rng = Rng::new(self.seed, "split");
        let mut train = Vec::with_capacity(labels.len());
        let mut test = Vec::new();
        for class in 0..classes {
            let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] as usize == class).collect();
            rng.shuffle(&mut rows);
            let n = rows.len() as u64;
            let n_test = ((n * u64::from(self.test_ppm) + u64::from(PPM / 2)) / u64::from(PPM)) as usize;
            test.extend_from_slice(&rows[..n_test]);
            train.extend_from_slice(&rows[n_test..]);
        }
        train.sort_unstable();
        test.sort_unstable();
        (train, test)
    }
}

/// A fraction in [0, 1] as parts per million, rounded to nearest.
pub fn fraction_ppm(f: f64) -> Result<u32, AiError> {
    if !(0.0..=1.0).contains(&f) {
        return Err(AiError::InvalidConfig(format!("{f} is not a fraction between 0 and 1")));
    }
    Ok((f * f64::from(PPM)).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Dataset, (usize, String)> {
        Dataset::parse(s.as_bytes(), Labels::Present)
    }

    #[test]
    fn the_three_layouts() {
        let counted = parse("3,2,no,yes\n1.5,2,0\n3,4,1\n5,6,1\n").expect("counted");
        assert_eq!(counted.class_names, ["no", "yes"]);
        assert_eq!(counted.labels, [0, 1, 1]);
        assert_eq!(counted.feature_names, ["x0", "x1"]);
        assert_eq!(counted.row(0), [1.5, 2.0]);

        let bare = parse("1,2,9\n3,4,-1\n5,6,9\n").expect("headerless");
        assert_eq!(bare.class_names, ["-1", "9"]);
        assert_eq!(bare.labels, [1, 0, 1]);
        assert_eq!(bare.rows(), 3);

        let named = parse("height,Class,age\n1,cat,2\n3,dog,4\n").expect("named");
        assert_eq!(named.feature_names, ["height", "age"]);
        assert_eq!(named.class_names, ["cat", "dog"]);
        assert_eq!(named.row(1), [3.0, 4.0]);
        assert_eq!(named.column("age"), Some(1));

        let unlabelled = Dataset::parse(b"1,2\n3,4\n", Labels::Absent).expect("no labels");
        assert_eq!(unlabelled.feature_count(), 2);
        assert!(unlabelled.labels.is_empty());
    }

    #[test]
    fn malformed_files_are_refused_with_the_line() {
        let check = |s: &str, line: usize, needle: &str| {
            let (l, reason) = parse(s).expect_err(s);
            assert_eq!(l, line, "{s:?}: {reason}");
            assert!(reason.contains(needle), "{s:?}: {reason}");
        };
        check("", 0, "no rows");
        check("1,2,0\n1,0\n", 2, "fields");
        check("1,2,0\n1,x,0\n", 2, "not a number");
        check("t,u\n", 1, "no rows");
        check("1,2,0\n1,inf,1\n", 2, "not finite");
        check("2,2,a,b\n1,2,0\n", 1, "announces 2 rows");
        check("1,2,a,b\n1,2,5\n", 2, "class index");
        // iris's header has as many fields as its rows.
        let iris = parse("2,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3,1.4,0.2,2\n").expect("iris");
        assert_eq!(iris.class_names.len(), 3);
        assert_eq!(iris.labels, [0, 2]);
        check("1,2,0.5\n", 1, "not an integer");
        check("a,a,t\n1,2,0\n", 1, "distinct");
    }

    #[test]
    fn split_is_stratified_seeded_and_disjoint() {
        let labels: Vec<u32> = (0..100).map(|i| (i % 4) as u32).collect();
        let split = Split::new(3, 0.2).expect("split");
        let (train, test) = split.indices(&labels, 4);
        assert_eq!(test.len(), 20);
        assert_eq!(train.len(), 80);
        for c in 0..4 {
            assert_eq!(test.iter().filter(|&&i| labels[i] == c).count(), 5);
        }
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split.indices(&labels, 4), (train.clone(), test.clone()));
        assert_ne!(Split::new(4, 0.2).expect("split").indices(&labels, 4).1, test);
        assert!(Split::new(1, 0.0).is_err());
        assert!(Split::new(1, 1.0).is_err());
        assert!(Split::new(1, 1.5).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = Dataset::parse(&bytes, Labels::Present);
            let _ = Dataset::parse(&bytes, Labels::Absent);
        }

        #[test]
        fn parse_never_panics_on_csv_like_text(s in "[0-9a-c,.\\-\\n ]{0,200}") {
            let _ = Dataset::parse(s.as_bytes(), Labels::Present);
            let _ = Dataset::parse(s.as_bytes(), Labels::Absent);
        }
    }
}
