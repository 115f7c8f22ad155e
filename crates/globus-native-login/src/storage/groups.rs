//! What the two fair-research-login file formats share: each is read and rewritten whole, as
//! an ordered list of token groups, under the sidecar lock; the core storage traits are built
//! once on top of that.

use std::collections::BTreeMap;

use globus_tokens_core::raw::swap_matches;
use globus_tokens_core::{Result, SwapOutcome, TokenData, UpdateFn};

/// A file's token groups in file order.
pub(crate) type Groups = Vec<(String, TokenData)>;

/// A login token file seen as its list of groups.
pub(crate) trait GroupFile {
    /// The groups as stored now (no lock: writes are atomic renames).
    fn read_groups(&self) -> Result<Groups>;

    /// Locked read-modify-write; writes only if `update` changed something.
    fn modify<T>(&self, update: impl FnOnce(&mut Groups) -> T) -> Result<T>;

    /// What the format keeps of a group: fair-research-login's files hold only its six fields.
    fn as_stored(data: &TokenData) -> TokenData;
}

/// Replace or add `tokens`, keeping the file order of groups already there.
pub(crate) fn merge<F: GroupFile>(groups: &mut Groups, tokens: &BTreeMap<String, TokenData>) {
    for (rs, data) in tokens {
        let data = F::as_stored(data);
        match groups.iter_mut().find(|(existing, _)| existing == rs) {
            Some((_, slot)) => *slot = data,
            None => groups.push((rs.clone(), data)),
        }
    }
}

/// Make the groups exactly `tokens`, keeping the file order of those that stay.
pub(crate) fn replace_all<F: GroupFile>(groups: &mut Groups, tokens: &BTreeMap<String, TokenData>) {
    groups.retain(|(rs, _)| tokens.contains_key(rs));
    merge::<F>(groups, tokens);
}

fn find(groups: &Groups, resource_server: &str) -> Option<TokenData> {
    groups
        .iter()
        .find(|(rs, _)| rs == resource_server)
        .map(|(_, data)| data.clone())
}

pub(crate) fn store<F: GroupFile>(file: &F, tokens: &BTreeMap<String, TokenData>) -> Result<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    file.modify(|groups| merge::<F>(groups, tokens))
}

pub(crate) fn get<F: GroupFile>(file: &F, resource_server: &str) -> Result<Option<TokenData>> {
    Ok(find(&file.read_groups()?, resource_server))
}

pub(crate) fn remove<F: GroupFile>(file: &F, resource_server: &str) -> Result<bool> {
    file.modify(|groups| {
        let before = groups.len();
        groups.retain(|(rs, _)| rs != resource_server);
        groups.len() != before
    })
}

pub(crate) fn compare_and_swap<F: GroupFile>(
    file: &F,
    expected: Option<&TokenData>,
    new: &TokenData,
) -> Result<SwapOutcome> {
    file.modify(|groups| {
        let stored = find(groups, &new.resource_server);
        if swap_matches(stored.as_ref(), expected) {
            merge::<F>(
                groups,
                &BTreeMap::from([(new.resource_server.clone(), new.clone())]),
            );
            SwapOutcome::Swapped
        } else {
            SwapOutcome::Conflict(stored)
        }
    })
}

pub(crate) fn update<F: GroupFile>(
    file: &F,
    resource_server: &str,
    update: &mut UpdateFn<'_>,
) -> Result<Option<TokenData>> {
    file.modify(|groups| {
        let stored = find(groups, resource_server);
        match update(stored.as_ref()) {
            Some(new) => {
                merge::<F>(
                    groups,
                    &BTreeMap::from([(resource_server.to_owned(), new.clone())]),
                );
                Some(F::as_stored(&new))
            }
            None => stored,
        }
    })
}

/// `TokenStorage` for a [`GroupFile`] type, with `namespace` giving the handle's namespace.
macro_rules! group_file_token_storage {
    ($type:ty, |$this:ident| $namespace:expr) => {
        impl globus_tokens_core::TokenStorage for $type {
            fn namespace(&self) -> &str {
                let $this = self;
                $namespace
            }

            fn store_token_data(
                &self,
                token_data: &std::collections::BTreeMap<String, globus_tokens_core::TokenData>,
            ) -> globus_tokens_core::Result<()> {
                $crate::storage::groups::store(self, token_data)
            }

            fn get_token_data(
                &self,
                resource_server: &str,
            ) -> globus_tokens_core::Result<Option<globus_tokens_core::TokenData>> {
                $crate::storage::groups::get(self, resource_server)
            }

            fn remove_token_data(&self, resource_server: &str) -> globus_tokens_core::Result<bool> {
                $crate::storage::groups::remove(self, resource_server)
            }

            fn compare_and_swap(
                &self,
                expected: Option<&globus_tokens_core::TokenData>,
                new: &globus_tokens_core::TokenData,
            ) -> globus_tokens_core::Result<globus_tokens_core::SwapOutcome> {
                $crate::storage::groups::compare_and_swap(self, expected, new)
            }

            /// Holds the sidecar lock from the read through `update` to the write.
            fn update_token_data(
                &self,
                resource_server: &str,
                update: &mut globus_tokens_core::UpdateFn<'_>,
            ) -> globus_tokens_core::Result<Option<globus_tokens_core::TokenData>> {
                $crate::storage::groups::update(self, resource_server, update)
            }

            fn as_enumerable(&self) -> Option<&dyn globus_tokens_core::EnumerableTokenStorage> {
                Some(self)
            }
        }
    };
}

pub(crate) use group_file_token_storage;
