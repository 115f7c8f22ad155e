//! Token storage that validates what it stores and returns: globus-sdk's
//! `tokenstorage.v2.validating_token_storage` (`ValidatingTokenStorage`, the validators, the
//! context and the errors).
//!
//! | globus-sdk | here |
//! |---|---|
//! | `ValidatingTokenStorage` | [`ValidatingTokenStorage`] |
//! | `TokenDataValidator` | [`TokenDataValidator`] |
//! | `TokenValidationContext` | [`TokenValidationContext`] |
//! | `HasRefreshTokensValidator` | [`HasRefreshTokensValidator`] |
//! | `NotExpiredValidator` | [`NotExpiredValidator`] (with an injectable clock) |
//! | `UnchangingIdentityIDValidator` | [`UnchangingIdentityIdValidator`] |
//! | `ScopeRequirementsValidator` | [`ScopeRequirementsValidator`]: root scopes here, dependent scopes through a [`ConsentCheck`] |
//! | `TokenValidationError` and subclasses | [`TokenValidationError`] variants |
//! | `TokenStorage.id_token_decoder` | [`IdentityDecoder`]: [`VerifiedIdentityDecoder`](crate::auth::VerifiedIdentityDecoder) in the apps (signature and claims checked), [`UnverifiedIdentityDecoder`] when a storage is built by hand without one |
//!
//! `UserApp` validates with [`UnchangingIdentityIdValidator`], [`ScopeRequirementsValidator`]
//! and, first, [`HasRefreshTokensValidator`] (when it asks for refresh tokens) or
//! [`NotExpiredValidator`] (when it does not); `ClientApp` with [`ScopeRequirementsValidator`]
//! only.

mod context;
mod error;
mod identity;
mod scopes;
mod storage;
mod validators;

pub use context::{TokenValidationContext, identity_id_of};
pub use error::{BoxError, TokenValidationError};
pub use identity::{IdentityDecoder, UnverifiedIdentityDecoder};
pub use scopes::{ConsentCheck, RequiredScope, RootScope, ScopeRequirementsValidator};
pub use storage::ValidatingTokenStorage;
pub use validators::{
    HasRefreshTokensValidator, NotExpiredValidator, TokenDataByResourceServer, TokenDataValidator,
    UnchangingIdentityIdValidator,
};
