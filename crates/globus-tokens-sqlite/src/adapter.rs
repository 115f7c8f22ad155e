//! [`SqliteAdapter`]: globus-sdk's `SQLiteAdapter` in Rust.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use globus_tokens_core::fs::{create_private_dir_all, open_private, parent_dir};
use globus_tokens_core::{
    ConfigStorage, EnumerableTokenStorage, Error, Result, SwapOutcome, TokenData, TokenDataLayout,
    TokenStorage, UpdateFn, json_type_name, pyjson, swap_matches,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use serde_json::{Map, Value};

use crate::builder::{JournalMode, SqliteAdapterBuilder};
use crate::cache::{ReadCache, Validator};
use crate::error::{BACKEND, is_busy, open_error, sqlite_error};
use crate::schema::{self, SchemaVersion};

/// The path that opens a private in-memory database, as in SQLite and globus-sdk.
pub const MEMORY_PATH: &str = ":memory:";

// The statements, in the shapes globus-sdk's SQLiteAdapter uses.
const SELECT_TOKEN: &str =
    "SELECT token_data_json FROM token_storage WHERE namespace=? AND resource_server=?";
const REPLACE_TOKEN: &str =
    "REPLACE INTO token_storage(namespace, resource_server, token_data_json) VALUES(?, ?, ?)";
const DELETE_TOKEN: &str = "DELETE FROM token_storage WHERE namespace=? AND resource_server=?";
const SELECT_NAMESPACE_TOKENS: &str =
    "SELECT resource_server, token_data_json FROM token_storage WHERE namespace=?";
const SELECT_TOKEN_NAMESPACES: &str =
    "SELECT DISTINCT namespace FROM token_storage ORDER BY namespace";
const SELECT_ALL_NAMESPACES: &str = "SELECT namespace FROM token_storage UNION \
     SELECT namespace FROM config_storage ORDER BY namespace";
const SELECT_CONFIG: &str =
    "SELECT config_data_json FROM config_storage WHERE namespace=? AND config_name=?";
const REPLACE_CONFIG: &str =
    "REPLACE INTO config_storage(namespace, config_name, config_data_json) VALUES (?, ?, ?)";
const DELETE_CONFIG: &str = "DELETE FROM config_storage WHERE namespace=? AND config_name=?";

/// Room for every statement above plus transaction control, so none is ever re-prepared.
const STATEMENT_CACHE_CAPACITY: usize = 32;

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
/// [`TokenStorage::get_token_data`] keeps the entries it has read and returns them again while
/// the database header shows that no process has committed since (the test SQLite itself uses
/// for its page cache), which skips SQLite's per-read file locking: about 10x faster than
/// globus-sdk. It applies to local file systems on Linux and to `":memory:"`; see
/// [`SqliteAdapterBuilder::read_cache`] for the details and how to turn it off. Writes that read
/// first never use it.
///
/// # Configuration
///
/// Schema-1 files keep named JSON objects in `config_storage` ([`ConfigStorage`]). Schema-2
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
    namespace: String,
    shared: Arc<Shared>,
}

/// What every handle on one connection shares.
struct Shared {
    inner: Mutex<Inner>,
    validator: Validator,
    path: PathBuf,
    /// The path as text, for error messages.
    location: String,
    schema: SchemaVersion,
}

/// The connection and what is cached of it, behind one mutex.
struct Inner {
    conn: Connection,
    cache: ReadCache,
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

    /// Options for opening the database at `path`: namespace, busy timeout, journal mode.
    pub fn builder(path: impl AsRef<Path>) -> SqliteAdapterBuilder {
        SqliteAdapterBuilder::new(path.as_ref())
    }

