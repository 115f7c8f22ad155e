//! Login storage seen as a [`TokenStorage`], so that renewal runs through the one store-renewal
//! path ([`StoreRenewal`](globus_authorizers::StoreRenewal)) under the login storage's lock.

use std::collections::BTreeMap;

use globus_tokens_core::raw::swap_matches;
use globus_tokens_core::{
    DEFAULT_NAMESPACE, Result, SwapOutcome, TokenData, TokenStorage, UpdateFn,
};

use super::{LoginTokenStorage, login_group};

/// Every call is one [`LoginTokenStorage::update_tokens`] (locked for the file stores) or one read.
pub(crate) struct LoginStorageView<'a>(pub(crate) &'a dyn LoginTokenStorage);

impl TokenStorage for LoginStorageView<'_> {
    fn namespace(&self) -> &str {
        DEFAULT_NAMESPACE
    }

    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        self.0.update_tokens(&mut |saved| {
            for (rs, data) in token_data {
                saved.insert(rs.clone(), login_group(data));
            }
        })
    }

    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        Ok(self.0.read_tokens()?.remove(resource_server))
    }

    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        let mut removed = false;
        self.0.update_tokens(&mut |saved| {
            removed = saved.remove(resource_server).is_some();
        })?;
        Ok(removed)
    }

    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        let mut outcome = SwapOutcome::Swapped;
        self.0.update_tokens(&mut |saved| {
            let stored = saved.get(&new.resource_server);
            outcome = if swap_matches(stored, expected) {
                saved.insert(new.resource_server.clone(), login_group(new));
                SwapOutcome::Swapped
            } else {
                SwapOutcome::Conflict(stored.cloned())
            };
        })?;
        Ok(outcome)
    }

    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        let mut now_stored = None;
        self.0.update_tokens(&mut |saved| {
            if let Some(mut new) = update(saved.get(resource_server)) {
                new.resource_server = resource_server.to_owned();
                saved.insert(resource_server.to_owned(), login_group(&new));
            }
            now_stored = saved.get(resource_server).cloned();
        })?;
        Ok(now_stored)
    }
}
