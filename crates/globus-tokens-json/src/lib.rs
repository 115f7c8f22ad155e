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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globus_tokens_core::{
    DEFAULT_NAMESPACE, EnumerableTokenStorage, Result, SwapOutcome, TokenData, TokenResponse,
    TokenStorage, UpdateFn,
};

mod file;

use file::{Format, JsonFile};

/// globus-sdk's `SimpleJSONFileAdapter`: tokens for one user in a format-`"1.0"` JSON file.
///
/// The file looks like
/// `{"by_rs": {RS: {"scope", "access_token", "refresh_token", "token_type",
/// "expires_at_seconds", "resource_server"}}, "format_version": "1.0", "globus-sdk.version": "..."}`,
/// byte for byte as globus-sdk writes it (`refresh_token` is `null` when there is none). A
/// store merges per resource server; top-level keys other tools added are kept in place.
///
/// There is one namespace, `DEFAULT`. A file in another format (such as a 2.0 file written by
/// [`JsonTokenStorage`]) is refused with
/// [`Error::UnsupportedFormatVersion`](globus_tokens_core::Error::UnsupportedFormatVersion),
/// as globus-sdk refuses it.
///
/// ```
/// use globus_tokens_core::{TokenData, TokenStorage};
/// use globus_tokens_json::SimpleJsonFileAdapter;
///
/// let dir = tempfile::tempdir()?;
/// let adapter = SimpleJsonFileAdapter::new(dir.path().join("tokens.json"));
/// assert!(!adapter.file_exists());
///
/// let data = TokenData::new("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all", "AT", 2_000_000_000);
/// adapter.store_token_data(&[(data.resource_server.clone(), data)].into())?;
/// let text = std::fs::read_to_string(adapter.path())?;
/// assert!(text.starts_with(r#"{"by_rs": {"transfer.api.globus.org": {"scope": "#));
/// assert!(text.contains(r#""refresh_token": null"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SimpleJsonFileAdapter {
    file: JsonFile,
}

impl SimpleJsonFileAdapter {
    /// The `format_version` this type writes.
    pub const FORMAT_VERSION: &'static str = Format::V1.version();

    /// The `format_version`s this type reads.
    pub const SUPPORTED_VERSIONS: &'static [&'static str] = Format::V1.readable();

    /// An adapter for the file at `path`. Nothing is read or created until it is used.
    ///
    /// ```
    /// let adapter = globus_tokens_json::SimpleJsonFileAdapter::new("/nonexistent/tokens.json");
    /// assert_eq!(adapter.path(), std::path::Path::new("/nonexistent/tokens.json"));
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SimpleJsonFileAdapter {
            file: JsonFile::new(path.into(), Format::V1, DEFAULT_NAMESPACE.to_owned()),
        }
    }

    /// The token file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Whether the token file exists (globus-sdk's `file_exists()`).
    pub fn file_exists(&self) -> bool {
        self.file.exists()
    }
}

/// globus-sdk's `JSONTokenStorage`: tokens in namespaces of a format-`"2.0"` JSON file.
///
/// The file looks like `{"data": {NAMESPACE: {RS: {"resource_server", "identity_id", "scope",
/// "access_token", "refresh_token", "expires_at_seconds", "token_type"}}}, "format_version":
/// "2.0", "globus-sdk.version": "..."}`, byte for byte as globus-sdk writes it (absent values
/// are left out). Each handle is bound to one namespace, `DEFAULT` unless made with
/// [`JsonTokenStorage::with_namespace`]; handles on the same file share it safely.
///
/// A 1.0 file (from [`SimpleJsonFileAdapter`] or globus-sdk's `SimpleJSONFileAdapter`) reads as
/// namespace `DEFAULT` and is rewritten as 2.0 on the next write, keeping its entries as they
/// were and any top-level keys other tools added.
///
/// Removing a namespace's last resource server leaves the namespace as an empty object in the
/// file, as globus-sdk does; [`EnumerableTokenStorage::namespaces`] does not list it.
///
/// ```
/// use globus_tokens_core::{EnumerableTokenStorage, TokenData, TokenStorage};
/// use globus_tokens_json::JsonTokenStorage;
///
/// let dir = tempfile::tempdir()?;
/// let default = JsonTokenStorage::new(dir.path().join("tokens.json"));
/// let bob = default.with_namespace("userprofile/bob");
///
/// let data = TokenData::new("auth.globus.org", "openid", "AT-bob", 2_000_000_000)
///     .with_identity_id("ae341a98-d274-11e5-b888-dbae3a8ba545");
/// bob.store_token_data(&[(data.resource_server.clone(), data)].into())?;
///
/// assert!(default.get_token_data("auth.globus.org")?.is_none());
/// assert_eq!(bob.get_token_data("auth.globus.org")?.unwrap().access_token.expose(), "AT-bob");
/// assert_eq!(default.namespaces()?, ["userprofile/bob"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonTokenStorage {
    file: JsonFile,
}

