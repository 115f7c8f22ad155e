//! `IdTokenDecoder` against the fake Globus Auth over real HTTP: tokens from a real code flow
//! and tokens the fake signs on request, verified against its discovery document and keys.
#![cfg(feature = "id-token")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use globus_authorizers::{
    AuthClient, AuthError, AuthorizeParams, IdTokenDecoder, IdTokenError, PkceVerifier, RetryPolicy,
};
use globus_tokens_core::{Clock, ManualClock, Secret, SystemClock, TokenResponse};
use globus_tokens_testkit::fake_auth::{
    Failure, FakeAuthServer, IDENTITY_EMAIL, IDENTITY_ID, IDENTITY_NAME, IDENTITY_USERNAME,
    IdTokenFault, SIGNING_KEY_IDS,
};
use serde_json::json;

const CLIENT: &str = "native-client-id";
const REDIRECT: &str = "http://localhost:8123/callback";
const CONFIG_PATH: &str = "/.well-known/openid-configuration";
const JWKS_PATH: &str = "/jwk.json";

struct Setup {
    server: FakeAuthServer,
    clock: Arc<ManualClock>,
    client: AuthClient,
}

fn setup() -> Setup {
    let server = FakeAuthServer::start();
    server.register_native_client(CLIENT);
    let clock = Arc::new(ManualClock::new(SystemClock.now_seconds()));
    let client = AuthClient::builder(CLIENT)
        .base_url(server.base_url())
        .clock(clock.clone())
        .retry(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        })
        .backoff_random(|| 0.0)
        .build()
        .unwrap();
    Setup {
        server,
        clock,
        client,
    }
}

impl Setup {
    fn decoder(&self) -> IdTokenDecoder {
        IdTokenDecoder::new(self.client.clone())
    }

    /// A full login (authorize in a "browser", exchange the code) for `scopes`.
    fn login(&self, scopes: &str) -> TokenResponse {
        let verifier = PkceVerifier::generate().unwrap();
        let url = self.client.oauth2_get_authorize_url(
            &AuthorizeParams::new(scopes, &verifier).redirect_uri(REDIRECT),
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let reply = agent.get(&url).call().unwrap();
        assert_eq!(reply.status().as_u16(), 302);
        let location = url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        self.client
            .oauth2_exchange_code_for_tokens(&Secret::new(code), REDIRECT, Some(&verifier))
            .unwrap()
    }

    fn login_id_token(&self) -> Secret {
        self.login("openid profile email")
            .id_token_secret()
            .expect("an id_token")
            .clone()
    }

    fn fetches(&self) -> (usize, usize) {
        (
            self.server.requests_to(CONFIG_PATH),
            self.server.requests_to(JWKS_PATH),
        )
    }
}

/// Everything a failed decode shows must leave the token out, whole and in parts.
fn assert_hidden(token: &Secret, shown: &str) {
    for part in token.expose().split('.').filter(|p| p.len() > 8) {
        assert!(!shown.contains(part), "token part shown: {shown}");
    }
}

#[test]
fn a_token_from_a_login_decodes_to_typed_claims() {
    let s = setup();
    let response =
        s.login("openid profile email urn:globus:auth:scope:transfer.api.globus.org:all");
    let decoder = s.decoder();
    let claims = decoder.decode_response(&response).unwrap().expect("claims");
    assert_eq!(claims.sub, IDENTITY_ID);
    assert_eq!(
        claims.preferred_username.as_deref(),
        Some(IDENTITY_USERNAME)
    );
    assert_eq!(claims.email.as_deref(), Some(IDENTITY_EMAIL));
    assert_eq!(claims.name.as_deref(), Some(IDENTITY_NAME));
    assert_eq!(claims.issuer, s.server.issuer());
    assert_eq!(claims.audience, [CLIENT]);
    assert_eq!(claims.identity_set.len(), 1);
    assert_eq!(claims.identity_set[0].sub, IDENTITY_ID);
    assert_eq!(
        claims.identity_set[0].username.as_deref(),
        Some(IDENTITY_USERNAME)
    );
    assert_eq!(claims.get("organization"), Some(&json!("Globus Test")));
    assert_eq!(
        response.identity_id().as_deref(),
        Some(claims.sub.as_str()),
        "the unverified label agrees"
    );
    assert_eq!(decoder.audience(), CLIENT);
    assert_eq!(
        decoder.leeway(),
        Duration::from_secs(300),
        "globus-sdk's default"
    );

    // A response without an id_token has no claims, and that is not an error.
    let refresh = TokenResponse::from_json(
        br#"{"access_token": "AT", "scope": "s",
        "expires_in": 60, "resource_server": "rs", "other_tokens": []}"#,
    )
    .unwrap();
    assert_eq!(decoder.decode_response(&refresh).unwrap(), None);
}

