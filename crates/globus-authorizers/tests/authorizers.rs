//! Authorizers against the fake Globus Auth server over real HTTP.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use globus_authorizers::{
    AccessTokenAuthorizer, AuthClient, AuthError, AuthorizedAgent, ClientCredentialsAuthorizer,
    GlobusAuthorizer, RefreshTokenAuthorizer, StorageAuthorizer,
};
use globus_tokens_core::Clock as _;
use globus_tokens_core::{MemoryTokenStorage, SystemClock, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

mod common;
use common::racing_store::RacingStore;

const NATIVE: &str = "native-client-id";
const CONFIDENTIAL: &str = "confidential-client-id";
const SECRET: &str = "s3cr3t-value";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.register_confidential_client(CONFIDENTIAL, SECRET);
    server
}

fn native(server: &FakeAuthServer) -> Arc<AuthClient> {
    Arc::new(
        AuthClient::builder(NATIVE)
            .base_url(server.base_url())
            .build()
            .unwrap(),
    )
}

fn now() -> i64 {
    SystemClock.now_seconds()
}

#[test]
fn refresh_token_authorizer_renews_stale_token_and_keeps_rotated_refresh_token() {
    let server = server();
    let original = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let saved = Arc::new(MemoryTokenStorage::new());
    let authorizer = RefreshTokenAuthorizer::builder(original.clone(), native(&server))
        .access_token("AT-old")
        .expires_at(now() + 30) // within the 60 s margin: stale
        .on_refresh_storage(Arc::clone(&saved))
        .build()
        .unwrap();
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    let token = header.strip_prefix("Bearer ").unwrap();
    assert!(server.is_valid_access_token(token));
    assert_ne!(
        authorizer.refresh_token().expose(),
        original,
        "rotated refresh token adopted"
    );
    assert_eq!(server.token_requests(), 1);
    // The store got the whole response, rotated refresh token included.
    let stored = saved.get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), token);
    assert_eq!(
        stored.refresh_token.as_ref(),
        Some(&authorizer.refresh_token())
    );
    // Fresh now: no more requests; and a second renewal works with the rotated token.
    authorizer.get_authorization_header().unwrap();
    assert_eq!(server.token_requests(), 1);
    assert!(authorizer.handle_missing_authorization());
    authorizer.get_authorization_header().unwrap();
    assert_eq!(server.token_requests(), 2);
    assert!(!format!("{authorizer:?}").contains(token));
}

#[test]
fn sixty_four_threads_one_stale_token_one_request_zero_errors() {
    let server = server();
    server.set_rotate_refresh_tokens(true);
    server.set_token_delay(Duration::from_millis(200));
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let authorizer = RefreshTokenAuthorizer::builder(refresh_token, native(&server))
        .access_token("AT-expired")
        .expires_at(now() - 1)
        .build()
        .unwrap();
    let barrier = Barrier::new(64);
    let headers = Mutex::new(Vec::new());
    let errors = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..64 {
            scope.spawn(|| {
                barrier.wait();
                match authorizer.get_authorization_header() {
                    Ok(header) => headers.lock().unwrap().push(header),
                    Err(_) => {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(errors.load(Ordering::SeqCst), 0);
    assert_eq!(server.token_requests(), 1);
    let headers = headers.into_inner().unwrap();
    assert_eq!(headers.len(), 64);
    assert!(headers.iter().all(|h| h == &headers[0]));
}

#[test]
fn invalid_grant_is_login_required_for_every_waiter_after_one_request() {
    let server = server();
    server.set_token_delay(Duration::from_millis(200));
    let authorizer = RefreshTokenAuthorizer::builder("RT-revoked", native(&server))
        .resource_server(TRANSFER)
        .build()
        .unwrap();
    let barrier = Barrier::new(16);
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                barrier.wait();
                let err = authorizer.get_authorization_header().unwrap_err();
                assert!(matches!(&err, AuthError::LoginRequired { resource_server: Some(rs), .. } if rs == TRANSFER), "{err:?}");
                assert!(!err.to_string().contains("RT-revoked"));
            });
        }
    });
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn client_credentials_authorizer() {
    let server = server();
    let client = Arc::new(
        AuthClient::builder(CONFIDENTIAL)
            .client_secret(SECRET)
            .base_url(server.base_url())
            .build()
            .unwrap(),
    );
    let authorizer = ClientCredentialsAuthorizer::builder(Arc::clone(&client), TRANSFER_SCOPE)
        .build()
        .unwrap();
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    assert!(server.is_valid_access_token(header.strip_prefix("Bearer ").unwrap()));
    assert_eq!(
        server.requests()[0].form_value("scope"),
        Some(TRANSFER_SCOPE)
    );
    assert!(
        server.requests()[0]
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );

    let two_servers = format!("{TRANSFER_SCOPE} urn:globus:auth:scope:groups.api.globus.org:all");
    let authorizer = ClientCredentialsAuthorizer::builder(client, two_servers.clone())
        .build()
        .unwrap();
    let err = authorizer.get_authorization_header().unwrap_err();
    assert!(
        matches!(&err, AuthError::UnexpectedResourceServers { found, .. } if found.len() == 2),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&two_servers),
        "the error names the scopes: {err}"
    );
}

#[test]
fn static_authorizers_do_not_handle_401() {
    assert!(!AccessTokenAuthorizer::new("AT").handle_missing_authorization());
}

