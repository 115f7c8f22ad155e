//! `AuthClient`: the Globus Auth token endpoint over ureq.

use std::sync::Arc;
use std::time::Duration;

use globus_tokens_core::{Clock, Secret, SystemClock, TokenResponse};
use serde_json::Value;

use crate::error::{AuthError, Result, TransportErrorKind};
use crate::pkce::PkceVerifier;

/// The longest response body read from Globus Auth; token responses are a few kilobytes.
const MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Server error descriptions kept in errors are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// How failed requests are retried: 429, 5xx and connection failures only, never other 4xx.
///
/// The wait before retry `n` (from 0) is `initial_backoff * 2^n`, capped at `max_backoff`,
/// with up to 25% random jitter; a `Retry-After` header (seconds) is honoured up to `max_backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Longest single wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// globus-sdk's defaults: 5 retries, 0.25 s doubling, at most 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_backoff);
        }
        let doubled = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_backoff);
        let mut jitter = [0u8; 2];
        let fraction = match getrandom::fill(&mut jitter) {
            Ok(()) => f64::from(u16::from_le_bytes(jitter)) / f64::from(u16::MAX),
            Err(_) => 0.5,
        };
        doubled.mul_f64(1.0 + 0.25 * fraction).min(self.max_backoff)
    }
}

/// The Globus Auth base URL the way globus-sdk chooses it: `GLOBUS_SDK_SERVICE_URL_AUTH` if set,
/// else by `GLOBUS_SDK_ENVIRONMENT` (`production` by default).
///
/// ```
/// // With neither variable set:
/// # if std::env::var_os("GLOBUS_SDK_SERVICE_URL_AUTH").is_none() && std::env::var_os("GLOBUS_SDK_ENVIRONMENT").is_none() {
/// assert_eq!(globus_authorizers::auth_base_url_from_env()?, "https://auth.globus.org/");
/// # }
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
pub fn auth_base_url_from_env() -> Result<String> {
    if let Ok(url) = std::env::var("GLOBUS_SDK_SERVICE_URL_AUTH") {
        return Ok(url);
    }
    let environment = std::env::var("GLOBUS_SDK_ENVIRONMENT").unwrap_or_default();
    auth_base_url_for_environment(&environment)
}

/// The Globus Auth base URL of a named Globus environment, as in globus-sdk's config.
pub fn auth_base_url_for_environment(environment: &str) -> Result<String> {
    match environment {
        "" | "production" | "default" => Ok("https://auth.globus.org/".to_owned()),
        "preview" => Ok("https://auth.preview.globus.org/".to_owned()),
        "sandbox" | "integration" | "test" | "staging" => {
            Ok(format!("https://auth.{environment}.globuscs.info/"))
        }
        other => Err(AuthError::InvalidConfig(format!(
            "unknown GLOBUS_SDK_ENVIRONMENT {other:?}; known: production, preview, sandbox, integration, test, staging"
        ))),
    }
}

/// Parameters of the authorize URL a user opens to log in.
///
/// Field order in the URL follows globus-sdk's native-app flow.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizeParams {
    /// Where Globus Auth sends the browser afterwards; `None` for the client's default
    /// (`{base}v2/web/auth-code`, which shows the code to paste).
    pub redirect_uri: Option<String>,
    /// Space-separated scopes.
    pub scopes: String,
    /// Echoed back on the redirect; check it there.
    pub state: String,
    /// `challenge` of the [`PkceVerifier`] used later in the exchange.
    pub code_challenge: Option<String>,
    /// Ask for refresh tokens (`access_type=offline`).
    pub refresh_tokens: bool,
    /// Name for the grant shown on the user's consents page.
    pub prefill_named_grant: Option<String>,
    /// Extra query parameters (e.g. `session_required_identities`), appended last.
    pub query_params: Vec<(String, String)>,
}

