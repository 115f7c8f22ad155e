//! Token data as stored, and token responses as Globus Auth sends them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The tokens for one resource server, as kept in a store.
///
/// Field names follow globus-sdk's `TokenStorageData`. Fields this library does not know are
/// kept in [`TokenData::extra`] and written back unchanged, so a read-modify-write never drops
/// what another tool (or a newer version of globus-sdk) stored.
///
/// ```
/// use globus_tokens_core::TokenData;
/// let data = TokenData::new("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all", "AT-1", 2_000_000_000)
///     .with_refresh_token("RT-1");
/// assert!(!data.is_expired_at(1_999_999_000, 60));
/// assert!(data.is_expired_at(1_999_999_950, 60));
/// assert!(!format!("{data:?}").contains("AT-1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TokenData {
    /// The resource server these tokens are for, e.g. `transfer.api.globus.org`.
    pub resource_server: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, if the grant included one.
    pub refresh_token: Option<Secret>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at_seconds: i64,
    /// Usually `"Bearer"`.
    pub token_type: Option<String>,
    /// The Globus identity the tokens were issued to, when known.
    pub identity_id: Option<String>,
    /// Fields this library does not interpret, kept in their original order.
    pub extra: Map<String, Value>,
}

/// Which key order and null handling to use when writing [`TokenData`] as a JSON object, so the
/// bytes match what the corresponding Python class writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenDataLayout {
    /// globus-sdk's legacy adapters (`SimpleJSONFileAdapter`, `SQLiteAdapter`) and
    /// fair-research-login: `scope, access_token, refresh_token, token_type,
    /// expires_at_seconds, resource_server`, with `null` for a missing refresh token.
    Legacy,
    /// globus-sdk's `TokenStorageData.to_dict()` (`JSONTokenStorage`, `SQLiteTokenStorage`):
    /// `resource_server, identity_id, scope, access_token, refresh_token, expires_at_seconds,
    /// token_type`, with absent values omitted.
    V2,
}

const KNOWN_FIELDS: [&str; 7] = [
    "resource_server",
    "identity_id",
    "scope",
    "access_token",
    "refresh_token",
    "expires_at_seconds",
    "token_type",
];

impl TokenData {
    /// Token data with the required fields; `token_type` is `"Bearer"`, the rest empty.
    pub fn new(
        resource_server: impl Into<String>,
        scope: impl Into<String>,
        access_token: impl Into<Secret>,
        expires_at_seconds: i64,
    ) -> Self {
        TokenData {
            resource_server: resource_server.into(),
            scope: scope.into(),
            access_token: access_token.into(),
            refresh_token: None,
            expires_at_seconds,
            token_type: Some("Bearer".to_owned()),
            identity_id: None,
            extra: Map::new(),
        }
    }

    /// The same data with a refresh token.
    pub fn with_refresh_token(mut self, refresh_token: impl Into<Secret>) -> Self {
        self.refresh_token = Some(refresh_token.into());
        self
    }

    /// The same data with an identity id.
    pub fn with_identity_id(mut self, identity_id: impl Into<String>) -> Self {
        self.identity_id = Some(identity_id.into());
        self
    }

    /// Whether the access token is expired, or will be within `leeway_seconds`, at `now_seconds`.
    ///
    /// globus-sdk's authorizers use a 60-second leeway.
    pub fn is_expired_at(&self, now_seconds: i64, leeway_seconds: i64) -> bool {
        now_seconds.saturating_add(leeway_seconds) >= self.expires_at_seconds
    }

    /// Seconds from `now_seconds` until the access token expires (negative once it has),
    /// saturating at the ends of `i64` rather than wrapping, whatever a store holds.
    pub fn expires_in_seconds_at(&self, now_seconds: i64) -> i64 {
        self.expires_at_seconds.saturating_sub(now_seconds)
    }

    /// Whether the access token is expired (or within `leeway_seconds` of it) by `clock`.
    pub fn is_expired(&self, clock: &dyn Clock, leeway_seconds: i64) -> bool {
        self.is_expired_at(clock.now_seconds(), leeway_seconds)
    }

