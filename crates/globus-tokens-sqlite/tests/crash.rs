//! Writers killed with SIGKILL hundreds of times: the database always passes
//! `PRAGMA integrity_check`, holds whole writes only, and is never left locked.

use std::path::Path;

use globus_tokens_core::TokenStorage;
use globus_tokens_sqlite::SqliteAdapter;
use globus_tokens_testkit::crash::killed_writers;

fn open(path: &Path) -> Box<dyn TokenStorage> {
    Box::new(SqliteAdapter::open(path).expect("open the database"))
}

fn integrity_check(path: &Path) {
    let connection = rusqlite::Connection::open(path).unwrap();
    let verdict: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(verdict, "ok", "{} failed integrity_check", path.display());
}

#[test]
fn sqlite_writers_killed_at_random_points() {
    let stored = killed_writers(
        "sqlite_writers_killed_at_random_points",
        "tokens.db",
        open,
        300,
        integrity_check,
    );
    assert!(stored >= 25, "the writers hardly wrote: {stored}");
}
