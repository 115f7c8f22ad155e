//! What both clients send and how they read the answers: the grant forms, client
//! authentication, redaction, and the checks on token, revoke and JSON replies. The blocking
//! [`AuthClient`](super::AuthClient) and the async `AsyncAuthClient` only differ in how an
//! [`Exchange`] goes over the wire.

use std::sync::Arc;

use globus_tokens_core::{Clock, Secret, TokenResponse};

use crate::error::{AuthError, Result};
use crate::pkce::PkceVerifier;
use crate::redact::Redactor;
use crate::transport::{Call, Exchange, Method, RetryPolicy, SharedRandom, Success, encode_form};

use super::AuthorizeParams;

/// The token endpoint.
const TOKEN_ENDPOINT: &str = "v2/oauth2/token";
/// The revocation endpoint.
const REVOKE_ENDPOINT: &str = "v2/oauth2/token/revoke";
/// The introspection endpoint.
pub(crate) const INTROSPECT_ENDPOINT: &str = "v2/oauth2/token/introspect";
/// The OpenID Connect userinfo endpoint.
pub(crate) const USERINFO_ENDPOINT: &str = "v2/oauth2/userinfo";
/// The dependent-token grant type.
const DEPENDENT_TOKEN_GRANT: &str = "urn:globus:auth:grant_type:dependent_token";

/// A client's identity and settings, shared by the blocking and async clients.
#[derive(Clone)]
pub(crate) struct ClientCore {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    /// Ends in `/`.
    pub(crate) base_url: String,
    pub(crate) retry: RetryPolicy,
    pub(crate) random: SharedRandom,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ClientCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret.is_some())
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A request ready to send with either client: the URL, body, client authentication and
/// the redactor for the server's text.
pub(crate) struct Prepared {
    endpoint: String,
    call: Call,
    url: String,
    /// `Some(body)` for a form POST, `None` for a GET.
    form_body: Option<String>,
    authorization: Option<String>,
    redactor: Redactor,
}

impl Prepared {
    /// The exchange to run, retrying per `core`'s policy.
    pub(crate) fn exchange<'a>(&'a self, core: &'a ClientCore) -> Exchange<'a> {
        Exchange {
            url: &self.url,
            endpoint: &self.endpoint,
            method: match &self.form_body {
                Some(body) => Method::PostForm(body),
                None => Method::Get,
            },
            call: self.call,
            authorization: self.authorization.clone(),
            redactor: &self.redactor,
            retry: core.retry,
            random: &core.random,
        }
    }

    /// How errors name this request.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl ClientCore {
    pub(crate) fn is_confidential(&self) -> bool {
        self.client_secret.is_some()
    }

    pub(crate) fn default_native_redirect_uri(&self) -> String {
        format!("{}v2/web/auth-code", self.base_url)
    }

