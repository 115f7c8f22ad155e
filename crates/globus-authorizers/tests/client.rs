//! `AuthClient` and `AsyncAuthClient` against the fake Globus Auth server over real HTTP: every
//! test runs with both clients (modules `blocking` and `nonblocking`), so they are held to the
//! same wire format, retries, timeouts and errors.

mod common;
use common::both_clients::{BuildFor, Client, Kind};

use std::sync::Arc;
use std::time::{Duration, Instant};

use globus_authorizers::{
    AuthClient, AuthError, AuthorizeParams, PkceVerifier, RetryPolicy, TransportErrorKind,
};
use globus_tokens_core::{ManualClock, Secret};
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};

const NATIVE: &str = "native-client-id";
const CONFIDENTIAL: &str = "confidential-client-id";
const SECRET: &str = "s3cr3t-value";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.register_confidential_client(CONFIDENTIAL, SECRET);
    server
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    }
}

fn native(server: &FakeAuthServer, kind: Kind) -> Client {
    AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .retry(fast_retry())
        .build_for(kind)
}

fn confidential(server: &FakeAuthServer, kind: Kind) -> Client {
    AuthClient::builder(CONFIDENTIAL)
        .client_secret(SECRET)
        .base_url(server.base_url())
        .retry(fast_retry())
        .build_for(kind)
}

fn form(request: &globus_tokens_testkit::fake_auth::RecordedRequest) -> Vec<(&str, &str)> {
    request
        .form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn refresh_grant_wire_fields_match_globus_sdk_native_client(kind: Kind) {
    let server = server();
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let clock = Arc::new(ManualClock::new(1_000_000));
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .clock(clock)
        .build_for(kind);
    let response = client
        .oauth2_refresh_token(&Secret::new(refresh_token.clone()))
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v2/oauth2/token");
    assert_eq!(
        form(&requests[0]),
        [
            ("refresh_token", refresh_token.as_str()),
            ("grant_type", "refresh_token"),
            ("client_id", NATIVE)
        ]
    );
    assert_eq!(
        requests[0].header("authorization"),
        None,
        "native clients send no Basic header"
    );
    assert!(
        requests[0]
            .header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    let token = &response.by_resource_server()[TRANSFER];
    assert_eq!(token.expires_at_seconds, 1_000_000 + 172_800);
    assert!(
        token.refresh_token.is_some(),
        "rotated refresh token returned"
    );
}

fn confidential_client_uses_basic_auth_and_client_credentials_fields(kind: Kind) {
    let server = server();
    let response = confidential(&server, kind)
        .oauth2_client_credentials_tokens(TRANSFER_SCOPE)
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        form(request),
        [
            ("grant_type", "client_credentials"),
            ("scope", TRANSFER_SCOPE)
        ]
    );
    assert_eq!(
        request.header("authorization"),
        Some("Basic Y29uZmlkZW50aWFsLWNsaWVudC1pZDpzM2NyM3QtdmFsdWU=")
    );
    let tokens = response.by_resource_server();
    assert_eq!(tokens.keys().collect::<Vec<_>>(), [TRANSFER]);
    assert_eq!(tokens[TRANSFER].refresh_token, None);
    assert!(
        native(&server, kind)
            .oauth2_client_credentials_tokens(TRANSFER_SCOPE)
            .is_err()
    );
}

fn wrong_client_secret_is_an_api_error_not_retried(kind: Kind) {
    let server = server();
    let client = AuthClient::builder(CONFIDENTIAL)
        .client_secret("wrong")
        .base_url(server.base_url())
        .retry(fast_retry())
        .build_for(kind);
    let err = client
        .oauth2_client_credentials_tokens(TRANSFER_SCOPE)
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::Api { status: 401, code: Some(code), .. } if code == "invalid_client"),
        "{err:?}"
    );
    assert_eq!(
        server.token_requests(),
        1,
        "4xx other than 429 is never retried"
    );
    assert!(!err.to_string().contains("wrong"));
}

