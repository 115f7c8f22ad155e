//! `DependentTokens` against the fake Globus Auth: one grant serves every resource server of a
//! user, tokens are kept per identity, stale ones are renewed with their refresh tokens, a
//! refused refresh token falls back to a new grant, a refused user token is a typed error that
//! changes nothing, a 401 renews, and a fresh token costs no request at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use globus_authorizers::{AuthClient, AuthError, DependentTokens, GlobusAuthorizer};
use globus_tokens_core::{MemoryTokenStorage, Secret, TokenStorage};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const SERVICE: &str = "service-client-id";
const SECRET: &str = "service-s3cret-value";
const SERVICE_SCOPE: &str = "https://auth.globus.org/scopes/service-client-id/all";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const GROUPS: &str = "groups.api.globus.org";
const GROUPS_SCOPE: &str = "urn:globus:auth:scope:groups.api.globus.org:all";
const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
const BOB: &str = "b0b00000-0000-4000-8000-000000000002";

/// Memory stores, one per namespace, shared like a real backend's namespaces.
#[derive(Clone, Default)]
struct Namespaces(Arc<Mutex<HashMap<String, Arc<MemoryTokenStorage>>>>);

impl Namespaces {
    fn get(&self, namespace: &str) -> Arc<MemoryTokenStorage> {
        Arc::clone(
            self.0
                .lock()
                .unwrap()
                .entry(namespace.to_owned())
                .or_insert_with(|| Arc::new(MemoryTokenStorage::new().with_namespace(namespace))),
        )
    }
}

fn setup() -> (FakeAuthServer, Namespaces, Arc<DependentTokens>) {
    let server = FakeAuthServer::start();
    server.register_confidential_client(SERVICE, SECRET);
    server.set_dependent_scopes(
        SERVICE,
        &[(TRANSFER, TRANSFER_SCOPE), (GROUPS, GROUPS_SCOPE)],
    );
    let client = Arc::new(
        AuthClient::builder(SERVICE)
            .client_secret(SECRET)
            .base_url(server.base_url())
            .build()
            .unwrap(),
    );
    let namespaces = Namespaces::default();
    let stores = namespaces.clone();
    let tokens = DependentTokens::builder(client, move |namespace: &str| {
        Ok(stores.get(namespace) as Arc<dyn TokenStorage>)
    })
    .resource_servers([TRANSFER, GROUPS])
    .build()
    .unwrap();
    (server, namespaces, Arc::new(tokens))
}

fn user_token(server: &FakeAuthServer, identity: &str) -> Secret {
    Secret::new(server.issue_user_token(identity, SERVICE, SERVICE_SCOPE))
}

#[test]
fn one_grant_serves_every_resource_server_and_fresh_tokens_cost_nothing() {
    let (server, namespaces, tokens) = setup();
    let alice = user_token(&server, ALICE);
    let transfer = tokens.token(&alice, TRANSFER).unwrap();
    assert_eq!(
        server
            .identity_of_token(transfer.access_token.expose())
            .as_deref(),
        Some(ALICE)
    );
    assert!(
        transfer.refresh_token.is_some(),
        "access_type=offline by default"
    );
    let groups = tokens.token(&alice, GROUPS).unwrap();
    assert_eq!(
        server
            .access_token_info(groups.access_token.expose())
            .unwrap()
            .0,
        GROUPS
    );
    assert_eq!(server.grants_for_identity(ALICE), 1, "one grant for both");
    let stored = namespaces.get("user/a11ce000-0000-4000-8000-000000000001");
    assert_eq!(
        stored.get_token_data(GROUPS).unwrap().unwrap().access_token,
        groups.access_token
    );

    let requests = server.requests().len();
    let authorizer = tokens.authorizer(alice.clone(), TRANSFER);
    for _ in 0..100 {
        assert_eq!(
            authorizer.get_authorization_header().unwrap().unwrap(),
            format!("Bearer {}", transfer.access_token.expose())
        );
    }
    assert_eq!(
        server.requests().len(),
        requests,
        "no request while the token is fresh"
    );
    let shown = format!("{tokens:?} {authorizer:?}");
    assert!(
        !shown.contains(SECRET) && !shown.contains(alice.expose()),
        "{shown}"
    );
}

