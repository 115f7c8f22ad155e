//! The OAuth2 endpoints of the fake: client authentication, the token endpoint's grants
//! (refresh, client credentials, authorization code with PKCE), revocation, the authorize
//! redirect and the protected test resource.

#[allow(clippy::wildcard_imports)]
// the server's state and helpers, as the parent module has them
use super::*;

pub(super) enum Client {
    Native(String),
    Confidential(String),
}

impl Client {
    pub(super) fn id(&self) -> &str {
        match self {
            Client::Native(id) | Client::Confidential(id) => id,
        }
    }
}

pub(super) fn basic_credentials(request: &HttpRequest) -> Option<Option<(String, String)>> {
    let value = request.header("authorization")?;
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    Some(decoded.and_then(|text| {
        text.split_once(':')
            .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
    }))
}

/// Authenticate the calling client: HTTP Basic for confidential clients (or
/// `client_secret_post`), `client_id` in the form for native clients.
pub(super) fn authenticate(
    state: &State,
    request: &HttpRequest,
    form: &[(String, String)],
) -> Result<Client, Reply> {
    let invalid = |why: &str| Err(oauth_error(401, "invalid_client", why));
    match basic_credentials(request) {
        Some(Some((id, secret))) => {
            return match state.confidential_clients.get(&id) {
                Some(expected) if *expected == secret => Ok(Client::Confidential(id)),
                Some(_) => invalid("client secret is incorrect"),
                None => invalid("unknown client"),
            };
        }
        Some(None) => return invalid("malformed Basic credentials"),
        None => {}
    }
    let Some(id) = lookup(form, "client_id") else {
        return invalid("client authentication required");
    };
    if let Some(expected) = state.confidential_clients.get(id) {
        return match lookup(form, "client_secret") {
            Some(secret) if secret == expected => Ok(Client::Confidential(id.to_owned())),
            Some(_) => invalid("client secret is incorrect"),
            None => invalid("confidential clients must authenticate"),
        };
    }
    if state.native_clients.contains(id) {
        Ok(Client::Native(id.to_owned()))
    } else {
        invalid("unknown client")
    }
}

