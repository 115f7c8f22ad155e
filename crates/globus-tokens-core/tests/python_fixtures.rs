//! Token responses shaped as Globus Auth sends them, and the plain token file
//! fair-research-login writes, from `../shared/fixtures/python-reference` (copied to `data/`).

use globus_tokens_core::{TokenData, TokenResponse};
use serde_json::Value;

const RECEIVED_AT: i64 = 2_000_000_000 - 172_800;

fn response(name: &str) -> TokenResponse {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    TokenResponse::from_json_at(&std::fs::read(path).unwrap(), RECEIVED_AT).unwrap()
}

fn tokens(data: &TokenData) -> (&str, Option<&str>) {
    (
        data.access_token.expose(),
        data.refresh_token.as_ref().map(|t| t.expose()),
    )
}

#[test]
fn authorization_code_response_has_three_resource_servers() {
    let by_rs = response("response-authorization-code.json").by_resource_server();
    assert_eq!(by_rs.len(), 3);
    assert_eq!(
        tokens(&by_rs["auth.globus.org"]),
        ("AT-a-0", Some("RT-a-0"))
    );
    assert_eq!(
        tokens(&by_rs["transfer.api.globus.org"]),
        ("AT-a-1", Some("RT-a-1"))
    );
    assert_eq!(tokens(&by_rs["groups.api.globus.org"]), ("AT-a-2", None));
    for data in by_rs.values() {
        assert_eq!(data.expires_at_seconds, 2_000_000_000);
        assert_eq!(data.token_type.as_deref(), Some("Bearer"));
        assert_eq!(data.identity_id, None, "id_token is null");
        assert!(
            data.extra.is_empty(),
            "response-only fields (state) are not stored"
        );
    }
    assert_eq!(by_rs["auth.globus.org"].scope, "openid profile email");
}

#[test]
fn refresh_response_carries_the_rotated_refresh_token() {
    let response = response("response-refresh.json");
    let by_rs = response.by_resource_server();
    assert_eq!(by_rs.len(), 1);
    assert_eq!(
        tokens(&by_rs["transfer.api.globus.org"]),
        ("AT-refreshed", Some("RT-rotated"))
    );
    assert_eq!(response.grants()[0].expires_in, 172_800);
}

#[test]
fn client_credentials_response_has_no_refresh_token() {
    let by_rs = response("response-client-credentials.json").by_resource_server();
    assert_eq!(tokens(&by_rs["transfer.api.globus.org"]), ("AT-cc", None));
}

#[test]
fn dependent_token_response_is_an_array() {
    let by_rs = response("response-dependent-token.json").by_resource_server();
    assert_eq!(by_rs.len(), 1);
    assert_eq!(
        tokens(&by_rs["transfer.api.globus.org"]),
        ("AT-dep", Some("RT-dep"))
    );
    assert_eq!(
        by_rs["transfer.api.globus.org"].expires_at_seconds,
        2_000_000_000
    );
}

#[test]
fn fair_research_login_plain_json_entries_read_as_token_data() {
    let path = format!("{}/tests/data/frl-tokens.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let object = file.as_object().unwrap();
    let read: Vec<TokenData> = object
        .iter()
        .map(|(rs, entry)| TokenData::from_json_value(entry, rs, "frl-tokens.json").unwrap())
        .collect();
    assert_eq!(read.len(), 3);
    let expected = response("response-authorization-code.json").by_resource_server();
    for data in read {
        assert_eq!(
            data, expected[&data.resource_server],
            "{}",
            data.resource_server
        );
    }
}

#[test]
fn malformed_responses_are_typed_errors_without_token_values() {
    let cases: [&[u8]; 8] = [
        b"",
        b"[1, 2]",
        b"\"AT-secret\"",
        br#"{"access_token": "AT-secret", "scope": "s"}"#,
        br#"{"resource_server": "rs", "scope": "s"}"#,
        br#"{"access_token": "AT-secret", "resource_server": "rs", "expires_in": "soon"}"#,
        br#"{"access_token": "AT-secret", "resource_server": "rs", "other_tokens": {"x": 1}}"#,
        br#"{"access_token": "AT-secret", "resource_server": "rs", "other_tokens": [{"access_token": 5}]}"#,
    ];
    for body in cases {
        let err = TokenResponse::from_json_at(body, 0).unwrap_err();
        assert!(
            matches!(err, globus_tokens_core::Error::InvalidTokenResponse { .. }),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("AT-secret"), "{err}");
    }
}