#[test]
fn expiry_and_issue_time_honour_the_leeway_on_the_injected_clock() {
    let s = setup();
    s.server.set_id_token_lifetime(Some(3_600));
    let token = s.login_id_token();
    let decoder = s.decoder();
    let claims = decoder.decode(&token).unwrap();
    let (iat, exp) = (claims.issued_at.unwrap(), claims.expires_at);
    assert_eq!(exp - iat, 3_600);

    s.clock.set(exp + 299);
    assert!(decoder.decode(&token).is_ok(), "within the 300 s leeway");
    s.clock.set(exp + 300);
    let err = decoder.decode(&token).unwrap_err();
    assert!(
        matches!(err, IdTokenError::Expired { expires_at, now, leeway_seconds: 300 }
            if expires_at == exp && now == exp + 300),
        "{err:?}"
    );
    assert!(!err.is_temporary());
    assert_hidden(&token, &format!("{err} {err:?}"));

    // A smaller leeway rejects sooner.
    let strict = s.decoder().with_leeway(Duration::from_secs(10));
    s.clock.set(exp + 10);
    assert!(matches!(
        strict.decode(&token),
        Err(IdTokenError::Expired { .. })
    ));

    // A clock far behind the issuer: issued in the future.
    s.clock.set(iat - 300);
    assert!(decoder.decode(&token).is_ok());
    s.clock.set(iat - 301);
    assert!(matches!(
        decoder.decode(&token),
        Err(IdTokenError::NotYetValid { claim: "iat", .. })
    ));

    // An already-expired token from the server.
    s.clock.set(SystemClock.now_seconds());
    s.server.set_id_token_lifetime(Some(-400));
    let expired = s.login_id_token();
    assert!(matches!(
        decoder.decode(&expired),
        Err(IdTokenError::Expired { .. })
    ));
    s.server.set_id_token_lifetime(None);
    let nbf = s
        .server
        .id_token(CLIENT)
        .not_before(s.clock.now_seconds() + 1_000)
        .sign();
    assert!(matches!(
        decoder.decode(&Secret::new(nbf)),
        Err(IdTokenError::NotYetValid { claim: "nbf", .. })
    ));
}

#[test]
fn forged_tokens_are_refused_without_refetching_the_keys() {
    let s = setup();
    let decoder = s.decoder();
    decoder.decode(&s.login_id_token()).unwrap();
    s.server.set_id_token_fault(Some(IdTokenFault::Forged));
    let forged = s.login_id_token();
    let (result, events) = common::record(|| decoder.decode(&forged));
    let err = result.unwrap_err();
    assert!(
        matches!(&err, IdTokenError::InvalidSignature { jwks_uri } if *jwks_uri == s.server.jwks_url()),
        "{err:?}"
    );
    assert_eq!(s.fetches(), (1, 1), "the kid is known: no refetch");
    assert_hidden(&forged, &format!("{err} {err:?}"));
    for event in events {
        assert_hidden(&forged, &event.text());
    }

    // A signature altered by one character.
    s.server.set_id_token_fault(None);
    let good = s.login_id_token();
    // (Not the last character: its low bits are padding, and base64 refuses them set.)
    let mut altered: Vec<char> = good.expose().chars().collect();
    let at = altered.len() - 10;
    altered[at] = if altered[at] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    assert!(matches!(
        decoder.decode(&Secret::new(altered)),
        Err(IdTokenError::InvalidSignature { .. })
    ));
    // A payload swapped under a valid signature.
    let parts: Vec<&str> = good.expose().split('.').collect();
    let other = s
        .server
        .id_token(CLIENT)
        .claim("sub", "someone-else")
        .sign();
    let spliced = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert!(matches!(
        decoder.decode(&Secret::new(spliced)),
        Err(IdTokenError::InvalidSignature { .. })
    ));
}

