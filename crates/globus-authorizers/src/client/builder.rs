//! [`AuthClientBuilder`]: one set of settings for the blocking and the async client.

use std::sync::Arc;
use std::time::Duration;

use globus_tokens_core::{Clock, Secret};

use crate::env::{SdkEnv, TlsVerification, tls_config};
use crate::error::{AuthError, Result};
use crate::transport::{RetryPolicy, SharedRandom};

use super::AuthClient;
use super::requests::ClientCore;

/// Connect timeout unless told otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout unless told otherwise (globus-sdk's `GLOBUS_SDK_HTTP_TIMEOUT` default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Sent by both clients.
pub(crate) const USER_AGENT: &str = concat!("globus-authorizers/", env!("CARGO_PKG_VERSION"));

/// How requests go over the wire, resolved from the builder and the environment.
pub(crate) struct HttpSettings {
    pub(crate) connect_timeout: Option<Duration>,
    /// `None`: no overall timeout.
    pub(crate) timeout: Option<Duration>,
    pub(crate) tls: TlsVerification,
}

/// Builds an [`AuthClient`].
#[derive(Clone)]
pub struct AuthClientBuilder {
    pub(super) client_id: String,
    pub(super) client_secret: Option<Secret>,
    pub(super) base_url: Option<String>,
    pub(super) connect_timeout: Option<Duration>,
    /// `None`: from the environment; `Some(None)`: no timeout.
    pub(super) timeout: Option<Option<Duration>>,
    pub(super) tls: Option<TlsVerification>,
    pub(super) env: SdkEnv,
    pub(super) retry: RetryPolicy,
    pub(super) random: SharedRandom,
    pub(super) clock: Arc<dyn Clock>,
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
        let (core, settings) = self.resolve()?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(settings.connect_timeout)
            .timeout_global(settings.timeout)
            .max_redirects(0)
            .tls_config(tls_config(&settings.tls)?)
            .user_agent(USER_AGENT)
            .build();
        Ok(AuthClient {
            core,
            agent: config.into(),
        })
    }

    /// Build an [`AsyncAuthClient`](crate::AsyncAuthClient) (reqwest) with the same settings
    /// and the same checks as [`Self::build`].
    #[cfg(feature = "async")]
    #[cfg_attr(docsrs, doc(cfg(feature = "async")))]
    pub fn build_async(self) -> Result<crate::AsyncAuthClient> {
        let (core, settings) = self.resolve()?;
        crate::AsyncAuthClient::from_parts(core, &settings)
    }

    /// The client's identity and the HTTP settings, from what the builder was told and, for
    /// the rest, the environment.
    fn resolve(self) -> Result<(ClientCore, HttpSettings)> {
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
        let core = ClientCore {
            client_id: self.client_id,
            client_secret: self.client_secret,
            base_url,
            retry: self.retry,
            random: self.random,
            clock: self.clock,
        };
        Ok((
            core,
            HttpSettings {
                connect_timeout,
                timeout,
                tls,
            },
        ))
    }
}
