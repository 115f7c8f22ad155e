//! [`SqliteAdapter`]: globus-sdk's `SQLiteAdapter` in Rust. This file holds the handle and what
//! its parts share; opening is in `open`, tokens in `tokens`, configuration in `config`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use globus_tokens_core::raw::pyjson;
use globus_tokens_core::{Error, Result, TokenStorage};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::{Map, Value};

use crate::builder::SqliteAdapterBuilder;
use crate::error::sqlite_error;
use crate::schema::SchemaVersion;

/// The path that opens a private in-memory database, as in SQLite and globus-sdk.
pub const MEMORY_PATH: &str = ":memory:";

pub(crate) const SELECT_TOKEN_NAMESPACES: &str =
    "SELECT DISTINCT namespace FROM token_storage ORDER BY namespace";
const SELECT_ALL_NAMESPACES: &str = "SELECT namespace FROM token_storage UNION \
     SELECT namespace FROM config_storage ORDER BY namespace";

/// Tokens (and, in schema-1 files, named configuration) in a SQLite database file laid out as
/// globus-sdk's `SQLiteAdapter` lays it out; also opens files written by globus-sdk's newer
/// `SQLiteTokenStorage` (schema 2).
///
/// A handle is bound to one namespace. [`SqliteAdapter::with_namespace`] (and `clone`) make
/// more handles on the *same* connection, which is shared behind a mutex; separate
/// [`SqliteAdapter::open`] calls make separate connections, which is how separate processes
/// use one file. Either way every write is one SQLite transaction, readers never see part of
/// one, and SQLite's file locks (waited on up to the busy timeout) keep processes apart.
///
/// # Files
///
/// * A path that does not exist, or an existing **empty (0-byte) file**, is a new database: the
///   parent directories are created owner-only (0700), the file is created owner-only (0600)
///   before SQLite opens it (so its `-journal`, `-wal` and `-shm` files are owner-only too), and
///   globus-sdk 3.65.0's schema-1 tables are created in one transaction, with the same
///   `CREATE TABLE` text as Python's, plus the rows `globus-sdk.version` =
///   [`WRITER_VERSION`](globus_tokens_core::WRITER_VERSION) and
///   `globus-sdk.database_schema_version` = `"1"`
///   ([`SqliteAdapterBuilder::new_file_schema`] chooses `SQLiteTokenStorage`'s schema 2
///   instead). [`SqliteAdapterBuilder::create_if_missing`]`(false)` makes both cases an error
///   instead, and nothing is created.
/// * An existing file is only read while opening: its schema version must be `"1"` or `"2"`
///   ([`Error::UnsupportedFormatVersion`] otherwise); a file that is not a SQLite database, or
///   a database without a `token_storage` table, is [`Error::InvalidData`] naming the path.
/// * `":memory:"` ([`MEMORY_PATH`]) opens a private in-memory schema-1 database; share it
///   between namespaces with [`SqliteAdapter::with_namespace`].
///
/// Token data is stored as the JSON text each Python class writes: globus-sdk's legacy key
/// order (with `"refresh_token": null`) in schema-1 files, `TokenStorageData` order (absent
/// values omitted) in schema-2 files.
///
/// # Durability and locking
///
/// As in Python: the rollback journal (unless [`JournalMode::Wal`](crate::JournalMode::Wal) is
/// chosen), `synchronous=FULL`, and a busy timeout (30 s by default) after which a locked
/// database gives a temporary [`Error::Backend`]. Writes that read first
/// ([`TokenStorage::compare_and_swap`], [`TokenStorage::update_token_data`]) run in a
/// `BEGIN IMMEDIATE` transaction, and `update_token_data` holds it while its closure runs, so
/// across threads and processes one renewal of a token happens at a time.
///
/// # Reads
///
/// Every read is a prepared `SELECT` on the open connection: there is no cache to go stale, so
/// a read sees every commit of every process.
///
/// # Configuration
///
/// Schema-1 files keep named JSON objects in `config_storage` ([`ConfigStorage`](globus_tokens_core::ConfigStorage)). Schema-2
/// files have no such table and this crate does not add one (a Python `SQLiteTokenStorage`
/// must keep reading the file as it wrote it): config calls on them fail with
/// [`Error::Unsupported`] explaining why. [`TokenStorage::as_config_storage`] returns
/// `Some` for both, so callers get that explanation rather than a silent `None`.
///
/// ```
/// use globus_tokens_core::{ConfigStorage, EnumerableTokenStorage, TokenData, TokenStorage};
/// use globus_tokens_sqlite::SqliteAdapter;
///
/// let dir = tempfile::tempdir()?;
/// let store = SqliteAdapter::open(dir.path().join("tokens.db"))?;
/// let data = TokenData::new("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all", "AT", 2_000_000_000);
/// store.store_token_data(&[(data.resource_server.clone(), data.clone())].into())?;
/// assert_eq!(store.get_token_data("transfer.api.globus.org")?, Some(data));
///
/// let alice = store.with_namespace("userprofile/alice");
/// alice.store_config("profile", &serde_json::json!({"username": "alice"}).as_object().unwrap().clone())?;
/// assert_eq!(store.namespaces()?, ["DEFAULT"]);
/// assert_eq!(store.namespaces_including_config()?, ["DEFAULT", "userprofile/alice"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteAdapter {
    pub(crate) namespace: String,
    pub(crate) shared: Arc<Shared>,
}

