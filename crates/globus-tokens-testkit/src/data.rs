//! Token responses and token data shaped like Globus Auth's, for tests.

use globus_tokens_core::{TokenData, TokenResponse};
use serde_json::json;

/// When [`authorization_code_response`] was received: its tokens expire at 2000000000, like the
/// Python reference files.
pub const RECEIVED_AT: i64 = 2_000_000_000 - 172_800;

/// The three resource servers of [`authorization_code_response`].
pub const RESOURCE_SERVERS: [&str; 3] = [
    "auth.globus.org",
    "transfer.api.globus.org",
    "groups.api.globus.org",
];

/// The scope of the transfer token.
pub const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

/// An authorization-code grant response: auth (top level), transfer and groups (`other_tokens`;
/// groups without a refresh token), tokens `AT-a-0..2`, refresh tokens `RT-a-0..1`.
pub fn authorization_code_response() -> TokenResponse {
    let body = json!({
        "access_token": "AT-a-0", "scope": "openid profile email", "expires_in": 172800,
        "token_type": "Bearer", "resource_server": "auth.globus.org", "refresh_token": "RT-a-0",
        "state": "_default",
        "other_tokens": [
            {"access_token": "AT-a-1", "scope": TRANSFER_SCOPE, "expires_in": 172800,
             "token_type": "Bearer", "resource_server": "transfer.api.globus.org",
             "refresh_token": "RT-a-1", "state": "_default"},
            {"access_token": "AT-a-2", "scope": "urn:globus:auth:scope:groups.api.globus.org:all",
             "expires_in": 172800, "token_type": "Bearer", "resource_server": "groups.api.globus.org",
             "refresh_token": null, "state": "_default"}
        ],
        "id_token": null
    });
    TokenResponse::from_value_at(&body, RECEIVED_AT).expect("valid response")
}

/// A refresh-grant response for transfer with a rotated refresh token, received at `received_at`.
pub fn refresh_response(
    access_token: &str,
    refresh_token: &str,
    received_at: i64,
) -> TokenResponse {
    let body = json!({
        "access_token": access_token, "scope": TRANSFER_SCOPE, "expires_in": 172800,
        "token_type": "Bearer", "resource_server": "transfer.api.globus.org",
        "refresh_token": refresh_token, "other_tokens": []
    });
    TokenResponse::from_value_at(&body, received_at).expect("valid response")
}

/// Token data for a made-up resource server, distinct per `(writer, index)`.
pub fn numbered(writer: usize, index: usize) -> TokenData {
    TokenData::new(
        format!("rs-{writer}-{index}.example.org"),
        format!("scope:{writer}:{index}"),
        format!("AT-{writer}-{index}"),
        2_000_000_000 + i64::try_from(index).unwrap_or(0),
    )
    .with_refresh_token(format!("RT-{writer}-{index}"))
}

/// Wrap one entry as a batch for `store_token_data`.
pub fn batch(data: TokenData) -> std::collections::BTreeMap<String, TokenData> {
    [(data.resource_server.clone(), data)].into()
}