impl AuthorizeParams {
    /// Parameters for `scopes` with state `_default`, no refresh tokens and PKCE for `verifier`.
    pub fn new(scopes: impl Into<String>, verifier: &PkceVerifier) -> Self {
        AuthorizeParams {
            redirect_uri: None,
            scopes: scopes.into(),
            state: "_default".to_owned(),
            code_challenge: Some(verifier.challenge()),
            refresh_tokens: false,
            prefill_named_grant: None,
            query_params: Vec::new(),
        }
    }

    /// Set the redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// Set the state.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = state.into();
        self
    }

    /// Ask for refresh tokens or not.
    pub fn refresh_tokens(mut self, refresh_tokens: bool) -> Self {
        self.refresh_tokens = refresh_tokens;
        self
    }

    /// Name the grant.
    pub fn prefill_named_grant(mut self, name: impl Into<String>) -> Self {
        self.prefill_named_grant = Some(name.into());
        self
    }

    /// Add a query parameter.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query_params.push((name.into(), value.into()));
        self
    }
}

/// A client of Globus Auth's OAuth2 endpoints: native (client id only) or confidential
/// (client id and secret, sent with HTTP Basic).
///
/// Method names follow globus-sdk's `AuthClient` (`oauth2_refresh_token`, ...). Requests are
/// form-encoded, bounded by a connect timeout and an overall timeout, and retried per
/// [`RetryPolicy`]. Cheap to share: wrap it in an `Arc`.
///
/// ```
/// use globus_authorizers::{AuthClient, AuthorizeParams, PkceVerifier};
/// let client = AuthClient::builder("my-client-id").base_url("https://auth.globus.org/").build()?;
/// let verifier = PkceVerifier::generate()?;
/// let url = client.oauth2_get_authorize_url(&AuthorizeParams::new("openid", &verifier));
/// assert!(url.starts_with("https://auth.globus.org/v2/oauth2/authorize?client_id=my-client-id"));
/// assert!(!format!("{client:?}").contains("secret"));
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Clone)]
pub struct AuthClient {
    client_id: String,
    client_secret: Option<Secret>,
    base_url: String,
    agent: ureq::Agent,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret.is_some())
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthClient`].
#[derive(Debug, Clone)]
pub struct AuthClientBuilder {
    client_id: String,
    client_secret: Option<Secret>,
    base_url: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl AuthClientBuilder {
    /// Make the client confidential.
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Use this base URL instead of the one from the environment (a trailing `/` is added).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout for a whole request including the response body (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Clock used to stamp responses (expiry = received + `expires_in`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Build the client; fails on an unknown `GLOBUS_SDK_ENVIRONMENT` or an empty client id.
    pub fn build(self) -> Result<AuthClient> {
        if self.client_id.trim().is_empty() {
            return Err(AuthError::InvalidConfig(
                "the client id is empty".to_owned(),
            ));
        }
        let mut base_url = match self.base_url {
            Some(url) => url,
            None => auth_base_url_from_env()?,
        };
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(self.connect_timeout))
            .timeout_global(Some(self.timeout))
            .max_redirects(0)
            .user_agent(concat!("globus-authorizers/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(AuthClient {
            client_id: self.client_id,
            client_secret: self.client_secret,
            base_url,
            agent: config.into(),
            retry: self.retry,
            clock: self.clock,
        })
    }
}

impl AuthClient {
    /// Start building a client for `client_id`.
    pub fn builder(client_id: impl Into<String>) -> AuthClientBuilder {
        AuthClientBuilder {
            client_id: client_id.into(),
            client_secret: None,
            base_url: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// A native-app client (no secret) with defaults and the base URL from the environment.
    pub fn native(client_id: impl Into<String>) -> Result<Self> {
        Self::builder(client_id).build()
    }

    /// A confidential client (id and secret) with defaults and the base URL from the environment.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Result<Self> {
        Self::builder(client_id)
            .client_secret(client_secret)
            .build()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether this client authenticates with a secret.
    pub fn is_confidential(&self) -> bool {
        self.client_secret.is_some()
    }

    /// The base URL, ending in `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The clock that stamps token responses.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The redirect URI that shows the user a code to paste: `{base}v2/web/auth-code`.
    pub fn default_native_redirect_uri(&self) -> String {
        format!("{}v2/web/auth-code", self.base_url)
    }

    /// The URL a user opens to log in (`{base}v2/oauth2/authorize?...`).
    pub fn oauth2_get_authorize_url(&self, params: &AuthorizeParams) -> String {
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

    /// Renew with a refresh token (`grant_type=refresh_token`).
    pub fn oauth2_refresh_token(&self, refresh_token: &Secret) -> Result<TokenResponse> {
        let mut form = vec![
            ("refresh_token", refresh_token.expose()),
            ("grant_type", "refresh_token"),
        ];
        self.add_native_client_id(&mut form);
        self.token_request(&form)
    }

    /// Get tokens for this confidential client itself (`grant_type=client_credentials`).
    pub fn oauth2_client_credentials_tokens(&self, scopes: &str) -> Result<TokenResponse> {
        if !self.is_confidential() {
            return Err(AuthError::InvalidConfig(
                "the client credentials grant needs a confidential client (with a secret)"
                    .to_owned(),
            ));
        }
        self.token_request(&[("grant_type", "client_credentials"), ("scope", scopes)])
    }

    /// Exchange an authorization code for tokens. Native clients must pass the PKCE verifier
    /// whose challenge was in the authorize URL; confidential clients may.
    pub fn oauth2_exchange_code_for_tokens(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
    ) -> Result<TokenResponse> {
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
        self.token_request(&form)
    }

    /// Revoke an access or refresh token.
    pub fn oauth2_revoke_token(&self, token: &Secret) -> Result<()> {
        let mut form = vec![("token", token.expose())];
        self.add_native_client_id(&mut form);
        self.post_form("v2/oauth2/token/revoke", &form).map(|_| ())
    }

    fn add_native_client_id<'a>(&'a self, form: &mut Vec<(&'a str, &'a str)>) {
        if !self.is_confidential() {
            form.push(("client_id", &self.client_id));
        }
    }

    fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenResponse> {
        const ENDPOINT: &str = "v2/oauth2/token";
        let (status, content_type, body) = self.post_form(ENDPOINT, form)?;
        let invalid = |reason: String| AuthError::InvalidResponse {
            endpoint: ENDPOINT.to_owned(),
            status,
            reason,
        };
        if !content_type.contains("json") {
            return Err(invalid(format!(
                "expected a JSON body, got content type {content_type:?}"
            )));
        }
        TokenResponse::from_json_at(&body, self.clock.now_seconds())
            .map_err(|err| invalid(err.to_string()))
    }

    /// POST a form with retries; returns status, content type and body of a 2xx reply.
    fn post_form(&self, endpoint: &str, form: &[(&str, &str)]) -> Result<(u16, String, Vec<u8>)> {
        let url = format!("{}{endpoint}", self.base_url);
        let mut attempt = 0;
        loop {
            let outcome = self.post_once(&url, endpoint, form);
            // A timed-out request may have been processed (and a refresh token rotated), so only
            // failures that certainly did nothing, or that the server asks us to retry, are retried.
            let (retryable, retry_after) = match &outcome {
                Ok(reply) => (
                    reply.status == 429 || reply.status >= 500,
                    reply.retry_after,
                ),
                Err(AuthError::Transport { kind, .. }) => {
                    (*kind != TransportErrorKind::Timeout, None)
                }
                Err(_) => (false, None),
            };
            if !retryable || attempt >= self.retry.max_retries {
                return outcome.and_then(|reply| reply.into_success(endpoint));
            }
            std::thread::sleep(self.retry.backoff(attempt, retry_after));
            attempt += 1;
        }
    }

    fn post_once(&self, url: &str, endpoint: &str, form: &[(&str, &str)]) -> Result<Reply> {
        let mut request = self.agent.post(url).header("Accept", "application/json");
        if let Some(secret) = &self.client_secret {
            request = request.header(
                "Authorization",
                basic_auth_header(&self.client_id, secret.expose()),
            );
        }
        let mut response = request
            .send_form(form.iter().copied())
            .map_err(|err| transport_error(endpoint, err))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after")
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|err| transport_error(endpoint, err))?;
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