    pub(crate) fn open_with(options: SqliteAdapterBuilder) -> Result<Self> {
        let SqliteAdapterBuilder {
            path,
            namespace,
            busy_timeout,
            journal_mode,
            read_cache,
            create_if_missing,
            new_file_schema,
        } = options;
        let location = path.display().to_string();
        // The busy timeout bounds the whole open, including retries SQLite does not do itself.
        let opened_at = Instant::now();
        let (mut conn, is_new) = if path.as_os_str() == MEMORY_PATH {
            let conn = Connection::open_in_memory()
                .map_err(|err| sqlite_error(&location, "opening", err))?;
            (conn, true)
        } else {
            let is_new = prepare_file(&path, create_if_missing)?;
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(&path, flags)
                .map_err(|err| sqlite_error(&location, "opening", err))?;
            (conn, is_new)
        };
        let configure = |conn: &Connection| -> rusqlite::Result<()> {
            conn.busy_timeout(busy_timeout)?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
            Ok(())
        };
        configure(&conn).map_err(|err| open_error(&location, "configuring", err))?;
        let schema = if is_new {
            schema::create_or_detect(&mut conn, &location, new_file_schema)?
        } else {
            match schema::detect(&conn, &location) {
                // A creator killed before its first commit leaves pages and a hot journal;
                // reading rolls them back to the empty file it started from: still a new file.
                Err(Error::InvalidData { .. })
                    if std::fs::metadata(&path).is_ok_and(|meta| meta.len() == 0) =>
                {
                    if !create_if_missing {
                        return Err(empty_file_error(&location));
                    }
                    schema::create_or_detect(&mut conn, &location, new_file_schema)?
                }
                other => other?,
            }
        };
        let journal_mode = match journal_mode {
            Some(mode) => Some(mode),
            // The rollback journal, kept as an empty file (see `JournalMode::Truncate`); a file
            // someone put in WAL mode stays there.
            None if path.as_os_str() != MEMORY_PATH => {
                let current: String = conn
                    .pragma_query_value(None, "journal_mode", |row| row.get(0))
                    .map_err(|err| open_error(&location, "reading the journal mode", err))?;
                current
                    .eq_ignore_ascii_case("delete")
                    .then_some(JournalMode::Truncate)
            }
            None => None,
        };
        if let Some(mode) = journal_mode
            && path.as_os_str() != MEMORY_PATH
        {
            set_journal_mode(&conn, mode, opened_at + busy_timeout, &location)?;
        }
        let validator = if !read_cache {
            Validator::Disabled
        } else if path.as_os_str() == MEMORY_PATH {
            Validator::Memory
        } else if journal_mode == Some(JournalMode::Wal) {
            // Commits in WAL mode do not touch the database header.
            Validator::Disabled
        } else {
            file_validator(&path)
        };
        Ok(SqliteAdapter {
            namespace,
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    conn,
                    cache: ReadCache::default(),
                }),
                validator,
                path,
                location,
                schema,
            }),
        })
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
        let inner = shared
            .inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        inner
            .conn
            .close()
            .map_err(|(_, err)| sqlite_error(&shared.location, "closing", err))
    }

    /// Remove one resource server's tokens from this namespace; `true` if there were any.
    /// globus-sdk's name for [`TokenStorage::remove_token_data`].
    pub fn remove_tokens_for_resource_server(&self, resource_server: &str) -> Result<bool> {
        self.remove_token_data(resource_server)
    }

    /// Every namespace holding tokens or configuration, sorted (globus-sdk's
    /// `iter_namespaces(include_config_namespaces=True)`). For schema-2 files, which have no
    /// configuration, the same as [`EnumerableTokenStorage::namespaces`].
    pub fn namespaces_including_config(&self) -> Result<Vec<String>> {
        let sql = if self.shared.schema.has_config_storage() {
            SELECT_ALL_NAMESPACES
        } else {
            SELECT_TOKEN_NAMESPACES
        };
        self.query_namespaces(sql)
    }

    fn query_namespaces(&self, sql: &str) -> Result<Vec<String>> {
        let inner = self.lock();
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut statement = inner.conn.prepare_cached(sql)?;
            let names = statement.query_map([], |row| row.get::<_, String>(0))?;
            names.collect()
        };
        read().map_err(|err| self.db_error("listing namespaces", err))
    }

    /// The connection, even if a thread panicked while holding it: the panic dropped (and so
    /// rolled back) any open transaction, and anything else left open is rolled back here.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.shared.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => {
                let mut inner = poisoned.into_inner();
                if !inner.conn.is_autocommit() {
                    let _ = inner.conn.execute_batch("ROLLBACK");
                }
                inner.cache.clear();
                self.shared.inner.clear_poison();
                inner
            }
        }
    }

    /// The connection for a write: the read cache is emptied first (for in-memory databases
    /// it has no other way to learn of the write).
    fn lock_for_write(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.lock();
        inner.cache.clear();
        inner
    }

    fn db_error(&self, operation: &str, err: rusqlite::Error) -> Error {
        sqlite_error(&self.shared.location, operation, err)
    }

    fn layout(&self) -> TokenDataLayout {
        match self.shared.schema {
            SchemaVersion::V1 => TokenDataLayout::Legacy,
            SchemaVersion::V2 => TokenDataLayout::V2,
        }
    }

    fn token_location(&self, resource_server: &str) -> String {
        format!(
            "{}: token_storage[namespace={}, resource_server={}]",
            self.shared.location, self.namespace, resource_server
        )
    }

    fn config_location(&self, config_name: &str) -> String {
        format!(
            "{}: config_storage[namespace={}, config_name={}]",
            self.shared.location, self.namespace, config_name
        )
    }

    /// Token data as the JSON text the file's Python class would write.
    fn token_json(&self, data: &TokenData) -> Result<String> {
        json_text(&data.to_json_object(self.layout())).map_err(|reason| {
            Error::invalid_data(self.token_location(&data.resource_server), reason)
        })
    }

    /// Parse a stored `token_data_json` value; errors name the row, never its content.
    fn parse_token(&self, value: ValueRef<'_>, resource_server: &str) -> Result<TokenData> {
        let json = parse_json_column(value, "token_data_json")
            .map_err(|reason| Error::invalid_data(self.token_location(resource_server), reason))?;
        // The location is only needed on failure; build it then.
        TokenData::from_json_value(&json, resource_server, "").map_err(|err| match err {
            Error::InvalidData { reason, .. } => {
                Error::invalid_data(self.token_location(resource_server), reason)
            }
            other => other,
        })
    }

    /// Read one resource server's entry through `conn` (possibly inside a transaction).
    fn read_token(&self, conn: &Connection, resource_server: &str) -> Result<Option<TokenData>> {
        let mut statement = conn
            .prepare_cached(SELECT_TOKEN)
            .map_err(|err| self.db_error("reading tokens", err))?;
        let mut rows = statement
            .query((self.namespace.as_str(), resource_server))
            .map_err(|err| self.db_error("reading tokens", err))?;
        let Some(row) = rows
            .next()
            .map_err(|err| self.db_error("reading tokens", err))?
        else {
            return Ok(None);
        };
        let value = row
            .get_ref(0)
            .map_err(|err| self.db_error("reading tokens", err))?;
        self.parse_token(value, resource_server).map(Some)
    }

    fn replace_token(&self, conn: &Connection, resource_server: &str, json: &str) -> Result<()> {
        conn.prepare_cached(REPLACE_TOKEN)
            .and_then(|mut statement| {
                statement.execute((self.namespace.as_str(), resource_server, json))
            })
            .map(drop)
            .map_err(|err| self.db_error("storing tokens", err))
    }

    fn no_config_table(&self) -> Error {
        Error::Unsupported {
            backend: BACKEND,
            operation: "config storage",
            detail: Some(format!(
                "{} is a globus-sdk SQLiteTokenStorage database (schema 2), which has no config table",
                self.shared.location
            )),
        }
    }
}