#[test]
fn users_have_their_own_namespaces_and_tokens() {
    let (server, namespaces, tokens) = setup();
    let (alice, bob) = (user_token(&server, ALICE), user_token(&server, BOB));
    let for_alice = tokens.token(&alice, TRANSFER).unwrap();
    let for_bob = tokens.token(&bob, TRANSFER).unwrap();
    assert_ne!(for_alice.access_token, for_bob.access_token);
    assert_eq!(
        server
            .identity_of_token(for_bob.access_token.expose())
            .as_deref(),
        Some(BOB)
    );
    assert_eq!(tokens.namespace_of(BOB), format!("user/{BOB}"));
    let bobs = namespaces.get(&format!("user/{BOB}"));
    assert_eq!(
        bobs.get_token_data(TRANSFER).unwrap().unwrap().access_token,
        for_bob.access_token
    );
}

#[test]
fn stale_tokens_are_renewed_and_a_refused_refresh_token_falls_back_to_a_grant() {
    let (server, namespaces, tokens) = setup();
    // Tokens that are stale as soon as they are issued (within 60 s of expiry).
    server.set_expires_in(30);
    let alice = user_token(&server, ALICE);
    let first = tokens.token(&alice, TRANSFER).unwrap();
    let renewed = tokens.token(&alice, TRANSFER).unwrap();
    assert_ne!(first.access_token, renewed.access_token);
    assert_eq!(
        server.grants_for_identity(ALICE),
        2,
        "one grant, one refresh"
    );
    let refresh = server
        .requests()
        .into_iter()
        .filter(|r| r.form_value("grant_type") == Some("refresh_token"))
        .count();
    assert_eq!(refresh, 1);

    // The refresh token is revoked elsewhere: the next renewal is a new grant.
    let store = namespaces.get(&format!("user/{ALICE}"));
    let stored = store.get_token_data(TRANSFER).unwrap().unwrap();
    server.revoke_token(stored.refresh_token.as_ref().unwrap().expose());
    let regranted = tokens.token(&alice, TRANSFER).unwrap();
    assert!(server.is_valid_access_token(regranted.access_token.expose()));
    let grants = server
        .requests()
        .into_iter()
        .filter(|r| {
            r.form_value("grant_type") == Some("urn:globus:auth:grant_type:dependent_token")
        })
        .count();
    assert_eq!(grants, 2);
}

#[test]
fn a_refused_user_token_is_a_typed_error_and_changes_nothing() {
    let (server, namespaces, tokens) = setup();
    let alice = user_token(&server, ALICE);
    let before = tokens.token(&alice, TRANSFER).unwrap();
    // A new request with an expired/revoked token from the same user.
    let revoked = user_token(&server, ALICE);
    server.revoke_token(revoked.expose());
    let err = tokens.token(&revoked, GROUPS).unwrap_err();
    assert!(matches!(err, AuthError::TokenRefused { .. }), "{err}");
    assert!(!err.to_string().contains(revoked.expose()));
    let store = namespaces.get(&format!("user/{ALICE}"));
    assert_eq!(
        store
            .get_token_data(TRANSFER)
            .unwrap()
            .unwrap()
            .access_token,
        before.access_token
    );

    // An unknown resource server is a configuration error, before any request.
    let err = tokens.token(&alice, "other.example.org").unwrap_err();
    assert!(matches!(err, AuthError::InvalidConfig(_)), "{err}");
}

#[test]
fn a_401_renews_the_token() {
    let (server, _, tokens) = setup();
    let alice = user_token(&server, ALICE);
    let authorizer = tokens.authorizer(alice, TRANSFER);
    let before = authorizer.token().unwrap();
    assert!(authorizer.handle_missing_authorization());
    let after = authorizer.token().unwrap();
    assert_ne!(before.access_token, after.access_token);
    assert!(server.is_valid_access_token(after.access_token.expose()));
}

#[test]
fn a_native_client_or_no_resource_servers_is_a_configuration_error() {
    let server = FakeAuthServer::start();
    server.register_native_client("native");
    let native = Arc::new(
        AuthClient::builder("native")
            .base_url(server.base_url())
            .build()
            .unwrap(),
    );
    let err = DependentTokens::builder(native, |_: &str| {
        Ok(Arc::new(MemoryTokenStorage::new()) as Arc<dyn TokenStorage>)
    })
    .resource_servers([TRANSFER])
    .build()
    .unwrap_err();
    assert!(err.to_string().contains("confidential"), "{err}");
    let client = Arc::new(
        AuthClient::builder(SERVICE)
            .client_secret(SECRET)
            .base_url(server.base_url())
            .build()
            .unwrap(),
    );
    let err = DependentTokens::builder(client, |_: &str| {
        Ok(Arc::new(MemoryTokenStorage::new()) as Arc<dyn TokenStorage>)
    })
    .build()
    .unwrap_err();
    assert!(err.to_string().contains("resource servers"), "{err}");
}
