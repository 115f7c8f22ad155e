//! Renewing authorizers with single-flight renewal.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use globus_tokens_core::{Clock, Secret, TokenData, TokenResponse, TokenStorage};

use crate::authorizer::GlobusAuthorizer;
use crate::client::AuthClient;
use crate::error::{AuthError, Result};

/// A token counts as expired this many seconds before its `expires_at`, as in globus-sdk.
pub const EXPIRES_ADJUST_SECONDS: i64 = 60;

/// A callback given every renewal's whole [`TokenResponse`] after the authorizer has switched to
/// the new token.
pub type OnRefresh = Box<
    dyn Fn(&TokenResponse) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>
        + Send
        + Sync,
>;

/// Where a [`RenewingAuthorizer`] gets new tokens (globus-sdk's `_get_token_response` and
/// `_extract_token_data`).
pub trait TokenSource: Send + Sync {
    /// Ask Globus Auth for a new token.
    fn fetch(&self) -> Result<TokenResponse>;

    /// What is being renewed, for errors: the scopes or the resource server.
    fn context(&self) -> String;

    /// Told about each new token, e.g. to keep a rotated refresh token.
    fn accept(&self, _token: &TokenData) {}

    /// Told that a request with `rejected` got HTTP 401, so that token must not be reused.
    fn invalidate(&self, _rejected: Option<&Secret>) {}
}

#[derive(Default)]
struct State {
    access_token: Option<Secret>,
    expires_at: Option<i64>,
    renewing: bool,
    /// Completed renewals, successful or not; waiters compare it to know theirs finished.
    flights: u64,
    last_error: Option<AuthError>,
}

/// The renewal machinery shared by [`RefreshTokenAuthorizer`] and [`ClientCredentialsAuthorizer`],
/// usable with any [`TokenSource`].
///
/// Semantics follow globus-sdk: the token is renewed when it is within
/// [`EXPIRES_ADJUST_SECONDS`] of `expires_at`; a 401 ([`GlobusAuthorizer::handle_missing_authorization`])
/// drops it so the next header renews; `on_refresh` sees the whole response after the new token
/// is in place. Beyond globus-sdk, renewal is **single-flight**: when many threads find the
/// token stale at once, one of them asks Globus Auth and the others wait for its result; a failed
/// renewal is returned to every waiter instead of each retrying.
pub struct RenewingAuthorizer<S> {
    source: S,
    state: Mutex<State>,
    renewed: Condvar,
    clock: Arc<dyn Clock>,
    on_refresh: Option<OnRefresh>,
}

impl<S: TokenSource> std::fmt::Debug for RenewingAuthorizer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("RenewingAuthorizer")
            .field("context", &self.source.context())
            .field("access_token", &state.access_token)
            .field("expires_at", &state.expires_at)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RenewingAuthorizer`]; obtained from `RefreshTokenAuthorizer::builder`,
/// `ClientCredentialsAuthorizer::builder` or [`RenewingAuthorizer::with_source`].
pub struct RenewingAuthorizerBuilder<S> {
    source: S,
    access_token: Option<Secret>,
    expires_at: Option<i64>,
    on_refresh: Option<OnRefresh>,
    clock: Arc<dyn Clock>,
}

impl<S: TokenSource> RenewingAuthorizerBuilder<S> {
    /// Start with this access token (requires [`Self::expires_at`] too).
    pub fn access_token(mut self, access_token: impl Into<Secret>) -> Self {
        self.access_token = Some(access_token.into());
        self
    }

    /// When the starting access token expires (requires [`Self::access_token`] too).
    pub fn expires_at(mut self, expires_at_seconds: i64) -> Self {
        self.expires_at = Some(expires_at_seconds);
        self
    }

    /// Start from stored token data: its access token and expiry.
    pub fn token_data(self, data: &TokenData) -> Self {
        self.access_token(data.access_token.clone())
            .expires_at(data.expires_at_seconds)
    }

    /// Call `callback` with each renewal's response.
    pub fn on_refresh<F>(mut self, callback: F) -> Self
    where
        F: Fn(&TokenResponse) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>
            + Send
            + Sync
            + 'static,
    {
        self.on_refresh = Some(Box::new(callback));
        self
    }

    /// Save each renewal into `store` (its [`TokenStorage::on_refresh`]).
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use globus_authorizers::{AuthClient, RefreshTokenAuthorizer};
    /// # let client = Arc::new(AuthClient::native("client-id")?);
    /// let store = Arc::new(globus_tokens_core::MemoryTokenStorage::new());
    /// let authorizer = RefreshTokenAuthorizer::builder("RT", client).on_refresh_storage(store).build()?;
    /// # Ok::<(), globus_authorizers::AuthError>(())
    /// ```
    pub fn on_refresh_storage<T: TokenStorage + 'static>(self, store: Arc<T>) -> Self {
        self.on_refresh(move |response| store.on_refresh(response).map_err(Into::into))
    }

    /// The clock deciding expiry (default: the auth client's, or the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Build; fails if only one of access token and expiry was given.
    pub fn build(self) -> Result<RenewingAuthorizer<S>> {
        if self.access_token.is_some() != self.expires_at.is_some() {
            return Err(AuthError::InvalidConfig(
                "give both an access token and its expiry, or neither".to_owned(),
            ));
        }
        Ok(RenewingAuthorizer {
            source: self.source,
            state: Mutex::new(State {
                access_token: self.access_token,
                expires_at: self.expires_at,
                ..State::default()
            }),
            renewed: Condvar::new(),
            clock: self.clock,
            on_refresh: self.on_refresh,
        })
    }
}

