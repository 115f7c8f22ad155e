//! `NativeClient`: fair-research-login's login, load, refresh and logout.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use globus_authorizers::{
    AccessTokenAuthorizer, AuthClient, AuthError, AuthorizeParams, GlobusAuthorizer, PkceVerifier,
    RefreshTokenAuthorizer, StoreRenewal,
};
use globus_tokens_core::{Clock, Secret, TokenData, TokenStorage};

use crate::error::{LoginError, Result, RevocationFailure, TokenKind};
use crate::handlers::{
    CodeHandler, CodeOutcome, HandlerContext, InputCodeHandler, LocalServerCodeHandler,
};
use crate::storage::{
    LoginStorageView, LoginTokenStorage, MultiClientTokenStorage, login_group, renewed_group,
};

/// Tokens by resource server, as `by_resource_server` gives them.
pub type TokensByResourceServer = BTreeMap<String, TokenData>;

/// Options of [`NativeClient::login`] (fair-research-login's `login()` keyword arguments).
///
/// ```
/// use globus_native_login::LoginOptions;
/// let options = LoginOptions::new()
///     .requested_scopes(["openid", "profile"])
///     .refresh_tokens(true)
///     .no_browser(true)
///     .query_param("session_required_single_domain", "example.org");
/// assert_eq!(options.requested_scopes.as_deref(), Some(&["openid".to_owned(), "profile".to_owned()][..]));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoginOptions {
    /// Scopes to log in with; `None` uses the client's default scopes.
    pub requested_scopes: Option<Vec<String>>,
    /// Ask for refresh tokens (`access_type=offline`).
    pub refresh_tokens: bool,
    /// Run a login flow even when saved tokens would do.
    pub force: bool,
    /// The grant name on the consent page; default `"{app_name} Login"`.
    pub prefill_named_grant: Option<String>,
    /// Extra query parameters for the authorize URL (fair-research-login's `query_params`).
    pub query_params: Vec<(String, String)>,
    /// Do not use the local server handler.
    pub no_local_server: bool,
    /// Do not open a browser; print the URL.
    pub no_browser: bool,
}

impl LoginOptions {
    /// Defaults: client's scopes, no refresh tokens, not forced, local server and browser on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the requested scopes.
    pub fn requested_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.requested_scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Ask for refresh tokens.
    pub fn refresh_tokens(mut self, value: bool) -> Self {
        self.refresh_tokens = value;
        self
    }

    /// Force a login flow.
    pub fn force(mut self, value: bool) -> Self {
        self.force = value;
        self
    }

    /// Name the grant.
    pub fn prefill_named_grant(mut self, name: impl Into<String>) -> Self {
        self.prefill_named_grant = Some(name.into());
        self
    }

    /// Add a query parameter to the authorize URL.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query_params.push((name.into(), value.into()));
        self
    }

    /// Skip the local server.
    pub fn no_local_server(mut self, value: bool) -> Self {
        self.no_local_server = value;
        self
    }

    /// Do not open a browser.
    pub fn no_browser(mut self, value: bool) -> Self {
        self.no_browser = value;
        self
    }
}

/// An authorizer from [`NativeClient::get_authorizers`]: a refresh-token authorizer where a
/// refresh token is saved (its renewals are saved to the client's storage), an access-token
/// authorizer otherwise.
#[derive(Debug)]
#[non_exhaustive]
// Made once per resource server and kept behind an `Arc`; boxing would only add a step.
#[allow(clippy::large_enum_variant)]
pub enum LoginAuthorizer {
    /// Renews with the saved refresh token.
    RefreshToken(RefreshTokenAuthorizer),
    /// The saved access token, until it expires.
    AccessToken(AccessTokenAuthorizer),
}

impl GlobusAuthorizer for LoginAuthorizer {
    fn get_authorization_header(&self) -> globus_authorizers::Result<Option<String>> {
        match self {
            LoginAuthorizer::RefreshToken(a) => a.get_authorization_header(),
            LoginAuthorizer::AccessToken(a) => a.get_authorization_header(),
        }
    }

    fn handle_missing_authorization(&self) -> bool {
        match self {
            LoginAuthorizer::RefreshToken(a) => a.handle_missing_authorization(),
            LoginAuthorizer::AccessToken(a) => a.handle_missing_authorization(),
        }
    }
}

