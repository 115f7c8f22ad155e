//! The fake Globus Auth, exercised over real HTTP with ureq.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use globus_tokens_testkit::fake_auth::{
    self, Failure, FakeAuthServer, IDENTITY_ID, pkce_challenge,
};
use serde_json::Value;

const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const GROUPS_SCOPE: &str = "urn:globus:auth:scope:groups.api.globus.org:all";
const NATIVE: &str = "native-client-id";
const CONFIDENTIAL: &str = "confidential-client-id";
const SECRET: &str = "s3cr3t/+=";
const REDIRECT: &str = "http://127.0.0.1:8765/callback?x=1";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.register_confidential_client(CONFIDENTIAL, SECRET);
    server
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// POST a form to the token endpoint; (status, parsed JSON body).
fn post(agent: &ureq::Agent, url: &str, auth: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut request = agent.post(url);
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    let mut response = request
        .send_form(form.iter().copied())
        .expect("HTTP exchange");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.body_mut().read_to_string().expect("body");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}: {text}"
    );
    (status, serde_json::from_str(&text).expect("JSON body"))
}

fn token(server: &FakeAuthServer, auth: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
    post(&agent(), &server.token_url(), auth, form)
}

fn refresh_native(server: &FakeAuthServer, rt: &str) -> (u16, Value) {
    token(
        server,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", NATIVE),
        ],
    )
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn assert_oauth_error(status: u16, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_error, "{body}");
    assert_eq!(body["errors"][0]["code"], want_error, "{body}");
    assert_eq!(
        body["errors"][0]["status"],
        want_status.to_string(),
        "{body}"
    );
}

/// GET the authorize URL; returns the parsed `Location` query.
fn authorize(server: &FakeAuthServer, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut url = url::Url::parse(&server.authorize_url_base()).unwrap();
    url.query_pairs_mut().extend_pairs(extra.iter().copied());
    let response = agent().get(url.as_str()).call().expect("authorize");
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let location = url::Url::parse(&location).expect("absolute Location");
    assert_eq!(location.path(), "/callback");
    location.query_pairs().into_owned().collect()
}

fn standard_authorize(server: &FakeAuthServer, scope: &str, offline: bool) -> String {
    let challenge = pkce_challenge(VERIFIER);
    let mut params = vec![
        ("client_id", NATIVE),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st&te=1"),
        ("response_type", "code"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if offline {
        params.push(("access_type", "offline"));
    }
    let query = authorize(server, &params);
    assert_eq!(query[0].0, "x");
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("state").as_deref(), Some("st&te=1"));
    get("code").expect("code in redirect")
}

fn exchange(server: &FakeAuthServer, code: &str, verifier: &str) -> (u16, Value) {
    token(
        server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", NATIVE),
        ],
    )
}

#[test]
fn refresh_grant_rotates_and_matches_the_wire_shape() {
    let server = server();
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let (status, body) = refresh_native(&server, &rt);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "scope",
            "expires_in",
            "token_type",
            "resource_server",
            "refresh_token",
            "other_tokens"
        ]
    );
    assert_eq!(body["scope"], TRANSFER_SCOPE);
    assert_eq!(body["resource_server"], TRANSFER);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 172_800);
    assert_eq!(body["other_tokens"], serde_json::json!([]));
    let at = body["access_token"].as_str().unwrap();
    assert!(server.is_valid_access_token(at));
    assert_eq!(
        server.access_token_info(at),
        Some((TRANSFER.to_owned(), TRANSFER_SCOPE.to_owned()))
    );
    let new_rt = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_rt, rt);
    assert!(!server.is_valid_refresh_token(&rt));

    // The used refresh token is now invalid_grant; the rotated one works.
    let (status, body) = refresh_native(&server, &rt);
    assert_oauth_error(status, &body, 400, "invalid_grant");
    assert!(body["error_description"].is_string());
    let (status, body) = refresh_native(&server, &new_rt);
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["access_token"].as_str().unwrap(), at);
    assert_eq!(server.token_requests(), 3);
}

