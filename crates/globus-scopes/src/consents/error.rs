//! [`ConsentError`]: globus-sdk's `ConsentParseError` and `ConsentTreeConstructionError` in
//! one enum, with the malformed field and the consent's place in the body.

/// Where a consent sits in the body, for messages.
fn place(index: &Option<usize>) -> String {
    match index {
        Some(i) => format!(" (consents[{i}])"),
        None => String::new(),
    }
}

/// A consents body that cannot become a [`ConsentForest`](super::ConsentForest).
///
/// Every variant is permanent: the same body fails the same way. All but
/// [`MissingParent`](Self::MissingParent) are what globus-sdk raises as `ConsentParseError`
/// (or fails on with a `KeyError`/`TypeError`); `MissingParent` is its
/// `ConsentTreeConstructionError`. `index` is the consent's position in the `consents` array
/// (`None` when one consent was loaded on its own).
///
/// ```
/// use globus_scopes::consents::{ConsentError, ConsentForest};
///
/// let err = ConsentForest::from_response_json(br#"{"consents": [{"id": 1}]}"#).unwrap_err();
/// assert_eq!(err, ConsentError::MissingField { index: Some(0), field: "client" });
/// assert_eq!(
///     err.to_string(),
///     "Failed to load Consent object. Missing required key: 'client'. (consents[0])"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentError {
    /// The body is not JSON.
    #[error("the consents response is not valid JSON: {message}")]
    InvalidJson {
        /// serde_json's description, with line and column.
        message: String,
    },
    /// The body is neither an object with `consents` nor an array of consents.
    #[error("the consents response is a JSON {found}, expected an object with \"consents\"")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// The body is an object without `consents`.
    #[error("the consents response has no \"consents\" field")]
    MissingConsents,
    /// `consents` is not an array.
    #[error("\"consents\" is a JSON {found}, expected an array")]
    ConsentsNotAnArray {
        /// The JSON type found.
        found: &'static str,
    },
    /// A consent is not a JSON object.
    #[error("a consent is a JSON {found}, expected an object{}", place(.index))]
    ConsentNotAnObject {
        /// Its index in `consents`.
        index: Option<usize>,
        /// The JSON type found.
        found: &'static str,
    },
    /// A consent lacks a field (globus-sdk's message, then where).
    #[error("Failed to load Consent object. Missing required key: '{field}'.{}", place(.index))]
    MissingField {
        /// Its index in `consents`.
        index: Option<usize>,
        /// The missing field.
        field: &'static str,
    },
    /// A consent's field has the wrong JSON type.
    #[error("consent field \"{field}\" is a JSON {found}, expected {expected}{}", place(.index))]
    WrongType {
        /// Its index in `consents`.
        index: Option<usize>,
        /// The field.
        field: &'static str,
        /// What was expected ("string", "integer", "boolean", "array of integers").
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A consent's `dependency_path` names a parent that is not in the body (globus-sdk's
    /// `ConsentTreeConstructionError`).
    #[error(
        "Failed to compute forest edges. Missing parent node: {parent_id}. (needed by consent {consent_id})"
    )]
    MissingParent {
        /// The consent whose parent is missing.
        consent_id: i64,
        /// The parent id (the second-to-last element of its `dependency_path`).
        parent_id: i64,
    },
}

impl ConsentError {
    /// `true` for [`MissingParent`](Self::MissingParent), globus-sdk's
    /// `ConsentTreeConstructionError`; the rest are malformed bodies (`ConsentParseError`).
    pub fn is_tree_construction_error(&self) -> bool {
        matches!(self, Self::MissingParent { .. })
    }
}

/// The JSON type of a value, for messages (never the value itself).
pub(crate) fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}
