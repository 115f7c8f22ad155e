//! What Globus Auth offers services: the dependent-token grant, token introspection and
//! userinfo, over users other than the fake's one ([`FakeAuthServer::issue_user_token`]).

use super::endpoints::{Client, authenticate, bearer_token};
#[allow(clippy::wildcard_imports)]
// the server's state and helpers, as the parent module has them
use super::*;

/// The dependent-token grant type.
pub(super) const DEPENDENT_TOKEN_GRANT: &str = "urn:globus:auth:grant_type:dependent_token";

/// What the service endpoints keep.
#[derive(Default)]
pub(super) struct ServiceState {
    /// Per confidential client: the (resource server, scope) pairs its dependent tokens cover.
    dependent_scopes: HashMap<String, Vec<(String, String)>>,
    /// Dependent-token and refresh grants answered, per identity.
    grants_by_identity: HashMap<String, usize>,
}

impl ServiceState {
    pub(super) fn count_grant(&mut self, identity_id: &str) {
        *self
            .grants_by_identity
            .entry(identity_id.to_owned())
            .or_default() += 1;
    }
}

/// The username the fake gives an identity.
fn username_of(identity_id: &str) -> String {
    if identity_id == IDENTITY_ID {
        IDENTITY_USERNAME.to_owned()
    } else {
        format!("{identity_id}@example.org")
    }
}

/// `grant_type=urn:globus:auth:grant_type:dependent_token` for confidential client `client_id`:
/// the offered token must be valid and issued for this client (its audience); the answer is a
/// list with one token per dependent scope of the client, acting for the token's identity.
pub(super) fn dependent_token_grant(
    state: &mut State,
    client_id: &str,
    form: &[(String, String)],
) -> Reply {
    let Some(token) = lookup(form, "token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let identity_id = match state.access_tokens.get(token) {
        Some(at) if state.access_token_valid(token) && at.resource_server == client_id => {
            at.identity_id.clone()
        }
        _ => {
            return oauth_error(
                400,
                "invalid_grant",
                "the token is invalid, expired, revoked or not for this client",
            );
        }
    };
    let offline = lookup(form, "access_type") == Some("offline");
    let wanted: Option<Vec<&str>> = lookup(form, "scope").map(|s| s.split(' ').collect());
    let scopes: Vec<(String, String)> = state
        .services
        .dependent_scopes
        .get(client_id)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, scope)| wanted.as_ref().is_none_or(|w| w.contains(&scope.as_str())))
        .collect();
    state.services.count_grant(&identity_id);
    let tokens: Vec<Value> = scopes
        .iter()
        .map(|(rs, scope)| {
            let grant = state.next_grant();
            let owner = Owner {
                client_id: Some(client_id),
                identity_id: &identity_id,
            };
            let access_token = state.new_access_token(owner, rs, scope, Some(grant));
            let refresh_token: Value = if offline {
                state
                    .new_refresh_token_for(&identity_id, client_id, rs, scope, grant)
                    .into()
            } else {
                Value::Null
            };
            json!({
                "access_token": access_token,
                "scope": scope,
                "expires_in": state.expires_in,
                "token_type": "Bearer",
                "resource_server": rs,
                "refresh_token": refresh_token,
            })
        })
        .collect();
    json_reply(200, &Value::Array(tokens))
}

