//! Opening an app's token storage as globus-sdk's `GlobusAppConfig.token_storage` names it:
//! `"json"`, `"sqlite"` or `"memory"`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use globus_tokens_core::raw::fs::{create_private_dir_all, parent_dir};
use globus_tokens_core::{Error, MemoryTokenStorage, Result, TokenStorage};
use globus_tokens_json::JsonTokenStorage;
use globus_tokens_sqlite::{SchemaVersion, SqliteAdapter};

use crate::paths::AppLocation;

/// The kinds of storage globus-sdk's `GlobusAppConfig.token_storage` knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AppStorageKind {
    /// `"json"` (globus-sdk's default): `JSONTokenStorage`, format 2.0, in `tokens.json`.
    #[default]
    Json,
    /// `"sqlite"`: `SQLiteTokenStorage` (schema 2) in `tokens.db`.
    Sqlite,
    /// `"memory"`: `MemoryTokenStorage`; nothing outlives the process.
    Memory,
}

impl AppStorageKind {
    /// globus-sdk's name: `json`, `sqlite` or `memory`.
    pub fn name(self) -> &'static str {
        match self {
            AppStorageKind::Json => "json",
            AppStorageKind::Sqlite => "sqlite",
            AppStorageKind::Memory => "memory",
        }
    }

    /// The token file's extension (globus-sdk's `file_format`): `json`, `db`, or `None` for
    /// memory.
    pub fn file_format(self) -> Option<&'static str> {
        match self {
            AppStorageKind::Json => Some("json"),
            AppStorageKind::Sqlite => Some("db"),
            AppStorageKind::Memory => None,
        }
    }
}

impl fmt::Display for AppStorageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A storage name other than `json`, `sqlite` and `memory`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token storage {name:?}; use json, sqlite or memory")]
pub struct UnknownStorageKind {
    /// The name given.
    pub name: String,
}

impl FromStr for AppStorageKind {
    type Err = UnknownStorageKind;

    /// ```
    /// use globus_app::AppStorageKind;
    /// assert_eq!("sqlite".parse(), Ok(AppStorageKind::Sqlite));
    /// assert!("yaml".parse::<AppStorageKind>().is_err());
    /// ```
    fn from_str(name: &str) -> std::result::Result<Self, Self::Err> {
        match name {
            "json" => Ok(AppStorageKind::Json),
            "sqlite" => Ok(AppStorageKind::Sqlite),
            "memory" => Ok(AppStorageKind::Memory),
            other => Err(UnknownStorageKind {
                name: other.to_owned(),
            }),
        }
    }
}

/// The storage globus-sdk's `GlobusApp` opens for the app at `location` (its
/// `for_globus_app`): the token file in namespace `DEFAULT`, or a new memory store.
///
/// As in globus-sdk, the app's directory is created at once (owner-only, 0700), and the SQLite
/// file too (0600, in `SQLiteTokenStorage`'s layout: schema 2); the JSON file is created
/// (0600) by the first write.
///
/// ```
/// use globus_app::{AppStorageKind, open_app_storage, paths::AppLocation};
///
/// let root = tempfile::tempdir()?;
/// let location = AppLocation::in_root(root.path(), "cid", "My App", "sandbox")?;
/// let store = open_app_storage(&location, AppStorageKind::Sqlite)?;
/// assert!(root.path().join("cid/my-app/sandbox-tokens.db").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_app_storage(
    location: &AppLocation,
    kind: AppStorageKind,
) -> Result<Box<dyn TokenStorage>> {
    match location.token_file(kind) {
        Some(path) => open_app_token_file(&path, kind, true),
        None => Ok(Box::new(MemoryTokenStorage::new())),
    }
}

/// An app's token file at `path`, opened as [`open_app_storage`] opens it, in namespace
/// `DEFAULT`. With `create_if_missing` false nothing is created: a missing file is an
/// [`Error::Io`] of kind `NotFound` (and an empty SQLite file an [`Error::InvalidData`]).
/// `kind` must be a file kind; memory is [`Error::Unsupported`].
pub fn open_app_token_file(
    path: &Path,
    kind: AppStorageKind,
    create_if_missing: bool,
) -> Result<Box<dyn TokenStorage>> {
    match kind {
        AppStorageKind::Json => {
            if create_if_missing {
                // globus-sdk's FileTokenStorage makes the directory when it is opened.
                create_private_dir_all(&parent_dir(path))?;
            } else if !path.exists() {
                return Err(Error::io(
                    "opening",
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            Ok(Box::new(JsonTokenStorage::new(path)))
        }
        AppStorageKind::Sqlite => Ok(Box::new(
            SqliteAdapter::builder(path)
                .new_file_schema(SchemaVersion::V2)
                .create_if_missing(create_if_missing)
                .open()?,
        )),
        AppStorageKind::Memory => Err(Error::Unsupported {
            backend: "globus-app",
            operation: "opening a memory store from a file",
            detail: Some(format!("{} is not a token file", path.display())),
        }),
    }
}
