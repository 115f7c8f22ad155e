//! SQLite token storage for [globus-tokens](https://docs.rs/globus-tokens), file-compatible with
//! globus-sdk's `SQLiteAdapter` (schema 1: tokens and named configuration, by namespace) and
//! able to open files written by its newer `SQLiteTokenStorage` (schema 2).
//!
//! A Rust tool and a Python tool can share one token database: files this crate creates have
//! exactly the tables, statements and JSON text globus-sdk 3.65.0 writes, and it reads what
//! Python wrote. Unlike the Python classes, every handle is safe to share between threads and
//! processes: writes are single transactions, and read-modify-write (token renewal) holds a
//! `BEGIN IMMEDIATE` transaction so it happens once.
//!
//! SQLite is compiled in (rusqlite's `bundled` feature); nothing needs to be installed.
//!
//! ```
//! use globus_tokens_core::{TokenResponse, TokenStorage};
//! use globus_tokens_sqlite::SqliteAdapter;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("globus").join("tokens.db");
//! let store = SqliteAdapter::open(&path)?; // creates the directory (0700) and file (0600)
//!
//! let body = br#"{"access_token": "AT", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
//!     "expires_in": 172800, "token_type": "Bearer", "resource_server": "transfer.api.globus.org",
//!     "refresh_token": "RT", "other_tokens": []}"#;
//! store.store(&TokenResponse::from_json(body)?)?;
//!
//! // Another handle (another connection, as another process would have) sees the write.
//! let again = SqliteAdapter::open(&path)?;
//! let transfer = again.get_token_data("transfer.api.globus.org")?.expect("stored above");
//! assert_eq!(transfer.access_token.expose(), "AT");
//! assert_eq!(again.schema_version().number(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod adapter;
mod builder;
mod config;
mod error;
mod open;
mod schema;
mod tokens;

pub use adapter::{MEMORY_PATH, SqliteAdapter};
pub use builder::{DEFAULT_BUSY_TIMEOUT, JournalMode, SqliteAdapterBuilder};
pub use schema::SchemaVersion;
