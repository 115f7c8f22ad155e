//! Table management, layouts and the async and in-runtime use of the storage.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use globus_tokens_core::{EnumerableTokenStorage, Error, TokenData, TokenStorage};
use globus_tokens_dynamodb::{
    Billing, CreateTableOptions, ErrorKind, ItemLayout, TRANSACT_WRITE_LIMIT, error_kind,
};
use globus_tokens_testkit::data::authorization_code_response;

#[test]
fn create_table_then_exists_and_check() {
    for layout in [ItemLayout::Seed, ItemLayout::Composite] {
        let store = common::builder(&common::unique_table("create"))
            .layout(layout)
            .build()
            .unwrap();
        assert!(!store.table_exists().unwrap());
        let err = store.check_table().unwrap_err();
        assert_eq!(error_kind(&err), Some(ErrorKind::TableNotFound), "{err}");
        store
            .create_table(
                CreateTableOptions::default()
                    .billing(Billing::Provisioned { read: 2, write: 3 })
                    .wait(Duration::from_secs(30)),
            )
            .unwrap();
        assert!(store.table_exists().unwrap());
        store.check_table().unwrap();
        let err = store
            .create_table(CreateTableOptions::default())
            .unwrap_err();
        assert_eq!(
            error_kind(&err),
            Some(ErrorKind::TableAlreadyExists),
            "{err}"
        );
        let table = store
            .client()
            .describe_table()
            .table_name(store.table_name());
        let described = common_block_on(table.send()).unwrap();
        let throughput = described.table().unwrap().provisioned_throughput().unwrap();
        assert_eq!(throughput.read_capacity_units(), Some(2));
        assert_eq!(throughput.write_capacity_units(), Some(3));
    }
}

fn common_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn wrong_key_schema_is_a_typed_error() {
    let seed = common::fresh_table("schema", ItemLayout::Seed);
    let err = common::builder(seed.table_name())
        .layout(ItemLayout::Composite)
        .open()
        .unwrap_err();
    assert_eq!(error_kind(&err), Some(ErrorKind::WrongKeySchema), "{err}");
    let message = err.to_string();
    assert!(message.contains("token_data_id HASH"), "{message}");
    assert!(message.contains(seed.table_name()), "{message}");
    assert!(!err.is_temporary());
    common::builder(seed.table_name()).open().unwrap();
}

#[test]
fn seed_layout_does_not_list() {
    let store = common::fresh_table("seed-list", ItemLayout::Seed);
    store.store(&authorization_code_response()).unwrap();
    assert!(store.as_enumerable().is_none());
    for err in [
        store.get_by_resource_server().unwrap_err(),
        store.namespaces().unwrap_err(),
        store
            .remove_namespace()
            .map(|_| BTreeMap::<String, TokenData>::new())
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::Unsupported {
                    backend: "dynamodb",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("Composite"), "{err}");
    }
}

#[test]
fn composite_lists_and_removes_a_namespace() {
    let store = common::fresh_table("composite", ItemLayout::Composite);
    let alice = store.with_namespace("alice");
    let bob = store.with_namespace("bob");
    alice.store(&authorization_code_response()).unwrap();
    bob.store(&authorization_code_response()).unwrap();
    assert_eq!(alice.namespaces().unwrap(), ["alice", "bob"]);
    assert_eq!(alice.remove_namespace().unwrap(), 3);
    assert!(alice.get_by_resource_server().unwrap().is_empty());
    assert_eq!(bob.get_by_resource_server().unwrap().len(), 3);
    assert_eq!(alice.namespaces().unwrap(), ["bob"]);
    assert_eq!(alice.remove_namespace().unwrap(), 0);
}

fn many(count: usize) -> BTreeMap<String, TokenData> {
    (0..count)
        .map(|i| {
            let rs = format!("rs-{i:04}.example.org");
            let data = TokenData::new(rs.clone(), "scope ".repeat(200), format!("AT-{i}"), 7)
                .with_refresh_token(format!("RT-{i}"));
            (rs, data)
        })
        .collect()
}