#[test]
fn audience_and_issuer_must_be_this_client_and_the_documents_issuer() {
    let s = setup();
    let decoder = s.decoder();
    s.server
        .set_id_token_fault(Some(IdTokenFault::WrongAudience("other-client".into())));
    let err = decoder.decode(&s.login_id_token()).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::WrongAudience { expected, found }
            if expected == CLIENT && found == &["other-client".to_owned()]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the id_token is for [\"other-client\"], not for this client \"native-client-id\""
    );
    // The same token is fine for a decoder told to expect that audience.
    let token = s.login_id_token();
    let other = s.decoder().with_audience("other-client");
    assert_eq!(other.decode(&token).unwrap().audience, ["other-client"]);

    s.server.set_id_token_fault(Some(IdTokenFault::WrongIssuer(
        "https://evil.example.org".into(),
    )));
    let err = decoder.decode(&s.login_id_token()).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::WrongIssuer { expected, found }
            if *expected == s.server.issuer() && found == "https://evil.example.org"),
        "{err:?}"
    );

    // The issuer is the discovery document's, whatever it is.
    s.server.set_id_token_fault(None);
    s.server.set_issuer(Some("https://auth.globus.org"));
    let fresh = s.decoder();
    let claims = fresh.decode(&s.login_id_token()).unwrap();
    assert_eq!(claims.issuer, "https://auth.globus.org");
}

#[test]
fn only_algorithms_the_document_lists_and_only_public_key_ones() {
    let s = setup();
    let decoder = s.decoder();
    s.server
        .set_id_token_fault(Some(IdTokenFault::Algorithm("RS256".into())));
    let rs256 = s.login_id_token();
    let err = decoder.decode(&rs256).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::UnsupportedAlgorithm { algorithm, accepted }
            if algorithm == "RS256" && accepted == &["RS512".to_owned()]),
        "{err:?}"
    );
    assert_eq!(s.fetches(), (1, 0), "refused before fetching keys");

    // Listed by the document (and the key does not pin RS512): accepted.
    s.server
        .set_id_token_signing_algs(&["RS512", "RS256", "HS256", "none"]);
    let listed = s.decoder();
    s.server.set_key_ids(false);
    let unpinned = s.server.id_token(CLIENT).algorithm("RS256").sign();
    // The published key says alg RS512, so an RS256 token has no key that fits.
    assert!(matches!(
        listed.decode(&Secret::new(unpinned)),
        Err(IdTokenError::UnknownKey { .. })
    ));
    s.server.set_key_ids(true);
    // With a key that does not pin its algorithm, a listed RS256 token verifies.
    let mut jwks = s.client.get_jwks(None).unwrap().raw().clone();
    jwks["keys"][0].as_object_mut().unwrap().remove("alg");
    listed.store_jwks(globus_authorizers::JwkSet::from_value(jwks).unwrap());
    let rs256 = s.server.id_token(CLIENT).algorithm("RS256").sign();
    assert_eq!(listed.decode(&Secret::new(rs256)).unwrap().sub, IDENTITY_ID);

    // HMAC keyed with the public modulus (algorithm confusion) and unsigned tokens: refused
    // even though the document lists them.
    for alg in ["HS256", "none"] {
        let token = s.server.id_token(CLIENT).algorithm(alg).sign();
        let err = listed.decode(&Secret::new(token)).unwrap_err();
        assert!(
            matches!(&err, IdTokenError::UnsupportedAlgorithm { algorithm, accepted }
                if algorithm == alg && accepted == &["RS512".to_owned(), "RS256".to_owned()]),
            "{alg}: {err:?}"
        );
    }
}