struct Reply {
    status: u16,
    content_type: String,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Reply {
    fn into_success(self, endpoint: &str) -> Result<(u16, String, Vec<u8>)> {
        if (200..300).contains(&self.status) {
            return Ok((self.status, self.content_type, self.body));
        }
        let (code, message) = parse_error_body(&self.body);
        if code.as_deref() == Some("invalid_grant") {
            return Err(AuthError::LoginRequired {
                resource_server: None,
                reason: if message.is_empty() {
                    "invalid_grant".to_owned()
                } else {
                    format!("invalid_grant: {message}")
                },
            });
        }
        Err(AuthError::Api {
            endpoint: endpoint.to_owned(),
            status: self.status,
            code,
            message,
        })
    }
}

/// The OAuth2 `error` / Globus `errors[0].code` and a short description from an error body.
fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, String::new());
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let first_error = value.get("errors").and_then(|errors| errors.get(0));
    let code = text(value.get("error")).or_else(|| text(first_error.and_then(|e| e.get("code"))));
    let message = text(value.get("error_description"))
        .or_else(|| text(first_error.and_then(|e| e.get("detail"))))
        .unwrap_or_default();
    (code, message.chars().take(MAX_MESSAGE_CHARS).collect())
}

/// `Basic base64(id:secret)`, UTF-8 encoded.
pub(crate) fn basic_auth_header(username: &str, password: &str) -> String {
    use base64::Engine as _;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {credentials}")
}

