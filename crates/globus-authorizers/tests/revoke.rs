//! Revocation succeeds only on Globus Auth's JSON answer: any other 2xx keeps the token.

use globus_authorizers::{AuthClient, AuthError, RetryPolicy};
use globus_tokens_core::Secret;
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};

const NATIVE: &str = "native-client";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

#[test]
fn a_2xx_that_is_not_globus_auths_answer_is_a_failed_revocation() {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let token = server.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    for (failure, expected) in [
        (Failure::WrongContentType, "text/html"),
        (Failure::EmptyBody, "empty"),
        (Failure::Garbage, "not valid JSON"),
    ] {
        server.fail_next_revoke([failure.clone()]);
        let err = client
            .oauth2_revoke_token(&Secret::new(token.clone()))
            .unwrap_err();
        assert!(
            matches!(&err, AuthError::InvalidResponse { status: 200, endpoint, .. } if endpoint == "v2/oauth2/token/revoke"),
            "{failure:?}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(expected) && text.contains("may not be revoked"),
            "{failure:?}: {text}"
        );
        assert!(!text.contains(&token));
        assert!(server.is_valid_access_token(&token), "{failure:?}");
    }
    assert_eq!(server.revoke_requests(), 3);
    client
        .oauth2_revoke_token(&Secret::new(token.clone()))
        .unwrap();
    assert!(!server.is_valid_access_token(&token));
}

#[test]
fn revoke_server_errors_are_api_errors() {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    server.fail_next_revoke([Failure::ServerError]);
    let err = client.oauth2_revoke_token(&Secret::new("AT")).unwrap_err();
    assert!(matches!(err, AuthError::Api { status: 500, .. }), "{err:?}");
}
