//! A store through which a writer that ignores our lock races a renewal.

#![allow(dead_code)]

use std::sync::Mutex;

use globus_tokens_core::{MemoryTokenStorage, SwapOutcome, TokenData, TokenStorage, UpdateFn};

/// A store whose first locked update lets a writer that ignores our lock (a Python program)
/// rotate the refresh token between our read and our renewal.
pub type Race = Box<dyn FnOnce(&MemoryTokenStorage) + Send>;

pub struct RacingStore {
    pub inner: MemoryTokenStorage,
    pub race: Mutex<Option<Race>>,
}

impl std::fmt::Debug for RacingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RacingStore")
    }
}

impl TokenStorage for RacingStore {
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }
    fn store_token_data(
        &self,
        data: &std::collections::BTreeMap<String, TokenData>,
    ) -> globus_tokens_core::Result<()> {
        self.inner.store_token_data(data)
    }
    fn get_token_data(&self, rs: &str) -> globus_tokens_core::Result<Option<TokenData>> {
        self.inner.get_token_data(rs)
    }
    fn remove_token_data(&self, rs: &str) -> globus_tokens_core::Result<bool> {
        self.inner.remove_token_data(rs)
    }
    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> globus_tokens_core::Result<SwapOutcome> {
        self.inner.compare_and_swap(expected, new)
    }
    fn update_token_data(
        &self,
        rs: &str,
        update: &mut UpdateFn<'_>,
    ) -> globus_tokens_core::Result<Option<TokenData>> {
        let read = self.inner.get_token_data(rs)?;
        if let Some(race) = self.race.lock().unwrap().take() {
            race(&self.inner);
        }
        match update(read.as_ref()) {
            Some(new) => {
                self.inner
                    .store_token_data(&[(rs.to_owned(), new.clone())].into())?;
                Ok(Some(new))
            }
            None => Ok(read),
        }
    }
}

impl RacingStore {
    /// A store whose next locked update first runs `race` on the stored data.
    pub fn new() -> Self {
        RacingStore {
            inner: MemoryTokenStorage::new(),
            race: Mutex::new(None),
        }
    }
}