impl<S: TokenSource> RenewingAuthorizer<S> {
    /// Start building an authorizer over any token source.
    pub fn with_source(source: S, clock: Arc<dyn Clock>) -> RenewingAuthorizerBuilder<S> {
        RenewingAuthorizerBuilder {
            source,
            access_token: None,
            expires_at: None,
            on_refresh: None,
            clock,
        }
    }

    /// The current access token, if any (it may be stale).
    pub fn access_token(&self) -> Option<Secret> {
        self.lock().access_token.clone()
    }

    /// When the current access token expires, if there is one.
    pub fn expires_at(&self) -> Option<i64> {
        self.lock().expires_at
    }

    /// The token source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// A valid access token: the current one, unless it is missing or within
    /// [`EXPIRES_ADJUST_SECONDS`] of expiry, in which case it is renewed first (single-flight).
    ///
    /// globus-sdk's `ensure_valid_token`: calling it before every request contacts Globus Auth
    /// only when the token needs it. To renew regardless, use [`Self::renew_now`].
    pub fn ensure_valid_token(&self) -> Result<Secret> {
        self.current_or_renewed(true)
    }

    /// Renew now, whatever the state of the current token (still single-flight: threads calling
    /// this while a renewal is in flight share its result).
    pub fn renew_now(&self) -> Result<Secret> {
        self.current_or_renewed(false)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // State changes are single assignments, so a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh_token(&self, state: &State) -> Option<Secret> {
        let expires_at = state.expires_at?;
        let now = self.clock.now_seconds();
        (now.saturating_add(EXPIRES_ADJUST_SECONDS) < expires_at)
            .then(|| state.access_token.clone())
            .flatten()
    }

    fn current_or_renewed(&self, accept_current: bool) -> Result<Secret> {
        let mut state = self.lock();
        if accept_current && let Some(token) = self.fresh_token(&state) {
            return Ok(token);
        }
        if state.renewing {
            let waiting_for = state.flights;
            while state.renewing {
                state = self
                    .renewed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.flights > waiting_for {
                // The renewal we waited for finished: share its result, even a token that is
                // already near expiry, rather than starting another request.
                if let Some(err) = &state.last_error {
                    return Err(err.clone());
                }
                if let Some(token) = &state.access_token {
                    return Ok(token.clone());
                }
            }
        }
        state.renewing = true;
        drop(state);

        let mut flight = Flight {
            owner: self,
            done: false,
        };
        let context = self.source.context();
        tracing::info!(token = %context, forced = !accept_current, "renewing access token");
        let outcome = self.renew();
        flight.done = true;
        match &outcome {
            Ok((token, _)) => tracing::info!(
                token = %context,
                expires_at = token.expires_at_seconds,
                "renewed access token"
            ),
            Err(err) => tracing::info!(token = %context, error = %err, "token renewal failed"),
        }
        let mut state = self.lock();
        state.renewing = false;
        state.flights += 1;
        let result = match outcome {
            Ok((token, response)) => {
                state.access_token = Some(token.access_token.clone());
                state.expires_at = Some(token.expires_at_seconds);
                state.last_error = None;
                Ok((token.access_token, response))
            }
            Err(err) => {
                state.last_error = Some(err.clone());
                Err(err)
            }
        };
        drop(state);
        self.renewed.notify_all();
        let (access_token, response) = result?;
        if let Some(callback) = &self.on_refresh {
            callback(&response).map_err(|err| AuthError::OnRefresh {
                resource_server: response
                    .resource_servers()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                message: err.to_string(),
            })?;
        }
        Ok(access_token)
    }

    fn renew(&self) -> Result<(TokenData, TokenResponse)> {
        let response = self.source.fetch()?;
        let token = single_token(&response, || self.source.context())?;
        self.source.accept(&token);
        Ok((token, response))
    }
}

/// Releases waiters if the renewing thread unwinds, so a panic cannot leave them blocked forever.
struct Flight<'a, S: TokenSource> {
    owner: &'a RenewingAuthorizer<S>,
    done: bool,
}

