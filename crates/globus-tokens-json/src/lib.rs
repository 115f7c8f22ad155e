//! Token storage in JSON files that globus-sdk reads and writes.
//!
//! Two file formats, one type each, with globus-sdk's names in Rust form:
//!
//! - [`SimpleJsonFileAdapter`]: globus-sdk's `SimpleJSONFileAdapter`, format `"1.0"`:
//!   `{"by_rs": {RESOURCE_SERVER: {...}}, "format_version": "1.0", "globus-sdk.version": "..."}`.
//!   One set of tokens per file (namespace `DEFAULT`).
//! - [`JsonTokenStorage`]: globus-sdk's `JSONTokenStorage`, format `"2.0"`:
//!   `{"data": {NAMESPACE: {RESOURCE_SERVER: {...}}}, "format_version": "2.0", ...}`.
//!   Several namespaces per file; reads 1.0 files and upgrades them to 2.0 on the next write.
//!
//! Files are written exactly as Python's `json.dumps` writes them, with our name and version in
//! the `"globus-sdk.version"` slot, so a file can be shared by Rust and Python tools.
//!
//! Unlike the Python classes, writes are safe under concurrency: every change is a
//! read-modify-write under an exclusive lock on a sidecar `NAME.lock` file, and the new file
//! replaces the old one by an atomic rename (temporary file created 0600, flushed, renamed,
//! directory flushed). A path that is a symbolic link is followed: the link's target is locked
//! and replaced and the link stays a link; a rewritten file keeps its mode (a new one is 0600).
//! Readers take no lock and always see a whole file. A file that cannot be
//! parsed or has the wrong shape is a typed [`Error`](globus_tokens_core::Error) naming the path
//! and the problem (never a token), and a write onto it fails without touching it.
//!
//! ```
//! use globus_tokens_core::{TokenResponse, TokenStorage};
//! use globus_tokens_json::JsonTokenStorage;
//!
//! let dir = tempfile::tempdir()?;
//! let storage = JsonTokenStorage::new(dir.path().join("tokens.json"));
//! let response = TokenResponse::from_json_at(
//!     br#"{"access_token": "AT", "scope": "openid", "expires_in": 3600, "token_type": "Bearer",
//!          "resource_server": "auth.globus.org", "refresh_token": "RT", "other_tokens": []}"#,
//!     1_700_000_000,
//! )?;
//! storage.store(&response)?;
//!
//! let auth = storage.get_token_data("auth.globus.org")?.expect("just stored");
//! assert_eq!(auth.access_token.expose(), "AT");
//! assert_eq!(auth.expires_at_seconds, 1_700_003_600);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod document;
mod fast_read;
mod store;

pub use store::{JsonTokenStorage, SimpleJsonFileAdapter};