fn authorization_code_exchange_with_pkce(kind: Kind) {
    let server = server();
    let client = native(&server, kind);
    let verifier = PkceVerifier::generate().unwrap();
    let redirect = "http://localhost:8123/callback";
    let params = AuthorizeParams::new(format!("openid {TRANSFER_SCOPE}"), &verifier)
        .redirect_uri(redirect)
        .state("st4te")
        .refresh_tokens(true)
        .prefill_named_grant("My App Login")
        .query_param("session_message", "hello world");
    let url = client.oauth2_get_authorize_url(&params);
    let expected_prefix = format!(
        "{}v2/oauth2/authorize?client_id={NATIVE}&redirect_uri=http%3A%2F%2Flocalhost%3A8123%2Fcallback&scope=openid+urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall&state=st4te&response_type=code&code_challenge={}&code_challenge_method=S256&access_type=offline&session_message=hello+world&prefill_named_grant=My+App+Login",
        server.base_url(),
        verifier.challenge()
    );
    assert_eq!(url, expected_prefix);

    // Follow the authorize URL like a browser and take the code from the redirect.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let reply = agent.get(&url).call().unwrap();
    assert_eq!(reply.status().as_u16(), 302);
    let location = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "st4te");
    let code = Secret::new(query["code"].clone());

    let wrong = PkceVerifier::generate().unwrap();
    let err = client
        .oauth2_exchange_code_for_tokens(&code, redirect, Some(&wrong))
        .unwrap_err();
    assert!(
        matches!(err, AuthError::InvalidCode { .. }),
        "PKCE mismatch is invalid_grant, a bad code: {err:?}"
    );
    assert!(!err.is_login_required() && !err.is_temporary());
    assert!(
        err.to_string()
            .starts_with("the authorization code was wrong, already used or expired: log in again"),
        "{err}"
    );

    let verifier_text = verifier.expose().to_owned();
    let code_text = code.expose().to_owned();
    // The code was not consumed by the failed attempt in the fake; get a fresh one regardless.
    let reply = agent.get(&url).call().unwrap();
    let location = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
    let code = Secret::new(
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned(),
    );
    let response = client
        .oauth2_exchange_code_for_tokens(&code, redirect, Some(&verifier))
        .unwrap();
    let last = server.requests().into_iter().last().unwrap();
    assert_eq!(
        form(&last),
        [
            ("client_id", NATIVE),
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("code_verifier", verifier_text.as_str()),
            ("redirect_uri", redirect)
        ]
    );
    let tokens = response.by_resource_server();
    assert!(tokens.contains_key("auth.globus.org") && tokens.contains_key(TRANSFER));
    assert!(
        tokens[TRANSFER].refresh_token.is_some(),
        "offline access gives refresh tokens"
    );
    assert!(
        response.identity_id().is_some(),
        "openid gives an id_token with sub"
    );
    assert!(!format!("{err:?}{response:?}").contains(&verifier_text));
    assert!(!format!("{err:?}").contains(&code_text));
    // A native client must send a verifier.
    assert!(matches!(
        client.oauth2_exchange_code_for_tokens(&code, redirect, None),
        Err(AuthError::InvalidConfig(_))
    ));
}

fn revoke_sends_token_and_client_id(kind: Kind) {
    let server = server();
    let token = server.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    native(&server, kind)
        .oauth2_revoke_token(&Secret::new(token.clone()))
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.path, "/v2/oauth2/token/revoke");
    assert_eq!(
        form(request),
        [("token", token.as_str()), ("client_id", NATIVE)]
    );
    assert!(!server.is_valid_access_token(&token));
    assert_eq!(server.revoke_requests(), 1);
}

fn invalid_grant_is_login_required(kind: Kind) {
    let server = server();
    let err = native(&server, kind)
        .oauth2_refresh_token(&Secret::new("RT-unknown"))
        .unwrap_err();
    assert!(err.is_login_required(), "{err:?}");
    assert!(!err.is_temporary());
    assert_eq!(server.token_requests(), 1);
    assert!(!err.to_string().contains("RT-unknown") && !format!("{err:?}").contains("RT-unknown"));
}

fn server_errors_and_throttling_are_retried_then_succeed(kind: Kind) {
    let server = server();
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    server.fail_next([
        Failure::ServerError,
        Failure::TooManyRequests {
            retry_after_seconds: 0,
        },
        Failure::ConnectionReset,
    ]);
    let response = native(&server, kind)
        .oauth2_refresh_token(&Secret::new(refresh_token))
        .unwrap();
    assert_eq!(server.token_requests(), 4);
    assert_eq!(response.resource_servers().collect::<Vec<_>>(), [TRANSFER]);
}

fn retries_are_bounded(kind: Kind) {
    let server = server();
    server.fail_next(std::iter::repeat_n(Failure::ServerError, 10));
    let err = native(&server, kind)
        .oauth2_refresh_token(&Secret::new("RT"))
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::RetriesExhausted { attempts: 4, last } if matches!(**last, AuthError::Api { status: 500, .. })),
        "{err:?}"
    );
    assert!(!err.is_temporary(), "the retrying already happened");
    assert!(
        err.to_string().starts_with("gave up after 4 attempts: "),
        "{err}"
    );
    assert_eq!(server.token_requests(), 4, "1 attempt + 3 retries");
}

fn retry_after_is_honoured(kind: Kind) {
    let server = server();
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    server.fail_next([Failure::TooManyRequests {
        retry_after_seconds: 1,
    }]);
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .retry(RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_secs(5),
        })
        .build_for(kind);
    let started = Instant::now();
    client
        .oauth2_refresh_token(&Secret::new(refresh_token))
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

fn a_hanging_server_times_out_without_retry(kind: Kind) {
    let server = server();
    server.fail_next([Failure::Hang(Duration::from_secs(5))]);
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .timeout(Duration::from_millis(300))
        .retry(fast_retry())
        .build_for(kind);
    let err = client.oauth2_refresh_token(&Secret::new("RT")).unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Transport {
                kind: TransportErrorKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        server.token_requests(),
        1,
        "a timed-out refresh may have been processed: not retried"
    );
}

