//! Store, load and renew Globus Auth OAuth2 tokens.
//!
//! This is the facade of the globus-tokens workspace: it re-exports the core types and, per
//! cargo feature, the storage backends. Files are compatible with the Python libraries:
//! globus-sdk (`SimpleJSONFileAdapter`, `JSONTokenStorage`, `SQLiteAdapter`,
//! `SQLiteTokenStorage`) reads what these backends write, and they read what it writes.
//!
//! | feature | default | gives |
//! |---|---|---|
//! | `json` | yes | [`SimpleJsonFileAdapter`] (format 1.0), [`JsonTokenStorage`] (format 2.0) |
//! | `sqlite` | yes | [`SqliteAdapter`] (tokens and config, namespaced) |
//! | `authorizers` | no | [`authorizers`]: `AuthClient`, the six authorizer kinds, `StorageAuthorizer` |
//! | `dynamodb` | no | [`dynamodb`]: `DynamoDbStorage` (seed and composite item layouts, blocking and async), table creation |
//! | `login` | no | [`login`]: `NativeClient` (fair-research-login), code handlers, `MultiClientTokenStorage` and `JsonLoginTokenStorage` (implies `authorizers`) |
//! | `scopes` | no | [`scopes`]: `Scope` (globus-sdk's `scope[dependent]` syntax), service scope constants, `ConsentForest` |
//! | `id-token` | no | `authorizers::IdTokenDecoder`: id_token signature and claims checked against Globus Auth's OpenID configuration and JWKS (implies `authorizers`) |
//! | `app` | no | [`app`]: globus-sdk's `GlobusApp`: `UserApp`, `ClientApp`, per-app token files at globus-sdk's paths, `ValidatingTokenStorage` and its validators, `app:NAME` store specs (implies `json`, `sqlite`, `authorizers`, `id-token`, `scopes`) |
//! | `async` | no | async code on tokio: [`AsyncTokenStorage`] and [`BlockingPool`] (any store from async code, locks kept), and in [`authorizers`] `AsyncAuthClient` (reqwest), the async authorizers, `AsyncStoreRenewal` and `AuthorizationMiddleware` for reqwest-middleware; with `app`, the apps' async authorizers (implies `authorizers`) |
//! | `full` | no | all of the above |
//!
//! [`StoreSpec`] opens any store from a string such as `sqlite:~/.globus/tokens.db` or
//! `dynamodb:TABLE?region=us-east-1`, as the `globus-tokens` command's `--store` does; a
//! scheme is available when its feature is (`frl:` comes with `login`), and a disabled one is
//! [`SpecError::SchemeDisabled`] naming the feature.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use globus_tokens::{SqliteAdapter, TokenResponse, TokenStorage};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteAdapter::open(dir.path().join("tokens.db"))?;
//! let response = TokenResponse::from_json(br#"{"access_token": "AT", "expires_in": 172800,
//!     "scope": "urn:globus:auth:scope:transfer.api.globus.org:all", "token_type": "Bearer",
//!     "resource_server": "transfer.api.globus.org", "refresh_token": "RT"}"#)?;
//! store.store(&response)?;
//! let transfer = store.get_token_data("transfer.api.globus.org")?.expect("stored above");
//! assert_eq!(transfer.access_token.expose(), "AT");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use globus_tokens_core::{
    Clock, ConfigStorage, DEFAULT_NAMESPACE, EnumerableTokenStorage, Error, ManualClock,
    MemoryTokenStorage, Result, Secret, SwapOutcome, SystemClock, TokenData, TokenDataLayout,
    TokenGrant, TokenResponse, TokenStorage, UpdateFn, WRITER_VERSION,
};

#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use globus_tokens_core::{AsyncTokenStorage, AsyncUpdateFn, BlockingPool, BoxFuture};

pub use globus_tokens_spec::{OpenError, OpenMode, SpecError, StoreSpec};

/// Store specifications in full: [`StoreSpec`] and its parts and errors.
pub mod spec {
    pub use globus_tokens_spec::*;
}

/// For backend authors: durable file writes and locks, Python-compatible JSON text, backoff and
/// compare-and-swap retries, the helpers the backends here are built from. Programs that store
/// and load tokens do not need it.
pub mod raw {
    pub use globus_tokens_core::raw::*;
}

#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use globus_tokens_sqlite::SqliteAdapter;

/// The JSON file backends, in full (feature `json`).
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub mod json {
    pub use globus_tokens_json::*;
}

/// The SQLite backend, in full (feature `sqlite`).
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite {
    pub use globus_tokens_sqlite::*;
}

/// Authorizers and the Globus Auth client, in full (feature `authorizers`).
#[cfg(feature = "authorizers")]
#[cfg_attr(docsrs, doc(cfg(feature = "authorizers")))]
pub mod authorizers {
    pub use globus_authorizers::*;
}

/// Scope strings as globus-sdk parses and writes them, service scope constants and consent
/// trees, in full (feature `scopes`).
#[cfg(feature = "scopes")]
#[cfg_attr(docsrs, doc(cfg(feature = "scopes")))]
pub mod scopes {
    pub use globus_scopes::*;
}

/// globus-sdk's `GlobusApp` (`UserApp`, `ClientApp`) and its storage, in full (feature `app`).
#[cfg(feature = "app")]
#[cfg_attr(docsrs, doc(cfg(feature = "app")))]
pub mod app {
    pub use globus_app::*;
}

/// DynamoDB token storage, in full (feature `dynamodb`).
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub mod dynamodb {
    pub use globus_tokens_dynamodb::*;
}

/// Native-app login, fair-research-login's `NativeClient` in Rust, in full (feature `login`).
#[cfg(feature = "login")]
#[cfg_attr(docsrs, doc(cfg(feature = "login")))]
pub mod login {
    pub use globus_native_login::*;
}

/// Compiles the README's Rust example as a doctest, so it cannot rot.
#[cfg(all(
    doctest,
    feature = "sqlite",
    feature = "authorizers",
    feature = "app",
    feature = "scopes",
    feature = "async",
    feature = "dynamodb"
))]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
