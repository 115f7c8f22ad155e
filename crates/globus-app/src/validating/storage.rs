//! [`ValidatingTokenStorage`]: a token storage that runs validators on what it stores and
//! returns (globus-sdk's `ValidatingTokenStorage`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use globus_tokens_core::{
    ConfigStorage, EnumerableTokenStorage, Error, Result, SwapOutcome, TokenData, TokenResponse,
    TokenStorage, UpdateFn,
};

use super::{
    IdentityDecoder, TokenDataByResourceServer, TokenDataValidator, TokenValidationContext,
    TokenValidationError, UnverifiedIdentityDecoder, identity_id_of,
};

/// A token storage that validates: every write runs the validators' `before_store` hooks and
/// every read their `after_retrieve` hooks, and it remembers the identity the tokens belong to
/// (globus-sdk's `ValidatingTokenStorage`).
///
/// **Identity.** When made, it reads the identity of the tokens already stored (if the storage
/// can list them); with nothing known yet, it takes the identity of the first tokens it stores
/// or reads. Validators see it as [`TokenValidationContext::prior_identity_id`]. A token
/// response's identity comes from its `id_token` through the [`IdentityDecoder`]
/// ([`UnverifiedIdentityDecoder`] unless replaced: the seam for a verifying decoder). A renewal
/// response ([`ValidatingTokenStorage::store_refresh_response`], which
/// [`TokenStorage::on_refresh`] calls) is given the remembered identity, as globus-sdk does for
/// refresh responses.
///
/// **What is checked where**, as in globus-sdk:
///
/// | operation | hooks |
/// |---|---|
/// | [`store_token_response`](Self::store_token_response), [`store_token_data_by_resource_server`](Self::store_token_data_by_resource_server), [`TokenStorage::store`], [`TokenStorage::store_token_data`], [`TokenStorage::on_refresh`] | `before_store` on everything written |
/// | [`TokenStorage::update_token_data`], [`TokenStorage::compare_and_swap`] (renewal) | `before_store` on the entry written; the entry read is not checked, so a stale token can still be renewed |
/// | [`get_validated_token_data`](Self::get_validated_token_data), [`TokenStorage::get_token_data`] | `after_retrieve` on the entry |
/// | [`get_validated_token_data_by_resource_server`](Self::get_validated_token_data_by_resource_server), [`EnumerableTokenStorage::get_by_resource_server`] | `after_retrieve` on everything |
/// | [`TokenStorage::remove_token_data`] | none |
///
/// A refused write writes nothing. The inherent methods return [`TokenValidationError`]; the
/// [`TokenStorage`] methods (so it can stand wherever a store does: authorizers, renewal,
/// login) return [`globus_tokens_core::Error`], from which
/// [`TokenValidationError::find_in`] recovers the validation error. The one difference in
/// meaning: [`get_validated_token_data`](Self::get_validated_token_data) fails with
/// [`TokenValidationError::MissingToken`] where [`TokenStorage::get_token_data`] returns
/// `Ok(None)`.
///
/// Differences from globus-sdk: the identity is remembered only once a write succeeded (globus-sdk
/// remembers it even when validation then refuses the write); stores through one handle are
/// serialized, so the identity check and the write happen together for every thread (across
/// processes, two first logins can still race).
///
/// ```
/// use globus_app::validating::{TokenValidationError, UnchangingIdentityIdValidator, ValidatingTokenStorage};
/// use globus_tokens_core::{MemoryTokenStorage, TokenData, TokenStorage};
///
/// let store = ValidatingTokenStorage::new(MemoryTokenStorage::new())?
///     .with_validator(UnchangingIdentityIdValidator);
/// let mine = TokenData::new("auth.globus.org", "openid", "AT-1", 2_000_000_000).with_identity_id("alice");
/// store.store_token_data_by_resource_server(&[(mine.resource_server.clone(), mine)].into())?;
/// assert_eq!(store.identity_id().as_deref(), Some("alice"));
///
/// let theirs = TokenData::new("auth.globus.org", "openid", "AT-2", 2_000_000_000).with_identity_id("bob");
/// let err = store.store_token_data_by_resource_server(&[(theirs.resource_server.clone(), theirs)].into());
/// assert!(matches!(err, Err(TokenValidationError::IdentityMismatch { .. })));
/// assert_eq!(store.get_validated_token_data("auth.globus.org")?.access_token.expose(), "AT-1");
/// # Ok::<(), TokenValidationError>(())
/// ```
pub struct ValidatingTokenStorage<S> {
    inner: S,
    validators: Vec<Box<dyn TokenDataValidator>>,
    decoder: Box<dyn IdentityDecoder>,
    /// The identity the stored tokens belong to, if known. Held across each write, so a
    /// handle's identity check and write happen together.
    identity: Mutex<Option<String>>,
}