/// A ureq failure as a typed transport error for `endpoint`.
pub(crate) fn transport_error(endpoint: &str, err: ureq::Error) -> AuthError {
    let kind = match &err {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            TransportErrorKind::Timeout
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportErrorKind::Connect
        }
        ureq::Error::Io(_) => TransportErrorKind::Io,
        _ => TransportErrorKind::Protocol,
    };
    AuthError::Transport {
        endpoint: endpoint.to_owned(),
        kind,
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_map_like_globus_sdk() {
        assert_eq!(
            auth_base_url_for_environment("production").unwrap(),
            "https://auth.globus.org/"
        );
        assert_eq!(
            auth_base_url_for_environment("preview").unwrap(),
            "https://auth.preview.globus.org/"
        );
        assert_eq!(
            auth_base_url_for_environment("sandbox").unwrap(),
            "https://auth.sandbox.globuscs.info/"
        );
        assert!(matches!(
            auth_base_url_for_environment("nowhere"),
            Err(AuthError::InvalidConfig(_))
        ));
    }

    #[test]
    fn basic_header_is_utf8_base64() {
        assert_eq!(basic_auth_header("id", "sécret"), "Basic aWQ6c8OpY3JldA==");
    }

    #[test]
    fn error_bodies_parse_both_shapes() {
        let oauth = br#"{"error": "invalid_grant", "error_description": "expired"}"#;
        assert_eq!(
            parse_error_body(oauth),
            (Some("invalid_grant".into()), "expired".into())
        );
        let globus = br#"{"errors": [{"code": "FORBIDDEN", "detail": "nope", "status": "403"}]}"#;
        assert_eq!(
            parse_error_body(globus),
            (Some("FORBIDDEN".into()), "nope".into())
        );
        assert_eq!(parse_error_body(b"<html>"), (None, String::new()));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert!(policy.backoff(0, None) >= Duration::from_millis(250));
        assert!(policy.backoff(0, None) <= Duration::from_millis(313));
        assert_eq!(policy.backoff(10, None), Duration::from_secs(10));
        assert_eq!(
            policy.backoff(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            policy.backoff(0, Some(Duration::from_secs(300))),
            Duration::from_secs(10)
        );
    }
}
