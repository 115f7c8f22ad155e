//! ClientApp against the fake Globus Auth: client credentials, renewal, logout.

mod common;

use std::collections::BTreeMap;

use globus_app::AppStorageKind;
use globus_app::app::{AppError, ClientApp, GlobusApp, GlobusAppConfig, LoginFlow};
use globus_scopes::{Scope, TransferScopes};
use globus_tokens_core::TokenStorage;
use globus_tokens_json::JsonTokenStorage;
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const CLIENT: &str = "c0ffee00-0000-4000-8000-000000000002";
const SECRET: &str = "very-secret-client-secret";
const TRANSFER: &str = "transfer.api.globus.org";

fn app(server: &FakeAuthServer, home: &std::path::Path) -> ClientApp {
    let config = GlobusAppConfig::default().with_env(common::env(server, home));
    let app = ClientApp::new("My Service", CLIENT, SECRET, config).unwrap();
    app.add_scope_requirements(BTreeMap::from([(
        TRANSFER.to_owned(),
        vec![Scope::new(TransferScopes::ALL).unwrap()],
    )]));
    app
}

#[test]
fn tokens_come_from_client_credentials_and_are_stored_and_renewed() {
    let server = FakeAuthServer::start();
    server.register_confidential_client(CLIENT, SECRET);
    let home = tempfile::tempdir().unwrap();
    let app = app(&server, home.path());
    assert!(app.login_required().unwrap());

    server.set_expires_in(10); // stale at once: the authorizer renews by client credentials
    let authorizer = app.authorizer(TRANSFER).unwrap();
    assert_eq!(server.token_requests(), 1);
    let grant = server
        .requests()
        .iter()
        .find(|r| r.form_value("grant_type").is_some())
        .map(|r| r.form_value("grant_type").unwrap().to_owned());
    assert_eq!(grant.as_deref(), Some("client_credentials"));
    server.set_expires_in(3600);
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    assert!(server.is_valid_access_token(header.strip_prefix("Bearer ").unwrap()));
    assert_eq!(server.token_requests(), 2);

    let path = app
        .location()
        .unwrap()
        .token_file(AppStorageKind::Json)
        .unwrap();
    assert!(path.starts_with(home.path().join(".globus/app").join(CLIENT)));
    let stored = JsonTokenStorage::new(&path)
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert_eq!(header, format!("Bearer {}", stored.access_token.expose()));

    // Another app on the same file needs no request.
    let again = self::app(&server, home.path());
    assert!(!again.login_required().unwrap());
    again
        .authorizer(TRANSFER)
        .unwrap()
        .get_authorization_header()
        .unwrap();
    assert_eq!(server.token_requests(), 2);

    again.logout().unwrap();
    assert!(
        server
            .revoked_tokens()
            .contains(&stored.access_token.expose().to_owned())
    );
    assert!(
        JsonTokenStorage::new(&path)
            .get_token_data(TRANSFER)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_secret_is_required_and_never_shown() {
    let server = FakeAuthServer::start();
    server.register_confidential_client(CLIENT, "another-secret");
    let home = tempfile::tempdir().unwrap();
    let config = GlobusAppConfig::default().with_env(common::env(&server, home.path()));
    assert!(matches!(
        ClientApp::new("x", CLIENT, "", config.clone()),
        Err(AppError::InvalidConfig(_))
    ));
    // As globus-sdk: "A ClientApp cannot use a login_flow_manager".
    let with_flow = config.clone().with_login_flow(LoginFlow::command_line());
    assert!(matches!(
        ClientApp::new("x", CLIENT, SECRET, with_flow),
        Err(AppError::InvalidConfig(message)) if message.contains("login flow")
    ));
    let app = app(&server, home.path());
    assert!(!format!("{app:?}").contains(SECRET));
    let Err(err) = app.authorizer(TRANSFER) else {
        panic!("a wrong secret was accepted")
    };
    assert!(matches!(err, AppError::Auth(_)), "{err}");
    assert!(!format!("{err} {err:?}").contains(SECRET));
}
