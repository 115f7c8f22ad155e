//! An in-memory [`TokenStorage`], for tests and short-lived programs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::Result;
use crate::raw::swap_matches;
use crate::storage::{
    DEFAULT_NAMESPACE, EnumerableTokenStorage, SwapOutcome, TokenStorage, UpdateFn,
};
use crate::token::TokenData;

type Namespaces = BTreeMap<String, BTreeMap<String, TokenData>>;

/// Tokens kept in memory, lost when the last handle is dropped.
///
/// Handles made with [`MemoryTokenStorage::with_namespace`] share one underlying map, the way
/// several globus-sdk adapters can share one file.
///
/// ```
/// use globus_tokens_core::{MemoryTokenStorage, TokenData, TokenStorage, EnumerableTokenStorage};
/// let default = MemoryTokenStorage::new();
/// let alice = default.with_namespace("userprofile/alice");
/// let data = TokenData::new("auth.globus.org", "openid", "AT", 2_000_000_000);
/// alice.store_token_data(&[(data.resource_server.clone(), data)].into()).unwrap();
/// assert!(default.get_token_data("auth.globus.org").unwrap().is_none());
/// assert_eq!(default.namespaces().unwrap(), ["userprofile/alice"]);
/// ```
#[derive(Debug, Clone)]
pub struct MemoryTokenStorage {
    namespace: String,
    shared: Arc<Mutex<Namespaces>>,
}

impl Default for MemoryTokenStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTokenStorage {
    /// An empty store bound to the `DEFAULT` namespace.
    pub fn new() -> Self {
        MemoryTokenStorage {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            shared: Arc::default(),
        }
    }

    /// Another handle on the same data, bound to `namespace`.
    pub fn with_namespace(&self, namespace: impl Into<String>) -> Self {
        MemoryTokenStorage {
            namespace: namespace.into(),
            shared: Arc::clone(&self.shared),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Namespaces> {
        // A panic in another thread cannot leave the map half-updated (every change is a single
        // insert or remove), so a poisoned lock is still consistent.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStorage for MemoryTokenStorage {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        let mut all = self.lock();
        let namespace = all.entry(self.namespace.clone()).or_default();
        for (resource_server, data) in token_data {
            namespace.insert(resource_server.clone(), data.clone());
        }
        Ok(())
    }

    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        Ok(self
            .lock()
            .get(&self.namespace)
            .and_then(|namespace| namespace.get(resource_server))
            .cloned())
    }

    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        let mut all = self.lock();
        let Some(namespace) = all.get_mut(&self.namespace) else {
            return Ok(false);
        };
        let removed = namespace.remove(resource_server).is_some();
        if namespace.is_empty() {
            all.remove(&self.namespace);
        }
        Ok(removed)
    }

    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        let mut all = self.lock();
        let namespace = all.entry(self.namespace.clone()).or_default();
        let stored = namespace.get(&new.resource_server);
        if !swap_matches(stored, expected) {
            return Ok(SwapOutcome::Conflict(stored.cloned()));
        }
        namespace.insert(new.resource_server.clone(), new.clone());
        Ok(SwapOutcome::Swapped)
    }

    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        let mut all = self.lock();
        let current = all
            .get(&self.namespace)
            .and_then(|namespace| namespace.get(resource_server))
            .cloned();
        match update(current.as_ref()) {
            None => Ok(current),
            Some(new) => {
                all.entry(self.namespace.clone())
                    .or_default()
                    .insert(resource_server.to_owned(), new.clone());
                Ok(Some(new))
            }
        }
    }

    fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
        Some(self)
    }
}

impl EnumerableTokenStorage for MemoryTokenStorage {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        Ok(self
            .lock()
            .get(&self.namespace)
            .cloned()
            .unwrap_or_default())
    }

    fn namespaces(&self) -> Result<Vec<String>> {
        Ok(self
            .lock()
            .iter()
            .filter(|(_, tokens)| !tokens.is_empty())
            .map(|(name, _)| name.clone())
            .collect())
    }
}
