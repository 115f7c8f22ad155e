//! OpenID Connect discovery: `GET .well-known/openid-configuration` and the key set (JWKS) its
//! `jwks_uri` names, as globus-sdk's `get_openid_configuration` and `get_jwk` fetch them.

use serde_json::{Map, Value};

use crate::client::AuthClient;
use crate::error::{AuthError, Result};

/// A discovery document or key set that is not shaped as OpenID Connect says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {document}: {reason}")]
#[non_exhaustive]
pub struct InvalidDocument {
    /// `OpenID configuration` or `JWK set`.
    pub document: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Globus Auth's OpenID Connect discovery document: the fields the id_token check needs, and
/// the whole JSON object.
///
/// ```
/// use globus_authorizers::OpenIdConfiguration;
/// let config = OpenIdConfiguration::from_value(serde_json::json!({
///     "issuer": "https://auth.globus.org",
///     "jwks_uri": "https://auth.globus.org/jwk.json",
///     "id_token_signing_alg_values_supported": ["RS512"],
///     "scopes_supported": ["openid", "email", "profile"],
/// }))?;
/// assert_eq!(config.issuer, "https://auth.globus.org");
/// assert_eq!(config.raw()["scopes_supported"][0], "openid");
/// # Ok::<(), globus_authorizers::InvalidDocument>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OpenIdConfiguration {
    /// `issuer`: what an id_token's `iss` must be.
    pub issuer: String,
    /// `jwks_uri`: where the signing keys are (an absolute http(s) URL).
    pub jwks_uri: String,
    /// `id_token_signing_alg_values_supported`: the algorithms id_tokens may be signed with.
    pub id_token_signing_alg_values_supported: Vec<String>,
    raw: Value,
}

const CONFIGURATION: &str = "OpenID configuration";
const KEY_SET: &str = "JWK set";

fn invalid(document: &'static str, reason: impl Into<String>) -> InvalidDocument {
    InvalidDocument {
        document,
        reason: reason.into(),
    }
}

/// A required string field.
fn string(
    object: &Map<String, Value>,
    name: &str,
    document: &'static str,
) -> std::result::Result<String, InvalidDocument> {
    match object.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        None | Some(Value::Null) => Err(invalid(document, format!("{name} is missing"))),
        Some(other) => Err(invalid(
            document,
            format!(
                "{name} must be a string, found {}",
                globus_tokens_core::raw::json_type_name(other)
            ),
        )),
    }
}

/// An optional string field.
fn optional_string(
    object: &Map<String, Value>,
    name: &str,
    document: &'static str,
) -> std::result::Result<Option<String>, InvalidDocument> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => string(object, name, document).map(Some),
    }
}

impl OpenIdConfiguration {
    /// Check and wrap a discovery document: a JSON object with a string `issuer`, an absolute
    /// http(s) `jwks_uri` and an array of strings `id_token_signing_alg_values_supported`
    /// (all three are required by OpenID Connect Discovery).
    pub fn from_value(value: Value) -> std::result::Result<Self, InvalidDocument> {
        let Value::Object(object) = &value else {
            return Err(invalid(CONFIGURATION, "expected a JSON object"));
        };
        let issuer = string(object, "issuer", CONFIGURATION)?;
        let jwks_uri = string(object, "jwks_uri", CONFIGURATION)?;
        match url::Url::parse(&jwks_uri) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            _ => {
                return Err(invalid(
                    CONFIGURATION,
                    format!("jwks_uri {jwks_uri:?} is not an absolute http(s) URL"),
                ));
            }
        }
        let algorithms = match object.get("id_token_signing_alg_values_supported") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    invalid(
                        CONFIGURATION,
                        "id_token_signing_alg_values_supported must hold strings only",
                    )
                })?,
            None | Some(Value::Null) => {
                return Err(invalid(
                    CONFIGURATION,
                    "id_token_signing_alg_values_supported is missing",
                ));
            }
            Some(_) => {
                return Err(invalid(
                    CONFIGURATION,
                    "id_token_signing_alg_values_supported must be an array",
                ));
            }
        };
        Ok(OpenIdConfiguration {
            issuer,
            jwks_uri,
            id_token_signing_alg_values_supported: algorithms,
            raw: value,
        })
    }

    /// The whole document as received.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The whole document, owned.
    pub fn into_raw(self) -> Value {
        self.raw
    }
}

