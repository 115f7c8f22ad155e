//! Core of [globus-tokens](https://docs.rs/globus-tokens): the token data model, the storage
//! traits every backend implements, the error type and an in-memory store.
//!
//! The helpers backends are built from (durable file writes and locks, Python-compatible JSON
//! text, backoff and compare-and-swap retries) live in [`raw`], apart from the types programs
//! use. Most programs use the `globus-tokens` facade crate, which re-exports the root of this
//! crate.
//!
//! ```
//! use globus_tokens_core::{MemoryTokenStorage, TokenResponse, TokenStorage};
//!
//! let body = br#"{"access_token": "AT", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
//!     "expires_in": 172800, "token_type": "Bearer", "resource_server": "transfer.api.globus.org",
//!     "refresh_token": "RT", "other_tokens": []}"#;
//! let response = TokenResponse::from_json(body)?;
//! let store = MemoryTokenStorage::new();
//! store.store(&response)?;
//! let transfer = store.get_token_data("transfer.api.globus.org")?.expect("just stored");
//! assert_eq!(transfer.refresh_token.as_ref().map(|t| t.expose()), Some("RT"));
//! # Ok::<(), globus_tokens_core::Error>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "async")]
mod asynchronous;
mod clock;
mod error;
mod memory;
pub mod raw;
mod secret;
mod storage;
mod token;

#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use asynchronous::{AsyncTokenStorage, AsyncUpdateFn, BlockingPool, BoxFuture};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use memory::MemoryTokenStorage;
pub use secret::Secret;
pub use storage::{
    ConfigStorage, DEFAULT_NAMESPACE, EnumerableTokenStorage, SwapOutcome, TokenStorage, UpdateFn,
};
pub use token::{TokenData, TokenDataLayout, TokenGrant, TokenResponse};

/// The name and version written in the `"globus-sdk.version"` slot of files we create, so a file
/// tells which tool wrote it (globus-sdk only checks that the slot holds a string).
pub const WRITER_VERSION: &str = concat!("globus-tokens ", env!("CARGO_PKG_VERSION"));
