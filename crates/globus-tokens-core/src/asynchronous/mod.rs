//! Token storage for async code (feature `async`): the [`AsyncTokenStorage`] trait, and
//! [`BlockingPool`], which makes any blocking [`TokenStorage`](crate::TokenStorage) one by
//! running it on tokio's blocking pool.
//!
//! Backends that speak async natively (DynamoDB) implement [`AsyncTokenStorage`] directly;
//! the file and SQLite stores, whose locks are OS file locks and SQLite transactions, go
//! through [`BlockingPool`], which keeps their lock held across an async update, so the
//! guarantees of the blocking API (one update at a time across threads and processes) hold.

mod blocking_pool;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use crate::error::Result;
use crate::storage::SwapOutcome;
use crate::token::{TokenData, TokenResponse};

pub use blocking_pool::BlockingPool;

/// A boxed future that can move between threads: what [`AsyncTokenStorage`]'s methods return,
/// so that the trait works as `dyn AsyncTokenStorage`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The async update of [`AsyncTokenStorage::update_token_data`]: given the stored entry (owned),
/// it returns what to write, or `None` to write nothing.
pub type AsyncUpdateFn<'a> =
    dyn FnMut(Option<TokenData>) -> BoxFuture<'a, Option<TokenData>> + Send + 'a;

/// [`TokenStorage`](crate::TokenStorage) for async code: the same operations and guarantees,
/// as futures. Object-safe, so renewal can run through `Arc<dyn AsyncTokenStorage>`.
///
/// ```
/// use std::sync::Arc;
/// use globus_tokens_core::{AsyncTokenStorage, BlockingPool, MemoryTokenStorage, TokenData};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store: Arc<dyn AsyncTokenStorage> = Arc::new(BlockingPool::new(MemoryTokenStorage::new()));
/// let entry = TokenData::new("transfer.api.globus.org", "scope", "AT", 100);
/// store.store_token_data(&[(entry.resource_server.clone(), entry)].into()).await?;
/// // Read-modify-write under the store's lock; the update may await (a token request).
/// let stored = store
///     .update_token_data("transfer.api.globus.org", &mut |current| {
///         Box::pin(async move {
///             let mut entry = current?;
///             entry.expires_at_seconds += 3600;
///             Some(entry)
///         })
///     })
///     .await?;
/// assert_eq!(stored.map(|e| e.expires_at_seconds), Some(3700));
/// # Ok::<(), globus_tokens_core::Error>(())
/// # }).unwrap();
/// ```
pub trait AsyncTokenStorage: Send + Sync {
    /// The namespace this handle reads and writes.
    fn namespace(&self) -> &str;

    /// [`TokenStorage::store_token_data`](crate::TokenStorage::store_token_data): one atomic
    /// write of several resource servers' tokens.
    fn store_token_data<'a>(
        &'a self,
        token_data: &'a BTreeMap<String, TokenData>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Store every token in a response (merged per resource server).
    fn store<'a>(&'a self, response: &'a TokenResponse) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.store_token_data(&response.by_resource_server()).await })
    }

    /// The stored tokens for one resource server, if any.
    fn get_token_data<'a>(
        &'a self,
        resource_server: &'a str,
    ) -> BoxFuture<'a, Result<Option<TokenData>>>;

    /// Remove one resource server's tokens; `true` if there were any.
    fn remove_token_data<'a>(&'a self, resource_server: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Called by authorizers after a renewal; stores the new tokens.
    fn on_refresh<'a>(&'a self, response: &'a TokenResponse) -> BoxFuture<'a, Result<()>> {
        self.store(response)
    }

    /// [`TokenStorage::compare_and_swap`](crate::TokenStorage::compare_and_swap): replace the
    /// entry only if it still holds the tokens of `expected`.
    fn compare_and_swap<'a>(
        &'a self,
        expected: Option<&'a TokenData>,
        new: &'a TokenData,
    ) -> BoxFuture<'a, Result<SwapOutcome>>;

    /// [`TokenStorage::update_token_data`](crate::TokenStorage::update_token_data) with an
    /// async `update`: read-modify-write of one entry, returning what is stored afterwards.
    ///
    /// Stores with locks hold them while `update` runs (and awaits), so across tasks, threads
    /// and processes one update runs at a time and each sees the previous one's result. The
    /// default, for stores without locks, is the compare-and-swap loop of
    /// [`raw::retry::update_with_compare_and_swap_async`](crate::raw::retry::update_with_compare_and_swap_async):
    /// `update` may then run more than once and must decide from the entry it is given.
    /// Dropping the future abandons the update: nothing is written.
    fn update_token_data<'a, 'f: 'a>(
        &'a self,
        resource_server: &'a str,
        update: &'a mut AsyncUpdateFn<'f>,
    ) -> BoxFuture<'a, Result<Option<TokenData>>> {
        Box::pin(async move {
            let retry = crate::raw::retry::CasRetry::default();
            crate::raw::retry::update_with_compare_and_swap_async(
                self,
                resource_server,
                update,
                &retry,
            )
            .await
        })
    }
}

macro_rules! forward_async_token_storage {
    ($($target:ty),*) => {$(
        impl<S: AsyncTokenStorage + ?Sized> AsyncTokenStorage for $target {
            fn namespace(&self) -> &str {
                (**self).namespace()
            }
            fn store_token_data<'a>(&'a self, token_data: &'a BTreeMap<String, TokenData>) -> BoxFuture<'a, Result<()>> {
                (**self).store_token_data(token_data)
            }
            fn store<'a>(&'a self, response: &'a TokenResponse) -> BoxFuture<'a, Result<()>> {
                (**self).store(response)
            }
            fn get_token_data<'a>(&'a self, resource_server: &'a str) -> BoxFuture<'a, Result<Option<TokenData>>> {
                (**self).get_token_data(resource_server)
            }
            fn remove_token_data<'a>(&'a self, resource_server: &'a str) -> BoxFuture<'a, Result<bool>> {
                (**self).remove_token_data(resource_server)
            }
            fn on_refresh<'a>(&'a self, response: &'a TokenResponse) -> BoxFuture<'a, Result<()>> {
                (**self).on_refresh(response)
            }
            fn compare_and_swap<'a>(&'a self, expected: Option<&'a TokenData>, new: &'a TokenData) -> BoxFuture<'a, Result<SwapOutcome>> {
                (**self).compare_and_swap(expected, new)
            }
            fn update_token_data<'a, 'f: 'a>(&'a self, resource_server: &'a str, update: &'a mut AsyncUpdateFn<'f>) -> BoxFuture<'a, Result<Option<TokenData>>> {
                (**self).update_token_data(resource_server, update)
            }
        }
    )*};
}

forward_async_token_storage!(std::sync::Arc<S>, Box<S>, &S);