/// fair-research-login's `NativeClient`: log a user in with the native-app (PKCE) flow, keep
/// their tokens, load and refresh them, log out.
///
/// Built with [`NativeClient::builder`]. Defaults follow fair-research-login: app name
/// `"My App"`, storage [`MultiClientTokenStorage`] in `~/.globus-native-apps.cfg` (section =
/// client id), handlers [`LocalServerCodeHandler`] then [`InputCodeHandler`], and an
/// [`AuthClient`] for the client id with the base URL from `GLOBUS_SDK_ENVIRONMENT`.
///
/// ```no_run
/// use globus_native_login::{LoginOptions, NativeClient};
///
/// let client = NativeClient::builder("my-client-id").app_name("My Tool").build()?;
/// let tokens = client.login(&LoginOptions::new()
///     .requested_scopes(["openid", "urn:globus:auth:scope:transfer.api.globus.org:all"])
///     .refresh_tokens(true))?;
/// // Later runs: saved tokens, refreshed (and saved) when expired.
/// let authorizers = client.get_authorizers(&["urn:globus:auth:scope:transfer.api.globus.org:all"])?;
/// # Ok::<(), globus_native_login::LoginError>(())
/// ```
pub struct NativeClient {
    client_id: String,
    app_name: String,
    default_scopes: Vec<String>,
    storage: Option<Arc<dyn LoginTokenStorage>>,
    code_handlers: Vec<Arc<dyn CodeHandler>>,
    auth_client: Arc<AuthClient>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for NativeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeClient")
            .field("client_id", &self.client_id)
            .field("app_name", &self.app_name)
            .field("default_scopes", &self.default_scopes)
            .field("storage", &self.storage)
            .field("code_handlers", &self.code_handlers)
            .field("auth_client", &self.auth_client)
            .finish_non_exhaustive()
    }
}

/// Builds a [`NativeClient`].
pub struct NativeClientBuilder {
    client_id: String,
    app_name: Option<String>,
    default_scopes: Vec<String>,
    storage: StorageChoice,
    code_handlers: Option<Vec<Arc<dyn CodeHandler>>>,
    auth_client: Option<Arc<AuthClient>>,
    clock: Option<Arc<dyn Clock>>,
}

enum StorageChoice {
    Default,
    Disabled,
    Given(Arc<dyn LoginTokenStorage>),
}

impl std::fmt::Debug for NativeClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeClientBuilder")
            .field("client_id", &self.client_id)
            .field("app_name", &self.app_name)
            .finish_non_exhaustive()
    }
}

impl NativeClientBuilder {
    /// The application name (default `"My App"`): the grant name and the local server's page.
    pub fn app_name(mut self, app_name: impl Into<String>) -> Self {
        self.app_name = Some(app_name.into());
        self
    }

    /// Scopes [`NativeClient::login`] requests when the options name none.
    pub fn default_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.default_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Keep tokens in `storage`.
    pub fn token_storage(mut self, storage: impl LoginTokenStorage + 'static) -> Self {
        self.storage = StorageChoice::Given(Arc::new(storage));
        self
    }

    /// Keep tokens in a shared `storage`.
    pub fn token_storage_arc(mut self, storage: Arc<dyn LoginTokenStorage>) -> Self {
        self.storage = StorageChoice::Given(storage);
        self
    }

    /// Keep no tokens (fair-research-login's `token_storage=None`): loading fails with
    /// [`LoginError::StorageDisabled`] and `login` always runs a flow.
    pub fn no_token_storage(mut self) -> Self {
        self.storage = StorageChoice::Disabled;
        self
    }

    /// The code handlers, tried in order.
    pub fn code_handlers(mut self, handlers: Vec<Arc<dyn CodeHandler>>) -> Self {
        self.code_handlers = Some(handlers);
        self
    }

    /// The Globus Auth client (default: a native client for the client id, base URL from the
    /// environment).
    pub fn auth_client(mut self, client: Arc<AuthClient>) -> Self {
        self.auth_client = Some(client);
        self
    }

