//! Reading one token entry from JSON text in a single pass, for stores that keep entries as
//! JSON (every file store, globus-sdk's SQLite tables): the common case of a well-formed
//! entry without building a `serde_json::Value` first.
//!
//! [`TokenEntry`] checks an entry exactly as [`TokenData::from_json_object`] does but keeps its
//! strings borrowed, so a store can check every entry of a document and convert only the one
//! asked for. Nothing here decides that an entry is bad: a `None` or a deserialization error
//! means "read it with [`TokenData::from_json_value`]", which gives the precise error (and the
//! same data whenever this path gives any).
//!
//! ```
//! use globus_tokens_core::raw::token_json;
//!
//! let text = br#"{"scope": "s", "access_token": "AT", "expires_at_seconds": 2000000000}"#;
//! let data = token_json::token_data(text, "transfer.api.globus.org").expect("a plain entry");
//! assert_eq!(data.resource_server, "transfer.api.globus.org");
//! assert_eq!(token_json::token_data(b"{\"scope\": null}", "rs"), None);
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::secret::Secret;
use crate::token::TokenData;

/// Nesting deeper than this inside a skipped value fails here: the full parse stops at
/// serde_json's limit of 128 levels, while skipping a value has no limit.
const MAX_DEPTH: u32 = 100;

/// Digits in a row beyond this in a skipped value fail here: a number too large for an `f64`
/// fails the full parse but is skipped here without being converted.
const MAX_DIGITS: u32 = 18;

/// The token data in `bytes` (one entry's JSON object), stored under `key`; `None` when the
/// caller must read it with [`TokenData::from_json_value`] (it may be malformed, or unusual).
pub fn token_data(bytes: &[u8], key: &str) -> Option<TokenData> {
    let text = std::str::from_utf8(bytes).ok()?;
    let entry: TokenEntry<'_> = serde_json::from_str(text).ok()?;
    if !entry.stored_under(key) {
        return None;
    }
    entry.into_token_data(key)
}

/// Whether a value skipped without conversion has none of what the full parse would refuse
/// in it and skipping does not check: deep nesting, numbers with exponents or many digits
/// (which may not fit an `f64`), and `\u` escapes of UTF-16 surrogates (which may be unpaired).
fn plain(bytes: &[u8]) -> bool {
    let mut depth = 0u32;
    let mut digits = 0u32;
    let mut in_string = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if in_string {
            match byte {
                b'\\' => {
                    if bytes.get(i + 1) == Some(&b'u')
                        && matches!(bytes.get(i + 2), Some(b'd' | b'D'))
                        && matches!(
                            bytes.get(i + 3),
                            Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
                        )
                    {
                        return false;
                    }
                    i += 2;
                    continue;
                }
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'0'..=b'9' => {
                    digits += 1;
                    if digits > MAX_DIGITS {
                        return false;
                    }
                    i += 1;
                    continue;
                }
                b'e' | b'E' if i > 0 && matches!(bytes[i - 1], b'0'..=b'9' | b'.') => {
                    return false;
                }
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return false;
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        digits = 0;
        i += 1;
    }
    true
}

/// Fail unless a value skipped without conversion (kept as a [`RawValue`]) has nothing the
/// full parse would refuse and skipping does not check.
pub fn skipped<E: de::Error>(raw: &RawValue) -> Result<&RawValue, E> {
    if plain(raw.get().as_bytes()) {
        Ok(raw)
    } else {
        Err(E::custom("a value to check with the full parse"))
    }
}

/// Fail if `slot` is already filled: the full parse keeps the last of repeated keys, so such
/// a file goes to it.
pub fn fill<T, E: de::Error>(slot: &mut Option<T>, value: T) -> Result<(), E> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(E::custom("repeated key")),
    }
}

