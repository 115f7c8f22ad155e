//! The fake's OpenID Connect endpoints and signed id_tokens, over real HTTP, checked with an
//! independent JWT verifier (jsonwebtoken).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use globus_tokens_testkit::fake_auth::{
    Failure, FakeAuthServer, IDENTITY_EMAIL, IDENTITY_ID, IDENTITY_USERNAME, IdTokenFault,
    SIGNING_KEY_IDS, pkce_challenge,
};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

const CLIENT: &str = "native-client-id";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";
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
    server.register_native_client(CLIENT);
    server
}

fn get(url: &str) -> (u16, String, Value) {
    let mut response = agent().get(url).call().expect("HTTP exchange");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.body_mut().read_to_string().expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, content_type, body)
}

/// The id_token of a full code flow for `scope`.
fn login_id_token(server: &FakeAuthServer, scope: &str) -> String {
    let mut url = url::Url::parse(&server.authorize_url_base()).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("response_type", "code"),
        ("code_challenge", &pkce_challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]);
    let response = agent().get(url.as_str()).call().unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let mut response = agent()
        .post(&server.token_url())
        .send_form([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT),
        ])
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    body["id_token"].as_str().expect("id_token").to_owned()
}

fn jwks(server: &FakeAuthServer) -> JwkSet {
    let (status, _, body) = get(&server.jwks_url());
    assert_eq!(status, 200);
    serde_json::from_value(body).expect("a JWK set")
}

fn part(token: &str, index: usize) -> Value {
    let text = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

/// Verify with jsonwebtoken against the published key set (RS512, aud = CLIENT, iss).
fn verify(server: &FakeAuthServer, token: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    let set = jwks(server);
    let key = DecodingKey::from_jwk(&set.keys[0]).unwrap();
    let mut validation = Validation::new(Algorithm::RS512);
    validation.set_audience(&[CLIENT]);
    validation.set_issuer(&[server.issuer()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|data| data.claims)
}

#[test]
fn discovery_document_has_globus_auths_shape() {
    let server = server();
    let (status, content_type, config) = get(&server.openid_configuration_url());
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/json"));
    let base = server.base_url();
    assert_eq!(config["issuer"], base.trim_end_matches('/'));
    assert_eq!(config["issuer"], server.issuer());
    assert_eq!(config["jwks_uri"], server.jwks_url());
    assert_eq!(config["token_endpoint"], server.token_url());
    assert_eq!(config["revocation_endpoint"], server.revoke_url());
    assert_eq!(
        config["authorization_endpoint"],
        server.authorize_url_base()
    );
    assert_eq!(
        config["id_token_signing_alg_values_supported"],
        json!(["RS512"])
    );
    assert_eq!(
        config["scopes_supported"],
        json!(["openid", "email", "profile"])
    );
    assert_eq!(config["subject_types_supported"], json!(["public"]));

    server.set_issuer(Some("https://auth.globus.org"));
    server.set_id_token_signing_algs(&["RS256", "RS512"]);
    let (_, _, config) = get(&server.openid_configuration_url());
    assert_eq!(config["issuer"], "https://auth.globus.org");
    assert_eq!(
        config["id_token_signing_alg_values_supported"],
        json!(["RS256", "RS512"])
    );
    server.set_issuer(None);
    assert_eq!(server.issuer(), base.trim_end_matches('/'));

    let mut response = agent()
        .post(&server.jwks_url())
        .send_form([("a", "b")])
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let _ = response.body_mut().read_to_string();
}

#[test]
fn key_set_publishes_the_current_rsa_key() {
    let server = server();
    let (_, _, body) = get(&server.jwks_url());
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS512");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], SIGNING_KEY_IDS[0]);
    assert_eq!(key["e"], "AQAB");
    let modulus = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    assert_eq!(modulus.len(), 256, "RSA-2048");
    assert_eq!(server.signing_key_id(), SIGNING_KEY_IDS[0]);
}

#[test]
fn code_flow_id_token_is_a_signed_jwt_with_globus_claims() {
    let server = server();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = login_id_token(&server, "openid profile email");
    assert_eq!(
        part(&token, 0),
        json!({"typ": "JWT", "alg": "RS512", "kid": SIGNING_KEY_IDS[0]})
    );
    let claims = verify(&server, &token).expect("verifies with the published key");
    assert_eq!(claims["sub"], IDENTITY_ID);
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["iss"], server.issuer());
    assert_eq!(claims["preferred_username"], IDENTITY_USERNAME);
    assert_eq!(claims["email"], IDENTITY_EMAIL);
    assert_eq!(claims["name"], "Test User");
    let iat = claims["iat"].as_i64().unwrap();
    assert!(iat >= before && iat <= before + 60);
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 172_800);
    let identity_set = claims["identity_set"].as_array().unwrap();
    assert_eq!(identity_set.len(), 1);
    assert_eq!(identity_set[0]["sub"], IDENTITY_ID);
    assert_eq!(identity_set[0]["username"], IDENTITY_USERNAME);

    // Without profile and email, the token carries no name, username or email.
    let token = login_id_token(&server, "openid");
    let claims = verify(&server, &token).unwrap();
    for absent in ["name", "preferred_username", "email"] {
        assert!(claims.get(absent).is_none(), "{absent}: {claims}");
    }
    assert_eq!(claims["sub"], IDENTITY_ID);
}

