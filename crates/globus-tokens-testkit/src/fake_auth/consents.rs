//! Consents: what a user allowed which client to do, as Globus Auth records them when the user
//! approves an authorize request, and `GET /v2/api/identities/{id}/consents`.
//!
//! A scope string may carry dependent scopes in globus-sdk's syntax, `scope[dep1 *dep2[dep3]]`
//! (`*` marks an optional dependency); each scope in the tree becomes one consent whose
//! `dependency_path` lists the consent ids from the root down to it.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::http::{HttpRequest, Reply};
use super::{
    AUTH_RESOURCE_SERVER, FakeAuthServer, IDENTITIES_PREFIX, RecordedRequest, State,
    VIEW_CONSENTS_SCOPE, bearer_token, json_reply, now_seconds, resource_server_of_scope,
    split_scopes,
};

/// One scope of a parsed scope string, with its dependent scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ScopeNode {
    pub(super) name: String,
    pub(super) optional: bool,
    pub(super) children: Vec<ScopeNode>,
}

/// Parse `a b[c *d[e]]` into a forest. `Err` says what is wrong (unbalanced brackets, a
/// bracket without a scope before it, an empty scope list).
pub(super) fn parse_scopes(text: &str) -> Result<Vec<ScopeNode>, String> {
    let mut chars = text.chars().peekable();
    let nodes = parse_list(&mut chars, 0)?;
    if nodes.is_empty() {
        return Err("no scopes".to_owned());
    }
    Ok(nodes)
}

