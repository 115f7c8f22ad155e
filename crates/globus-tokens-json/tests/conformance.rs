//! The shared conformance suite, run against both JSON formats.

use std::path::PathBuf;

use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};
use globus_tokens_testkit::{Capabilities, StoreFactory};
use tempfile::TempDir;

/// A fresh directory per test case; every handle opens the same file in it.
struct InTempDir(TempDir);

impl InTempDir {
    fn new() -> Self {
        InTempDir(tempfile::tempdir().expect("temporary directory"))
    }

    fn file(&self) -> PathBuf {
        self.0.path().join("tokens.json")
    }
}

/// Format 1.0 has one implicit namespace, so `open` ignores the one asked for.
struct SimpleFactory(InTempDir);

impl StoreFactory for SimpleFactory {
    type Store = SimpleJsonFileAdapter;

    fn open(&self, _namespace: &str) -> SimpleJsonFileAdapter {
        SimpleJsonFileAdapter::new(self.0.file())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::all().namespaces(false)
    }
}

struct V2Factory(InTempDir);

impl StoreFactory for V2Factory {
    type Store = JsonTokenStorage;

    fn open(&self, namespace: &str) -> JsonTokenStorage {
        JsonTokenStorage::new(self.0.file()).with_namespace(namespace)
    }
}

mod simple_json_file_adapter {
    use super::*;
    globus_tokens_testkit::conformance_suite!(SimpleFactory(InTempDir::new()));
}

mod json_token_storage {
    use super::*;
    globus_tokens_testkit::conformance_suite!(V2Factory(InTempDir::new()));
}

/// The same suite through `BlockingPool`, the async adapter: the locked update holds the
/// sidecar lock across the async closure.
mod json_token_storage_through_blocking_pool {
    use super::*;
    use globus_tokens_testkit::block_on::ThroughBlockingPool;
    globus_tokens_testkit::conformance_suite!(ThroughBlockingPool::new(
        V2Factory(InTempDir::new())
    ));
}
