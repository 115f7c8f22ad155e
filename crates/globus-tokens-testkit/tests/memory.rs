//! The conformance suite against the in-memory store.

use globus_tokens_core::MemoryTokenStorage;
use globus_tokens_testkit::StoreFactory;

struct Memory(MemoryTokenStorage);

impl StoreFactory for Memory {
    type Store = MemoryTokenStorage;

    fn open(&self, namespace: &str) -> MemoryTokenStorage {
        self.0.with_namespace(namespace)
    }
}

globus_tokens_testkit::conformance_suite!(Memory(MemoryTokenStorage::new()));