/// Make sure a database file exists before SQLite opens it; `true` if it is new (just created,
/// or an existing empty file). With `create` false, a missing or empty file is an error and
/// nothing is touched.
///
/// Creating the file here, owner-only, rather than letting SQLite create it with the umask's
/// permissions means the file and SQLite's journal files (which copy its mode) are private.
fn prepare_file(path: &Path, create: bool) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == 0 => {
            if create {
                Ok(true)
            } else {
                Err(empty_file_error(&path.display().to_string()))
            }
        }
        Ok(_) => Ok(false),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !create => {
            Err(Error::io("opening token database", path, err))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            create_private_dir_all(&parent_dir(path))?;
            open_private(path).map_err(|err| Error::io("creating", path, err))?;
            Ok(true)
        }
        Err(err) => Err(Error::io("reading metadata of", path, err)),
    }
}

/// An empty file where a token database was expected, when it may not be created.
fn empty_file_error(location: &str) -> Error {
    Error::invalid_data(location, "an empty file, not a token database")
}

/// Put the connection (and, for WAL, the file) in journal `mode`, unless it already is.
///
/// Switching to or from WAL needs an exclusive lock on the file, and SQLite returns
/// `SQLITE_BUSY` for it at once, without calling the busy handler, when another connection
/// holds a lock at that moment: several processes opening a new file in WAL mode at once meet
/// this. So a busy answer is retried, with SQLite's own busy-handler delays, until `deadline`
/// (the busy timeout from the start of the open). A file another process already switched is
/// left alone.
fn set_journal_mode(
    conn: &Connection,
    mode: JournalMode,
    deadline: Instant,
    location: &str,
) -> Result<()> {
    let wanted = mode.pragma_value();
    let mut attempt = 0usize;
    loop {
        let result = conn
            .pragma_query_value(None, "journal_mode", |row| row.get::<_, String>(0))
            .and_then(|current| {
                if current.eq_ignore_ascii_case(wanted) {
                    Ok(current)
                } else {
                    conn.pragma_update_and_check(None, "journal_mode", wanted, |row| row.get(0))
                }
            });
        match result {
            Ok(got) if got.eq_ignore_ascii_case(wanted) => return Ok(()),
            Ok(got) => {
                return Err(Error::Backend {
                    backend: BACKEND,
                    location: location.to_owned(),
                    message: format!("could not set journal_mode={wanted}; SQLite kept {got}"),
                    temporary: false,
                    source: None,
                });
            }
            Err(err) if is_busy(&err) && Instant::now() < deadline => {
                // SQLite's busy-handler delays: 1, 2, 5, 10, ... up to 100 ms.
                const DELAYS_MS: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];
                let delay = Duration::from_millis(DELAYS_MS[attempt.min(DELAYS_MS.len() - 1)]);
                attempt += 1;
                tracing::debug!(
                    location,
                    attempt,
                    "journal mode switch found the database locked; retrying"
                );
                std::thread::sleep(delay.min(deadline.saturating_duration_since(Instant::now())));
            }
            Err(err) => return Err(open_error(location, "setting the journal mode", err)),
        }
    }
}

