//! Renewal of one resource server's token through a store: the one implementation behind
//! [`StorageAuthorizer`](crate::StorageAuthorizer), fair-research-login's `NativeClient` and the
//! `globus-tokens` command.

#[cfg(feature = "async")]
mod nonblocking;
mod plan;

use std::sync::Arc;

use globus_tokens_core::{Clock, Secret, TokenData, TokenStorage};

use crate::client::AuthClient;
use crate::error::Result;

#[cfg(feature = "async")]
pub use nonblocking::AsyncStoreRenewal;
pub use plan::merge_renewed;
use plan::{Grant, Look, Pass, Plan, RenewRun, Step};

/// Renews tokens in place in a [`TokenStorage`], once across threads and processes.
///
/// [`StoreRenewal::renew`] runs inside [`TokenStorage::update_token_data`]: the store's lock
/// (sidecar lock of a JSON file, `BEGIN IMMEDIATE` on SQLite) or conditional write is held
/// across read, renewal and write, so when several processes find the same stale token the first
/// renews it and the others find its result. The grant is the refresh token when the entry has
/// one, else client credentials when the client is confidential. What a response leaves out is
/// kept (see [`merge_renewed`]). When Globus Auth answers `invalid_grant` and the store now holds
/// a different refresh token than the one used (a writer that ignores our lock, such as a Python
/// program, rotated it), the store is read again and the newer token used.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AuthClient, StoreRenewal};
/// use globus_tokens_core::MemoryTokenStorage;
///
/// let store = MemoryTokenStorage::new();
/// let renewal = StoreRenewal::new(Arc::new(AuthClient::native("my-client-id")?));
/// // Renews only if stale (within 60 s of expiry); returns what the store holds afterwards.
/// let token = renewal.renew(&store, "transfer.api.globus.org", None)?;
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
///
/// With the `async` feature, [`AsyncStoreRenewal`] is this type over the async client: the same
/// settings and decisions, with an async `renew`.
pub struct StoreRenewal<C = AuthClient> {
    client: Arc<C>,
    plan: Plan,
}

impl<C> Clone for StoreRenewal<C> {
    fn clone(&self) -> Self {
        StoreRenewal {
            client: Arc::clone(&self.client),
            plan: self.plan.clone(),
        }
    }
}

impl<C> std::fmt::Debug for StoreRenewal<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRenewal")
            .field("skew_seconds", &self.plan.skew_seconds)
            .finish_non_exhaustive()
    }
}

impl<C> StoreRenewal<C> {
    /// Count a token as stale this many seconds before it expires (fair-research-login: 0).
    pub fn skew_seconds(mut self, seconds: i64) -> Self {
        self.plan.skew_seconds = seconds;
        self
    }

    /// Judge staleness by `clock` instead of the client's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.plan.clock = clock;
        self
    }

    /// The clock staleness is judged by.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.plan.clock
    }
}

impl<C: RenewalClient> StoreRenewal<C> {
    /// Renew with `client` ([`AuthClient`], or with the `async` feature `AsyncAuthClient`), on
    /// its clock, when a token is within [`EXPIRES_ADJUST_SECONDS`](crate::EXPIRES_ADJUST_SECONDS)
    /// of expiry.
    pub fn new(client: Arc<C>) -> Self {
        let plan = Plan::new(Arc::clone(client.clock()), client.is_confidential());
        StoreRenewal { client, plan }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The clients a [`StoreRenewal`] renews with: [`AuthClient`] and, with the `async` feature,
/// `AsyncAuthClient`. Sealed.
pub trait RenewalClient: sealed::Sealed + Send + Sync {
    /// The clock that stamps the client's token responses.
    fn clock(&self) -> &Arc<dyn Clock>;
    /// Whether the client has a secret (and so can use client credentials).
    fn is_confidential(&self) -> bool;
}

impl sealed::Sealed for AuthClient {}

impl RenewalClient for AuthClient {
    fn clock(&self) -> &Arc<dyn Clock> {
        AuthClient::clock(self)
    }
    fn is_confidential(&self) -> bool {
        AuthClient::is_confidential(self)
    }
}

#[cfg(feature = "async")]
impl sealed::Sealed for crate::AsyncAuthClient {}

#[cfg(feature = "async")]
impl RenewalClient for crate::AsyncAuthClient {
    fn clock(&self) -> &Arc<dyn Clock> {
        crate::AsyncAuthClient::clock(self)
    }
    fn is_confidential(&self) -> bool {
        crate::AsyncAuthClient::is_confidential(self)
    }
}

impl StoreRenewal<AuthClient> {
    /// Make sure `store` holds a usable token for `resource_server` and return it.
    ///
    /// The stored token is renewed when it is stale, or when its access token is `rejected`
    /// (a resource server answered 401 to it); a token another process renewed meanwhile is
    /// taken as it is. Errors: [`AuthError::LoginRequired`](crate::AuthError::LoginRequired) when nothing is stored, there is no
    /// way to renew, or Globus Auth refused the grant; the client's errors otherwise.
    pub fn renew(
        &self,
        store: &dyn TokenStorage,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<TokenData> {
        let mut run = RenewRun::new(resource_server);
        loop {
            let pass = self.locked_pass(store, resource_server, rejected)?;
            match run.after_pass(pass) {
                Step::Return(result) => return result,
                Step::CheckRotation(check) => {
                    // Did someone else rotate the refresh token while our request was in flight?
                    let now_stored = store.get_token_data(resource_server)?;
                    if let Some(result) = run.after_rotation_check(check, now_stored) {
                        return result;
                    }
                }
            }
        }
    }

    /// One locked read-renew-write.
    fn locked_pass(
        &self,
        store: &dyn TokenStorage,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<Pass> {
        let mut pass = Pass::default();
        let stored = store.update_token_data(resource_server, &mut |current| {
            pass.restart();
            let renewal = match self.plan.look(resource_server, current, rejected) {
                Look::Keep => return None,
                Look::Fail(err) => return pass.failed(err),
                Look::Renew(renewal) => renewal,
            };
            pass.used_refresh_token = renewal.refresh_token().cloned();
            let response = match renewal.grant() {
                Grant::Refresh(refresh_token) => self.client.oauth2_refresh_token(refresh_token),
                Grant::ClientCredentials(scopes) => {
                    self.client.oauth2_client_credentials_tokens(scopes)
                }
            };
            pass.renewed(response.and_then(|response| renewal.into_entry(response)))
        })?;
        pass.stored = stored;
        Ok(pass)
    }
}