/// One token entry (a JSON object), checked as [`TokenData::from_json_object`] checks it, its
/// strings borrowed from the text where they have no escapes and its other fields kept raw
/// until [`TokenEntry::into_token_data`]. Repeated keys fail, as do nested values the full
/// parse might refuse (see [`skipped`]).
pub struct TokenEntry<'a> {
    /// `Some(None)`: present and `null`.
    resource_server: Option<Option<Cow<'a, str>>>,
    scope: Option<Cow<'a, str>>,
    access_token: Option<Cow<'a, str>>,
    refresh_token: Option<Option<Cow<'a, str>>>,
    token_type: Option<Option<Cow<'a, str>>>,
    identity_id: Option<Option<Cow<'a, str>>>,
    expires_at_seconds: Option<i64>,
    extra: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl TokenEntry<'_> {
    /// The token data, built as [`TokenData::from_json_object`] builds it from the same object
    /// stored under `key`; `None` only if an extra field does not convert (read it with the full
    /// parse then).
    pub fn into_token_data(self, key: &str) -> Option<TokenData> {
        let resource_server = match self.resource_server.flatten() {
            Some(resource_server) => resource_server.into_owned(),
            None => key.to_owned(),
        };
        let mut data = TokenData::new(
            resource_server,
            self.scope?.into_owned(),
            Secret::new(self.access_token?.into_owned()),
            self.expires_at_seconds?,
        );
        data.refresh_token = self
            .refresh_token
            .flatten()
            .map(|token| Secret::new(token.into_owned()));
        data.token_type = self.token_type.flatten().map(Cow::into_owned);
        data.identity_id = self.identity_id.flatten().map(Cow::into_owned);
        for (name, raw) in self.extra {
            data.extra
                .insert(name.into_owned(), serde_json::from_str(raw.get()).ok()?);
        }
        Some(data)
    }
}

impl TokenEntry<'_> {
    /// Whether the entry may be stored under `key`: its `resource_server` is absent, `null` or
    /// `key` (the full read refuses an entry stored under another resource server's name).
    pub fn stored_under(&self, key: &str) -> bool {
        match &self.resource_server {
            Some(Some(resource_server)) => resource_server == key,
            _ => true,
        }
    }
}

impl<'de> Deserialize<'de> for TokenEntry<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = TokenEntry<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a token entry (a JSON object)")
            }

            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<TokenEntry<'de>, M::Error> {
                read_entry(map)
            }
        }

        deserializer.deserialize_map(EntryVisitor)
    }
}

fn read_entry<'de, M: MapAccess<'de>>(mut map: M) -> Result<TokenEntry<'de>, M::Error> {
    let mut entry = TokenEntry {
        resource_server: None,
        scope: None,
        access_token: None,
        refresh_token: None,
        token_type: None,
        identity_id: None,
        expires_at_seconds: None,
        extra: Vec::new(),
    };
    while let Some(key) = map.next_key::<Cow<'de, str>>()? {
        match &*key {
            "resource_server" => fill(&mut entry.resource_server, map.next_value()?)?,
            "scope" => fill(&mut entry.scope, map.next_value()?)?,
            "access_token" => fill(&mut entry.access_token, map.next_value()?)?,
            "refresh_token" => fill(&mut entry.refresh_token, map.next_value()?)?,
            "token_type" => fill(&mut entry.token_type, map.next_value()?)?,
            "identity_id" => fill(&mut entry.identity_id, map.next_value()?)?,
            "expires_at_seconds" => {
                let Seconds(seconds) = map.next_value()?;
                fill(&mut entry.expires_at_seconds, seconds)?;
            }
            _ => {
                if entry.extra.iter().any(|(seen, _)| *seen == key) {
                    return Err(de::Error::custom("repeated key"));
                }
                let raw = skipped::<M::Error>(map.next_value()?)?;
                entry.extra.push((key, raw));
            }
        }
    }
    if entry.scope.is_none() || entry.access_token.is_none() || entry.expires_at_seconds.is_none() {
        return Err(de::Error::custom("a required field is missing"));
    }
    Ok(entry)
}

