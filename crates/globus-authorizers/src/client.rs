//! `AuthClient`: the Globus Auth token endpoint over ureq.

use std::sync::Arc;
use std::time::Duration;

use globus_tokens_core::{Clock, Secret, SystemClock, TokenResponse};

use crate::env::{SdkEnv, TlsVerification, tls_config};
use crate::error::{AuthError, Result};
use crate::pkce::PkceVerifier;
use crate::redact::Redactor;
use crate::transport::{Call, RetryPolicy, Sender, SharedRandom, Success};

/// Connect timeout unless told otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout unless told otherwise (globus-sdk's `GLOBUS_SDK_HTTP_TIMEOUT` default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

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
/// [`RetryPolicy`]. What the builder is not told is read from globus-sdk's environment
/// variables ([`SdkEnv`]): base URL, `GLOBUS_SDK_HTTP_TIMEOUT`, TLS verification and CA bundles.
/// Cheap to share: wrap it in an `Arc`.
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
    random: SharedRandom,
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
#[derive(Clone)]
pub struct AuthClientBuilder {
    client_id: String,
    client_secret: Option<Secret>,
    base_url: Option<String>,
    connect_timeout: Option<Duration>,
    /// `None`: from the environment; `Some(None)`: no timeout.
    timeout: Option<Option<Duration>>,
    tls: Option<TlsVerification>,
    env: SdkEnv,
    retry: RetryPolicy,
    random: SharedRandom,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuthClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClientBuilder")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret.is_some())
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
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