    /// The granted scopes as a list.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    /// Whether `other` holds the same access and refresh tokens: the comparison used by
    /// conditional updates to decide that a stored entry is still the one a caller read.
    pub fn same_tokens(&self, other: &TokenData) -> bool {
        self.access_token == other.access_token && self.refresh_token == other.refresh_token
    }

    /// Read token data from a JSON object as the Python libraries store it.
    ///
    /// `key` is the resource server the object was stored under; it is used when the object
    /// itself has no `resource_server` field. `location` names where the object came from and
    /// appears in errors (for example `"tokens.json: by_rs.transfer.api.globus.org"`). Errors
    /// name the field and the expected type, never the value.
    pub fn from_json_object(
        object: &Map<String, Value>,
        key: &str,
        location: &str,
    ) -> Result<Self> {
        let resource_server = match object.get("resource_server") {
            None | Some(Value::Null) => key.to_owned(),
            Some(Value::String(rs)) => rs.clone(),
            Some(other) => return Err(wrong_type(location, "resource_server", "a string", other)),
        };
        let scope = required_string(object, "scope", location)?;
        let access_token = Secret::new(required_string(object, "access_token", location)?);
        let refresh_token = optional_string(object, "refresh_token", location)?.map(Secret::new);
        let token_type = optional_string(object, "token_type", location)?;
        let identity_id = optional_string(object, "identity_id", location)?;
        let expires_at_seconds = match object.get("expires_at_seconds") {
            None => return Err(missing(location, "expires_at_seconds")),
            Some(value) => integer_seconds(value)
                .ok_or_else(|| wrong_type(location, "expires_at_seconds", "an integer", value))?,
        };
        let extra = object
            .iter()
            .filter(|(name, _)| !KNOWN_FIELDS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Ok(TokenData {
            resource_server,
            scope,
            access_token,
            refresh_token,
            expires_at_seconds,
            token_type,
            identity_id,
            extra,
        })
    }

    /// Read token data from any JSON value, failing unless it is an object.
    pub fn from_json_value(value: &Value, key: &str, location: &str) -> Result<Self> {
        match value {
            Value::Object(object) => Self::from_json_object(object, key, location),
            other => Err(Error::invalid_data(
                location,
                format!(
                    "token data must be a JSON object, found {}",
                    json_type_name(other)
                ),
            )),
        }
    }

    /// Write token data as a JSON object in the key order of `layout`, extra fields last.
    pub fn to_json_object(&self, layout: TokenDataLayout) -> Map<String, Value> {
        let mut object = Map::new();
        let string = |s: &str| Value::String(s.to_owned());
        let optional = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.to_owned()));
        match layout {
            TokenDataLayout::Legacy => {
                object.insert("scope".into(), string(&self.scope));
                object.insert("access_token".into(), string(self.access_token.expose()));
                object.insert(
                    "refresh_token".into(),
                    optional(self.refresh_token.as_ref().map(Secret::expose)),
                );
                object.insert("token_type".into(), optional(self.token_type.as_deref()));
                object.insert("expires_at_seconds".into(), self.expires_at_seconds.into());
                object.insert("resource_server".into(), string(&self.resource_server));
                if let Some(identity_id) = &self.identity_id {
                    object.insert("identity_id".into(), string(identity_id));
                }
            }
            TokenDataLayout::V2 => {
                object.insert("resource_server".into(), string(&self.resource_server));
                if let Some(identity_id) = &self.identity_id {
                    object.insert("identity_id".into(), string(identity_id));
                }
                object.insert("scope".into(), string(&self.scope));
                object.insert("access_token".into(), string(self.access_token.expose()));
                if let Some(refresh_token) = &self.refresh_token {
                    object.insert("refresh_token".into(), string(refresh_token.expose()));
                }
                object.insert("expires_at_seconds".into(), self.expires_at_seconds.into());
                if let Some(token_type) = &self.token_type {
                    object.insert("token_type".into(), string(token_type));
                }
            }
        }
        for (name, value) in &self.extra {
            object.entry(name.clone()).or_insert_with(|| value.clone());
        }
        object
    }
}