#[test]
fn refresh_without_rotation_returns_the_same_token() {
    let server = server();
    server.set_rotate_refresh_tokens(false);
    server.set_expires_in(3600);
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let mut access_tokens = Vec::new();
    for _ in 0..3 {
        let (status, body) = refresh_native(&server, &rt);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["refresh_token"], rt.as_str());
        assert_eq!(body["expires_in"], 3600);
        access_tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    access_tokens.sort();
    access_tokens.dedup();
    assert_eq!(access_tokens.len(), 3);
}

#[test]
fn refresh_token_rejected_for_another_client_and_unknown() {
    let server = server();
    server.register_native_client("other-native");
    let rt = server.issue_refresh_token("other-native", TRANSFER, TRANSFER_SCOPE);
    let (status, body) = refresh_native(&server, &rt);
    assert_oauth_error(status, &body, 400, "invalid_grant");
    let (status, body) = refresh_native(&server, "RT-never-issued");
    assert_oauth_error(status, &body, 400, "invalid_grant");
    // An unregistered native client is not a client at all.
    let (status, body) = token(
        &server,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "nobody"),
        ],
    );
    assert_oauth_error(status, &body, 401, "invalid_client");
}

#[test]
fn confidential_clients_need_basic_auth() {
    let server = server();
    let rt = server.issue_refresh_token(CONFIDENTIAL, TRANSFER, TRANSFER_SCOPE);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let (status, body) = token(&server, None, &form);
    assert_oauth_error(status, &body, 401, "invalid_client");
    let (status, body) = token(&server, Some(&basic(CONFIDENTIAL, "wrong")), &form);
    assert_oauth_error(status, &body, 401, "invalid_client");
    let (status, body) = token(&server, Some(&basic("unknown", SECRET)), &form);
    assert_oauth_error(status, &body, 401, "invalid_client");
    let (status, body) = token(&server, Some("Basic !!!notbase64"), &form);
    assert_oauth_error(status, &body, 401, "invalid_client");
    // client_id alone is not enough for a confidential client.
    let with_id = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
        ("client_id", CONFIDENTIAL),
    ];
    let (status, body) = token(&server, None, &with_id);
    assert_oauth_error(status, &body, 401, "invalid_client");
    assert!(server.is_valid_refresh_token(&rt));
    let (status, body) = token(&server, Some(&basic(CONFIDENTIAL, SECRET)), &form);
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.token_requests(), 6);
    let last = server.requests().pop().unwrap();
    assert_eq!(
        last.header("Authorization"),
        Some(basic(CONFIDENTIAL, SECRET).as_str())
    );
}

#[test]
fn client_credentials_one_token_per_resource_server() {
    let server = server();
    let scope = format!(
        "{TRANSFER_SCOPE} openid email https://auth.globus.org/scopes/abc-123/https {GROUPS_SCOPE}"
    );
    let (status, body) = token(
        &server,
        Some(&basic(CONFIDENTIAL, SECRET)),
        &[("grant_type", "client_credentials"), ("scope", &scope)],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "scope",
            "expires_in",
            "token_type",
            "resource_server",
            "other_tokens"
        ]
    );
    assert_eq!(body["resource_server"], TRANSFER);
    assert_eq!(body["scope"], TRANSFER_SCOPE);
    let others = body["other_tokens"].as_array().unwrap();
    let servers: Vec<&str> = others
        .iter()
        .map(|t| t["resource_server"].as_str().unwrap())
        .collect();
    assert_eq!(
        servers,
        ["auth.globus.org", "abc-123", "groups.api.globus.org"]
    );
    assert_eq!(others[0]["scope"], "openid email");
    for other in others {
        assert!(other.get("refresh_token").is_none());
        assert!(server.is_valid_access_token(other["access_token"].as_str().unwrap()));
    }

    // Native clients cannot; missing Basic is invalid_client; unknown scopes are refused.
    let (status, body) = token(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("scope", TRANSFER_SCOPE),
            ("client_id", NATIVE),
        ],
    );
    assert_oauth_error(status, &body, 400, "unauthorized_client");
    let (status, body) = token(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("scope", TRANSFER_SCOPE),
        ],
    );
    assert_oauth_error(status, &body, 401, "invalid_client");
    let (status, body) = token(
        &server,
        Some(&basic(CONFIDENTIAL, SECRET)),
        &[("grant_type", "client_credentials"), ("scope", "bogus")],
    );
    assert_oauth_error(status, &body, 400, "invalid_scope");
}

