//! No token, authorization code or PKCE verifier appears in `Debug` or `Display` output of
//! the client, storages, authorizers or errors.

mod common;

use std::sync::Arc;

use common::*;
use globus_native_login::handlers::buffer_writer;
use globus_native_login::{
    InputCodeHandler, JsonLoginTokenStorage, LocalServerCodeHandler, LoginError, LoginOptions,
    LoginTokenStorage, MultiClientTokenStorage, NativeClient, NoBrowser, TokenStorageAdapter,
};
use globus_tokens_core::{ManualClock, MemoryTokenStorage, TokenData};
use globus_tokens_testkit::fake_auth::Failure;

#[test]
fn nothing_secret_is_shown() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    let (client, clock) = client_with(&server, MultiClientTokenStorage::new(&path, CLIENT));
    let rt = server.issue_refresh_token(CLIENT, "transfer.api.globus.org", TRANSFER);
    let at = server.issue_access_token("transfer.api.globus.org", TRANSFER);
    let data = TokenData::new("transfer.api.globus.org", TRANSFER, at.clone(), now() + 10)
        .with_refresh_token(rt.clone());
    client
        .save_tokens(&[(data.resource_server.clone(), data.clone())].into())
        .unwrap();
    let authorizers = client.get_authorizers(&[TRANSFER]).unwrap();
    let storages = format!(
        "{:?} {:?} {:?}",
        MultiClientTokenStorage::new(&path, CLIENT),
        JsonLoginTokenStorage::new(dir.path().join("x.json")),
        TokenStorageAdapter::new(MemoryTokenStorage::new()),
    );
    let mut shown = format!(
        "{client:?} {authorizers:?} {storages} {:?} {:?}",
        client.load_tokens(&[TRANSFER]).unwrap(),
        client.token_storage().unwrap().read_tokens().unwrap()
    );

    // Errors that carry context: a refused refresh, a failed revocation, an exchange with a
    // bad code.
    clock.advance(3600);
    server.fail_next([Failure::InvalidGrant]);
    let expired = client.load_tokens(&[TRANSFER]).unwrap_err();
    shown.push_str(&format!("{expired} {expired:?}"));
    let stranger = globus_tokens_testkit::fake_auth::FakeAuthServer::start();
    let (failing, _) = client_with(&stranger, MultiClientTokenStorage::new(&path, CLIENT));
    let revocation = failing.logout().unwrap_err();
    shown.push_str(&format!("{revocation} {revocation:?}"));

    let code = "code-that-must-not-leak";
    let input = InputCodeHandler::new()
        .reader(std::io::Cursor::new(format!("{code}\n").into_bytes()))
        .writer(buffer_writer(&Arc::default()))
        .browser_opener(NoBrowser);
    let clock = Arc::new(ManualClock::new(now()));
    let pasting = NativeClient::builder(CLIENT)
        .auth_client(auth_client(&server, clock.clone()))
        .no_token_storage()
        .code_handlers(vec![
            Arc::new(input),
            Arc::new(LocalServerCodeHandler::new()),
        ])
        .build()
        .unwrap();
    let bad_code = pasting
        .login(&LoginOptions::new().requested_scopes([TRANSFER]))
        .unwrap_err();
    assert!(matches!(bad_code, LoginError::Auth(_)), "{bad_code:?}");
    shown.push_str(&format!("{bad_code} {bad_code:?} {pasting:?}"));

    for secret in [at.as_str(), rt.as_str(), code] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    let verifier = server
        .requests()
        .iter()
        .filter_map(|r| r.form_value("code_verifier").map(str::to_owned))
        .next()
        .unwrap();
    assert!(!shown.contains(&verifier));
}
