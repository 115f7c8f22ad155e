//! Item layouts and the conversion between [`TokenData`] and DynamoDB items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use globus_tokens_core::{Error, Result, Secret, TokenData};
use serde_json::{Map, Number, Value};

/// A DynamoDB item: attribute name to value.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Hash key of the seed layout.
pub(crate) const TOKEN_DATA_ID: &str = "token_data_id";
/// Partition key of the composite layout.
pub(crate) const NAMESPACE: &str = "namespace";
/// Sort key of the composite layout, and an attribute of every item.
pub(crate) const RESOURCE_SERVER: &str = "resource_server";
pub(crate) const ACCESS_TOKEN: &str = "access_token";
pub(crate) const REFRESH_TOKEN: &str = "refresh_token";
pub(crate) const EXPIRES_AT_SECONDS: &str = "expires_at_seconds";
pub(crate) const SCOPE: &str = "scope";
pub(crate) const TOKEN_TYPE: &str = "token_type";
pub(crate) const IDENTITY_ID: &str = "identity_id";
/// Fields of [`TokenData::extra`], as one JSON object in a string attribute.
pub(crate) const EXTRA_JSON: &str = "extra_json";

const KNOWN: [&str; 10] = [
    TOKEN_DATA_ID,
    NAMESPACE,
    RESOURCE_SERVER,
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    EXPIRES_AT_SECONDS,
    SCOPE,
    TOKEN_TYPE,
    IDENTITY_ID,
    EXTRA_JSON,
];

/// How items are keyed in the table.
///
/// Both layouts store the same token attributes (see the crate documentation); they differ in
/// the key, and so in what the table can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ItemLayout {
    /// The seed example's layout: one string hash key `token_data_id` holding
    /// `"{namespace}:{resource_server}"`. Compatible with tables the Python example created,
    /// but it cannot list a namespace without scanning the whole table, so listing is
    /// [`globus_tokens_core::Error::Unsupported`] and `as_enumerable()` is `None`.
    #[default]
    Seed,
    /// Partition key `namespace` (string), sort key `resource_server` (string): supports
    /// listing a namespace (`Query`), listing namespaces and removing a namespace.
    Composite,
}

impl ItemLayout {
    /// The key attributes of an entry.
    pub(crate) fn key(self, namespace: &str, resource_server: &str) -> Item {
        let mut key = Item::new();
        match self {
            ItemLayout::Seed => {
                key.insert(
                    TOKEN_DATA_ID.to_owned(),
                    AttributeValue::S(format!("{namespace}:{resource_server}")),
                );
            }
            ItemLayout::Composite => {
                key.insert(
                    NAMESPACE.to_owned(),
                    AttributeValue::S(namespace.to_owned()),
                );
                key.insert(
                    RESOURCE_SERVER.to_owned(),
                    AttributeValue::S(resource_server.to_owned()),
                );
            }
        }
        key
    }

    /// `(attribute, "HASH" | "RANGE")` pairs of the key schema this layout needs.
    pub(crate) fn key_schema(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ItemLayout::Seed => &[(TOKEN_DATA_ID, "HASH")],
            ItemLayout::Composite => &[(NAMESPACE, "HASH"), (RESOURCE_SERVER, "RANGE")],
        }
    }

    /// A printable key, for error locations (`"{namespace}:{resource_server}"` in both layouts).
    pub(crate) fn describe_key(self, namespace: &str, resource_server: &str) -> String {
        match self {
            ItemLayout::Seed => format!("{TOKEN_DATA_ID}={namespace}:{resource_server}"),
            ItemLayout::Composite => {
                format!("{NAMESPACE}={namespace}, {RESOURCE_SERVER}={resource_server}")
            }
        }
    }
}