#[test]
fn scope_to_resource_server_mapping() {
    let rs = fake_auth::resource_server_of_scope;
    assert_eq!(rs(TRANSFER_SCOPE).as_deref(), Some(TRANSFER));
    assert_eq!(rs("profile").as_deref(), Some("auth.globus.org"));
    assert_eq!(
        rs("urn:globus:auth:scope:auth.globus.org:view_identities").as_deref(),
        Some("auth.globus.org")
    );
    assert_eq!(
        rs("https://auth.globus.org/scopes/RS-1/xyz").as_deref(),
        Some("RS-1")
    );
    assert_eq!(
        rs("urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/E/data_access]")
            .as_deref(),
        Some(TRANSFER)
    );
    assert_eq!(rs("https://example.org/x"), None);
    assert_eq!(rs("unknown"), None);
}

#[test]
fn authorization_code_with_pkce_offline_and_openid() {
    let server = server();
    let scope = format!("openid profile email {TRANSFER_SCOPE} {GROUPS_SCOPE}");
    let code = standard_authorize(&server, &scope, true);
    let (status, body) = exchange(&server, &code, VERIFIER);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "scope",
            "expires_in",
            "token_type",
            "resource_server",
            "refresh_token",
            "state",
            "other_tokens",
            "id_token"
        ]
    );
    assert_eq!(body["resource_server"], "auth.globus.org");
    assert_eq!(body["scope"], "openid profile email");
    assert_eq!(body["state"], "st&te=1");
    let others = body["other_tokens"].as_array().unwrap();
    assert_eq!(others.len(), 2);
    assert_eq!(others[0]["resource_server"], TRANSFER);
    assert_eq!(others[1]["resource_server"], "groups.api.globus.org");
    for t in std::iter::once(&body).chain(others) {
        let rt = t["refresh_token"]
            .as_str()
            .expect("offline: refresh tokens");
        assert!(server.is_valid_refresh_token(rt));
        assert!(server.is_valid_access_token(t["access_token"].as_str().unwrap()));
    }
    // The refresh token from the code grant works with the refresh grant.
    let (status, refreshed) = refresh_native(&server, others[0]["refresh_token"].as_str().unwrap());
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["resource_server"], TRANSFER);

    // id_token: header.payload.sig, payload names the fixed identity.
    let id_token = body["id_token"].as_str().unwrap();
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(payload["sub"], IDENTITY_ID);
    assert_eq!(payload["aud"], NATIVE);
    assert_eq!(payload["preferred_username"], fake_auth::IDENTITY_USERNAME);

    // Single use.
    let (status, body) = exchange(&server, &code, VERIFIER);
    assert_oauth_error(status, &body, 400, "invalid_grant");
}

#[test]
fn authorization_code_online_without_openid() {
    let server = server();
    let code = standard_authorize(&server, TRANSFER_SCOPE, false);
    let (status, body) = exchange(&server, &code, VERIFIER);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resource_server"], TRANSFER);
    assert_eq!(body["refresh_token"], Value::Null);
    assert_eq!(body["id_token"], Value::Null);
    assert_eq!(body["other_tokens"], serde_json::json!([]));
}

