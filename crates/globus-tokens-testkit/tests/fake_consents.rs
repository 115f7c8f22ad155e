//! The fake's consents: recorded by the authorize endpoint (dependent scopes included) and
//! listed by `GET /v2/api/identities/{id}/consents`, over real HTTP.

use std::time::Duration;

use globus_tokens_testkit::fake_auth::{
    AUTH_RESOURCE_SERVER, FakeAuthServer, IDENTITY_ID, VIEW_CONSENTS_SCOPE, pkce_challenge,
};
use serde_json::Value;

const CLIENT: &str = "native-client-id";
const OTHER_CLIENT: &str = "other-client-id";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";
const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const COLLECTION_A: &str = "https://auth.globus.org/scopes/aaaa/data_access";
const COLLECTION_B: &str = "https://auth.globus.org/scopes/bbbb/data_access";

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
    server.register_native_client(OTHER_CLIENT);
    server
}

/// Approve an authorize request for `scope` and redeem the code; the token response.
fn login(server: &FakeAuthServer, client: &str, scope: &str) -> Value {
    let mut url = url::Url::parse(&server.authorize_url_base()).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", client),
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
            ("client_id", client),
        ])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

fn consents(
    server: &FakeAuthServer,
    identity: &str,
    token: Option<&str>,
    all: Option<&str>,
) -> (u16, Value) {
    let mut url = server.consents_url(identity);
    if let Some(all) = all {
        url = format!("{url}?all={all}");
    }
    let mut request = agent().get(&url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let body = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    (status, body)
}

fn scope_names(body: &Value) -> Vec<String> {
    body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["scope_name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn approving_an_authorize_request_records_consent_trees() {
    let server = server();
    let scope = format!("openid {TRANSFER}[{COLLECTION_A} *{COLLECTION_B}]");
    let response = login(&server, CLIENT, &scope);
    // Tokens name the top-level scopes only.
    let transfer = &response["other_tokens"][0];
    assert_eq!(transfer["scope"], TRANSFER);
    let auth_token = response["access_token"].as_str().unwrap();
    assert_eq!(response["resource_server"], AUTH_RESOURCE_SERVER);

    let (status, body) = consents(&server, IDENTITY_ID, Some(auth_token), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        scope_names(&body),
        ["openid", TRANSFER, COLLECTION_A, COLLECTION_B]
    );
    let list = body["consents"].as_array().unwrap();
    let ids: Vec<u64> = list.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert_eq!(list[0]["dependency_path"], serde_json::json!([ids[0]]));
    assert_eq!(list[1]["dependency_path"], serde_json::json!([ids[1]]));
    assert_eq!(
        list[2]["dependency_path"],
        serde_json::json!([ids[1], ids[2]])
    );
    assert_eq!(
        list[3]["dependency_path"],
        serde_json::json!([ids[1], ids[3]])
    );
    assert_eq!(list[1]["client"], CLIENT);
    assert_eq!(
        list[2]["client"], "transfer.api.globus.org",
        "the parent's resource server"
    );
    for consent in list {
        for field in [
            "id",
            "scope",
            "scope_name",
            "dependency_path",
            "effective_identity",
            "client",
            "status",
            "allows_refresh",
            "auto_approved",
            "atomically_revocable",
            "created",
            "updated",
            "last_used",
        ] {
            assert!(consent.get(field).is_some(), "{field} missing in {consent}");
        }
        assert_eq!(consent["effective_identity"], IDENTITY_ID);
        assert_eq!(consent["status"], "approved");
        assert!(consent["created"].as_str().unwrap().ends_with("+00:00"));
        assert_eq!(consent["scope"].as_str().unwrap().len(), 36, "a UUID");
    }
    assert_eq!(server.consents(IDENTITY_ID).len(), 4);

    // Logging in again reuses the consents.
    login(&server, CLIENT, &scope);
    assert_eq!(server.consents(IDENTITY_ID).len(), 4);

    // A malformed scope string is refused at the authorize endpoint.
    let mut url = url::Url::parse(&server.authorize_url_base()).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", &format!("{TRANSFER}[{COLLECTION_A}")),
        ("response_type", "code"),
        ("code_challenge", &pkce_challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]);
    let response = agent().get(url.as_str()).call().unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[test]
fn listing_is_per_client_unless_all_with_view_consents() {
    let server = server();
    login(&server, OTHER_CLIENT, TRANSFER);
    let own = login(&server, CLIENT, "openid");
    let token = own["access_token"].as_str().unwrap();
    let (status, body) = consents(&server, IDENTITY_ID, Some(token), Some("False"));
    assert_eq!(status, 200);
    assert_eq!(scope_names(&body), ["openid"]);

    // all=true needs view_consents.
    let (status, body) = consents(&server, IDENTITY_ID, Some(token), Some("true"));
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["code"], "FORBIDDEN");
    let viewer = login(&server, CLIENT, &format!("openid {VIEW_CONSENTS_SCOPE}"));
    let viewer = viewer["access_token"].as_str().unwrap();
    for all in ["true", "True", "1"] {
        let (status, body) = consents(&server, IDENTITY_ID, Some(viewer), Some(all));
        assert_eq!(status, 200);
        assert_eq!(
            scope_names(&body),
            [TRANSFER, "openid", VIEW_CONSENTS_SCOPE],
            "every client's trees, by id"
        );
    }
    let (status, _) = consents(&server, IDENTITY_ID, Some(viewer), Some("maybe"));
    assert_eq!(status, 400);
}

#[test]
fn unauthenticated_and_foreign_requests_are_refused() {
    let server = server();
    let response = login(&server, CLIENT, &format!("openid {TRANSFER}"));
    let auth_token = response["access_token"].as_str().unwrap();
    let transfer_token = response["other_tokens"][0]["access_token"]
        .as_str()
        .unwrap();

    for token in [None, Some("not-a-token"), Some(transfer_token)] {
        let (status, body) = consents(&server, IDENTITY_ID, token, None);
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    }
    server.revoke_token(auth_token);
    assert_eq!(
        consents(&server, IDENTITY_ID, Some(auth_token), None).0,
        401
    );

    let fresh = login(&server, CLIENT, "openid");
    let fresh = fresh["access_token"].as_str().unwrap();
    let (status, body) = consents(&server, "someone-else", Some(fresh), None);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["code"], "FORBIDDEN");
}

#[test]
fn consents_can_be_granted_and_removed_directly() {
    let server = server();
    let ids = server
        .grant_consents(
            IDENTITY_ID,
            CLIENT,
            &format!("{TRANSFER}[{COLLECTION_A}[{COLLECTION_B}]]"),
        )
        .unwrap();
    assert_eq!(ids.len(), 3);
    let token = server.issue_access_token_for_client(CLIENT, AUTH_RESOURCE_SERVER, "openid");
    let (status, body) = consents(&server, IDENTITY_ID, Some(&token), None);
    assert_eq!(status, 200);
    assert_eq!(scope_names(&body), [TRANSFER, COLLECTION_A, COLLECTION_B]);
    assert_eq!(
        body["consents"][2]["dependency_path"],
        serde_json::json!(ids),
        "a path from the root"
    );
    assert_eq!(
        body["consents"][2]["client"], "aaaa",
        "the client of the collection scope"
    );

    assert!(
        server.remove_consent(ids[1]),
        "removes the dependent subtree"
    );
    let (_, body) = consents(&server, IDENTITY_ID, Some(&token), None);
    assert_eq!(scope_names(&body), [TRANSFER]);
    assert!(!server.remove_consent(ids[2]));
    server.clear_consents();
    assert!(server.consents(IDENTITY_ID).is_empty());
    assert!(server.grant_consents(IDENTITY_ID, CLIENT, "a[b").is_err());

    // A seeded token without a client sees no client's trees.
    server
        .grant_consents(IDENTITY_ID, CLIENT, TRANSFER)
        .unwrap();
    let anonymous = server.issue_access_token(AUTH_RESOURCE_SERVER, "openid");
    let (status, body) = consents(&server, IDENTITY_ID, Some(&anonymous), None);
    assert_eq!((status, scope_names(&body).len()), (200, 0));
}
