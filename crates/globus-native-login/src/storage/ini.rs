//! Reading and writing INI files the way Python's `configparser.ConfigParser` (with its
//! defaults) does, for fair-research-login's `~/.globus-native-apps.cfg`.
//!
//! Parsing follows `RawConfigParser._read` with `strict=True`, `=`/`:` delimiters, `#`/`;`
//! full-line comments, no inline comments, empty lines kept in multi-line values, keys
//! lowercased. Values are kept raw (before `%` interpolation), so sections we do not own are
//! written back exactly as `configparser` would write them.

use std::path::Path;

use globus_tokens_core::{Error, Result};

/// The section whose options every other section inherits (`configparser`'s `DEFAULT`).
pub(crate) const DEFAULT_SECTION: &str = "DEFAULT";

/// One section: its name and options in file order, values raw (multi-line joined with `\n`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) options: Vec<(String, String)>,
}

/// A parsed INI file: `DEFAULT` options and the other sections, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct IniFile {
    pub(crate) defaults: Vec<(String, String)>,
    pub(crate) sections: Vec<Section>,
}

fn bad(path: &Path, line: usize, reason: impl std::fmt::Display) -> Error {
    Error::invalid_data(
        format!("{}: line {line}", path.display()),
        reason.to_string(),
    )
}

/// Where options of the current section go.
enum Target {
    None,
    Defaults,
    Section(usize),
}

impl IniFile {
    /// Parse `bytes` (UTF-8) read from `path`; errors name the file and line, never a value.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<IniFile> {
        let text = std::str::from_utf8(bytes).map_err(|err| {
            Error::invalid_data(
                path.display().to_string(),
                format!("not valid UTF-8 (at byte {})", err.valid_up_to()),
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut file = IniFile::default();
        let mut target = Target::None;
        // The option being read: (values of its lines), index into the target's options.
        let mut current: Option<(usize, Vec<String>)> = None;
        let mut indent_level = 0usize;
        let mut seen_sections: Vec<String> = Vec::new();
        let mut seen_options: Vec<(String, String)> = Vec::new();
        let mut section_name = String::new();

        let flush =
            |file: &mut IniFile, target: &Target, current: &mut Option<(usize, Vec<String>)>| {
                if let Some((index, lines)) = current.take() {
                    let joined = lines.join("\n").trim_end().to_owned();
                    let options = match target {
                        Target::Defaults => &mut file.defaults,
                        Target::Section(s) => &mut file.sections[*s].options,
                        Target::None => return,
                    };
                    if let Some(slot) = options.get_mut(index) {
                        slot.1 = joined;
                    }
                }
            };

        for (number, raw_line) in split_lines(text).enumerate() {
            let line_number = number + 1;
            let stripped = py_strip(raw_line);
            let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
            if stripped.is_empty() || is_comment {
                if stripped.is_empty()
                    && let Some((_, lines)) = current.as_mut()
                {
                    lines.push(String::new());
                }
                continue;
            }
            let cur_indent = raw_line.len() - py_strip_start(raw_line).len();
            if current.is_some() && cur_indent > indent_level {
                if let Some((_, lines)) = current.as_mut() {
                    lines.push(stripped.to_owned());
                }
                continue;
            }
            indent_level = cur_indent;
            if let Some(header) = section_header(stripped) {
                flush(&mut file, &target, &mut current);
                // configparser allows [DEFAULT] more than once (its options still may not repeat).
                if header != DEFAULT_SECTION && seen_sections.iter().any(|s| s == header) {
                    return Err(bad(
                        path,
                        line_number,
                        format!("section [{header}] appears twice"),
                    ));
                }
                seen_sections.push(header.to_owned());
                section_name = header.to_owned();
                target = if header == DEFAULT_SECTION {
                    Target::Defaults
                } else {
                    file.sections.push(Section {
                        name: header.to_owned(),
                        options: Vec::new(),
                    });
                    Target::Section(file.sections.len() - 1)
                };
                continue;
            }
            if matches!(target, Target::None) {
                return Err(bad(
                    path,
                    line_number,
                    "an option before any [section] header",
                ));
            }
            let Some(split) = stripped.find(['=', ':']) else {
                return Err(bad(
                    path,
                    line_number,
                    "a line that is neither a [section], an option (key = value) nor a comment",
                ));
            };
            let key = py_strip(&stripped[..split]).to_lowercase();
            if key.is_empty() {
                return Err(bad(path, line_number, "an option with an empty name"));
            }
            let value = py_strip(&stripped[split + 1..]).to_owned();
            flush(&mut file, &target, &mut current);
            if seen_options
                .iter()
                .any(|(s, k)| *s == section_name && *k == key)
            {
                return Err(bad(
                    path,
                    line_number,
                    format!("option {key:?} appears twice in section [{section_name}]"),
                ));
            }
            seen_options.push((section_name.clone(), key.clone()));
            let options = match target {
                Target::Defaults => &mut file.defaults,
                Target::Section(s) => &mut file.sections[s].options,
                Target::None => continue,
            };
            options.push((key, value.clone()));
            current = Some((options.len() - 1, vec![value]));
        }
        flush(&mut file, &target, &mut current);
        Ok(file)
    }

    /// The file as `ConfigParser.write` writes it.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if !self.defaults.is_empty() {
            render_section(&mut out, DEFAULT_SECTION, &self.defaults);
        }
        for section in &self.sections {
            render_section(&mut out, &section.name, &section.options);
        }
        out
    }

