//! Native-app login for Globus Auth: fair-research-login's `NativeClient` in Rust.
//!
//! - [`NativeClient`]: [`login`](NativeClient::login) (PKCE flow through code handlers, tokens
//!   saved), [`load_tokens`](NativeClient::load_tokens) (with fair-research-login's
//!   `NoSavedTokens` / `ScopesMismatch` / `TokensExpired` rules and automatic refresh that keeps
//!   rotated refresh tokens), [`get_authorizers`](NativeClient::get_authorizers),
//!   [`save_tokens`](NativeClient::save_tokens), [`logout`](NativeClient::logout),
//!   [`revoke_token_set`](NativeClient::revoke_token_set).
//! - Login token storage ([`LoginTokenStorage`]): [`MultiClientTokenStorage`] (the INI file
//!   `~/.globus-native-apps.cfg`, byte-compatible with fair-research-login 0.3.1),
//!   [`JsonLoginTokenStorage`] (its plain JSON file), and [`TokenStorageAdapter`] for any
//!   [`globus_tokens_core::TokenStorage`] (SQLite, JSON 2.0, DynamoDB). The two file stores are
//!   also [`globus_tokens_core::TokenStorage`]s themselves.
//! - Code handlers ([`CodeHandler`]): [`LocalServerCodeHandler`] (loopback server, `state`
//!   checked) and [`InputCodeHandler`] (pasted code).
//!
//! Unlike fair-research-login, files are written atomically and owner-only under a lock,
//! refresh saves rotated refresh tokens, logout never sends a null token and leaves storage
//! untouched when a revocation fails, and no error or `Debug` output shows a token, code or
//! verifier.
//!
//! ```
//! use globus_native_login::{LoginError, MultiClientTokenStorage, NativeClient};
//!
//! let dir = tempfile::tempdir()?;
//! let client = NativeClient::builder("my-client-id")
//!     .auth_client(std::sync::Arc::new(
//!         globus_authorizers::AuthClient::builder("my-client-id").base_url("http://127.0.0.1:9/").build()?,
//!     ))
//!     .token_storage(MultiClientTokenStorage::new(dir.path().join("apps.cfg"), "my-client-id"))
//!     .build()?;
//! assert!(matches!(client.load_tokens(&["openid"]), Err(LoginError::NoSavedTokens)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod error;
pub mod handlers;
mod storage;

pub use client::{
    LoginAuthorizer, LoginOptions, NativeClient, NativeClientBuilder, TokensByResourceServer,
};
pub use error::{LoginError, Result, RevocationFailure, TokenKind};
pub use handlers::{
    BrowserOpener, CodeHandler, CodeOutcome, CodeSession, EnvLookup, HandlerContext,
    InputCodeHandler, LocalServerCodeHandler, MessageWriter, NoBrowser, SystemBrowser,
    is_remote_session,
};
pub use storage::{
    JsonLoginTokenStorage, LoginTokenStorage, MultiClientTokenStorage, TOKEN_GROUP_KEYS,
    TokenStorageAdapter, UpdateTokensFn,
};