impl<S: TokenSource> Drop for Flight<'_, S> {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.owner.lock();
            state.renewing = false;
            state.flights += 1;
            state.last_error = Some(AuthError::InvalidConfig(
                "token renewal panicked".to_owned(),
            ));
            drop(state);
            self.owner.renewed.notify_all();
        }
    }
}

/// The one token of a renewal response; any other count is an error naming `context`.
pub(crate) fn single_token(
    response: &TokenResponse,
    context: impl FnOnce() -> String,
) -> Result<TokenData> {
    let mut by_rs = response.by_resource_server();
    if by_rs.len() != 1 {
        return Err(AuthError::UnexpectedResourceServers {
            context: context(),
            found: by_rs.into_keys().collect(),
        });
    }
    by_rs
        .pop_first()
        .map(|(_, token)| token)
        .ok_or_else(|| AuthError::UnexpectedResourceServers {
            context: String::new(),
            found: Vec::new(),
        })
}

impl<S: TokenSource> GlobusAuthorizer for RenewingAuthorizer<S> {
    fn get_authorization_header(&self) -> Result<Option<String>> {
        let token = self.current_or_renewed(true)?;
        Ok(Some(format!("Bearer {}", token.expose())))
    }

    fn handle_missing_authorization(&self) -> bool {
        let mut state = self.lock();
        let rejected = state.access_token.take();
        state.expires_at = None;
        drop(state);
        self.source.invalidate(rejected.as_ref());
        true
    }
}

/// Renews with a refresh token; keeps a rotated refresh token. See [`RefreshTokenAuthorizer`].
pub struct RefreshTokenSource {
    client: Arc<AuthClient>,
    refresh_token: Mutex<Secret>,
    resource_server: Option<String>,
}

impl RefreshTokenSource {
    /// The refresh token in use now (the latest rotated one).
    pub fn refresh_token(&self) -> Secret {
        self.refresh_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl TokenSource for RefreshTokenSource {
    fn fetch(&self) -> Result<TokenResponse> {
        let refresh_token = self.refresh_token();
        self.client
            .oauth2_refresh_token(&refresh_token)
            .map_err(|err| match err {
                AuthError::LoginRequired { reason, .. } => AuthError::LoginRequired {
                    resource_server: self.resource_server.clone(),
                    reason,
                },
                other => other,
            })
    }

    fn context(&self) -> String {
        match &self.resource_server {
            Some(rs) => format!("the refresh token for {rs}"),
            None => "a refresh token".to_owned(),
        }
    }

    fn accept(&self, token: &TokenData) {
        // An absent refresh token in the response means "keep using the old one".
        if let Some(rotated) = &token.refresh_token {
            *self
                .refresh_token
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = rotated.clone();
        }
    }
}

impl std::fmt::Debug for RefreshTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshTokenSource")
            .field("refresh_token", &self.refresh_token())
            .field("resource_server", &self.resource_server)
            .finish_non_exhaustive()
    }
}

/// Renews with the client credentials grant for fixed scopes. See [`ClientCredentialsAuthorizer`].
#[derive(Debug)]
pub struct ClientCredentialsSource {
    client: Arc<AuthClient>,
    scopes: String,
}