#[test]
fn rotation_publishes_the_other_key_and_old_tokens_stop_verifying() {
    let server = server();
    let old = login_id_token(&server, "openid");
    let old_modulus = get(&server.jwks_url()).2["keys"][0]["n"].clone();
    server.rotate_signing_key();
    assert_eq!(server.signing_key_id(), SIGNING_KEY_IDS[1]);
    let (_, _, body) = get(&server.jwks_url());
    assert_eq!(body["keys"].as_array().unwrap().len(), 1);
    assert_eq!(body["keys"][0]["kid"], SIGNING_KEY_IDS[1]);
    assert_ne!(body["keys"][0]["n"], old_modulus);
    let new = login_id_token(&server, "openid");
    assert_eq!(part(&new, 0)["kid"], SIGNING_KEY_IDS[1]);
    assert!(verify(&server, &new).is_ok());
    assert_eq!(
        verify(&server, &old).unwrap_err().kind(),
        &jsonwebtoken::errors::ErrorKind::InvalidSignature
    );
    server.rotate_signing_key();
    assert_eq!(get(&server.jwks_url()).2["keys"][0]["n"], old_modulus);
}

#[test]
fn key_ids_can_be_left_out_as_globus_auth_does() {
    let server = server();
    server.set_key_ids(false);
    let (_, _, body) = get(&server.jwks_url());
    assert!(body["keys"][0].get("kid").is_none());
    let token = login_id_token(&server, "openid");
    assert_eq!(part(&token, 0), json!({"typ": "JWT", "alg": "RS512"}));
    assert!(verify(&server, &token).is_ok());
}

