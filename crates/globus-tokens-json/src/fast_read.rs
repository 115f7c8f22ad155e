//! The read path for the common case, a well-formed token file: one pass over the text that
//! checks every entry as the full parse does, without building a `serde_json::Value` tree or a
//! `TokenData` for each, then converts only the entry asked for.
//!
//! Building the whole tree cost two thirds of a `get_token_data`, and the read runs once per
//! HTTP call. This path never decides that a file is bad: whenever it cannot vouch that the
//! full parse ([`Snapshot::parse`](crate::document::Snapshot::parse)) would accept the file, it
//! answers `None` and the caller takes the full parse, which reports the exact error. So it
//! only has to be no more permissive than the full parse, never as precise; the tests check
//! that on every case the full parse's tests use and on generated files.

use std::borrow::Cow;
use std::fmt;

use globus_tokens_core::raw::token_json::{TokenEntry, fill, skipped};
use globus_tokens_core::{DEFAULT_NAMESPACE, TokenData};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::document::Format;

/// The entry for `resource_server` in `namespace` of a file a `reader` handle reads, or `None`
/// when the caller must take the full parse (the file may be malformed, or just unusual).
pub(crate) fn get(
    bytes: &[u8],
    reader: Format,
    namespace: &str,
    resource_server: &str,
) -> Option<Option<TokenData>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let root: Root<'_> = serde_json::from_str(text).ok()?;
    let format = Format::from_version(root.format_version.as_deref()?)
        .filter(|format| reader.readable().contains(&format.version()))?;
    let entries = match format {
        Format::V1 => {
            let entries = root.by_rs?;
            if namespace != DEFAULT_NAMESPACE {
                return Some(None);
            }
            entries
        }
        Format::V2 => match root.data?.0.into_iter().find(|(name, _)| name == namespace) {
            Some((_, entries)) => entries,
            None => return Some(None),
        },
    };
    match entries
        .0
        .into_iter()
        .find(|(key, _)| key == resource_server)
    {
        None => Some(None),
        Some((_, entry)) => entry.into_token_data(resource_server).map(Some),
    }
}

/// The top level of a token file. Both containers are checked whatever the format, so a file
/// with the other format's container as an extra key goes to the full parse if it is not valid.
#[derive(Default)]
struct Root<'a> {
    format_version: Option<Cow<'a, str>>,
    by_rs: Option<Namespace<'a>>,
    data: Option<Namespaces<'a>>,
}

/// A namespace: entries by resource server, in file order.
struct Namespace<'a>(Vec<(Cow<'a, str>, TokenEntry<'a>)>);

/// A 2.0 file's `data`: namespaces by name, in file order.
struct Namespaces<'a>(Vec<(Cow<'a, str>, Namespace<'a>)>);

/// A JSON object's members in file order; repeated keys fail.
fn members<'de, M, V>(mut map: M) -> Result<Vec<(Cow<'de, str>, V)>, M::Error>
where
    M: MapAccess<'de>,
    V: Deserialize<'de>,
{
    let mut members: Vec<(Cow<'de, str>, V)> = Vec::new();
    while let Some(key) = map.next_key::<Cow<'de, str>>()? {
        if members.iter().any(|(seen, _)| *seen == key) {
            return Err(de::Error::custom("repeated key"));
        }
        let value = map.next_value()?;
        members.push((key, value));
    }
    Ok(members)
}

/// `impl Deserialize` for a type read from a JSON object by `$visit(map)`.
macro_rules! from_object {
    ($type:ident, $visit:expr) => {
        impl<'de> Deserialize<'de> for $type<'de> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $type<'de>;

                    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                        formatter.write_str("a JSON object")
                    }

                    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<$type<'de>, M::Error> {
                        $visit(map)
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

from_object!(Namespace, read_namespace);
from_object!(Namespaces, read_namespaces);
from_object!(Root, read_root);

fn read_namespace<'de, M: MapAccess<'de>>(map: M) -> Result<Namespace<'de>, M::Error> {
    Namespace(members(map)?).check_keys()
}

