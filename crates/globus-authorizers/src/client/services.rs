//! What a service asks Globus Auth about the tokens it receives: introspection and userinfo,
//! as typed results read from the JSON answers (the dependent-token grant answers with tokens,
//! a [`TokenResponse`](globus_tokens_core::TokenResponse)).

use serde_json::{Map, Value};

use crate::error::{AuthError, Result};

/// Globus Auth's answer to a token introspection (`POST v2/oauth2/token/introspect`).
///
/// An expired, revoked or unknown token is not an error: its introspection is
/// `active == false` and the other fields are empty. Fields Globus Auth adds are kept in
/// `extra`. Holds no token.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TokenIntrospection {
    /// Whether the token is valid now.
    pub active: bool,
    /// Its scopes, space-separated.
    pub scope: Option<String>,
    /// The client it was issued to.
    pub client_id: Option<String>,
    /// The identity it acts for (`sub`).
    pub sub: Option<String>,
    /// That identity's username.
    pub username: Option<String>,
    /// That identity's display name.
    pub name: Option<String>,
    /// That identity's email address.
    pub email: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: Option<i64>,
    /// Issue time, seconds since the Unix epoch.
    pub iat: Option<i64>,
    /// Not valid before, seconds since the Unix epoch.
    pub nbf: Option<i64>,
    /// The audiences (resource servers and clients) it is meant for.
    pub aud: Vec<String>,
    /// The issuer.
    pub iss: Option<String>,
    /// With `include=identity_set`: the identities linked to `sub`.
    pub identity_set: Option<Vec<String>>,
    /// With `include=session_info`: the authentication session, as Globus Auth sent it.
    pub session_info: Option<Value>,
    /// Other fields.
    pub extra: Map<String, Value>,
}

/// Globus Auth's OpenID Connect userinfo (`GET v2/oauth2/userinfo`) for the identity an
/// `auth.globus.org` access token acts for. Which claims appear depends on the token's scopes
/// (`openid`, `profile`, `email`); others Globus Auth adds are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct UserInfo {
    /// The identity id.
    pub sub: String,
    /// The username, e.g. `user@example.org`.
    pub preferred_username: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// The identity provider's id.
    pub identity_provider: Option<String>,
    /// The identity provider's name.
    pub identity_provider_display_name: Option<String>,
    /// The organization.
    pub organization: Option<String>,
    /// The linked identities (objects with `sub`, `name`, `username`, ...), when present.
    pub identity_set: Option<Vec<Value>>,
    /// Other claims.
    pub extra: Map<String, Value>,
}

/// Read an introspection answer; `endpoint` and `status` name it in errors.
pub(crate) fn introspection_from(
    value: Value,
    endpoint: &str,
    status: u16,
) -> Result<TokenIntrospection> {
    let mut fields = object(value, endpoint, status)?;
    let invalid = |reason: String| AuthError::InvalidResponse {
        endpoint: endpoint.to_owned(),
        status,
        reason,
    };
    let active = match fields.remove("active") {
        Some(Value::Bool(active)) => active,
        Some(_) => return Err(invalid("\"active\" is not a boolean".to_owned())),
        None => return Err(invalid("\"active\" is missing".to_owned())),
    };
    let mut text = |name: &str| take_string(&mut fields, name).map_err(&invalid);
    let (scope, client_id, sub, username, name, email, iss) = (
        text("scope")?,
        text("client_id")?,
        text("sub")?,
        text("username")?,
        text("name")?,
        text("email")?,
        text("iss")?,
    );
    let mut number = |name: &str| take_seconds(&mut fields, name).map_err(&invalid);
    let (exp, iat, nbf) = (number("exp")?, number("iat")?, number("nbf")?);
    let aud = match fields.remove("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(one)) => vec![one],
        Some(Value::Array(many)) => strings(many, "aud").map_err(&invalid)?,
        Some(_) => return Err(invalid("\"aud\" is neither a string nor a list".to_owned())),
    };
    let identity_set = match fields.remove("identity_set") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => Some(strings(ids, "identity_set").map_err(&invalid)?),
        Some(_) => return Err(invalid("\"identity_set\" is not a list".to_owned())),
    };
    let session_info = fields.remove("session_info").filter(|v| !v.is_null());
    Ok(TokenIntrospection {
        active,
        scope,
        client_id,
        sub,
        username,
        name,
        email,
        exp,
        iat,
        nbf,
        aud,
        iss,
        identity_set,
        session_info,
        extra: fields,
    })
}

