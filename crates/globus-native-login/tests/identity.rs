//! `identity_id` kept through `NativeClient` login, refresh and authorizer renewals in stores
//! that hold it, and `TokenStorageAdapter::update_tokens` as one locked update.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use globus_authorizers::GlobusAuthorizer;
use globus_native_login::handlers::buffer_writer;
use globus_native_login::{
    LocalServerCodeHandler, LoginOptions, LoginTokenStorage, NativeClient, TokenStorageAdapter,
};
use globus_tokens_core::{ManualClock, TokenData, TokenStorage};
use globus_tokens_json::JsonTokenStorage as Json2;
use globus_tokens_sqlite::SqliteAdapter;
use globus_tokens_testkit::fake_auth::{FakeAuthServer, IDENTITY_ID};

const AUTH: &str = "auth.globus.org";
const TRANSFER_RS: &str = "transfer.api.globus.org";

fn login_client(
    server: &FakeAuthServer,
    storage: impl LoginTokenStorage + 'static,
) -> (NativeClient, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(now()));
    let browser = ScriptedBrowser::follows_redirect();
    let handler = LocalServerCodeHandler::new()
        .env_lookup(env(&[]))
        .browser_opener(browser)
        .writer(buffer_writer(&Arc::default()))
        .timeout(Duration::from_secs(20));
    let client = NativeClient::builder(CLIENT)
        .auth_client(auth_client(server, clock.clone()))
        .clock(clock.clone())
        .token_storage(storage)
        .code_handlers(vec![Arc::new(handler)])
        .build()
        .unwrap();
    (client, clock)
}

/// Log in, then refresh through `load_tokens`, then renew through an authorizer: the store
/// holds the id_token's identity after each.
fn identity_survives_login_and_refresh<S: TokenStorage + Clone + 'static>(store: S) {
    let server = server();
    let (client, clock) = login_client(&server, TokenStorageAdapter::new(store.clone()));
    let options = LoginOptions::new()
        .requested_scopes(["openid", TRANSFER])
        .refresh_tokens(true);
    client.login(&options).unwrap();
    let identity = |rs: &str| store.get_token_data(rs).unwrap().unwrap().identity_id;
    assert_eq!(identity(AUTH).as_deref(), Some(IDENTITY_ID));
    assert_eq!(identity(TRANSFER_RS).as_deref(), Some(IDENTITY_ID));

    // Expired: load_tokens refreshes (the refresh response has no id_token) and saves.
    let before = store.get_token_data(TRANSFER_RS).unwrap().unwrap();
    clock.advance(3 * 86_400);
    let loaded = client.load_tokens(&[TRANSFER]).unwrap();
    let after = store.get_token_data(TRANSFER_RS).unwrap().unwrap();
    assert_ne!(after.access_token, before.access_token, "refreshed");
    assert_eq!(after.identity_id.as_deref(), Some(IDENTITY_ID));
    assert_eq!(
        loaded[TRANSFER_RS].identity_id.as_deref(),
        Some(IDENTITY_ID)
    );

    // Expired again: the authorizer renews and its on_refresh saves.
    let authorizers = client.get_authorizers(&[TRANSFER]).unwrap();
    clock.advance(3 * 86_400);
    authorizers[TRANSFER_RS].get_authorization_header().unwrap();
    let renewed = store.get_token_data(TRANSFER_RS).unwrap().unwrap();
    assert_ne!(renewed.access_token, after.access_token, "renewed");
    assert_eq!(renewed.identity_id.as_deref(), Some(IDENTITY_ID));
    assert_eq!(identity(AUTH).as_deref(), Some(IDENTITY_ID));
}

#[test]
fn identity_survives_login_and_refresh_in_json_2() {
    let dir = tempfile::tempdir().unwrap();
    identity_survives_login_and_refresh(Json2::new(dir.path().join("t.json")));
}

#[test]
fn identity_survives_login_and_refresh_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    identity_survives_login_and_refresh(Arc::new(
        SqliteAdapter::open(dir.path().join("t.db")).unwrap(),
    ));
}

/// Threads each add one to a counter kept in one resource server's access token, through
/// `update_tokens`: a read-then-write without the store's lock loses increments.
fn concurrent_updates_lose_nothing<S: TokenStorage + 'static>(store: S) {
    const THREADS: usize = 8;
    const ROUNDS: usize = 25;
    let adapter = Arc::new(TokenStorageAdapter::new(store));
    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let adapter = Arc::clone(&adapter);
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    adapter
                        .update_tokens(&mut |saved: &mut BTreeMap<String, TokenData>| {
                            let count = saved
                                .get("counter")
                                .map_or(0, |d| d.access_token.expose().parse::<usize>().unwrap());
                            saved.insert(
                                "counter".to_owned(),
                                TokenData::new("counter", "s", (count + 1).to_string(), 1),
                            );
                            // Each thread also keeps its own resource server.
                            let own = format!("rs{thread}");
                            saved.insert(own.clone(), TokenData::new(own, "s", "AT", 1));
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let saved = adapter.read_tokens().unwrap();
    assert_eq!(
        saved["counter"].access_token.expose(),
        (THREADS * ROUNDS).to_string()
    );
    assert_eq!(saved.len(), THREADS + 1);
}

#[test]
fn concurrent_adapter_updates_lose_nothing_in_json_2() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_updates_lose_nothing(Json2::new(dir.path().join("t.json")));
}

#[test]
fn concurrent_adapter_updates_lose_nothing_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_updates_lose_nothing(SqliteAdapter::open(dir.path().join("t.db")).unwrap());
}
