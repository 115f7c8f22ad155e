//! Renewal through a shared token store: single-flight across processes.

use std::sync::{Arc, Mutex, PoisonError};

use globus_tokens_core::{Secret, TokenResponse, TokenStorage};

use crate::client::AuthClient;
use crate::error::Result;
use crate::renewing::{RenewingAuthorizer, RenewingAuthorizerBuilder, TokenSource};
use crate::store_renewal::StoreRenewal;

/// Gets one resource server's token from a store, renewing it through the store's lock with
/// [`StoreRenewal`] (so several processes sharing a store renew a stale token once, and a
/// rotation by a writer that ignores our lock is recovered by reading the store again).
pub struct StorageTokenSource {
    store: Arc<dyn TokenStorage>,
    resource_server: String,
    renewal: StoreRenewal,
    rejected: Mutex<Option<Secret>>,
}

impl std::fmt::Debug for StorageTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageTokenSource")
            .field("resource_server", &self.resource_server)
            .field("namespace", &self.store.namespace())
            .finish_non_exhaustive()
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
        RenewingAuthorizer::with_source(
            StorageTokenSource {
                store,
                resource_server: resource_server.into(),
                renewal: StoreRenewal::new(client),
                rejected: Mutex::new(None),
            },
            clock,
        )
    }
}

impl TokenSource for StorageTokenSource {
    fn fetch(&self) -> Result<TokenResponse> {
        let rejected = self
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let data = self
            .renewal
            .renew(&*self.store, &self.resource_server, rejected.as_ref())?;
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(TokenResponse::from_token_data(
            [data],
            self.renewal.clock().now_seconds(),
        ))
    }

    fn context(&self) -> String {
        format!(
            "{} in namespace {}",
            self.resource_server,
            self.store.namespace()
        )
    }

    fn invalidate(&self, rejected: Option<&Secret>) {
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = rejected.cloned();
    }
}
