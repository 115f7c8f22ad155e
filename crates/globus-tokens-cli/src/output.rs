//! Where output goes: data on standard output, status on standard error.

use std::io::Write;

use serde_json::Value;

use crate::cli::Format;
use crate::error::CliError;

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

    /// Data on standard output: `text` for people, `json` for scripts. A failed write (a full
    /// disk, a closed pipe) is an error: the caller must not report success.
    pub(crate) fn data(
        &self,
        text: impl FnOnce() -> String,
        json: impl FnOnce() -> Value,
    ) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        match self.format {
            Format::Text => writeln!(out, "{}", text()),
            Format::Json => writeln!(out, "{}", json()),
        }
        .and_then(|()| out.flush())
        .map_err(|err| CliError::failure(format!("cannot write to standard output: {err}")))
    }
}

/// The latest `expires_at_seconds` taken at face value: the end of year 9999. Stores written
/// by hand or by a broken tool can hold anything; beyond this range a value is shown as
/// invalid rather than as a duration.
const MAX_PLAUSIBLE_EXPIRES_AT: i64 = 253_402_300_799;

/// How long until `expires_at` (or how long since), for people; absurd values are marked.
pub(crate) fn expiry_text(expires_at: i64, now: i64) -> String {
    if !expiry_is_plausible(expires_at) {
        return format!("invalid expiry ({expires_at})");
    }
    human_duration(expires_at.saturating_sub(now))
}

/// Whether `expires_at` is a time between 1970 and the end of year 9999.
pub(crate) fn expiry_is_plausible(expires_at: i64) -> bool {
    (0..=MAX_PLAUSIBLE_EXPIRES_AT).contains(&expires_at)
}

/// Seconds as a short human duration: `47h 59m`, `12m 5s`, `expired 3m ago`.
pub(crate) fn human_duration(seconds: i64) -> String {
    // unsigned_abs: the magnitude of i64::MIN fits, so nothing overflows or recurses.
    let magnitude = seconds.unsigned_abs();
    let (days, hours, minutes, secs) = (
        magnitude / 86_400,
        magnitude / 3_600 % 24,
        magnitude / 60 % 60,
        magnitude % 60,
    );
    let text = match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    };
    if seconds < 0 {
        format!("expired {text} ago")
    } else {
        text
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
        assert_eq!(human_duration(i64::MIN), "expired 106751991167300d 15h ago");
        assert_eq!(human_duration(i64::MAX), "106751991167300d 15h");
    }

    proptest::proptest! {
        /// Any stored expiry and any clock: formatting neither panics nor wraps.
        #[test]
        fn expiry_formatting_never_panics_or_wraps(expires_at: i64, now: i64) {
            let text = expiry_text(expires_at, now);
            if expiry_is_plausible(expires_at) {
                let exact = i128::from(expires_at) - i128::from(now);
                proptest::prop_assert_eq!(text.starts_with("expired"), exact < 0);
            } else {
                proptest::prop_assert!(text.starts_with("invalid expiry"));
            }
        }
    }

    #[test]
    fn tables_align() {
        let text = table(&["A", "BB"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(text, "A     BB\nlong  x");
    }
}
