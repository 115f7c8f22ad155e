//! The storage side of globus-sdk's `GlobusApp` (`UserApp`, `ClientApp`) for
//! [globus-tokens](https://docs.rs/globus-tokens): where an app keeps its tokens, and the
//! validating storage that checks what is stored and read.
//!
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

pub use store::{AppStorageKind, UnknownStorageKind, open_app_storage, open_app_token_file};
