//! fair-research-login 0.3.1's `load_tokens` rules, refresh with rotated refresh tokens,
//! authorizers, `save_tokens`, `logout` and `revoke_token_set`, against the fake Globus Auth.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use globus_authorizers::GlobusAuthorizer;
use globus_native_login::{
    JsonLoginTokenStorage, LoginAuthorizer, LoginError, LoginTokenStorage, MultiClientTokenStorage,
    NativeClient, TokenKind, TokenStorageAdapter,
};
use globus_tokens_core::{MemoryTokenStorage, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};

fn map(items: impl IntoIterator<Item = TokenData>) -> BTreeMap<String, TokenData> {
    items
        .into_iter()
        .map(|data| (data.resource_server.clone(), data))
        .collect()
}

/// Valid tokens issued by `server`: auth (openid profile, with RT), transfer (with RT),
/// groups (no RT), all expiring at `expires`.
fn issue(server: &FakeAuthServer, expires: i64) -> BTreeMap<String, TokenData> {
    let group = |rs: &str, scope: &str, rt: bool| {
        let at = server.issue_access_token(rs, scope);
        let data = TokenData::new(rs, scope, at, expires);
        if rt {
            data.with_refresh_token(server.issue_refresh_token(CLIENT, rs, scope))
        } else {
            data
        }
    };
    map([
        group("auth.globus.org", "openid profile", true),
        group("transfer.api.globus.org", TRANSFER, true),
        group("groups.api.globus.org", GROUPS, false),
    ])
}

fn json_client(
    server: &FakeAuthServer,
) -> (
    NativeClient,
    Arc<globus_tokens_core::ManualClock>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let (client, clock) = client_with(
        server,
        JsonLoginTokenStorage::new(dir.path().join("t.json")),
    );
    (client, clock, dir)
}

#[test]
fn no_saved_tokens() {
    let server = server();
    let (client, _, _dir) = json_client(&server);
    assert!(matches!(
        client.load_tokens(&[] as &[&str]),
        Err(LoginError::NoSavedTokens)
    ));
    assert!(matches!(
        client.load_tokens(&["openid"]),
        Err(LoginError::NoSavedTokens)
    ));
}

#[test]
fn scopes_mismatch_names_the_missing_scopes() {
    let server = server();
    let (client, _, _dir) = json_client(&server);
    client.save_tokens(&issue(&server, now() + 3600)).unwrap();
    let err = client
        .load_tokens(&["openid email", "urn:x:y:z", TRANSFER])
        .unwrap_err();
    match &err {
        LoginError::ScopesMismatch { missing } => assert_eq!(missing, &["email", "urn:x:y:z"]),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("email, urn:x:y:z"));
}

#[test]
fn requested_scopes_select_groups_and_valid_tokens_need_no_request() {
    let server = server();
    let (client, _, _dir) = json_client(&server);
    let tokens = issue(&server, now() + 3600);
    client.save_tokens(&tokens).unwrap();
    let requests = server.requests().len();
    let loaded = client.load_tokens(&[TRANSFER, "openid"]).unwrap();
    assert_eq!(
        loaded.keys().collect::<Vec<_>>(),
        ["auth.globus.org", "transfer.api.globus.org"]
    );
    assert_eq!(client.load_tokens(&[] as &[&str]).unwrap(), tokens);
    assert_eq!(server.requests().len(), requests);

    let by_scope = client.load_tokens_by_scope(&["openid"]).unwrap();
    assert_eq!(by_scope.keys().collect::<Vec<_>>(), ["openid", "profile"]);
    assert_eq!(by_scope["profile"].resource_server, "auth.globus.org");
}