/// The cache validator for a database file (see the `cache` module).
#[cfg(unix)]
fn file_validator(path: &Path) -> Validator {
    match crate::cache::header_file(path) {
        Some(file) => Validator::File(file),
        None => Validator::Disabled,
    }
}

#[cfg(not(unix))]
fn file_validator(_path: &Path) -> Validator {
    Validator::Disabled
}

/// Python's `json.dumps` text for a JSON object.
fn json_text(object: &Map<String, Value>) -> Result<String, String> {
    let bytes =
        pyjson::to_vec(object).map_err(|err| format!("cannot be written as JSON: {err}"))?;
    // The Python formatter escapes everything outside ASCII, so this never has to replace.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()))
}

/// Parse a JSON column (`TEXT`, or a `BLOB` another tool may have written); the error is a
/// reason that describes, but never quotes, the content.
fn parse_json_column(value: ValueRef<'_>, column: &str) -> Result<Value, String> {
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

impl TokenStorage for SqliteAdapter {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    /// All entries in one `BEGIN IMMEDIATE` transaction: either every one is stored or none.
    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        if token_data.is_empty() {
            return Ok(());
        }
        let rows = token_data
            .iter()
            .map(|(resource_server, data)| Ok((resource_server.as_str(), self.token_json(data)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut inner = self.lock_for_write();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.db_error("storing tokens", err))?;
        for (resource_server, json) in &rows {
            self.replace_token(&tx, resource_server, json)?;
        }
        tx.commit()
            .map_err(|err| self.db_error("storing tokens", err))
    }

    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        let validator = &self.shared.validator;
        if !validator.is_enabled() {
            return self.read_token(&self.lock().conn, resource_server);
        }
        let memory = validator.is_memory();
        let mut inner = self.lock();
        let before = validator.header();
        if let Some(hit) =
            inner
                .cache
                .lookup(memory, before.as_ref(), &self.namespace, resource_server)
        {
            return Ok(hit);
        }
        let entry = self.read_token(&inner.conn, resource_server)?;
        let after = validator.header();
        inner.cache.insert(
            memory,
            before,
            after,
            &self.namespace,
            resource_server,
            &entry,
        );
        Ok(entry)
    }

    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        let inner = self.lock_for_write();
        inner
            .conn
            .prepare_cached(DELETE_TOKEN)
            .and_then(|mut statement| statement.execute((self.namespace.as_str(), resource_server)))
            .map(|removed| removed > 0)
            .map_err(|err| self.db_error("removing tokens", err))
    }

    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        let json = self.token_json(new)?;
        let mut inner = self.lock_for_write();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.db_error("updating tokens", err))?;
        let stored = self.read_token(&tx, &new.resource_server)?;
        if !swap_matches(stored.as_ref(), expected) {
            tx.rollback()
                .map_err(|err| self.db_error("updating tokens", err))?;
            return Ok(SwapOutcome::Conflict(stored));
        }
        self.replace_token(&tx, &new.resource_server, &json)?;
        tx.commit()
            .map_err(|err| self.db_error("updating tokens", err))?;
        Ok(SwapOutcome::Swapped)
    }

    /// Runs `update` inside a `BEGIN IMMEDIATE` transaction, so no other connection or process
    /// can write the database until it returns: concurrent renewals of one token happen one
    /// after another, each seeing the previous one's result. The new entry is stored under
    /// `resource_server`.
    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        let mut inner = self.lock_for_write();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.db_error("updating tokens", err))?;
        let current = self.read_token(&tx, resource_server)?;
        let Some(new) = update(current.as_ref()) else {
            tx.rollback()
                .map_err(|err| self.db_error("updating tokens", err))?;
            return Ok(current);
        };
        let json = self.token_json(&new)?;
        self.replace_token(&tx, resource_server, &json)?;
        tx.commit()
            .map_err(|err| self.db_error("updating tokens", err))?;
        Ok(Some(new))
    }

    fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
        Some(self)
    }

    /// `Some` for schema 1 and schema 2 alike; on schema-2 files every config call fails with
    /// [`Error::Unsupported`] saying the file has no config table.
    fn as_config_storage(&self) -> Option<&dyn ConfigStorage> {
        Some(self)
    }
}

