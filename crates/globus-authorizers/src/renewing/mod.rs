//! Renewing authorizers with single-flight renewal.
//!
//! The renewal rules live once in [`flight`]; this module holds the blocking driver
//! ([`RenewingAuthorizer`]), the builder shared with the async one, and the blocking sources.

mod builder;
pub(crate) mod flight;

use std::sync::{Arc, Mutex, PoisonError};

use globus_tokens_core::{Clock, Secret, TokenData, TokenResponse};

use crate::authorizer::GlobusAuthorizer;
use crate::client::AuthClient;
use crate::error::{AuthError, Result};
use event_listener::Listener as _;
use flight::{Flights, Step};

pub use builder::{OnRefresh, RenewingAuthorizerBuilder};

/// The accessors both renewing authorizers have (over their `flights` and `source`), written once.
macro_rules! renewing_accessors {
    () => {
        /// The current access token, if any (it may be stale).
        pub fn access_token(&self) -> Option<Secret> {
            self.flights.current().0
        }

        /// When the current access token expires, if there is one.
        pub fn expires_at(&self) -> Option<i64> {
            self.flights.current().1
        }

        /// The token source.
        pub fn source(&self) -> &S {
            &self.source
        }
    };
}
#[cfg(feature = "async")]
pub(crate) use renewing_accessors;

/// A token counts as expired this many seconds before its `expires_at`, as in globus-sdk.
pub const EXPIRES_ADJUST_SECONDS: i64 = 60;

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

/// The renewal machinery shared by [`RefreshTokenAuthorizer`] and [`ClientCredentialsAuthorizer`],
/// usable with any [`TokenSource`].
///
/// Semantics follow globus-sdk: the token is renewed when it is within
/// [`EXPIRES_ADJUST_SECONDS`] of `expires_at`; a 401 ([`GlobusAuthorizer::handle_missing_authorization`])
/// drops it so the next header renews; `on_refresh` sees the whole response after the new token
/// is in place. Beyond globus-sdk, renewal is **single-flight**: when many threads find the
/// token stale at once, one of them asks Globus Auth and the others wait for its result; a failed
/// renewal is returned to every waiter instead of each retrying. If the renewing thread panics,
/// one waiter renews in its place (one more request at most) and the others share its result.
pub struct RenewingAuthorizer<S> {
    source: S,
    flights: Arc<Flights>,
}

impl<S: TokenSource> std::fmt::Debug for RenewingAuthorizer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (access_token, expires_at) = self.flights.current();
        f.debug_struct("RenewingAuthorizer")
            .field("context", &self.source.context())
            .field("access_token", &access_token)
            .field("expires_at", &expires_at)
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> RenewingAuthorizerBuilder<S> {
    /// Build; fails if only one of access token and expiry was given.
    pub fn build(self) -> Result<RenewingAuthorizer<S>> {
        let (source, flights) = self.into_parts()?;
        Ok(RenewingAuthorizer { source, flights })
    }
}

impl<S: TokenSource> RenewingAuthorizer<S> {
    /// Start building an authorizer over any token source.
    pub fn with_source(source: S, clock: Arc<dyn Clock>) -> RenewingAuthorizerBuilder<S> {
        RenewingAuthorizerBuilder::new(source, clock)
    }

    renewing_accessors!();

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

    /// The blocking driver of [`Flights`]: block while another thread renews.
    fn current_or_renewed(&self, accept_current: bool) -> Result<Secret> {
        let mut waited_for = None;
        loop {
            match self
                .flights
                .step(accept_current, &mut waited_for, || self.source.context())
            {
                Step::Ready(result) => return result,
                Step::Wait(listener) => listener.wait(),
                Step::Renew(flight) => {
                    return flight.finish(self.source.fetch(), |token| self.source.accept(token));
                }
            }
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
        let rejected = self.flights.drop_token();
        self.source.invalidate(rejected.as_ref());
        true
    }
}
/// Renews with a refresh token; keeps a rotated refresh token. See [`RefreshTokenAuthorizer`]
/// (and, with the `async` feature, `AsyncRefreshTokenAuthorizer`, whose client `C` is the
/// `AsyncAuthClient`).
pub struct RefreshTokenSource<C = AuthClient> {
    client: Arc<C>,
    refresh_token: Mutex<Secret>,
    pub(crate) resource_server: Option<String>,
}

impl<C> RefreshTokenSource<C> {
    pub(crate) fn new(client: Arc<C>, refresh_token: Secret) -> Self {
        RefreshTokenSource {
            client,
            refresh_token: Mutex::new(refresh_token),
            resource_server: None,
        }
    }

    /// The refresh token in use now (the latest rotated one).
    pub fn refresh_token(&self) -> Secret {
        self.refresh_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The client renewing with it.
    #[cfg_attr(not(feature = "async"), allow(dead_code))] // used by the async sources
    pub(crate) fn client(&self) -> &Arc<C> {
        &self.client
    }

    /// A refused refresh token names the resource server, when known.
    pub(crate) fn name_resource_server(&self, err: AuthError) -> AuthError {
        match err {
            AuthError::LoginRequired { reason, .. } => AuthError::LoginRequired {
                resource_server: self.resource_server.clone(),
                reason,
            },
            other => other,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match &self.resource_server {
            Some(rs) => format!("the refresh token for {rs}"),
            None => "a refresh token".to_owned(),
        }
    }

    pub(crate) fn keep_rotated(&self, token: &TokenData) {
        // An absent refresh token in the response means "keep using the old one".
        if let Some(rotated) = &token.refresh_token {
            *self
                .refresh_token
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = rotated.clone();
        }
    }
}

impl TokenSource for RefreshTokenSource<AuthClient> {
    fn fetch(&self) -> Result<TokenResponse> {
        self.client
            .oauth2_refresh_token(&self.refresh_token())
            .map_err(|err| self.name_resource_server(err))
    }

    fn context(&self) -> String {
        self.describe()
    }

    fn accept(&self, token: &TokenData) {
        self.keep_rotated(token);
    }
}

impl<C> std::fmt::Debug for RefreshTokenSource<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshTokenSource")
            .field("refresh_token", &self.refresh_token())
            .field("resource_server", &self.resource_server)
            .finish_non_exhaustive()
    }
}

/// Renews with the client credentials grant for fixed scopes. See [`ClientCredentialsAuthorizer`]
/// (and, with the `async` feature, `AsyncClientCredentialsAuthorizer`).
pub struct ClientCredentialsSource<C = AuthClient> {
    pub(crate) client: Arc<C>,
    pub(crate) scopes: String,
}

impl<C> std::fmt::Debug for ClientCredentialsSource<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentialsSource")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl<C> ClientCredentialsSource<C> {
    pub(crate) fn describe(&self) -> String {
        format!("scopes {:?}", self.scopes)
    }
}

impl TokenSource for ClientCredentialsSource<AuthClient> {
    fn fetch(&self) -> Result<TokenResponse> {
        self.client.oauth2_client_credentials_tokens(&self.scopes)
    }

    fn context(&self) -> String {
        self.describe()
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
            RefreshTokenSource::new(client, refresh_token.into()),
            clock,
        )
    }

    /// The refresh token in use now (rotated tokens replace the original).
    pub fn refresh_token(&self) -> Secret {
        self.source().refresh_token()
    }
}

impl<C, A> RenewingAuthorizerBuilder<RefreshTokenSource<C>, A> {
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
mod tests;