#[test]
fn faults_spoil_issued_tokens_until_cleared() {
    use jsonwebtoken::errors::ErrorKind;
    let server = server();

    server.set_id_token_fault(Some(IdTokenFault::Forged));
    let forged = login_id_token(&server, "openid");
    assert_eq!(
        part(&forged, 0)["kid"],
        SIGNING_KEY_IDS[0],
        "claims the published key"
    );
    assert_eq!(
        verify(&server, &forged).unwrap_err().kind(),
        &ErrorKind::InvalidSignature
    );

    server.set_id_token_fault(Some(IdTokenFault::WrongAudience("someone-else".into())));
    let token = login_id_token(&server, "openid");
    assert_eq!(part(&token, 1)["aud"], "someone-else");
    assert_eq!(
        verify(&server, &token).unwrap_err().kind(),
        &ErrorKind::InvalidAudience
    );

    server.set_id_token_fault(Some(IdTokenFault::WrongIssuer(
        "https://evil.example".into(),
    )));
    let token = login_id_token(&server, "openid");
    assert_eq!(
        verify(&server, &token).unwrap_err().kind(),
        &ErrorKind::InvalidIssuer
    );

    server.set_id_token_fault(Some(IdTokenFault::Algorithm("RS256".into())));
    let token = login_id_token(&server, "openid");
    assert_eq!(part(&token, 0)["alg"], "RS256");
    assert_eq!(
        verify(&server, &token).unwrap_err().kind(),
        &ErrorKind::InvalidAlgorithm
    );

    server.set_id_token_fault(Some(IdTokenFault::Malformed));
    let token = login_id_token(&server, "openid");
    assert_eq!(token.split('.').count(), 3);
    assert!(verify(&server, &token).is_err());

    server.set_id_token_fault(None);
    server.set_id_token_lifetime(Some(-10));
    let expired = login_id_token(&server, "openid");
    let claims = part(&expired, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        -10
    );
    server.set_id_token_lifetime(Some(60));
    let token = login_id_token(&server, "openid");
    assert!(verify(&server, &token).is_ok());
    let claims = part(&token, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
}

#[test]
fn builder_signs_what_a_test_asks_for() {
    let server = server();
    let token = server
        .id_token(CLIENT)
        .issued_at(1_000)
        .expires_at(2_000)
        .not_before(900)
        .claim("extra", json!({"a": 1}))
        .without_claim("email")
        .sign();
    let claims = part(&token, 1);
    assert_eq!(
        (claims["iat"].as_i64(), claims["exp"].as_i64()),
        (Some(1_000), Some(2_000))
    );
    assert_eq!(claims["nbf"], 900);
    assert_eq!(claims["extra"], json!({"a": 1}));
    assert!(claims.get("email").is_none());
    assert_eq!(claims["preferred_username"], IDENTITY_USERNAME);
    // Signed with the current key: only the time claims fail.
    let set = jwks(&server);
    let key = DecodingKey::from_jwk(&set.keys[0]).unwrap();
    let mut lax = Validation::new(Algorithm::RS512);
    lax.validate_exp = false;
    lax.set_audience(&[CLIENT]);
    assert!(jsonwebtoken::decode::<Value>(&token, &key, &lax).is_ok());

    let hs = server.id_token(CLIENT).algorithm("HS256").sign();
    assert_eq!(part(&hs, 0)["alg"], "HS256");
    let none = server.id_token(CLIENT).algorithm("none").kid(None).sign();
    assert_eq!(part(&none, 0), json!({"typ": "JWT", "alg": "none"}));
    assert!(none.ends_with('.'), "unsigned");
    let ps = server.id_token(CLIENT).algorithm("PS512").sign();
    let mut pss = Validation::new(Algorithm::PS512);
    pss.set_audience(&[CLIENT]);
    assert!(jsonwebtoken::decode::<Value>(&ps, &key, &pss).is_ok());
}

#[test]
fn path_failures_and_request_counts() {
    let server = server();
    server.fail_next_path(
        "/jwk.json",
        [
            Failure::ServerError,
            Failure::JsonBody {
                status: 200,
                body: json!({"keys": "nope"}),
            },
        ],
    );
    let (status, _, _) = get(&server.jwks_url());
    assert_eq!(status, 500);
    let (status, _, body) = get(&server.jwks_url());
    assert_eq!((status, body), (200, json!({"keys": "nope"})));
    let (status, _, body) = get(&server.jwks_url());
    assert_eq!(status, 200);
    assert!(body["keys"].is_array());
    assert_eq!(server.requests_to("/jwk.json"), 3);
    assert_eq!(server.requests_to("/.well-known/openid-configuration"), 0);
    server.fail_next_path("/.well-known/openid-configuration", [Failure::Garbage]);
    let (status, _, body) = get(&server.openid_configuration_url());
    assert_eq!((status, body), (200, Value::Null), "not JSON");
}