impl EnumerableTokenStorage for SqliteAdapter {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        let inner = self.lock();
        let mut statement = inner
            .conn
            .prepare_cached(SELECT_NAMESPACE_TOKENS)
            .map_err(|err| self.db_error("reading tokens", err))?;
        let mut rows = statement
            .query([self.namespace.as_str()])
            .map_err(|err| self.db_error("reading tokens", err))?;
        let mut all = BTreeMap::new();
        while let Some(row) = rows
            .next()
            .map_err(|err| self.db_error("reading tokens", err))?
        {
            let resource_server = match row.get_ref(0) {
                Ok(ValueRef::Text(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
                Ok(_) => {
                    return Err(Error::invalid_data(
                        format!(
                            "{}: token_storage[namespace={}]",
                            self.shared.location, self.namespace
                        ),
                        "a resource_server value is not text",
                    ));
                }
                Err(err) => return Err(self.db_error("reading tokens", err)),
            };
            let value = row
                .get_ref(1)
                .map_err(|err| self.db_error("reading tokens", err))?;
            let data = self.parse_token(value, &resource_server)?;
            all.insert(resource_server, data);
        }
        Ok(all)
    }

    /// The namespaces holding tokens, sorted (configuration-only namespaces are not included;
    /// see [`SqliteAdapter::namespaces_including_config`]).
    fn namespaces(&self) -> Result<Vec<String>> {
        self.query_namespaces(SELECT_TOKEN_NAMESPACES)
    }
}

impl ConfigStorage for SqliteAdapter {
    fn store_config(&self, config_name: &str, config: &Map<String, Value>) -> Result<()> {
        if !self.shared.schema.has_config_storage() {
            return Err(self.no_config_table());
        }
        let json = json_text(config)
            .map_err(|reason| Error::invalid_data(self.config_location(config_name), reason))?;
        let inner = self.lock();
        inner
            .conn
            .prepare_cached(REPLACE_CONFIG)
            .and_then(|mut statement| {
                statement.execute((self.namespace.as_str(), config_name, json.as_str()))
            })
            .map(drop)
            .map_err(|err| self.db_error("storing config", err))
    }

