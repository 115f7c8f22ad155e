//! Errors from Globus Auth calls and authorizers.

use std::sync::Arc;

/// A `Result` whose error is [`AuthError`].
pub type Result<T, E = AuthError> = std::result::Result<T, E>;

/// What went wrong getting or renewing a token.
///
/// Cloneable, so a failed renewal can be handed to every thread that was waiting on it.
/// No variant carries a token, secret, authorization code or PKCE verifier: text from the server
/// (error codes and descriptions) is cut to a short length and has the values of the request's
/// credentials and anything shaped like a token replaced by `[REDACTED]` before it gets here.
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

    /// Globus Auth refused an authorization code (`invalid_grant` in the code exchange): it was
    /// mistyped, already used, or expired, or the PKCE verifier does not match. Log in again.
    #[error("the authorization code was wrong, already used or expired: log in again{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") })]
    InvalidCode {
        /// Globus Auth's description, shortened and redacted.
        reason: String,
    },

    /// Globus Auth refused the token a service offered for a dependent-token grant (expired,
    /// revoked, or not issued for this client): the user must present a new one.
    #[error("the offered token was refused for a dependent-token grant (expired, revoked or not for this client){}", if reason.is_empty() { String::new() } else { format!(": {reason}") })]
    TokenRefused {
        /// Globus Auth's description, shortened and redacted.
        reason: String,
    },

    /// A request was retried as often as the [`RetryPolicy`](crate::RetryPolicy) allows and
    /// failed every time. Not temporary: the retrying already happened.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made, the first included.
        attempts: u32,
        /// The last attempt's error.
        last: Box<AuthError>,
    },

    /// An environment variable has a value that cannot be used.
    #[error("environment variable {variable}={value:?}: {reason}")]
    InvalidEnvVar {
        /// The variable, e.g. `GLOBUS_SDK_ENVIRONMENT`.
        variable: &'static str,
        /// Its value (these variables hold no secrets).
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Globus Auth answered with an error status.
    #[error("{endpoint} returned HTTP {status}{}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), if message.is_empty() { String::new() } else { format!(": {message}") })]
    Api {
        /// The endpoint path, e.g. `v2/oauth2/token`, or the URL of a GET (the discovery
        /// document, the key set, consents).
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
        /// The endpoint path, or the URL of a GET.
        endpoint: String,
        /// What kind of failure.
        kind: TransportErrorKind,
        /// Details from the HTTP client.
        message: String,
    },

    /// A success status with a body that is not a usable answer (token response, discovery
    /// document, key set, consents).
    #[error("{endpoint} returned an unusable response (HTTP {status}): {reason}")]
    InvalidResponse {
        /// The endpoint path, or the URL of a GET.
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
    /// Another I/O failure mid-exchange.
    Io,
    /// The connection broke: reset by the peer, or closed before a complete answer.
    Reset,
    /// The TLS handshake failed, e.g. the server's certificate is not trusted.
    Tls,
    /// Another protocol failure.
    Protocol,
}

impl std::fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::Io => "connection error",
            TransportErrorKind::Reset => "connection reset",
            TransportErrorKind::Tls => "TLS error",
            TransportErrorKind::Protocol => "protocol error",
        })
    }
}

impl AuthError {
    /// Whether retrying later may succeed: transport failures other than TLS, 429 and 5xx,
    /// storage errors the store marks temporary. Not [`AuthError::RetriesExhausted`].
    pub fn is_temporary(&self) -> bool {
        match self {
            // A certificate the client does not trust stays untrusted.
            AuthError::Transport { kind, .. } => *kind != TransportErrorKind::Tls,
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