/// What every handle on one connection shares.
pub(crate) struct Shared {
    pub(crate) conn: Mutex<Connection>,
    pub(crate) path: PathBuf,
    /// The path as text, for error messages.
    pub(crate) location: String,
    pub(crate) schema: SchemaVersion,
}

impl fmt::Debug for SqliteAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteAdapter")
            .field("path", &self.shared.path)
            .field("namespace", &self.namespace)
            .field("schema_version", &self.shared.schema)
            .finish_non_exhaustive()
    }
}

impl SqliteAdapter {
    /// Open (creating if needed) the database at `path`, bound to the `DEFAULT` namespace, with
    /// the default options (see [`SqliteAdapter::builder`]).
    ///
    /// A missing or empty (0-byte) file is created with globus-sdk's schema 1; see the type's
    /// documentation for what happens to existing files.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder(path).open()
    }

    /// Options for opening the database at `path`: namespace, busy timeout, journal mode,
    /// whether to create it, and the schema of a new file.
    pub fn builder(path: impl AsRef<Path>) -> SqliteAdapterBuilder {
        SqliteAdapterBuilder::new(path.as_ref())
    }

    pub(crate) fn from_parts(namespace: String, shared: Shared) -> Self {
        SqliteAdapter {
            namespace,
            shared: Arc::new(shared),
        }
    }

    /// Another handle on the same connection, bound to `namespace`.
    pub fn with_namespace(&self, namespace: impl Into<String>) -> Self {
        SqliteAdapter {
            namespace: namespace.into(),
            shared: Arc::clone(&self.shared),
        }
    }

    /// The database's path (`":memory:"` for an in-memory database).
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Whether the database file exists now (globus-sdk's `FileTokenStorage.file_exists()`,
    /// i.e. `os.path.exists`); always `false` for `":memory:"`. An adapter that opened a file
    /// answers `false` once something else has removed it.
    pub fn file_exists(&self) -> bool {
        self.shared.path.as_os_str() != MEMORY_PATH && self.shared.path.exists()
    }

    /// The layout of the database: schema 1 (`SQLiteAdapter`) or 2 (`SQLiteTokenStorage`).
    pub fn schema_version(&self) -> SchemaVersion {
        self.shared.schema
    }

    /// Close this handle. When it is the last handle on its connection (no
    /// [`with_namespace`](SqliteAdapter::with_namespace) or clone of it is alive), the
    /// connection is closed and any error closing it is returned; otherwise the connection stays
    /// open for the other handles. Dropping a handle also closes, ignoring errors.
    pub fn close(self) -> Result<()> {
        let Ok(shared) = Arc::try_unwrap(self.shared) else {
            return Ok(());
        };
        let conn = shared
            .conn
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        conn.close()
            .map_err(|(_, err)| sqlite_error(&shared.location, "closing", err))
    }

    /// Remove one resource server's tokens from this namespace; `true` if there were any.
    /// globus-sdk's name for [`TokenStorage::remove_token_data`].
    pub fn remove_tokens_for_resource_server(&self, resource_server: &str) -> Result<bool> {
        self.remove_token_data(resource_server)
    }

    /// Every namespace holding tokens or configuration, sorted (globus-sdk's
    /// `iter_namespaces(include_config_namespaces=True)`). For schema-2 files, which have no
    /// configuration, the same as [`EnumerableTokenStorage::namespaces`](globus_tokens_core::EnumerableTokenStorage::namespaces).
    pub fn namespaces_including_config(&self) -> Result<Vec<String>> {
        let sql = if self.shared.schema.has_config_storage() {
            SELECT_ALL_NAMESPACES
        } else {
            SELECT_TOKEN_NAMESPACES
        };
        self.query_namespaces(sql)
    }

    pub(crate) fn query_namespaces(&self, sql: &str) -> Result<Vec<String>> {
        let conn = self.lock();
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut statement = conn.prepare_cached(sql)?;
            let names = statement.query_map([], |row| row.get::<_, String>(0))?;
            names.collect()
        };
        read().map_err(|err| self.db_error("listing namespaces", err))
    }

    /// The path as text, for error messages.
    pub(crate) fn location(&self) -> &str {
        &self.shared.location
    }

    /// The connection, even if a thread panicked while holding it: the panic dropped (and so
    /// rolled back) any open transaction, and anything else left open is rolled back here.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        match self.shared.conn.lock() {
            Ok(conn) => conn,
            Err(poisoned) => {
                let conn = poisoned.into_inner();
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                self.shared.conn.clear_poison();
                conn
            }
        }
    }

    pub(crate) fn db_error(&self, operation: &str, err: rusqlite::Error) -> Error {
        sqlite_error(&self.shared.location, operation, err)
    }
}

