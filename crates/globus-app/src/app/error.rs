//! What can go wrong in a [`UserApp`](super::UserApp) or [`ClientApp`](super::ClientApp).

use crate::paths::AppPathError;
use crate::validating::TokenValidationError;

/// Why an app call failed. No variant carries a token, code, secret or `id_token`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The stored tokens failed validation and the handler did not (or could not) resolve it;
    /// [`TokenValidationError::IdentityMismatch`] is never resolved by logging in.
    #[error("token validation: {0}")]
    Validation(#[from] TokenValidationError),
    /// Globus Auth refused or could not be reached (code exchange, client credentials,
    /// revocation, renewal).
    #[error("Globus Auth: {0}")]
    Auth(#[from] globus_authorizers::AuthError),
    /// The login flow failed (the local server could not start, consent was declined, ...).
    #[error("login flow: {0}")]
    LoginFlow(#[from] globus_native_login::LoginError),
    /// The login flow ended without an authorization code (the user gave up).
    #[error("the {flow} login flow ended without an authorization code")]
    LoginCancelled {
        /// The flow's name.
        flow: String,
    },
    /// The token storage failed.
    #[error("token storage: {0}")]
    Storage(#[from] globus_tokens_core::Error),
    /// The app's token file location could not be worked out.
    #[error("token file location: {0}")]
    Path(#[from] AppPathError),
    /// A scope requirement does not parse, or requirements cannot be merged.
    #[error("scope requirements: {0}")]
    Scope(#[from] globus_scopes::ScopeParseError),
    /// The app was configured in a way that cannot work (e.g. a `ClientApp` without a secret).
    #[error("invalid app configuration: {0}")]
    InvalidConfig(String),
}

impl AppError {
    /// The validation error inside, if this is one (directly or from a storage error).
    pub fn validation_error(&self) -> Option<&TokenValidationError> {
        match self {
            AppError::Validation(err) => Some(err),
            other => TokenValidationError::find_in(other),
        }
    }

    /// Whether retrying later may succeed.
    pub fn is_temporary(&self) -> bool {
        match self {
            AppError::Validation(err) => err.is_temporary(),
            AppError::Auth(err) => err.is_temporary(),
            AppError::Storage(err) => err.is_temporary(),
            _ => false,
        }
    }
}
