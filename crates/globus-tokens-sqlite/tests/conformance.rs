//! The shared conformance suite, run against a database file (rollback journal and WAL), an
//! in-memory database, and a schema-2 file written by globus-sdk's `SQLiteTokenStorage`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use globus_tokens_sqlite::{JournalMode, SqliteAdapter};
use globus_tokens_testkit::StoreFactory;
use tempfile::TempDir;

/// Every `open` is a new connection on the same file, so "two handles" are really two.
struct FileFactory {
    dir: TempDir,
    journal_mode: Option<JournalMode>,
    file_name: &'static str,
}

impl FileFactory {
    fn new(journal_mode: Option<JournalMode>) -> Self {
        FileFactory {
            dir: tempfile::tempdir().unwrap(),
            journal_mode,
            file_name: "tokens.db",
        }
    }

    /// A copy of the schema-2 reference file with its tokens removed.
    fn schema_2() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = common::copy_fixture("sdk-v2-sqlite.db", dir.path());
        common::raw(&path)
            .execute("DELETE FROM token_storage", [])
            .unwrap();
        FileFactory {
            dir,
            journal_mode: None,
            file_name: "sdk-v2-sqlite.db",
        }
    }
}

impl StoreFactory for FileFactory {
    type Store = SqliteAdapter;

    fn open(&self, namespace: &str) -> SqliteAdapter {
        let mut builder =
            SqliteAdapter::builder(self.dir.path().join(self.file_name)).namespace(namespace);
        if let Some(mode) = self.journal_mode {
            builder = builder.journal_mode(mode);
        }
        builder.open().unwrap()
    }
}

/// An in-memory database: every handle shares the one connection.
struct MemoryFactory(SqliteAdapter);

impl MemoryFactory {
    fn new() -> Self {
        MemoryFactory(SqliteAdapter::open(":memory:").unwrap())
    }
}

impl StoreFactory for MemoryFactory {
    type Store = SqliteAdapter;

    fn open(&self, namespace: &str) -> SqliteAdapter {
        self.0.with_namespace(namespace)
    }
}

mod file {
    use super::*;
    globus_tokens_testkit::conformance_suite!(FileFactory::new(None));
}

mod file_wal {
    use super::*;
    globus_tokens_testkit::conformance_suite!(FileFactory::new(Some(JournalMode::Wal)));
}

mod memory {
    use super::*;
    globus_tokens_testkit::conformance_suite!(MemoryFactory::new());
}

mod schema_2 {
    use super::*;
    globus_tokens_testkit::conformance_suite!(FileFactory::schema_2());
}

/// The same suite through `BlockingPool`, the async adapter: the locked update holds
/// `BEGIN IMMEDIATE` across the async closure.
mod file_through_blocking_pool {
    use super::*;
    use globus_tokens_testkit::block_on::ThroughBlockingPool;
    globus_tokens_testkit::conformance_suite!(ThroughBlockingPool::new(FileFactory::new(None)));
}
