//! An in-process Globus Auth, served over real HTTP on loopback, for tests of OAuth2 clients.
//!
//! [`FakeAuthServer::start`] binds `127.0.0.1` on an OS-chosen port and answers the Globus
//! Auth endpoints a token client uses, with the same wire shapes as the real service:
//!
//! | Endpoint | Behaviour |
//! |---|---|
//! | `POST v2/oauth2/token` | `refresh_token`, `client_credentials` and `authorization_code` (PKCE S256) grants |
//! | `POST v2/oauth2/token/revoke` | marks a token revoked; `200 {"active": false}` |
//! | `GET v2/oauth2/authorize` | `302` to `redirect_uri?code=..&state=..` (or an `error=` redirect) |
//! | `GET v2/test/protected` | `200 {"ok":true}` for `Authorization: Bearer <valid access token>`, else `401` |
//! | `GET .well-known/openid-configuration` | Globus Auth's discovery document: `issuer` (the base URL without its `/`, or [`FakeAuthServer::set_issuer`]), `jwks_uri` = `{base}jwk.json`, `id_token_signing_alg_values_supported: ["RS512"]`, endpoints |
//! | `GET jwk.json` | `{"keys": [{"alg": "RS512", "e", "kid", "kty": "RSA", "n", "use": "sig"}]}`: the current test signing key ([`FakeAuthServer::rotate_signing_key`]) |
//! | `GET v2/api/identities/{id}/consents[?all=true]` | `{"consents": [...]}` for `Authorization: Bearer <valid auth.globus.org token>` of that identity: the trees rooted at the token's client, or every tree with `all=true` (needs the `view_consents` scope); `401` / `403` otherwise |
//!
//! Anything else is `404` (`405` for a known path with the wrong method). Every response
//! carries `Connection: close`, so every request arrives on a new connection.
//!
//! `id_token`s (issued by the code grant when `openid` was asked for) are RS512 JWTs signed
//! with one of two test-only keys embedded in the testkit, carrying Globus Auth's claims for
//! the fake's one user ([`IDENTITY_ID`]); [`FakeAuthServer::set_id_token_fault`] makes them
//! forged, expired-by-lifetime, for another audience, and so on, and [`FakeAuthServer::id_token`]
//! signs any token a test needs. Approving an authorize request records consents for its
//! scopes, dependent scopes (`scope[dep1 dep2[dep3]]`) included;
//! [`FakeAuthServer::grant_consents`] and [`FakeAuthServer::remove_consent`] change them
//! directly.
//!
//! Faults can be injected into the token endpoint with [`FakeAuthServer::fail_next`], into
//! the revoke endpoint with [`FakeAuthServer::fail_next_revoke`] and into any other path with
//! [`FakeAuthServer::fail_next_path`], and every request is recorded
//! ([`FakeAuthServer::requests`]).
//!
//! ```
//! use globus_tokens_testkit::fake_auth::FakeAuthServer;
//!
//! let server = FakeAuthServer::start();
//! server.register_native_client("my-client");
//! let rt = server.issue_refresh_token(
//!     "my-client",
//!     "transfer.api.globus.org",
//!     "urn:globus:auth:scope:transfer.api.globus.org:all",
//! );
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! assert!(server.is_valid_refresh_token(&rt));
//! ```

mod consents;
mod endpoints;
mod http;
mod oidc;
mod services;

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use self::consents::{ConsentStore, consents_endpoint, consents_identity};
use self::endpoints::{
    authorize_endpoint, bearer_token, protected_endpoint, revoke_endpoint, token_endpoint,
};
use self::http::{HttpRequest, Listener, Reply};
use self::oidc::OidcState;
pub use self::oidc::{
    IDENTITY_EMAIL, IDENTITY_NAME, IDENTITY_PROVIDER, IdTokenBuilder, IdTokenFault,
    SIGNING_ALGORITHM, SIGNING_KEY_IDS,
};
use self::services::{introspect_endpoint, userinfo_endpoint, validate_endpoint};

/// The identity id (`sub`) in every `id_token` the server issues.
pub const IDENTITY_ID: &str = "8f7e9c1a-3b5d-4e2f-9a6b-0c1d2e3f4a5b";
/// The `preferred_username` in every `id_token` the server issues.
pub const IDENTITY_USERNAME: &str = "tester@globusid.org";
/// `expires_in` of issued tokens until [`FakeAuthServer::set_expires_in`] changes it.
pub const DEFAULT_EXPIRES_IN: i64 = 172_800;
/// The resource server of the `openid`, `profile` and `email` scopes.
pub const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";