/// A number the full parse reads as whole seconds, converted as it converts it: an `i64`, or
/// a finite float under 9e18 (truncated).
struct Seconds(i64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;

        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a number of seconds")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Seconds, E> {
                Ok(Seconds(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Seconds, E> {
                i64::try_from(value)
                    .map(Seconds)
                    .map_err(|_| E::custom("out of range"))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Seconds, E> {
                if value.is_finite() && value.abs() < 9.0e18 {
                    #[allow(clippy::cast_possible_truncation)] // as the full parse converts
                    Ok(Seconds(value as i64))
                } else {
                    Err(E::custom("out of range"))
                }
            }
        }

        deserializer.deserialize_any(SecondsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Whenever the one-pass read gives token data, the full read gives the same.
    fn agrees(text: &str, key: &str) -> bool {
        let fast = token_data(text.as_bytes(), key);
        let full = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|err| err.to_string())
            .and_then(|value| {
                TokenData::from_json_value(&value, key, "entry").map_err(|err| err.to_string())
            });
        match (fast, full) {
            (None, _) => false,
            (Some(fast), Ok(full)) => {
                assert_eq!(fast, full, "on {text}");
                true
            }
            (Some(_), Err(err)) => panic!("one-pass read accepted {text}; full read: {err}"),
        }
    }

    const ENTRY: &str = r#"{"scope": "s", "access_token": "AT", "refresh_token": null, "token_type": "Bearer", "expires_at_seconds": 2000000000, "resource_server": "rs"}"#;

    #[test]
    fn plain_entries_are_read_in_one_pass() {
        for text in [
            ENTRY.to_owned(),
            ENTRY.replace(r#", "resource_server": "rs""#, ""),
            ENTRY.replace(r#""resource_server": "rs""#, r#""resource_server": null"#),
            ENTRY.replace("2000000000", "2e9"),
            ENTRY.replace("2000000000", "1999999999.75"),
            ENTRY.replace(r#""AT""#, r#""A\u0054\n""#),
            ENTRY.replace(r#"null"#, r#""RT""#),
            ENTRY.replace(
                '}',
                r#", "identity_id": "id", "extra": [1, {"x": null}, "\u00e9"]}"#,
            ),
        ] {
            assert!(agrees(&text, "rs"), "declined {text}");
        }
    }

    #[test]
    fn anything_doubtful_is_left_to_the_full_read() {
        let deep = format!("{}1{}", "[".repeat(150), "]".repeat(150));
        for text in [
            String::new(),
            "[]".to_owned(),
            ENTRY.replace(
                r#""resource_server": "rs""#,
                r#""resource_server": "other""#,
            ),
            ENTRY.replace(r#""resource_server": "rs""#, r#""resource_server": 5"#),
            ENTRY.replace(r#""scope": "s", "#, ""),
            ENTRY.replace(r#""scope": "s""#, r#""scope": null"#),
            ENTRY.replace(r#""scope": "s""#, r#""scope": "s", "scope": "t""#),
            ENTRY.replace(r#""AT""#, r#"["AT"]"#),
            ENTRY.replace("null", "false"),
            ENTRY.replace("2000000000", r#""2000000000""#),
            ENTRY.replace("2000000000", "20000000000000000000"),
            ENTRY.replace("2000000000", "1e400"),
            ENTRY.replace('}', r#", "extra": 1e400}"#),
            ENTRY.replace('}', r#", "extra": 123456789012345678901234567890}"#),
            ENTRY.replace('}', r#", "extra": "\ud800"}"#),
            ENTRY.replace('}', r#", "extra": 1, "extra": 2}"#),
            ENTRY.replace('}', &format!(r#", "extra": {deep}}}"#)),
        ] {
            assert!(!agrees(&text, "rs"), "accepted {text}");
        }
        assert_eq!(token_data(b"{\"scope\": \"\xff\"}", "rs"), None);
    }

    fn field() -> impl Strategy<Value = (&'static str, String)> {
        let keys = vec![
            "scope",
            "access_token",
            "refresh_token",
            "token_type",
            "identity_id",
            "resource_server",
            "expires_at_seconds",
            "extra",
        ];
        let values = vec![
            "null",
            "true",
            "\"rs\"",
            "\"v\\n\"",
            "\"\\udc00\"",
            "1e999",
            "-0.5",
            "1.9e9",
            "99999999999999999999",
            "9223372036854775807",
            "[1, {\"a\": []}]",
            "{}",
        ];
        (prop::sample::select(keys), prop::sample::select(values))
            .prop_map(|(key, value)| (key, value.to_owned()))
    }

    proptest! {
        #[test]
        fn never_more_permissive_than_the_full_read(fields in prop::collection::vec(field(), 0..10)) {
            let members: Vec<String> =
                fields.iter().map(|(key, value)| format!("\"{key}\": {value}")).collect();
            let text = format!("{{{}}}", members.join(", "));
            agrees(&text, "rs");
            let base = format!(
                r#"{{"scope": "s", "access_token": "AT", "expires_at_seconds": 2000000000{}{}}}"#,
                if members.is_empty() { "" } else { ", " },
                members.join(", ")
            );
            agrees(&base, "rs");
        }
    }
}
