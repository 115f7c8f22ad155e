//! The file stores: [`SimpleJsonFileAdapter`] and [`JsonTokenStorage`], and the one handle on a
//! token file behind both, which reads it without a lock and changes it under the sidecar lock
//! with an atomic rename.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globus_tokens_core::raw::{fs, swap_matches};
use globus_tokens_core::{
    DEFAULT_NAMESPACE, EnumerableTokenStorage, Result, SwapOutcome, TokenData, TokenResponse,
    TokenStorage, UpdateFn,
};

use crate::document::{Document, Format, Snapshot};
use crate::fast_read;

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

/// Whether a change made to a [`Document`] needs writing back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Yes,
    No,
}

/// One handle on a token file: its path, the format it writes and the namespace it uses.
///
/// Every public type's storage methods are these, so both formats share one implementation.
#[derive(Debug, Clone)]
pub(crate) struct JsonFile {
    path: PathBuf,
    format: Format,
    namespace: String,
}

impl JsonFile {
    pub(crate) fn new(path: PathBuf, format: Format, namespace: String) -> Self {
        JsonFile {
            path,
            format,
            namespace,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The same file and format in another namespace.
    pub(crate) fn with_namespace(&self, namespace: String) -> Self {
        JsonFile {
            path: self.path.clone(),
            format: self.format,
            namespace,
        }
    }

    pub(crate) fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Read the file as it is now; a missing file is an empty store.
    ///
    /// Takes no lock: writers replace the file by an atomic rename, so any read sees a whole
    /// file.
    pub(crate) fn load(&self) -> Result<Snapshot> {
        match fs::read_if_exists(&self.path)? {
            None => Ok(Snapshot::default()),
            Some(bytes) => Snapshot::parse(&self.path, &bytes, self.format),
        }
    }

    /// Read-modify-write under the sidecar lock of the file (of a symbolic link's target), so
    /// concurrent writers (threads or processes) never lose each other's changes. The file is
    /// only replaced if `change` succeeds and asks for it; any error leaves it untouched.
    fn modify<T>(&self, change: impl FnOnce(&mut Document) -> (T, Write)) -> Result<T> {
        fs::update_file(&self.path, |bytes, _target| {
            let mut document = match bytes {
                None => Document::empty(&self.path),
                Some(bytes) => Document::parse(&self.path, bytes, self.format)?,
            };
            let (result, write) = change(&mut document);
            let action = match write {
                Write::Yes => fs::FileChange::Write(document.into_bytes(self.format)?),
                Write::No => fs::FileChange::Keep,
            };
            Ok((result, action))
        })
    }

    pub(crate) fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        self.modify(|document| {
            for (resource_server, data) in token_data {
                document.put(&self.namespace, resource_server, data, self.format);
            }
            ((), write_if(!token_data.is_empty()))
        })
    }

    /// Store a response's tokens in the order the server sent them, which is the order
    /// globus-sdk writes them in (and so keeps our files byte-identical to Python's).
    pub(crate) fn store_response(&self, response: &TokenResponse) -> Result<()> {
        let by_resource_server = response.by_resource_server();
        self.modify(|document| {
            for resource_server in response.resource_servers() {
                // A resource server repeated in the response keeps its first position and its
                // last data, as a Python dict does.
                if let Some(data) = by_resource_server.get(resource_server) {
                    document.put(&self.namespace, resource_server, data, self.format);
                }
            }
            ((), write_if(!by_resource_server.is_empty()))
        })
    }

    pub(crate) fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        let Some(bytes) = fs::read_if_exists(&self.path)? else {
            return Ok(None);
        };
        if let Some(found) = fast_read::get(&bytes, self.format, &self.namespace, resource_server) {
            return Ok(found);
        }
        Ok(Snapshot::parse(&self.path, &bytes, self.format)?.get(&self.namespace, resource_server))
    }

    pub(crate) fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        // Absent now means "removed before we looked": no need to lock (or to create the lock
        // file and directories for a store that does not exist).
        if self.get_token_data(resource_server)?.is_none() {
            return Ok(false);
        }
        self.modify(|document| {
            let removed = document.remove(&self.namespace, resource_server);
            (removed, write_if(removed))
        })
    }

    pub(crate) fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        self.modify(|document| {
            match document.get(&self.namespace, &new.resource_server) {
                Ok(stored) if !swap_matches(stored.as_ref(), expected) => {
                    return (Ok(SwapOutcome::Conflict(stored)), Write::No);
                }
                Ok(_) => {}
                Err(err) => return (Err(err), Write::No),
            }
            document.put(&self.namespace, &new.resource_server, new, self.format);
            (Ok(SwapOutcome::Swapped), Write::Yes)
        })?
    }

    pub(crate) fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        self.modify(|document| {
            let current = match document.get(&self.namespace, resource_server) {
                Ok(current) => current,
                Err(err) => return (Err(err), Write::No),
            };
            match update(current.as_ref()) {
                None => (Ok(current), Write::No),
                Some(new) => {
                    document.put(&self.namespace, resource_server, &new, self.format);
                    (Ok(Some(new)), Write::Yes)
                }
            }
        })?
    }

    pub(crate) fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        Ok(self.load()?.all(&self.namespace))
    }

    pub(crate) fn namespaces(&self) -> Result<Vec<String>> {
        Ok(self.load()?.namespaces())
    }
}

fn write_if(changed: bool) -> Write {
    if changed { Write::Yes } else { Write::No }
}
