//! A server that echoes the request form in its error text must not get our credentials into
//! errors or tracing events: each call (refresh, client credentials, code exchange, revoke).

mod common;
use common::both_clients::{BuildFor, Client, Kind};

use std::sync::Arc;

use globus_authorizers::{
    AuthClient, AuthError, ClientCredentialsAuthorizer, PkceVerifier, RefreshTokenAuthorizer,
    RetryPolicy,
};
use globus_tokens_core::Secret;
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};

const NATIVE: &str = "native-client";
const CONFIDENTIAL: &str = "confidential-client";
// `+`, `/` and `=` are form-encoded on the wire, so the echo holds another spelling.
const CLIENT_SECRET: &str = "cs+Sekrit/Value=42";
const REFRESH_TOKEN: &str = "RT-sekrit-refresh-0123";
const CODE: &str = "code-sekrit-4567";
const ACCESS_TOKEN: &str = "AT-sekrit-access-89ab";

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.register_confidential_client(CONFIDENTIAL, CLIENT_SECRET);
    server
}

fn builder(confidential: bool, server: &FakeAuthServer) -> globus_authorizers::AuthClientBuilder {
    let builder = AuthClient::builder(if confidential { CONFIDENTIAL } else { NATIVE })
        .base_url(server.base_url())
        .retry(RetryPolicy::none());
    if confidential {
        builder.client_secret(CLIENT_SECRET)
    } else {
        builder
    }
}

fn client(server: &FakeAuthServer, confidential: bool, kind: Kind) -> Client {
    builder(confidential, server).build_for(kind)
}

fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The error text, checked for every spelling of every secret; it must show that the server
/// said something (the redaction marker), so the test cannot pass by dropping the text.
fn assert_clean(what: &str, err: &AuthError, secrets: &[&str]) {
    let text = format!("{err} {err:?}");
    for secret in secrets {
        assert!(!text.contains(secret), "{what}: leaks {secret}: {text}");
        let encoded = encoded(secret);
        assert!(!text.contains(&encoded), "{what}: leaks {encoded}: {text}");
    }
    assert!(text.contains("[REDACTED]"), "{what}: {text}");
    assert!(
        text.contains("could not parse"),
        "{what}: server text kept: {text}"
    );
}

fn refresh_error_echo_is_redacted(kind: Kind) {
    let server = server();
    for confidential in [false, true] {
        server.fail_next([Failure::EchoRequest]);
        let (result, events) = common::record(|| {
            client(&server, confidential, kind).oauth2_refresh_token(&Secret::new(REFRESH_TOKEN))
        });
        let err = result.unwrap_err();
        assert!(matches!(err, AuthError::Api { status: 400, .. }), "{err:?}");
        assert_clean("refresh", &err, &[REFRESH_TOKEN, CLIENT_SECRET]);
        common::assert_no_secret_in_events(&events, &[REFRESH_TOKEN, CLIENT_SECRET]);
    }
    // Through an authorizer too, whose error adds context.
    server.fail_next([Failure::EchoRequest]);
    let authorizer = RefreshTokenAuthorizer::builder(
        REFRESH_TOKEN,
        Arc::new(builder(false, &server).build().unwrap()),
    )
    .access_token(ACCESS_TOKEN)
    .expires_at(0)
    .build()
    .unwrap();
    let (result, events) = common::record(|| authorizer.ensure_valid_token());
    assert_clean(
        "authorizer",
        &result.unwrap_err(),
        &[REFRESH_TOKEN, ACCESS_TOKEN],
    );
    common::assert_no_secret_in_events(&events, &[REFRESH_TOKEN, ACCESS_TOKEN]);
}

#[test]
fn client_credentials_error_echo_is_redacted() {
    let server = server();
    server.fail_next([Failure::EchoRequest]);
    let authorizer = ClientCredentialsAuthorizer::builder(
        Arc::new(builder(true, &server).build().unwrap()),
        "urn:globus:auth:scope:transfer.api.globus.org:all",
    )
    .build()
    .unwrap();
    let (result, events) = common::record(|| authorizer.ensure_valid_token());
    let err = result.unwrap_err();
    assert_clean("client credentials", &err, &[CLIENT_SECRET]);
    // The Basic header's base64 is a credential too.
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CONFIDENTIAL}:{CLIENT_SECRET}"));
    assert!(!err.to_string().contains(&basic), "{err}");
    common::assert_no_secret_in_events(&events, &[CLIENT_SECRET, &basic]);
}

fn code_exchange_error_echo_is_redacted(kind: Kind) {
    let server = server();
    let verifier = PkceVerifier::generate().unwrap();
    for confidential in [false, true] {
        server.fail_next([Failure::EchoRequest]);
        let (result, events) = common::record(|| {
            client(&server, confidential, kind).oauth2_exchange_code_for_tokens(
                &Secret::new(CODE),
                "http://localhost:1/callback",
                Some(&verifier),
            )
        });
        let err = result.unwrap_err();
        let secrets = [CODE, verifier.expose(), CLIENT_SECRET];
        assert_clean("code exchange", &err, &secrets);
        common::assert_no_secret_in_events(&events, &secrets);
    }
}

fn revoke_error_echo_is_redacted(kind: Kind) {
    let server = server();
    for confidential in [false, true] {
        server.fail_next_revoke([Failure::EchoRequest]);
        let (result, events) = common::record(|| {
            client(&server, confidential, kind).oauth2_revoke_token(&Secret::new(ACCESS_TOKEN))
        });
        let err = result.unwrap_err();
        assert_clean("revoke", &err, &[ACCESS_TOKEN, CLIENT_SECRET]);
        common::assert_no_secret_in_events(&events, &[ACCESS_TOKEN, CLIENT_SECRET]);
    }
}

common::both_clients::tests_for_both_clients!(
    refresh_error_echo_is_redacted,
    code_exchange_error_echo_is_redacted,
    revoke_error_echo_is_redacted,
);
