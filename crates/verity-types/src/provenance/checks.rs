//! Stateless checks shared by the provenance actions and records (texts, lists, dates, commits).

use crate::error::TypesError;
use crate::ids::AccountId;
use crate::limits::{LICENCES_PER_DATASET_MAX, MEMO_BYTES_MAX, METRICS_MAX, REVIEWERS_MAX};

use super::*;

/// Checks a short free text (reason, media type, team name): at most `limit` bytes, no
/// control characters.
pub fn check_text(field: &'static str, value: &str, limit: usize) -> Result<(), TypesError> {
    if value.len() > limit {
        return Err(TypesError::TooLarge { what: field, size: value.len(), limit });
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(TypesError::InvalidField { field, reason: "must not contain control characters".into() });
    }
    Ok(())
}

pub(super) fn check_len<T>(field: &'static str, items: &[T], min: usize, max: usize) -> Result<(), TypesError> {
    if items.len() < min || items.len() > max {
        return Err(TypesError::InvalidField {
            field,
            reason: format!("must hold {min} to {max} entries, got {}", items.len()),
        });
    }
    Ok(())
}

/// Checks that `items` is sorted by `key` with no repeats (the canonical form of every
/// set on the ledger, so that equal sets encode equally).
pub fn check_sorted_unique<T, K: Ord>(
    field: &'static str,
    items: &[T],
    key: impl Fn(&T) -> K,
) -> Result<(), TypesError> {
    if items.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
        Ok(())
    } else {
        Err(TypesError::InvalidField { field, reason: "must be sorted with no repeats".into() })
    }
}

/// Checks the reviewers list of a dataset version.
pub fn check_reviewers(reviewers: &[AccountId]) -> Result<(), TypesError> {
    check_len("reviewers", reviewers, 0, REVIEWERS_MAX)?;
    check_sorted_unique("reviewers", reviewers, |r| r.clone())?;
    reviewers.iter().try_for_each(AccountId::validate)
}

/// Checks a dataset version's licence set: 1..=LICENCES_PER_DATASET_MAX, sorted, valid.
pub fn check_licences(licences: &[Licence]) -> Result<(), TypesError> {
    check_len("licences", licences, 1, LICENCES_PER_DATASET_MAX)?;
    check_sorted_unique("licences", licences, |l| l.clone())?;
    licences.iter().try_for_each(Licence::validate)
}

/// Checks an attestation's metric list.
pub fn check_metrics(metrics: &[Metric]) -> Result<(), TypesError> {
    check_len("metrics", metrics, 0, METRICS_MAX)?;
    check_sorted_unique("metrics", metrics, |m| m.name.clone())?;
    metrics.iter().try_for_each(|m| check_metric_name(&m.name))
}

/// Checks a `YYYY-MM-DD` date (a calendar date; no clock is read).
pub fn check_date(field: &'static str, s: &str) -> Result<(), TypesError> {
    let bad = || TypesError::InvalidField { field, reason: format!("{s:?} is not a date YYYY-MM-DD") };
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(bad());
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d == 0 || d > days || !s.bytes().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(())
}

/// Checks a code commit id: 7..=64 lowercase hex digits.
pub fn check_commit(s: &str) -> Result<(), TypesError> {
    if (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(TypesError::InvalidField {
            field: "code_commit",
            reason: format!("{s:?} is not 7-64 lowercase hex digits"),
        })
    }
}

/// Checks a reason or context text (at most MEMO_BYTES_MAX bytes).
pub fn check_reason(field: &'static str, s: &str) -> Result<(), TypesError> {
    check_text(field, s, MEMO_BYTES_MAX)
}
