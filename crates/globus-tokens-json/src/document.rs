//! The token file format: parsing and validating a 1.0 or 2.0 document, the changes a store
//! makes to it, and serialising it back in Python's `json.dumps` byte format.
//!
//! A file is parsed into a [`Document`]: the top-level object (kept in file order, so unknown
//! keys survive a rewrite in place) plus the token entries by namespace. Entries are validated
//! when the file is read but kept as the JSON objects they were, so a write leaves every entry
//! it does not touch byte-for-byte as another tool wrote it.

use std::collections::BTreeMap;
use std::path::Path;

use globus_tokens_core::raw::{json_type_name, pyjson};
use globus_tokens_core::{
    DEFAULT_NAMESPACE, Error, Result, TokenData, TokenDataLayout, WRITER_VERSION,
};
use serde_json::{Map, Value};

const FORMAT_VERSION_KEY: &str = "format_version";
const SDK_VERSION_KEY: &str = "globus-sdk.version";
const BY_RS_KEY: &str = "by_rs";
const DATA_KEY: &str = "data";

/// Longest stretch of an unrecognised `format_version` string quoted in an error: enough to
/// recognise a version, too short to leak much if a file is badly garbled.
const MAX_QUOTED_VERSION: usize = 32;

/// A token file format: what a handle writes, and what a file declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// globus-sdk's `SimpleJSONFileAdapter`: `{"by_rs": {RS: entry}}`.
    V1,
    /// globus-sdk's `JSONTokenStorage`: `{"data": {NAMESPACE: {RS: entry}}}`.
    V2,
}

impl Format {
    /// The `format_version` string for this format.
    pub(crate) const fn version(self) -> &'static str {
        match self {
            Format::V1 => "1.0",
            Format::V2 => "2.0",
        }
    }

    /// The versions a handle writing this format reads, as in globus-sdk.
    pub(crate) const fn readable(self) -> &'static [&'static str] {
        match self {
            Format::V1 => &["1.0"],
            Format::V2 => &["1.0", "2.0"],
        }
    }

    const fn layout(self) -> TokenDataLayout {
        match self {
            Format::V1 => TokenDataLayout::Legacy,
            Format::V2 => TokenDataLayout::V2,
        }
    }

    const fn container_key(self) -> &'static str {
        match self {
            Format::V1 => BY_RS_KEY,
            Format::V2 => DATA_KEY,
        }
    }

    pub(crate) fn from_version(version: &str) -> Option<Self> {
        match version {
            "1.0" => Some(Format::V1),
            "2.0" => Some(Format::V2),
            _ => None,
        }
    }
}

/// A token file as read: validated, ready to change and write back.
#[derive(Debug)]
pub(crate) struct Document {
    /// The file's path as text, for error locations.
    location: String,
    /// The format the file declared; `None` when there was no file.
    source: Option<Format>,
    /// The top-level object in file order. The token container's slot holds a placeholder
    /// until [`Document::into_bytes`] puts the (possibly changed) tokens back in the same place.
    root: Map<String, Value>,
    /// Token entries by namespace, in file order. A 1.0 file has only `DEFAULT`.
    namespaces: Vec<(String, Map<String, Value>)>,
}

impl Document {
    pub(crate) fn empty(path: &Path) -> Self {
        Document {
            location: path.display().to_string(),
            source: None,
            root: Map::new(),
            namespaces: Vec::new(),
        }
    }

    /// Parse and fully validate a file's bytes for a handle writing `reader`'s format.
    pub(crate) fn parse(path: &Path, bytes: &[u8], reader: Format) -> Result<Self> {
        let Parsed {
            location,
            source,
            root,
            container,
        } = Parsed::new(path, bytes, reader)?;
        let namespaces = split_namespaces(container, source, &location, |name, entries, _| {
            (name, entries)
        })?;
        Ok(Document {
            location,
            source: Some(source),
            root,
            namespaces,
        })
    }