#[test]
fn authorization_code_rejections() {
    let server = server();
    // PKCE mismatch.
    let code = standard_authorize(&server, TRANSFER_SCOPE, false);
    let (status, body) = exchange(
        &server,
        &code,
        "a-different-verifier-of-enough-length-000000000",
    );
    assert_oauth_error(status, &body, 400, "invalid_grant");
    // Wrong redirect_uri.
    let code = standard_authorize(&server, TRANSFER_SCOPE, false);
    let (status, body) = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:8765/other"),
            ("code_verifier", VERIFIER),
            ("client_id", NATIVE),
        ],
    );
    assert_oauth_error(status, &body, 400, "invalid_grant");
    // Another client's code.
    server.register_native_client("thief");
    let code = standard_authorize(&server, TRANSFER_SCOPE, false);
    let (status, body) = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "thief"),
        ],
    );
    assert_oauth_error(status, &body, 400, "invalid_grant");
    // ...which the rightful client can still redeem.
    let (status, body) = exchange(&server, &code, VERIFIER);
    assert_eq!(status, 200, "{body}");
    // Unknown code.
    let (status, body) = exchange(&server, "code-unknown", VERIFIER);
    assert_oauth_error(status, &body, 400, "invalid_grant");
    // Unknown grant type.
    let (status, body) = token(
        &server,
        None,
        &[("grant_type", "password"), ("client_id", NATIVE)],
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[test]
fn authorize_validation_and_consent_refusal() {
    let server = server();
    let challenge = pkce_challenge(VERIFIER);
    let good = [
        ("client_id", NATIVE),
        ("redirect_uri", REDIRECT),
        ("scope", TRANSFER_SCOPE),
        ("state", "abc"),
        ("response_type", "code"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (drop_or_change, value) in [
        ("client_id", Some("unknown")),
        ("response_type", Some("token")),
        ("code_challenge_method", Some("plain")),
        ("code_challenge", None),
        ("redirect_uri", None),
        ("scope", None),
    ] {
        let params: Vec<(&str, &str)> = good
            .iter()
            .filter_map(|&(k, v)| {
                if k == drop_or_change {
                    value.map(|value| (k, value))
                } else {
                    Some((k, v))
                }
            })
            .collect();
        let mut url = url::Url::parse(&server.authorize_url_base()).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        let response = agent().get(url.as_str()).call().unwrap();
        assert_eq!(response.status().as_u16(), 400, "{drop_or_change}");
        assert!(response.headers().get("location").is_none());
    }

    server.set_authorize_error(Some("access_denied"));
    let query = authorize(&server, &good);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("error"), Some("access_denied"));
    assert!(get("error_description").is_some());
    assert_eq!(get("state"), Some("abc"));
    assert_eq!(get("code"), None);
    server.set_authorize_error(None);
    let query = authorize(&server, &good);
    assert!(query.iter().any(|(k, _)| k == "code"));
}

#[test]
fn revoke_and_protected_resource() {
    let server = server();
    let agent = agent();
    let at = server.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    let protected = |token: Option<&str>| {
        let mut request = agent.get(server.protected_url());
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    };
    assert_eq!(protected(Some(&at)), (200, r#"{"ok":true}"#.to_owned()));
    assert_eq!(protected(None).0, 401);
    assert_eq!(protected(Some("AT-bogus")).0, 401);

    let (status, body) = post(
        &agent,
        &server.revoke_url(),
        None,
        &[("token", &at), ("client_id", NATIVE)],
    );
    assert_eq!((status, body), (200, serde_json::json!({"active": false})));
    assert!(!server.is_valid_access_token(&at));
    assert_eq!(protected(Some(&at)).0, 401);

    // Revoking a refresh token also revokes the access tokens of its grant.
    let rt = server.issue_refresh_token(CONFIDENTIAL, TRANSFER, TRANSFER_SCOPE);
    let auth = basic(CONFIDENTIAL, SECRET);
    let (_, body) = token(
        &server,
        Some(&auth),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    );
    let at2 = body["access_token"].as_str().unwrap().to_owned();
    let rt2 = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(server.is_valid_access_token(&at2));
    let (status, _) = post(
        &agent,
        &server.revoke_url(),
        Some(&auth),
        &[("token", &rt2)],
    );
    assert_eq!(status, 200);
    assert!(!server.is_valid_access_token(&at2));
    assert!(!server.is_valid_refresh_token(&rt2));
    let (status, body) = token(
        &server,
        Some(&auth),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    );
    assert_oauth_error(status, &body, 400, "invalid_grant");

    // Revoke requires client authentication, and revoking an unknown token is fine.
    let (status, body) = post(&agent, &server.revoke_url(), None, &[("token", "x")]);
    assert_oauth_error(status, &body, 401, "invalid_client");
    let (status, _) = post(
        &agent,
        &server.revoke_url(),
        None,
        &[("token", "never-issued"), ("client_id", NATIVE)],
    );
    assert_eq!(status, 200);

    assert_eq!(server.revoke_requests(), 4);
    assert_eq!(
        server.revoked_tokens(),
        [at, rt2, "never-issued".to_owned()]
    );

    // Direct revocation, and expiry.
    let at3 = server.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    server.revoke_token(&at3);
    assert!(!server.is_valid_access_token(&at3));
    server.set_expires_in(0);
    let expired = server.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    assert!(!server.is_valid_access_token(&expired));
}

#[test]
fn requests_are_recorded_and_unknown_paths_are_404() {
    let server = server();
    let agent = agent();
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let response = agent
        .post(server.token_url())
        .header("X-Custom", "Yes")
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", NATIVE),
        ])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = agent
        .get(format!("{}v2/nothing?a=1&b=x%20y", server.base_url()))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let response = agent.get(server.token_url()).call().unwrap();
    assert_eq!(response.status().as_u16(), 405);

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v2/oauth2/token");
    assert_eq!(requests[0].form_value("grant_type"), Some("refresh_token"));
    assert_eq!(requests[0].form_value("client_id"), Some(NATIVE));
    assert!(
        requests[0]
            .headers
            .iter()
            .any(|(k, v)| k == "x-custom" && v == "Yes")
    );
    assert!(
        requests[0]
            .headers
            .iter()
            .all(|(k, _)| *k == k.to_ascii_lowercase())
    );
    assert_eq!(requests[1].path, "/v2/nothing");
    assert_eq!(
        requests[1].query,
        [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "x y".to_owned())
        ]
    );
    assert_eq!(requests[1].query_value("b"), Some("x y"));
    assert_eq!(server.token_requests(), 1, "a GET is not a token request");
    server.clear_requests();
    assert_eq!(server.token_requests(), 0);
    assert!(server.requests().is_empty());
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert!(server.base_url().ends_with('/'));
    assert_eq!(
        server.authorize_url_base(),
        format!("{}v2/oauth2/authorize", server.base_url())
    );
}

#[test]
fn injected_status_failures() {
    let server = server();
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    server.fail_next([
        Failure::ServerError,
        Failure::TooManyRequests {
            retry_after_seconds: 7,
        },
        Failure::InvalidGrant,
    ]);
    assert_eq!(server.pending_failures(), 3);
    let (status, body) = refresh_native(&server, &rt);
    assert_eq!(status, 500, "{body}");
    let response = agent()
        .post(server.token_url())
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", NATIVE),
        ])
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let (status, body) = refresh_native(&server, &rt);
    assert_oauth_error(status, &body, 400, "invalid_grant");
    // The injected failures did not consume the refresh token.
    assert!(server.is_valid_refresh_token(&rt));
    let (status, _) = refresh_native(&server, &rt);
    assert_eq!(status, 200);
    assert_eq!(server.token_requests(), 4);
    assert_eq!(server.pending_failures(), 0);
}