#[test]
fn an_unknown_kid_refetches_the_key_set_once() {
    let s = setup();
    let decoder = s.decoder();
    decoder.decode(&s.login_id_token()).unwrap();
    assert_eq!(s.fetches(), (1, 1));

    s.server.rotate_signing_key();
    let rotated = s.login_id_token();
    let (result, events) = common::record(|| decoder.decode(&rotated));
    assert_eq!(result.unwrap().sub, IDENTITY_ID);
    assert_eq!(
        s.fetches(),
        (1, 2),
        "the key set was fetched again exactly once"
    );
    assert!(
        events
            .iter()
            .any(|e| e.message().contains("fetching the JWK set again")
                && e.field("kid") == Some(SIGNING_KEY_IDS[1]))
    );
    for _ in 0..5 {
        decoder.decode(&rotated).unwrap();
    }
    assert_eq!(s.fetches(), (1, 2), "the new set is cached");

    // A token whose key is gone: one refetch for it, then a typed error; no loop.
    s.server.rotate_signing_key();
    s.server.rotate_signing_key();
    let old = s.server.id_token(CLIENT).kid(Some("retired-key")).sign();
    let err = decoder.decode(&Secret::new(old.clone())).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::UnknownKey { kid: Some(kid), jwks_uri }
            if kid == "retired-key" && *jwks_uri == s.server.jwks_url()),
        "{err:?}"
    );
    assert_eq!(s.fetches(), (1, 3));
    assert!(decoder.decode(&Secret::new(old)).is_err());
    assert_eq!(
        s.fetches(),
        (1, 4),
        "each such token costs one fetch, no more"
    );
}

#[test]
fn without_key_ids_a_rotated_key_is_found_by_refetching_once() {
    let s = setup();
    s.server.set_key_ids(false);
    let decoder = s.decoder();
    decoder.decode(&s.login_id_token()).unwrap();
    s.server.rotate_signing_key();
    let rotated = s.login_id_token();
    assert_eq!(decoder.decode(&rotated).unwrap().sub, IDENTITY_ID);
    assert_eq!(s.fetches(), (1, 2));

    s.server.set_id_token_fault(Some(IdTokenFault::Forged));
    let forged = s.login_id_token();
    assert!(matches!(
        decoder.decode(&forged),
        Err(IdTokenError::InvalidSignature { .. })
    ));
    assert_eq!(s.fetches(), (1, 3), "one refetch, then refused");
}