    /// The clock deciding expiry (default: the auth client's clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Build. Fails on an empty client id, an auth client for another client id, an unknown
    /// `GLOBUS_SDK_ENVIRONMENT`, or default storage without a home directory.
    pub fn build(self) -> Result<NativeClient> {
        if self.client_id.trim().is_empty() {
            return Err(LoginError::InvalidConfig(
                "the client id is empty".to_owned(),
            ));
        }
        let auth_client = match self.auth_client {
            Some(client) => client,
            None => Arc::new(AuthClient::native(self.client_id.clone())?),
        };
        if auth_client.client_id() != self.client_id {
            return Err(LoginError::InvalidConfig(format!(
                "the auth client is for client id {:?}, not {:?}",
                auth_client.client_id(),
                self.client_id
            )));
        }
        let storage = match self.storage {
            StorageChoice::Given(storage) => Some(storage),
            StorageChoice::Disabled => None,
            StorageChoice::Default => {
                let path = MultiClientTokenStorage::default_path().ok_or_else(|| {
                    LoginError::InvalidConfig(
                        "no home directory for the default token storage; give one with token_storage()"
                            .to_owned(),
                    )
                })?;
                Some(
                    Arc::new(MultiClientTokenStorage::new(path, self.client_id.clone()))
                        as Arc<dyn LoginTokenStorage>,
                )
            }
        };
        let code_handlers = self.code_handlers.unwrap_or_else(|| {
            vec![
                Arc::new(LocalServerCodeHandler::new()) as Arc<dyn CodeHandler>,
                Arc::new(InputCodeHandler::new()),
            ]
        });
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::clone(auth_client.clock()));
        Ok(NativeClient {
            client_id: self.client_id,
            app_name: self.app_name.unwrap_or_else(|| "My App".to_owned()),
            default_scopes: self.default_scopes,
            storage,
            code_handlers,
            auth_client,
            clock,
        })
    }
}