impl<S: TokenStorage> fmt::Debug for ValidatingTokenStorage<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatingTokenStorage")
            .field("namespace", &self.inner.namespace())
            .field("validators", &self.validators)
            .field("decoder", &self.decoder)
            .field("identity_id", &*self.identity())
            .finish_non_exhaustive()
    }
}

impl<S: TokenStorage> ValidatingTokenStorage<S> {
    /// Validate `inner`, with no validators yet. Reads the identity of the tokens already
    /// stored when `inner` can list them (a storage that cannot starts with no identity);
    /// stored tokens of several identities are [`TokenValidationError::MixedIdentities`].
    pub fn new(inner: S) -> std::result::Result<Self, TokenValidationError> {
        let identity = match inner.as_enumerable() {
            Some(listing) => identity_id_of(&listing.get_by_resource_server()?)?,
            None => None,
        };
        Ok(ValidatingTokenStorage {
            inner,
            validators: Vec::new(),
            decoder: Box::new(UnverifiedIdentityDecoder),
            identity: Mutex::new(identity),
        })
    }

    /// The same storage with `validator` run after those already there.
    pub fn with_validator(mut self, validator: impl TokenDataValidator + 'static) -> Self {
        self.push_validator(validator);
        self
    }

    /// Run `validator` after those already there.
    pub fn push_validator(&mut self, validator: impl TokenDataValidator + 'static) {
        self.validators.push(Box::new(validator));
    }

    /// Run `validator` at position `index` (`0`: first; past the end: last), as `UserApp`
    /// puts its expiry checks first.
    pub fn insert_validator(&mut self, index: usize, validator: impl TokenDataValidator + 'static) {
        let index = index.min(self.validators.len());
        self.validators.insert(index, Box::new(validator));
    }

    /// The validators, in the order they run.
    pub fn validators(&self) -> &[Box<dyn TokenDataValidator>] {
        &self.validators
    }

    /// The same storage with `decoder` finding the identity of token responses (the seam for a
    /// verifying `id_token` decoder; see [`IdentityDecoder`]).
    pub fn with_identity_decoder(mut self, decoder: impl IdentityDecoder + 'static) -> Self {
        self.decoder = Box::new(decoder);
        self
    }

    /// The identity the stored tokens belong to, if known (globus-sdk's `identity_id`).
    pub fn identity_id(&self) -> Option<String> {
        self.identity().clone()
    }

    /// Forget the remembered identity, so the next tokens stored may be anyone's: what
    /// `UserApp::logout` does once it has removed every stored token (globus-sdk keeps the
    /// identity, so logging in as someone else after a logout fails there until restart).
    pub fn forget_identity(&self) {
        *self.identity() = None;
    }

    /// The storage being validated (globus-sdk's `token_storage`), for what must bypass
    /// validation, such as reading tokens to revoke them at logout.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwrap.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Store a token response: its identity is decoded from the `id_token` and recorded in
    /// every entry (`None` without an `id_token`), then the data is validated and written
    /// (globus-sdk's `store_token_response`).
    pub fn store_token_response(
        &self,
        response: &TokenResponse,
    ) -> std::result::Result<(), TokenValidationError> {
        let identity = self.decoder.identity_id(response)?;
        let data = with_identity(response.by_resource_server(), identity.as_ref());
        // When the decoder agrees with the response's own reading of the id_token (the default
        // decoder, or a verifying one that accepted it), the store writes the response itself,
        // which keeps the server's order of resource servers in files.
        let same_identity = identity == response.identity_id();
        self.validated_store(&data, || {
            if same_identity {
                self.inner.store(response)
            } else {
                self.inner.store_token_data(&data)
            }
        })
    }