fn raw_refresh(
    server: &FakeAuthServer,
    agent: &ureq::Agent,
    rt: &str,
) -> Result<(u16, String, String), ureq::Error> {
    let mut response = agent.post(server.token_url()).send_form([
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", NATIVE),
    ])?;
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.body_mut().read_to_string()?;
    Ok((status, content_type, body))
}

#[test]
fn injected_body_failures() {
    let server = server();
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let agent = agent();
    server.fail_next([Failure::TruncatedJson]);
    let (status, content_type, body) = raw_refresh(&server, &agent, &rt).unwrap();
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert!(body.starts_with("{\"access_token\""));
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");

    server.fail_next([Failure::WrongContentType]);
    let (status, content_type, body) = raw_refresh(&server, &agent, &rt).unwrap();
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    assert!(body.starts_with("<html>"));

    server.fail_next([Failure::TruncatedBody]);
    let error = raw_refresh(&server, &agent, &rt).expect_err("body shorter than Content-Length");
    eprintln!("TruncatedBody: {error}");

    assert!(server.is_valid_refresh_token(&rt));
    assert_eq!(server.token_requests(), 3);
}

#[test]
fn injected_connection_failures() {
    let server = server();
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let agent = agent();

    // ConnectionReset: an error, not a response.
    server.fail_next([Failure::ConnectionReset]);
    let error = raw_refresh(&server, &agent, &rt).expect_err("no response");
    eprintln!("ConnectionReset: {error}");
    assert!(!matches!(error, ureq::Error::StatusCode(_)));

    // Slow: late but normal.
    server.fail_next([Failure::Slow(Duration::from_millis(300))]);
    let started = Instant::now();
    let (status, _, _) = raw_refresh(&server, &agent, &rt).unwrap();
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // (that refresh rotated the token away)
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);

    // Hang with a short client timeout: the client times out...
    server.fail_next([Failure::Hang(Duration::from_secs(2))]);
    let impatient: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_millis(300)))
        .build()
        .into();
    let started = Instant::now();
    let error = raw_refresh(&server, &impatient, &rt).expect_err("timeout");
    eprintln!("Hang (client timeout): {error}");
    assert!(matches!(error, ureq::Error::Timeout(_)), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // ...and without one, gets a closed connection after the hang, while other requests
    // are served meanwhile.
    server.fail_next([Failure::Hang(Duration::from_secs(2))]);
    let hung = {
        let agent = agent.clone();
        let url = server.token_url();
        let rt = rt.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let result = agent.post(url).send_form([
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
                ("client_id", NATIVE),
            ]);
            (started.elapsed(), result.map(|r| r.status().as_u16()))
        })
    };
    while server.pending_failures() > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    let (status, _, _) = raw_refresh(&server, &agent, &rt).unwrap();
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_millis(1500));
    let (elapsed, result) = hung.join().unwrap();
    assert!(elapsed >= Duration::from_secs(2));
    let error = result.expect_err("hang closes without a response");
    eprintln!("Hang (closed): {error}");
}

