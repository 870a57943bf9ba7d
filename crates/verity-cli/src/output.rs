//! Printing: JSON with --json, aligned key/value tables otherwise.

use serde::Serialize;

/// Prints `value` as pretty JSON, or the `rows` as a two-column table.
pub fn show<T: Serialize>(json: bool, value: &T, rows: Vec<(&str, String)>) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
        return;
    }
    table(rows);
}

/// Prints an aligned two-column table.
pub fn table(rows: Vec<(&str, String)>) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        println!("{k:<width$}  {v}");
    }
}
