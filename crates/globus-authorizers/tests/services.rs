//! What a service asks Globus Auth, with both clients against the fake over real HTTP: the
//! dependent-token grant (list-shaped answer, refresh tokens with `access_type=offline`, a
//! refused user token), introspection (`include`, a revoked token is inactive) and userinfo
//! (401 for a token it does not accept); malformed answers, retries and redaction.

mod common;
use common::both_clients::{BuildFor, Client, Kind};

use std::time::Duration;

use globus_authorizers::{AuthClient, AuthError, RetryPolicy};
use globus_tokens_core::Secret;
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};
use serde_json::json;

const SERVICE: &str = "service-client-id";
const SECRET: &str = "service-s3cret-value";
const NATIVE: &str = "native-client-id";
const USER: &str = "0b0e6c5e-1111-4a4a-9b9b-000000000001";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const GROUPS: &str = "groups.api.globus.org";
const GROUPS_SCOPE: &str =
    "urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships";
const SERVICE_SCOPE: &str = "https://auth.globus.org/scopes/service-client-id/all";

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_confidential_client(SERVICE, SECRET);
    server.register_native_client(NATIVE);
    server.set_dependent_scopes(
        SERVICE,
        &[(TRANSFER, TRANSFER_SCOPE), (GROUPS, GROUPS_SCOPE)],
    );
    server
}

fn service(server: &FakeAuthServer, kind: Kind) -> Client {
    AuthClient::builder(SERVICE)
        .client_secret(SECRET)
        .base_url(server.base_url())
        .retry(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        })
        .build_for(kind)
}

/// A token the user sent to the service (its audience is the service's client).
fn user_token(server: &FakeAuthServer) -> Secret {
    Secret::new(server.issue_user_token(USER, SERVICE, SERVICE_SCOPE))
}

fn dependent_tokens_are_read_from_the_list_answer(kind: Kind) {
    let server = server();
    let client = service(&server, kind);
    let token = user_token(&server);
    let response = client
        .oauth2_get_dependent_tokens(&token, false, None)
        .unwrap();
    let by_rs = response.by_resource_server();
    assert_eq!(by_rs.keys().collect::<Vec<_>>(), [GROUPS, TRANSFER]);
    for data in by_rs.values() {
        assert!(data.refresh_token.is_none());
        assert_eq!(
            server
                .identity_of_token(data.access_token.expose())
                .as_deref(),
            Some(USER),
            "dependent tokens act for the user"
        );
    }
    let request = server.requests().pop().unwrap();
    assert_eq!(
        request.form_value("grant_type"),
        Some("urn:globus:auth:grant_type:dependent_token")
    );
    assert_eq!(request.form_value("token"), Some(token.expose()));
    assert_eq!(request.form_value("access_type"), None);
    assert!(
        request
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );

    // access_type=offline brings refresh tokens; scope narrows the answer.
    let response = client
        .oauth2_get_dependent_tokens(&token, true, Some(TRANSFER_SCOPE))
        .unwrap();
    let by_rs = response.by_resource_server();
    assert_eq!(by_rs.keys().collect::<Vec<_>>(), [TRANSFER]);
    let refresh_token = by_rs[TRANSFER].refresh_token.as_ref().unwrap();
    assert!(server.is_valid_refresh_token(refresh_token.expose()));
    let request = server.requests().pop().unwrap();
    assert_eq!(request.form_value("access_type"), Some("offline"));
    assert_eq!(request.form_value("scope"), Some(TRANSFER_SCOPE));
    assert_eq!(server.grants_for_identity(USER), 2);
}