/// One key of a [`JwkSet`]: the fields used to pick it, and the whole JSON object.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Jwk {
    /// `kty`: `RSA`, `EC`, `OKP`, ...
    pub kty: String,
    /// `kid`, when the set names its keys (Globus Auth's does not).
    pub kid: Option<String>,
    /// `alg`, e.g. `RS512`, when given.
    pub alg: Option<String>,
    /// `use`, e.g. `sig`, when given.
    pub key_use: Option<String>,
    raw: Map<String, Value>,
}

impl Jwk {
    /// The key's JSON object (`n`, `e`, ...).
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }
}

/// A JSON Web Key Set (`{"keys": [...]}`), as served at the discovery document's `jwks_uri`.
///
/// ```
/// use globus_authorizers::JwkSet;
/// let set = JwkSet::from_value(serde_json::json!({"keys": [
///     {"kty": "RSA", "alg": "RS512", "use": "sig", "n": "0vx7", "e": "AQAB"}
/// ]}))?;
/// assert_eq!(set.keys[0].alg.as_deref(), Some("RS512"));
/// assert_eq!(set.keys[0].kid, None);
/// # Ok::<(), globus_authorizers::InvalidDocument>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JwkSet {
    /// The keys, in order.
    pub keys: Vec<Jwk>,
    raw: Value,
}

impl JwkSet {
    /// Check and wrap a key set: an object whose `keys` is an array of objects, each with a
    /// string `kty` (and `kid`, `alg`, `use` strings when present).
    pub fn from_value(value: Value) -> std::result::Result<Self, InvalidDocument> {
        let Some(items) = value.get("keys") else {
            return Err(invalid(
                KEY_SET,
                if value.is_object() {
                    "keys is missing"
                } else {
                    "expected a JSON object"
                },
            ));
        };
        let Value::Array(items) = items else {
            return Err(invalid(KEY_SET, "keys must be an array"));
        };
        let mut keys = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let Value::Object(object) = item else {
                return Err(invalid(KEY_SET, format!("keys[{index}] is not an object")));
            };
            let field = |name: &str| format!("keys[{index}].{name}");
            let kty = string(object, "kty", KEY_SET)
                .map_err(|_| invalid(KEY_SET, format!("{} must be a string", field("kty"))))?;
            let optional = |name: &str| {
                optional_string(object, name, KEY_SET)
                    .map_err(|_| invalid(KEY_SET, format!("{} must be a string", field(name))))
            };
            keys.push(Jwk {
                kty,
                kid: optional("kid")?,
                alg: optional("alg")?,
                key_use: optional("use")?,
                raw: object.clone(),
            });
        }
        Ok(JwkSet { keys, raw: value })
    }

    /// The keys named `kid`.
    pub fn find(&self, kid: &str) -> impl Iterator<Item = &Jwk> {
        self.keys
            .iter()
            .filter(move |key| key.kid.as_deref() == Some(kid))
    }

    /// The whole set as received.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

impl AuthClient {
    /// `{base}.well-known/openid-configuration`.
    pub fn openid_configuration_url(&self) -> String {
        format!("{}.well-known/openid-configuration", self.base_url())
    }

    /// Fetch Globus Auth's OpenID Connect discovery document (globus-sdk's
    /// `get_openid_configuration`), with the retries of every other call. A body that is not
    /// a discovery document is [`AuthError::InvalidResponse`] naming the URL and status.
    pub fn get_openid_configuration(&self) -> Result<OpenIdConfiguration> {
        let url = self.openid_configuration_url();
        tracing::debug!(url = %url, "fetching the OpenID configuration");
        let (status, body) = self.get_json(&url, None)?;
        OpenIdConfiguration::from_value(body).map_err(|err| AuthError::InvalidResponse {
            endpoint: url,
            status,
            reason: err.to_string(),
        })
    }

