//! fair-research-login's token storage protocol and its implementations.

mod groups;
mod ini;
mod json;
mod multiclient;
mod view;

use std::collections::BTreeMap;

use globus_tokens_core::{Error, Result, TokenData, TokenStorage};

pub use json::JsonLoginTokenStorage;
pub use multiclient::MultiClientTokenStorage;
pub(crate) use view::LoginStorageView;

/// The fields fair-research-login keeps for a resource server (its `TOKEN_GROUP_KEYS`); its
/// `verify_token_group` rejects a group with any other field.
pub const TOKEN_GROUP_KEYS: [&str; 6] = [
    "scope",
    "access_token",
    "refresh_token",
    "token_type",
    "expires_at_seconds",
    "resource_server",
];

/// A read-modify-write step given to [`LoginTokenStorage::update_tokens`].
pub type UpdateTokensFn<'a> = dyn FnMut(&mut BTreeMap<String, TokenData>) + 'a;

/// fair-research-login's token storage protocol: `read_tokens`, `write_tokens`, `clear_tokens`.
///
/// Tokens are grouped by resource server. [`LoginTokenStorage::update_tokens`] is a
/// read-modify-write step that file stores run under their lock, so two processes saving tokens
/// at once lose neither's; the default runs read then write without a lock.
///
/// ```
/// use std::collections::BTreeMap;
/// use globus_native_login::{JsonLoginTokenStorage, LoginTokenStorage};
/// use globus_tokens_core::TokenData;
///
/// let dir = tempfile::tempdir()?;
/// let storage = JsonLoginTokenStorage::new(dir.path().join("mytokens.json"));
/// let tokens = BTreeMap::from([(
///     "auth.globus.org".to_owned(),
///     TokenData::new("auth.globus.org", "openid", "AT", 2_000_000_000),
/// )]);
/// storage.write_tokens(&tokens)?;
/// assert_eq!(storage.read_tokens()?, tokens);
/// storage.clear_tokens()?;
/// assert!(storage.read_tokens()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait LoginTokenStorage: Send + Sync + std::fmt::Debug {
    /// Every saved token group, by resource server (empty when nothing is saved).
    fn read_tokens(&self) -> Result<BTreeMap<String, TokenData>>;

    /// Replace the saved token groups with `tokens`.
    fn write_tokens(&self, tokens: &BTreeMap<String, TokenData>) -> Result<()>;

    /// Remove every saved token group.
    fn clear_tokens(&self) -> Result<()>;

    /// Read, let `update` change the groups, write the result (if it changed).
    fn update_tokens(&self, update: &mut UpdateTokensFn<'_>) -> Result<()> {
        let before = self.read_tokens()?;
        let mut after = before.clone();
        update(&mut after);
        if after != before {
            self.write_tokens(&after)?;
        }
        Ok(())
    }

    /// This storage as a [`TokenStorage`] on the same tokens, if it is one (the file stores and
    /// [`TokenStorageAdapter`] are). Renewal then runs under that store's own lock; for other
    /// storage it runs through [`LoginTokenStorage::update_tokens`].
    fn as_token_storage(&self) -> Option<&dyn TokenStorage> {
        None
    }
}

macro_rules! forward_login_storage {
    ($($target:ty),*) => {$(
        impl<S: LoginTokenStorage + ?Sized> LoginTokenStorage for $target {
            fn read_tokens(&self) -> Result<BTreeMap<String, TokenData>> {
                (**self).read_tokens()
            }
            fn write_tokens(&self, tokens: &BTreeMap<String, TokenData>) -> Result<()> {
                (**self).write_tokens(tokens)
            }
            fn clear_tokens(&self) -> Result<()> {
                (**self).clear_tokens()
            }
            fn update_tokens(&self, update: &mut UpdateTokensFn<'_>) -> Result<()> {
                (**self).update_tokens(update)
            }
            fn as_token_storage(&self) -> Option<&dyn TokenStorage> {
                (**self).as_token_storage()
            }
        }
    )*};
}

forward_login_storage!(std::sync::Arc<S>, Box<S>, &S);

/// Lets any [`TokenStorage`] that can list its contents (SQLite, JSON 2.0, memory, ...) serve
/// as [`LoginTokenStorage`], in the store's namespace.
///
/// `read_tokens` needs [`TokenStorage::as_enumerable`]; a store that cannot list fails with
/// [`Error::Unsupported`] rather than pretending to be empty. Groups are stored whole, so a
/// store that holds `identity_id` (JSON 2.0, SQLite, DynamoDB) keeps it. `write_tokens`
/// changes only the resource servers that differ, as one batch.
///
/// [`LoginTokenStorage::update_tokens`] is a locked update: each resource server the update
/// changes is written through the store's [`TokenStorage::update_token_data`], which holds the
/// store's lock (or retries a conditional write) and runs the update again on the entry stored
/// at that moment, so concurrent savers (threads or processes) never lose each other's change.
/// Removals are one [`TokenStorage::remove_token_data`] call per resource server.
///
/// ```
/// use std::collections::BTreeMap;
/// use globus_native_login::{LoginTokenStorage, TokenStorageAdapter};
/// use globus_tokens_core::{MemoryTokenStorage, TokenData, TokenStorage};
///
/// let storage = TokenStorageAdapter::new(MemoryTokenStorage::new());
/// let data = TokenData::new("auth.globus.org", "openid", "AT", 2_000_000_000);
/// storage.write_tokens(&BTreeMap::from([("auth.globus.org".to_owned(), data.clone())]))?;
/// assert_eq!(storage.inner().get_token_data("auth.globus.org")?, Some(data));
/// # Ok::<(), globus_tokens_core::Error>(())
/// ```
pub struct TokenStorageAdapter<S> {
    inner: S,
}

