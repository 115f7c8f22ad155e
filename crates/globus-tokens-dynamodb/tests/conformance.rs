//! The conformance suite against a real DynamoDB-compatible server, on both item layouts;
//! every case gets a table of its own.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use globus_tokens_dynamodb::{DynamoDbStorage, ItemLayout};
use globus_tokens_testkit::{Capabilities, StoreFactory};

struct Fresh(DynamoDbStorage, ItemLayout);

impl Fresh {
    fn new(layout: ItemLayout) -> Self {
        Fresh(common::fresh_table("conformance", layout), layout)
    }
}

/// The seed example's key scheme cannot list; the composite one can.
fn capabilities(layout: ItemLayout) -> Capabilities {
    Capabilities::all().enumeration(layout == ItemLayout::Composite)
}

impl StoreFactory for Fresh {
    type Store = DynamoDbStorage;

    fn open(&self, namespace: &str) -> DynamoDbStorage {
        self.0.with_namespace(namespace)
    }

    fn capabilities(&self) -> Capabilities {
        capabilities(self.1)
    }
}

/// A new client (own runtime thread) per handle, on one table.
struct SeparateClients(String, ItemLayout);

impl StoreFactory for SeparateClients {
    type Store = DynamoDbStorage;

    fn open(&self, namespace: &str) -> DynamoDbStorage {
        common::builder(&self.0)
            .layout(self.1)
            .namespace(namespace)
            .open()
            .unwrap()
    }

    fn capabilities(&self) -> Capabilities {
        capabilities(self.1)
    }
}

impl SeparateClients {
    fn new(layout: ItemLayout) -> Self {
        let store = common::fresh_table("conformance-sep", layout);
        SeparateClients(store.table_name().to_owned(), layout)
    }
}

mod seed {
    use super::*;
    globus_tokens_testkit::conformance_suite!(Fresh::new(ItemLayout::Seed));
}

mod composite {
    use super::*;
    globus_tokens_testkit::conformance_suite!(Fresh::new(ItemLayout::Composite));
}

mod seed_separate_clients {
    use super::*;
    globus_tokens_testkit::conformance_suite!(SeparateClients::new(ItemLayout::Seed));
}

mod composite_separate_clients {
    use super::*;
    globus_tokens_testkit::conformance_suite!(SeparateClients::new(ItemLayout::Composite));
}

/// The same suite through the native `AsyncTokenStorage` implementation (both layouts).
mod seed_async {
    use super::*;
    use globus_tokens_testkit::block_on::ThroughAsync;
    globus_tokens_testkit::conformance_suite!(ThroughAsync::new(Fresh::new(ItemLayout::Seed)));
}

mod composite_async {
    use super::*;
    use globus_tokens_testkit::block_on::ThroughAsync;
    globus_tokens_testkit::conformance_suite!(ThroughAsync::new(Fresh::new(ItemLayout::Composite)));
}