const TOKEN_PATH: &str = "/v2/oauth2/token";
const REVOKE_PATH: &str = "/v2/oauth2/token/revoke";
const AUTHORIZE_PATH: &str = "/v2/oauth2/authorize";
const PROTECTED_PATH: &str = "/v2/test/protected";
const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
const JWKS_PATH: &str = "/jwk.json";
const INTROSPECT_PATH: &str = "/v2/oauth2/token/introspect";
const USERINFO_PATH: &str = "/v2/oauth2/userinfo";
const VALIDATE_PATH: &str = "/v2/oauth2/token/validate";
const IDENTITIES_PREFIX: &str = "/v2/api/identities/";
/// The scope that lets a token list every consent of its identity (`?all=true`).
pub const VIEW_CONSENTS_SCOPE: &str = "urn:globus:auth:scope:auth.globus.org:view_consents";

/// A fault injected into the token endpoint by [`FakeAuthServer::fail_next`] (the revoke
/// endpoint by [`FakeAuthServer::fail_next_revoke`], any other path by
/// [`FakeAuthServer::fail_next_path`]).
///
/// Each queued failure replaces the normal handling of one request (the request is still
/// recorded and counted). Bodies that imitate a token response do so whatever the path.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `500` with a Globus-style JSON error body.
    ServerError,
    /// `429` with `Retry-After: <retry_after_seconds>` and a JSON error body.
    TooManyRequests {
        /// Value of the `Retry-After` header.
        retry_after_seconds: u64,
    },
    /// `400 {"error": "invalid_grant", ...}`, whatever the request was.
    InvalidGrant,
    /// Sleep this long, then handle the request normally.
    Slow(Duration),
    /// Sleep this long without replying, then close the connection without a response.
    Hang(Duration),
    /// `200 application/json` whose body is a token response cut off half way: a complete
    /// HTTP response (correct `Content-Length`) carrying invalid JSON.
    TruncatedJson,
    /// `200` announcing a full token response in `Content-Length` but closing the
    /// connection half way through the body (a transport-level truncation).
    TruncatedBody,
    /// `200 text/html` with an HTML page, as a proxy or captive portal might send.
    WrongContentType,
    /// Read the request, then close the connection without sending any response.
    ConnectionReset,
    /// Read the request, then abort the connection with a TCP reset (RST).
    TcpReset,
    /// `200 application/json` with an empty body.
    EmptyBody,
    /// `200 application/json` whose body is not JSON.
    Garbage,
    /// `400` whose `error`, `error_description` and `errors[0].detail` echo the request's
    /// form body (form-encoded, as sent) and its `Authorization` header, as a misbehaving
    /// server might.
    EchoRequest,
    /// This status with this JSON body (e.g. a discovery document without `jwks_uri`).
    JsonBody {
        /// HTTP status.
        status: u16,
        /// The body.
        body: Value,
    },
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path without the query, e.g. `/v2/oauth2/token`.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Headers with lowercased names, in order.
    pub headers: Vec<(String, String)>,
    /// Decoded `application/x-www-form-urlencoded` body fields, in order (empty for other
    /// content types).
    pub form: Vec<(String, String)>,
}

impl RecordedRequest {
    /// First form field with this name.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        lookup(&self.form, name)
    }

    /// First query parameter with this name.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        lookup(&self.query, name)
    }

    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        lookup(&self.headers, &name)
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A fake Globus Auth on `127.0.0.1`. Dropping it stops the server.
///
/// All methods take `&self`; the server is `Send + Sync` and can be shared across threads.
pub struct FakeAuthServer {
    shared: Arc<Shared>,
    listener: Listener,
    base_url: String,
}

impl std::fmt::Debug for FakeAuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAuthServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    shutdown: Arc<AtomicBool>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct AccessToken {
    resource_server: String,
    scope: String,
    /// The client it was issued to (`None` for seeded tokens).
    client_id: Option<String>,
    /// Whose token it is: the fake's user, or a client's own identity (client credentials).
    identity_id: String,
    expires_at: Instant,
    revoked: bool,
    /// The authorization grant this token belongs to (for revocation of a refresh token).
    grant: Option<u64>,
}