/// One token in a Globus Auth token response, before it is given an absolute expiry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TokenGrant {
    /// The resource server.
    pub resource_server: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, when the grant returned one.
    pub refresh_token: Option<Secret>,
    /// Usually `"Bearer"`.
    pub token_type: Option<String>,
    /// Lifetime in seconds from when the response was received.
    pub expires_in: i64,
    /// Other fields of this token object (such as `state`), in order.
    pub extra: Map<String, Value>,
}

impl TokenGrant {
    /// A grant of `access_token` for `resource_server`, valid for `expires_in` seconds, with
    /// token type `"Bearer"`, no refresh token and no extra fields; set the public fields for
    /// the rest. With [`TokenResponse::from_grants`] this builds responses in servers and tests.
    ///
    /// ```
    /// use globus_tokens_core::{Secret, TokenGrant, TokenResponse};
    ///
    /// let mut grant = TokenGrant::new("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all", Secret::new("AT"), 3600);
    /// grant.refresh_token = Some(Secret::new("RT"));
    /// let response = TokenResponse::from_grants(vec![grant], None, 1_000);
    /// let transfer = &response.by_resource_server()["transfer.api.globus.org"];
    /// assert_eq!(transfer.expires_at_seconds, 4_600);
    /// assert_eq!(transfer.refresh_token.as_ref().map(|t| t.expose()), Some("RT"));
    /// ```
    pub fn new(
        resource_server: impl Into<String>,
        scope: impl Into<String>,
        access_token: Secret,
        expires_in: i64,
    ) -> Self {
        TokenGrant {
            resource_server: resource_server.into(),
            scope: scope.into(),
            access_token,
            refresh_token: None,
            token_type: Some("Bearer".to_owned()),
            expires_in,
            extra: Map::new(),
        }
    }
}

/// A parsed token response from Globus Auth's token endpoint.
///
/// Handles the usual object form (a top-level token plus `other_tokens`) and the array form the
/// dependent-token grant returns. [`TokenResponse::by_resource_server`] gives the per-server
/// [`TokenData`] that stores keep, with absolute expiry times.
///
/// ```
/// use globus_tokens_core::TokenResponse;
/// let body = br#"{"access_token": "AT", "scope": "openid", "expires_in": 3600,
///     "token_type": "Bearer", "resource_server": "auth.globus.org", "refresh_token": null,
///     "other_tokens": [{"access_token": "AT2", "scope": "s2", "expires_in": 60,
///                       "token_type": "Bearer", "resource_server": "groups.api.globus.org"}]}"#;
/// let response = TokenResponse::from_json_at(body, 1_000).unwrap();
/// let by_rs = response.by_resource_server();
/// assert_eq!(by_rs["auth.globus.org"].expires_at_seconds, 4_600);
/// assert_eq!(by_rs["groups.api.globus.org"].expires_at_seconds, 1_060);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    grants: Vec<TokenGrant>,
    /// A `Secret`, so that `Debug` shows a fingerprint rather than the token.
    id_token: Option<Secret>,
    received_at_seconds: i64,
}

impl TokenResponse {
    /// Parse a response body received now (by the system clock).
    pub fn from_json(body: &[u8]) -> Result<Self> {
        Self::from_json_at(body, SystemClock.now_seconds())
    }

    /// Parse a response body received at `received_at_seconds`.
    pub fn from_json_at(body: &[u8], received_at_seconds: i64) -> Result<Self> {
        let value: Value =
            serde_json::from_slice(body).map_err(|err| Error::InvalidTokenResponse {
                reason: format!(
                    "body is not valid JSON (line {}, column {})",
                    err.line(),
                    err.column()
                ),
            })?;
        Self::from_value_at(&value, received_at_seconds)
    }