#[test]
fn authorized_agent_retries_once_after_401_with_renewing_authorizer() {
    let server = server();
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    // A token the server does not know, but which looks valid locally.
    let authorizer = RefreshTokenAuthorizer::builder(refresh_token, native(&server))
        .access_token("AT-unknown-to-server")
        .expires_at(now() + 3600)
        .build()
        .unwrap();
    let agent = AuthorizedAgent::new(authorizer);
    let reply = agent.get(&server.protected_url()).unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(server.token_requests(), 1);
    let protected: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/test/protected")
        .collect();
    assert_eq!(protected.len(), 2, "the first try got 401, the retry 200");

    // A static authorizer cannot do better: the 401 comes back, without a retry.
    let agent = AuthorizedAgent::new(AccessTokenAuthorizer::new("AT-bad"));
    assert_eq!(agent.get(&server.protected_url()).unwrap().status, 401);
}

fn stale_entry(server: &FakeAuthServer) -> TokenData {
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let mut data = TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT-stale", now() - 5)
        .with_refresh_token(refresh_token);
    data.identity_id = Some("identity-1".into());
    data.extra
        .insert("custom".into(), serde_json::json!([1, 2]));
    data
}

fn storage_authorizer_cycle(store: Arc<dyn TokenStorage>) {
    let server = server();
    let seed = stale_entry(&server);
    store
        .store_token_data(&[(TRANSFER.to_owned(), seed.clone())].into())
        .unwrap();
    let authorizer = StorageAuthorizer::builder(Arc::clone(&store), TRANSFER, native(&server))
        .build()
        .unwrap();
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    let token = header.strip_prefix("Bearer ").unwrap();
    assert_eq!(server.token_requests(), 1);
    let stored = store.get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), token);
    assert_ne!(
        stored.refresh_token, seed.refresh_token,
        "rotated refresh token persisted"
    );
    assert_eq!(stored.identity_id, seed.identity_id, "identity kept");
    assert_eq!(stored.extra, seed.extra, "unknown fields kept");
    // A second authorizer (another program) finds the fresh token: no request.
    let other = StorageAuthorizer::builder(Arc::clone(&store), TRANSFER, native(&server))
        .build()
        .unwrap();
    assert_eq!(other.get_authorization_header().unwrap().unwrap(), header);
    assert_eq!(server.token_requests(), 1);
    // After a 401 the rejected token is renewed even though it looks fresh.
    assert!(other.handle_missing_authorization());
    let renewed = other.get_authorization_header().unwrap().unwrap();
    assert_ne!(renewed, header);
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn storage_authorizer_with_memory_json_and_sqlite_stores() {
    let dir = tempfile::tempdir().unwrap();
    storage_authorizer_cycle(Arc::new(MemoryTokenStorage::new()));
    storage_authorizer_cycle(Arc::new(globus_tokens_json::JsonTokenStorage::new(
        dir.path().join("t.json"),
    )));
    storage_authorizer_cycle(Arc::new(globus_tokens_json::SimpleJsonFileAdapter::new(
        dir.path().join("t1.json"),
    )));
    storage_authorizer_cycle(Arc::new(
        globus_tokens_sqlite::SqliteAdapter::open(dir.path().join("t.db")).unwrap(),
    ));
}

#[test]
fn storage_authorizer_login_required_cases() {
    let server = server();
    let store: Arc<dyn TokenStorage> = Arc::new(MemoryTokenStorage::new());
    let authorizer = StorageAuthorizer::builder(Arc::clone(&store), TRANSFER, native(&server))
        .build()
        .unwrap();
    assert!(
        authorizer
            .get_authorization_header()
            .unwrap_err()
            .is_login_required(),
        "nothing stored"
    );
    store
        .store_token_data(
            &[(
                TRANSFER.to_owned(),
                TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT", now() - 5),
            )]
            .into(),
        )
        .unwrap();
    let err = authorizer.get_authorization_header().unwrap_err();
    assert!(
        err.is_login_required() && err.to_string().contains("no refresh token"),
        "{err}"
    );
    assert_eq!(server.token_requests(), 0);
}

#[test]
fn sixty_four_threads_share_one_storage_renewal() {
    let server = server();
    server.set_token_delay(Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TokenStorage> =
        Arc::new(globus_tokens_sqlite::SqliteAdapter::open(dir.path().join("t.db")).unwrap());
    store
        .store_token_data(&[(TRANSFER.to_owned(), stale_entry(&server))].into())
        .unwrap();
    let client = native(&server);
    // Separate authorizers, as separate components of one program would have.
    let authorizers: Vec<_> = (0..64)
        .map(|_| {
            StorageAuthorizer::builder(Arc::clone(&store), TRANSFER, Arc::clone(&client))
                .build()
                .unwrap()
        })
        .collect();
    let barrier = Barrier::new(64);
    std::thread::scope(|scope| {
        for authorizer in &authorizers {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                authorizer.get_authorization_header().unwrap();
            });
        }
    });
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn invalid_grant_after_foreign_rotation_uses_the_newer_stored_token() {
    let server = server();
    let client = native(&server);
    let seed = stale_entry(&server);
    let store = Arc::new(RacingStore {
        inner: MemoryTokenStorage::new(),
        race: Mutex::new(None),
    });
    store
        .store_token_data(&[(TRANSFER.to_owned(), seed.clone())].into())
        .unwrap();
    let racer = Arc::clone(&client);
    let used = seed.refresh_token.clone().unwrap();
    *store.race.lock().unwrap() = Some(Box::new(move |inner: &MemoryTokenStorage| {
        let response = racer.oauth2_refresh_token(&used).unwrap();
        inner.store(&response).unwrap();
    }));
    let authorizer = StorageAuthorizer::builder(store.clone(), TRANSFER, client)
        .build()
        .unwrap();
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    let stored = store.get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(
        header,
        format!("Bearer {}", stored.access_token.expose()),
        "uses the racer's token"
    );
    assert_eq!(
        server.token_requests(),
        2,
        "the racer's refresh and our failed one; no third"
    );
}