struct RefreshToken {
    client_id: String,
    /// The identity its access tokens act for.
    identity_id: String,
    resource_server: String,
    scope: String,
    /// Used (rotated away) or revoked.
    invalid: bool,
    grant: u64,
}

struct AuthorizationCode {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    code_challenge: String,
    offline: bool,
    state: Option<String>,
    used: bool,
}

struct State {
    /// `http://127.0.0.1:PORT/`, set once the listener is bound.
    base_url: String,
    oidc: OidcState,
    consents: ConsentStore,
    path_failures: HashMap<String, VecDeque<Failure>>,
    native_clients: HashSet<String>,
    confidential_clients: HashMap<String, String>,
    expires_in: i64,
    rotate_refresh_tokens: bool,
    token_delay: Duration,
    authorize_error: Option<String>,
    withheld_scopes: Vec<String>,
    services: services::ServiceState,
    failures: VecDeque<Failure>,
    revoke_failures: VecDeque<Failure>,
    access_tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, RefreshToken>,
    codes: HashMap<String, AuthorizationCode>,
    requests: Vec<RecordedRequest>,
    token_requests: usize,
    revoke_requests: usize,
    revoked: Vec<String>,
    counter: u64,
    random: RandomState,
}

impl State {
    fn new() -> Self {
        State {
            base_url: String::new(),
            oidc: OidcState::new(),
            consents: ConsentStore::default(),
            path_failures: HashMap::new(),
            native_clients: HashSet::new(),
            confidential_clients: HashMap::new(),
            expires_in: DEFAULT_EXPIRES_IN,
            rotate_refresh_tokens: true,
            token_delay: Duration::ZERO,
            authorize_error: None,
            withheld_scopes: Vec::new(),
            services: services::ServiceState::default(),
            failures: VecDeque::new(),
            revoke_failures: VecDeque::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            requests: Vec::new(),
            token_requests: 0,
            revoke_requests: 0,
            revoked: Vec::new(),
            counter: 0,
            random: RandomState::new(),
        }
    }

    /// A fresh value, unique within this server and unpredictable across servers.
    fn unique(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let mut hasher = self.random.build_hasher();
        hasher.write_u64(self.counter);
        let noise = hasher.finish();
        format!("{prefix}{noise:016x}{:08x}", self.counter)
    }

    fn next_grant(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn new_access_token(
        &mut self,
        owner: Owner<'_>,
        resource_server: &str,
        scope: &str,
        grant: Option<u64>,
    ) -> String {
        let token = self.unique("AT");
        let expires_at = expiry(self.expires_in);
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                resource_server: resource_server.to_owned(),
                scope: scope.to_owned(),
                client_id: owner.client_id.map(str::to_owned),
                identity_id: owner.identity_id.to_owned(),
                expires_at,
                revoked: false,
                grant,
            },
        );
        token
    }

    fn new_refresh_token(
        &mut self,
        client_id: &str,
        resource_server: &str,
        scope: &str,
        grant: u64,
    ) -> String {
        self.new_refresh_token_for(IDENTITY_ID, client_id, resource_server, scope, grant)
    }

    fn new_refresh_token_for(
        &mut self,
        identity_id: &str,
        client_id: &str,
        resource_server: &str,
        scope: &str,
        grant: u64,
    ) -> String {
        let token = self.unique("RT");
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                client_id: client_id.to_owned(),
                identity_id: identity_id.to_owned(),
                resource_server: resource_server.to_owned(),
                scope: scope.to_owned(),
                invalid: false,
                grant,
            },
        );
        token
    }

    fn access_token_valid(&self, token: &str) -> bool {
        self.access_tokens
            .get(token)
            .is_some_and(|at| !at.revoked && Instant::now() < at.expires_at)
    }

    /// Revoke an access or refresh token. Revoking a refresh token also revokes every token
    /// of the same grant (RFC 7009 section 2.1).
    fn revoke(&mut self, token: &str) {
        if let Some(at) = self.access_tokens.get_mut(token) {
            at.revoked = true;
        }
        if let Some(grant) = self.refresh_tokens.get(token).map(|rt| rt.grant) {
            for rt in self
                .refresh_tokens
                .values_mut()
                .filter(|rt| rt.grant == grant)
            {
                rt.invalid = true;
            }
            for at in self
                .access_tokens
                .values_mut()
                .filter(|at| at.grant == Some(grant))
            {
                at.revoked = true;
            }
        }
    }
}

