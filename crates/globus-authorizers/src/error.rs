//! Errors from Globus Auth calls and authorizers.

use std::sync::Arc;

/// A `Result` whose error is [`AuthError`].
pub type Result<T, E = AuthError> = std::result::Result<T, E>;

/// What went wrong getting or renewing a token.
///
/// Cloneable, so a failed renewal can be handed to every thread that was waiting on it.
/// No variant carries a token, secret, authorization code or PKCE verifier; server error
/// descriptions are kept (Globus Auth does not echo credentials in them) but cut to a short length.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Globus Auth refused the grant: the refresh token or code is invalid, expired or revoked,
    /// or there are no usable tokens. The user must log in again.
    #[error("login required{}: {reason}", resource_server.as_deref().map(|rs| format!(" for {rs}")).unwrap_or_default())]
    LoginRequired {
        /// The resource server concerned, when known.
        resource_server: Option<String>,
        /// Why, e.g. `invalid_grant: refresh token revoked` or `no tokens stored`.
        reason: String,
    },

    /// Globus Auth answered with an error status.
    #[error("{endpoint} returned HTTP {status}{}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), if message.is_empty() { String::new() } else { format!(": {message}") })]
    Api {
        /// The endpoint path, e.g. `v2/oauth2/token`.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The Globus/OAuth2 error code (`invalid_grant`, `invalid_client`, ...), when given.
        code: Option<String>,
        /// The server's description, shortened.
        message: String,
    },

    /// The request did not complete: connection refused or reset, DNS failure, timeout.
    #[error("{endpoint}: {kind}: {message}")]
    Transport {
        /// The endpoint path.
        endpoint: String,
        /// What kind of failure.
        kind: TransportErrorKind,
        /// Details from the HTTP client.
        message: String,
    },

    /// A success status with a body that is not a usable token response.
    #[error("{endpoint} returned an unusable response (HTTP {status}): {reason}")]
    InvalidResponse {
        /// The endpoint path.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },

    /// A renewal returned tokens for other than exactly one resource server.
    #[error("expected tokens for exactly one resource server when renewing {context}, got {}", if found.is_empty() { "none".to_owned() } else { found.join(", ") })]
    UnexpectedResourceServers {
        /// What was being renewed: the requested scopes or the resource server.
        context: String,
        /// The resource servers in the response.
        found: Vec<String>,
    },

    /// The `on_refresh` callback failed. The new token was kept and will be used.
    #[error("on_refresh callback failed after renewing {resource_server}: {message}")]
    OnRefresh {
        /// The resource server that was renewed.
        resource_server: String,
        /// The callback's error, as text.
        message: String,
    },

    /// Reading or writing the token store failed.
    #[error("token storage: {0}")]
    Storage(#[source] Arc<globus_tokens_core::Error>),

    /// The authorizer or client was configured inconsistently.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

/// Kinds of [`AuthError::Transport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The configured timeout expired (connect or overall).
    Timeout,
    /// The connection could not be made (refused, unreachable, DNS).
    Connect,
    /// The connection broke mid-exchange (reset, closed early).
    Io,
    /// TLS or other protocol failure.
    Protocol,
}

impl std::fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::Io => "connection error",
            TransportErrorKind::Protocol => "protocol error",
        })
    }
}

impl AuthError {
    /// Whether retrying later may succeed: transport failures, 429 and 5xx, storage errors the
    /// store marks temporary.
    pub fn is_temporary(&self) -> bool {
        match self {
            AuthError::Transport { .. } => true,
            AuthError::Api { status, .. } => *status == 429 || *status >= 500,
            AuthError::Storage(err) => err.is_temporary(),
            _ => false,
        }
    }

    /// Whether the user has to log in again (an `invalid_grant`, or no usable tokens).
    pub fn is_login_required(&self) -> bool {
        matches!(self, AuthError::LoginRequired { .. })
    }
}

impl From<globus_tokens_core::Error> for AuthError {
    fn from(err: globus_tokens_core::Error) -> Self {
        AuthError::Storage(Arc::new(err))
    }
}