#[test]
fn large_batches_are_chunked_and_listing_paginates() {
    let counter = std::sync::Arc::new(common::RequestCounter::default());
    let table = common::fresh_table("chunks", ItemLayout::Composite);
    let store = globus_tokens_dynamodb::DynamoDbStorage::builder(table.table_name())
        .client(common::counting_client(counter.clone()))
        .layout(ItemLayout::Composite)
        .build()
        .unwrap();
    let requests = |f: &dyn Fn()| {
        let before = counter.0.load(std::sync::atomic::Ordering::SeqCst);
        f();
        counter.0.load(std::sync::atomic::Ordering::SeqCst) - before
    };
    // ~1.3 KiB per item: 907 items are 10 TransactWriteItems requests and more than the
    // 1 MB a Query page holds.
    let count = TRANSACT_WRITE_LIMIT * 9 + 7;
    let batch = many(count);
    assert_eq!(requests(&|| store.store_token_data(&batch).unwrap()), 10);
    let pages = requests(&|| assert_eq!(store.get_by_resource_server().unwrap(), batch));
    assert!(pages >= 2, "listing took {pages} Query requests");
    assert_eq!(store.remove_namespace().unwrap(), count);
    assert!(store.get_by_resource_server().unwrap().is_empty());
}

#[test]
fn works_inside_a_tokio_runtime_and_async() {
    let store = common::fresh_table("tokio", ItemLayout::Composite);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The blocking API from inside an async task: no "cannot block_on inside a runtime".
        store.store(&authorization_code_response()).unwrap();
        assert!(store.get_token_data("auth.globus.org").unwrap().is_some());
        // The async API.
        let got = store
            .get_token_data_async("transfer.api.globus.org")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.access_token.expose(), "AT-a-1");
        let newer = TokenData::new("transfer.api.globus.org", "s", "AT-async", 9);
        assert_eq!(
            store
                .compare_and_swap_async(Some(&got), &newer)
                .await
                .unwrap(),
            globus_tokens_core::SwapOutcome::Swapped
        );
        assert_eq!(store.get_by_resource_server_async().await.unwrap().len(), 3);
        assert!(
            store
                .remove_token_data_async("auth.globus.org")
                .await
                .unwrap()
        );
        store
            .store_async(&authorization_code_response())
            .await
            .unwrap();
        assert!(store.table_exists_async().await.unwrap());
        store.check_table_async().await.unwrap();
        assert_eq!(store.remove_namespace_async().await.unwrap(), 3);
        // Dropping the storage inside the runtime must not panic either.
        let other = store.with_namespace("x");
        drop(other);
    });
    // A current-thread runtime too.
    common_block_on(async {
        assert!(store.get_token_data("auth.globus.org").unwrap().is_none());
        assert!(
            store
                .get_token_data_async("auth.globus.org")
                .await
                .unwrap()
                .is_none()
        );
    });
    drop(runtime);
}

#[test]
fn existing_client_can_be_given() {
    let store = common::fresh_table("client", ItemLayout::Seed);
    let again = globus_tokens_dynamodb::DynamoDbStorage::builder(store.table_name())
        .client(store.client().clone())
        .open()
        .unwrap();
    again.store(&authorization_code_response()).unwrap();
    assert!(store.get_token_data("auth.globus.org").unwrap().is_some());
    let shown = format!("{again:?}");
    assert!(shown.contains(store.table_name()), "{shown}");
}

#[test]
fn a_three_resource_server_store_is_one_request() {
    let counter = std::sync::Arc::new(common::RequestCounter::default());
    let table = common::fresh_table("requests", ItemLayout::Seed);
    let store = globus_tokens_dynamodb::DynamoDbStorage::builder(table.table_name())
        .client(common::counting_client(counter.clone()))
        .build()
        .unwrap();
    let response = authorization_code_response();
    assert_eq!(response.by_resource_server().len(), 3);
    let count = |f: &dyn Fn()| {
        let before = counter.0.load(std::sync::atomic::Ordering::SeqCst);
        f();
        counter.0.load(std::sync::atomic::Ordering::SeqCst) - before
    };
    assert_eq!(count(&|| store.store(&response).unwrap()), 1, "store");
    assert_eq!(
        count(&|| {
            store.get_token_data("auth.globus.org").unwrap().unwrap();
        }),
        1,
        "get"
    );
    // A conditional update that wins: take the lease, one read, one conditional write,
    // release the lease.
    assert_eq!(
        count(&|| {
            store
                .update_token_data("auth.globus.org", &mut |current| {
                    let mut next = current.unwrap().clone();
                    next.access_token = "AT-next".into();
                    Some(next)
                })
                .unwrap();
        }),
        4,
        "update"
    );
}