/// Python's `json.dumps` text for a JSON object.
pub(crate) fn json_text(object: &Map<String, Value>) -> Result<String, String> {
    let bytes =
        pyjson::to_vec(object).map_err(|err| format!("cannot be written as JSON: {err}"))?;
    // The Python formatter escapes everything outside ASCII, so this never has to replace.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()))
}

/// Parse a JSON column (`TEXT`, or a `BLOB` another tool may have written); the error is a
/// reason that describes, but never quotes, the content.
pub(crate) fn parse_json_column(value: ValueRef<'_>, column: &str) -> Result<Value, String> {
    let bytes = match value {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes,
        ValueRef::Null => return Err(format!("{column} is NULL, not JSON text")),
        ValueRef::Integer(_) | ValueRef::Real(_) => {
            return Err(format!("{column} is a number, not JSON text"));
        }
    };
    serde_json::from_slice(bytes).map_err(|err| {
        format!(
            "{column} is not valid JSON (line {}, column {})",
            err.line(),
            err.column()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use globus_tokens_core::{
        ConfigStorage, DEFAULT_NAMESPACE, EnumerableTokenStorage, TokenData, TokenStorage,
    };
    use serde_json::json;

    fn memory() -> SqliteAdapter {
        SqliteAdapter::open(MEMORY_PATH).unwrap()
    }

    fn sample(rs: &str) -> TokenData {
        TokenData::new(rs, "scope", "AT-secret-value", 2_000_000_000).with_refresh_token("RT-x")
    }

    #[test]
    fn memory_round_trip_and_namespaces() {
        let store = memory();
        assert_eq!(store.namespace(), DEFAULT_NAMESPACE);
        assert_eq!(store.path(), Path::new(MEMORY_PATH));
        assert_eq!(store.schema_version(), SchemaVersion::V1);
        let data = sample("a.example.org");
        store
            .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
            .unwrap();
        assert_eq!(store.get_token_data("a.example.org").unwrap(), Some(data));
        let other = store.with_namespace("other");
        assert_eq!(other.get_token_data("a.example.org").unwrap(), None);
        other
            .store_config("c", json!({"k": 1}).as_object().unwrap())
            .unwrap();
        assert_eq!(store.namespaces().unwrap(), ["DEFAULT"]);
        assert_eq!(
            store.namespaces_including_config().unwrap(),
            ["DEFAULT", "other"]
        );
        assert!(
            store
                .remove_tokens_for_resource_server("a.example.org")
                .unwrap()
        );
        assert!(
            !store
                .remove_tokens_for_resource_server("a.example.org")
                .unwrap()
        );
        drop(store);
        other.close().unwrap();
    }

    #[test]
    fn separate_memory_databases_are_separate() {
        let first = memory();
        let second = memory();
        let data = sample("a.example.org");
        first
            .store_token_data(&[(data.resource_server.clone(), data)].into())
            .unwrap();
        assert_eq!(second.get_token_data("a.example.org").unwrap(), None);
    }

    #[test]
    fn debug_hides_nothing_secret_and_shows_where() {
        let store = memory();
        let shown = format!("{store:?}");
        assert!(
            shown.contains(":memory:") && shown.contains("DEFAULT"),
            "{shown}"
        );
    }

    #[test]
    fn close_with_other_handles_alive_keeps_connection() {
        let store = memory();
        let other = store.with_namespace("x");
        store.close().unwrap();
        assert_eq!(other.get_token_data("rs").unwrap(), None);
        other.close().unwrap();
    }
}