/// Who an access token is for: issued to `client_id`, acting as `identity_id`.
#[derive(Clone, Copy)]
struct Owner<'a> {
    client_id: Option<&'a str>,
    identity_id: &'a str,
}

impl<'a> Owner<'a> {
    /// The fake's one user, through `client_id`.
    fn user(client_id: Option<&'a str>) -> Self {
        Owner {
            client_id,
            identity_id: IDENTITY_ID,
        }
    }
}

/// Seconds since the Unix epoch, by the system clock.
fn now_seconds() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(now).unwrap_or(i64::MAX)
}

fn expiry(expires_in: i64) -> Instant {
    let now = Instant::now();
    match u64::try_from(expires_in) {
        Ok(seconds) => now
            .checked_add(Duration::from_secs(seconds))
            .unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)),
        Err(_) => now,
    }
}

/// `base64url-no-pad(sha256(verifier))`: the PKCE S256 `code_challenge` for a verifier.
pub fn pkce_challenge(code_verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()))
}

/// The resource server a scope string belongs to, as Globus Auth assigns it:
/// `urn:globus:auth:scope:RS:NAME` → `RS`; `openid`, `profile`, `email` →
/// `auth.globus.org`; `https://auth.globus.org/scopes/RS/NAME` → `RS`. A dependent-scope
/// suffix (`[...]`) is ignored. `None` for anything else.
pub fn resource_server_of_scope(scope: &str) -> Option<String> {
    let base = scope.split('[').next().unwrap_or(scope);
    if matches!(base, "openid" | "profile" | "email") {
        return Some(AUTH_RESOURCE_SERVER.to_owned());
    }
    if let Some(rest) = base.strip_prefix("urn:globus:auth:scope:") {
        let (rs, name) = rest.rsplit_once(':')?;
        return (!rs.is_empty() && !name.is_empty()).then(|| rs.to_owned());
    }
    if let Some(rest) = base.strip_prefix("https://auth.globus.org/scopes/") {
        let (rs, name) = rest.split_once('/')?;
        return (!rs.is_empty() && !name.is_empty()).then(|| rs.to_owned());
    }
    None
}

/// Group scopes by resource server, in order of first appearance. `Err(scope)` names the
/// first scope with no resource server.
fn group_scopes(scopes: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for scope in scopes {
        let rs = resource_server_of_scope(scope).ok_or_else(|| scope.clone())?;
        match groups.iter_mut().find(|(name, _)| *name == rs) {
            Some((_, list)) => {
                if !list.contains(scope) {
                    list.push(scope.clone());
                }
            }
            None => groups.push((rs, vec![scope.clone()])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(rs, list)| (rs, list.join(" ")))
        .collect())
}

fn split_scopes(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_owned).collect()
}