fn malformed_success_replies_are_typed_errors(kind: Kind) {
    let server = server();
    for failure in [Failure::TruncatedJson, Failure::WrongContentType] {
        server.fail_next([failure.clone()]);
        let err = native(&server, kind)
            .oauth2_refresh_token(&Secret::new("RT"))
            .unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidResponse { status: 200, .. }),
            "{failure:?}: {err:?}"
        );
    }
    server.fail_next(std::iter::repeat_n(Failure::TruncatedBody, 4));
    let err = native(&server, kind)
        .oauth2_refresh_token(&Secret::new("RT"))
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::RetriesExhausted { attempts: 4, last } if matches!(**last, AuthError::Transport { kind: TransportErrorKind::Reset, .. })),
        "{err:?}"
    );
}

fn connection_refused_is_a_transport_error(kind: Kind) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = AuthClient::builder(NATIVE)
        .base_url(format!("http://127.0.0.1:{port}/"))
        .retry(RetryPolicy::none())
        .build_for(kind);
    let err = client.oauth2_refresh_token(&Secret::new("RT")).unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Transport {
                kind: TransportErrorKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_temporary());
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("refused"),
        "names the host and port: {text}"
    );
}

fn a_reset_is_reported_as_a_reset_not_a_timeout(kind: Kind) {
    let server = server();
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build_for(kind);
    for failure in [Failure::TcpReset, Failure::ConnectionReset] {
        server.fail_next([failure.clone()]);
        let err = client.oauth2_refresh_token(&Secret::new("RT")).unwrap_err();
        assert!(
            matches!(
                err,
                AuthError::Transport {
                    kind: TransportErrorKind::Reset,
                    ..
                }
            ),
            "{failure:?}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            !text.contains("timed out") && text.contains("reset"),
            "{text}"
        );
        assert!(text.contains(&server.addr().to_string()), "{text}");
    }
}

#[test]
fn a_malformed_service_url_names_the_variable() {
    let err = AuthClient::builder(NATIVE)
        .env(globus_authorizers::SdkEnv::from_pairs([(
            "GLOBUS_SDK_SERVICE_URL_AUTH",
            "localhost:8080",
        )]))
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("GLOBUS_SDK_SERVICE_URL_AUTH") && text.contains("localhost:8080"),
        "{text}"
    );
}

#[test]
fn base_url_comes_from_the_environment_like_globus_sdk() {
    const CHILD: &str = "GLOBUS_AUTHORIZERS_ENV_TEST_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let expected = std::env::var("EXPECTED_BASE").unwrap();
        assert_eq!(AuthClient::native("x").unwrap().base_url(), expected);
        return;
    }
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("GLOBUS_SDK_SERVICE_URL_AUTH", "http://127.0.0.1:1234")],
            "http://127.0.0.1:1234/",
        ),
        (
            &[("GLOBUS_SDK_ENVIRONMENT", "sandbox")],
            "https://auth.sandbox.globuscs.info/",
        ),
        (
            &[
                ("GLOBUS_SDK_ENVIRONMENT", "preview"),
                ("GLOBUS_SDK_SERVICE_URL_AUTH", "http://override/"),
            ],
            "http://override/",
        ),
    ];
    for (vars, expected) in cases {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "base_url_comes_from_the_environment_like_globus_sdk",
                "--exact",
                "--test-threads=1",
            ])
            .env_remove("GLOBUS_SDK_SERVICE_URL_AUTH")
            .env_remove("GLOBUS_SDK_ENVIRONMENT")
            .envs(vars.iter().copied())
            .env(CHILD, "1")
            .env("EXPECTED_BASE", expected)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{vars:?}");
    }
}

fn client_debug_hides_the_secret(kind: Kind) {
    let server = server();
    let client = confidential(&server, kind);
    let shown = format!("{client:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains(CONFIDENTIAL));
}

fn a_slow_reply_within_the_timeout_succeeds_without_retry(kind: Kind) {
    let server = server();
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    server.fail_next([Failure::Slow(Duration::from_millis(300))]);
    let client = AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .timeout(Duration::from_secs(5))
        .retry(fast_retry())
        .build_for(kind);
    client
        .oauth2_refresh_token(&Secret::new(refresh_token))
        .unwrap();
    assert_eq!(server.token_requests(), 1);
}

common::both_clients::tests_for_both_clients!(
    refresh_grant_wire_fields_match_globus_sdk_native_client,
    confidential_client_uses_basic_auth_and_client_credentials_fields,
    wrong_client_secret_is_an_api_error_not_retried,
    authorization_code_exchange_with_pkce,
    revoke_sends_token_and_client_id,
    invalid_grant_is_login_required,
    server_errors_and_throttling_are_retried_then_succeed,
    retries_are_bounded,
    retry_after_is_honoured,
    a_hanging_server_times_out_without_retry,
    malformed_success_replies_are_typed_errors,
    connection_refused_is_a_transport_error,
    a_reset_is_reported_as_a_reset_not_a_timeout,
    client_debug_hides_the_secret,
    a_slow_reply_within_the_timeout_succeeds_without_retry,
);
