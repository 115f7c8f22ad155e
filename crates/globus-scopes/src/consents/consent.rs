//! [`Consent`]: one element of Globus Auth's consents response.

use std::fmt;

use serde_json::{Map, Value};

use super::error::{ConsentError, json_type};

/// A user's grant for a client to use a scope on their behalf: globus-sdk's `Consent`.
///
/// The grant holds only when the call reaches the client through the chain of consents in
/// `dependency_path` (root first, this consent's id last). Timestamps are kept as the strings
/// Globus Auth sent (globus-sdk parses them with `datetime.fromisoformat`; see the crate docs).
/// Consents hold ids and scope names, no secrets.
///
/// ```
/// use globus_scopes::consents::Consent;
///
/// let consent = Consent::from_json_value(&serde_json::json!({
///     "id": 142632, "client": "065db752-2f43-4fe1-a633-2ee68c9da889",
///     "scope": "89ecabba-4acf-4e2e-a98d-ce592ccc2818",
///     "scope_name": "urn:globus:auth:scope:transfer.api.globus.org:all",
///     "effective_identity": "8ca28797-3541-4a5d-a264-05b00f91e608",
///     "dependency_path": [142632],
///     "created": "2022-09-21T17:10:14.270581+00:00", "updated": "2022-09-21T17:10:14.270581+00:00",
///     "last_used": "2024-03-18T17:34:04.719126+00:00", "status": "approved",
///     "allows_refresh": true, "auto_approved": false, "atomically_revocable": false
/// }))?;
/// assert_eq!(
///     consent.to_string(),
///     "Consent [142632]: Client [065db752-2f43-4fe1-a633-2ee68c9da889] -> Scope [urn:globus:auth:scope:transfer.api.globus.org:all]"
/// );
/// # Ok::<(), globus_scopes::consents::ConsentError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub struct Consent {
    /// The consent id.
    pub id: i64,
    /// The client granted the consent.
    pub client: String,
    /// The scope's id.
    pub scope: String,
    /// The scope string.
    pub scope_name: String,
    /// The identity the consent was given by.
    pub effective_identity: String,
    /// Consent ids from the root consent to this one (this consent's id last).
    pub dependency_path: Vec<i64>,
    /// When the consent was created (ISO 8601, as sent).
    pub created: String,
    /// When the consent was last updated (ISO 8601, as sent).
    pub updated: String,
    /// When the consent was last used (ISO 8601, as sent).
    pub last_used: String,
    /// The consent's status, such as `approved`.
    pub status: String,
    /// Whether the consent allows refresh tokens.
    pub allows_refresh: bool,
    /// Whether the consent was approved without asking the user.
    pub auto_approved: bool,
    /// Whether the consent can be revoked on its own (an optional scope).
    pub atomically_revocable: bool,
}

impl Consent {
    /// Loads one consent object (globus-sdk's `Consent.load`). Fields beyond the thirteen are
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`ConsentError::ConsentNotAnObject`], [`ConsentError::MissingField`] (the first missing
    /// field in globus-sdk's lookup order) or [`ConsentError::WrongType`], each with
    /// `index: None`.
    pub fn from_json_value(value: &Value) -> Result<Self, ConsentError> {
        load(value, None)
    }
}

impl fmt::Display for Consent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Consent [{}]: Client [{}] -> Scope [{}]",
            self.id, self.client, self.scope_name
        )
    }
}

/// Reads fields in the order globus-sdk's `Consent.load` looks them up, so the first problem
/// reported is the one Python reports.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    index: Option<usize>,
}

impl<'a> Fields<'a> {
    fn get(&self, field: &'static str) -> Result<&'a Value, ConsentError> {
        self.map.get(field).ok_or(ConsentError::MissingField {
            index: self.index,
            field,
        })
    }

    fn wrong(&self, field: &'static str, expected: &'static str, found: &Value) -> ConsentError {
        ConsentError::WrongType {
            index: self.index,
            field,
            expected,
            found: json_type(found),
        }
    }

    fn string(&self, field: &'static str) -> Result<String, ConsentError> {
        let value = self.get(field)?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.wrong(field, "string", value))
    }

    fn integer(&self, field: &'static str) -> Result<i64, ConsentError> {
        let value = self.get(field)?;
        value
            .as_i64()
            .ok_or_else(|| self.wrong(field, "integer", value))
    }