    /// Build from an already-parsed JSON value received at `received_at_seconds`.
    pub fn from_value_at(value: &Value, received_at_seconds: i64) -> Result<Self> {
        let mut grants = Vec::new();
        let mut id_token = None;
        match value {
            Value::Object(top) => {
                grants.push(parse_grant(top, "the top-level token")?);
                match top.get("other_tokens") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(others)) => {
                        for (index, other) in others.iter().enumerate() {
                            let where_ = format!("other_tokens[{index}]");
                            match other {
                                Value::Object(object) => grants.push(parse_grant(object, &where_)?),
                                other => return Err(not_an_object(&where_, other)),
                            }
                        }
                    }
                    Some(other) => {
                        return Err(Error::InvalidTokenResponse {
                            reason: format!(
                                "other_tokens must be an array, found {}",
                                json_type_name(other)
                            ),
                        });
                    }
                }
                id_token = match top.get("id_token") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(token)) => Some(Secret::new(token.clone())),
                    Some(other) => {
                        return Err(Error::InvalidTokenResponse {
                            reason: format!(
                                "id_token must be a string, found {}",
                                json_type_name(other)
                            ),
                        });
                    }
                };
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let where_ = format!("token [{index}]");
                    match item {
                        Value::Object(object) => grants.push(parse_grant(object, &where_)?),
                        other => return Err(not_an_object(&where_, other)),
                    }
                }
            }
            other => {
                return Err(Error::InvalidTokenResponse {
                    reason: format!(
                        "expected a JSON object or array, found {}",
                        json_type_name(other)
                    ),
                });
            }
        }
        Ok(TokenResponse {
            grants,
            id_token,
            received_at_seconds,
        })
    }

    /// Assemble a response from grants, for servers and tests.
    pub fn from_grants(
        grants: Vec<TokenGrant>,
        id_token: Option<String>,
        received_at_seconds: i64,
    ) -> Self {
        TokenResponse {
            grants,
            id_token: id_token.map(Secret::new),
            received_at_seconds,
        }
    }

    /// A response holding already-stored token data, as if received at `received_at_seconds`
    /// (`expires_in` is the time left). Used to hand stored tokens to code that takes responses;
    /// `identity_id` and extra fields are not carried over.
    pub fn from_token_data(
        tokens: impl IntoIterator<Item = TokenData>,
        received_at_seconds: i64,
    ) -> Self {
        let grants = tokens
            .into_iter()
            .map(|data| TokenGrant {
                expires_in: data.expires_at_seconds.saturating_sub(received_at_seconds),
                resource_server: data.resource_server,
                scope: data.scope,
                access_token: data.access_token,
                refresh_token: data.refresh_token,
                token_type: data.token_type,
                extra: Map::new(),
            })
            .collect();
        TokenResponse {
            grants,
            id_token: None,
            received_at_seconds,
        }
    }

    /// The tokens in the order the server sent them.
    pub fn grants(&self) -> &[TokenGrant] {
        &self.grants
    }

    /// The OpenID Connect `id_token`, as text, when the response had one.
    pub fn id_token(&self) -> Option<&str> {
        self.id_token.as_ref().map(Secret::expose)
    }

    /// The OpenID Connect `id_token` as a [`Secret`] (for verification, e.g. by
    /// globus-authorizers' `IdTokenDecoder`), when the response had one.
    ///
    /// ```
    /// use globus_tokens_core::TokenResponse;
    /// let body = br#"{"access_token": "AT", "scope": "openid", "expires_in": 60,
    ///     "resource_server": "auth.globus.org", "id_token": "header.payload.signature"}"#;
    /// let response = TokenResponse::from_json_at(body, 0).unwrap();
    /// assert_eq!(response.id_token_secret().unwrap().expose(), "header.payload.signature");
    /// assert!(!format!("{response:?}").contains("payload"));
    /// ```
    pub fn id_token_secret(&self) -> Option<&Secret> {
        self.id_token.as_ref()
    }

    /// When the response was received, in seconds since the Unix epoch.
    pub fn received_at_seconds(&self) -> i64 {
        self.received_at_seconds
    }

    /// The `sub` claim of the `id_token`: the Globus identity the tokens belong to.
    ///
    /// The signature is not checked. This is only used to label stored tokens, and the
    /// response came straight from the token endpoint over TLS, which OpenID Connect Core
    /// (section 3.1.3.7) accepts in place of signature validation.
    pub fn identity_id(&self) -> Option<String> {
        let payload = self.id_token.as_ref()?.expose().split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        claims.get("sub")?.as_str().map(str::to_owned)
    }

    /// The resource servers in this response, in order.
    pub fn resource_servers(&self) -> impl Iterator<Item = &str> {
        self.grants
            .iter()
            .map(|grant| grant.resource_server.as_str())
    }

    /// The tokens keyed by resource server, with `expires_at_seconds = received_at + expires_in`.
    ///
    /// A later token for the same resource server replaces an earlier one, as in globus-sdk.
    pub fn by_resource_server(&self) -> BTreeMap<String, TokenData> {
        let identity_id = self.identity_id();
        self.grants
            .iter()
            .map(|grant| {
                let data = TokenData {
                    resource_server: grant.resource_server.clone(),
                    scope: grant.scope.clone(),
                    access_token: grant.access_token.clone(),
                    refresh_token: grant.refresh_token.clone(),
                    expires_at_seconds: self.received_at_seconds.saturating_add(grant.expires_in),
                    token_type: grant.token_type.clone(),
                    identity_id: identity_id.clone(),
                    extra: Map::new(),
                };
                (grant.resource_server.clone(), data)
            })
            .collect()
    }
}