fn parse_list(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    depth: usize,
) -> Result<Vec<ScopeNode>, String> {
    let mut nodes: Vec<ScopeNode> = Vec::new();
    loop {
        match chars.peek().copied() {
            None if depth == 0 => return Ok(nodes),
            None => return Err("unbalanced '[': a ']' is missing".to_owned()),
            Some(']') if depth == 0 => return Err("unbalanced ']'".to_owned()),
            Some(']') => {
                chars.next();
                if nodes.is_empty() {
                    return Err("empty dependent scope list '[]'".to_owned());
                }
                return Ok(nodes);
            }
            Some(c) if c.is_whitespace() => {
                chars.next();
            }
            Some('[') => {
                chars.next();
                let Some(parent) = nodes.last_mut() else {
                    return Err("'[' without a scope before it".to_owned());
                };
                if !parent.children.is_empty() {
                    return Err(format!("two dependent scope lists after {}", parent.name));
                }
                parent.children = parse_list(chars, depth + 1)?;
            }
            Some(_) => {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '[' || c == ']' {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
                let (optional, name) = match name.strip_prefix('*') {
                    Some(rest) => (true, rest.to_owned()),
                    None => (false, name),
                };
                if name.is_empty() {
                    return Err("'*' without a scope after it".to_owned());
                }
                nodes.push(ScopeNode {
                    name,
                    optional,
                    children: Vec::new(),
                });
            }
        }
    }
}

/// One recorded consent.
#[derive(Debug, Clone)]
struct Consent {
    id: u64,
    identity_id: String,
    client: String,
    scope_name: String,
    dependency_path: Vec<u64>,
    created: i64,
    last_used: i64,
}

/// Every consent the server knows, of every identity.
#[derive(Debug, Default)]
pub(super) struct ConsentStore {
    consents: Vec<Consent>,
    next_id: u64,
}

impl ConsentStore {
    /// Record consents for `scopes` (a forest) granted by `identity_id` to `client_id`, reusing
    /// consents already recorded for the same path; returns the consent ids in the order of a
    /// depth-first walk. A dependent scope's consent belongs to the client of its parent's
    /// resource server (`client_of(parent scope)`), as in Globus Auth.
    pub(super) fn grant(
        &mut self,
        identity_id: &str,
        client_id: &str,
        scopes: &[ScopeNode],
        client_of: &dyn Fn(&str) -> String,
        now: i64,
    ) -> Vec<u64> {
        let mut ids = Vec::new();
        for node in scopes {
            self.grant_node(identity_id, client_id, node, &[], client_of, now, &mut ids);
        }
        ids
    }

    #[allow(clippy::too_many_arguments)]
    fn grant_node(
        &mut self,
        identity_id: &str,
        client_id: &str,
        node: &ScopeNode,
        parent_path: &[u64],
        client_of: &dyn Fn(&str) -> String,
        now: i64,
        ids: &mut Vec<u64>,
    ) {
        let existing = self.consents.iter_mut().find(|c| {
            c.identity_id == identity_id
                && c.client == client_id
                && c.scope_name == node.name
                && c.dependency_path.len() == parent_path.len() + 1
                && c.dependency_path.starts_with(parent_path)
        });
        let path = match existing {
            Some(consent) => {
                consent.last_used = now;
                consent.dependency_path.clone()
            }
            None => {
                self.next_id += 1;
                // Globus Auth's consent ids are large integers; start away from 0.
                let id = 100_000 + self.next_id;
                let mut path = parent_path.to_vec();
                path.push(id);
                self.consents.push(Consent {
                    id,
                    identity_id: identity_id.to_owned(),
                    client: client_id.to_owned(),
                    scope_name: node.name.clone(),
                    dependency_path: path.clone(),
                    created: now,
                    last_used: now,
                });
                path
            }
        };
        ids.extend(path.last().copied());
        let child_client = client_of(&node.name);
        for child in &node.children {
            self.grant_node(
                identity_id,
                &child_client,
                child,
                &path,
                client_of,
                now,
                ids,
            );
        }
    }

    /// Remove a consent and every consent that depends on it; `false` if there was none.
    pub(super) fn remove(&mut self, id: u64) -> bool {
        let before = self.consents.len();
        self.consents.retain(|c| !c.dependency_path.contains(&id));
        self.consents.len() != before
    }

    pub(super) fn clear(&mut self) {
        self.consents.clear();
    }

    /// Consents of `identity_id` as Globus Auth lists them, by id: all of them, or only the
    /// trees rooted at `root_client`.
    pub(super) fn list(&self, identity_id: &str, root_client: Option<&str>) -> Vec<Value> {
        let roots: Vec<u64> = self
            .consents
            .iter()
            .filter(|c| c.identity_id == identity_id && c.dependency_path.len() == 1)
            .filter(|c| root_client.is_none_or(|client| c.client == client))
            .map(|c| c.id)
            .collect();
        let mut listed: Vec<&Consent> = self
            .consents
            .iter()
            .filter(|c| c.identity_id == identity_id)
            .filter(|c| c.dependency_path.first().is_some_and(|r| roots.contains(r)))
            .collect();
        listed.sort_by_key(|c| c.id);
        listed.into_iter().map(consent_json).collect()
    }
}

fn consent_json(consent: &Consent) -> Value {
    let created = iso8601(consent.created);
    json!({
        "created": created,
        "id": consent.id,
        "status": "approved",
        "updated": created,
        "allows_refresh": true,
        "dependency_path": consent.dependency_path,
        "scope_name": consent.scope_name,
        // Globus Auth lets a dependent consent be revoked on its own.
        "atomically_revocable": consent.dependency_path.len() > 1,
        "effective_identity": consent.identity_id,
        "auto_approved": false,
        "last_used": iso8601(consent.last_used),
        "scope": scope_id(&consent.scope_name),
        "client": consent.client,
    })
}

/// A stable UUID-shaped id for a scope string (Globus Auth gives each scope a UUID).
fn scope_id(scope: &str) -> String {
    let digest = Sha256::digest(scope.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `2024-03-18T17:34:04.000000+00:00` (Globus Auth's format; Python's `fromisoformat` reads it).
pub(super) fn iso8601(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000+00:00",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        // Past year 9999: no calendar date to show.
        Err(_) => format!("{seconds} seconds after 1970"),
    }
}

/// The consents side of the server.
impl FakeAuthServer {
    /// `base_url() + "v2/api/identities/{identity_id}/consents"`.
    pub fn consents_url(&self, identity_id: &str) -> String {
        format!("{}v2/api/identities/{identity_id}/consents", self.base_url)
    }

    /// Record that `identity_id` granted `client_id` the scopes of `scopes` (globus-sdk's
    /// syntax, dependent scopes in brackets: `scope[dep1 dep2[dep3]]`), as approving an
    /// authorize request does. Consents already recorded for the same path are reused.
    /// Returns the consent ids, depth first; `Err` says why the scope string does not parse.
    pub fn grant_consents(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &str,
    ) -> Result<Vec<u64>, String> {
        let tree = parse_scopes(scopes)?;
        let client_of =
            |scope: &str| resource_server_of_scope(scope).unwrap_or_else(|| scope.to_owned());
        Ok(self
            .state()
            .consents
            .grant(identity_id, client_id, &tree, &client_of, now_seconds()))
    }

    /// Remove a consent and every consent depending on it; `false` if there was none.
    pub fn remove_consent(&self, consent_id: u64) -> bool {
        self.state().consents.remove(consent_id)
    }

    /// Forget every consent.
    pub fn clear_consents(&self) {
        self.state().consents.clear();
    }

    /// Every consent of `identity_id`, as `?all=true` lists them.
    pub fn consents(&self, identity_id: &str) -> Vec<Value> {
        self.state().consents.list(identity_id, None)
    }
}

/// Globus Auth's API error shape (`errors[0]` with `status`, `code`, `detail`).
fn api_error(status: u16, code: &str, detail: &str) -> Reply {
    json_reply(
        status,
        &json!({
            "errors": [{"status": status.to_string(), "code": code, "detail": detail}],
            "error": code.to_ascii_lowercase(),
            "error_description": detail,
        }),
    )
}

/// `GET v2/api/identities/{identity_id}/consents[?all=true]`.
pub(super) fn consents_endpoint(
    state: &State,
    request: &HttpRequest,
    recorded: &RecordedRequest,
    identity_id: &str,
) -> Reply {
    let unauthorized = |detail: &str| {
        api_error(401, "UNAUTHORIZED", detail).with_header("WWW-Authenticate", "Bearer")
    };
    let Some(token) = bearer_token(request) else {
        return unauthorized("Call must be authenticated with a Bearer token");
    };
    let Some(at) = state
        .access_tokens
        .get(token)
        .filter(|_| state.access_token_valid(token))
    else {
        return unauthorized("Token is not active");
    };
    if at.resource_server != AUTH_RESOURCE_SERVER {
        return unauthorized("Token is not for auth.globus.org");
    }
    let all = match recorded.query_value("all") {
        None => false,
        Some(value) if ["true", "1"].contains(&value.to_ascii_lowercase().as_str()) => true,
        Some(value) if ["false", "0"].contains(&value.to_ascii_lowercase().as_str()) => false,
        Some(_) => return api_error(400, "BAD_REQUEST", "all must be a boolean"),
    };
    if at.identity_id != identity_id {
        return api_error(403, "FORBIDDEN", "Cannot view consents of another identity");
    }
    let consents = if all {
        if !split_scopes(&at.scope)
            .iter()
            .any(|s| s == VIEW_CONSENTS_SCOPE)
        {
            return api_error(
                403,
                "FORBIDDEN",
                "Viewing all consents needs the view_consents scope",
            );
        }
        state.consents.list(identity_id, None)
    } else {
        match &at.client_id {
            Some(client) => state.consents.list(identity_id, Some(client)),
            None => Vec::new(),
        }
    };
    json_reply(200, &json!({ "consents": consents }))
}

/// The `{identity_id}` of `/v2/api/identities/{identity_id}/consents`.
pub(super) fn consents_identity(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix(IDENTITIES_PREFIX)?
        .strip_suffix("/consents")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(nodes: &[ScopeNode]) -> Vec<String> {
        nodes
            .iter()
            .map(|n| {
                let inner = names(&n.children);
                let star = if n.optional { "*" } else { "" };
                if inner.is_empty() {
                    format!("{star}{}", n.name)
                } else {
                    format!("{star}{}[{}]", n.name, inner.join(" "))
                }
            })
            .collect()
    }

    #[test]
    fn scope_strings_parse_into_trees() {
        let parsed = parse_scopes("openid  t:all[ a *b[c d] ]\te").unwrap();
        assert_eq!(names(&parsed), ["openid", "t:all[a *b[c d]]", "e"]);
        assert!(parsed[1].children[1].optional);
        for bad in ["", "  ", "a[b", "a]b", "[a]", "a[]", "a[b][c]", "*"] {
            assert!(parse_scopes(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn dates_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(iso8601(1_710_783_244), "2024-03-18T17:34:04.000000+00:00");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000000+00:00");
    }

    #[test]
    fn grants_reuse_paths_and_removal_takes_dependents() {
        let mut store = ConsentStore::default();
        let client_of = |scope: &str| format!("client-of-{scope}");
        let tree = parse_scopes("t[a b]").unwrap();
        let ids = store.grant("me", "app", &tree, &client_of, 10);
        assert_eq!(ids.len(), 3);
        let again = store.grant(
            "me",
            "app",
            &parse_scopes("t[b c]").unwrap(),
            &client_of,
            20,
        );
        assert_eq!(again[..2], [ids[0], ids[2]], "t and t[b] are reused");
        let listed = store.list("me", Some("app"));
        assert_eq!(listed.len(), 4);
        assert_eq!(listed[1]["client"], "client-of-t");
        assert_eq!(listed[1]["dependency_path"], json!([ids[0], ids[1]]));
        assert_eq!(listed[0]["last_used"], iso8601(20));
        assert!(store.list("me", Some("other")).is_empty());
        assert!(store.list("you", None).is_empty());
        assert!(store.remove(ids[0]));
        assert!(store.list("me", None).is_empty());
        assert!(!store.remove(ids[0]));
    }
}