impl FakeAuthServer {
    /// Bind `127.0.0.1:0` and serve in background threads (one per connection, so any
    /// number of concurrent requests, and an injected hang blocks only its own connection).
    ///
    /// Panics if the socket cannot be bound.
    pub fn start() -> Self {
        let shutdown = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            shutdown: Arc::clone(&shutdown),
        });
        let handler_state = Arc::clone(&shared);
        let listener = Listener::start(
            shutdown,
            Arc::new(move |request| handle(&handler_state, request)),
        )
        .expect("fake Globus Auth: bind 127.0.0.1:0");
        let base_url = format!("http://{}/", listener.addr());
        shared.state().base_url.clone_from(&base_url);
        FakeAuthServer {
            shared,
            listener,
            base_url,
        }
    }

    /// `http://127.0.0.1:PORT/`, with the trailing slash. Use it as
    /// `GLOBUS_SDK_SERVICE_URL_AUTH`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.listener.addr()
    }

    /// `base_url() + "v2/oauth2/token"`.
    pub fn token_url(&self) -> String {
        format!("{}v2/oauth2/token", self.base_url)
    }

    /// `base_url() + "v2/oauth2/token/revoke"`.
    pub fn revoke_url(&self) -> String {
        format!("{}v2/oauth2/token/revoke", self.base_url)
    }

    /// `base_url() + "v2/oauth2/authorize"`.
    pub fn authorize_url_base(&self) -> String {
        format!("{}v2/oauth2/authorize", self.base_url)
    }

    /// `base_url() + "v2/test/protected"`: `200 {"ok":true}` with
    /// `Authorization: Bearer <valid access token>`, otherwise `401`.
    pub fn protected_url(&self) -> String {
        format!("{}v2/test/protected", self.base_url)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// Register a native (public) client: it identifies itself with `client_id` in the form.
    pub fn register_native_client(&self, client_id: &str) {
        self.state().native_clients.insert(client_id.to_owned());
    }

    /// Register a confidential client: it authenticates with HTTP Basic
    /// (`client_secret_post`, i.e. `client_id` + `client_secret` form fields, is accepted too).
    pub fn register_confidential_client(&self, client_id: &str, client_secret: &str) {
        self.state()
            .confidential_clients
            .insert(client_id.to_owned(), client_secret.to_owned());
    }

    /// `expires_in` of tokens issued from now on (default [`DEFAULT_EXPIRES_IN`]). Zero or
    /// negative values issue access tokens that are already expired.
    pub fn set_expires_in(&self, seconds: i64) {
        self.state().expires_in = seconds;
    }

    /// Scopes the authorization-code grant leaves out of the tokens it issues (default none), as
    /// when Globus Auth grants less than a login asked for; a resource server left with no
    /// scope gets no token.
    pub fn set_withheld_scopes(&self, scopes: &[&str]) {
        self.state().withheld_scopes = scopes.iter().map(|&scope| scope.to_owned()).collect();
    }

    /// Whether a refresh grant invalidates the refresh token it used and returns a new one
    /// (default `true`). When `false` the same refresh token is returned and stays valid.
    pub fn set_rotate_refresh_tokens(&self, rotate: bool) {
        self.state().rotate_refresh_tokens = rotate;
    }

    /// Every token-endpoint request waits this long before it is handled (injected failures
    /// included), to widen race windows. Default zero.
    pub fn set_token_delay(&self, delay: Duration) {
        self.state().token_delay = delay;
    }

    /// When `Some(error)`, `v2/oauth2/authorize` redirects with `?error=<error>&
    /// error_description=...&state=...` instead of a code (e.g. `"access_denied"` for refused
    /// consent). `None` restores normal behaviour.
    pub fn set_authorize_error(&self, error: Option<&str>) {
        self.state().authorize_error = error.map(str::to_owned);
    }

    /// Seed a valid refresh token for `client_id` (which need not be registered yet) and
    /// return it.
    pub fn issue_refresh_token(
        &self,
        client_id: &str,
        resource_server: &str,
        scope: &str,
    ) -> String {
        let mut state = self.state();
        let grant = state.next_grant();
        state.new_refresh_token(client_id, resource_server, scope, grant)
    }

    /// Seed a valid access token (valid for the current `expires_in`) and return it.
    pub fn issue_access_token(&self, resource_server: &str, scope: &str) -> String {
        self.state()
            .new_access_token(Owner::user(None), resource_server, scope, None)
    }

    /// Whether `token` was issued by this server, is not revoked and has not expired.
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        self.state().access_token_valid(token)
    }

    /// Whether `token` is a refresh token of this server that is neither used (rotated away)
    /// nor revoked.
    pub fn is_valid_refresh_token(&self, token: &str) -> bool {
        self.state()
            .refresh_tokens
            .get(token)
            .is_some_and(|rt| !rt.invalid)
    }

    /// The resource server and scope an access token was issued for.
    pub fn access_token_info(&self, token: &str) -> Option<(String, String)> {
        self.state()
            .access_tokens
            .get(token)
            .map(|at| (at.resource_server.clone(), at.scope.clone()))
    }

    /// Revoke a token directly, as if revoked elsewhere (not recorded as a request, not
    /// listed by [`FakeAuthServer::revoked_tokens`]).
    pub fn revoke_token(&self, token: &str) {
        self.state().revoke(token);
    }

    /// Queue failures: each of the next token-endpoint requests gets the next one instead
    /// of normal handling.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        self.state().failures.extend(failures);
    }

    /// Queue failures for the revoke endpoint: each of the next revoke requests gets the next
    /// one instead of normal handling (the token is then not revoked).
    pub fn fail_next_revoke(&self, failures: impl IntoIterator<Item = Failure>) {
        self.state().revoke_failures.extend(failures);
    }

    /// Queued failures not yet used.
    pub fn pending_failures(&self) -> usize {
        self.state().failures.len()
    }

    /// `POST v2/oauth2/token` requests received, including failed and injected ones.
    pub fn token_requests(&self) -> usize {
        self.state().token_requests
    }

    /// `POST v2/oauth2/token/revoke` requests received.
    pub fn revoke_requests(&self) -> usize {
        self.state().revoke_requests
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Forget recorded requests and reset [`FakeAuthServer::token_requests`] and
    /// [`FakeAuthServer::revoke_requests`] (tokens and clients stay).
    pub fn clear_requests(&self) {
        let mut state = self.state();
        state.requests.clear();
        state.token_requests = 0;
        state.revoke_requests = 0;
    }

    /// Tokens named in revoke requests that were accepted, in order.
    pub fn revoked_tokens(&self) -> Vec<String> {
        self.state().revoked.clone()
    }

    /// Queue failures for `path` (e.g. `"/jwk.json"`, `"/.well-known/openid-configuration"`):
    /// each of the next requests to it, whatever the method, gets the next one instead of
    /// normal handling. The token and revoke endpoints use [`FakeAuthServer::fail_next`] and
    /// [`FakeAuthServer::fail_next_revoke`] instead.
    pub fn fail_next_path(&self, path: &str, failures: impl IntoIterator<Item = Failure>) {
        self.state()
            .path_failures
            .entry(path.to_owned())
            .or_default()
            .extend(failures);
    }

    /// Requests received for `path` (without the query), in all methods.
    pub fn requests_to(&self, path: &str) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|request| request.path == path)
            .count()
    }

    /// Seed a valid access token of the fake's user ([`IDENTITY_ID`]) issued to `client_id`,
    /// e.g. an `auth.globus.org` token for the consents endpoint.
    pub fn issue_access_token_for_client(
        &self,
        client_id: &str,
        resource_server: &str,
        scope: &str,
    ) -> String {
        self.state()
            .new_access_token(Owner::user(Some(client_id)), resource_server, scope, None)
    }
}