/// A random `state` for the authorize URL: 32 bytes, hex.
fn random_state() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| {
        LoginError::InvalidConfig(format!(
            "the operating system's random source failed: {err}"
        ))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every scope named in `scopes` (each item may hold several, space-separated).
fn scope_set<S: AsRef<str>>(scopes: &[S]) -> BTreeSet<String> {
    scopes
        .iter()
        .flat_map(|s| {
            s.as_ref()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

impl NativeClient {
    /// Start building a client for `client_id`.
    pub fn builder(client_id: impl Into<String>) -> NativeClientBuilder {
        NativeClientBuilder {
            client_id: client_id.into(),
            app_name: None,
            default_scopes: Vec::new(),
            storage: StorageChoice::Default,
            code_handlers: None,
            auth_client: None,
            clock: None,
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The application name.
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The default scopes.
    pub fn default_scopes(&self) -> &[String] {
        &self.default_scopes
    }

    /// The token storage, if any.
    pub fn token_storage(&self) -> Option<&Arc<dyn LoginTokenStorage>> {
        self.storage.as_ref()
    }

    /// The Globus Auth client.
    pub fn auth_client(&self) -> &Arc<AuthClient> {
        &self.auth_client
    }

    /// Log in, or return saved tokens that already do.
    ///
    /// Unless `force`, first tries [`NativeClient::load_tokens`] for the requested scopes (or
    /// the default scopes) and returns its tokens without any request; any of its load errors
    /// (no tokens, scopes missing, expired) starts a flow, other errors are returned. The flow:
    /// a PKCE verifier and random `state`, each code handler in turn (skipping unavailable ones
    /// and moving on when one is cancelled), the authorize URL with the handler's redirect URI,
    /// the grant name `"{app_name} Login"` unless given, `access_type=offline` when
    /// `refresh_tokens`, and the extra query parameters; then the code is exchanged, the tokens
    /// are merged into storage (when there is storage) and returned by resource server, with
    /// `identity_id` (from the `id_token`, when `openid` was asked for) kept wherever the
    /// storage can hold it.
    pub fn login(&self, options: &LoginOptions) -> Result<TokensByResourceServer> {
        let scopes: Vec<String> = match &options.requested_scopes {
            Some(scopes) if !scopes.is_empty() => scopes.clone(),
            _ => self.default_scopes.clone(),
        };
        if !options.force {
            match self.load_tokens(&scopes) {
                Ok(tokens) => return Ok(tokens),
                Err(err) if err.is_load_error() => {}
                Err(err) => return Err(err),
            }
        }
        let scope_list: Vec<String> = scope_set(&scopes).into_iter().collect();
        if scope_list.is_empty() {
            return Err(LoginError::InvalidConfig(
                "no scopes to log in with: give requested scopes or default scopes".to_owned(),
            ));
        }
        // Keep the caller's order in the URL.
        let mut ordered: Vec<String> = Vec::new();
        for scope in scopes.iter().flat_map(|s| s.split_whitespace()) {
            if !ordered.iter().any(|s| s == scope) {
                ordered.push(scope.to_owned());
            }
        }
        let verifier = PkceVerifier::generate()?;
        let state = random_state()?;
        let grant_name = options
            .prefill_named_grant
            .clone()
            .unwrap_or_else(|| format!("{} Login", self.app_name));
        let context = HandlerContext::new(&self.app_name)
            .no_local_server(options.no_local_server)
            .no_browser(options.no_browser);
        let mut tried = Vec::new();
        for handler in &self.code_handlers {
            if !handler.is_available(&context) {
                continue;
            }
            tried.push(handler.name().to_owned());
            let session = handler.start(&context)?;
            let redirect_uri = session
                .redirect_uri()
                .unwrap_or_else(|| self.auth_client.default_native_redirect_uri());
            let mut params = AuthorizeParams::new(ordered.join(" "), &verifier)
                .redirect_uri(redirect_uri.clone())
                .state(state.clone())
                .refresh_tokens(options.refresh_tokens)
                .prefill_named_grant(grant_name.clone());
            for (name, value) in &options.query_params {
                params = params.query_param(name.clone(), value.clone());
            }
            let url = self.auth_client.oauth2_get_authorize_url(&params);
            match session.authenticate(&url, &state)? {
                CodeOutcome::Code(code) => {
                    return self.finish_login(&code, &redirect_uri, &verifier);
                }
                CodeOutcome::Cancelled => {}
            }
        }
        Err(LoginError::NoAuthorizationCode { tried })
    }

    fn finish_login(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokensByResourceServer> {
        let response =
            self.auth_client
                .oauth2_exchange_code_for_tokens(code, redirect_uri, Some(verifier))?;
        let tokens: TokensByResourceServer = response
            .by_resource_server()
            .iter()
            .map(|(rs, data)| (rs.clone(), login_group(data)))
            .collect();
        match self.save_tokens(&tokens) {
            Ok(()) | Err(LoginError::StorageDisabled) => Ok(tokens),
            Err(err) => Err(err),
        }
    }

    fn storage(&self) -> Result<&Arc<dyn LoginTokenStorage>> {
        self.storage.as_ref().ok_or(LoginError::StorageDisabled)
    }

    /// Saved token groups, validated as fair-research-login's `verify_token_group` does, not
    /// checked for expiry.
    fn load_raw_tokens(&self) -> Result<TokensByResourceServer> {
        let raw = self.storage()?.read_tokens()?;
        raw.iter()
            .map(|(rs, data)| verify_group(rs, data).map(|group| (rs.clone(), group)))
            .collect()
    }

    /// Merge `tokens` into storage by resource server (read, merge, write; under the storage's
    /// lock for the file stores). Fails with [`LoginError::StorageDisabled`] without storage.
    pub fn save_tokens(&self, tokens: &TokensByResourceServer) -> Result<()> {
        let storage = self.storage()?;
        let mut groups = BTreeMap::new();
        for (rs, data) in tokens {
            groups.insert(rs.clone(), verify_group(rs, data)?);
        }
        storage.update_tokens(&mut |saved| {
            saved.extend(groups.iter().map(|(rs, data)| (rs.clone(), data.clone())));
        })?;
        Ok(())
    }

    /// Saved tokens by resource server, following fair-research-login 0.3.1's rules.
    ///
    /// - Nothing saved: [`LoginError::NoSavedTokens`] (no storage: [`LoginError::StorageDisabled`]).
    /// - With requested scopes (each item may hold several, space-separated), only the groups
    ///   holding at least one requested scope are kept, and every requested scope must be in
    ///   one of them, or [`LoginError::ScopesMismatch`] names the missing ones.
    /// - Tokens count as expired when `now >= expires_at_seconds`. With requested scopes, if any
    ///   kept group is expired and without refresh token, [`LoginError::TokensExpired`] names
    ///   the expired resource servers. Otherwise the expired groups with refresh tokens are
    ///   refreshed and saved (with the rotated refresh token, which fair-research-login drops);
    ///   without requested scopes, expired groups that cannot be refreshed are left out, and
    ///   if nothing is left the error is `TokensExpired`.
    /// - A refresh refused with `invalid_grant` is `TokensExpired` for that resource server,
    ///   unless storage meanwhile holds a different unexpired group for it (another process
    ///   refreshed first and rotated the refresh token), which is then used; other failures
    ///   are returned as they are.
    pub fn load_tokens<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<TokensByResourceServer> {
        let mut tokens = self.load_raw_tokens()?;
        if tokens.is_empty() {
            return Err(LoginError::NoSavedTokens);
        }
        let requested = scope_set(requested_scopes);
        if !requested.is_empty() {
            tokens.retain(|_, group| group.scopes().any(|s| requested.contains(s)));
            let loaded: BTreeSet<&str> = tokens.values().flat_map(TokenData::scopes).collect();
            let missing: Vec<String> = requested
                .iter()
                .filter(|s| !loaded.contains(s.as_str()))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(LoginError::ScopesMismatch { missing });
            }
        }
        let now = self.clock.now_seconds();
        let expired: Vec<String> = tokens
            .iter()
            .filter(|(_, group)| group.is_expired_at(now, 0))
            .map(|(rs, _)| rs.clone())
            .collect();
        if expired.is_empty() {
            return Ok(tokens);
        }
        let refreshable: Vec<String> = expired
            .iter()
            .filter(|rs| tokens.get(*rs).is_some_and(|g| g.refresh_token.is_some()))
            .cloned()
            .collect();
        if !requested.is_empty() && refreshable.len() != expired.len() {
            return Err(LoginError::TokensExpired {
                resource_servers: expired,
                reason: Some("no refresh token".to_owned()),
            });
        }
        let mut refreshed = TokensByResourceServer::new();
        for rs in &refreshable {
            if let Some(group) = tokens.get(rs) {
                refreshed.insert(rs.clone(), self.refresh_group(rs, group)?);
            }
        }
        tokens.retain(|rs, _| !expired.contains(rs));
        tokens.extend(refreshed);
        if tokens.is_empty() {
            return Err(LoginError::TokensExpired {
                resource_servers: expired,
                reason: Some("no refresh token".to_owned()),
            });
        }
        Ok(tokens)
    }

    /// Refresh one expired group through storage, under its lock ([`StoreRenewal`]: a group
    /// another process refreshed meanwhile is taken as it is), and return the saved group.
    fn refresh_group(&self, rs: &str, group: &TokenData) -> Result<TokenData> {
        if group.refresh_token.is_none() {
            return Err(LoginError::TokensExpired {
                resource_servers: vec![rs.to_owned()],
                reason: Some("no refresh token".to_owned()),
            });
        }
        let storage = self.storage()?;
        let view;
        let store: &dyn TokenStorage = match storage.as_token_storage() {
            Some(store) => store,
            None => {
                view = LoginStorageView(&**storage);
                &view
            }
        };
        // fair-research-login counts a token as expired from its expiry on, with no skew.
        let renewal = StoreRenewal::new(Arc::clone(&self.auth_client))
            .skew_seconds(0)
            .with_clock(Arc::clone(&self.clock));
        match renewal.renew(store, rs, None) {
            Ok(renewed) => verify_group(rs, &renewed),
            Err(AuthError::LoginRequired { reason, .. }) => Err(LoginError::TokensExpired {
                resource_servers: vec![rs.to_owned()],
                reason: Some(format!("refresh token refused: {reason}")),
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// Like [`NativeClient::load_tokens`], keyed by scope: each scope of the loaded groups maps
    /// to the group holding it (a group with several scopes appears once per scope).
    pub fn load_tokens_by_scope<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<TokensByResourceServer> {
        let tokens = self.load_tokens(requested_scopes)?;
        Ok(by_scope(&tokens))
    }

    /// An authorizer per loaded resource server (after [`NativeClient::load_tokens`]): a
    /// refresh-token authorizer where a refresh token exists, whose renewals (rotated refresh
    /// tokens included) are saved to storage; an access-token authorizer otherwise.
    pub fn get_authorizers<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<BTreeMap<String, Arc<LoginAuthorizer>>> {
        let tokens = self.load_tokens(requested_scopes)?;
        tokens
            .iter()
            .map(|(rs, group)| Ok((rs.clone(), Arc::new(self.authorizer_for(rs, group)?))))
            .collect()
    }

    /// Like [`NativeClient::get_authorizers`], keyed by scope; scopes of one resource server
    /// share one authorizer (so they renew once).
    pub fn get_authorizers_by_scope<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<BTreeMap<String, Arc<LoginAuthorizer>>> {
        let tokens = self.load_tokens(requested_scopes)?;
        let mut by_rs = BTreeMap::new();
        for (rs, group) in &tokens {
            by_rs.insert(rs.clone(), Arc::new(self.authorizer_for(rs, group)?));
        }
        let mut out = BTreeMap::new();
        for (rs, group) in &tokens {
            if let Some(authorizer) = by_rs.get(rs) {
                for scope in group.scopes() {
                    out.insert(scope.to_owned(), Arc::clone(authorizer));
                }
            }
        }
        Ok(out)
    }

    /// The authorizer for one group (not checked for expiry).
    pub fn authorizer_for(
        &self,
        resource_server: &str,
        group: &TokenData,
    ) -> Result<LoginAuthorizer> {
        let Some(refresh_token) = &group.refresh_token else {
            return Ok(LoginAuthorizer::AccessToken(AccessTokenAuthorizer::new(
                group.access_token.clone(),
            )));
        };
        let mut builder =
            RefreshTokenAuthorizer::builder(refresh_token.clone(), Arc::clone(&self.auth_client))
                .resource_server(resource_server)
                .token_data(group)
                .clock(Arc::clone(&self.clock));
        if let Some(storage) = self.storage.clone() {
            builder = builder.on_refresh(move |response| {
                let renewed = response.by_resource_server();
                storage
                    .update_tokens(&mut |saved| {
                        for (rs, data) in &renewed {
                            // Keeps what the response leaves out: a non-rotated refresh token,
                            // identity_id.
                            let group = renewed_group(saved.get(rs), data);
                            saved.insert(rs.clone(), group);
                        }
                    })
                    .map_err(Into::into)
            });
        }
        Ok(LoginAuthorizer::RefreshToken(builder.build()?))
    }

    /// Revoke the saved tokens, then clear storage. If any revocation fails, storage is left
    /// untouched and [`LoginError::Revocation`] lists what failed.
    pub fn logout(&self) -> Result<()> {
        let storage = self.storage()?;
        let tokens = storage.read_tokens()?;
        self.revoke_token_set(&tokens)?;
        storage.clear_tokens()?;
        Ok(())
    }

    /// Revoke every access token and refresh token in `tokens` (never a missing or empty one).
    /// Every token is tried; failures are collected into [`LoginError::Revocation`].
    pub fn revoke_token_set(&self, tokens: &TokensByResourceServer) -> Result<()> {
        let mut failures = Vec::new();
        for (rs, group) in tokens {
            let candidates = [
                (TokenKind::Access, Some(&group.access_token)),
                (TokenKind::Refresh, group.refresh_token.as_ref()),
            ];
            for (kind, token) in candidates {
                let Some(token) = token.filter(|t| !t.expose().is_empty()) else {
                    continue;
                };
                if let Err(error) = self.auth_client.oauth2_revoke_token(token) {
                    failures.push(RevocationFailure {
                        resource_server: rs.clone(),
                        kind,
                        error,
                    });
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(LoginError::Revocation { failures })
        }
    }
}

fn by_scope(tokens: &TokensByResourceServer) -> TokensByResourceServer {
    let mut out = BTreeMap::new();
    for group in tokens.values() {
        for scope in group.scopes() {
            out.insert(scope.to_owned(), group.clone());
        }
    }
    out
}

/// fair-research-login's `verify_token_group`, on typed data: `token_type` must be `Bearer`
/// when given (and becomes `Bearer`), an empty refresh token is none. Unlike the original,
/// `identity_id` and other fields are kept for the stores that hold them (globus-sdk issue
/// #1050); fair-research-login's own file formats drop them when they write.
fn verify_group(resource_server: &str, data: &TokenData) -> Result<TokenData> {
    match data.token_type.as_deref() {
        None | Some("") | Some("Bearer") => {}
        Some(_) => {
            return Err(LoginError::InvalidTokenFormat {
                resource_server: resource_server.to_owned(),
                reason: "token_type must be \"Bearer\"".to_owned(),
            });
        }
    }
    let mut group = login_group(data);
    group.token_type = Some("Bearer".to_owned());
    Ok(group)
}
