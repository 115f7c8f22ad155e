//! The storage traits every backend implements.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::token::{TokenData, TokenResponse};

/// The namespace a store uses unless told otherwise, as in globus-sdk.
pub const DEFAULT_NAMESPACE: &str = "DEFAULT";

/// The outcome of [`TokenStorage::compare_and_swap`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// Returned once per call and never stored in bulk, so boxing the data would only add a step.
#[allow(clippy::large_enum_variant)]
pub enum SwapOutcome {
    /// The stored entry matched what was expected and now holds the new data.
    Swapped,
    /// The stored entry had changed; nothing was written. Holds what is stored now.
    Conflict(Option<TokenData>),
}

/// A closure given the stored entry for one resource server; it returns the entry to write, or
/// `None` to leave the store as it is. Used by [`TokenStorage::update_token_data`].
pub type UpdateFn<'a> = dyn FnMut(Option<&TokenData>) -> Option<TokenData> + 'a;

/// A place to keep tokens, bound to one namespace: globus-sdk's `StorageAdapter` in Rust form.
///
/// Methods take `&self` and implementations are `Send + Sync`, so one store can be shared by
/// threads behind an `Arc`. Every write is atomic: readers in this or other processes see the
/// store before or after a write, never part of it.
///
/// Listing what a store holds is a separate capability, [`EnumerableTokenStorage`], reached
/// through [`TokenStorage::as_enumerable`]; a layout that cannot list says so instead of
/// returning an empty map.
///
/// ```
/// use globus_tokens_core::{MemoryTokenStorage, TokenResponse, TokenStorage};
/// let store = MemoryTokenStorage::new();
/// let response = TokenResponse::from_json_at(br#"{"access_token": "AT", "scope": "openid",
///     "expires_in": 60, "resource_server": "auth.globus.org"}"#, 0).unwrap();
/// store.store(&response).unwrap();
/// let data = store.get_token_data("auth.globus.org").unwrap().unwrap();
/// assert_eq!(data.expires_at_seconds, 60);
/// assert!(store.remove_token_data("auth.globus.org").unwrap());
/// assert!(!store.remove_token_data("auth.globus.org").unwrap());
/// ```
pub trait TokenStorage: Send + Sync {
    /// The namespace this handle reads and writes.
    fn namespace(&self) -> &str;

    /// Store several resource servers' tokens as one atomic write, replacing the entries for
    /// those resource servers and keeping the others.
    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()>;

    /// Store every token in a response (merged per resource server).
    fn store(&self, response: &TokenResponse) -> Result<()> {
        self.store_token_data(&response.by_resource_server())
    }

    /// The stored tokens for one resource server, if any.
    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>>;

    /// Remove one resource server's tokens; `true` if there were any.
    fn remove_token_data(&self, resource_server: &str) -> Result<bool>;

    /// Called by authorizers after a renewal; stores the new tokens.
    fn on_refresh(&self, response: &TokenResponse) -> Result<()> {
        self.store(response)
    }

    /// Replace `new.resource_server`'s entry with `new` only if what is stored still holds the
    /// same tokens as `expected` (`None`: only if nothing is stored). Renewal uses this so that
    /// a slow writer never replaces a newer token with an older one.
    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome>;

    /// Read-modify-write of one resource server's entry.
    ///
    /// `update` is given the stored entry and returns what to write (or `None` to write
    /// nothing); the method returns the entry stored afterwards. Backends that can lock (files,
    /// SQLite, memory) hold an exclusive lock across the call, so across threads and processes
    /// only one `update` runs at a time and each sees the previous one's result: this is what
    /// makes token renewal run once. The default implementation, for backends without locks,
    /// retries [`TokenStorage::compare_and_swap`] with
    /// [`retry::update_with_compare_and_swap`](crate::raw::retry::update_with_compare_and_swap), so
    /// `update` may run more than once and must decide from the entry it is given; after
    /// [`CasRetry::default`](crate::raw::retry::CasRetry)'s attempts it fails with
    /// [`Error::RetriesExhausted`](crate::Error::RetriesExhausted). `update` must not call back
    /// into the same store.
    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        crate::raw::retry::update_with_compare_and_swap(
            self,
            resource_server,
            update,
            &crate::raw::retry::CasRetry::default(),
        )
    }

    /// This store as an [`EnumerableTokenStorage`], if it can list its contents.
    fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
        None
    }

    /// This store as a [`ConfigStorage`], if it keeps configuration too.
    fn as_config_storage(&self) -> Option<&dyn ConfigStorage> {
        None
    }
}

/// A [`TokenStorage`] that can list what it holds.
pub trait EnumerableTokenStorage: TokenStorage {
    /// Every resource server's tokens in this handle's namespace.
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>>;

    /// The namespaces holding tokens in the underlying store, sorted.
    fn namespaces(&self) -> Result<Vec<String>>;
}

/// Named JSON-object configuration kept beside tokens (globus-sdk's `SQLiteAdapter` config).
pub trait ConfigStorage: Send + Sync {
    /// Store (replace) a named configuration object in this handle's namespace.
    fn store_config(&self, config_name: &str, config: &Map<String, Value>) -> Result<()>;

    /// Read a named configuration object, if stored.
    fn read_config(&self, config_name: &str) -> Result<Option<Map<String, Value>>>;

    /// Remove a named configuration object; `true` if it existed.
    fn remove_config(&self, config_name: &str) -> Result<bool>;

    /// The names of the configuration objects in this handle's namespace, sorted.
    fn config_names(&self) -> Result<Vec<String>>;
}

macro_rules! forward_token_storage {
    ($($target:ty),*) => {$(
        impl<S: TokenStorage + ?Sized> TokenStorage for $target {
            fn namespace(&self) -> &str {
                (**self).namespace()
            }
            fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
                (**self).store_token_data(token_data)
            }
            fn store(&self, response: &TokenResponse) -> Result<()> {
                (**self).store(response)
            }
            fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
                (**self).get_token_data(resource_server)
            }
            fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
                (**self).remove_token_data(resource_server)
            }
            fn on_refresh(&self, response: &TokenResponse) -> Result<()> {
                (**self).on_refresh(response)
            }
            fn compare_and_swap(&self, expected: Option<&TokenData>, new: &TokenData) -> Result<SwapOutcome> {
                (**self).compare_and_swap(expected, new)
            }
            fn update_token_data(&self, resource_server: &str, update: &mut UpdateFn<'_>) -> Result<Option<TokenData>> {
                (**self).update_token_data(resource_server, update)
            }
            fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
                (**self).as_enumerable()
            }
            fn as_config_storage(&self) -> Option<&dyn ConfigStorage> {
                (**self).as_config_storage()
            }
        }
    )*};
}

forward_token_storage!(Arc<S>, Box<S>, &S);
