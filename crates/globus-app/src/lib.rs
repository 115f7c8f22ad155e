//! globus-sdk's `GlobusApp` (`UserApp`, `ClientApp`) for
//! [globus-tokens](https://docs.rs/globus-tokens): apps that log in, keep their tokens where
//! globus-sdk keeps them, validate them and hand out authorizers.
//!
//! - [`app`]: [`UserApp`] (a person logs in: pasted code or local server), [`ClientApp`]
//!   (client credentials), [`GlobusAppConfig`], and the [`GlobusApp`] methods (`authorizer`,
//!   `login`, `login_required`,
//!   `logout`, `add_scope_requirements`). A Rust app and a Python app with the same client id
//!   and app name share their logins (`scripts/interop-app` checks it against globus-sdk 3.65).
//! - [`paths`]: the per-app token file, `~/.globus/app/{client_id}/{app}/[{env}-]tokens.json`
//!   (or `.db`), computed exactly as globus-sdk 3.65 computes it, so a Rust program and a Python
//!   one with the same client id and app name share one file.
//! - [`open_app_storage`]: that file opened as globus-sdk opens it: `JsonTokenStorage` (format
//!   2.0), or SQLite in `SQLiteTokenStorage`'s layout (schema 2), or memory; namespace
//!   `DEFAULT`, files owner-only.
//! - [`validating`]: [`ValidatingTokenStorage`](validating::ValidatingTokenStorage), which runs
//!   validators (identity unchanged, not expired, has refresh tokens, scope requirements met)
//!   before tokens are stored and after they are read, as globus-sdk's
//!   `tokenstorage.v2.validating_token_storage` does.
//! - [`auth`]: what validation asks Globus Auth: the user's consents for dependent scope
//!   requirements ([`AuthConsentCheck`](auth::AuthConsentCheck)) and verified `id_token`s
//!   ([`VerifiedIdentityDecoder`](auth::VerifiedIdentityDecoder)).
//!
//! A user app against the real Globus Auth (`tests/user_app.rs` runs the same calls against
//! the fake Globus Auth, playing the user):
//!
//! ```no_run
//! use globus_app::app::{GlobusApp, GlobusAppConfig, UserApp};
//! use globus_app::AppStorageKind;
//! use globus_scopes::{Scope, TransferScopes};
//!
//! let config = GlobusAppConfig::default()
//!     .with_token_storage(AppStorageKind::Sqlite)
//!     .with_request_refresh_tokens(true);
//! let app = UserApp::new("My App", "my-native-client-id", config)?;
//! app.add_scope_requirements(
//!     [("transfer.api.globus.org".to_owned(), Scope::parse(TransferScopes::ALL)?)].into(),
//! );
//! // Prints a URL and reads the pasted code only when the stored tokens do not do.
//! let authorizer = app.authorizer("transfer.api.globus.org")?;
//! let header = authorizer.get_authorization_header()?; // renewed through the store when stale
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The storage side alone:
//!
//! ```
//! use globus_app::validating::{UnchangingIdentityIdValidator, ValidatingTokenStorage};
//! use globus_app::{AppStorageKind, open_app_storage, paths::AppLocation};
//! use globus_tokens_core::TokenStorage;
//!
//! let root = tempfile::tempdir()?;
//! let location = AppLocation::in_root(root.path(), "my-client-id", "My App", "production")?;
//! let store = open_app_storage(&location, AppStorageKind::Json)?;
//! assert_eq!(store.namespace(), "DEFAULT");
//!
//! let store = ValidatingTokenStorage::new(store)?.with_validator(UnchangingIdentityIdValidator);
//! assert_eq!(store.identity_id(), None); // nothing stored yet
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod app;
pub mod auth;
pub mod paths;
mod store;
pub mod validating;

pub use app::{AppError, ClientApp, GlobusApp, GlobusAppConfig, UserApp};
pub use store::{AppStorageKind, UnknownStorageKind, open_app_storage, open_app_token_file};