#[test]
fn expired_without_refresh_token_with_requested_scopes_is_tokens_expired() {
    let server = server();
    let (client, clock, _dir) = json_client(&server);
    client.save_tokens(&issue(&server, now() + 100)).unwrap();
    clock.advance(100); // now == expires_at counts as expired, as in fair-research-login
    let requests = server.requests().len();
    let err = client.load_tokens(&[GROUPS, TRANSFER]).unwrap_err();
    match &err {
        LoginError::TokensExpired {
            resource_servers, ..
        } => {
            assert_eq!(
                resource_servers,
                &["groups.api.globus.org", "transfer.api.globus.org"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_load_error());
    assert_eq!(server.requests().len(), requests, "nothing refreshed");
}

#[test]
fn expired_tokens_are_refreshed_and_rotated_refresh_tokens_saved() {
    let server = server();
    let (client, clock, dir) = json_client(&server);
    let tokens = issue(&server, now() + 100);
    client.save_tokens(&tokens).unwrap();
    clock.advance(200);
    let old_rt = tokens["transfer.api.globus.org"]
        .refresh_token
        .clone()
        .unwrap();

    let loaded = client.load_tokens(&[TRANSFER]).unwrap();
    let transfer = &loaded["transfer.api.globus.org"];
    let new_rt = transfer.refresh_token.clone().unwrap();
    assert_ne!(new_rt, old_rt);
    assert!(server.is_valid_refresh_token(new_rt.expose()));
    assert!(
        !server.is_valid_refresh_token(old_rt.expose()),
        "rotated away"
    );
    assert!(server.is_valid_access_token(transfer.access_token.expose()));
    assert!(transfer.expires_at_seconds > clock_now(&clock));
    assert_eq!(transfer.scope, TRANSFER);
    assert_eq!(server.token_requests(), 1);

    // Saved: another client on the same file loads them without a request.
    let (other, other_clock) = client_with(
        &server,
        JsonLoginTokenStorage::new(dir.path().join("t.json")),
    );
    other_clock.set(clock_now(&clock));
    assert_eq!(
        other.load_tokens(&[TRANSFER]).unwrap()["transfer.api.globus.org"],
        *transfer
    );
    assert_eq!(server.token_requests(), 1);
}

fn clock_now(clock: &globus_tokens_core::ManualClock) -> i64 {
    use globus_tokens_core::Clock;
    clock.now_seconds()
}

#[test]
fn without_requested_scopes_unrefreshable_expired_tokens_are_left_out() {
    let server = server();
    let (client, clock, _dir) = json_client(&server);
    client.save_tokens(&issue(&server, now() + 100)).unwrap();
    clock.advance(200);
    let loaded = client.load_tokens(&[] as &[&str]).unwrap();
    assert_eq!(
        loaded.keys().collect::<Vec<_>>(),
        ["auth.globus.org", "transfer.api.globus.org"]
    );
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn without_requested_scopes_nothing_left_is_tokens_expired() {
    let server = server();
    let (client, clock, _dir) = json_client(&server);
    let groups = issue(&server, now() + 100)
        .remove("groups.api.globus.org")
        .unwrap();
    client.save_tokens(&map([groups])).unwrap();
    clock.advance(200);
    let err = client.load_tokens(&[] as &[&str]).unwrap_err();
    assert!(
        matches!(&err, LoginError::TokensExpired { resource_servers, .. } if resource_servers == &["groups.api.globus.org"]),
        "{err:?}"
    );
}

#[test]
fn a_refused_refresh_is_tokens_expired_for_that_resource_server() {
    let server = server();
    let (client, clock, _dir) = json_client(&server);
    client.save_tokens(&issue(&server, now() + 100)).unwrap();
    clock.advance(200);
    server.fail_next([Failure::InvalidGrant]);
    let err = client.load_tokens(&["openid"]).unwrap_err();
    assert!(
        matches!(&err, LoginError::TokensExpired { resource_servers, .. } if resource_servers == &["auth.globus.org"]),
        "{err:?}"
    );
    // Other failures are not dressed up as expiry.
    server.fail_next([Failure::ServerError]);
    let err = client.load_tokens(&["openid"]).unwrap_err();
    assert!(matches!(err, LoginError::Auth(_)), "{err:?}");
}

#[test]
fn save_tokens_merges_by_resource_server() {
    let server = server();
    let (client, _, _dir) = json_client(&server);
    let tokens = issue(&server, now() + 3600);
    client.save_tokens(&tokens).unwrap();
    let replacement = TokenData::new("groups.api.globus.org", GROUPS, "AT-new", 5);
    client.save_tokens(&map([replacement.clone()])).unwrap();
    let saved = client.token_storage().unwrap().read_tokens().unwrap();
    assert_eq!(saved.len(), 3);
    assert_eq!(saved["groups.api.globus.org"], replacement);
    assert_eq!(saved["auth.globus.org"], tokens["auth.globus.org"]);
    // A group fair-research-login would reject.
    let mut bad = replacement;
    bad.token_type = Some("MAC".into());
    assert!(matches!(
        client.save_tokens(&map([bad])),
        Err(LoginError::InvalidTokenFormat { .. })
    ));
}

#[test]
fn authorizers_by_resource_server_and_scope_save_renewals() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    let (client, _) = client_with(&server, MultiClientTokenStorage::new(&path, CLIENT));
    client.save_tokens(&issue(&server, now() + 3600)).unwrap();

    let authorizers = client.get_authorizers(&[] as &[&str]).unwrap();
    assert!(matches!(
        *authorizers["transfer.api.globus.org"],
        LoginAuthorizer::RefreshToken(_)
    ));
    assert!(matches!(
        *authorizers["groups.api.globus.org"],
        LoginAuthorizer::AccessToken(_)
    ));
    let transfer = &authorizers["transfer.api.globus.org"];
    let header = transfer.get_authorization_header().unwrap().unwrap();
    assert!(server.is_valid_access_token(header.trim_start_matches("Bearer ")));
    assert_eq!(server.token_requests(), 0);

    // A 401 makes it renew; the renewal (with its rotated refresh token) is saved.
    assert!(transfer.handle_missing_authorization());
    let renewed = transfer.get_authorization_header().unwrap().unwrap();
    assert_ne!(renewed, header);
    assert_eq!(server.token_requests(), 1);
    let saved = MultiClientTokenStorage::new(&path, CLIENT)
        .read_tokens()
        .unwrap();
    let saved_transfer = &saved["transfer.api.globus.org"];
    assert_eq!(
        format!("Bearer {}", saved_transfer.access_token.expose()),
        renewed
    );
    assert!(server.is_valid_refresh_token(saved_transfer.refresh_token.as_ref().unwrap().expose()));
    assert_eq!(saved_transfer.scope, TRANSFER);

    let by_scope = client
        .get_authorizers_by_scope(&["openid", "profile"])
        .unwrap();
    assert_eq!(by_scope.keys().collect::<Vec<_>>(), ["openid", "profile"]);
    assert!(
        Arc::ptr_eq(&by_scope["openid"], &by_scope["profile"]),
        "one authorizer per resource server"
    );
}

#[test]
fn logout_revokes_every_token_that_exists_then_clears() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    let (client, _) = client_with(&server, MultiClientTokenStorage::new(&path, CLIENT));
    let tokens = issue(&server, now() + 3600);
    client.save_tokens(&tokens).unwrap();
    client.logout().unwrap();
    let mut expected: Vec<String> = tokens
        .values()
        .flat_map(|t| {
            std::iter::once(t.access_token.expose().to_owned())
                .chain(t.refresh_token.iter().map(|rt| rt.expose().to_owned()))
        })
        .collect();
    expected.sort();
    let mut revoked = server.revoked_tokens();
    revoked.sort();
    assert_eq!(revoked, expected, "5 tokens: 3 access, 2 refresh, no null");
    assert_eq!(server.revoke_requests(), 5);
    for request in server.requests() {
        assert!(request.form_value("token").is_some_and(|t| !t.is_empty()));
    }
    assert!(
        client
            .token_storage()
            .unwrap()
            .read_tokens()
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        client.load_tokens(&["openid"]),
        Err(LoginError::NoSavedTokens)
    ));
}

#[test]
fn a_revocation_failure_leaves_storage_untouched_and_is_reported() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    let (client, _) = client_with(&server, MultiClientTokenStorage::new(&path, CLIENT));
    client.save_tokens(&issue(&server, now() + 3600)).unwrap();
    let before = std::fs::read(&path).unwrap();

    // The same storage through a Globus Auth that does not know the client: every revocation
    // is refused (401 invalid_client).
    let stranger = FakeAuthServer::start();
    let (failing, _) = client_with(&stranger, MultiClientTokenStorage::new(&path, CLIENT));
    let err = failing.logout().unwrap_err();
    match &err {
        LoginError::Revocation { failures } => {
            assert_eq!(failures.len(), 5);
            assert!(failures.iter().any(|f| f.kind == TokenKind::Refresh));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "storage untouched");
}

#[test]
fn revoke_token_set_skips_missing_and_empty_tokens() {
    let server = server();
    let (client, _, _dir) = json_client(&server);
    let mut no_rt = TokenData::new("a.example.org", "s", "AT-1", 1);
    no_rt.refresh_token = Some(globus_tokens_core::Secret::new(""));
    client.revoke_token_set(&map([no_rt])).unwrap();
    assert_eq!(server.revoked_tokens(), ["AT-1"]);
}

#[test]
fn any_token_storage_serves_through_the_adapter() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = globus_tokens_sqlite::SqliteAdapter::open(dir.path().join("tokens.db"))
        .unwrap()
        .with_namespace("frl");
    let (client, clock) = client_with(&server, TokenStorageAdapter::new(sqlite));
    client.save_tokens(&issue(&server, now() + 100)).unwrap();
    clock.advance(200);
    let loaded = client.load_tokens(&[TRANSFER]).unwrap();
    let reopened = globus_tokens_sqlite::SqliteAdapter::open(dir.path().join("tokens.db"))
        .unwrap()
        .with_namespace("frl");
    assert_eq!(
        reopened
            .get_token_data("transfer.api.globus.org")
            .unwrap()
            .as_ref(),
        Some(&loaded["transfer.api.globus.org"])
    );
    client.logout().unwrap();
    assert!(
        reopened
            .get_token_data("auth.globus.org")
            .unwrap()
            .is_none()
    );

    let memory = TokenStorageAdapter::new(MemoryTokenStorage::new());
    memory
        .write_tokens(&map([TokenData::new("x", "s", "AT", 1)]))
        .unwrap();
    memory
        .write_tokens(&map([TokenData::new("y", "s", "AT", 1)]))
        .unwrap();
    assert_eq!(
        memory.read_tokens().unwrap().keys().collect::<Vec<_>>(),
        ["y"]
    );
}