    /// Connect timeout (default 10 s, or `GLOBUS_SDK_HTTP_TIMEOUT` if shorter).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Timeout for a whole request including the response body (default:
    /// `GLOBUS_SDK_HTTP_TIMEOUT`, else 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(Some(timeout));
        self
    }

    /// No overall or connect timeout at all (what `GLOBUS_SDK_HTTP_TIMEOUT=-1` asks for).
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    /// How to check server certificates, instead of what the environment says
    /// ([`SdkEnv::tls_verification`]).
    pub fn tls_verification(mut self, verification: TlsVerification) -> Self {
        self.tls = Some(verification);
        self
    }

    /// Read globus-sdk's environment variables from `env` instead of the process environment.
    pub fn env(mut self, env: SdkEnv) -> Self {
        self.env = env;
        self
    }

    /// Retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Where backoff jitter comes from: uniform numbers in `[0, 1)` (default: the system's).
    /// For tests that need exact waits.
    pub fn backoff_random(mut self, random: impl Fn() -> f64 + Send + Sync + 'static) -> Self {
        self.random = Some(Arc::new(random));
        self
    }

    /// Clock used to stamp responses (expiry = received + `expires_in`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Build the client; fails on an empty client id, on a malformed environment variable
    /// (naming it), or on an unreadable CA bundle.
    pub fn build(self) -> Result<AuthClient> {
        if self.client_id.trim().is_empty() {
            return Err(AuthError::InvalidConfig(
                "the client id is empty".to_owned(),
            ));
        }
        let mut base_url = match self.base_url {
            Some(url) => url,
            None => self.env.auth_base_url()?,
        };
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        let timeout = match self.timeout {
            Some(timeout) => timeout,
            None => self.env.http_timeout()?.unwrap_or(Some(DEFAULT_TIMEOUT)),
        };
        let connect_timeout = match (self.connect_timeout, timeout) {
            (Some(connect), _) => Some(connect),
            (None, Some(overall)) => Some(overall.min(DEFAULT_CONNECT_TIMEOUT)),
            (None, None) => None,
        };
        let tls = match self.tls {
            Some(tls) => tls,
            None => self.env.tls_verification()?,
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(connect_timeout)
            .timeout_global(timeout)
            .max_redirects(0)
            .tls_config(tls_config(&tls)?)
            .user_agent(concat!("globus-authorizers/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(AuthClient {
            client_id: self.client_id,
            client_secret: self.client_secret,
            base_url,
            agent: config.into(),
            retry: self.retry,
            random: self.random,
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
            connect_timeout: None,
            timeout: None,
            tls: None,
            env: SdkEnv::process(),
            retry: RetryPolicy::default(),
            random: None,
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

    /// Renew with a refresh token (`grant_type=refresh_token`). A refused refresh token is
    /// [`AuthError::LoginRequired`].
    pub fn oauth2_refresh_token(&self, refresh_token: &Secret) -> Result<TokenResponse> {
        let mut form = vec![
            ("refresh_token", refresh_token.expose()),
            ("grant_type", "refresh_token"),
        ];
        self.add_native_client_id(&mut form);
        self.token_request(Call::Refresh, &form, [refresh_token.expose()])
    }

    /// Get tokens for this confidential client itself (`grant_type=client_credentials`).
    pub fn oauth2_client_credentials_tokens(&self, scopes: &str) -> Result<TokenResponse> {
        if !self.is_confidential() {
            return Err(AuthError::InvalidConfig(
                "the client credentials grant needs a confidential client (with a secret)"
                    .to_owned(),
            ));
        }
        self.token_request(
            Call::ClientCredentials,
            &[("grant_type", "client_credentials"), ("scope", scopes)],
            None::<&str>,
        )
    }

    /// Exchange an authorization code for tokens. Native clients must pass the PKCE verifier
    /// whose challenge was in the authorize URL; confidential clients may. A code Globus Auth
    /// refuses (mistyped, used, expired, or a verifier that does not match) is
    /// [`AuthError::InvalidCode`].
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
        self.token_request(
            Call::AuthorizationCode,
            &form,
            [code.expose(), verifier.map_or("", PkceVerifier::expose)],
        )
    }

    /// Revoke an access or refresh token.
    ///
    /// Succeeds only when Globus Auth answers 2xx with its JSON answer (`{"active": false}`): a
    /// 2xx with anything else (a proxy's HTML maintenance page, an empty body) is
    /// [`AuthError::InvalidResponse`], because nothing says the token was revoked; keep it.
    pub fn oauth2_revoke_token(&self, token: &Secret) -> Result<()> {
        const ENDPOINT: &str = "v2/oauth2/token/revoke";
        let mut form = vec![("token", token.expose())];
        self.add_native_client_id(&mut form);
        let reply = self.post(ENDPOINT, Call::Revoke, &form, [token.expose()])?;
        let invalid = |reason: String| AuthError::InvalidResponse {
            endpoint: ENDPOINT.to_owned(),
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

    fn add_native_client_id<'a>(&'a self, form: &mut Vec<(&'a str, &'a str)>) {
        if !self.is_confidential() {
            form.push(("client_id", &self.client_id));
        }
    }

    fn token_request<'s>(
        &self,
        call: Call,
        form: &[(&str, &str)],
        secrets: impl IntoIterator<Item = &'s str>,
    ) -> Result<TokenResponse> {
        const ENDPOINT: &str = "v2/oauth2/token";
        let reply = self.post(ENDPOINT, call, form, secrets)?;
        let invalid = |reason: String| AuthError::InvalidResponse {
            endpoint: ENDPOINT.to_owned(),
            status: reply.status,
            reason,
        };
        require_json(&reply).map_err(invalid)?;
        TokenResponse::from_json_at(&reply.body, self.clock.now_seconds())
            .map_err(|err| invalid(err.to_string()))
    }

    /// GET `url` (absolute) with the retries and error mapping of every other call, without
    /// client credentials; `bearer`, if any, is sent as `Authorization: Bearer` and kept out
    /// of errors. Returns the status and the JSON body; errors name `url` (without its query)
    /// and the status.
    pub(crate) fn get_json(
        &self,
        url: &str,
        bearer: Option<&Secret>,
    ) -> Result<(u16, serde_json::Value)> {
        let endpoint = url.split('?').next().unwrap_or(url);
        let redactor = Redactor::new(bearer.map(Secret::expose));
        let reply = Sender {
            agent: &self.agent,
            base_url: &self.base_url,
            authorization: bearer.map(|token| format!("Bearer {}", token.expose())),
            retry: self.retry,
            random: &self.random,
        }
        .get(url, endpoint, &redactor)?;
        let invalid = |reason: String| AuthError::InvalidResponse {
            endpoint: endpoint.to_owned(),
            status: reply.status,
            reason,
        };
        require_json(&reply).map_err(invalid)?;
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

    /// POST with retries; server text in errors is cleaned of `secrets` and the client secret.
    fn post<'s>(
        &self,
        endpoint: &'static str,
        call: Call,
        form: &[(&str, &str)],
        secrets: impl IntoIterator<Item = &'s str>,
    ) -> Result<Success> {
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
        Sender {
            agent: &self.agent,
            base_url: &self.base_url,
            authorization,
            retry: self.retry,
            random: &self.random,
        }
        .post_form(endpoint, call, form, &redactor)
    }
}

/// A content type for an error message.
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