    fn tokens(&self, namespace: &str) -> Option<&Map<String, Value>> {
        self.namespaces
            .iter()
            .find(|(name, _)| name == namespace)
            .map(|(_, entries)| entries)
    }

    fn tokens_mut(&mut self, namespace: &str) -> &mut Map<String, Value> {
        let index = match self
            .namespaces
            .iter()
            .position(|(name, _)| name == namespace)
        {
            Some(index) => index,
            None => {
                self.namespaces.push((namespace.to_owned(), Map::new()));
                self.namespaces.len() - 1
            }
        };
        &mut self.namespaces[index].1
    }

    fn entry_location(&self, namespace: &str, resource_server: &str) -> String {
        match self.source {
            Some(Format::V1) => format!("{}: {BY_RS_KEY}.{resource_server}", self.location),
            _ => format!(
                "{}: {DATA_KEY}.{namespace}.{resource_server}",
                self.location
            ),
        }
    }

    /// The entry for one resource server in `namespace`.
    pub(crate) fn get(&self, namespace: &str, resource_server: &str) -> Result<Option<TokenData>> {
        self.tokens(namespace)
            .and_then(|entries| entries.get(resource_server))
            .map(|entry| {
                let location = self.entry_location(namespace, resource_server);
                TokenData::from_json_value(entry, resource_server, &location)
            })
            .transpose()
    }

    /// Replace (or add) one entry. An existing entry keeps its position, as a Python dict
    /// assignment does.
    pub(crate) fn put(
        &mut self,
        namespace: &str,
        resource_server: &str,
        data: &TokenData,
        layout: Format,
    ) {
        let entry = Value::Object(data.to_json_object(layout.layout()));
        self.tokens_mut(namespace)
            .insert(resource_server.to_owned(), entry);
    }

    /// Remove one entry, keeping the others in order. An emptied namespace stays as `{}`, as
    /// globus-sdk leaves it.
    pub(crate) fn remove(&mut self, namespace: &str, resource_server: &str) -> bool {
        self.namespaces
            .iter_mut()
            .find(|(name, _)| name == namespace)
            .is_some_and(|(_, entries)| entries.shift_remove(resource_server).is_some())
    }

    /// The file's new bytes, in `writer`'s format.
    ///
    /// A file already in that format keeps its top-level keys where they were. A new file, or
    /// a 1.0 file upgraded to 2.0, gets globus-sdk's key order (container, `format_version`,
    /// `globus-sdk.version`) followed by any other keys the old file had.
    pub(crate) fn into_bytes(self, writer: Format) -> Result<Vec<u8>> {
        let container = match writer {
            // A handle writing 1.0 only reads 1.0 files, so `DEFAULT` is the only namespace.
            Format::V1 => self
                .namespaces
                .into_iter()
                .find(|(name, _)| name == DEFAULT_NAMESPACE)
                .map(|(_, entries)| entries)
                .unwrap_or_default(),
            Format::V2 => self
                .namespaces
                .into_iter()
                .map(|(name, entries)| (name, Value::Object(entries)))
                .collect(),
        };
        let container_key = writer.container_key();
        let mut root = if self.source == Some(writer) {
            self.root
        } else {
            let mut root = Map::new();
            root.insert(container_key.to_owned(), Value::Null);
            root.insert(FORMAT_VERSION_KEY.to_owned(), Value::Null);
            root.insert(SDK_VERSION_KEY.to_owned(), Value::Null);
            let old_container = self.source.map(Format::container_key);
            for (key, value) in self.root {
                if Some(key.as_str()) != old_container {
                    // The three keys above keep their new places (and get new values below).
                    root.entry(key).or_insert(value);
                }
            }
            root
        };
        root.insert(container_key.to_owned(), Value::Object(container));
        root.insert(FORMAT_VERSION_KEY.to_owned(), writer.version().into());
        root.insert(SDK_VERSION_KEY.to_owned(), WRITER_VERSION.into());
        pyjson::to_vec(&Value::Object(root)).map_err(|err| {
            Error::invalid_data(self.location, format!("cannot encode as JSON: {err}"))
        })
    }
}