impl JsonTokenStorage {
    /// The `format_version` this type writes.
    pub const FORMAT_VERSION: &'static str = Format::V2.version();

    /// The `format_version`s this type reads (1.0 files are upgraded on the next write).
    pub const SUPPORTED_VERSIONS: &'static [&'static str] = Format::V2.readable();

    /// A store in the file at `path`, bound to namespace `DEFAULT`. Nothing is read or
    /// created until it is used.
    ///
    /// ```
    /// use globus_tokens_core::TokenStorage;
    /// let storage = globus_tokens_json::JsonTokenStorage::new("tokens.json");
    /// assert_eq!(storage.namespace(), "DEFAULT");
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonTokenStorage {
            file: JsonFile::new(path.into(), Format::V2, DEFAULT_NAMESPACE.to_owned()),
        }
    }

    /// Another handle on the same file, bound to `namespace`.
    ///
    /// ```
    /// use globus_tokens_core::TokenStorage;
    /// let storage = globus_tokens_json::JsonTokenStorage::new("tokens.json");
    /// let alice = storage.with_namespace("userprofile/alice");
    /// assert_eq!(alice.namespace(), "userprofile/alice");
    /// assert_eq!(alice.path(), storage.path());
    /// ```
    pub fn with_namespace(&self, namespace: impl Into<String>) -> Self {
        JsonTokenStorage {
            file: self.file.with_namespace(namespace.into()),
        }
    }

    /// The token file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Whether the token file exists.
    pub fn file_exists(&self) -> bool {
        self.file.exists()
    }
}

/// Implements the storage traits for a type with a `file: JsonFile` field, so both public
/// types share every line of behaviour.
macro_rules! json_file_storage {
    ($($type:ty),*) => {$(
        impl TokenStorage for $type {
            fn namespace(&self) -> &str {
                self.file.namespace()
            }

            fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
                self.file.store_token_data(token_data)
            }

            /// Stores the response's tokens in the order the server sent them, as globus-sdk
            /// does, so the file's bytes match what Python writes.
            fn store(&self, response: &TokenResponse) -> Result<()> {
                self.file.store_response(response)
            }

            fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
                self.file.get_token_data(resource_server)
            }

            fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
                self.file.remove_token_data(resource_server)
            }

            fn compare_and_swap(
                &self,
                expected: Option<&TokenData>,
                new: &TokenData,
            ) -> Result<SwapOutcome> {
                self.file.compare_and_swap(expected, new)
            }

            /// Holds the sidecar lock from the read through `update` to the write, so `update`
            /// runs exactly once and no other thread or process writes in between.
            fn update_token_data(
                &self,
                resource_server: &str,
                update: &mut UpdateFn<'_>,
            ) -> Result<Option<TokenData>> {
                self.file.update_token_data(resource_server, update)
            }

            fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
                Some(self)
            }
        }

        impl EnumerableTokenStorage for $type {
            fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
                self.file.get_by_resource_server()
            }

            fn namespaces(&self) -> Result<Vec<String>> {
                self.file.namespaces()
            }
        }
    )*};
}

json_file_storage!(SimpleJsonFileAdapter, JsonTokenStorage);
