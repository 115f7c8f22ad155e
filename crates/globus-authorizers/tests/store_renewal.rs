//! `StoreRenewal` and `AsyncStoreRenewal` against the fake Globus Auth over real HTTP: every
//! test runs with both (modules `blocking` and `nonblocking`; the async one renews through
//! `BlockingPool` on a tokio runtime), so they are held to the same behaviour.

mod common;

use std::sync::Arc;

use common::racing_store::RacingStore;
use globus_authorizers::{AuthClient, Result, StoreRenewal};
use globus_tokens_core::{
    Clock as _, MemoryTokenStorage, Secret, SystemClock, TokenData, TokenStorage,
};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const NATIVE: &str = "native-client-id";
const CONFIDENTIAL: &str = "confidential-client-id";
const SECRET: &str = "s3cr3t-value";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Blocking,
    #[cfg(feature = "async")]
    Async,
}

/// Either renewal, with the blocking one's signature.
enum Renewal {
    Blocking(StoreRenewal),
    #[cfg(feature = "async")]
    Async(
        globus_authorizers::AsyncStoreRenewal,
        tokio::runtime::Runtime,
    ),
}

impl Renewal {
    fn new(builder: globus_authorizers::AuthClientBuilder, kind: Kind) -> Self {
        match kind {
            Kind::Blocking => {
                Renewal::Blocking(StoreRenewal::new(Arc::new(builder.build().unwrap())))
            }
            #[cfg(feature = "async")]
            Kind::Async => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let client = runtime.block_on(async { builder.build_async() }).unwrap();
                Renewal::Async(
                    globus_authorizers::AsyncStoreRenewal::new(Arc::new(client)),
                    runtime,
                )
            }
        }
    }

    fn renew(
        &self,
        store: &Arc<dyn TokenStorage>,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<TokenData> {
        match self {
            Renewal::Blocking(renewal) => renewal.renew(&**store, resource_server, rejected),
            #[cfg(feature = "async")]
            Renewal::Async(renewal, runtime) => {
                let store = globus_tokens_core::BlockingPool::from_arc(Arc::clone(store));
                runtime.block_on(renewal.renew(&store, resource_server, rejected))
            }
        }
    }
}

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.register_confidential_client(CONFIDENTIAL, SECRET);
    server
}

fn native(server: &FakeAuthServer, kind: Kind) -> Renewal {
    Renewal::new(
        AuthClient::builder(NATIVE).base_url(server.base_url()),
        kind,
    )
}

fn confidential(server: &FakeAuthServer, kind: Kind) -> Renewal {
    Renewal::new(
        AuthClient::builder(CONFIDENTIAL)
            .client_secret(SECRET)
            .base_url(server.base_url()),
        kind,
    )
}

