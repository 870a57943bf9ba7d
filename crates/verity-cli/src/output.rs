//! Printing: JSON with --json, aligned key/value tables otherwise.
//!
//! Every `println!`/`print!` and `eprintln!`/`eprint!` in this crate ends up here (main.rs
//! defines those macros for the crate, in place of std's): std's panic when the write
//! fails, as it does when the reader of a pipe has gone (`verity ... | head`).

use std::io::Write;

use serde::Serialize;

/// Exit status after stdout's reader went away: 128 + SIGPIPE, what a shell reports for
/// a Unix tool that the signal ended.
pub const EXIT_BROKEN_PIPE: i32 = 128 + 13;

/// Writes to stdout. When nobody reads it any more (the pipe's reader closed, EPIPE),
/// the process ends at once with [`EXIT_BROKEN_PIPE`], quietly, as `cat` or `seq` end
/// under SIGPIPE: the rest of the output has no reader. Another failure (a full disk
/// under a redirection) is reported on stderr and ends the process with status 1, since
/// the output the user asked for is incomplete.
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| if newline { out.write_all(b"\n") } else { out.flush() });
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        write_stderr(format_args!("error: writing to stdout failed: {e}"), true);
        std::process::exit(1);
    }
}

/// Writes to stderr, ignoring failure: diagnostics nobody can read are dropped rather
/// than ending the command.
pub fn write_stderr(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| if newline { err.write_all(b"\n") } else { Ok(()) });
}

/// Prints `value` as pretty JSON, or the `rows` as a two-column table.
pub fn show<T: Serialize, K: AsRef<str>>(json: bool, value: &T, rows: Vec<(K, String)>) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
        return;
    }
    table(rows);
}

/// Prints an aligned two-column table.
pub fn table<K: AsRef<str>>(rows: Vec<(K, String)>) {
    let width = rows.iter().map(|(k, _)| k.as_ref().len()).max().unwrap_or(0);
    for (k, v) in rows {
        let k = k.as_ref();
        println!("{k:<width$}  {v}");
    }
}