impl TokenSource for ClientCredentialsSource {
    fn fetch(&self) -> Result<TokenResponse> {
        self.client.oauth2_client_credentials_tokens(&self.scopes)
    }

    fn context(&self) -> String {
        format!("scopes {:?}", self.scopes)
    }
}

/// globus-sdk's `RefreshTokenAuthorizer`: a bearer token renewed with a refresh token.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AuthClient, GlobusAuthorizer, RefreshTokenAuthorizer};
/// use globus_tokens_core::TokenStorage;
///
/// let client = Arc::new(AuthClient::native("my-client-id")?);
/// let store = Arc::new(globus_tokens_core::MemoryTokenStorage::new());
/// let transfer = store.get_token_data("transfer.api.globus.org")?.expect("logged in");
/// let authorizer = RefreshTokenAuthorizer::builder(transfer.refresh_token.clone().expect("has one"), client)
///     .token_data(&transfer)
///     .on_refresh_storage(store) // every renewal is saved
///     .build()?;
/// let header = authorizer.get_authorization_header()?; // renews if stale
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type RefreshTokenAuthorizer = RenewingAuthorizer<RefreshTokenSource>;

impl RenewingAuthorizer<RefreshTokenSource> {
    /// Start building an authorizer that renews with `refresh_token` through `client`.
    pub fn builder(
        refresh_token: impl Into<Secret>,
        client: Arc<AuthClient>,
    ) -> RenewingAuthorizerBuilder<RefreshTokenSource> {
        let clock = Arc::clone(client.clock());
        RenewingAuthorizer::with_source(
            RefreshTokenSource {
                client,
                refresh_token: Mutex::new(refresh_token.into()),
                resource_server: None,
            },
            clock,
        )
    }

    /// The refresh token in use now (rotated tokens replace the original).
    pub fn refresh_token(&self) -> Secret {
        self.source().refresh_token()
    }
}

impl RenewingAuthorizerBuilder<RefreshTokenSource> {
    /// Name the resource server, for clearer errors.
    pub fn resource_server(mut self, resource_server: impl Into<String>) -> Self {
        self.source.resource_server = Some(resource_server.into());
        self
    }
}

/// globus-sdk's `ClientCredentialsAuthorizer`: a confidential client's own token for fixed scopes.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AuthClient, ClientCredentialsAuthorizer, GlobusAuthorizer};
/// let client = Arc::new(AuthClient::confidential("client-id", "client-secret")?);
/// let authorizer = ClientCredentialsAuthorizer::builder(client, "urn:globus:auth:scope:transfer.api.globus.org:all").build()?;
/// let header = authorizer.get_authorization_header()?;
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
pub type ClientCredentialsAuthorizer = RenewingAuthorizer<ClientCredentialsSource>;

impl RenewingAuthorizer<ClientCredentialsSource> {
    /// Start building an authorizer for `scopes` (space-separated, all for one resource server).
    pub fn builder(
        client: Arc<AuthClient>,
        scopes: impl Into<String>,
    ) -> RenewingAuthorizerBuilder<ClientCredentialsSource> {
        let clock = Arc::clone(client.clock());
        RenewingAuthorizer::with_source(
            ClientCredentialsSource {
                client,
                scopes: scopes.into(),
            },
            clock,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use globus_tokens_core::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Barrier, OnceLock};
    use std::time::Duration;

    /// A token source answering from a script, counting calls.
    struct Scripted {
        calls: AtomicUsize,
        delay: Duration,
        reply: Box<dyn Fn(usize) -> Result<TokenResponse> + Send + Sync>,
        rotated: Mutex<Option<Secret>>,
    }

    impl Scripted {
        fn new(reply: impl Fn(usize) -> Result<TokenResponse> + Send + Sync + 'static) -> Self {
            Scripted {
                calls: AtomicUsize::new(0),
                delay: Duration::ZERO,
                reply: Box::new(reply),
                rotated: Mutex::new(None),
            }
        }
    }

    impl TokenSource for Scripted {
        fn fetch(&self) -> Result<TokenResponse> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(self.delay);
            (self.reply)(call)
        }
        fn context(&self) -> String {
            "scopes \"s1 s2\"".to_owned()
        }
        fn accept(&self, token: &TokenData) {
            *self.rotated.lock().unwrap() = token.refresh_token.clone();
        }
    }