    fn read_config(&self, config_name: &str) -> Result<Option<Map<String, Value>>> {
        if !self.shared.schema.has_config_storage() {
            return Err(self.no_config_table());
        }
        let inner = self.lock();
        let mut statement = inner
            .conn
            .prepare_cached(SELECT_CONFIG)
            .map_err(|err| self.db_error("reading config", err))?;
        let mut rows = statement
            .query((self.namespace.as_str(), config_name))
            .map_err(|err| self.db_error("reading config", err))?;
        let Some(row) = rows
            .next()
            .map_err(|err| self.db_error("reading config", err))?
        else {
            return Ok(None);
        };
        let value = row
            .get_ref(0)
            .map_err(|err| self.db_error("reading config", err))?;
        match parse_json_column(value, "config_data_json") {
            Ok(Value::Object(object)) => Ok(Some(object)),
            Ok(other) => Err(Error::invalid_data(
                self.config_location(config_name),
                format!(
                    "config data must be a JSON object, found {}",
                    json_type_name(&other)
                ),
            )),
            Err(reason) => Err(Error::invalid_data(
                self.config_location(config_name),
                reason,
            )),
        }
    }

    fn remove_config(&self, config_name: &str) -> Result<bool> {
        if !self.shared.schema.has_config_storage() {
            return Err(self.no_config_table());
        }
        let inner = self.lock();
        inner
            .conn
            .prepare_cached(DELETE_CONFIG)
            .and_then(|mut statement| statement.execute((self.namespace.as_str(), config_name)))
            .map(|removed| removed > 0)
            .map_err(|err| self.db_error("removing config", err))
    }

