//! The error type of native login.

use std::fmt;

use globus_authorizers::AuthError;

/// A `Result` whose error is [`LoginError`].
pub type Result<T, E = LoginError> = std::result::Result<T, E>;

/// Which token of a resource server's group a revocation was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// The access token.
    Access,
    /// The refresh token.
    Refresh,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Access => "access token",
            TokenKind::Refresh => "refresh token",
        })
    }
}

/// One token that Globus Auth did not revoke, in [`LoginError::Revocation`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RevocationFailure {
    /// The resource server the token belongs to.
    pub resource_server: String,
    /// Access or refresh token.
    pub kind: TokenKind,
    /// Why the revocation failed.
    pub error: AuthError,
}

impl fmt::Display for RevocationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {}: {}",
            self.kind, self.resource_server, self.error
        )
    }
}

/// What went wrong logging in, loading, refreshing or revoking tokens.
///
/// The first four variants are fair-research-login's `LoadError` family: [`LoginError::is_load_error`]
/// tells them apart, and [`crate::NativeClient::login`] starts a login flow after any of them.
/// No variant carries a token, an authorization code or a PKCE verifier; values from the
/// browser's redirect are cut short and given as text only where they are error codes.
///
/// ```
/// use globus_native_login::LoginError;
/// let err = LoginError::ScopesMismatch { missing: vec!["openid".into()] };
/// assert_eq!(err.to_string(), "requested scopes not found: openid; a login is required");
/// assert!(err.is_load_error());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// No token storage is configured (fair-research-login's `TokenStorageDisabled`).
    #[error("token storage is disabled: no token storage is set on this client")]
    StorageDisabled,

    /// The storage holds no tokens (`NoSavedTokens`).
    #[error("no tokens were loaded: a login is required")]
    NoSavedTokens,

    /// Saved tokens do not cover every requested scope (`ScopesMismatch`).
    #[error("requested scopes not found: {}; a login is required", missing.join(", "))]
    ScopesMismatch {
        /// The requested scopes no saved token has, sorted.
        missing: Vec<String>,
    },

    /// Saved tokens have expired and cannot be refreshed (`TokensExpired`).
    #[error("tokens expired for {}{}", resource_servers.join(", "), reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    TokensExpired {
        /// The resource servers whose tokens expired.
        resource_servers: Vec<String>,
        /// Why they could not be refreshed, when a refresh was attempted.
        reason: Option<String>,
    },

    /// Globus Auth sent the browser back with an error (the user declined consent, ...).
    #[error("Globus Auth returned an error to the redirect: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Consent {
        /// The OAuth2 `error` code, e.g. `access_denied`.
        error: String,
        /// The `error_description`, when given (shortened).
        description: Option<String>,
    },

    /// Every code handler was unavailable or cancelled (fair-research-login's `AuthFailure`).
    #[error("failed to get an authorization code from Globus Auth: {}", if tried.is_empty() { "no code handler is available".to_owned() } else { format!("cancelled or unavailable: {}", tried.join(", ")) })]
    NoAuthorizationCode {
        /// The handlers tried, in order.
        tried: Vec<String>,
    },

    /// The local server waited longer than its timeout for the browser's redirect.
    #[error("timed out after {seconds} s waiting for the browser to return to {redirect_uri}")]
    LocalServerTimeout {
        /// The redirect URI the server was listening on.
        redirect_uri: String,
        /// The timeout.
        seconds: u64,
    },

    /// A code handler failed (binding the local server, reading the terminal, ...).
    #[error("{handler}: {message}")]
    Handler {
        /// The handler's name.
        handler: String,
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<std::io::Error>,
    },

    /// Stored tokens are not a valid token group (fair-research-login's `InvalidTokenFormat`).
    #[error("invalid token group for {resource_server}: {reason}")]
    InvalidTokenFormat {
        /// The resource server of the group.
        resource_server: String,
        /// What is wrong (never the value).
        reason: String,
    },

    /// Some tokens could not be revoked; storage was left untouched.
    #[error("could not revoke {} token(s): {}", failures.len(), failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Revocation {
        /// Each token that failed, with its error.
        failures: Vec<RevocationFailure>,
    },

    /// The client was configured inconsistently (no scopes to request, bad builder input).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// Reading or writing token storage failed.
    #[error("token storage: {0}")]
    Storage(#[from] globus_tokens_core::Error),

    /// A Globus Auth request failed.
    #[error("Globus Auth: {0}")]
    Auth(#[from] AuthError),
}

impl LoginError {
    /// Whether this is one of fair-research-login's `LoadError`s: storage disabled, no saved
    /// tokens, scopes mismatch or tokens expired. A login flow fixes these.
    pub fn is_load_error(&self) -> bool {
        matches!(
            self,
            LoginError::StorageDisabled
                | LoginError::NoSavedTokens
                | LoginError::ScopesMismatch { .. }
                | LoginError::TokensExpired { .. }
        )
    }

    /// Whether the user has to log in (again): a load error, or Globus Auth said `invalid_grant`.
    pub fn is_login_required(&self) -> bool {
        self.is_load_error() || matches!(self, LoginError::Auth(err) if err.is_login_required())
    }

    pub(crate) fn handler(
        handler: &str,
        message: impl Into<String>,
        source: std::io::Error,
    ) -> Self {
        LoginError::Handler {
            handler: handler.to_owned(),
            message: message.into(),
            source: Some(source),
        }
    }
}

/// Shorten text that came from outside (a redirect's `error_description`) for an error message.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    let cleaned: String = text.chars().filter(|c| !c.is_control()).take(MAX).collect();
    if text.chars().count() > MAX {
        format!("{cleaned}…")
    } else {
        cleaned
    }
}
