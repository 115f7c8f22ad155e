//! [`AsyncTokenStorage`] for [`DynamoDbStorage`]: the same requests as the blocking API,
//! awaited instead of waited for, and renewal updates serialized per entry by an async lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use globus_tokens_core::raw::retry::{CasRetry, update_with_compare_and_swap_async};
use globus_tokens_core::{
    AsyncTokenStorage, AsyncUpdateFn, BoxFuture, Result, SwapOutcome, TokenData, TokenResponse,
};

use crate::lease;
use crate::storage::DynamoDbStorage;

/// Per-process async locks serializing `update_token_data` on one entry, across all handles.
type AsyncLockMap = HashMap<String, Weak<tokio::sync::Mutex<()>>>;
static ASYNC_UPDATE_LOCKS: Mutex<Option<AsyncLockMap>> = Mutex::new(None);

fn async_update_lock(key: String) -> Arc<tokio::sync::Mutex<()>> {
    let mut guard = ASYNC_UPDATE_LOCKS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(lock) = map.get(&key).and_then(Weak::upgrade) {
        return lock;
    }
    map.retain(|_, lock| lock.strong_count() > 0);
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    map.insert(key, Arc::downgrade(&lock));
    lock
}

/// Natively async: every request is the AWS SDK's future (run on the store's runtime thread),
/// awaited without a blocking thread. When a program imports both `TokenStorage` and
/// `AsyncTokenStorage`, call through the trait (`AsyncTokenStorage::get_token_data(&store, rs)`)
/// or use the inherent `*_async` methods.
impl AsyncTokenStorage for DynamoDbStorage {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn store_token_data<'a>(
        &'a self,
        token_data: &'a BTreeMap<String, TokenData>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.store_token_data_async(token_data))
    }

    fn store<'a>(&'a self, response: &'a TokenResponse) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.store_async(response))
    }

    fn get_token_data<'a>(
        &'a self,
        resource_server: &'a str,
    ) -> BoxFuture<'a, Result<Option<TokenData>>> {
        Box::pin(self.get_token_data_async(resource_server))
    }

    fn remove_token_data<'a>(&'a self, resource_server: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.remove_token_data_async(resource_server))
    }

    fn compare_and_swap<'a>(
        &'a self,
        expected: Option<&'a TokenData>,
        new: &'a TokenData,
    ) -> BoxFuture<'a, Result<SwapOutcome>> {
        Box::pin(self.compare_and_swap_async(expected, new))
    }

    /// Read-modify-write through conditional writes, as the blocking
    /// [`TokenStorage::update_token_data`](globus_tokens_core::TokenStorage::update_token_data):
    /// within one process, async updates of the same entry (through any handle on the same
    /// table) run one at a time, so tasks that find the same stale token renew it once; across
    /// processes and machines the update holds the entry's renewal lease, and each write is
    /// conditional on the tokens read (the loser of a race runs `update` again with the
    /// winner's entry). A dropped future releases its lease from a background task.
    fn update_token_data<'a, 'f: 'a>(
        &'a self,
        resource_server: &'a str,
        update: &'a mut AsyncUpdateFn<'f>,
    ) -> BoxFuture<'a, Result<Option<TokenData>>> {
        Box::pin(async move {
            let lock = async_update_lock(format!(
                "{}\u{0}{}\u{0}{}\u{0}{}",
                self.shared.location, self.shared.table, self.namespace, resource_server
            ));
            let _guard = lock.lock().await;
            let lease = match self.lease_for(resource_server) {
                Some((key, config)) => Some(
                    self.shared
                        .runtime
                        .run(lease::acquire(Arc::clone(&self.shared), key, config))
                        .await?,
                ),
                None => None,
            };
            let retry = CasRetry::default();
            let result =
                update_with_compare_and_swap_async(self, resource_server, update, &retry).await;
            if let Some(lease) = lease {
                self.release_lease(lease).await;
            }
            result
        })
    }
}