    fn config_names(&self) -> Result<Vec<String>> {
        if !self.shared.schema.has_config_storage() {
            return Err(self.no_config_table());
        }
        let inner = self.lock();
        inner
            .conn
            .prepare_cached(
                "SELECT config_name FROM config_storage WHERE namespace=? ORDER BY config_name",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([self.namespace.as_str()], |row| row.get::<_, String>(0))?
                    .collect()
            })
            .map_err(|err| self.db_error("listing config", err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use globus_tokens_core::DEFAULT_NAMESPACE;
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
    fn legacy_layout_text() {
        let store = memory();
        let data = sample("a.example.org");
        assert_eq!(
            store.token_json(&data).unwrap(),
            r#"{"scope": "scope", "access_token": "AT-secret-value", "refresh_token": "RT-x", "token_type": "Bearer", "expires_at_seconds": 2000000000, "resource_server": "a.example.org"}"#
        );
    }

    #[test]
    fn config_round_trip_and_bad_values() {
        let store = memory();
        assert_eq!(store.read_config("missing").unwrap(), None);
        let config = json!({"b": [1, "é"], "a": null});
        store
            .store_config("cfg", config.as_object().unwrap())
            .unwrap();
        assert_eq!(
            store.read_config("cfg").unwrap().map(Value::Object),
            Some(config)
        );
        assert!(store.remove_config("cfg").unwrap());
        assert!(!store.remove_config("cfg").unwrap());
        store
            .lock()
            .conn
            .execute(
                "INSERT INTO config_storage VALUES ('DEFAULT', 'bad', '[1, 2]')",
                [],
            )
            .unwrap();
        let err = store.read_config("bad").unwrap_err();
        assert!(
            err.to_string()
                .contains(":memory:: config_storage[namespace=DEFAULT, config_name=bad]"),
            "{err}"
        );
    }

    #[test]
    fn corrupt_row_names_the_row_not_the_value() {
        let store = memory();
        store
            .lock()
            .conn
            .execute(
                "INSERT INTO token_storage VALUES ('DEFAULT', 'rs', '{\"scope\": 5, \"access_token\": \"AT-hidden\"}')",
                [],
            )
            .unwrap();
        let err = store.get_token_data("rs").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidData { .. }), "{text}");
        assert!(
            text.contains("token_storage[namespace=DEFAULT, resource_server=rs]"),
            "{text}"
        );
        assert!(text.contains("scope"), "{text}");
        assert!(!text.contains("AT-hidden"), "{text}");
        assert!(store.get_by_resource_server().is_err());
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
    fn panic_in_update_rolls_back() {
        let store = memory();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.update_token_data("a.example.org", &mut |_| panic!("boom"));
        }));
        assert!(caught.is_err());
        // The connection is usable again and not stuck in a transaction.
        let data = sample("a.example.org");
        store
            .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
            .unwrap();
        assert_eq!(store.get_token_data("a.example.org").unwrap(), Some(data));
    }

    #[test]
    fn pragmas_keep_pythons_durability() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteAdapter::open(dir.path().join("tokens.db")).unwrap();
        {
            let inner = store.lock();
            let pragma = |name: &str| -> String {
                inner
                    .conn
                    .pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
                    .map(|value| format!("{value:?}"))
                    .unwrap()
            };
            // The rollback journal, kept as an empty file between transactions.
            assert_eq!(pragma("journal_mode"), r#"Text("truncate")"#);
            assert_eq!(pragma("synchronous"), "Integer(2)");
            assert_eq!(pragma("busy_timeout"), "Integer(30000)");
        }
        // The file itself stays in rollback mode: Python opens it with its own default.
        let python_view = rusqlite::Connection::open(store.path()).unwrap();
        let mode: String = python_view
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let explicit = SqliteAdapter::builder(store.path())
            .journal_mode(JournalMode::Delete)
            .open()
            .unwrap();
        let mode: String = explicit
            .lock()
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let quick = SqliteAdapter::builder(store.path())
            .busy_timeout(std::time::Duration::from_millis(250))
            .open()
            .unwrap();
        let timeout: i64 = quick
            .lock()
            .conn
            .pragma_query_value(None, "busy_timeout", |row| row.get(0))
            .unwrap();
        assert_eq!(timeout, 250);
        #[cfg(target_os = "linux")]
        assert!(matches!(store.shared.validator, Validator::File(_)));
        let wal = SqliteAdapter::builder(dir.path().join("wal.db"))
            .journal_mode(JournalMode::Wal)
            .open()
            .unwrap();
        assert!(matches!(wal.shared.validator, Validator::Disabled));
        let journal: String = wal
            .lock()
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
    }

    #[test]
    fn memory_cache_is_emptied_by_writes() {
        let store = memory();
        let other = store.with_namespace("other");
        assert_eq!(store.get_token_data("a.example.org").unwrap(), None);
        let data = sample("a.example.org");
        other
            .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
            .unwrap();
        store
            .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
            .unwrap();
        assert_eq!(
            store.get_token_data("a.example.org").unwrap(),
            Some(data.clone())
        );
        assert!(store.remove_token_data("a.example.org").unwrap());
        assert_eq!(store.get_token_data("a.example.org").unwrap(), None);
        assert_eq!(other.get_token_data("a.example.org").unwrap(), Some(data));
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