    /// Store a renewal's response: every entry gets the remembered identity (renewal responses
    /// carry no `id_token`), then it is validated and written, as globus-sdk treats
    /// `OAuthRefreshTokenResponse`.
    pub fn store_refresh_response(
        &self,
        response: &TokenResponse,
    ) -> std::result::Result<(), TokenValidationError> {
        let identity = self.identity_id();
        let data = with_identity(response.by_resource_server(), identity.as_ref());
        self.validated_store(&data, || self.inner.store_token_data(&data))
    }

    /// Validate and write token data (globus-sdk's `store_token_data_by_resource_server`).
    pub fn store_token_data_by_resource_server(
        &self,
        token_data: &TokenDataByResourceServer,
    ) -> std::result::Result<(), TokenValidationError> {
        self.validated_store(token_data, || self.inner.store_token_data(token_data))
    }

    /// One resource server's token data, validated; [`TokenValidationError::MissingToken`]
    /// when there is none (globus-sdk's `get_token_data`).
    pub fn get_validated_token_data(
        &self,
        resource_server: &str,
    ) -> std::result::Result<TokenData, TokenValidationError> {
        match self.inner.get_token_data(resource_server)? {
            Some(data) => self.validated_entry(data),
            None => Err(TokenValidationError::MissingToken {
                resource_server: resource_server.to_owned(),
            }),
        }
    }

    /// Run the `after_retrieve` hooks on one entry, keyed by its own resource server as
    /// globus-sdk keys it.
    fn validated_entry(
        &self,
        data: TokenData,
    ) -> std::result::Result<TokenData, TokenValidationError> {
        let by_rs = BTreeMap::from([(data.resource_server.clone(), data.clone())]);
        self.validate_retrieved(&by_rs)?;
        Ok(data)
    }

    /// Every resource server's token data, validated together (globus-sdk's
    /// `get_token_data_by_resource_server`). Needs a storage that can list.
    pub fn get_validated_token_data_by_resource_server(
        &self,
    ) -> std::result::Result<TokenDataByResourceServer, TokenValidationError> {
        let listing = self.inner.as_enumerable().ok_or(Error::Unsupported {
            backend: "validating token storage",
            operation: "listing tokens",
            detail: Some("the validated storage cannot list its resource servers".to_owned()),
        })?;
        let data = listing.get_by_resource_server()?;
        self.validate_retrieved(&data)?;
        Ok(data)
    }

    fn identity(&self) -> MutexGuard<'_, Option<String>> {
        self.identity.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run every `before_store` hook on `data` with `prior` as the prior identity; the context
    /// on success.
    fn check_before_store(
        &self,
        data: &TokenDataByResourceServer,
        prior: Option<String>,
    ) -> std::result::Result<TokenValidationContext, TokenValidationError> {
        let context = TokenValidationContext::new(prior, identity_id_of(data)?);
        for validator in &self.validators {
            validator.before_store(data, &context).inspect_err(|err| {
                tracing::debug!(namespace = self.inner.namespace(), error = %err, "refused to store tokens");
            })?;
        }
        Ok(context)
    }

    fn validated_store(
        &self,
        data: &TokenDataByResourceServer,
        write: impl FnOnce() -> Result<()>,
    ) -> std::result::Result<(), TokenValidationError> {
        let mut identity = self.identity();
        let context = self.check_before_store(data, identity.clone())?;
        write()?;
        if identity.is_none() {
            *identity = context.token_data_identity_id;
        }
        Ok(())
    }

