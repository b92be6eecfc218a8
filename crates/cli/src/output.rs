//! Printing for people and for scripts: aligned tables, durations, and `--json`.

use std::io::Write;

use jiff::SignedDuration;
use serde::Serialize;

use crate::app::CliError;

/// Writes `value` as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::invalid(format!("could not write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// A plain-text table with columns padded to their widest cell (by characters).
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let mut line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            text.push_str(cell);
            if i < last {
                text.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// `1h 23m`, `4m 05s`, `12s`: durations as people read them.
pub fn duration(d: SignedDuration) -> String {
    let total = d.as_secs();
    let sign = if total < 0 { "-" } else { "" };
    let total = total.unsigned_abs();
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    if days > 0 {
        format!("{sign}{days}d {hours}h")
    } else if hours > 0 {
        format!("{sign}{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{sign}{minutes}m {seconds:02}s")
    } else {
        format!("{sign}{seconds}s")
    }
}

/// A single line of text, cut to `max` characters with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration(SignedDuration::from_secs(81)), "1m 21s");
        assert_eq!(duration(SignedDuration::from_secs(5_944)), "1h 39m");
        assert_eq!(duration(SignedDuration::from_secs(12)), "12s");
        assert_eq!(duration(SignedDuration::from_secs(90_000)), "1d 1h");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(one_line("a  b\nc", 10), "a b c");
        assert_eq!(one_line("abcdefghijk", 5), "abcd…");
    }
}
