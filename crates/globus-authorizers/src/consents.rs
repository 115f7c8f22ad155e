//! `GET v2/api/identities/{identity_id}/consents`: what a user allowed which client to do
//! (globus-sdk's `AuthClient.get_consents`). Only the HTTP call and the response's outer
//! shape live here; the consent forest built from it is the scopes layer's business.

use globus_tokens_core::Secret;
use serde_json::Value;

use crate::client::AuthClient;
use crate::error::{AuthError, Result};
use crate::oidc::InvalidDocument;

/// The answer of the consents endpoint: `{"consents": [{...}, ...]}`, each consent a JSON
/// object with Globus Auth's fields (`id`, `scope_name`, `dependency_path`, `client`, ...).
///
/// ```
/// use globus_authorizers::Consents;
/// let consents = Consents::from_value(serde_json::json!({"consents": [
///     {"id": 1, "scope_name": "openid", "dependency_path": [1]}
/// ]}))?;
/// assert_eq!(consents.consents()[0]["scope_name"], "openid");
/// # Ok::<(), globus_authorizers::InvalidDocument>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Consents {
    raw: Value,
}

impl Consents {
    /// Check the outer shape (an object whose `consents` is an array of objects) and wrap it.
    pub fn from_value(value: Value) -> std::result::Result<Self, InvalidDocument> {
        let invalid = |reason: &str| InvalidDocument {
            document: "consents response",
            reason: reason.to_owned(),
        };
        let Some(consents) = value.get("consents") else {
            return Err(invalid(if value.is_object() {
                "consents is missing"
            } else {
                "expected a JSON object"
            }));
        };
        let Value::Array(items) = consents else {
            return Err(invalid("consents must be an array"));
        };
        if !items.iter().all(Value::is_object) {
            return Err(invalid("every consent must be a JSON object"));
        }
        Ok(Consents { raw: value })
    }

    /// The consents, each a JSON object, in the server's order.
    pub fn consents(&self) -> &[Value] {
        self.raw
            .get("consents")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The whole response body.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The whole response body, owned.
    pub fn into_raw(self) -> Value {
        self.raw
    }
}

impl AuthClient {
    /// `{base}v2/api/identities/{identity_id}/consents` (the id percent-encoded as a path
    /// segment).
    pub fn consents_url(&self, identity_id: &str) -> Result<String> {
        if identity_id.is_empty() {
            return Err(AuthError::InvalidConfig(
                "the identity id for a consents lookup is empty".to_owned(),
            ));
        }
        let mut url = url::Url::parse(self.base_url()).map_err(|err| {
            AuthError::InvalidConfig(format!("base URL {:?}: {err}", self.base_url()))
        })?;
        url.path_segments_mut()
            .map_err(|()| {
                AuthError::InvalidConfig(format!(
                    "base URL {:?} cannot take a path",
                    self.base_url()
                ))
            })?
            .pop_if_empty()
            .extend(["v2", "api", "identities", identity_id, "consents"]);
        Ok(url.into())
    }

    /// Look up the consents of `identity_id` (globus-sdk's `get_consents`), authenticated with
    /// `access_token`, an `auth.globus.org` token of that identity. `all = false` lists only the
    /// consent trees rooted at this client; `all = true` lists every client's and needs the
    /// `view_consents` scope. Sent as globus-sdk sends it (`?all=True` / `?all=False`).
    ///
    /// Retries and errors are those of every other call: a refused token is
    /// [`AuthError::Api`] with status 401, a token without the needed scope or for another
    /// identity status 403; the token never appears in an error.
    pub fn get_consents(
        &self,
        identity_id: &str,
        access_token: &Secret,
        all: bool,
    ) -> Result<Consents> {
        let endpoint = self.consents_url(identity_id)?;
        let url = format!("{endpoint}?all={}", if all { "True" } else { "False" });
        let (status, body) = self.get_json(&url, Some(access_token))?;
        Consents::from_value(body).map_err(|err| AuthError::InvalidResponse {
            endpoint,
            status,
            reason: err.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn consents_response_shape_is_checked() {
        let error = |value: Value| Consents::from_value(value).unwrap_err().to_string();
        assert_eq!(
            error(json!({})),
            "invalid consents response: consents is missing"
        );
        assert!(error(json!([])).contains("expected a JSON object"));
        assert!(error(json!({"consents": {}})).contains("must be an array"));
        assert!(error(json!({"consents": [1]})).contains("must be a JSON object"));
        assert!(
            Consents::from_value(json!({"consents": []}))
                .unwrap()
                .consents()
                .is_empty()
        );
    }

    #[test]
    fn the_identity_is_one_path_segment() {
        let client = AuthClient::builder("c")
            .base_url("https://auth.example.org/prefix")
            .build()
            .unwrap();
        assert_eq!(
            client.consents_url("8ca28797-3541").unwrap(),
            "https://auth.example.org/prefix/v2/api/identities/8ca28797-3541/consents"
        );
        assert_eq!(
            client.consents_url("a/b?c").unwrap(),
            "https://auth.example.org/prefix/v2/api/identities/a%2Fb%3Fc/consents"
        );
        assert!(client.consents_url("").is_err());
    }
}