/// The item for one entry: key attributes plus the token attributes.
pub(crate) fn to_item(layout: ItemLayout, namespace: &str, data: &TokenData) -> Item {
    let mut item = layout.key(namespace, &data.resource_server);
    let s = |v: &str| AttributeValue::S(v.to_owned());
    item.insert(RESOURCE_SERVER.to_owned(), s(&data.resource_server));
    item.insert(ACCESS_TOKEN.to_owned(), s(data.access_token.expose()));
    if let Some(refresh_token) = &data.refresh_token {
        item.insert(REFRESH_TOKEN.to_owned(), s(refresh_token.expose()));
    }
    item.insert(
        EXPIRES_AT_SECONDS.to_owned(),
        AttributeValue::N(data.expires_at_seconds.to_string()),
    );
    item.insert(SCOPE.to_owned(), s(&data.scope));
    if let Some(token_type) = &data.token_type {
        item.insert(TOKEN_TYPE.to_owned(), s(token_type));
    }
    if let Some(identity_id) = &data.identity_id {
        item.insert(IDENTITY_ID.to_owned(), s(identity_id));
    }
    if !data.extra.is_empty() {
        item.insert(
            EXTRA_JSON.to_owned(),
            AttributeValue::S(Value::Object(data.extra.clone()).to_string()),
        );
    }
    item
}

fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "a string (S)",
        AttributeValue::N(_) => "a number (N)",
        AttributeValue::B(_) => "binary (B)",
        AttributeValue::Bool(_) => "a boolean (BOOL)",
        AttributeValue::Null(_) => "null (NULL)",
        AttributeValue::L(_) => "a list (L)",
        AttributeValue::M(_) => "a map (M)",
        AttributeValue::Ss(_) => "a string set (SS)",
        AttributeValue::Ns(_) => "a number set (NS)",
        AttributeValue::Bs(_) => "a binary set (BS)",
        _ => "an unknown type",
    }
}

fn wrong_type(location: &str, name: &str, want: &str, found: &AttributeValue) -> Error {
    Error::invalid_data(
        location,
        format!(
            "attribute {name} must be {want}, found {}",
            type_name(found)
        ),
    )
}

fn optional_string(item: &Item, name: &str, location: &str) -> Result<Option<String>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
        Some(other) => Err(wrong_type(location, name, "a string (S)", other)),
    }
}

fn required_string(item: &Item, name: &str, location: &str) -> Result<String> {
    optional_string(item, name, location)?.ok_or_else(|| {
        Error::invalid_data(location, format!("required attribute {name} is missing"))
    })
}

fn parse_seconds(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().or_else(|| {
        let float = text.parse::<f64>().ok()?;
        // Integral floats (a Python writer's 1.7e9) are accepted; fractions are not.
        (float.fract() == 0.0 && float.abs() < 9.2e18).then_some(float as i64)
    })
}