    pub(crate) fn authorize_url(&self, params: &AuthorizeParams) -> String {
        let redirect_uri = params
            .redirect_uri
            .clone()
            .unwrap_or_else(|| self.default_native_redirect_uri());
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("scope", &params.scopes)
            .append_pair("state", &params.state)
            .append_pair("response_type", "code");
        if let Some(challenge) = &params.code_challenge {
            query
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
        query.append_pair(
            "access_type",
            if params.refresh_tokens {
                "offline"
            } else {
                "online"
            },
        );
        for (name, value) in &params.query_params {
            query.append_pair(name, value);
        }
        if let Some(name) = &params.prefill_named_grant {
            query.append_pair("prefill_named_grant", name);
        }
        format!("{}v2/oauth2/authorize?{}", self.base_url, query.finish())
    }

    /// `grant_type=refresh_token`.
    pub(crate) fn refresh_request(&self, refresh_token: &Secret) -> Prepared {
        let mut form = vec![
            ("refresh_token", refresh_token.expose()),
            ("grant_type", "refresh_token"),
        ];
        self.add_native_client_id(&mut form);
        self.form_post(
            TOKEN_ENDPOINT,
            Call::Refresh,
            &form,
            [refresh_token.expose()],
        )
    }

    /// `grant_type=client_credentials`; only for confidential clients.
    pub(crate) fn client_credentials_request(&self, scopes: &str) -> Result<Prepared> {
        self.require_confidential("the client credentials grant")?;
        Ok(self.form_post(
            TOKEN_ENDPOINT,
            Call::ClientCredentials,
            &[("grant_type", "client_credentials"), ("scope", scopes)],
            None::<&str>,
        ))
    }

    /// `grant_type=authorization_code`; native clients must send a PKCE verifier.
    pub(crate) fn code_exchange_request(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
    ) -> Result<Prepared> {
        let mut form = Vec::with_capacity(5);
        if !self.is_confidential() {
            form.push(("client_id", self.client_id.as_str()));
        }
        form.push(("grant_type", "authorization_code"));
        form.push(("code", code.expose()));
        match verifier {
            Some(verifier) => form.push(("code_verifier", verifier.expose())),
            None if !self.is_confidential() => {
                return Err(AuthError::InvalidConfig(
                    "a native client must send a PKCE verifier with the code".to_owned(),
                ));
            }
            None => {}
        }
        form.push(("redirect_uri", redirect_uri));
        Ok(self.form_post(
            TOKEN_ENDPOINT,
            Call::AuthorizationCode,
            &form,
            [code.expose(), verifier.map_or("", PkceVerifier::expose)],
        ))
    }

    /// The dependent-token grant for `token` (a token a user sent to this service);
    /// confidential clients only. `refresh_tokens` asks for refresh tokens
    /// (`access_type=offline`).
    pub(crate) fn dependent_token_request(
        &self,
        token: &Secret,
        refresh_tokens: bool,
        scope: Option<&str>,
    ) -> Result<Prepared> {
        self.require_confidential("the dependent-token grant")?;
        let mut form = vec![
            ("grant_type", DEPENDENT_TOKEN_GRANT),
            ("token", token.expose()),
        ];
        if refresh_tokens {
            form.push(("access_type", "offline"));
        }
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        Ok(self.form_post(
            TOKEN_ENDPOINT,
            Call::DependentToken,
            &form,
            [token.expose()],
        ))
    }

    /// Introspection of `token`; confidential clients only. `include` is Globus Auth's list
    /// (`identity_set`, `session_info`, comma-separated).
    pub(crate) fn introspect_request(
        &self,
        token: &Secret,
        include: Option<&str>,
    ) -> Result<Prepared> {
        self.require_confidential("token introspection")?;
        let mut form = vec![("token", token.expose())];
        if let Some(include) = include {
            form.push(("include", include));
        }
        Ok(self.form_post(INTROSPECT_ENDPOINT, Call::Other, &form, [token.expose()]))
    }

    /// The userinfo request, authorized by a user's `auth.globus.org` access token.
    pub(crate) fn userinfo_request(&self, access_token: &Secret) -> Prepared {
        let mut prepared = self.json_get(
            &format!("{}{USERINFO_ENDPOINT}", self.base_url),
            Some(access_token),
        );
        USERINFO_ENDPOINT.clone_into(&mut prepared.endpoint);
        prepared
    }

    fn require_confidential(&self, what: &str) -> Result<()> {
        if self.is_confidential() {
            Ok(())
        } else {
            Err(AuthError::InvalidConfig(format!(
                "{what} needs a confidential client (with a secret)"
            )))
        }
    }

    /// Revocation of an access or refresh token.
    pub(crate) fn revoke_request(&self, token: &Secret) -> Prepared {
        let mut form = vec![("token", token.expose())];
        self.add_native_client_id(&mut form);
        self.form_post(REVOKE_ENDPOINT, Call::Revoke, &form, [token.expose()])
    }

    /// A GET of `url` (absolute) without client credentials; `bearer`, if any, is sent as
    /// `Authorization: Bearer` and kept out of errors, which name `url` without its query.
    pub(crate) fn json_get(&self, url: &str, bearer: Option<&Secret>) -> Prepared {
        Prepared {
            endpoint: url.split('?').next().unwrap_or(url).to_owned(),
            call: Call::Other,
            url: url.to_owned(),
            form_body: None,
            authorization: bearer.map(|token| format!("Bearer {}", token.expose())),
            redactor: Redactor::new(bearer.map(Secret::expose)),
        }
    }

    /// The token response in a reply to a grant, stamped with this client's clock.
    pub(crate) fn token_response(&self, reply: &Success) -> Result<TokenResponse> {
        let invalid = |reason: String| AuthError::InvalidResponse {
            endpoint: TOKEN_ENDPOINT.to_owned(),
            status: reply.status,
            reason,
        };
        require_json(reply).map_err(invalid)?;
        TokenResponse::from_json_at(&reply.body, self.clock.now_seconds())
            .map_err(|err| invalid(err.to_string()))
    }

    fn add_native_client_id<'a>(&'a self, form: &mut Vec<(&'a str, &'a str)>) {
        if !self.is_confidential() {
            form.push(("client_id", &self.client_id));
        }
    }