#[test]
fn many_threads_many_decodes_one_fetch_of_each() {
    let s = setup();
    let token = s.login_id_token();
    let decoder = Arc::new(s.decoder());
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (decoder, token, barrier) = (decoder.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..10 {
                    assert_eq!(decoder.decode(&token).unwrap().sub, IDENTITY_ID);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(s.fetches(), (1, 1));

    // After a rotation, concurrent decoders of the new token refetch once between them.
    s.server.rotate_signing_key();
    let rotated = s.login_id_token();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (decoder, token, barrier) = (decoder.clone(), rotated.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                decoder.decode(&token).unwrap();
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(s.fetches(), (1, 2));
}

#[test]
fn broken_discovery_and_keys_are_fetch_errors_naming_url_and_status() {
    let s = setup();
    let token = s.login_id_token();
    let decoder = s.decoder();

    s.server.fail_next_path(
        CONFIG_PATH,
        [Failure::JsonBody {
            status: 200,
            body: json!({"issuer": "x", "id_token_signing_alg_values_supported": ["RS512"]}),
        }],
    );
    let err = decoder.decode(&token).unwrap_err();
    match &err {
        IdTokenError::Fetch {
            what: "OpenID configuration",
            source:
                AuthError::InvalidResponse {
                    endpoint,
                    status: 200,
                    reason,
                },
        } => {
            assert_eq!(*endpoint, s.server.openid_configuration_url());
            assert!(reason.contains("jwks_uri is missing"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_temporary());
    assert!(
        err.to_string()
            .contains(&s.server.openid_configuration_url()),
        "{err}"
    );

    // Nothing bad was cached: the next decode fetches again. Now the key set is broken.
    s.server.fail_next_path(JWKS_PATH, [Failure::Garbage]);
    let err = decoder.decode(&token).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::Fetch { what: "JWK set", source: AuthError::InvalidResponse { endpoint, .. } }
            if *endpoint == s.server.jwks_url()),
        "{err:?}"
    );
    // A set whose key cannot be used: fetched again once, then refused.
    let broken = Failure::JsonBody {
        status: 200,
        body: json!({"keys": [{"kty": "RSA", "kid": SIGNING_KEY_IDS[0], "n": "AQAB"}]}),
    };
    s.server.fail_next_path(JWKS_PATH, vec![broken; 2]);
    s.server.clear_requests();
    let err = decoder.decode(&token).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::InvalidKey { kid: Some(kid), reason }
            if kid == SIGNING_KEY_IDS[0] && reason == "e is missing or not a string"),
        "{err:?}"
    );
    assert_eq!(s.fetches(), (0, 2));
    assert!(
        decoder.decode(&token).is_ok(),
        "the next token's refetch mends the set"
    );

    // Server errors: retried, then reported once retries are exhausted.
    s.server
        .fail_next_path(JWKS_PATH, vec![Failure::ServerError; 3]);
    let fresh = s.decoder();
    let err = fresh.decode(&token).unwrap_err();
    match &err {
        IdTokenError::Fetch {
            what: "JWK set",
            source: AuthError::RetriesExhausted { last, .. },
        } => {
            assert!(
                matches!(&**last, AuthError::Api { endpoint, status: 500, .. } if *endpoint == s.server.jwks_url()),
                "{last:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let single = IdTokenDecoder::new(
        AuthClient::builder(CLIENT)
            .base_url(s.server.base_url())
            .retry(RetryPolicy::none())
            .build()
            .unwrap(),
    );
    s.server.fail_next_path(CONFIG_PATH, [Failure::ServerError]);
    let err = single.decode(&token).unwrap_err();
    assert!(err.is_temporary(), "a 500 may pass: {err:?}");
    assert!(single.decode(&token).is_ok());
}

#[test]
fn malformed_tokens_are_typed_errors() {
    let s = setup();
    let decoder = s.decoder();
    s.server.set_id_token_fault(Some(IdTokenFault::Malformed));
    let err = decoder.decode(&s.login_id_token()).unwrap_err();
    assert!(
        matches!(&err, IdTokenError::Malformed { reason } if reason == "the payload is not JSON"),
        "{err:?}"
    );
    for junk in ["", "abc", "a.b.c", "....", "eyJhbGciOiJSUzUxMiJ9.e30"] {
        assert!(
            matches!(
                decoder.decode(&Secret::new(junk)),
                Err(IdTokenError::Malformed { .. })
            ),
            "{junk:?}"
        );
    }
    assert_eq!(
        s.fetches(),
        (0, 0),
        "nothing fetched for tokens that are not JWTs"
    );
    // A signed token without sub is refused, not decoded to "no identity".
    let no_sub = s.server.id_token(CLIENT).without_claim("sub").sign();
    assert!(matches!(
        decoder.decode(&Secret::new(no_sub)),
        Err(IdTokenError::MissingClaim { claim: "sub" })
    ));
}

#[test]
fn stored_documents_are_used_without_fetching() {
    let s = setup();
    let config = s.client.get_openid_configuration().unwrap();
    let jwks = s.client.get_jwks(Some(&config)).unwrap();
    s.server.clear_requests();
    let decoder = s.decoder();
    decoder.store_openid_configuration(config);
    decoder.store_jwks(jwks);
    decoder.decode(&s.login_id_token()).unwrap();
    assert_eq!(s.fetches(), (0, 0));
    assert_eq!(decoder.jwks().unwrap().keys.len(), 1);
}

#[test]
fn the_token_never_shows_in_debug_output_errors_or_events() {
    let s = setup();
    let response = s.login("openid profile email");
    let token = response.id_token_secret().unwrap().clone();
    assert_hidden(&token, &format!("{response:?}"));
    assert_hidden(&token, &format!("{token:?}"));
    let decoder = s.decoder();
    let (claims, events) = common::record(|| decoder.decode(&token).unwrap());
    assert_hidden(&token, &format!("{claims:?} {decoder:?}"));
    for event in &events {
        assert_hidden(&token, &event.text());
    }
    let mut errors = Vec::new();
    s.clock.set(claims.expires_at + 1_000);
    errors.push(decoder.decode(&token).unwrap_err());
    s.clock.set(SystemClock.now_seconds());
    let parts: Vec<&str> = token.expose().split('.').collect();
    for bad in [
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}x", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], &parts[1][1..], parts[2]),
    ] {
        errors.push(decoder.decode(&Secret::new(bad)).unwrap_err());
    }
    for err in errors {
        assert_hidden(&token, &format!("{err} {err:?}"));
    }
}
