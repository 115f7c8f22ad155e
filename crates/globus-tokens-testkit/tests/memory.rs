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

/// The same suite through `BlockingPool`, the async adapter of blocking stores.
mod through_blocking_pool {
    use super::*;
    use globus_tokens_testkit::block_on::ThroughBlockingPool;
    globus_tokens_testkit::conformance_suite!(ThroughBlockingPool::new(Memory(
        MemoryTokenStorage::new()
    )));
}
