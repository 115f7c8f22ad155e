//! Sending requests with an authorizer, retrying once after a 401 as globus-sdk's clients do.

use std::time::Duration;

use crate::authorizer::GlobusAuthorizer;
use crate::env::{SdkEnv, tls_config};
use crate::error::{AuthError, Result};
use crate::transport::transport_error;

/// A reply from [`AuthorizedAgent`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpReply {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTP client that adds an authorizer's header to each request and, on HTTP 401, calls
/// [`GlobusAuthorizer::handle_missing_authorization`] and retries once if it returns `true`.
///
/// ```no_run
/// use globus_authorizers::{AccessTokenAuthorizer, AuthorizedAgent};
/// let agent = AuthorizedAgent::new(AccessTokenAuthorizer::new("AT"));
/// let reply = agent.get("https://groups.api.globus.org/v2/groups/my_groups")?;
/// assert_eq!(reply.status, 200);
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Debug)]
pub struct AuthorizedAgent<A> {
    authorizer: A,
    agent: ureq::Agent,
}

impl<A: GlobusAuthorizer> AuthorizedAgent<A> {
    /// With a 60-second overall timeout.
    pub fn new(authorizer: A) -> Self {
        Self::with_timeout(authorizer, Duration::from_secs(60))
    }

    /// With the given overall timeout per request.
    pub fn with_timeout(authorizer: A, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("globus-authorizers/", env!("CARGO_PKG_VERSION")))
            .build();
        AuthorizedAgent {
            authorizer,
            agent: config.into(),
        }
    }

    /// With the timeout and TLS verification globus-sdk's environment variables ask for
    /// (`GLOBUS_SDK_HTTP_TIMEOUT`, default 60 s; `GLOBUS_SDK_VERIFY_SSL` and CA bundles).
    pub fn from_env(authorizer: A, env: &SdkEnv) -> Result<Self> {
        let timeout = env.http_timeout()?.unwrap_or(Some(Duration::from_secs(60)));
        let tls = tls_config(&env.tls_verification()?)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(timeout)
            .tls_config(tls)
            .user_agent(concat!("globus-authorizers/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(AuthorizedAgent {
            authorizer,
            agent: config.into(),
        })
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &A {
        &self.authorizer
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<HttpReply> {
        self.request("GET", url, None)
    }

    /// `method url` with an optional JSON body.
    pub fn request(&self, method: &str, url: &str, json_body: Option<&[u8]>) -> Result<HttpReply> {
        let reply = self.send_once(method, url, json_body)?;
        if reply.status == 401 && self.authorizer.handle_missing_authorization() {
            return self.send_once(method, url, json_body);
        }
        Ok(reply)
    }

    fn send_once(&self, method: &str, url: &str, json_body: Option<&[u8]>) -> Result<HttpReply> {
        let header = self.authorizer.get_authorization_header()?;
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        if let Some(header) = header {
            request = request.header("Authorization", header);
        }
        if json_body.is_some() {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(json_body.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|err| AuthError::InvalidConfig(format!("bad request for {url}: {err}")))?;
        let endpoint = url.split('?').next().unwrap_or(url).to_owned();
        let transport = |err: ureq::Error| transport_error(&endpoint, url, err);
        let mut response = self.agent.run(request).map_err(transport)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(transport)?;
        Ok(HttpReply {
            status,
            content_type,
            body,
        })
    }
}