/// Returns a stale snapshot on the first read, then the real storage: a process that read
/// the tokens before another one refreshed them.
#[derive(Debug)]
struct StaleOnce {
    stale: std::sync::Mutex<Option<BTreeMap<String, TokenData>>>,
    real: Arc<dyn LoginTokenStorage>,
}

impl LoginTokenStorage for StaleOnce {
    fn read_tokens(&self) -> globus_tokens_core::Result<BTreeMap<String, TokenData>> {
        match self.stale.lock().unwrap().take() {
            Some(stale) => Ok(stale),
            None => self.real.read_tokens(),
        }
    }
    fn write_tokens(&self, tokens: &BTreeMap<String, TokenData>) -> globus_tokens_core::Result<()> {
        self.real.write_tokens(tokens)
    }
    fn clear_tokens(&self) -> globus_tokens_core::Result<()> {
        self.real.clear_tokens()
    }
}

#[test]
fn a_refresh_that_lost_the_race_to_another_process_uses_the_stored_tokens() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    let (first, clock) = client_with(&server, MultiClientTokenStorage::new(&path, CLIENT));
    first.save_tokens(&issue(&server, now() + 100)).unwrap();
    clock.advance(200);
    let stale = first.token_storage().unwrap().read_tokens().unwrap();
    // The first process refreshes (rotating the refresh token) and saves.
    let refreshed = first.load_tokens(&[TRANSFER]).unwrap();
    // The second read the expired tokens before that: its renewal runs under the storage's
    // update, finds the first process's fresh tokens there and takes them without a request.
    let storage = StaleOnce {
        stale: std::sync::Mutex::new(Some(stale)),
        real: first.token_storage().unwrap().clone(),
    };
    let (second, second_clock) = client_with(&server, storage);
    second_clock.set(globus_tokens_core::Clock::now_seconds(&*clock));
    let loaded = second.load_tokens(&[TRANSFER]).unwrap();
    assert_eq!(
        loaded["transfer.api.globus.org"],
        refreshed["transfer.api.globus.org"]
    );
    assert_eq!(
        server.token_requests(),
        1,
        "only the first process refreshes; the second takes its tokens"
    );
}
