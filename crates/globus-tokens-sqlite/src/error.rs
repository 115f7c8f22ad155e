//! Turning SQLite driver errors into the workspace's [`Error`].

use globus_tokens_core::Error;
use rusqlite::ErrorCode;

/// The backend name used in errors.
pub(crate) const BACKEND: &str = "sqlite";

/// An [`Error::Backend`] for a driver error met while doing `operation` on `location`.
///
/// `SQLITE_BUSY` and `SQLITE_LOCKED` (another connection holds a lock past the busy timeout)
/// are marked temporary. SQLite's messages describe statements and locks, never bound values,
/// so no token can appear in them.
pub(crate) fn sqlite_error(location: &str, operation: &str, err: rusqlite::Error) -> Error {
    let temporary = is_busy(&err);
    Error::Backend {
        backend: BACKEND,
        location: location.to_owned(),
        message: format!("{operation}: {err}"),
        temporary,
        source: Some(Box::new(err)),
    }
}

/// An error met while opening `location`: [`Error::InvalidData`] if SQLite found that the file
/// is not a database, [`sqlite_error`] otherwise.
pub(crate) fn open_error(location: &str, operation: &str, err: rusqlite::Error) -> Error {
    if is_not_a_database(&err) {
        Error::invalid_data(location, "not a SQLite database")
    } else {
        sqlite_error(location, operation, err)
    }
}

/// Whether another connection's lock made the operation fail (`SQLITE_BUSY`, `SQLITE_LOCKED`).
pub(crate) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Whether SQLite reported that the file is not a database (`SQLITE_NOTADB`).
pub(crate) fn is_not_a_database(err: &rusqlite::Error) -> bool {
    err.sqlite_error_code() == Some(ErrorCode::NotADatabase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_temporary() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let err = sqlite_error("db", "storing tokens", busy);
        assert!(err.is_temporary());
        assert!(err.to_string().contains("storing tokens"));
        let corrupt = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        assert!(!sqlite_error("db", "reading", corrupt).is_temporary());
    }
}
