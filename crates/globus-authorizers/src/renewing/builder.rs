//! The one builder of renewing authorizers, blocking and async.

use std::marker::PhantomData;
use std::sync::Arc;

use globus_tokens_core::{Clock, Secret, TokenData, TokenResponse, TokenStorage};

use super::RenewingAuthorizer;
use super::flight::Flights;
use crate::error::Result;

/// A callback given every renewal's whole [`TokenResponse`] after the authorizer has switched to
/// the new token.
pub type OnRefresh = Box<
    dyn Fn(&TokenResponse) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>
        + Send
        + Sync,
>;

/// Builds a [`RenewingAuthorizer`] (the default `A`), or with the `async` feature an
/// `AsyncRenewingAuthorizer`; obtained from `RefreshTokenAuthorizer::builder`,
/// `ClientCredentialsAuthorizer::builder`, [`RenewingAuthorizer::with_source`] or
/// `AsyncRenewingAuthorizer::with_source`.
///
/// `A` is the authorizer that [`build`](RenewingAuthorizerBuilder::build) makes: both kinds
/// share these settings and their checks.
pub struct RenewingAuthorizerBuilder<S, A = RenewingAuthorizer<S>> {
    pub(super) source: S,
    access_token: Option<Secret>,
    expires_at: Option<i64>,
    on_refresh: Option<OnRefresh>,
    clock: Arc<dyn Clock>,
    // `fn() -> A`: the builder holds no `A`, so it is `Send + Sync` whatever `A` is.
    builds: PhantomData<fn() -> A>,
}

impl<S, A> RenewingAuthorizerBuilder<S, A> {
    pub(crate) fn new(source: S, clock: Arc<dyn Clock>) -> Self {
        RenewingAuthorizerBuilder {
            source,
            access_token: None,
            expires_at: None,
            on_refresh: None,
            clock,
            builds: PhantomData,
        }
    }

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

    /// The source and the renewal state, checked (both an access token and its expiry, or
    /// neither): what every `build` starts from.
    pub(crate) fn into_parts(self) -> Result<(S, Arc<Flights>)> {
        let flights = Flights::new(
            self.access_token,
            self.expires_at,
            self.clock,
            self.on_refresh,
        )?;
        Ok((self.source, Arc::new(flights)))
    }
}
