//! `AuthClient`: Globus Auth's OAuth2 endpoints over ureq (and, with the `async` feature,
//! `AsyncAuthClient` over reqwest, built from the same builder and requests).

mod builder;
#[cfg(feature = "async")]
mod nonblocking;
mod params;
pub(crate) mod requests;
mod services;

use std::sync::Arc;

use globus_tokens_core::{Clock, Secret, SystemClock, TokenResponse};

use crate::env::SdkEnv;
use crate::error::Result;
use crate::pkce::PkceVerifier;
use crate::transport::RetryPolicy;

pub use builder::AuthClientBuilder;
#[cfg(feature = "async")]
pub(crate) use builder::USER_AGENT;
#[cfg(feature = "async")]
pub use nonblocking::AsyncAuthClient;
pub use params::AuthorizeParams;
pub(crate) use requests::basic_auth_header;
use requests::{ClientCore, json_body, revoke_outcome};
pub use services::{TokenIntrospection, UserInfo};
use services::{introspection_from, userinfo_from};

/// A client of Globus Auth's OAuth2 endpoints: native (client id only) or confidential
/// (client id and secret, sent with HTTP Basic).
///
/// Method names follow globus-sdk's `AuthClient` (`oauth2_refresh_token`, ...). Requests are
/// form-encoded, bounded by a connect timeout and an overall timeout, and retried per
/// [`RetryPolicy`]. What the builder is not told is read from globus-sdk's environment
/// variables ([`SdkEnv`]): base URL, `GLOBUS_SDK_HTTP_TIMEOUT`, TLS verification and CA bundles.
/// Cheap to share: wrap it in an `Arc`. Async programs use `AsyncAuthClient` (feature
/// `async`), which sends the same requests and returns the same errors.
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
    core: ClientCore,
    agent: ureq::Agent,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.core.fmt(f)
    }
}

/// The accessors both clients have, written once.
macro_rules! client_accessors {
    () => {
        /// The client id.
        pub fn client_id(&self) -> &str {
            &self.core.client_id
        }

        /// Whether this client authenticates with a secret.
        pub fn is_confidential(&self) -> bool {
            self.core.is_confidential()
        }

        /// The base URL, ending in `/`.
        pub fn base_url(&self) -> &str {
            &self.core.base_url
        }

        /// The clock that stamps token responses.
        pub fn clock(&self) -> &std::sync::Arc<dyn globus_tokens_core::Clock> {
            &self.core.clock
        }

        /// The redirect URI that shows the user a code to paste: `{base}v2/web/auth-code`.
        pub fn default_native_redirect_uri(&self) -> String {
            self.core.default_native_redirect_uri()
        }

        /// The URL a user opens to log in (`{base}v2/oauth2/authorize?...`).
        pub fn oauth2_get_authorize_url(&self, params: &$crate::AuthorizeParams) -> String {
            self.core.authorize_url(params)
        }
    };
}
#[cfg(feature = "async")]
pub(crate) use client_accessors;

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
            clock: Arc::new(SystemClock) as Arc<dyn Clock>,
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

    client_accessors!();

    /// Renew with a refresh token (`grant_type=refresh_token`). A refused refresh token is
    /// [`AuthError::LoginRequired`](crate::AuthError::LoginRequired).
    pub fn oauth2_refresh_token(&self, refresh_token: &Secret) -> Result<TokenResponse> {
        let request = self.core.refresh_request(refresh_token);
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        self.core.token_response(&reply)
    }

    /// Get tokens for this confidential client itself (`grant_type=client_credentials`).
    pub fn oauth2_client_credentials_tokens(&self, scopes: &str) -> Result<TokenResponse> {
        let request = self.core.client_credentials_request(scopes)?;
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        self.core.token_response(&reply)
    }

    /// Exchange an authorization code for tokens. Native clients must pass the PKCE verifier
    /// whose challenge was in the authorize URL; confidential clients may. A code Globus Auth
    /// refuses (mistyped, used, expired, or a verifier that does not match) is
    /// [`AuthError::InvalidCode`](crate::AuthError::InvalidCode).
    pub fn oauth2_exchange_code_for_tokens(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
    ) -> Result<TokenResponse> {
        let request = self
            .core
            .code_exchange_request(code, redirect_uri, verifier)?;
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        self.core.token_response(&reply)
    }

    /// Revoke an access or refresh token.
    ///
    /// Succeeds only when Globus Auth answers 2xx with its JSON answer (`{"active": false}`): a
    /// 2xx with anything else (a proxy's HTML maintenance page, an empty body) is
    /// [`AuthError::InvalidResponse`](crate::AuthError::InvalidResponse), because nothing says
    /// the token was revoked; keep it.
    pub fn oauth2_revoke_token(&self, token: &Secret) -> Result<()> {
        let request = self.core.revoke_request(token);
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        revoke_outcome(&reply)
    }

    /// Exchange a token a user sent to this service for dependent tokens
    /// (`grant_type=urn:globus:auth:grant_type:dependent_token`): tokens for the resource servers
    /// this client's scopes depend on, acting for the same user. Confidential clients only.
    /// `refresh_tokens` asks for refresh tokens (`access_type=offline`); `scope` narrows the
    /// request. Globus Auth answers with a list of tokens, read here into the usual
    /// [`TokenResponse`]. A refused token (expired, revoked, not for this client) is
    /// [`AuthError::TokenRefused`](crate::AuthError::TokenRefused).
    pub fn oauth2_get_dependent_tokens(
        &self,
        token: &Secret,
        refresh_tokens: bool,
        scope: Option<&str>,
    ) -> Result<TokenResponse> {
        let request = self
            .core
            .dependent_token_request(token, refresh_tokens, scope)?;
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        self.core.token_response(&reply)
    }

    /// Introspect a token (`POST v2/oauth2/token/introspect`); confidential clients only.
    /// `include` is Globus Auth's list, e.g. `"identity_set,session_info"`. An expired,
    /// revoked or unknown token is `Ok` with [`TokenIntrospection::active`] false.
    pub fn oauth2_token_introspect(
        &self,
        token: &Secret,
        include: Option<&str>,
    ) -> Result<TokenIntrospection> {
        let request = self.core.introspect_request(token, include)?;
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        let (status, value) = json_body(request.endpoint(), &reply)?;
        introspection_from(value, request.endpoint(), status)
    }

    /// The identity an `auth.globus.org` access token acts for (`GET v2/oauth2/userinfo`,
    /// OpenID Connect). A token Globus Auth does not accept is
    /// [`AuthError::Api`](crate::AuthError::Api) with status 401.
    pub fn userinfo(&self, access_token: &Secret) -> Result<UserInfo> {
        let request = self.core.userinfo_request(access_token);
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        let (status, value) = json_body(request.endpoint(), &reply)?;
        userinfo_from(value, request.endpoint(), status)
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
        let request = self.core.json_get(url, bearer);
        let reply = request.exchange(&self.core).run_blocking(&self.agent)?;
        json_body(request.endpoint(), &reply)
    }
}