fn now() -> i64 {
    SystemClock.now_seconds()
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

fn seed(store: &Arc<dyn TokenStorage>, data: &TokenData) {
    store
        .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
        .unwrap();
}

/// Renew a stale entry in each kind of file store: the rotated refresh token, identity and
/// unknown fields are kept; a fresh token is left alone; a rejected one is renewed.
fn renews_in_memory_json_and_sqlite_stores(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let stores: [Arc<dyn TokenStorage>; 3] = [
        Arc::new(MemoryTokenStorage::new()),
        Arc::new(globus_tokens_json::JsonTokenStorage::new(
            dir.path().join("t.json"),
        )),
        Arc::new(globus_tokens_sqlite::SqliteAdapter::open(dir.path().join("t.db")).unwrap()),
    ];
    for store in stores {
        let server = server();
        let renewal = native(&server, kind);
        let stale = stale_entry(&server);
        seed(&store, &stale);
        let renewed = renewal.renew(&store, TRANSFER, None).unwrap();
        assert!(server.is_valid_access_token(renewed.access_token.expose()));
        assert_ne!(
            renewed.refresh_token, stale.refresh_token,
            "rotated refresh token kept"
        );
        assert_eq!(renewed.identity_id, stale.identity_id);
        assert_eq!(renewed.extra, stale.extra);
        assert_eq!(
            store.get_token_data(TRANSFER).unwrap(),
            Some(renewed.clone())
        );
        assert_eq!(renewal.renew(&store, TRANSFER, None).unwrap(), renewed);
        assert_eq!(server.token_requests(), 1, "fresh: no request");
        let forced = renewal
            .renew(&store, TRANSFER, Some(&renewed.access_token))
            .unwrap();
        assert_ne!(forced.access_token, renewed.access_token);
        assert_eq!(server.token_requests(), 2);
    }
}

/// A stored client-credentials token (no refresh token) is renewed with the client-credentials
/// grant for its scope; a native client with the same entry is told to log in instead; nothing
/// stored is login required too.
fn client_credentials_when_there_is_no_refresh_token(kind: Kind) {
    let server = server();
    let store: Arc<dyn TokenStorage> = Arc::new(MemoryTokenStorage::new());
    let err = native(&server, kind)
        .renew(&store, TRANSFER, None)
        .unwrap_err();
    assert!(
        err.is_login_required() && err.to_string().contains("no tokens stored"),
        "{err}"
    );
    let stale = TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT-old", now() - 10)
        .with_identity_id("client-identity");
    seed(&store, &stale);
    let err = native(&server, kind)
        .renew(&store, TRANSFER, None)
        .unwrap_err();
    assert!(
        err.is_login_required() && err.to_string().contains("no refresh token"),
        "{err}"
    );
    assert_eq!(server.token_requests(), 0);

    let renewed = confidential(&server, kind)
        .renew(&store, TRANSFER, None)
        .unwrap();
    assert!(server.is_valid_access_token(renewed.access_token.expose()));
    assert_eq!(renewed.identity_id.as_deref(), Some("client-identity"));
    assert_eq!(
        server.requests()[0].form_value("grant_type"),
        Some("client_credentials")
    );
    assert_eq!(
        server.requests()[0].form_value("scope"),
        Some(TRANSFER_SCOPE)
    );
}

/// A writer that ignores our lock (a Python program) rotates the refresh token between our
/// read and our renewal: our refused refresh is followed by a read of the store, and its newer
/// token is used; no third request.
fn invalid_grant_after_foreign_rotation_uses_the_newer_stored_token(kind: Kind) {
    let server = server();
    let racer = Arc::new(
        AuthClient::builder(NATIVE)
            .base_url(server.base_url())
            .build()
            .unwrap(),
    );
    let stale = stale_entry(&server);
    let racing = Arc::new(RacingStore::new());
    let store: Arc<dyn TokenStorage> = racing.clone();
    seed(&store, &stale);
    let used = stale.refresh_token.clone().unwrap();
    *racing.race.lock().unwrap() = Some(Box::new(move |inner: &MemoryTokenStorage| {
        let response = racer.oauth2_refresh_token(&used).unwrap();
        inner.store(&response).unwrap();
    }));
    let renewed = native(&server, kind).renew(&store, TRANSFER, None).unwrap();
    assert_eq!(
        store.get_token_data(TRANSFER).unwrap(),
        Some(renewed.clone())
    );
    assert!(server.is_valid_access_token(renewed.access_token.expose()));
    assert_eq!(
        server.token_requests(),
        2,
        "the racer's refresh and our refused one"
    );
}

/// A refused refresh token nobody rotated is login required, naming the resource server, and
/// leaves the store as it was.
fn refused_refresh_token_is_login_required(kind: Kind) {
    let server = server();
    let store: Arc<dyn TokenStorage> = Arc::new(MemoryTokenStorage::new());
    let stale = TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT-old", now() - 10)
        .with_refresh_token("RT-unknown-to-the-server");
    seed(&store, &stale);
    let err = native(&server, kind)
        .renew(&store, TRANSFER, None)
        .unwrap_err();
    assert!(err.is_login_required(), "{err:?}");
    assert!(err.to_string().contains(TRANSFER), "{err}");
    assert!(!format!("{err} {err:?}").contains("RT-unknown"), "{err:?}");
    assert_eq!(store.get_token_data(TRANSFER).unwrap(), Some(stale));
    assert_eq!(server.token_requests(), 1);
}

macro_rules! for_both {
    ($($name:ident),* $(,)?) => {
        mod blocking {
            $(#[test] fn $name() { super::$name(super::Kind::Blocking) })*
        }
        #[cfg(feature = "async")]
        mod nonblocking {
            $(#[test] fn $name() { super::$name(super::Kind::Async) })*
        }
    };
}

for_both!(
    renews_in_memory_json_and_sqlite_stores,
    client_credentials_when_there_is_no_refresh_token,
    invalid_grant_after_foreign_rotation_uses_the_newer_stored_token,
    refused_refresh_token_is_login_required,
);
