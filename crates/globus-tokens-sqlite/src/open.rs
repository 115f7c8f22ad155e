//! Opening a [`SqliteAdapter`]: the file (created owner-only, or refused when it may not be
//! created), the connection's pragmas, the schema (`schema` module) and the journal mode.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use globus_tokens_core::raw::fs::{create_private_dir_all, open_private, parent_dir};
use globus_tokens_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};

use crate::adapter::{MEMORY_PATH, Shared, SqliteAdapter};
use crate::builder::{JournalMode, SqliteAdapterBuilder};
use crate::error::{BACKEND, is_busy, open_error, sqlite_error};
use crate::schema;

/// Room for every statement the adapter runs plus transaction control, so none is ever
/// re-prepared.
const STATEMENT_CACHE_CAPACITY: usize = 32;

impl SqliteAdapter {
    pub(crate) fn open_with(options: SqliteAdapterBuilder) -> Result<Self> {
        let SqliteAdapterBuilder {
            path,
            namespace,
            busy_timeout,
            journal_mode,
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
        Ok(SqliteAdapter::from_parts(
            namespace,
            Shared {
                conn: Mutex::new(conn),
                path,
                location,
                schema,
            },
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragmas_keep_pythons_durability() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteAdapter::open(dir.path().join("tokens.db")).unwrap();
        {
            let conn = store.lock();
            let pragma = |name: &str| -> String {
                conn.pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
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
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let quick = SqliteAdapter::builder(store.path())
            .busy_timeout(std::time::Duration::from_millis(250))
            .open()
            .unwrap();
        let timeout: i64 = quick
            .lock()
            .pragma_query_value(None, "busy_timeout", |row| row.get(0))
            .unwrap();
        assert_eq!(timeout, 250);
        let wal = SqliteAdapter::builder(dir.path().join("wal.db"))
            .journal_mode(JournalMode::Wal)
            .open()
            .unwrap();
        let journal: String = wal
            .lock()
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
    }
}