    /// A form POST to `endpoint` with this client's authentication; server text in errors is
    /// cleaned of `secrets` and the client secret.
    fn form_post<'s>(
        &self,
        endpoint: &'static str,
        call: Call,
        form: &[(&str, &str)],
        secrets: impl IntoIterator<Item = &'s str>,
    ) -> Prepared {
        let authorization = self
            .client_secret
            .as_ref()
            .map(|secret| basic_auth_header(&self.client_id, secret.expose()));
        let basic = authorization
            .as_deref()
            .and_then(|header| header.strip_prefix("Basic "));
        let client_secret = self.client_secret.as_ref().map(Secret::expose);
        let mut redactor_values: Vec<&str> = secrets.into_iter().collect();
        redactor_values.extend(client_secret);
        redactor_values.extend(basic);
        let redactor = Redactor::new(redactor_values);
        Prepared {
            endpoint: endpoint.to_owned(),
            call,
            url: format!("{}{endpoint}", self.base_url),
            form_body: Some(encode_form(form)),
            authorization,
            redactor,
        }
    }
}

/// Check a revocation reply: only Globus Auth's JSON answer (`{"active": false}`) says the
/// token was revoked; anything else (a proxy's HTML page, an empty body) is
/// [`AuthError::InvalidResponse`], because nothing says the token was revoked.
pub(crate) fn revoke_outcome(reply: &Success) -> Result<()> {
    let invalid = |reason: String| AuthError::InvalidResponse {
        endpoint: REVOKE_ENDPOINT.to_owned(),
        status: reply.status,
        reason: format!("{reason}; the token may not be revoked"),
    };
    if !reply.content_type.contains("json") {
        return Err(invalid(format!(
            "expected Globus Auth's JSON answer, got {}",
            describe_content_type(&reply.content_type)
        )));
    }
    match serde_json::from_slice::<serde_json::Value>(&reply.body) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(invalid("expected a JSON object".to_owned())),
        Err(_) if reply.body.is_empty() => Err(invalid("the body is empty".to_owned())),
        Err(_) => Err(invalid("the body is not valid JSON".to_owned())),
    }
}

/// The status and JSON body of a reply to [`ClientCore::json_get`].
pub(crate) fn json_body(endpoint: &str, reply: &Success) -> Result<(u16, serde_json::Value)> {
    let invalid = |reason: String| AuthError::InvalidResponse {
        endpoint: endpoint.to_owned(),
        status: reply.status,
        reason,
    };
    require_json(reply).map_err(invalid)?;
    match serde_json::from_slice(&reply.body) {
        Ok(value) => Ok((reply.status, value)),
        Err(_) if reply.body.is_empty() => Err(invalid("the body is empty".to_owned())),
        Err(err) => Err(invalid(format!(
            "the body is not valid JSON (line {}, column {})",
            err.line(),
            err.column()
        ))),
    }
}

/// Fail, with the reason for an `InvalidResponse`, unless the reply says its body is JSON.
fn require_json(reply: &Success) -> std::result::Result<(), String> {
    if reply.content_type.contains("json") {
        Ok(())
    } else {
        Err(format!(
            "expected a JSON body, got {}",
            describe_content_type(&reply.content_type)
        ))
    }
}

/// A content type for an error message.
fn describe_content_type(content_type: &str) -> String {
    if content_type.is_empty() {
        "no content type".to_owned()
    } else {
        format!(
            "content type {:?}",
            content_type.chars().take(80).collect::<String>()
        )
    }
}

/// `Basic base64(id:secret)`, UTF-8 encoded.
pub(crate) fn basic_auth_header(username: &str, password: &str) -> String {
    use base64::Engine as _;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {credentials}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_utf8_base64() {
        assert_eq!(basic_auth_header("id", "sécret"), "Basic aWQ6c8OpY3JldA==");
    }
}