/// The format a file declares, if `reader` can read it.
fn declared_format(root: &Map<String, Value>, location: &str, reader: Format) -> Result<Format> {
    let found = match root.get(FORMAT_VERSION_KEY) {
        Some(Value::String(version)) => {
            if let Some(format) = Format::from_version(version)
                .filter(|format| reader.readable().contains(&format.version()))
            {
                return Ok(format);
            }
            let quoted: String = version.chars().take(MAX_QUOTED_VERSION).collect();
            if quoted.len() < version.len() {
                format!("{quoted:?}...")
            } else {
                format!("{quoted:?}")
            }
        }
        None => "missing".to_owned(),
        Some(other) => format!("{} (not a string)", json_type_name(other)),
    };
    Err(Error::UnsupportedFormatVersion {
        location: location.to_owned(),
        found,
        supported: reader.readable(),
    })
}

/// A file's top level as every reader needs it: checked, with the token container taken out.
struct Parsed {
    /// The file's path as text, for error locations.
    location: String,
    /// The format the file declares.
    source: Format,
    /// The top-level object in file order, the container's slot left `null` (keeping the key's
    /// position for a rewrite).
    root: Map<String, Value>,
    /// The token container (`by_rs` or `data`), not yet checked.
    container: Value,
}

impl Parsed {
    fn new(path: &Path, bytes: &[u8], reader: Format) -> Result<Self> {
        let location = path.display().to_string();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // Not a file we or Python wrote (both always write an object); most likely a
            // truncating writer that died, so say so rather than "expected value".
            return Err(Error::JsonSyntax {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                message: "the file is empty".to_owned(),
            });
        }
        let mut root = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(root)) => root,
            Ok(other) => {
                return Err(Error::invalid_data(
                    location,
                    format!(
                        "the top level must be a JSON object, found {}",
                        json_type_name(&other)
                    ),
                ));
            }
            Err(err) => return Err(Error::json_syntax(path, &err)),
        };
        let source = declared_format(&root, &location, reader)?;
        match root.get(SDK_VERSION_KEY) {
            // Python requires the key; we only require it to be a string when present, since
            // every write puts our own version there anyway.
            None | Some(Value::String(_)) => {}
            Some(other) => {
                return Err(Error::invalid_data(
                    format!("{location}: {SDK_VERSION_KEY}"),
                    format!("must be a string, found {}", json_type_name(other)),
                ));
            }
        }
        let container_key = source.container_key();
        // `take` leaves `null` in the slot, which keeps the key's position for the rewrite.
        let container = match root.get_mut(container_key) {
            Some(slot) => slot.take(),
            None => {
                return Err(Error::invalid_data(
                    location,
                    format!("missing required key `{container_key}`"),
                ));
            }
        };
        Ok(Parsed {
            location,
            source,
            root,
            container,
        })
    }
}

/// The container's namespaces in file order (a 1.0 file has only `DEFAULT`), each checked to be
/// an object of valid token entries before the next is looked at; `keep` makes what is kept of
/// each from its name, its entries as they were, and their token data.
fn split_namespaces<T>(
    container: Value,
    source: Format,
    location: &str,
    mut keep: impl FnMut(String, Map<String, Value>, Vec<TokenData>) -> T,
) -> Result<Vec<T>> {
    match source {
        Format::V1 => {
            let entries = object_at(container, location, || BY_RS_KEY.to_owned())?;
            let data = validated_entries(&entries, location, None)?;
            Ok(vec![keep(DEFAULT_NAMESPACE.to_owned(), entries, data)])
        }
        Format::V2 => object_at(container, location, || DATA_KEY.to_owned())?
            .into_iter()
            .map(|(namespace, entries)| {
                let entries = object_at(entries, location, || key_path(Some(&namespace)))?;
                let data = validated_entries(&entries, location, Some(&namespace))?;
                Ok(keep(namespace, entries, data))
            })
            .collect(),
    }
}