fn read_namespaces<'de, M: MapAccess<'de>>(map: M) -> Result<Namespaces<'de>, M::Error> {
    members(map).map(Namespaces)
}

fn read_root<'de, M: MapAccess<'de>>(mut map: M) -> Result<Root<'de>, M::Error> {
    let mut root = Root::default();
    let mut sdk_version: Option<Cow<'de, str>> = None;
    let mut others: Vec<Cow<'de, str>> = Vec::new();
    while let Some(key) = map.next_key::<Cow<'de, str>>()? {
        match &*key {
            "format_version" => fill(&mut root.format_version, map.next_value()?)?,
            // Present means a string (a `null` fails here and goes to the full parse).
            "globus-sdk.version" => fill(&mut sdk_version, map.next_value()?)?,
            "by_rs" => fill(&mut root.by_rs, map.next_value()?)?,
            "data" => fill(&mut root.data, map.next_value()?)?,
            _ => {
                if others.contains(&key) {
                    return Err(de::Error::custom("repeated key"));
                }
                skipped::<M::Error>(map.next_value()?)?;
                others.push(key);
            }
        }
    }
    Ok(root)
}

impl<'de> Namespace<'de> {
    /// Fail unless every entry is stored under its own resource server.
    fn check_keys<E: de::Error>(self) -> Result<Self, E> {
        let mismatch = self.0.iter().any(|(key, entry)| !entry.stored_under(key));
        if mismatch {
            Err(E::custom("an entry stored under another resource server"))
        } else {
            Ok(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::document::Snapshot;

    /// The fast path agrees with the full parse: whenever it answers, the full parse accepts
    /// the file and finds the same entry.
    fn agrees(text: &str, reader: Format, namespace: &str, resource_server: &str) -> bool {
        let fast = get(text.as_bytes(), reader, namespace, resource_server);
        let full = Snapshot::parse(Path::new("tokens.json"), text.as_bytes(), reader)
            .map(|snapshot| snapshot.get(namespace, resource_server));
        match (fast, full) {
            (None, _) => false,
            (Some(fast), Ok(full)) => {
                assert_eq!(fast, full, "different entries for {text}");
                true
            }
            (Some(fast), Err(err)) => {
                panic!("fast path accepted {text} (found {fast:?}); full parse: {err}")
            }
        }
    }

    const ENTRY: &str = r#"{"scope": "s", "access_token": "AT", "refresh_token": null, "token_type": "Bearer", "expires_at_seconds": 2000000000, "resource_server": "rs"}"#;

    fn v1(entries: &str) -> String {
        format!(
            r#"{{"by_rs": {entries}, "format_version": "1.0", "globus-sdk.version": "3.65.0"}}"#
        )
    }

    fn v2(data: &str) -> String {
        format!(r#"{{"data": {data}, "format_version": "2.0", "globus-sdk.version": "3.65.0"}}"#)
    }

    #[test]
    fn well_formed_files_take_the_fast_path() {
        let one = v1(&format!(
            r#"{{"rs": {ENTRY}, "other": {}}}"#,
            ENTRY.replace("\"rs\"", "\"other\"")
        ));
        assert!(agrees(&one, Format::V1, "DEFAULT", "rs"));
        assert!(agrees(&one, Format::V1, "DEFAULT", "missing"));
        assert!(
            agrees(&one, Format::V2, "DEFAULT", "rs"),
            "a 2.0 handle reads 1.0 files"
        );
        assert!(agrees(&one, Format::V1, "elsewhere", "rs"));
        let two = v2(&format!(
            r#"{{"DEFAULT": {{}}, "user": {{"rs": {ENTRY}}}}}"#
        ));
        assert!(agrees(&two, Format::V2, "user", "rs"));
        assert!(agrees(&two, Format::V2, "DEFAULT", "rs"));
        let extras = v1(&format!(
            r#"{{"rs": {}}}"#,
            ENTRY.replace(
                '}',
                r#", "extra": [1, {"x": null}, "\u00e9\n"], "n": -1.5}"#
            )
        ));
        assert!(agrees(&extras, Format::V1, "DEFAULT", "rs"));
        let float_expiry = v1(&format!(
            r#"{{"rs": {}}}"#,
            ENTRY.replace("2000000000", "2000000000.5")
        ));
        assert!(agrees(&float_expiry, Format::V1, "DEFAULT", "rs"));
        let exponent_expiry = v1(&format!(
            r#"{{"rs": {}}}"#,
            ENTRY.replace("2000000000", "2e9")
        ));
        assert!(agrees(&exponent_expiry, Format::V1, "DEFAULT", "rs"));
        let escaped = v1(&format!(
            r#"{{"r\u0073": {}}}"#,
            ENTRY.replace(r#""AT""#, r#""A\u0054""#)
        ));
        assert!(agrees(&escaped, Format::V1, "DEFAULT", "rs"));
    }

    #[test]
    fn anything_doubtful_goes_to_the_full_parse() {
        let entry = |from: &str, to: &str| v1(&format!(r#"{{"rs": {}}}"#, ENTRY.replace(from, to)));
        let deep = format!("{}1{}", "[".repeat(150), "]".repeat(150));
        for text in [
            String::new(),
            "  ".to_owned(),
            "[]".to_owned(),
            v1(&format!(r#"{{"rs": {ENTRY}"#)),
            v1("[]"),
            v1("null"),
            v1(r#"{"rs": 1}"#),
            v2(&format!(r#"{{"user": {{"rs": {ENTRY}}}}}"#)).replace("2.0", "3.0"),
            r#"{"by_rs": {}}"#.to_owned(),
            r#"{"by_rs": {}, "format_version": "1.0", "globus-sdk.version": null}"#.to_owned(),
            r#"{"by_rs": {}, "format_version": "1.0", "format_version": "1.0"}"#.to_owned(),
            v1(&format!(r#"{{"rs": {ENTRY}, "rs": {ENTRY}}}"#)),
            v2(&format!(r#"{{"user": {{"rs": {ENTRY}}}, "user": {{}}}}"#)),
            v2(r#"{"user": []}"#),
            entry(
                "\"resource_server\": \"rs\"",
                "\"resource_server\": \"other\"",
            ),
            entry("\"resource_server\": \"rs\"", "\"resource_server\": 5"),
            entry("\"scope\": \"s\"", "\"scope\": null"),
            entry("\"scope\": \"s\", ", ""),
            entry("\"access_token\": \"AT\"", "\"access_token\": [\"AT\"]"),
            entry("\"refresh_token\": null", "\"refresh_token\": false"),
            entry("\"token_type\": \"Bearer\"", "\"token_type\": 1"),
            entry("\"refresh_token\": null", "\"identity_id\": {}"),
            entry("2000000000", "\"2000000000\""),
            entry("2000000000", "20000000000000000000"),
            entry("2000000000", "null"),
            entry("\"scope\": \"s\"", "\"scope\": \"s\", \"scope\": \"t\""),
            entry("\"token_type\"", "\"extra\": 1e400, \"token_type\""),
            entry(
                "\"token_type\"",
                "\"extra\": 123456789012345678901234567890, \"token_type\"",
            ),
            entry("\"token_type\"", "\"extra\": \"\\ud800\", \"token_type\""),
            entry(
                "\"token_type\"",
                &format!("\"extra\": {deep}, \"token_type\""),
            ),
        ] {
            for reader in [Format::V1, Format::V2] {
                for namespace in ["DEFAULT", "user"] {
                    assert!(
                        !agrees(&text, reader, namespace, "rs"),
                        "fast path answered for {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn invalid_utf8_goes_to_the_full_parse() {
        let mut bytes = v1(&format!(
            r#"{{"rs": {}}}"#,
            ENTRY.replace("\"s\"", "\"s\u{e9}\"")
        ))
        .into_bytes();
        let at = bytes.iter().position(|&b| b == 0xc3).unwrap_or_default();
        bytes[at] = 0xff;
        assert_eq!(get(&bytes, Format::V1, "DEFAULT", "rs"), None);
    }

    /// JSON text built from pieces a token file holds, broken in the ways files break.
    fn json_piece() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("\"s\"".to_owned()),
            Just("\"AT\"".to_owned()),
            Just("\"rs\"".to_owned()),
            Just("\"\\ud83d\\ude00\"".to_owned()),
            Just("\"\\udc00\"".to_owned()),
            Just("1e999".to_owned()),
            Just("-0.5".to_owned()),
            Just("99999999999999999999".to_owned()),
            Just("9223372036854775807".to_owned()),
            Just("2000000000".to_owned()),
            Just("{}".to_owned()),
            Just("[]".to_owned()),
        ];
        leaf.prop_recursive(4, 24, 6, |inner| {
            let key = prop_oneof![
                Just("scope"),
                Just("access_token"),
                Just("refresh_token"),
                Just("token_type"),
                Just("identity_id"),
                Just("resource_server"),
                Just("expires_at_seconds"),
                Just("extra"),
                Just("rs"),
                Just("user"),
            ];
            prop_oneof![
                prop::collection::vec((key, inner.clone()), 0..8).prop_map(|members| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(key, value)| format!("\"{key}\": {value}"))
                        .collect();
                    format!("{{{}}}", members.join(", "))
                }),
                prop::collection::vec(inner, 0..3)
                    .prop_map(|items| format!("[{}]", items.join(", "))),
            ]
        })
    }

    /// A field of an entry: usually well typed (so that many generated files are valid),
    /// sometimes anything.
    fn entry_field() -> impl Strategy<Value = (&'static str, String)> {
        let keys = vec![
            "scope",
            "access_token",
            "refresh_token",
            "token_type",
            "identity_id",
            "resource_server",
            "expires_at_seconds",
            "extra",
            "other",
        ];
        (
            prop::sample::select(keys),
            prop::bool::weighted(0.8),
            json_piece(),
        )
            .prop_map(|(key, well_typed, anything)| {
                let value = match (well_typed, key) {
                    (false, _) | (true, "extra" | "other") => anything,
                    (true, "expires_at_seconds") => "1.9e9".to_owned(),
                    (true, "resource_server") => "\"rs\"".to_owned(),
                    (true, "refresh_token" | "identity_id") => "null".to_owned(),
                    (true, _) => "\"v\\n\"".to_owned(),
                };
                (key, value)
            })
    }

    proptest! {
        #[test]
        fn never_more_permissive_than_the_full_parse(
            container in json_piece(),
            entry_fields in prop::collection::vec(
                entry_field(),
                0..6,
            ),
            version in prop::sample::select(vec!["\"1.0\"", "\"2.0\"", "null", "1"]),
            wrap in 0..3u8,
        ) {
            let fields: Vec<String> = entry_fields
                .iter()
                .map(|(key, value)| format!("\"{key}\": {value}"))
                .collect();
            let entry = format!(
                r#"{{"scope": "s", "access_token": "AT", "expires_at_seconds": 2000000000, {}}}"#,
                fields.join(", ")
            ).replace(", }", "}");
            let text = match wrap {
                0 => format!(r#"{{"by_rs": {{"rs": {entry}}}, "format_version": {version}}}"#),
                1 => format!(r#"{{"data": {{"user": {{"rs": {entry}}}}}, "format_version": {version}}}"#),
                _ => format!(r#"{{"by_rs": {container}, "data": {container}, "format_version": {version}}}"#),
            };
            for reader in [Format::V1, Format::V2] {
                for namespace in ["DEFAULT", "user"] {
                    agrees(&text, reader, namespace, "rs");
                }
            }
        }
    }
}