    pub(crate) fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The named section, created (empty, at the end) if missing.
    pub(crate) fn section_mut(&mut self, name: &str) -> &mut Section {
        let index = match self.sections.iter().position(|s| s.name == name) {
            Some(index) => index,
            None => {
                self.sections.push(Section {
                    name: name.to_owned(),
                    options: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        &mut self.sections[index]
    }
}

fn render_section(out: &mut String, name: &str, options: &[(String, String)]) {
    out.push('[');
    out.push_str(name);
    out.push_str("]\n");
    for (key, value) in options {
        out.push_str(key);
        out.push_str(" = ");
        out.push_str(&value.replace('\n', "\n\t"));
        out.push('\n');
    }
    out.push('\n');
}

/// Python's `str.splitlines`-like split used by file iteration: lines end at `\n` (universal
/// newlines turn `\r\n` and `\r` into `\n` when Python reads text).
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let after = &rest[end..];
        rest = after
            .strip_prefix("\r\n")
            .or_else(|| after.strip_prefix('\n'))
            .or_else(|| after.strip_prefix('\r'))
            .unwrap_or_default();
        Some(line)
    })
}

/// `[name]` header (configparser's `\[(?P<header>.+)\]`, matched at the start).
fn section_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('[')?;
    let close = inner.rfind(']')?;
    let header = &inner[..close];
    (!header.is_empty()).then_some(header)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(char::is_whitespace)
}

fn py_strip_start(s: &str) -> &str {
    s.trim_start_matches(char::is_whitespace)
}

/// Whether `value` reads back unchanged after `render` then `parse`: no leading or trailing
/// whitespace on the value or on any line, no carriage return, no continuation line that would
/// read as a comment.
pub(crate) fn round_trips(value: &str) -> bool {
    if py_strip(value) != value || value.contains('\r') {
        return false;
    }
    value.split('\n').enumerate().all(|(index, line)| {
        py_strip(line) == line && (index == 0 || !(line.starts_with('#') || line.starts_with(';')))
    })
}

/// Undo `configparser`'s basic interpolation for a value read from the file: `%%` is `%`.
/// Returns `None` for any other `%` (a reference to another option, or invalid syntax), which
/// these token files never hold.
pub(crate) fn uninterpolate(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') => out.push('%'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Escape a value for basic interpolation: `%` becomes `%%`.
pub(crate) fn interpolate_escape(value: &str) -> String {
    value.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IniFile> {
        IniFile::parse(Path::new("t.cfg"), text.as_bytes())
    }

    #[test]
    fn multiline_and_comments() {
        let file = parse("# c\n[s]\nA = one\n  two\n\n  three\nb: x\n; c\n").unwrap();
        assert_eq!(
            file.sections[0].options,
            vec![
                ("a".to_owned(), "one\ntwo\n\nthree".to_owned()),
                ("b".to_owned(), "x".to_owned())
            ]
        );
        assert_eq!(file.render(), "[s]\na = one\n\ttwo\n\t\n\tthree\nb = x\n\n");
    }

    #[test]
    fn strict_errors() {
        assert!(parse("a = 1\n").is_err());
        assert!(parse("[s]\n[s]\n").is_err());
        assert!(parse("[s]\na = 1\nA = 2\n").is_err());
        assert!(parse("[s]\njunk\n").is_err());
        assert!(parse("[s]\n = 1\n").is_err());
        assert!(parse("[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n").is_ok());
        assert!(parse("[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n").is_err());
    }

    #[test]
    fn interpolation() {
        assert_eq!(uninterpolate("a%%b").as_deref(), Some("a%b"));
        assert_eq!(uninterpolate("a%(x)s"), None);
        assert_eq!(interpolate_escape("50%"), "50%%");
        assert!(round_trips("a\n\nb"));
        assert!(!round_trips("a\n#b"));
        assert!(!round_trips(" a"));
    }
}