impl<S: TokenStorage> std::fmt::Debug for TokenStorageAdapter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStorageAdapter")
            .field("namespace", &self.inner.namespace())
            .finish_non_exhaustive()
    }
}

impl<S: TokenStorage> TokenStorageAdapter<S> {
    /// Serve `inner` as login storage.
    pub fn new(inner: S) -> Self {
        TokenStorageAdapter { inner }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwrap.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn apply(
        &self,
        before: &BTreeMap<String, TokenData>,
        after: &BTreeMap<String, TokenData>,
    ) -> Result<()> {
        let changed: BTreeMap<String, TokenData> = after
            .iter()
            .filter(|(rs, data)| before.get(*rs) != Some(*data))
            .map(|(rs, data)| (rs.clone(), data.clone()))
            .collect();
        if !changed.is_empty() {
            self.inner.store_token_data(&changed)?;
        }
        for rs in before.keys().filter(|rs| !after.contains_key(*rs)) {
            self.inner.remove_token_data(rs)?;
        }
        Ok(())
    }
}

impl<S: TokenStorage> LoginTokenStorage for TokenStorageAdapter<S> {
    fn read_tokens(&self) -> Result<BTreeMap<String, TokenData>> {
        match self.inner.as_enumerable() {
            Some(enumerable) => enumerable.get_by_resource_server(),
            None => Err(Error::Unsupported {
                backend: "token storage adapter",
                operation: "listing tokens (read_tokens)",
                detail: Some("the wrapped store cannot list its resource servers".to_owned()),
            }),
        }
    }

    fn write_tokens(&self, tokens: &BTreeMap<String, TokenData>) -> Result<()> {
        let before = self.read_tokens()?;
        self.apply(&before, tokens)
    }

    fn clear_tokens(&self) -> Result<()> {
        let before = self.read_tokens()?;
        self.apply(&before, &BTreeMap::new())
    }

    fn update_tokens(&self, update: &mut UpdateTokensFn<'_>) -> Result<()> {
        // A first run on a snapshot finds what the update touches; each touched resource
        // server is then rewritten under the store's lock, with the update run again on the
        // entry stored now (it may have changed since the snapshot).
        let snapshot = self.read_tokens()?;
        let mut planned = snapshot.clone();
        update(&mut planned);
        let touched: Vec<&String> = planned
            .iter()
            .filter(|(rs, data)| snapshot.get(*rs) != Some(*data))
            .map(|(rs, _)| rs)
            .collect();
        for rs in touched {
            self.inner.update_token_data(rs, &mut |current| {
                let mut view = snapshot.clone();
                match current {
                    Some(current) => view.insert(rs.clone(), current.clone()),
                    None => view.remove(rs),
                };
                update(&mut view);
                view.get(rs).filter(|new| Some(*new) != current).cloned()
            })?;
        }
        for rs in snapshot.keys().filter(|rs| !planned.contains_key(*rs)) {
            self.inner.remove_token_data(rs)?;
        }
        Ok(())
    }

    fn as_token_storage(&self) -> Option<&dyn TokenStorage> {
        Some(&self.inner)
    }
}

/// `data` as a login token group: `token_type` `"Bearer"` when missing, an empty refresh token
/// as none. `identity_id` and other fields are kept, for stores that hold them; the
/// fair-research-login file formats drop them when they write.
pub(crate) fn login_group(data: &TokenData) -> TokenData {
    let mut group = data.clone();
    if group.token_type.is_none() {
        group.token_type = Some("Bearer".to_owned());
    }
    if group
        .refresh_token
        .as_ref()
        .is_some_and(|rt| rt.expose().is_empty())
    {
        group.refresh_token = None;
    }
    group
}

/// The saved group `old` after a renewal that returned `new`: the new access token and
/// expiry, the rotated refresh token if there is one (else the saved one), and what a renewal
/// response leaves out (`identity_id`, unknown fields) kept from the saved group.
pub(crate) fn renewed_group(old: Option<&TokenData>, new: &TokenData) -> TokenData {
    match old {
        Some(old) => globus_authorizers::merge_renewed(old, login_group(new)),
        None => login_group(new),
    }
}
