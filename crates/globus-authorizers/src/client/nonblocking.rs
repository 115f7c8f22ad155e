//! `AsyncAuthClient`: the same requests as `AuthClient`, over reqwest.

use globus_tokens_core::{Secret, TokenResponse};

use crate::env::rustls_client_config;
use crate::error::{AuthError, Result};
use crate::pkce::PkceVerifier;

use super::builder::{HttpSettings, USER_AGENT};
use super::requests::{ClientCore, json_body, revoke_outcome};
use super::services::{introspection_from, userinfo_from};
use super::{AuthClient, AuthClientBuilder, client_accessors};
use super::{TokenIntrospection, UserInfo};

/// [`AuthClient`] for async code (feature `async`): the same grants, requests, retries,
/// timeouts, TLS settings and errors, sent with reqwest so that no call blocks the runtime.
///
/// Built by the same [`AuthClientBuilder`] ([`AuthClientBuilder::build_async`]), so globus-sdk's
/// environment variables apply as for the blocking client. Needs a tokio runtime. Cheap to
/// clone (the connection pool is shared). Dropping a call's future abandons its request.
///
/// ```no_run
/// use globus_authorizers::{AsyncAuthClient, AuthClient};
/// use globus_tokens_core::Secret;
/// # async fn run() -> Result<(), globus_authorizers::AuthError> {
/// let client = AuthClient::builder("my-client-id").build_async()?;
/// let response = client.oauth2_refresh_token(&Secret::new("RT")).await?;
/// println!("{:?}", response.by_resource_server().keys().collect::<Vec<_>>());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncAuthClient {
    core: ClientCore,
    http: reqwest::Client,
}

impl std::fmt::Debug for AsyncAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.core.fmt(f)
    }
}

impl AsyncAuthClient {
    /// Start building a client for `client_id`; finish with [`AuthClientBuilder::build_async`].
    pub fn builder(client_id: impl Into<String>) -> AuthClientBuilder {
        AuthClient::builder(client_id)
    }

    /// A native-app client (no secret) with defaults and the base URL from the environment.
    pub fn native(client_id: impl Into<String>) -> Result<Self> {
        Self::builder(client_id).build_async()
    }

    /// A confidential client (id and secret) with defaults and the base URL from the environment.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Result<Self> {
        Self::builder(client_id)
            .client_secret(client_secret)
            .build_async()
    }

    pub(crate) fn from_parts(core: ClientCore, settings: &HttpSettings) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(rustls_client_config(&settings.tls)?);
        if let Some(timeout) = settings.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = settings.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        let http = builder.build().map_err(|err| {
            AuthError::InvalidConfig(format!("cannot build the HTTP client: {err}"))
        })?;
        Ok(AsyncAuthClient { core, http })
    }

    client_accessors!();

    /// Renew with a refresh token (`grant_type=refresh_token`). A refused refresh token is
    /// [`AuthError::LoginRequired`].
    pub async fn oauth2_refresh_token(&self, refresh_token: &Secret) -> Result<TokenResponse> {
        let request = self.core.refresh_request(refresh_token);
        let reply = request.exchange(&self.core).run_async(&self.http).await?;
        self.core.token_response(&reply)
    }

    /// Get tokens for this confidential client itself (`grant_type=client_credentials`).
    pub async fn oauth2_client_credentials_tokens(&self, scopes: &str) -> Result<TokenResponse> {
        let request = self.core.client_credentials_request(scopes)?;
        let reply = request.exchange(&self.core).run_async(&self.http).await?;
        self.core.token_response(&reply)
    }

    /// Exchange an authorization code for tokens; see
    /// [`AuthClient::oauth2_exchange_code_for_tokens`].
    pub async fn oauth2_exchange_code_for_tokens(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
    ) -> Result<TokenResponse> {
        let request = self
            .core
            .code_exchange_request(code, redirect_uri, verifier)?;
        let reply = request.exchange(&self.core).run_async(&self.http).await?;
        self.core.token_response(&reply)
    }

    /// Dependent tokens for a token a user sent to this service; see
    /// [`AuthClient::oauth2_get_dependent_tokens`].
    pub async fn oauth2_get_dependent_tokens(
        &self,
        token: &Secret,
        refresh_tokens: bool,
        scope: Option<&str>,
    ) -> Result<TokenResponse> {
        let request = self
            .core
            .dependent_token_request(token, refresh_tokens, scope)?;
        let reply = request.exchange(&self.core).run_async(&self.http).await?;
        self.core.token_response(&reply)
    }

    /// Introspect a token; see [`AuthClient::oauth2_token_introspect`].
    pub async fn oauth2_token_introspect(
        &self,
        token: &Secret,
        include: Option<&str>,
    ) -> Result<TokenIntrospection> {
        let request = self.core.introspect_request(token, include)?;
        let reply = request.exchange(&self.core).run_async(&self.http).await?;
        let (status, value) = json_body(request.endpoint(), &reply)?;
        introspection_from(value, request.endpoint(), status)
    }

    /// The identity an `auth.globus.org` access token acts for; see [`AuthClient::userinfo`].
    pub async fn userinfo(&self, access_token: &Secret) -> Result<UserInfo> {
        let request = self.core.userinfo_request(access_token);
        let reply = request.exchange(&self.core).run_async(&self.http).await?;
        let (status, value) = json_body(request.endpoint(), &reply)?;
        userinfo_from(value, request.endpoint(), status)
    }

    /// Revoke an access or refresh token; see [`AuthClient::oauth2_revoke_token`].
    pub async fn oauth2_revoke_token(&self, token: &Secret) -> Result<()> {
        let request = self.core.revoke_request(token);
        let reply = request.exchange(&self.core).run_async(&self.http).await?;
        revoke_outcome(&reply)
    }
}