    fn boolean(&self, field: &'static str) -> Result<bool, ConsentError> {
        let value = self.get(field)?;
        value
            .as_bool()
            .ok_or_else(|| self.wrong(field, "boolean", value))
    }

    fn integers(&self, field: &'static str) -> Result<Vec<i64>, ConsentError> {
        const EXPECTED: &str = "array of integers";
        let value = self.get(field)?;
        let items = value
            .as_array()
            .ok_or_else(|| self.wrong(field, EXPECTED, value))?;
        items
            .iter()
            .map(|item| {
                item.as_i64()
                    .ok_or_else(|| self.wrong(field, EXPECTED, item))
            })
            .collect()
    }
}

pub(crate) fn load(value: &Value, index: Option<usize>) -> Result<Consent, ConsentError> {
    let Value::Object(map) = value else {
        return Err(ConsentError::ConsentNotAnObject {
            index,
            found: json_type(value),
        });
    };
    let fields = Fields { map, index };
    Ok(Consent {
        id: fields.integer("id")?,
        client: fields.string("client")?,
        scope: fields.string("scope")?,
        effective_identity: fields.string("effective_identity")?,
        dependency_path: fields.integers("dependency_path")?,
        scope_name: fields.string("scope_name")?,
        created: fields.string("created")?,
        updated: fields.string("updated")?,
        last_used: fields.string("last_used")?,
        status: fields.string("status")?,
        allows_refresh: fields.boolean("allows_refresh")?,
        auto_approved: fields.boolean("auto_approved")?,
        atomically_revocable: fields.boolean("atomically_revocable")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full() -> Value {
        json!({
            "id": 7, "client": "c", "scope": "s", "scope_name": "n", "effective_identity": "e",
            "dependency_path": [3, 7], "created": "2022-09-21T17:10:14+00:00",
            "updated": "2022-09-21T17:10:14+00:00", "last_used": "2024-03-18T17:34:04+00:00",
            "status": "approved", "allows_refresh": true, "auto_approved": false,
            "atomically_revocable": true, "unknown": {"ignored": 1}
        })
    }

    #[test]
    fn loads_every_field() -> Result<(), ConsentError> {
        let c = Consent::from_json_value(&full())?;
        assert_eq!((c.id, c.dependency_path.as_slice()), (7, &[3, 7][..]));
        assert_eq!((c.client.as_str(), c.scope.as_str()), ("c", "s"));
        assert_eq!(
            (c.scope_name.as_str(), c.effective_identity.as_str()),
            ("n", "e")
        );
        assert_eq!(c.status, "approved");
        assert!(c.allows_refresh && !c.auto_approved && c.atomically_revocable);
        assert_eq!(c.last_used, "2024-03-18T17:34:04+00:00");
        Ok(())
    }

    #[test]
    fn first_missing_field_in_python_lookup_order() {
        let mut value = full();
        if let Some(map) = value.as_object_mut() {
            map.remove("scope_name");
            map.remove("status");
            map.remove("effective_identity");
        }
        assert_eq!(
            Consent::from_json_value(&value),
            Err(ConsentError::MissingField {
                index: None,
                field: "effective_identity"
            })
        );
    }

    #[test]
    fn wrong_types_name_the_field_not_the_value() {
        for (field, bad, expected, found) in [
            ("id", json!("7"), "integer", "string"),
            ("id", json!(7.5), "integer", "number"),
            ("client", json!(null), "string", "null"),
            (
                "dependency_path",
                json!([1, "2"]),
                "array of integers",
                "string",
            ),
            ("dependency_path", json!(1), "array of integers", "integer"),
            ("allows_refresh", json!("true"), "boolean", "string"),
        ] {
            let mut value = full();
            if let Some(map) = value.as_object_mut() {
                map.insert(field.to_owned(), bad);
            }
            let err = Consent::from_json_value(&value);
            assert_eq!(
                err,
                Err(ConsentError::WrongType {
                    index: None,
                    field,
                    expected,
                    found
                })
            );
        }
        assert_eq!(
            Consent::from_json_value(&json!([1])),
            Err(ConsentError::ConsentNotAnObject {
                index: None,
                found: "array"
            })
        );
    }
}