/// The key path of a namespace's entries: `by_rs` in a 1.0 file (`None`), `data.NAMESPACE` in
/// a 2.0 one.
fn key_path(namespace: Option<&str>) -> String {
    match namespace {
        None => BY_RS_KEY.to_owned(),
        Some(namespace) => format!("{DATA_KEY}.{namespace}"),
    }
}

/// `value` as an object, or an error naming `key_path` in the file.
fn object_at(
    value: Value,
    location: &str,
    key_path: impl FnOnce() -> String,
) -> Result<Map<String, Value>> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(Error::invalid_data(
            format!("{location}: {}", key_path()),
            format!("must be a JSON object, found {}", json_type_name(&other)),
        )),
    }
}

/// The token data of every entry in a namespace (`None`: a 1.0 file's `by_rs`), in file order,
/// each checked to be valid and stored under its own resource server.
fn validated_entries(
    entries: &Map<String, Value>,
    location: &str,
    namespace: Option<&str>,
) -> Result<Vec<TokenData>> {
    let entry_location =
        |resource_server: &str| format!("{location}: {}.{resource_server}", key_path(namespace));
    entries
        .iter()
        .map(|(resource_server, entry)| {
            // The location only shows in an error, and formatting it for every entry of every
            // read cost as much as converting the entry: convert without it, and again with it
            // only to report a failure (the conversion is pure, so the error is the same).
            let data = TokenData::from_json_value(entry, resource_server, "").or_else(|_| {
                TokenData::from_json_value(entry, resource_server, &entry_location(resource_server))
            })?;
            // globus-sdk reads such an entry without complaint and hands out the tokens of one
            // resource server under another's name; a renewal then asks Globus Auth for the
            // wrong one. Refuse it when the file is read, so nothing is used before the damage
            // shows.
            if data.resource_server != *resource_server {
                return Err(Error::invalid_data(
                    entry_location(resource_server),
                    format!(
                        "the entry is stored under {resource_server:?} but its resource_server is {:?}",
                        data.resource_server
                    ),
                ));
            }
            Ok(data)
        })
        .collect()
}

/// The token data of a file as read, for a handle that only reads: every entry validated and
/// converted once, nothing kept for a rewrite.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Token data by namespace, in file order.
    namespaces: Vec<(String, Vec<TokenData>)>,
}

impl Snapshot {
    /// Parse and fully validate a file's bytes for a handle writing `reader`'s format, with
    /// exactly the errors of [`Document::parse`].
    pub(crate) fn parse(path: &Path, bytes: &[u8], reader: Format) -> Result<Self> {
        let Parsed {
            location,
            source,
            container,
            ..
        } = Parsed::new(path, bytes, reader)?;
        let namespaces =
            split_namespaces(container, source, &location, |name, _, data| (name, data))?;
        Ok(Snapshot { namespaces })
    }

    fn tokens(self, namespace: &str) -> Vec<TokenData> {
        self.namespaces
            .into_iter()
            .find(|(name, _)| name == namespace)
            .map(|(_, data)| data)
            .unwrap_or_default()
    }

    /// The entry for one resource server in `namespace`.
    pub(crate) fn get(self, namespace: &str, resource_server: &str) -> Option<TokenData> {
        self.tokens(namespace)
            .into_iter()
            .find(|data| data.resource_server == resource_server)
    }

    /// Every entry in `namespace`.
    pub(crate) fn all(self, namespace: &str) -> BTreeMap<String, TokenData> {
        self.tokens(namespace)
            .into_iter()
            .map(|data| (data.resource_server.clone(), data))
            .collect()
    }

