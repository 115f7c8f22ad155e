//! [`AsyncStoreRenewal`]: [`StoreRenewal`](super::StoreRenewal) for async code.

use std::sync::{Mutex, MutexGuard, PoisonError};

use globus_tokens_core::{AsyncTokenStorage, BoxFuture, Secret, TokenData};

use super::StoreRenewal;
use super::plan::{Grant, Look, Pass, RenewRun, Step};
use crate::client::AsyncAuthClient;
use crate::error::Result;

/// [`StoreRenewal`](super::StoreRenewal) for async code (feature `async`): the same decisions
/// (staleness, grant, answer checks, merge, recovery from a rotation by another writer), made
/// by the same code, with the token request sent by [`AsyncAuthClient`] inside
/// [`AsyncTokenStorage::update_token_data`].
///
/// Through [`BlockingPool`](globus_tokens_core::BlockingPool) the file or SQLite lock is held
/// while the request is awaited, so processes sharing a store renew a stale token once; on
/// DynamoDB the conditional write keeps a token from moving backwards.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AsyncStoreRenewal, AuthClient};
/// use globus_tokens_core::{BlockingPool, MemoryTokenStorage};
///
/// # async fn run() -> Result<(), globus_authorizers::AuthError> {
/// let store = BlockingPool::new(MemoryTokenStorage::new());
/// let renewal = AsyncStoreRenewal::new(Arc::new(AuthClient::builder("my-client-id").build_async()?));
/// let token = renewal.renew(&store, "transfer.api.globus.org", None).await?;
/// # Ok(())
/// # }
/// ```
pub type AsyncStoreRenewal = StoreRenewal<AsyncAuthClient>;

fn lock(pass: &Mutex<Pass>) -> MutexGuard<'_, Pass> {
    pass.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StoreRenewal<AsyncAuthClient> {
    /// [`StoreRenewal::renew`](super::StoreRenewal::renew), awaited: make sure `store` holds
    /// a usable token for `resource_server` and return it.
    pub async fn renew(
        &self,
        store: &dyn AsyncTokenStorage,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<TokenData> {
        let mut run = RenewRun::new(resource_server);
        loop {
            let pass = self.locked_pass(store, resource_server, rejected).await?;
            match run.after_pass(pass) {
                Step::Return(result) => return result,
                Step::CheckRotation(check) => {
                    let now_stored = store.get_token_data(resource_server).await?;
                    if let Some(result) = run.after_rotation_check(check, now_stored) {
                        return result;
                    }
                }
            }
        }
    }

    /// One locked read-renew-write.
    async fn locked_pass(
        &self,
        store: &dyn AsyncTokenStorage,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<Pass> {
        // The update's futures share the pass by reference; never locked across an await.
        let pass = Mutex::new(Pass::default());
        let pass_ref = &pass;
        let mut update = |current: Option<TokenData>| -> BoxFuture<'_, Option<TokenData>> {
            Box::pin(async move {
                lock(pass_ref).restart();
                let renewal = match self.plan.look(resource_server, current.as_ref(), rejected) {
                    Look::Keep => return None,
                    Look::Fail(err) => return lock(pass_ref).failed(err),
                    Look::Renew(renewal) => renewal,
                };
                lock(pass_ref).used_refresh_token = renewal.refresh_token().cloned();
                let response = match renewal.grant() {
                    Grant::Refresh(refresh_token) => {
                        self.client.oauth2_refresh_token(refresh_token).await
                    }
                    Grant::ClientCredentials(scopes) => {
                        self.client.oauth2_client_credentials_tokens(scopes).await
                    }
                };
                let outcome = response.and_then(|response| renewal.into_entry(response));
                lock(pass_ref).renewed(outcome)
            })
        };
        let stored = store
            .update_token_data(resource_server, &mut update)
            .await?;
        let mut pass = pass.into_inner().unwrap_or_else(PoisonError::into_inner);
        pass.stored = stored;
        Ok(pass)
    }
}