#[test]
fn sixty_four_concurrent_requests_with_a_token_delay() {
    let server = Arc::new(server());
    server.set_token_delay(Duration::from_millis(300));
    let tokens: Vec<String> = (0..64)
        .map(|_| server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE))
        .collect();
    let barrier = Arc::new(Barrier::new(64));
    let started = Instant::now();
    let threads: Vec<_> = tokens
        .into_iter()
        .map(|rt| {
            let server = Arc::clone(&server);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let (status, body) = refresh_native(&server, &rt);
                assert_eq!(status, 200, "{body}");
                body["access_token"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut access_tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let elapsed = started.elapsed();
    access_tokens.sort();
    access_tokens.dedup();
    assert_eq!(access_tokens.len(), 64);
    assert_eq!(server.token_requests(), 64);
    // Served concurrently, not one after another.
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn same_refresh_token_raced_by_many_threads_succeeds_once() {
    let server = Arc::new(server());
    server.set_token_delay(Duration::from_millis(100));
    let rt = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let barrier = Arc::new(Barrier::new(16));
    let statuses: Vec<u16> = (0..16)
        .map(|_| {
            let server = Arc::clone(&server);
            let barrier = Arc::clone(&barrier);
            let rt = rt.clone();
            std::thread::spawn(move || {
                barrier.wait();
                refresh_native(&server, &rt).0
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 400).count(),
        15,
        "{statuses:?}"
    );
}

#[test]
fn dropping_the_server_stops_it() {
    let server = server();
    let addr = server.addr();
    std::net::TcpStream::connect(addr).expect("listening");
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening after drop"
    );
}

#[test]
fn servers_issue_distinct_tokens() {
    let a = FakeAuthServer::start();
    let b = FakeAuthServer::start();
    let ta = a.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    let tb = b.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    assert_ne!(ta, tb);
    assert!(a.is_valid_access_token(&ta));
    assert!(!a.is_valid_access_token(&tb));
    assert_ne!(a.base_url(), b.base_url());
}