    /// The namespaces holding at least one entry, sorted.
    pub(crate) fn namespaces(self) -> Vec<String> {
        let mut names: Vec<String> = self
            .namespaces
            .into_iter()
            .filter(|(_, data)| !data.is_empty())
            .map(|(name, _)| name)
            .collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse `text` for a writing handle, checking on the way that the read-only path accepts
    /// and refuses exactly the same files with exactly the same errors.
    fn parse(text: &str, reader: Format) -> Result<Document> {
        let path = Path::new("tokens.json");
        let document = Document::parse(path, text.as_bytes(), reader);
        let snapshot = Snapshot::parse(path, text.as_bytes(), reader);
        assert_eq!(
            format!("{:?}", document.as_ref().err()),
            format!("{:?}", snapshot.as_ref().err()),
            "Document::parse and Snapshot::parse disagree on {text}"
        );
        // The fast read path may decline any file, but must never accept one these refuse
        // or find a different entry.
        for namespace in ["DEFAULT", "user"] {
            if let Some(found) = crate::fast_read::get(text.as_bytes(), reader, namespace, "rs") {
                let full = Snapshot::parse(path, text.as_bytes(), reader).unwrap_or_else(|err| {
                    panic!("the fast path accepted {text}, which the full parse refuses: {err}")
                });
                assert_eq!(found, full.get(namespace, "rs"), "on {text}");
            }
        }
        document
    }

    fn snapshot(text: &str, reader: Format) -> Snapshot {
        Snapshot::parse(Path::new("tokens.json"), text.as_bytes(), reader).unwrap()
    }

    const ENTRY: &str = r#"{"scope": "s", "access_token": "AT-secret", "refresh_token": null, "token_type": "Bearer", "expires_at_seconds": 2000000000, "resource_server": "rs"}"#;

    fn v1(entries: &str) -> String {
        format!(
            r#"{{"by_rs": {entries}, "format_version": "1.0", "globus-sdk.version": "3.65.0"}}"#
        )
    }

    fn v2(data: &str) -> String {
        format!(r#"{{"data": {data}, "format_version": "2.0", "globus-sdk.version": "3.65.0"}}"#)
    }

    #[test]
    fn empty_and_whitespace_files_are_syntax_errors_at_line_zero() {
        for text in ["", "  \n\t"] {
            match parse(text, Format::V2) {
                Err(Error::JsonSyntax {
                    line: 0,
                    column: 0,
                    ref message,
                    ..
                }) => {
                    assert!(message.contains("empty"));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_json_is_a_syntax_error_with_position() {
        let text = v1(&format!(r#"{{"rs": {ENTRY}}}"#));
        let err = parse(&text[..40], Format::V1).unwrap_err();
        assert!(matches!(err, Error::JsonSyntax { line: 1, .. }), "{err:?}");
        assert!(err.to_string().starts_with("tokens.json is not valid JSON"));
    }

    #[test]
    fn non_object_roots_are_rejected_by_type() {
        for (text, kind) in [
            ("[]", "an array"),
            ("null", "null"),
            ("\"x\"", "a string"),
            ("3", "a number"),
        ] {
            let err = parse(text, Format::V1).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("tokens.json: the top level must be a JSON object, found {kind}")
            );
        }
    }

    #[test]
    fn format_versions() {
        let missing = parse(r#"{"by_rs": {}}"#, Format::V1).unwrap_err();
        assert!(
            matches!(missing, Error::UnsupportedFormatVersion { ref found, .. } if found == "missing")
        );
        let number = parse(r#"{"by_rs": {}, "format_version": 1.0}"#, Format::V1).unwrap_err();
        assert!(
            matches!(number, Error::UnsupportedFormatVersion { ref found, .. } if found == "a number (not a string)")
        );
        let v2_for_v1 = parse(&v2("{}"), Format::V1).unwrap_err();
        assert_eq!(
            v2_for_v1.to_string(),
            "tokens.json: unsupported format version \"2.0\"; supported: 1.0"
        );
        let long = "9".repeat(100);
        let text = format!(r#"{{"data": {{}}, "format_version": "{long}"}}"#);
        let err = parse(&text, Format::V2).unwrap_err().to_string();
        assert!(err.contains("...") && !err.contains(&long), "{err}");
        assert!(parse(&v1("{}"), Format::V2).is_ok());
        assert!(parse(&v2("{}"), Format::V2).is_ok());
    }

    #[test]
    fn containers_must_be_objects() {
        let err = parse(&v1("[]"), Format::V1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tokens.json: by_rs: must be a JSON object, found an array"
        );
        let err = parse(r#"{"format_version": "1.0"}"#, Format::V2).unwrap_err();
        assert_eq!(err.to_string(), "tokens.json: missing required key `by_rs`");
        let err = parse(&v2(r#"{"DEFAULT": 1}"#), Format::V2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tokens.json: data.DEFAULT: must be a JSON object, found a number"
        );
        let err = parse(
            r#"{"format_version": "2.0", "globus-sdk.version": 3, "data": {}}"#,
            Format::V2,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tokens.json: globus-sdk.version: must be a string, found a number"
        );
    }

    #[test]
    fn entries_are_validated_with_their_key_path() {
        let err = parse(
            &v1(r#"{"transfer.api.globus.org": "AT-secret"}"#),
            Format::V1,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tokens.json: by_rs.transfer.api.globus.org: token data must be a JSON object, found a string"
        );
        let bad = ENTRY.replace("2000000000", "\"soon\"");
        let err = parse(&v2(&format!(r#"{{"ns": {{"rs": {bad}}}}}"#)), Format::V2).unwrap_err();
        assert!(
            matches!(err, Error::InvalidData { ref location, .. } if location == "tokens.json: data.ns.rs")
        );
        assert!(!format!("{err} {err:?}").contains("AT-secret"));
    }

    #[test]
    fn v1_upgrade_keeps_unknown_keys_after_the_standard_ones() {
        let text = format!(
            r#"{{"first": 1, "by_rs": {{"rs": {ENTRY}}}, "format_version": "1.0", "globus-sdk.version": "3.65.0", "last": [2]}}"#
        );
        let document = parse(&text, Format::V2).unwrap();
        let bytes = document.into_bytes(Format::V2).unwrap();
        let expected = format!(
            r#"{{"data": {{"DEFAULT": {{"rs": {ENTRY}}}}}, "format_version": "2.0", "globus-sdk.version": "{WRITER_VERSION}", "first": 1, "last": [2]}}"#
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn rewrite_in_place_keeps_key_positions() {
        let text = format!(
            r#"{{"globus-sdk.version": "x", "extra": {{"a": null}}, "format_version": "1.0", "by_rs": {{"rs": {ENTRY}}}}}"#
        );
        let mut document = parse(&text, Format::V1).unwrap();
        assert!(document.remove(DEFAULT_NAMESPACE, "rs"));
        let bytes = document.into_bytes(Format::V1).unwrap();
        let expected = format!(
            r#"{{"globus-sdk.version": "{WRITER_VERSION}", "extra": {{"a": null}}, "format_version": "1.0", "by_rs": {{}}}}"#
        );
        assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    }

    #[test]
    fn remove_keeps_order_and_empty_namespaces() {
        let entry = |rs: &str| ENTRY.replace("\"rs\"", &format!("\"{rs}\""));
        let entries = format!(
            r#"{{"a": {}, "b": {}, "c": {}}}"#,
            entry("a"),
            entry("b"),
            entry("c")
        );
        let mut document = parse(&v2(&format!(r#"{{"ns": {entries}}}"#)), Format::V2).unwrap();
        assert!(document.remove("ns", "a"));
        assert!(!document.remove("ns", "a"));
        assert!(!document.remove("other", "b"));
        let names: Vec<_> = document.tokens("ns").unwrap().keys().cloned().collect();
        assert_eq!(names, ["b", "c"]);
        assert!(document.remove("ns", "b") && document.remove("ns", "c"));
        assert!(document.tokens("ns").unwrap().is_empty());
        let bytes = document.into_bytes(Format::V2).unwrap();
        assert!(
            String::from_utf8(bytes)
                .unwrap()
                .starts_with(r#"{"data": {"ns": {}}, "#)
        );
    }

    #[test]
    fn unknown_entry_fields_survive_a_rewrite() {
        let entry = ENTRY.replace("\"scope\"", "\"custom\": {\"k\": [1]}, \"scope\"");
        let mut document = parse(
            &v2(&format!(r#"{{"DEFAULT": {{"rs": {entry}}}}}"#)),
            Format::V2,
        )
        .unwrap();
        let data = document.get(DEFAULT_NAMESPACE, "rs").unwrap().unwrap();
        assert_eq!(
            data.extra.get("custom"),
            Some(&serde_json::json!({"k": [1]}))
        );
        document.put(DEFAULT_NAMESPACE, "rs", &data, Format::V2);
        let text = String::from_utf8(document.into_bytes(Format::V2).unwrap()).unwrap();
        assert!(
            text.contains(r#""token_type": "Bearer", "custom": {"k": [1]}}"#),
            "{text}"
        );
    }

    #[test]
    fn namespaces_are_sorted_and_skip_empty_ones() {
        let data =
            format!(r#"{{"zeta": {{"rs": {ENTRY}}}, "empty": {{}}, "alpha": {{"rs": {ENTRY}}}}}"#);
        let text = v2(&data);
        assert_eq!(snapshot(&text, Format::V2).namespaces(), ["alpha", "zeta"]);
        assert_eq!(snapshot(&text, Format::V2).all("zeta").len(), 1);
        assert!(snapshot(&text, Format::V2).all("missing").is_empty());
        assert!(snapshot(&text, Format::V2).get("empty", "rs").is_none());
        assert!(
            parse(&text, Format::V2)
                .unwrap()
                .get("empty", "rs")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn entries_without_resource_server_take_the_key() {
        let entry = r#"{"scope": "s", "access_token": "AT", "expires_at_seconds": 1}"#;
        let document = parse(
            &v1(&format!(r#"{{"rs.example.org": {entry}}}"#)),
            Format::V1,
        )
        .unwrap();
        let data = document
            .get(DEFAULT_NAMESPACE, "rs.example.org")
            .unwrap()
            .unwrap();
        assert_eq!(data.resource_server, "rs.example.org");
        assert_eq!(data.refresh_token, None);
        let text = v1(&format!(r#"{{"rs.example.org": {entry}}}"#));
        let read = snapshot(&text, Format::V1).get(DEFAULT_NAMESPACE, "rs.example.org");
        assert_eq!(read, Some(data));
    }

    #[test]
    fn entries_stored_under_another_resource_server_are_corrupt() {
        let entry = ENTRY.replace("\"rs\"", "\"other.org\"");
        for (text, reader, key_path) in [
            (v1(&format!(r#"{{"rs": {entry}}}"#)), Format::V1, "by_rs.rs"),
            (v1(&format!(r#"{{"rs": {entry}}}"#)), Format::V2, "by_rs.rs"),
            (
                v2(&format!(r#"{{"DEFAULT": {{"rs": {entry}}}}}"#)),
                Format::V2,
                "data.DEFAULT.rs",
            ),
        ] {
            let err = parse(&text, reader).unwrap_err();
            assert!(
                matches!(err, Error::InvalidData { ref location, .. } if *location == format!("tokens.json: {key_path}")),
                "{err:?}"
            );
            assert!(err.to_string().contains("\"other.org\""), "{err}");
            assert!(!err.to_string().contains("AT-secret"));
        }
    }
}
