//! `DynamoDbStorage` against the local DynamoDB-compatible server: `store` of a
//! three-resource-server response (one `TransactWriteItems`), the seed example's way of
//! storing it (one `PutItem` per resource server), and `get_token_data` (one consistent
//! `GetItem`). Before timing, prints the requests each operation sends, counted by an SDK
//! interceptor.
//!
//! Needs the server: `GLOBUS_TOKENS_DYNAMODB_ENDPOINT`, or `.venv-moto/` (see
//! `scripts/lib/dynamodb.sh`), as the tests do.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use criterion::{Criterion, criterion_group, criterion_main};
use globus_tokens_core::{TokenResponse, TokenStorage};
use globus_tokens_dynamodb::{DynamoDbStorage, ItemLayout};
use globus_tokens_testkit::data::authorization_code_response;

/// The seed example's `store`: one `put_item` per resource server.
fn seed_style_store(store: &DynamoDbStorage, response: &TokenResponse) {
    for (rs, data) in response.by_resource_server() {
        store
            .store_token_data(&std::collections::BTreeMap::from([(rs, data)]))
            .unwrap();
    }
}

fn benches(c: &mut Criterion) {
    let counter = Arc::new(common::RequestCounter::default());
    let table = common::fresh_table("bench", ItemLayout::Seed);
    let store = DynamoDbStorage::builder(table.table_name())
        .client(common::counting_client(counter.clone()))
        .build()
        .unwrap();
    let response = authorization_code_response();
    let requests = |f: &dyn Fn()| {
        let before = counter.0.load(Ordering::SeqCst);
        f();
        counter.0.load(Ordering::SeqCst) - before
    };
    println!(
        "requests per store of {} resource servers: {} (seed example's way: {}); per get_token_data: {}",
        response.by_resource_server().len(),
        requests(&|| store.store(&response).unwrap()),
        requests(&|| seed_style_store(&store, &response)),
        requests(&|| {
            store.get_token_data("transfer.api.globus.org").unwrap();
        }),
    );

    let mut group = c.benchmark_group("dynamodb");
    group.sample_size(30);
    group.bench_function("store_3_resource_servers", |b| {
        b.iter(|| store.store(black_box(&response)).unwrap())
    });
    group.bench_function("store_seed_style_3_put_items", |b| {
        b.iter(|| seed_style_store(&store, black_box(&response)))
    });
    group.bench_function("get_token_data", |b| {
        b.iter(|| {
            store
                .get_token_data(black_box("transfer.api.globus.org"))
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(dynamodb, benches);
criterion_main!(dynamodb);
