//! What a service pays DynamoDB per header and per renewal: a `StorageAuthorizer` over the
//! table with a fresh token (steady state), `DependentTokens` with a fresh token, and
//! `StoreRenewal` of a stale token with and without the renewal lease, against the fake
//! Globus Auth (no delay) and the local DynamoDB-compatible server. Before timing, prints the
//! DynamoDB requests each costs, counted by an SDK interceptor.
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

use std::sync::Arc;
use std::sync::atomic::Ordering;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use globus_authorizers::{
    AuthClient, DependentTokens, GlobusAuthorizer, StorageAuthorizer, StoreRenewal,
};
use globus_tokens_core::{Clock as _, Secret, SystemClock, TokenData, TokenStorage};
use globus_tokens_dynamodb::{DynamoDbStorage, ItemLayout, LeaseConfig};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const NATIVE: &str = "bench-native-client";
const SERVICE: &str = "bench-service-client";
const SECRET: &str = "bench-service-secret";
const RS: &str = "transfer.api.globus.org";
const SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const USER: &str = "be4c0000-0000-4000-8000-000000000001";

fn stale(server: &FakeAuthServer) -> TokenData {
    TokenData::new(RS, SCOPE, "AT-stale", SystemClock.now_seconds() - 5)
        .with_refresh_token(server.issue_refresh_token(NATIVE, RS, SCOPE))
}

fn benches(c: &mut Criterion) {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.register_confidential_client(SERVICE, SECRET);
    server.set_dependent_scopes(SERVICE, &[(RS, SCOPE)]);
    server.set_rotate_refresh_tokens(false);
    let counter = Arc::new(common::RequestCounter::default());
    let table = common::fresh_table("bench-renewal", ItemLayout::Composite);
    let open = |lease: bool| {
        let builder = DynamoDbStorage::builder(table.table_name())
            .client(common::counting_client(Arc::clone(&counter)))
            .layout(ItemLayout::Composite);
        let builder = if lease {
            builder.lease(LeaseConfig::default())
        } else {
            builder.without_lease()
        };
        builder.build().unwrap()
    };
    let (leased, unleased) = (Arc::new(open(true)), Arc::new(open(false)));
    let client = Arc::new(
        AuthClient::builder(NATIVE)
            .base_url(server.base_url())
            .build()
            .unwrap(),
    );
    let renewal = StoreRenewal::new(Arc::clone(&client));
    let requests = |f: &mut dyn FnMut()| {
        let before = counter.0.load(Ordering::SeqCst);
        f();
        counter.0.load(Ordering::SeqCst) - before
    };
    let put_stale = |store: &DynamoDbStorage| {
        store
            .store_token_data(&[(RS.to_owned(), stale(&server))].into())
            .unwrap();
    };

    // Steady state: a fresh token in the authorizer's memory.
    put_stale(&leased);
    let authorizer = StorageAuthorizer::builder(
        Arc::clone(&leased) as Arc<dyn TokenStorage>,
        RS,
        Arc::clone(&client),
    )
    .build()
    .unwrap();
    let first = requests(&mut || {
        authorizer.get_authorization_header().unwrap().unwrap();
    });
    let steady = requests(&mut || {
        for _ in 0..1_000 {
            authorizer.get_authorization_header().unwrap().unwrap();
        }
    });

    // Dependent tokens of a user, fresh in memory after the first request.
    let service = Arc::new(
        AuthClient::builder(SERVICE)
            .client_secret(SECRET)
            .base_url(server.base_url())
            .build()
            .unwrap(),
    );
    let users = Arc::clone(&leased);
    let dependent = DependentTokens::builder(service, move |namespace: &str| {
        Ok(Arc::new(users.with_namespace(namespace)) as Arc<dyn TokenStorage>)
    })
    .resource_servers([RS])
    .build()
    .unwrap();
    let user_token = Secret::new(server.issue_user_token(USER, SERVICE, "service-scope"));
    let dependent_first = requests(&mut || {
        dependent.token(&user_token, RS).unwrap();
    });
    let dependent_steady = requests(&mut || {
        for _ in 0..1_000 {
            dependent.token(&user_token, RS).unwrap();
        }
    });

    let renewal_requests = |store: &DynamoDbStorage| {
        put_stale(store);
        requests(&mut || {
            renewal.renew(store, RS, None).unwrap();
        })
    };
    let with_lease = renewal_requests(&leased);
    let without_lease = renewal_requests(&unleased);
    println!(
        "DynamoDB requests: StorageAuthorizer first header (stale: lease, read, write, release) {first}, \
         then {steady} for 1000 headers; DependentTokens first token (grant under the lease) \
         {dependent_first}, then {dependent_steady} for 1000; StoreRenewal of a stale token: \
         {with_lease} with the lease, {without_lease} without (lease overhead {})",
        with_lease as i64 - without_lease as i64
    );

    let mut group = c.benchmark_group("dynamodb_renewal");
    group.sample_size(30);
    group.bench_function("storage_authorizer_header_fresh", |b| {
        b.iter(|| authorizer.get_authorization_header().unwrap().unwrap())
    });
    group.bench_function("dependent_token_fresh", |b| {
        b.iter(|| dependent.token(&user_token, RS).unwrap())
    });
    for (name, store) in [
        ("renewal_with_lease", &leased),
        ("renewal_without_lease", &unleased),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || put_stale(store),
                |()| renewal.renew(&**store, RS, None).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(renewal, benches);
criterion_main!(renewal);