fn parse_grant(object: &Map<String, Value>, where_: &str) -> Result<TokenGrant> {
    let field = |name: &str| -> Result<Option<String>> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::InvalidTokenResponse {
                reason: format!(
                    "{where_}: {name} must be a string, found {}",
                    json_type_name(other)
                ),
            }),
        }
    };
    let required = |name: &str| -> Result<String> {
        field(name)?.ok_or_else(|| Error::InvalidTokenResponse {
            reason: format!("{where_} has no {name}"),
        })
    };
    let resource_server = required("resource_server")?;
    let access_token = Secret::new(required("access_token")?);
    let scope = field("scope")?.unwrap_or_default();
    let refresh_token = field("refresh_token")?.map(Secret::new);
    let token_type = field("token_type")?;
    let expires_in = match object.get("expires_in") {
        None | Some(Value::Null) => 0,
        Some(value) => integer_seconds(value).ok_or_else(|| Error::InvalidTokenResponse {
            reason: format!(
                "{where_} ({resource_server}): expires_in must be a number of seconds, found {}",
                json_type_name(value)
            ),
        })?,
    };
    const GRANT_FIELDS: [&str; 8] = [
        "resource_server",
        "access_token",
        "scope",
        "refresh_token",
        "token_type",
        "expires_in",
        "other_tokens",
        "id_token",
    ];
    let extra = object
        .iter()
        .filter(|(name, _)| !GRANT_FIELDS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Ok(TokenGrant {
        resource_server,
        scope,
        access_token,
        refresh_token,
        token_type,
        expires_in,
        extra,
    })
}

/// An integer number of seconds; finite floats are truncated as Python's `int()` does.
fn integer_seconds(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.0e18)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

fn not_an_object(where_: &str, value: &Value) -> Error {
    Error::InvalidTokenResponse {
        reason: format!(
            "{where_} must be a JSON object, found {}",
            json_type_name(value)
        ),
    }
}

fn required_string(object: &Map<String, Value>, name: &str, location: &str) -> Result<String> {
    match object.get(name) {
        None | Some(Value::Null) => Err(missing(location, name)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(wrong_type(location, name, "a string", other)),
    }
}

fn optional_string(
    object: &Map<String, Value>,
    name: &str,
    location: &str,
) -> Result<Option<String>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(location, name, "a string or null", other)),
    }
}

fn missing(location: &str, field: &str) -> Error {
    Error::invalid_data(location, format!("missing required field `{field}`"))
}

fn wrong_type(location: &str, field: &str, expected: &str, found: &Value) -> Error {
    Error::invalid_data(
        location,
        format!(
            "field `{field}` must be {expected}, found {}",
            json_type_name(found)
        ),
    )
}

/// The JSON type of a value, for error messages that must not echo the value.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