    fn response(body: &str, at: i64) -> TokenResponse {
        TokenResponse::from_json_at(body.as_bytes(), at).unwrap()
    }

    fn one_token(n: usize) -> Result<TokenResponse> {
        Ok(response(
            &format!(
                r#"{{"access_token": "AT-{n}", "scope": "s", "expires_in": 3600, "resource_server": "rs"}}"#
            ),
            1_000,
        ))
    }

    fn clock(now: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock::new(now))
    }

    #[test]
    fn seeds_need_both_token_and_expiry() {
        let only_token = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(0))
            .access_token("AT")
            .build();
        assert!(matches!(only_token, Err(AuthError::InvalidConfig(_))));
        let only_expiry = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(0))
            .expires_at(5)
            .build();
        assert!(matches!(only_expiry, Err(AuthError::InvalidConfig(_))));
    }

    #[test]
    fn renews_60_seconds_before_expiry() {
        let clock = clock(1_000);
        let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock.clone())
            .access_token("AT-seed")
            .expires_at(1_061)
            .build()
            .unwrap();
        assert_eq!(
            auth.get_authorization_header().unwrap().as_deref(),
            Some("Bearer AT-seed")
        );
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 0);
        clock.set(1_001); // now + 60 >= expires_at: stale
        assert_eq!(
            auth.get_authorization_header().unwrap().as_deref(),
            Some("Bearer AT-0")
        );
        assert_eq!(auth.expires_at(), Some(4_600));
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn ensure_valid_token_renews_only_when_missing_or_near_expiry() {
        let clock = clock(1_000);
        let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock.clone())
            .access_token("AT-seed")
            .expires_at(2_000)
            .build()
            .unwrap();
        for _ in 0..3 {
            assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-seed");
        }
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 0);
        clock.set(2_000 - EXPIRES_ADJUST_SECONDS - 1);
        assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-seed");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 0);
        clock.set(2_000 - EXPIRES_ADJUST_SECONDS);
        assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-0");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
        // The renewed token (expires 1_000 + 3600) is used until near its own expiry.
        assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-0");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);

        let empty = RenewingAuthorizer::with_source(Scripted::new(one_token), clock.clone())
            .build()
            .unwrap();
        assert_eq!(empty.ensure_valid_token().unwrap().expose(), "AT-0");
        assert_eq!(empty.ensure_valid_token().unwrap().expose(), "AT-0");
        assert_eq!(empty.source().calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn renew_now_always_renews() {
        let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
            .access_token("AT-seed")
            .expires_at(9_999)
            .build()
            .unwrap();
        assert_eq!(auth.renew_now().unwrap().expose(), "AT-0");
        assert_eq!(auth.renew_now().unwrap().expose(), "AT-1");
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn without_seed_first_header_renews_and_401_forces_renewal() {
        let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
            .build()
            .unwrap();
        assert_eq!(
            auth.get_authorization_header().unwrap().as_deref(),
            Some("Bearer AT-0")
        );
        assert_eq!(
            auth.get_authorization_header().unwrap().as_deref(),
            Some("Bearer AT-0")
        );
        assert!(auth.handle_missing_authorization());
        assert_eq!(auth.access_token(), None);
        assert_eq!(
            auth.get_authorization_header().unwrap().as_deref(),
            Some("Bearer AT-1")
        );
    }

    #[test]
    fn response_with_two_resource_servers_is_an_error_naming_the_scopes() {
        let source = Scripted::new(|_| {
            Ok(response(
                r#"{"access_token": "A", "scope": "s1", "resource_server": "rs1",
                    "other_tokens": [{"access_token": "B", "scope": "s2", "resource_server": "rs2"}]}"#,
                0,
            ))
        });
        let auth = RenewingAuthorizer::with_source(source, clock(0))
            .build()
            .unwrap();
        let err = auth.get_authorization_header().unwrap_err();
        assert!(
            matches!(&err, AuthError::UnexpectedResourceServers { found, .. } if found.len() == 2)
        );
        let text = err.to_string();
        assert!(
            text.contains("s1 s2") && text.contains("rs1, rs2"),
            "{text}"
        );
        assert!(!text.contains("\"A\"") && !format!("{err:?}").contains("\"B\""));
    }

    #[test]
    fn on_refresh_runs_after_the_state_is_updated() {
        let slot: Arc<OnceLock<std::sync::Weak<RenewingAuthorizer<Scripted>>>> = Arc::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (slot2, seen2) = (slot.clone(), seen.clone());
        let auth = Arc::new(
            RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
                .on_refresh(move |response| {
                    let auth = slot2.get().unwrap().upgrade().unwrap();
                    let current = auth.access_token().unwrap();
                    let in_response = response.grants()[0].access_token.clone();
                    seen2.lock().unwrap().push(current == in_response);
                    Ok(())
                })
                .build()
                .unwrap(),
        );
        slot.set(Arc::downgrade(&auth)).unwrap();
        auth.get_authorization_header().unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![true]);
    }

    #[test]
    fn callback_error_is_reported_and_new_token_kept() {
        let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
            .on_refresh(|_| Err("disk full".into()))
            .build()
            .unwrap();
        let err = auth.get_authorization_header().unwrap_err();
        assert!(matches!(&err, AuthError::OnRefresh { message, .. } if message == "disk full"));
        assert_eq!(
            auth.get_authorization_header().unwrap().as_deref(),
            Some("Bearer AT-0")
        );
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn rotated_refresh_token_replaces_the_old_and_absent_one_keeps_it() {
        let client = Arc::new(
            AuthClient::builder("client")
                .base_url("http://127.0.0.1:9/")
                .build()
                .unwrap(),
        );
        let auth = RefreshTokenAuthorizer::builder("RT-original", client)
            .build()
            .unwrap();
        let without = TokenData::new("rs", "s", "AT-1", 10);
        auth.source().accept(&without);
        assert_eq!(auth.refresh_token().expose(), "RT-original");
        auth.source()
            .accept(&without.clone().with_refresh_token("RT-rotated"));
        assert_eq!(auth.refresh_token().expose(), "RT-rotated");
        assert!(!format!("{auth:?}").contains("RT-rotated"));
    }

    #[test]
    fn many_threads_one_stale_token_one_request() {
        let mut source = Scripted::new(one_token);
        source.delay = Duration::from_millis(100);
        let auth = RenewingAuthorizer::with_source(source, clock(1_000))
            .build()
            .unwrap();
        let barrier = Barrier::new(32);
        std::thread::scope(|scope| {
            for _ in 0..32 {
                scope.spawn(|| {
                    barrier.wait();
                    assert_eq!(
                        auth.get_authorization_header().unwrap().as_deref(),
                        Some("Bearer AT-0")
                    );
                });
            }
        });
        assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn failed_renewal_is_shared_by_all_waiters() {
        let mut source = Scripted::new(|_| {
            Err(AuthError::LoginRequired {
                resource_server: None,
                reason: "invalid_grant".into(),
            })
        });
        source.delay = Duration::from_millis(200);
        let auth = RenewingAuthorizer::with_source(source, clock(1_000))
            .build()
            .unwrap();
        let barrier = Barrier::new(16);
        let failures = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    barrier.wait();
                    if auth
                        .get_authorization_header()
                        .unwrap_err()
                        .is_login_required()
                    {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(failures.load(Ordering::SeqCst), 16);
        assert_eq!(
            auth.source().calls.load(Ordering::SeqCst),
            1,
            "waiters must not retry"
        );
    }

    #[test]
    fn a_panicking_source_releases_waiters() {
        let mut source = Scripted::new(|n| if n == 0 { panic!("boom") } else { one_token(n) });
        source.delay = Duration::from_millis(100);
        let auth = RenewingAuthorizer::with_source(source, clock(1_000))
            .build()
            .unwrap();
        std::thread::scope(|scope| {
            let first = scope.spawn(|| auth.get_authorization_header());
            std::thread::sleep(Duration::from_millis(20));
            let second = scope.spawn(|| auth.get_authorization_header());
            assert!(first.join().is_err(), "the first caller panicked");
            assert!(
                second.join().unwrap().is_err(),
                "the waiter got an error, not a hang"
            );
        });
        assert_eq!(
            auth.get_authorization_header().unwrap().as_deref(),
            Some("Bearer AT-1")
        );
    }
}
