//! Where output goes: data on standard output, status on standard error.

use std::io::Write;

use serde_json::Value;

use crate::cli::Format;

/// Prints for one invocation, honouring `--format`, `--quiet` and `--verbose`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    pub(crate) format: Format,
    pub(crate) quiet: bool,
    pub(crate) verbose: u8,
}

impl Output {
    /// A status line on standard error (suppressed by `--quiet`).
    pub(crate) fn status(&self, line: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// A detail line on standard error, shown with `-v`.
    pub(crate) fn detail(&self, line: &str) {
        if self.verbose > 0 && !self.quiet {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// Data on standard output: `text` for people, `json` for scripts.
    pub(crate) fn data(&self, text: impl FnOnce() -> String, json: impl FnOnce() -> Value) {
        let mut out = std::io::stdout().lock();
        let _ = match self.format {
            Format::Text => writeln!(out, "{}", text()),
            Format::Json => writeln!(out, "{}", json()),
        };
    }
}

/// Seconds as a short human duration: `47h 59m`, `12m 5s`, `expired 3m ago`.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds < 0 {
        return format!("expired {} ago", human_duration(-seconds));
    }
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// Rows as aligned columns under a header.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut lines = vec![line(header.iter().map(|h| (*h).to_owned()).collect())];
    lines.extend(rows.iter().map(|row| line(row.clone())));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(125), "2m 5s");
        assert_eq!(human_duration(172_800 - 60), "1d 23h");
        assert_eq!(human_duration(3_600 * 5 + 120), "5h 2m");
        assert_eq!(human_duration(3 * 86_400 + 3_600), "3d 1h");
        assert_eq!(human_duration(-180), "expired 3m 0s ago");
    }

    #[test]
    fn tables_align() {
        let text = table(&["A", "BB"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(text, "A     BB\nlong  x");
    }
}
