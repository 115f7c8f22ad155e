//! The `GlobusAuthorizer` trait and the authorizers that never renew.

use globus_tokens_core::Secret;

use crate::client::basic_auth_header;
use crate::error::Result;

/// Produces the `Authorization` header for requests to a Globus service.
///
/// globus-sdk's `GlobusAuthorizer` in Rust form. Implementations are `Send + Sync`: one
/// authorizer is meant to be shared by every thread of a program.
pub trait GlobusAuthorizer: Send + Sync {
    /// The header value to send (`Bearer ...`, `Basic ...`), or `None` to send no header.
    ///
    /// Renewing authorizers renew here when their token is stale.
    fn get_authorization_header(&self) -> Result<Option<String>>;

    /// Called when a request using this authorizer got HTTP 401. Returns `true` if the
    /// authorizer did something that makes a retry worthwhile (renewing kinds drop their token
    /// so the next header is a fresh one); `false` for authorizers that cannot do better.
    fn handle_missing_authorization(&self) -> bool;
}

impl<A: GlobusAuthorizer + ?Sized> GlobusAuthorizer for std::sync::Arc<A> {
    fn get_authorization_header(&self) -> Result<Option<String>> {
        (**self).get_authorization_header()
    }
    fn handle_missing_authorization(&self) -> bool {
        (**self).handle_missing_authorization()
    }
}

impl<A: GlobusAuthorizer + ?Sized> GlobusAuthorizer for Box<A> {
    fn get_authorization_header(&self) -> Result<Option<String>> {
        (**self).get_authorization_header()
    }
    fn handle_missing_authorization(&self) -> bool {
        (**self).handle_missing_authorization()
    }
}

/// Sends no `Authorization` header, for unauthenticated calls.
///
/// ```
/// use globus_authorizers::{GlobusAuthorizer, NullAuthorizer};
/// assert_eq!(NullAuthorizer.get_authorization_header()?, None);
/// assert!(!NullAuthorizer.handle_missing_authorization());
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NullAuthorizer;

impl GlobusAuthorizer for NullAuthorizer {
    fn get_authorization_header(&self) -> Result<Option<String>> {
        Ok(None)
    }
    fn handle_missing_authorization(&self) -> bool {
        false
    }
}

/// HTTP Basic authentication: `Basic base64(username:password)`, UTF-8 encoded.
///
/// ```
/// use globus_authorizers::{BasicAuthorizer, GlobusAuthorizer};
/// let auth = BasicAuthorizer::new("client-id", "sécret");
/// assert_eq!(auth.get_authorization_header()?.as_deref(), Some("Basic Y2xpZW50LWlkOnPDqWNyZXQ="));
/// assert!(!format!("{auth:?}").contains("sécret"));
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BasicAuthorizer {
    username: String,
    password: Secret,
}

impl BasicAuthorizer {
    /// Authorize as `username` with `password`.
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        BasicAuthorizer {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl GlobusAuthorizer for BasicAuthorizer {
    fn get_authorization_header(&self) -> Result<Option<String>> {
        Ok(Some(basic_auth_header(
            &self.username,
            self.password.expose(),
        )))
    }
    fn handle_missing_authorization(&self) -> bool {
        false
    }
}

/// A fixed access token, never renewed.
///
/// ```
/// use globus_authorizers::{AccessTokenAuthorizer, GlobusAuthorizer};
/// let auth = AccessTokenAuthorizer::new("AT-123");
/// assert_eq!(auth.get_authorization_header()?.as_deref(), Some("Bearer AT-123"));
/// assert!(!auth.handle_missing_authorization());
/// assert!(!format!("{auth:?}").contains("AT-123"));
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AccessTokenAuthorizer {
    access_token: Secret,
}

impl AccessTokenAuthorizer {
    /// Authorize with `access_token`.
    pub fn new(access_token: impl Into<Secret>) -> Self {
        AccessTokenAuthorizer {
            access_token: access_token.into(),
        }
    }

    /// The token.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }
}

impl GlobusAuthorizer for AccessTokenAuthorizer {
    fn get_authorization_header(&self) -> Result<Option<String>> {
        Ok(Some(format!("Bearer {}", self.access_token.expose())))
    }
    fn handle_missing_authorization(&self) -> bool {
        false
    }
}
