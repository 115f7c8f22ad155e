//! Renewal through a shared token store: single-flight across processes.

use std::sync::{Arc, Mutex, PoisonError};

use globus_tokens_core::{Clock, Secret, TokenData, TokenResponse, TokenStorage};

use crate::client::AuthClient;
use crate::error::{AuthError, Result};
use crate::renewing::{
    EXPIRES_ADJUST_SECONDS, RenewingAuthorizer, RenewingAuthorizerBuilder, TokenSource,
    single_token,
};

/// Gets one resource server's token from a store, renewing it through the store's lock.
///
/// When the token is stale, [`TokenStorage::update_token_data`] locks the store (the sidecar
/// lock of a JSON file, `BEGIN IMMEDIATE` on SQLite), re-reads the entry, and renews only if it
/// is still stale; the renewed entry (with a rotated refresh token) is written before the lock
/// is released. So when several processes share a store, the first to get the lock renews and
/// the others find its token. If Globus Auth answers `invalid_grant` because a writer that does
/// not take our lock (say, a Python program) rotated the refresh token meanwhile, the store is
/// read again and the newer token used.
pub struct StorageTokenSource {
    store: Arc<dyn TokenStorage>,
    resource_server: String,
    client: Arc<AuthClient>,
    clock: Arc<dyn Clock>,
    rejected: Mutex<Option<Secret>>,
}

impl std::fmt::Debug for StorageTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageTokenSource")
            .field("resource_server", &self.resource_server)
            .field("namespace", &self.store.namespace())
            .finish_non_exhaustive()
    }
}

/// globus-sdk has no equivalent: a renewing authorizer whose state lives in a shared store.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AuthClient, GlobusAuthorizer, StorageAuthorizer};
/// let store = Arc::new(globus_tokens_core::MemoryTokenStorage::new());
/// let client = Arc::new(AuthClient::native("my-client-id")?);
/// let authorizer = StorageAuthorizer::builder(store, "transfer.api.globus.org", client).build()?;
/// let header = authorizer.get_authorization_header()?;
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
pub type StorageAuthorizer = RenewingAuthorizer<StorageTokenSource>;

impl RenewingAuthorizer<StorageTokenSource> {
    /// Start building an authorizer for `resource_server`'s tokens in `store`, renewed with `client`.
    pub fn builder(
        store: Arc<dyn TokenStorage>,
        resource_server: impl Into<String>,
        client: Arc<AuthClient>,
    ) -> RenewingAuthorizerBuilder<StorageTokenSource> {
        let clock = Arc::clone(client.clock());
        RenewingAuthorizer::with_source(
            StorageTokenSource {
                store,
                resource_server: resource_server.into(),
                client,
                clock: Arc::clone(&clock),
                rejected: Mutex::new(None),
            },
            clock,
        )
    }
}

impl StorageTokenSource {
    fn login_required(&self, reason: impl Into<String>) -> AuthError {
        AuthError::LoginRequired {
            resource_server: Some(self.resource_server.clone()),
            reason: reason.into(),
        }
    }

    /// One locked read-renew-write; returns the entry now stored and the error of a failed renewal.
    fn update_once(
        &self,
        rejected: Option<&Secret>,
    ) -> Result<(Option<TokenData>, Option<Secret>, Option<AuthError>)> {
        let mut failure = None;
        let mut used_refresh_token = None;
        let stored = self
            .store
            .update_token_data(&self.resource_server, &mut |current| {
                // The closure may run again on backends without locks: start clean each time.
                failure = None;
                let Some(current) = current else {
                    failure = Some(self.login_required("no tokens stored"));
                    return None;
                };
                let stale = current.is_expired_at(self.clock.now_seconds(), EXPIRES_ADJUST_SECONDS)
                    || rejected == Some(&current.access_token);
                if !stale {
                    return None;
                }
                let Some(refresh_token) = &current.refresh_token else {
                    failure =
                        Some(self.login_required(
                            "the access token expired and there is no refresh token",
                        ));
                    return None;
                };
                used_refresh_token = Some(refresh_token.clone());
                match self.renewed(current, refresh_token) {
                    Ok(new) => Some(new),
                    Err(err) => {
                        failure = Some(err);
                        None
                    }
                }
            })?;
        Ok((stored, used_refresh_token, failure))
    }

    fn renewed(&self, current: &TokenData, refresh_token: &Secret) -> Result<TokenData> {
        let response = self.client.oauth2_refresh_token(refresh_token)?;
        let mut token = single_token(&response, || {
            format!("the refresh token for {}", self.resource_server)
        })?;
        if token.resource_server != self.resource_server {
            return Err(AuthError::UnexpectedResourceServers {
                context: format!("the refresh token for {}", self.resource_server),
                found: vec![token.resource_server],
            });
        }
        if token.refresh_token.is_none() {
            token.refresh_token = current.refresh_token.clone();
        }
        if token.identity_id.is_none() {
            token.identity_id = current.identity_id.clone();
        }
        token.extra = current.extra.clone();
        Ok(token)
    }
}

impl TokenSource for StorageTokenSource {
    fn fetch(&self) -> Result<TokenResponse> {
        let rejected = self
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut retried_after_rotation = false;
        loop {
            let (stored, used_refresh_token, failure) = self.update_once(rejected.as_ref())?;
            match failure {
                None => {
                    let data = stored.ok_or_else(|| self.login_required("no tokens stored"))?;
                    *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    return Ok(TokenResponse::from_token_data(
                        [data],
                        self.clock.now_seconds(),
                    ));
                }
                Some(AuthError::LoginRequired { reason, .. })
                    if !retried_after_rotation && used_refresh_token.is_some() =>
                {
                    // Did someone else rotate the refresh token while our request was in flight?
                    let now_stored = self.store.get_token_data(&self.resource_server)?;
                    let rotated = now_stored.as_ref().and_then(|d| d.refresh_token.as_ref())
                        != used_refresh_token.as_ref();
                    if !rotated {
                        return Err(self.login_required(reason));
                    }
                    retried_after_rotation = true;
                }
                Some(AuthError::LoginRequired { reason, .. }) => {
                    return Err(self.login_required(reason));
                }
                Some(err) => return Err(err),
            }
        }
    }

    fn context(&self) -> String {
        format!(
            "{} in namespace {}",
            self.resource_server,
            self.store.namespace()
        )
    }

    fn invalidate(&self, rejected: Option<&Secret>) {
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = rejected.cloned();
    }
}
