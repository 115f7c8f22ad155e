//! JSON text written the way Python's `json.dumps` writes it by default, so files we write are
//! byte-for-byte what globus-sdk would write for the same data.
//!
//! Python's defaults: `", "` between items, `": "` after keys, no newlines, and every non-ASCII
//! character escaped as `\uXXXX` (surrogate pairs beyond the Basic Multilingual Plane).

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

/// A `serde_json` formatter matching Python's `json.dumps` defaults (optionally with `indent`).
#[derive(Debug, Clone, Default)]
pub struct PythonFormatter {
    indent: Option<usize>,
    depth: usize,
    has_value: bool,
}

impl PythonFormatter {
    /// `json.dumps(obj)`.
    pub fn compact() -> Self {
        PythonFormatter {
            indent: None,
            depth: 0,
            has_value: false,
        }
    }

    /// `json.dumps(obj, indent=n)`: items on their own lines, `","` between them.
    pub fn indented(indent: usize) -> Self {
        PythonFormatter {
            indent: Some(indent),
            depth: 0,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        if let Some(width) = self.indent {
            writer.write_all(b"\n")?;
            for _ in 0..self.depth * width {
                writer.write_all(b" ")?;
            }
        }
        Ok(())
    }

    fn separator<W: ?Sized + io::Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline(writer)
    }
}

impl Formatter for PythonFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(writer)?;
        }
        writer.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(writer)?;
        }
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for ch in fragment.chars() {
            if ch.is_ascii() {
                writer.write_all(&[ch as u8])?;
            } else {
                for unit in ch.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let text: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(writer, "\\u{byte:04x}"),
        };
        writer.write_all(text)
    }
}

/// Serialize `value` as Python's `json.dumps(value)` would.
///
/// ```
/// use serde_json::json;
/// let text = globus_tokens_core::raw::pyjson::to_vec(&json!({"a": [1, null], "é": "x"})).unwrap();
/// assert_eq!(text, br#"{"a": [1, null], "\u00e9": "x"}"#);
/// ```
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    to_vec_with(value, PythonFormatter::compact())
}

/// Serialize `value` with a given [`PythonFormatter`].
pub fn to_vec_with<T: Serialize + ?Sized>(
    value: &T,
    formatter: PythonFormatter,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(512);
    let mut serializer = Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// Serialize `value` as Python's `json.dumps(value)` would, as a `String`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let bytes = to_vec(value)?;
    // The formatter only ever writes ASCII.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_like_python() {
        let text = to_string(&json!({"k": "\u{1F600}\n\t\"\\/\u{1}"})).unwrap();
        assert_eq!(text, r#"{"k": "\ud83d\ude00\n\t\"\\/\u0001"}"#);
    }

    #[test]
    fn indented_like_python() {
        let text = to_vec_with(
            &json!({"a": {"b": [1, 2]}, "c": {}}),
            PythonFormatter::indented(2),
        )
        .unwrap();
        let expected =
            "{\n  \"a\": {\n    \"b\": [\n      1,\n      2\n    ]\n  },\n  \"c\": {}\n}";
        assert_eq!(String::from_utf8(text).unwrap(), expected);
    }
}
