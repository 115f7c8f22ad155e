//! Authorizer costs: the hot path (a valid token) and the overhead of a renewal.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use globus_authorizers::{
    AuthClient, GlobusAuthorizer, RefreshTokenAuthorizer, RenewingAuthorizer, StorageAuthorizer,
    TokenSource,
};
use globus_tokens_core::{Clock as _, SystemClock, TokenData, TokenResponse, TokenStorage};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const TRANSFER: &str = "transfer.api.globus.org";
const SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

/// Answers renewals from memory, so the benchmark measures the authorizer, not the network.
struct Canned;

impl TokenSource for Canned {
    fn fetch(&self) -> globus_authorizers::Result<TokenResponse> {
        let body = br#"{"access_token": "AT", "scope": "s", "expires_in": 3600, "resource_server": "rs", "refresh_token": "RT"}"#;
        Ok(TokenResponse::from_json(body).expect("valid"))
    }
    fn context(&self) -> String {
        "canned".into()
    }
}

fn benches(c: &mut Criterion) {
    let server = FakeAuthServer::start();
    server.register_native_client("client");
    let client = Arc::new(
        AuthClient::builder("client")
            .base_url(server.base_url())
            .build()
            .expect("client"),
    );
    let now = SystemClock.now_seconds();

    let fresh = RefreshTokenAuthorizer::builder("RT", Arc::clone(&client))
        .access_token("AT-valid")
        .expires_at(now + 3600)
        .build()
        .expect("authorizer");
    c.bench_function("header/valid_token", |b| {
        b.iter(|| black_box(fresh.get_authorization_header()))
    });

    let canned = RenewingAuthorizer::with_source(Canned, Arc::new(SystemClock))
        .build()
        .expect("authorizer");
    c.bench_function("renewal/in_memory_source", |b| {
        b.iter(|| {
            canned.handle_missing_authorization();
            black_box(canned.get_authorization_header())
        })
    });

    let refresh_token = server.issue_refresh_token("client", TRANSFER, SCOPE);
    let over_http = RefreshTokenAuthorizer::builder(refresh_token, Arc::clone(&client))
        .build()
        .expect("authorizer");
    c.bench_function("renewal/refresh_grant_over_loopback_http", |b| {
        b.iter(|| {
            over_http.handle_missing_authorization();
            black_box(over_http.get_authorization_header())
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn TokenStorage> =
        Arc::new(globus_tokens_sqlite::SqliteAdapter::open(dir.path().join("t.db")).expect("db"));
    let seed = TokenData::new(TRANSFER, SCOPE, "AT", now - 5)
        .with_refresh_token(server.issue_refresh_token("client", TRANSFER, SCOPE));
    store
        .store_token_data(&[(TRANSFER.to_owned(), seed)].into())
        .expect("seed");
    let stored = StorageAuthorizer::builder(store, TRANSFER, client)
        .build()
        .expect("authorizer");
    c.bench_function("header/storage_authorizer_valid_token", |b| {
        b.iter(|| black_box(stored.get_authorization_header()))
    });
    c.bench_function(
        "renewal/storage_authorizer_sqlite_over_loopback_http",
        |b| {
            b.iter(|| {
                stored.handle_missing_authorization();
                black_box(stored.get_authorization_header())
            })
        },
    );
}

criterion_group!(authorizers, benches);
criterion_main!(authorizers);
