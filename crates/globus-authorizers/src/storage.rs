//! Renewal through a shared token store: single-flight across processes.

use std::sync::{Arc, Mutex, PoisonError};

use globus_tokens_core::{Secret, TokenData, TokenResponse, TokenStorage};

use crate::client::AuthClient;
use crate::error::Result;
use crate::renewing::{RenewingAuthorizer, RenewingAuthorizerBuilder, TokenSource};
use crate::store_renewal::StoreRenewal;

/// Gets one resource server's token from a store, renewing it through the store's lock with
/// [`StoreRenewal`] (so several processes sharing a store renew a stale token once, and a
/// rotation by a writer that ignores our lock is recovered by reading the store again).
///
/// The defaults are the blocking kinds; with the `async` feature, `AsyncStorageAuthorizer` uses
/// `StorageTokenSource<dyn AsyncTokenStorage, AsyncStoreRenewal>`.
pub struct StorageTokenSource<St: ?Sized = dyn TokenStorage, R = StoreRenewal> {
    store: Arc<St>,
    namespace: String,
    resource_server: String,
    renewal: R,
    rejected: Mutex<Option<Secret>>,
}

impl<St: ?Sized, R> std::fmt::Debug for StorageTokenSource<St, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageTokenSource")
            .field("resource_server", &self.resource_server)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl<St: ?Sized, R> StorageTokenSource<St, R> {
    pub(crate) fn new(
        store: Arc<St>,
        namespace: String,
        resource_server: String,
        renewal: R,
    ) -> Self {
        StorageTokenSource {
            store,
            namespace,
            resource_server,
            renewal,
            rejected: Mutex::new(None),
        }
    }

    #[cfg_attr(not(feature = "async"), allow(dead_code))] // used by the async sources
    pub(crate) fn store(&self) -> &Arc<St> {
        &self.store
    }

    #[cfg_attr(not(feature = "async"), allow(dead_code))] // used by the async sources
    pub(crate) fn resource_server(&self) -> &str {
        &self.resource_server
    }

    #[cfg_attr(not(feature = "async"), allow(dead_code))] // used by the async sources
    pub(crate) fn renewal(&self) -> &R {
        &self.renewal
    }

    /// The access token a resource server rejected, if any since the last renewal.
    pub(crate) fn rejected(&self) -> Option<Secret> {
        self.rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What the store holds after a renewal, as the response the authorizer expects.
    pub(crate) fn renewed(&self, data: TokenData, now: i64) -> TokenResponse {
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = None;
        TokenResponse::from_token_data([data], now)
    }

    pub(crate) fn describe(&self) -> String {
        format!("{} in namespace {}", self.resource_server, self.namespace)
    }

    pub(crate) fn remember_rejected(&self, rejected: Option<&Secret>) {
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = rejected.cloned();
    }
}

/// globus-sdk has no equivalent: a renewing authorizer whose state lives in a shared store.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AuthClient, GlobusAuthorizer, StorageAuthorizer};
/// let store = Arc::new(globus_tokens_core::MemoryTokenStorage::new());
/// let client = Arc::new(AuthClient::native("my-client-id")?);
/// let authorizer = StorageAuthorizer::builder(store, "transfer.api.globus.org", client).build()?;
/// let header = authorizer.get_authorization_header()?;
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
pub type StorageAuthorizer = RenewingAuthorizer<StorageTokenSource>;

impl RenewingAuthorizer<StorageTokenSource> {
    /// Start building an authorizer for `resource_server`'s tokens in `store`, renewed with `client`.
    pub fn builder(
        store: Arc<dyn TokenStorage>,
        resource_server: impl Into<String>,
        client: Arc<AuthClient>,
    ) -> RenewingAuthorizerBuilder<StorageTokenSource> {
        let clock = Arc::clone(client.clock());
        let namespace = store.namespace().to_owned();
        let source = StorageTokenSource::new(
            store,
            namespace,
            resource_server.into(),
            StoreRenewal::new(client),
        );
        RenewingAuthorizer::with_source(source, clock)
    }
}

impl TokenSource for StorageTokenSource {
    fn fetch(&self) -> Result<TokenResponse> {
        let rejected = self.rejected();
        let data = self
            .renewal
            .renew(&*self.store, &self.resource_server, rejected.as_ref())?;
        Ok(self.renewed(data, self.renewal.clock().now_seconds()))
    }

    fn context(&self) -> String {
        self.describe()
    }

    fn invalidate(&self, rejected: Option<&Secret>) {
        self.remember_rejected(rejected);
    }
}