/// Read a userinfo answer; `endpoint` and `status` name it in errors.
pub(crate) fn userinfo_from(value: Value, endpoint: &str, status: u16) -> Result<UserInfo> {
    let mut fields = object(value, endpoint, status)?;
    let invalid = |reason: String| AuthError::InvalidResponse {
        endpoint: endpoint.to_owned(),
        status,
        reason,
    };
    let mut text = |name: &str| take_string(&mut fields, name).map_err(&invalid);
    let sub = text("sub")?.ok_or_else(|| invalid("\"sub\" is missing".to_owned()))?;
    let (preferred_username, name, email, identity_provider, display, organization) = (
        text("preferred_username")?,
        text("name")?,
        text("email")?,
        text("identity_provider")?,
        text("identity_provider_display_name")?,
        text("organization")?,
    );
    let identity_set = match fields.remove("identity_set") {
        None | Some(Value::Null) => None,
        Some(Value::Array(set)) => Some(set),
        Some(_) => return Err(invalid("\"identity_set\" is not a list".to_owned())),
    };
    Ok(UserInfo {
        sub,
        preferred_username,
        name,
        email,
        identity_provider,
        identity_provider_display_name: display,
        organization,
        identity_set,
        extra: fields,
    })
}

fn object(value: Value, endpoint: &str, status: u16) -> Result<Map<String, Value>> {
    match value {
        Value::Object(fields) => Ok(fields),
        _ => Err(AuthError::InvalidResponse {
            endpoint: endpoint.to_owned(),
            status,
            reason: "expected a JSON object".to_owned(),
        }),
    }
}

fn take_string(
    fields: &mut Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<String>, String> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(format!("\"{name}\" is not a string")),
    }
}

fn take_seconds(
    fields: &mut Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<i64>, String> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| format!("\"{name}\" is not a whole number of seconds")),
        Some(_) => Err(format!("\"{name}\" is not a number")),
    }
}

fn strings(values: Vec<Value>, name: &str) -> std::result::Result<Vec<String>, String> {
    values
        .into_iter()
        .map(|value| match value {
            Value::String(text) => Ok(text),
            _ => Err(format!("\"{name}\" holds a value that is not a string")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inactive_introspection_is_not_an_error() {
        let seen = introspection_from(json!({"active": false}), "e", 200).unwrap();
        assert!(!seen.active);
        assert_eq!(seen.sub, None);
    }

    #[test]
    fn introspection_fields_and_extras() {
        let seen = introspection_from(
            json!({"active": true, "sub": "id", "aud": ["a", "b"], "exp": 10, "identity_set": ["id", "id2"], "session_info": {"session_id": "s"}, "new": 1}),
            "e",
            200,
        )
        .unwrap();
        assert_eq!(seen.aud, ["a", "b"]);
        assert_eq!(seen.exp, Some(10));
        assert_eq!(seen.identity_set.unwrap(), ["id", "id2"]);
        assert_eq!(seen.session_info.unwrap()["session_id"], "s");
        assert_eq!(seen.extra["new"], 1);
    }

    #[test]
    fn malformed_answers_are_invalid_responses() {
        for bad in [
            json!([]),
            json!({}),
            json!({"active": "yes"}),
            json!({"active": true, "exp": "soon"}),
            json!({"active": true, "aud": 3}),
            json!({"active": true, "identity_set": [1]}),
        ] {
            let err =
                introspection_from(bad.clone(), "v2/oauth2/token/introspect", 200).unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidResponse { .. }),
                "{bad}: {err}"
            );
        }
        let err = userinfo_from(json!({"name": "x"}), "v2/oauth2/userinfo", 200).unwrap_err();
        assert!(err.to_string().contains("sub"), "{err}");
    }
}
