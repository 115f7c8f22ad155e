//! Options for opening a [`SqliteAdapter`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use globus_tokens_core::{DEFAULT_NAMESPACE, Result};

use crate::{SchemaVersion, SqliteAdapter};

/// How long a statement waits for another connection's lock before failing with a temporary
/// error, unless [`SqliteAdapterBuilder::busy_timeout`] says otherwise.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQLite's journal mode: how a transaction is made atomic and durable.
///
/// See [`SqliteAdapterBuilder::journal_mode`] for the trade-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JournalMode {
    /// The rollback journal, deleted after each transaction (`PRAGMA journal_mode=DELETE`):
    /// SQLite's default and what globus-sdk's Python classes use. Works on every file system,
    /// including NFS.
    Delete,
    /// The rollback journal, truncated to zero bytes after each transaction instead of deleted
    /// (`PRAGMA journal_mode=TRUNCATE`): what this crate uses unless told otherwise. Same
    /// format, durability and file-system support as [`JournalMode::Delete`] (a per-connection
    /// setting: the file and other programs opening it are unaffected), but a commit need not
    /// create and delete the journal file, which saves a directory update and its sync (about
    /// 13% of a commit here). The price is an empty `NAME-journal` file, owner-only, left beside
    /// the database.
    Truncate,
    /// The write-ahead log (`PRAGMA journal_mode=WAL`): readers no longer wait for writers and
    /// commits are cheaper, but every process must be on the same host and the file system must
    /// support shared memory; it does **not** work on network file systems such as the NFS home
    /// directories common on HPC systems. The mode is stored in the file, so it also applies to
    /// later openers (Python's included).
    Wal,
}

impl JournalMode {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            JournalMode::Delete => "delete",
            JournalMode::Truncate => "truncate",
            JournalMode::Wal => "wal",
        }
    }
}

/// Options for opening a [`SqliteAdapter`]; made by [`SqliteAdapter::builder`].
///
/// ```
/// use std::time::Duration;
/// use globus_tokens_core::TokenStorage;
/// use globus_tokens_sqlite::{JournalMode, SqliteAdapter};
///
/// let dir = tempfile::tempdir()?;
/// let store = SqliteAdapter::builder(dir.path().join("tokens.db"))
///     .namespace("userprofile/alice")
///     .busy_timeout(Duration::from_secs(5))
///     .journal_mode(JournalMode::Delete)
///     .open()?;
/// assert_eq!(store.namespace(), "userprofile/alice");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct SqliteAdapterBuilder {
    pub(crate) path: PathBuf,
    pub(crate) namespace: String,
    pub(crate) busy_timeout: Duration,
    pub(crate) journal_mode: Option<JournalMode>,
    pub(crate) create_if_missing: bool,
    pub(crate) new_file_schema: SchemaVersion,
}

impl SqliteAdapterBuilder {
    pub(crate) fn new(path: &Path) -> Self {
        SqliteAdapterBuilder {
            path: path.to_path_buf(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            journal_mode: None,
            create_if_missing: true,
            new_file_schema: SchemaVersion::V1,
        }
    }

    /// The namespace the adapter reads and writes (default `"DEFAULT"`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long to wait for a lock held by another connection or process before an operation
    /// fails with a temporary [`Error::Backend`](globus_tokens_core::Error::Backend)
    /// (default [`DEFAULT_BUSY_TIMEOUT`], 30 seconds).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Set the journal mode when opening.
    ///
    /// Without this call, a file using the rollback journal (new files, and files globus-sdk
    /// made) is used with [`JournalMode::Truncate`], the same journal kept as an empty file, and
    /// a file in WAL mode stays in WAL mode. Switching to or from WAL writes the new mode into
    /// the file; the rollback variants are per connection.
    ///
    /// [`JournalMode::Wal`] is an opt-in: it makes concurrent readers faster and commits
    /// cheaper, but breaks on network file systems (NFS home directories on HPC systems), so
    /// the default stays with the rollback journal. Both modes run with `synchronous=FULL`, and
    /// SQLite creates the `-journal`, `-wal` and `-shm` files with the database file's
    /// owner-only permissions. Ignored for `":memory:"` databases.
    pub fn journal_mode(mut self, mode: JournalMode) -> Self {
        self.journal_mode = Some(mode);
        self
    }

    /// Whether a missing database is created (default `true`, as in sqlx's
    /// `SqliteConnectOptions::create_if_missing`).
    ///
    /// With `false`, opening never writes anything: a path that does not exist is an
    /// [`Error::Io`](globus_tokens_core::Error::Io) whose source has kind
    /// [`NotFound`](std::io::ErrorKind::NotFound), and an existing empty (0-byte) file is an
    /// [`Error::InvalidData`](globus_tokens_core::Error::InvalidData) ("an empty file, not a
    /// token database"); both name the path, and no directory, file, table or journal-mode
    /// change is made. Use it for commands that only read, so that looking at a store never
    /// creates one. Ignored for `":memory:"` databases.
    ///
    /// ```
    /// use globus_tokens_core::Error;
    /// use globus_tokens_sqlite::SqliteAdapter;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("tokens.db");
    /// let err = SqliteAdapter::builder(&path).create_if_missing(false).open().unwrap_err();
    /// assert!(matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound));
    /// assert!(!path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// The layout a *new* database is created with (default [`SchemaVersion::V1`], globus-sdk's
    /// `SQLiteAdapter`, which also keeps named configuration).
    ///
    /// [`SchemaVersion::V2`] creates exactly what globus-sdk's `SQLiteTokenStorage` creates:
    /// the same `token_storage` and `sdk_storage_adapter_internal` tables, no `config_storage`
    /// table, and `globus-sdk.database_schema_version` = `"2"`; token data is then written in
    /// `TokenStorageData` order. An existing file keeps the layout it has, whatever this says.
    ///
    /// ```
    /// use globus_tokens_sqlite::{SchemaVersion, SqliteAdapter};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = SqliteAdapter::builder(dir.path().join("storage.db"))
    ///     .new_file_schema(SchemaVersion::V2)
    ///     .open()?;
    /// assert_eq!(store.schema_version(), SchemaVersion::V2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_file_schema(mut self, schema: SchemaVersion) -> Self {
        self.new_file_schema = schema;
        self
    }

    /// Open (creating if needed) the database; see [`SqliteAdapter::open`].
    pub fn open(self) -> Result<SqliteAdapter> {
        SqliteAdapter::open_with(self)
    }
}
