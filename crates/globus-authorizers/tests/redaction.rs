//! No token, secret, code or verifier appears in `Debug` or `Display` of anything this crate makes.

use std::sync::Arc;
use std::time::Duration;

use globus_authorizers::{
    AccessTokenAuthorizer, AuthClient, AuthorizedAgent, BasicAuthorizer,
    ClientCredentialsAuthorizer, GlobusAuthorizer, PkceVerifier, RefreshTokenAuthorizer,
    RetryPolicy, StorageAuthorizer,
};
use globus_tokens_core::{MemoryTokenStorage, Secret, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};

const SECRETS: [&str; 5] = [
    "AT-sekrit-access",
    "RT-sekrit-refresh",
    "client-sekrit",
    "code-sekrit",
    "basic-sekrit",
];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

#[test]
fn debug_and_errors_never_show_secrets() {
    let server = FakeAuthServer::start();
    server.register_confidential_client("cc", "client-sekrit");
    let client = Arc::new(
        AuthClient::builder("cc")
            .client_secret("client-sekrit")
            .base_url(server.base_url())
            .retry(RetryPolicy::none())
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    );
    assert_clean("AuthClient", &format!("{client:?}"));

    let refresh = RefreshTokenAuthorizer::builder("RT-sekrit-refresh", Arc::clone(&client))
        .access_token("AT-sekrit-access")
        .expires_at(0)
        .build()
        .unwrap();
    assert_clean("RefreshTokenAuthorizer", &format!("{refresh:?}"));
    // Every failure mode of a renewal: the errors must not echo what was sent.
    for failure in [
        Failure::InvalidGrant,
        Failure::ServerError,
        Failure::TruncatedJson,
        Failure::WrongContentType,
        Failure::ConnectionReset,
        Failure::Hang(Duration::from_secs(2)),
    ] {
        server.fail_next([failure]);
        let err = refresh.get_authorization_header().unwrap_err();
        assert_clean("renewal error", &format!("{err} {err:?}"));
    }
    let code = client.oauth2_exchange_code_for_tokens(
        &Secret::new("code-sekrit"),
        "http://localhost/",
        None,
    );
    let err = code.unwrap_err();
    assert_clean("code exchange error", &format!("{err} {err:?}"));

    let credentials = ClientCredentialsAuthorizer::builder(Arc::clone(&client), "openid")
        .build()
        .unwrap();
    assert_clean("ClientCredentialsAuthorizer", &format!("{credentials:?}"));
    assert_clean(
        "BasicAuthorizer",
        &format!("{:?}", BasicAuthorizer::new("user", "basic-sekrit")),
    );
    let access = AccessTokenAuthorizer::new("AT-sekrit-access");
    assert_clean("AccessTokenAuthorizer", &format!("{access:?}"));
    assert_clean(
        "AuthorizedAgent",
        &format!("{:?}", AuthorizedAgent::new(access)),
    );
    let verifier = PkceVerifier::generate().unwrap();
    assert!(!format!("{verifier:?}").contains(verifier.expose()));

    let store = Arc::new(MemoryTokenStorage::new());
    let data =
        TokenData::new("rs", "s", "AT-sekrit-access", 0).with_refresh_token("RT-sekrit-refresh");
    store
        .store_token_data(&[("rs".to_owned(), data)].into())
        .unwrap();
    let stored = StorageAuthorizer::builder(store, "rs", client)
        .build()
        .unwrap();
    assert_clean("StorageAuthorizer", &format!("{stored:?}"));
    server.fail_next([Failure::InvalidGrant]);
    let err = stored.get_authorization_header().unwrap_err();
    assert_clean("storage renewal error", &format!("{err} {err:?}"));
}