fn a_refused_user_token_is_token_refused_not_retried(kind: Kind) {
    let server = server();
    let client = service(&server, kind);
    let token = user_token(&server);
    server.revoke_token(token.expose());
    let err = client
        .oauth2_get_dependent_tokens(&token, true, None)
        .unwrap_err();
    assert!(matches!(err, AuthError::TokenRefused { .. }), "{err}");
    assert!(!err.is_temporary() && !err.is_login_required());
    assert!(!err.to_string().contains(token.expose()));
    assert_eq!(server.token_requests(), 1);
    // An expired token is refused alike.
    server.set_expires_in(0);
    let expired = user_token(&server);
    let err = client
        .oauth2_get_dependent_tokens(&expired, false, None)
        .unwrap_err();
    assert!(matches!(err, AuthError::TokenRefused { .. }), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
    // A token for another audience is refused too.
    let other = Secret::new(server.issue_user_token(USER, TRANSFER, TRANSFER_SCOPE));
    let err = client
        .oauth2_get_dependent_tokens(&other, false, None)
        .unwrap_err();
    assert!(matches!(err, AuthError::TokenRefused { .. }), "{err}");
}

fn native_clients_cannot_get_dependent_tokens_or_introspect(kind: Kind) {
    let server = server();
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .build_for(kind);
    let token = user_token(&server);
    for err in [
        client
            .oauth2_get_dependent_tokens(&token, false, None)
            .unwrap_err(),
        client.oauth2_token_introspect(&token, None).unwrap_err(),
    ] {
        assert!(matches!(err, AuthError::InvalidConfig(_)), "{err}");
        assert!(err.to_string().contains("confidential"), "{err}");
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

fn introspection_with_include_and_of_a_revoked_token(kind: Kind) {
    let server = server();
    let client = service(&server, kind);
    let token = user_token(&server);
    let seen = client
        .oauth2_token_introspect(&token, Some("identity_set,session_info"))
        .unwrap();
    assert!(seen.active);
    assert_eq!(seen.sub.as_deref(), Some(USER));
    assert_eq!(seen.aud, [SERVICE]);
    assert_eq!(seen.scope.as_deref(), Some(SERVICE_SCOPE));
    assert_eq!(seen.identity_set.as_deref(), Some(&[USER.to_owned()][..]));
    assert!(seen.session_info.is_some());
    assert!(seen.exp.unwrap() > seen.iat.unwrap());
    let request = server.requests().pop().unwrap();
    assert_eq!(request.path, "/v2/oauth2/token/introspect");
    assert_eq!(
        request.form_value("include"),
        Some("identity_set,session_info")
    );

    let plain = client.oauth2_token_introspect(&token, None).unwrap();
    assert!(plain.identity_set.is_none() && plain.session_info.is_none());

    server.revoke_token(token.expose());
    let revoked = client.oauth2_token_introspect(&token, None).unwrap();
    assert!(!revoked.active, "a revoked token is inactive, not an error");
    assert_eq!(revoked.sub, None);
    let shown = format!("{revoked:?} {seen:?}");
    assert!(!shown.contains(token.expose()) && !shown.contains(SECRET));
}

fn userinfo_of_an_auth_token_and_401_otherwise(kind: Kind) {
    let server = server();
    let client = service(&server, kind);
    let auth_token =
        Secret::new(server.issue_user_token(USER, "auth.globus.org", "openid profile email"));
    let info = client.userinfo(&auth_token).unwrap();
    assert_eq!(info.sub, USER);
    assert_eq!(
        info.preferred_username.as_deref(),
        Some(&*format!("{USER}@example.org"))
    );
    assert!(info.identity_set.is_some());
    let request = server.requests().pop().unwrap();
    assert_eq!(request.path, "/v2/oauth2/userinfo");
    assert_eq!(
        request.header("authorization"),
        Some(&*format!("Bearer {}", auth_token.expose()))
    );

    let transfer_token = Secret::new(server.issue_user_token(USER, TRANSFER, TRANSFER_SCOPE));
    let err = client.userinfo(&transfer_token).unwrap_err();
    match &err {
        AuthError::Api {
            endpoint, status, ..
        } => {
            assert_eq!(*status, 401);
            assert_eq!(endpoint, "v2/oauth2/userinfo");
        }
        other => panic!("{other}"),
    }
    assert!(!err.to_string().contains(transfer_token.expose()));
}

fn malformed_answers_are_invalid_responses_naming_the_endpoint(kind: Kind) {
    let server = server();
    let client = service(&server, kind);
    let token = user_token(&server);
    let introspect = "/v2/oauth2/token/introspect";
    for failure in [
        Failure::WrongContentType,
        Failure::EmptyBody,
        Failure::Garbage,
        Failure::JsonBody {
            status: 200,
            body: json!([{"active": true}]),
        },
        Failure::JsonBody {
            status: 200,
            body: json!({"active": "yes"}),
        },
    ] {
        server.fail_next_path(introspect, [failure.clone()]);
        let err = client.oauth2_token_introspect(&token, None).unwrap_err();
        match &err {
            AuthError::InvalidResponse { endpoint, .. } => {
                assert_eq!(endpoint, "v2/oauth2/token/introspect", "{failure:?}");
            }
            other => panic!("{failure:?}: {other}"),
        }
    }
    let auth_token = Secret::new(server.issue_user_token(USER, "auth.globus.org", "openid"));
    server.fail_next_path(
        "/v2/oauth2/userinfo",
        [Failure::JsonBody {
            status: 200,
            body: json!({"name": "no sub"}),
        }],
    );
    let err = client.userinfo(&auth_token).unwrap_err();
    assert!(matches!(err, AuthError::InvalidResponse { .. }), "{err}");
    // A dependent-token answer that is neither a list nor an object of tokens.
    server.fail_next([Failure::JsonBody {
        status: 200,
        body: json!("tokens"),
    }]);
    let err = client
        .oauth2_get_dependent_tokens(&token, false, None)
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidResponse { .. }), "{err}");
}

fn server_errors_are_retried_as_for_other_calls(kind: Kind) {
    let server = server();
    let client = service(&server, kind);
    let token = user_token(&server);
    server.fail_next([Failure::ServerError, Failure::ServerError]);
    client
        .oauth2_get_dependent_tokens(&token, true, None)
        .unwrap();
    assert_eq!(server.token_requests(), 3);
    server.fail_next_path("/v2/oauth2/token/introspect", [Failure::ServerError]);
    assert!(client.oauth2_token_introspect(&token, None).unwrap().active);
    server.fail_next_path(
        "/v2/oauth2/token/introspect",
        [
            Failure::ServerError,
            Failure::ServerError,
            Failure::ServerError,
        ],
    );
    let err = client.oauth2_token_introspect(&token, None).unwrap_err();
    assert!(matches!(err, AuthError::RetriesExhausted { .. }), "{err}");
}

fn a_server_echoing_the_request_leaks_no_secret(kind: Kind) {
    let server = server();
    let client = service(&server, kind);
    let token = user_token(&server);
    server.fail_next([Failure::EchoRequest]);
    let err = client
        .oauth2_get_dependent_tokens(&token, true, None)
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(token.expose()), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    server.fail_next_path("/v2/oauth2/token/introspect", [Failure::EchoRequest]);
    let err = client.oauth2_token_introspect(&token, None).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(token.expose()) && !shown.contains(SECRET),
        "{shown}"
    );
}

common::both_clients::tests_for_both_clients!(
    dependent_tokens_are_read_from_the_list_answer,
    a_refused_user_token_is_token_refused_not_retried,
    native_clients_cannot_get_dependent_tokens_or_introspect,
    introspection_with_include_and_of_a_revoked_token,
    userinfo_of_an_auth_token_and_401_otherwise,
    malformed_answers_are_invalid_responses_naming_the_endpoint,
    server_errors_are_retried_as_for_other_calls,
    a_server_echoing_the_request_leaks_no_secret,
);
