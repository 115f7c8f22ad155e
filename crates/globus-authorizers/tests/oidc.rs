//! `AuthClient::get_openid_configuration`, `get_jwks` and `get_consents` against the fake
//! Globus Auth over real HTTP: happy paths, malformed bodies, server errors, 401 and 403.

mod common;

use std::time::Duration;

use globus_authorizers::{AuthClient, AuthError, RetryPolicy};
use globus_tokens_core::Secret;
use globus_tokens_testkit::fake_auth::{
    AUTH_RESOURCE_SERVER, Failure, FakeAuthServer, IDENTITY_ID, SIGNING_KEY_IDS,
    VIEW_CONSENTS_SCOPE,
};
use serde_json::json;

const CLIENT: &str = "native-client-id";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const DATA_ACCESS: &str = "https://auth.globus.org/scopes/c0ffee/data_access";

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(CLIENT);
    server
}

fn client(server: &FakeAuthServer, retry: RetryPolicy) -> AuthClient {
    AuthClient::builder(CLIENT)
        .base_url(server.base_url())
        .retry(retry)
        .backoff_random(|| 0.0)
        .build()
        .unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

#[test]
fn discovery_document_and_key_set() {
    let server = server();
    let client = client(&server, fast_retry());
    assert_eq!(
        client.openid_configuration_url(),
        server.openid_configuration_url()
    );
    let config = client.get_openid_configuration().unwrap();
    assert_eq!(config.issuer, server.issuer());
    assert_eq!(config.jwks_uri, server.jwks_url());
    assert_eq!(config.id_token_signing_alg_values_supported, ["RS512"]);
    assert_eq!(config.raw()["token_endpoint"], server.token_url());

    let jwks = client.get_jwks(Some(&config)).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let key = &jwks.keys[0];
    assert_eq!(
        (
            key.kty.as_str(),
            key.kid.as_deref(),
            key.alg.as_deref(),
            key.key_use.as_deref()
        ),
        ("RSA", Some(SIGNING_KEY_IDS[0]), Some("RS512"), Some("sig"))
    );
    assert_eq!(key.raw()["e"], "AQAB");
    assert_eq!(jwks.raw()["keys"][0]["n"], key.raw()["n"]);
    assert_eq!(server.requests_to("/.well-known/openid-configuration"), 1);

    // Without a document, get_jwks fetches one first.
    server.clear_requests();
    let again = client.get_jwks(None).unwrap();
    assert_eq!(again, jwks);
    assert_eq!(server.requests_to("/.well-known/openid-configuration"), 1);
    assert_eq!(server.requests_to("/jwk.json"), 1);
    let request = &server.requests()[1];
    assert_eq!(request.method, "GET");
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(
        request.header("authorization"),
        None,
        "no credentials to public endpoints"
    );
}

#[test]
fn unusable_documents_name_the_url_and_status() {
    let server = server();
    let client = client(&server, RetryPolicy::none());
    let config_path = "/.well-known/openid-configuration";
    let cases = [
        (
            Failure::JsonBody {
                status: 200,
                body: json!({"issuer": "x", "id_token_signing_alg_values_supported": []}),
            },
            "jwks_uri is missing",
        ),
        (Failure::Garbage, "the body is not valid JSON"),
        (Failure::EmptyBody, "the body is empty"),
        (
            Failure::WrongContentType,
            "expected a JSON body, got content type \"text/html",
        ),
        (Failure::TruncatedJson, "not valid JSON"),
    ];
    for (failure, reason) in cases {
        server.fail_next_path(config_path, [failure.clone()]);
        match client.get_openid_configuration().unwrap_err() {
            AuthError::InvalidResponse {
                endpoint,
                status,
                reason: got,
            } => {
                assert_eq!(endpoint, server.openid_configuration_url(), "{failure:?}");
                assert_eq!(status, 200);
                assert!(got.contains(reason), "{failure:?}: {got}");
            }
            other => panic!("{failure:?}: {other:?}"),
        }
    }

    let config = client.get_openid_configuration().unwrap();
    server.fail_next_path(
        "/jwk.json",
        [Failure::JsonBody {
            status: 200,
            body: json!({"keys": "x"}),
        }],
    );
    let err = client.get_jwks(Some(&config)).unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidResponse { endpoint, status: 200, reason }
            if *endpoint == server.jwks_url() && reason == "invalid JWK set: keys must be an array"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} returned an unusable response (HTTP 200): invalid JWK set: keys must be an array",
            server.jwks_url()
        )
    );

    server.fail_next_path(
        "/jwk.json",
        [Failure::JsonBody {
            status: 404,
            body: json!({"error": "not_found"}),
        }],
    );
    let err = client.get_jwks(Some(&config)).unwrap_err();
    assert!(
        matches!(&err, AuthError::Api { endpoint, status: 404, code: Some(code), .. }
            if *endpoint == server.jwks_url() && code == "not_found"),
        "{err:?}"
    );
    assert!(!err.is_temporary());
}