/// A foreign attribute (written by another tool) as JSON, when it has a JSON equivalent.
fn to_json(value: &AttributeValue) -> Option<Value> {
    Some(match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => {
            if let Ok(i) = n.parse::<i64>() {
                Value::Number(i.into())
            } else {
                Value::Number(Number::from_f64(n.parse::<f64>().ok()?)?)
            }
        }
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(list) => Value::Array(list.iter().filter_map(to_json).collect()),
        AttributeValue::M(map) => {
            let mut object: Vec<(&String, Value)> = map
                .iter()
                .filter_map(|(k, v)| Some((k, to_json(v)?)))
                .collect();
            object.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(object.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        AttributeValue::Ss(set) => Value::Array(set.iter().cloned().map(Value::String).collect()),
        _ => return None,
    })
}

/// Read an entry from an item. `resource_server` is the one that was asked for (used when the
/// item lacks the attribute); `location` names the table and key in errors. Errors name the
/// attribute and its type, never its value.
pub(crate) fn from_item(item: &Item, resource_server: &str, location: &str) -> Result<TokenData> {
    let resource_server = optional_string(item, RESOURCE_SERVER, location)?
        .unwrap_or_else(|| resource_server.to_owned());
    let access_token = Secret::new(required_string(item, ACCESS_TOKEN, location)?);
    let refresh_token = optional_string(item, REFRESH_TOKEN, location)?.map(Secret::new);
    let scope = required_string(item, SCOPE, location)?;
    let expires_at_seconds = match item.get(EXPIRES_AT_SECONDS) {
        None => {
            return Err(Error::invalid_data(
                location,
                format!("required attribute {EXPIRES_AT_SECONDS} is missing"),
            ));
        }
        Some(AttributeValue::N(text)) => parse_seconds(text).ok_or_else(|| {
            Error::invalid_data(
                location,
                format!("attribute {EXPIRES_AT_SECONDS} is not an integer number of seconds"),
            )
        })?,
        Some(other) => {
            return Err(wrong_type(
                location,
                EXPIRES_AT_SECONDS,
                "a number (N)",
                other,
            ));
        }
    };
    let token_type = optional_string(item, TOKEN_TYPE, location)?;
    let identity_id = optional_string(item, IDENTITY_ID, location)?;
    let mut extra = match optional_string(item, EXTRA_JSON, location)? {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(Error::invalid_data(
                    location,
                    format!("attribute {EXTRA_JSON} is not a JSON object"),
                ));
            }
        },
    };
    let mut foreign: Vec<_> = item
        .iter()
        .filter(|(name, _)| !KNOWN.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.clone(), to_json(value)?)))
        .collect();
    foreign.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in foreign {
        extra.entry(name).or_insert(value);
    }
    let mut data = TokenData::new(resource_server, scope, access_token, expires_at_seconds);
    data.refresh_token = refresh_token;
    data.token_type = token_type;
    data.identity_id = identity_id;
    data.extra = extra;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_item_has_the_seed_attributes() {
        let data = TokenData::new("groups.api.globus.org", "s", "AT", 42);
        let item = to_item(ItemLayout::Seed, "DEFAULT", &data);
        assert_eq!(
            item[TOKEN_DATA_ID],
            AttributeValue::S("DEFAULT:groups.api.globus.org".into())
        );
        assert_eq!(item[EXPIRES_AT_SECONDS], AttributeValue::N("42".into()));
        assert!(!item.contains_key(REFRESH_TOKEN));
        assert!(!item.contains_key(EXTRA_JSON));
        assert_eq!(from_item(&item, "x", "loc").unwrap(), data);
    }

    #[test]
    fn extra_and_foreign_attributes_round_trip() {
        let mut data = TokenData::new("rs", "s", "AT", 1)
            .with_refresh_token("RT")
            .with_identity_id("id");
        data.extra.insert("custom".into(), json!({"a": [1, null]}));
        let mut item = to_item(ItemLayout::Composite, "ns", &data);
        assert_eq!(from_item(&item, "rs", "loc").unwrap(), data);
        item.insert("ttl".into(), AttributeValue::N("7".into()));
        let read = from_item(&item, "rs", "loc").unwrap();
        assert_eq!(read.extra["ttl"], json!(7));
    }

    #[test]
    fn malformed_items_name_the_attribute_not_the_value() {
        let data = TokenData::new("rs", "s", "AT-secret", 1);
        let mut item = to_item(ItemLayout::Seed, "ns", &data);
        item.insert(EXPIRES_AT_SECONDS.into(), AttributeValue::S("soon".into()));
        let err = from_item(&item, "rs", "loc").unwrap_err().to_string();
        assert!(err.contains(EXPIRES_AT_SECONDS), "{err}");
        assert!(!err.contains("soon") && !err.contains("AT-secret"), "{err}");
        item.remove(ACCESS_TOKEN);
        let err = from_item(&item, "rs", "loc").unwrap_err().to_string();
        assert!(err.contains("access_token is missing"), "{err}");
    }

    #[test]
    fn integral_float_seconds_are_accepted() {
        assert_eq!(parse_seconds("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_seconds("1.7e9"), Some(1_700_000_000));
        assert_eq!(parse_seconds("1.5"), None);
        assert_eq!(parse_seconds("x"), None);
    }
}
