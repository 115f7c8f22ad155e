//! The reqwest integration: a `reqwest-middleware` middleware that authorizes every request
//! with an [`AsyncGlobusAuthorizer`] and retries once after a 401 (feature `async`).

use http::Extensions;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

use crate::AsyncGlobusAuthorizer;
use crate::env::{SdkEnv, rustls_client_config};
use crate::error::{AuthError, Result};

/// A reqwest client builder set up as globus-sdk sets up its transport, for calls to Globus
/// services (feature `async`): TLS verification and CA bundles from `GLOBUS_SDK_VERIFY_SSL`,
/// `REQUESTS_CA_BUNDLE` or `SSL_CERT_FILE` (webpki's roots otherwise, with ring's crypto, so no
/// process-wide rustls provider is needed), the `GLOBUS_SDK_HTTP_TIMEOUT` (60 s by default) and
/// our user agent. Add [`AuthorizationMiddleware`] on top with `reqwest-middleware`.
///
/// ```no_run
/// use globus_authorizers::{SdkEnv, reqwest_client_builder};
/// let http = reqwest_client_builder(&SdkEnv::process())?.build().expect("TLS is configured");
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
pub fn reqwest_client_builder(env: &SdkEnv) -> Result<reqwest::ClientBuilder> {
    let timeout = env
        .http_timeout()?
        .unwrap_or(Some(std::time::Duration::from_secs(60)));
    let mut builder = reqwest::Client::builder()
        .user_agent(crate::client::USER_AGENT)
        .tls_backend_preconfigured(rustls_client_config(&env.tls_verification()?)?);
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    Ok(builder)
}

/// Sets each request's `Authorization` header from an async authorizer; on HTTP 401 it calls
/// [`AsyncGlobusAuthorizer::handle_missing_authorization`] and, when that says a retry is
/// worthwhile (renewing authorizers drop the rejected token), sends the request once more
/// with a fresh header, as globus-sdk's clients do. A second 401 is returned to the caller.
///
/// A request whose body cannot be cloned (a stream) is not retried: its 401 is returned. An
/// authorizer that fails (e.g. login required) fails the request with
/// [`reqwest_middleware::Error::Middleware`] holding the [`AuthError`]: downcast to read it.
/// The header value is marked sensitive, so reqwest and `http` never show it in `Debug`.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{
///     AsyncRefreshTokenAuthorizer, AuthClient, AuthorizationMiddleware, SdkEnv, reqwest_client_builder,
/// };
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let auth_client = Arc::new(AuthClient::builder("my-client-id").build_async()?);
/// let authorizer = AsyncRefreshTokenAuthorizer::builder("RT", auth_client).build()?;
/// let http = reqwest_middleware::ClientBuilder::new(reqwest_client_builder(&SdkEnv::process())?.build()?)
///     .with(AuthorizationMiddleware::new(authorizer))
///     .build();
/// let groups = http.get("https://groups.api.globus.org/v2/groups/my_groups").send().await?;
/// println!("HTTP {}", groups.status());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AuthorizationMiddleware<A> {
    authorizer: A,
}

impl<A: AsyncGlobusAuthorizer> AuthorizationMiddleware<A> {
    /// Authorize requests with `authorizer` (an `Arc` of one to share it).
    pub fn new(authorizer: A) -> Self {
        AuthorizationMiddleware { authorizer }
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &A {
        &self.authorizer
    }

    async fn authorize(&self, mut request: Request) -> reqwest_middleware::Result<Request> {
        let header = self
            .authorizer
            .get_authorization_header()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        match header {
            Some(header) => {
                let mut value = HeaderValue::from_str(&header).map_err(|_| {
                    reqwest_middleware::Error::middleware(AuthError::InvalidConfig(
                        "the authorizer's header is not a valid HTTP header value".to_owned(),
                    ))
                })?;
                value.set_sensitive(true);
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            None => {
                request.headers_mut().remove(AUTHORIZATION);
            }
        }
        Ok(request)
    }
}

#[async_trait::async_trait]
impl<A: AsyncGlobusAuthorizer + 'static> Middleware for AuthorizationMiddleware<A> {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let retry = request.try_clone();
        let request = self.authorize(request).await?;
        let response = next.clone().run(request, extensions).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let url = response.url();
        // No query: it may carry anything.
        let endpoint = format!("{}{}", url.origin().ascii_serialization(), url.path());
        let Some(retry) = retry else {
            tracing::debug!(url = %endpoint, "HTTP 401, not retried: the request body cannot be cloned");
            return Ok(response);
        };
        if !self.authorizer.handle_missing_authorization() {
            return Ok(response);
        }
        tracing::info!(url = %endpoint, "HTTP 401: retrying once with a new token");
        drop(response);
        let retry = self.authorize(retry).await?;
        next.run(retry, extensions).await
    }
}