#[test]
fn server_errors_are_retried_then_reported_with_url_and_status() {
    let server = server();
    let client = client(&server, fast_retry());
    server.fail_next_path("/jwk.json", [Failure::ServerError]);
    assert!(client.get_jwks(None).is_ok(), "one 500, then success");
    assert_eq!(server.requests_to("/jwk.json"), 2);

    server.fail_next_path(
        "/.well-known/openid-configuration",
        [
            Failure::ServerError,
            Failure::TooManyRequests {
                retry_after_seconds: 0,
            },
            Failure::ServerError,
        ],
    );
    let err = client.get_openid_configuration().unwrap_err();
    let AuthError::RetriesExhausted { attempts: 3, last } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(&**last, AuthError::Api { endpoint, status: 500, .. } if *endpoint == server.openid_configuration_url()),
        "{last:?}"
    );
    assert!(err.to_string().contains("HTTP 500"), "{err}");

    server.fail_next_path("/jwk.json", [Failure::ConnectionReset]);
    let (result, events) = common::record(|| client.get_jwks(None));
    assert!(result.is_ok());
    assert!(
        events.iter().any(|e| e.message().contains("retrying")
            && e.field("endpoint") == Some(server.jwks_url().as_str())),
        "a retry event names the URL"
    );
}

fn auth_token(server: &FakeAuthServer, scope: &str) -> Secret {
    Secret::new(server.issue_access_token_for_client(CLIENT, AUTH_RESOURCE_SERVER, scope))
}

#[test]
fn consents_of_the_client_and_of_everyone() {
    let server = server();
    let client = client(&server, fast_retry());
    let ids = server
        .grant_consents(
            IDENTITY_ID,
            CLIENT,
            &format!("openid {TRANSFER_SCOPE}[{DATA_ACCESS}]"),
        )
        .unwrap();
    server
        .grant_consents(IDENTITY_ID, "another-client", "email")
        .unwrap();

    let token = auth_token(&server, "openid");
    let consents = client.get_consents(IDENTITY_ID, &token, false).unwrap();
    let names: Vec<&str> = consents
        .consents()
        .iter()
        .map(|c| c["scope_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["openid", TRANSFER_SCOPE, DATA_ACCESS]);
    assert_eq!(
        consents.consents()[2]["dependency_path"],
        json!([ids[1], ids[2]])
    );
    assert_eq!(consents.raw()["consents"].as_array().unwrap().len(), 3);
    let request = server.requests().pop().unwrap();
    assert_eq!(
        request.path,
        format!("/v2/api/identities/{IDENTITY_ID}/consents")
    );
    assert_eq!(
        request.query_value("all"),
        Some("False"),
        "as globus-sdk sends it"
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {}", token.expose()).as_str())
    );

    let viewer = auth_token(&server, &format!("openid {VIEW_CONSENTS_SCOPE}"));
    let all = client.get_consents(IDENTITY_ID, &viewer, true).unwrap();
    assert_eq!(all.consents().len(), 4);
    assert_eq!(
        server.requests().pop().unwrap().query_value("all"),
        Some("True")
    );
}

#[test]
fn refused_tokens_are_401_and_403_without_the_token() {
    let server = server();
    let client = client(&server, fast_retry());
    let bad = Secret::new("AT-not-a-real-token-0123456789abcdef");
    let err = client.get_consents(IDENTITY_ID, &bad, false).unwrap_err();
    let url = client.consents_url(IDENTITY_ID).unwrap();
    assert!(
        matches!(&err, AuthError::Api { endpoint, status: 401, code: Some(code), .. }
            if *endpoint == url && code.eq_ignore_ascii_case("UNAUTHORIZED")),
        "{err:?}"
    );
    assert!(!err.is_temporary());
    assert_eq!(
        server.requests_to(&format!("/v2/api/identities/{IDENTITY_ID}/consents")),
        1,
        "no retry"
    );

    let token = auth_token(&server, "openid");
    let err = client.get_consents(IDENTITY_ID, &token, true).unwrap_err();
    assert!(
        matches!(&err, AuthError::Api { status: 403, code: Some(code), .. } if code.eq_ignore_ascii_case("FORBIDDEN")),
        "all=true without view_consents: {err:?}"
    );
    let err = client
        .get_consents("someone-else", &token, false)
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::Api { status: 403, .. }),
        "{err:?}"
    );

    // A server that echoes the token back does not get it into the error.
    server.fail_next_path(
        &format!("/v2/api/identities/{IDENTITY_ID}/consents"),
        [Failure::JsonBody {
            status: 401,
            body: json!({"errors": [{"code": "UNAUTHORIZED", "detail": format!("bad token {}", token.expose())}]}),
        }],
    );
    let (result, events) = common::record(|| client.get_consents(IDENTITY_ID, &token, false));
    let err = result.unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(token.expose()), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
    for event in events {
        assert!(!event.text().contains(token.expose()), "{}", event.text());
    }

    assert!(matches!(
        client.get_consents("", &token, false).unwrap_err(),
        AuthError::InvalidConfig(_)
    ));
}
