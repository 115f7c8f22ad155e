//! The apps' async authorizers on a `current_thread` runtime: the login flow (a slow person)
//! runs off the runtime thread, which keeps running; renewals are single-flight across tasks.

#![cfg(feature = "async")]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{User, config};
use globus_app::app::{ClientApp, GlobusApp, GlobusAppConfig, UserApp};
use globus_scopes::Scope;
use globus_tokens_core::{Clock as _, SystemClock, TokenStorage};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const CLIENT: &str = "0b0b5a6e-4a4b-4f2b-8b8b-000000000001";
const CONFIDENTIAL: &str = "0b0b5a6e-4a4b-4f2b-8b8b-000000000002";
const SECRET: &str = "client-s3cret";
const APP: &str = "My Async App";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn transfer() -> BTreeMap<String, Vec<Scope>> {
    BTreeMap::from([(TRANSFER.to_owned(), Scope::parse(TRANSFER_SCOPE).unwrap())])
}

/// Ticks every 10 ms on the current runtime until dropped; the ticks show whether the runtime
/// thread was ever blocked.
struct Ticker {
    ticks: Arc<Mutex<Vec<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Ticker {
    fn start() -> Self {
        let ticks = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                let mut interval = tokio::time::interval(Duration::from_millis(10));
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    interval.tick().await;
                    ticks.lock().unwrap().push(Instant::now());
                }
            }
        });
        Ticker { ticks, task }
    }

    /// The longest gap between ticks, and how many ticks there were.
    fn stop(self) -> (Duration, usize) {
        self.task.abort();
        let ticks = self.ticks.lock().unwrap();
        let gap = ticks
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .max()
            .unwrap_or_default();
        (gap, ticks.len())
    }
}

#[test]
fn a_user_login_waits_for_the_person_off_the_runtime_thread() {
    let server = FakeAuthServer::start();
    server.register_native_client(CLIENT);
    let home = tempfile::tempdir().unwrap();
    let user = User::new();
    user.set_think(Duration::from_millis(300));
    let config = config(&server, home.path(), &user).with_request_refresh_tokens(true);
    let app = Arc::new(UserApp::new(APP, CLIENT, config).unwrap());
    app.add_scope_requirements(transfer());
    let runtime_thread = std::thread::current().id();
    current_thread().block_on(async {
        tokio::task::yield_now().await;
        let ticker = Ticker::start();
        tokio::task::yield_now().await;
        let authorizer = app.async_authorizer(TRANSFER).await.unwrap();
        let (gap, ticks) = ticker.stop();
        assert_eq!(user.logins(), 1);
        let readers = user.reader_threads();
        assert!(!readers.is_empty() && readers.iter().all(|t| *t != runtime_thread));
        assert!(ticks >= 10, "{ticks} ticks during a 300 ms login");
        assert!(
            gap < Duration::from_millis(60),
            "the runtime was blocked for {gap:?}"
        );
        let header = authorizer
            .get_authorization_header()
            .await
            .unwrap()
            .unwrap();
        assert!(server.is_valid_access_token(header.strip_prefix("Bearer ").unwrap()));

        // Expire the stored token: 500 tasks renew it once, through the store.
        let store = app.token_storage().inner();
        let mut stale = store.get_token_data(TRANSFER).unwrap().unwrap();
        stale.expires_at_seconds = SystemClock.now_seconds() - 5;
        store
            .store_token_data(&[(TRANSFER.to_owned(), stale)].into())
            .unwrap();
        // A new authorizer (the cached one still holds the old expiry in memory).
        let requests = server.token_requests();
        authorizer.handle_missing_authorization();
        let tasks: Vec<_> = (0..500)
            .map(|_| {
                let authorizer = Arc::clone(&authorizer);
                tokio::spawn(async move { authorizer.get_authorization_header().await })
            })
            .collect();
        let mut headers = Vec::new();
        for task in tasks {
            headers.push(task.await.unwrap().unwrap().unwrap());
        }
        assert_eq!(server.token_requests(), requests + 1, "one renewal");
        assert!(headers.iter().all(|h| h == &headers[0]));
        assert_ne!(headers[0], header);
        let stored = store.get_token_data(TRANSFER).unwrap().unwrap();
        assert_eq!(
            headers[0],
            format!("Bearer {}", stored.access_token.expose())
        );
    });
    assert_eq!(user.logins(), 1);
}

#[test]
fn a_client_app_gets_and_renews_tokens_from_async_code() {
    let server = FakeAuthServer::start();
    server.register_confidential_client(CONFIDENTIAL, SECRET);
    let home = tempfile::tempdir().unwrap();
    let config = GlobusAppConfig::default().with_env(common::env(&server, home.path()));
    let app = Arc::new(ClientApp::new(APP, CONFIDENTIAL, SECRET, config).unwrap());
    app.add_scope_requirements(transfer());
    current_thread().block_on(async {
        let authorizer = app.async_authorizer(TRANSFER).await.unwrap();
        let header = authorizer
            .get_authorization_header()
            .await
            .unwrap()
            .unwrap();
        assert!(server.is_valid_access_token(header.strip_prefix("Bearer ").unwrap()));
        // The same authorizer again, without another request.
        let again = app.async_authorizer(TRANSFER).await.unwrap();
        assert_eq!(
            again.get_authorization_header().await.unwrap().unwrap(),
            header
        );
        let requests = server.token_requests();
        // After a 401, one renewal by client credentials through the store.
        assert!(again.handle_missing_authorization());
        let renewed = again.get_authorization_header().await.unwrap().unwrap();
        assert_ne!(renewed, header);
        assert_eq!(server.token_requests(), requests + 1);
        assert_eq!(
            server.requests().last().unwrap().form_value("grant_type"),
            Some("client_credentials")
        );
    });
}