    /// Fetch the key set the discovery document names (`jwks_uri`; globus-sdk's `get_jwk`),
    /// fetching the document first when `openid_configuration` is `None`. A body that is not
    /// a key set is [`AuthError::InvalidResponse`] naming the URL and status.
    pub fn get_jwks(&self, openid_configuration: Option<&OpenIdConfiguration>) -> Result<JwkSet> {
        let fetched;
        let config = match openid_configuration {
            Some(config) => config,
            None => {
                fetched = self.get_openid_configuration()?;
                &fetched
            }
        };
        let url = &config.jwks_uri;
        tracing::debug!(url = %url, "fetching the JWK set");
        let (status, body) = self.get_json(url, None)?;
        JwkSet::from_value(body).map_err(|err| AuthError::InvalidResponse {
            endpoint: url.clone(),
            status,
            reason: err.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> std::result::Result<OpenIdConfiguration, String> {
        OpenIdConfiguration::from_value(value).map_err(|err| err.to_string())
    }

    #[test]
    fn configuration_needs_issuer_jwks_uri_and_algorithms() {
        let good = json!({"issuer": "i", "jwks_uri": "https://a/jwk.json",
            "id_token_signing_alg_values_supported": ["RS512"]});
        assert!(config(good.clone()).is_ok());
        let without = |name: &str| {
            let mut value = good.clone();
            value.as_object_mut().unwrap().remove(name);
            config(value).unwrap_err()
        };
        assert_eq!(
            without("issuer"),
            "invalid OpenID configuration: issuer is missing"
        );
        assert!(without("jwks_uri").contains("jwks_uri is missing"));
        assert!(without("id_token_signing_alg_values_supported").contains("missing"));
        let with = |name: &str, v: Value| {
            let mut value = good.clone();
            value[name] = v;
            config(value).unwrap_err()
        };
        assert!(with("issuer", json!(5)).contains("issuer must be a string, found a number"));
        assert!(with("jwks_uri", json!("/jwk.json")).contains("not an absolute http(s) URL"));
        assert!(with("jwks_uri", json!("file:///etc/passwd")).contains("not an absolute"));
        assert!(with("id_token_signing_alg_values_supported", json!("RS512")).contains("an array"));
        assert!(with("id_token_signing_alg_values_supported", json!([1])).contains("strings only"));
        assert!(
            config(json!([]))
                .unwrap_err()
                .contains("expected a JSON object")
        );
    }

    #[test]
    fn key_sets_are_checked_key_by_key() {
        let set = JwkSet::from_value(json!({"keys": [
            {"kty": "RSA", "kid": "a", "n": "x", "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "use": "sig", "alg": "RS512"},
        ]}))
        .unwrap();
        assert_eq!(
            set.find("b").next().unwrap().key_use.as_deref(),
            Some("sig")
        );
        assert_eq!(set.find("a").next().unwrap().raw()["n"], "x");
        assert_eq!(set.find("c").count(), 0);
        let error = |value: Value| JwkSet::from_value(value).unwrap_err().to_string();
        assert_eq!(error(json!({})), "invalid JWK set: keys is missing");
        assert_eq!(error(json!("x")), "invalid JWK set: expected a JSON object");
        assert!(error(json!({"keys": {}})).contains("keys must be an array"));
        assert!(error(json!({"keys": [1]})).contains("keys[0] is not an object"));
        assert!(error(json!({"keys": [{"n": "x"}]})).contains("keys[0].kty must be a string"));
        assert!(error(json!({"keys": [{"kty": "RSA", "kid": 7}]})).contains("keys[0].kid"));
        assert!(
            JwkSet::from_value(json!({"keys": []}))
                .unwrap()
                .keys
                .is_empty()
        );
    }
}