pub(super) fn token_endpoint(
    state: &mut State,
    request: &HttpRequest,
    recorded: &RecordedRequest,
) -> Reply {
    let form = &recorded.form;
    let client = match authenticate(state, request, form) {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    match lookup(form, "grant_type") {
        Some("refresh_token") => refresh_grant(state, &client, form),
        Some("client_credentials") => client_credentials_grant(state, &client, form),
        Some("authorization_code") => authorization_code_grant(state, &client, form),
        Some(services::DEPENDENT_TOKEN_GRANT) => match client {
            Client::Confidential(id) => services::dependent_token_grant(state, &id, form),
            Client::Native(_) => oauth_error(
                401,
                "invalid_client",
                "the dependent-token grant needs a confidential client",
            ),
        },
        Some(_) => json_reply(400, &json!({"error": "unsupported_grant_type"})),
        None => oauth_error(400, "invalid_request", "grant_type is required"),
    }
}

fn refresh_grant(state: &mut State, client: &Client, form: &[(String, String)]) -> Reply {
    let Some(token) = lookup(form, "refresh_token") else {
        return oauth_error(400, "invalid_request", "refresh_token is required");
    };
    let (resource_server, scope, grant, identity_id) = match state.refresh_tokens.get(token) {
        Some(rt) if !rt.invalid && rt.client_id == client.id() => (
            rt.resource_server.clone(),
            rt.scope.clone(),
            rt.grant,
            rt.identity_id.clone(),
        ),
        _ => {
            return oauth_error(
                400,
                "invalid_grant",
                "refresh token is invalid, expired or revoked",
            );
        }
    };
    let refresh_token = if state.rotate_refresh_tokens {
        if let Some(rt) = state.refresh_tokens.get_mut(token) {
            rt.invalid = true;
        }
        state.new_refresh_token_for(&identity_id, client.id(), &resource_server, &scope, grant)
    } else {
        token.to_owned()
    };
    state.services.count_grant(&identity_id);
    let access_token = state.new_access_token(
        Owner {
            client_id: Some(client.id()),
            identity_id: &identity_id,
        },
        &resource_server,
        &scope,
        Some(grant),
    );
    json_reply(
        200,
        &json!({
            "access_token": access_token,
            "scope": scope,
            "expires_in": state.expires_in,
            "token_type": "Bearer",
            "resource_server": resource_server,
            "refresh_token": refresh_token,
            "other_tokens": [],
        }),
    )
}

fn client_credentials_grant(
    state: &mut State,
    client: &Client,
    form: &[(String, String)],
) -> Reply {
    if let Client::Native(_) = client {
        return oauth_error(
            400,
            "unauthorized_client",
            "native clients cannot use client_credentials",
        );
    }
    let scopes = split_scopes(lookup(form, "scope").unwrap_or(""));
    if scopes.is_empty() {
        return oauth_error(400, "invalid_scope", "scope is required");
    }
    let groups = match group_scopes(&scopes) {
        Ok(groups) => groups,
        Err(scope) => {
            return oauth_error(400, "invalid_scope", &format!("unknown scope {scope:?}"));
        }
    };
    let mut tokens: Vec<Map<String, Value>> = groups
        .iter()
        .map(|(rs, scope)| {
            // A client acting as itself: Globus Auth's client identity id is the client id.
            let owner = Owner {
                client_id: Some(client.id()),
                identity_id: client.id(),
            };
            let access_token = state.new_access_token(owner, rs, scope, None);
            let mut token = Map::new();
            token.insert("access_token".into(), access_token.into());
            token.insert("scope".into(), scope.clone().into());
            token.insert("expires_in".into(), state.expires_in.into());
            token.insert("token_type".into(), "Bearer".into());
            token.insert("resource_server".into(), rs.clone().into());
            token
        })
        .collect();
    let mut top = tokens.remove(0);
    top.insert(
        "other_tokens".into(),
        Value::Array(tokens.into_iter().map(Value::Object).collect()),
    );
    json_reply(200, &Value::Object(top))
}

fn authorization_code_grant(
    state: &mut State,
    client: &Client,
    form: &[(String, String)],
) -> Reply {
    let Some(code) = lookup(form, "code") else {
        return oauth_error(400, "invalid_request", "code is required");
    };
    let Some(entry) = state.codes.get_mut(code) else {
        return oauth_error(400, "invalid_grant", "authorization code is invalid");
    };
    if entry.client_id != client.id() {
        return oauth_error(
            400,
            "invalid_grant",
            "authorization code was issued to another client",
        );
    }
    if entry.used {
        return oauth_error(
            400,
            "invalid_grant",
            "authorization code has already been used",
        );
    }
    // Any redemption attempt by the right client consumes the code.
    entry.used = true;
    if lookup(form, "redirect_uri") != Some(entry.redirect_uri.as_str()) {
        return oauth_error(
            400,
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        );
    }
    let Some(verifier) = lookup(form, "code_verifier") else {
        return oauth_error(400, "invalid_grant", "code_verifier is required");
    };
    if pkce_challenge(verifier) != entry.code_challenge {
        return oauth_error(
            400,
            "invalid_grant",
            "code_verifier does not match code_challenge",
        );
    }
    let scopes = entry.scopes.clone();
    let offline = entry.offline;
    let token_state = entry.state.clone().unwrap_or_else(|| "_default".to_owned());
    let scopes: Vec<String> = scopes
        .into_iter()
        .filter(|scope| !state.withheld_scopes.contains(scope))
        .collect();
    let groups = match group_scopes(&scopes) {
        Ok(groups) => groups,
        Err(scope) => {
            return oauth_error(400, "invalid_scope", &format!("unknown scope {scope:?}"));
        }
    };
    let client_id = client.id().to_owned();
    let mut tokens: Vec<Map<String, Value>> = groups
        .iter()
        .map(|(rs, scope)| {
            let grant = state.next_grant();
            let access_token =
                state.new_access_token(Owner::user(Some(&client_id)), rs, scope, Some(grant));
            let refresh_token: Value = if offline {
                state.new_refresh_token(&client_id, rs, scope, grant).into()
            } else {
                Value::Null
            };
            let mut token = Map::new();
            token.insert("access_token".into(), access_token.into());
            token.insert("scope".into(), scope.clone().into());
            token.insert("expires_in".into(), state.expires_in.into());
            token.insert("token_type".into(), "Bearer".into());
            token.insert("resource_server".into(), rs.clone().into());
            token.insert("refresh_token".into(), refresh_token);
            token.insert("state".into(), token_state.clone().into());
            token
        })
        .collect();
    let id_token: Value = if scopes.iter().any(|s| s == "openid") {
        let builder = state.oidc.builder(
            &state.base_url,
            &client_id,
            Some(&scopes),
            state.expires_in,
            now_seconds(),
        );
        state.oidc.issue(builder).into()
    } else {
        Value::Null
    };
    let mut top = tokens.remove(0);
    top.insert(
        "other_tokens".into(),
        Value::Array(tokens.into_iter().map(Value::Object).collect()),
    );
    top.insert("id_token".into(), id_token);
    json_reply(200, &Value::Object(top))
}

pub(super) fn revoke_endpoint(
    state: &mut State,
    request: &HttpRequest,
    recorded: &RecordedRequest,
) -> Reply {
    if let Err(reply) = authenticate(state, request, &recorded.form) {
        return reply;
    }
    let Some(token) = lookup(&recorded.form, "token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let token = token.to_owned();
    state.revoke(&token);
    state.revoked.push(token);
    json_reply(200, &json!({"active": false}))
}

fn bad_authorize(message: &str) -> Reply {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Reply::new(
        400,
        "text/html; charset=utf-8",
        format!(
            "<html><head><title>Bad request</title></head><body><p>{escaped}</p></body></html>"
        ),
    )
}

pub(super) fn authorize_endpoint(state: &mut State, recorded: &RecordedRequest) -> Reply {
    let query = &recorded.query;
    let Some(client_id) = lookup(query, "client_id") else {
        return bad_authorize("client_id is required");
    };
    if !state.native_clients.contains(client_id)
        && !state.confidential_clients.contains_key(client_id)
    {
        return bad_authorize("unknown client_id");
    }
    let Some(redirect_uri) = lookup(query, "redirect_uri") else {
        return bad_authorize("redirect_uri is required");
    };
    let Ok(mut location) = url::Url::parse(redirect_uri) else {
        return bad_authorize("redirect_uri is not an absolute URL");
    };
    if lookup(query, "response_type") != Some("code") {
        return bad_authorize("response_type must be code");
    }
    if lookup(query, "code_challenge_method") != Some("S256") {
        return bad_authorize("code_challenge_method must be S256");
    }
    let Some(code_challenge) = lookup(query, "code_challenge").filter(|c| !c.is_empty()) else {
        return bad_authorize("code_challenge is required");
    };
    let scope_text = lookup(query, "scope").unwrap_or("");
    if scope_text.trim().is_empty() {
        return bad_authorize("scope is required");
    }
    let scope_tree = match consents::parse_scopes(scope_text) {
        Ok(tree) => tree,
        Err(why) => return bad_authorize(&format!("malformed scope string: {why}")),
    };
    // Tokens name the top-level scopes; dependent scopes live on in the consents.
    let scopes: Vec<String> = scope_tree.iter().map(|node| node.name.clone()).collect();
    if let Err(scope) = group_scopes(&scopes) {
        return bad_authorize(&format!("unknown scope {scope}"));
    }
    let state_param = lookup(query, "state").map(str::to_owned);
    if let Some(error) = state.authorize_error.clone() {
        {
            let mut pairs = location.query_pairs_mut();
            pairs.append_pair("error", &error);
            pairs.append_pair("error_description", "The user did not grant consent");
            if let Some(s) = &state_param {
                pairs.append_pair("state", s);
            }
        }
        return Reply::new(302, "text/html", "").with_header("Location", location.as_str());
    }
    // Approving the request records the user's consents, dependent scopes included; a
    // dependent scope is consented to for the client of its parent's resource server.
    let client_of =
        |scope: &str| resource_server_of_scope(scope).unwrap_or_else(|| scope.to_owned());
    state.consents.grant(
        IDENTITY_ID,
        client_id,
        &scope_tree,
        &client_of,
        now_seconds(),
    );
    let code = state.unique("code");
    state.codes.insert(
        code.clone(),
        AuthorizationCode {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            code_challenge: code_challenge.to_owned(),
            offline: lookup(query, "access_type") == Some("offline"),
            state: state_param.clone(),
            used: false,
        },
    );
    {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(s) = &state_param {
            pairs.append_pair("state", s);
        }
    }
    Reply::new(302, "text/html", "").with_header("Location", location.as_str())
}

/// The token of an `Authorization: Bearer <token>` header.
pub(super) fn bearer_token(request: &HttpRequest) -> Option<&str> {
    request.header("authorization").and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    })
}

pub(super) fn protected_endpoint(state: &State, request: &HttpRequest) -> Reply {
    match bearer_token(request) {
        Some(token) if state.access_token_valid(token) => json_reply(200, &json!({"ok": true})),
        _ => json_reply(
            401,
            &json!({
                "code": "AuthenticationFailed",
                "message": "Token is not active",
                "request_id": "fake",
            }),
        )
        .with_header("WWW-Authenticate", "Bearer"),
    }
}