impl Drop for FakeAuthServer {
    fn drop(&mut self) {
        self.listener.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling

fn parse_pairs(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn record(request: &HttpRequest) -> RecordedRequest {
    let is_form = request.header("content-type").is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    RecordedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request
            .query
            .as_deref()
            .map(|q| parse_pairs(q.as_bytes()))
            .unwrap_or_default(),
        headers: request.headers.clone(),
        form: if is_form {
            parse_pairs(&request.body)
        } else {
            Vec::new()
        },
    }
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::new(status, "application/json", body.to_string())
}

/// Globus Auth's error JSON: OAuth2 `error` / `error_description` plus the `errors` array.
fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
    json_reply(
        status,
        &json!({
            "error": error,
            "error_description": description,
            "errors": [{
                "code": error,
                "detail": description,
                "status": status.to_string(),
            }],
        }),
    )
}

fn handle(shared: &Shared, request: HttpRequest) -> Reply {
    let recorded = record(&request);
    let route = (request.method.as_str(), request.path.as_str());
    let (delay, failure) = {
        let mut state = shared.state();
        state.requests.push(recorded.clone());
        match route {
            ("POST", TOKEN_PATH) => {
                state.token_requests += 1;
                (state.token_delay, state.failures.pop_front())
            }
            ("POST", REVOKE_PATH) => {
                state.revoke_requests += 1;
                (Duration::ZERO, state.revoke_failures.pop_front())
            }
            (_, path) => (
                Duration::ZERO,
                state
                    .path_failures
                    .get_mut(path)
                    .and_then(VecDeque::pop_front),
            ),
        }
    };
    if !delay.is_zero() && !http::sleep_unless(&shared.shutdown, delay) {
        return Reply::Close;
    }
    if let Some(failure) = failure
        && let Some(reply) = injected(shared, &request, failure)
    {
        return reply;
    }
    match route {
        ("POST", TOKEN_PATH) => token_endpoint(&mut shared.state(), &request, &recorded),
        ("POST", REVOKE_PATH) => revoke_endpoint(&mut shared.state(), &request, &recorded),
        ("GET", AUTHORIZE_PATH) => authorize_endpoint(&mut shared.state(), &recorded),
        (_, PROTECTED_PATH) => protected_endpoint(&shared.state(), &request),
        ("GET", OPENID_CONFIGURATION_PATH) => {
            let state = shared.state();
            json_reply(200, &state.oidc.configuration(&state.base_url))
        }
        ("GET", JWKS_PATH) => json_reply(200, &shared.state().oidc.jwks()),
        ("POST", INTROSPECT_PATH) => introspect_endpoint(&shared.state(), &request, &recorded),
        ("GET", USERINFO_PATH) => userinfo_endpoint(&shared.state(), &request),
        ("POST", VALIDATE_PATH) => validate_endpoint(&shared.state(), &request, &recorded),
        ("GET", path) if consents_identity(path).is_some() => {
            let identity_id = consents_identity(path).unwrap_or_default();
            consents_endpoint(&shared.state(), &request, &recorded, identity_id)
        }
        (_, TOKEN_PATH | REVOKE_PATH) => {
            oauth_error(405, "invalid_request", "method not allowed").with_header("Allow", "POST")
        }
        (_, AUTHORIZE_PATH | OPENID_CONFIGURATION_PATH | JWKS_PATH) => {
            Reply::new(405, "text/plain", "method not allowed\n").with_header("Allow", "GET")
        }
        (_, path) if consents_identity(path).is_some() => {
            Reply::new(405, "text/plain", "method not allowed\n").with_header("Allow", "GET")
        }
        _ => json_reply(
            404,
            &json!({"error": "not_found", "error_description": "no such endpoint"}),
        ),
    }
}

/// The reply for an injected failure; `None` means continue with normal handling.
fn injected(shared: &Shared, request: &HttpRequest, failure: Failure) -> Option<Reply> {
    let sample = json!({
        "access_token": "AT-truncated",
        "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
        "expires_in": DEFAULT_EXPIRES_IN,
        "token_type": "Bearer",
        "resource_server": "transfer.api.globus.org",
        "refresh_token": "RT-truncated",
        "other_tokens": [],
    })
    .to_string();
    Some(match failure {
        Failure::ServerError => oauth_error(500, "internal_error", "injected server error"),
        Failure::TooManyRequests {
            retry_after_seconds,
        } => oauth_error(429, "too_many_requests", "injected rate limit")
            .with_header("Retry-After", retry_after_seconds.to_string()),
        Failure::InvalidGrant => oauth_error(400, "invalid_grant", "injected invalid_grant"),
        Failure::Slow(duration) => {
            if !http::sleep_unless(&shared.shutdown, duration) {
                return Some(Reply::Close);
            }
            return None;
        }
        Failure::Hang(duration) => {
            http::sleep_unless(&shared.shutdown, duration);
            Reply::Close
        }
        Failure::TruncatedJson => {
            let cut = sample.len() / 2;
            Reply::new(200, "application/json", &sample.as_bytes()[..cut])
        }
        Failure::TruncatedBody => {
            let full = sample.len();
            match Reply::new(200, "application/json", &sample.as_bytes()[..full / 2]) {
                Reply::Response {
                    status,
                    content_type,
                    extra_headers,
                    body,
                    ..
                } => Reply::Response {
                    status,
                    content_type,
                    extra_headers,
                    body,
                    declared_length: Some(full),
                },
                other => other,
            }
        }
        Failure::WrongContentType => Reply::new(
            200,
            "text/html; charset=utf-8",
            "<html><head><title>Maintenance</title></head><body><h1>Globus Auth is down for maintenance</h1></body></html>",
        ),
        Failure::ConnectionReset => Reply::Close,
        Failure::TcpReset => Reply::Reset,
        Failure::EmptyBody => Reply::new(200, "application/json", ""),
        Failure::Garbage => Reply::new(200, "application/json", "\u{1}garbage{not json"),
        Failure::JsonBody { status, body } => json_reply(status, &body),
        Failure::EchoRequest => {
            let form = String::from_utf8_lossy(&request.body);
            let authorization = request.header("authorization").unwrap_or("none");
            let echo = format!("could not parse {form} (authorization: {authorization})");
            json_reply(
                400,
                &json!({
                    "error": format!("invalid_request {form}"),
                    "error_description": echo,
                    "errors": [{"code": "BAD_REQUEST", "detail": echo, "status": "400"}],
                }),
            )
        }
    })
}