    fn validate_retrieved(
        &self,
        data: &TokenDataByResourceServer,
    ) -> std::result::Result<(), TokenValidationError> {
        let token_identity = identity_id_of(data)?;
        // The data is in the store, so its identity is the store's if none was known.
        let prior = {
            let mut identity = self.identity();
            let prior = identity.clone();
            if identity.is_none() {
                identity.clone_from(&token_identity);
            }
            prior
        };
        let context = TokenValidationContext::new(prior, token_identity);
        for validator in &self.validators {
            validator.after_retrieve(data, &context).inspect_err(|err| {
                tracing::debug!(namespace = self.inner.namespace(), error = %err, "refused stored tokens");
            })?;
        }
        Ok(())
    }

    fn storage_error(&self, err: TokenValidationError) -> Error {
        err.into_storage_error(self.inner.namespace())
    }

    /// Remember `identity` if none is known (after a successful write).
    fn adopt(&self, identity: Option<String>) {
        let mut known = self.identity();
        if known.is_none() {
            *known = identity;
        }
    }
}

fn with_identity(
    mut data: TokenDataByResourceServer,
    identity: Option<&String>,
) -> TokenDataByResourceServer {
    for entry in data.values_mut() {
        entry.identity_id = identity.cloned();
    }
    data
}

impl<S: TokenStorage> TokenStorage for ValidatingTokenStorage<S> {
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        self.store_token_data_by_resource_server(token_data)
            .map_err(|err| self.storage_error(err))
    }

    fn store(&self, response: &TokenResponse) -> Result<()> {
        self.store_token_response(response)
            .map_err(|err| self.storage_error(err))
    }

    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        match self.inner.get_token_data(resource_server)? {
            Some(data) => self
                .validated_entry(data)
                .map(Some)
                .map_err(|err| self.storage_error(err)),
            None => Ok(None),
        }
    }

    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        self.inner.remove_token_data(resource_server)
    }

    fn on_refresh(&self, response: &TokenResponse) -> Result<()> {
        self.store_refresh_response(response)
            .map_err(|err| self.storage_error(err))
    }

    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        let identity = self.identity();
        let data = BTreeMap::from([(new.resource_server.clone(), new.clone())]);
        let context = self
            .check_before_store(&data, identity.clone())
            .map_err(|err| self.storage_error(err))?;
        drop(identity);
        let outcome = self.inner.compare_and_swap(expected, new)?;
        if outcome == SwapOutcome::Swapped {
            self.adopt(context.token_data_identity_id);
        }
        Ok(outcome)
    }

    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        // Held across the update so the identity checked is the identity kept; the store's own
        // lock is taken inside, always after this one.
        let mut identity = self.identity();
        let prior = identity.clone();
        let mut refused: Option<TokenValidationError> = None;
        let mut written_identity: Option<String> = None;
        let stored = self
            .inner
            .update_token_data(resource_server, &mut |current| {
                // The update may run again (stores without locks retry); only its last run counts.
                refused = None;
                let new = update(current)?;
                let data = BTreeMap::from([(new.resource_server.clone(), new.clone())]);
                match self.check_before_store(&data, prior.clone()) {
                    Ok(context) => {
                        written_identity = context.token_data_identity_id;
                        Some(new)
                    }
                    Err(err) => {
                        refused = Some(err);
                        None
                    }
                }
            });
        if let Some(err) = refused {
            return Err(self.storage_error(err));
        }
        let stored = stored?;
        if identity.is_none() {
            *identity = written_identity;
        }
        Ok(stored)
    }

    fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
        self.inner
            .as_enumerable()
            .map(|_| self as &dyn EnumerableTokenStorage)
    }

    fn as_config_storage(&self) -> Option<&dyn ConfigStorage> {
        self.inner.as_config_storage()
    }
}

impl<S: TokenStorage> EnumerableTokenStorage for ValidatingTokenStorage<S> {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        self.get_validated_token_data_by_resource_server()
            .map_err(|err| self.storage_error(err))
    }

    fn namespaces(&self) -> Result<Vec<String>> {
        match self.inner.as_enumerable() {
            Some(listing) => listing.namespaces(),
            None => Err(Error::Unsupported {
                backend: "validating token storage",
                operation: "listing namespaces",
                detail: Some("the validated storage cannot list".to_owned()),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