/// `POST v2/oauth2/token/introspect`: confidential clients only; `{"active": false}` for a
/// token that is not valid.
pub(super) fn introspect_endpoint(
    state: &State,
    request: &HttpRequest,
    recorded: &RecordedRequest,
) -> Reply {
    let form = &recorded.form;
    match authenticate(state, request, form) {
        Ok(Client::Confidential(_)) => {}
        Ok(Client::Native(_)) => {
            return oauth_error(
                401,
                "invalid_client",
                "introspection needs client credentials",
            );
        }
        Err(reply) => return reply,
    }
    let Some(token) = lookup(form, "token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let Some(at) = state
        .access_tokens
        .get(token)
        .filter(|_| state.access_token_valid(token))
    else {
        return json_reply(200, &json!({"active": false}));
    };
    let now = now_seconds();
    let remaining = at
        .expires_at
        .saturating_duration_since(Instant::now())
        .as_secs();
    let exp = now.saturating_add(i64::try_from(remaining).unwrap_or(i64::MAX));
    let include = lookup(form, "include").unwrap_or("");
    let mut answer = json!({
        "active": true,
        "scope": at.scope,
        "client_id": at.client_id,
        "sub": at.identity_id,
        "username": username_of(&at.identity_id),
        "name": if at.identity_id == IDENTITY_ID { IDENTITY_NAME.to_owned() } else { format!("User {}", at.identity_id) },
        "email": if at.identity_id == IDENTITY_ID { IDENTITY_EMAIL.to_owned() } else { username_of(&at.identity_id) },
        "exp": exp,
        "iat": now,
        "nbf": now,
        "aud": [at.resource_server.clone()],
        "iss": state.base_url.trim_end_matches('/'),
        "token_type": "Bearer",
    });
    if include.split(',').any(|part| part.trim() == "identity_set") {
        answer["identity_set"] = json!([at.identity_id]);
    }
    if include.split(',').any(|part| part.trim() == "session_info") {
        answer["session_info"] = json!({
            "session_id": format!("session-{}", at.identity_id),
            "authentications": {},
        });
    }
    json_reply(200, &answer)
}

/// `POST v2/oauth2/token/validate` (globus-cli checks its refresh tokens with it): an
/// authenticated client learns whether an access or refresh token is valid.
pub(super) fn validate_endpoint(
    state: &State,
    request: &HttpRequest,
    recorded: &RecordedRequest,
) -> Reply {
    let form = &recorded.form;
    if let Err(reply) = authenticate(state, request, form) {
        return reply;
    }
    let Some(token) = lookup(form, "token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let active = state.access_token_valid(token)
        || state
            .refresh_tokens
            .get(token)
            .is_some_and(|rt| !rt.invalid);
    json_reply(200, &json!({"active": active}))
}

/// `GET v2/oauth2/userinfo` with an `auth.globus.org` token; 401 otherwise.
pub(super) fn userinfo_endpoint(state: &State, request: &HttpRequest) -> Reply {
    let identity = bearer_token(request).and_then(|token| {
        state
            .access_tokens
            .get(token)
            .filter(|at| {
                state.access_token_valid(token) && at.resource_server == AUTH_RESOURCE_SERVER
            })
            .map(|at| at.identity_id.clone())
    });
    let Some(identity_id) = identity else {
        return json_reply(
            401,
            &json!({"error": "invalid_token", "error_description": "the token is not active"}),
        )
        .with_header("WWW-Authenticate", "Bearer");
    };
    let name = if identity_id == IDENTITY_ID {
        IDENTITY_NAME.to_owned()
    } else {
        format!("User {identity_id}")
    };
    json_reply(
        200,
        &json!({
            "sub": identity_id,
            "preferred_username": username_of(&identity_id),
            "name": name,
            "email": username_of(&identity_id),
            "identity_provider": IDENTITY_PROVIDER,
            "identity_provider_display_name": "Globus ID",
            "organization": "Fake Organization",
            "identity_set": [{"sub": identity_id, "username": username_of(&identity_id)}],
        }),
    )
}

impl FakeAuthServer {
    /// Which dependent tokens confidential client `client_id` gets: one per
    /// `(resource_server, scope)` pair, for the identity of the token it offers.
    pub fn set_dependent_scopes(&self, client_id: &str, scopes: &[(&str, &str)]) {
        self.state().services.dependent_scopes.insert(
            client_id.to_owned(),
            scopes
                .iter()
                .map(|(rs, scope)| ((*rs).to_owned(), (*scope).to_owned()))
                .collect(),
        );
    }

    /// Seed a valid access token of identity `identity_id` for `resource_server` (for a
    /// service's token, its client id: the audience the dependent-token grant requires).
    pub fn issue_user_token(
        &self,
        identity_id: &str,
        resource_server: &str,
        scope: &str,
    ) -> String {
        let owner = Owner {
            client_id: None,
            identity_id,
        };
        self.state()
            .new_access_token(owner, resource_server, scope, None)
    }

    /// The identity an access token acts for, if the server issued it.
    pub fn identity_of_token(&self, token: &str) -> Option<String> {
        self.state()
            .access_tokens
            .get(token)
            .map(|at| at.identity_id.clone())
    }

    /// Dependent-token and refresh grants answered for `identity_id`.
    pub fn grants_for_identity(&self, identity_id: &str) -> usize {
        self.state()
            .services
            .grants_by_identity
            .get(identity_id)
            .copied()
            .unwrap_or(0)
    }
}
