//! The apps' authorizers for async code (feature `async`).
//!
//! Validation can fetch consents or a key set, and the validation-error handler can run a login
//! flow that waits for a person: both are blocking, so they run on tokio's blocking pool, never
//! on a runtime worker. The authorizer handed back is async: the stored access token (a user
//! app without refresh tokens), or an [`AsyncStorageAuthorizer`] renewing through the app's
//! validating store with the async client, so renewals are single-flight across tasks and,
//! through the store's lock, across processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use globus_authorizers::{
    AccessTokenAuthorizer, AsyncAuthClient, AsyncGlobusAuthorizer, AsyncStorageAuthorizer,
    AuthClientBuilder,
};
use globus_tokens_core::{AsyncTokenStorage, BlockingPool};

use super::core::{AppCore, AuthorizerKind};
use super::{AppError, GlobusApp};

/// What [`AppCore`] keeps for async code: how to build the async client, the client once
/// built, and the async authorizers handed out.
pub(super) struct AsyncParts {
    builder: AuthClientBuilder,
    client: Mutex<Option<Arc<AsyncAuthClient>>>,
    cache: Mutex<HashMap<String, Arc<dyn AsyncGlobusAuthorizer>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AsyncParts {
    /// `builder` is the blocking client's, so both clients have the same settings.
    pub(super) fn new(builder: AuthClientBuilder) -> Self {
        AsyncParts {
            builder,
            client: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn clear_cache(&self) {
        lock(&self.cache).clear();
    }

    pub(super) fn forget(&self, resource_server: &str) {
        lock(&self.cache).remove(resource_server);
    }

    fn client(&self) -> Result<Arc<AsyncAuthClient>, AppError> {
        let mut client = lock(&self.client);
        if let Some(client) = &*client {
            return Ok(Arc::clone(client));
        }
        let built = Arc::new(self.builder.clone().build_async()?);
        *client = Some(Arc::clone(&built));
        Ok(built)
    }
}

impl AppCore {
    /// An async authorizer for `resource_server`: `app.authorizer` (validation, and the
    /// error handler's login if needed) on the blocking pool, then the async kind of it.
    pub(super) async fn async_authorizer(
        &self,
        app: Arc<dyn GlobusApp>,
        resource_server: &str,
    ) -> Result<Arc<dyn AsyncGlobusAuthorizer>, AppError> {
        // Renewing authorizers are kept, as the blocking ones are; an access token is checked
        // afresh each time, since it cannot be renewed.
        if let Some(cached) = lock(&self.async_parts.cache).get(resource_server) {
            return Ok(Arc::clone(cached));
        }
        let owned = resource_server.to_owned();
        let validated = tokio::task::spawn_blocking(move || app.authorizer(&owned))
            .await
            .map_err(|err| {
                AppError::InvalidConfig(format!(
                    "validating the stored tokens failed on the blocking pool: {err}"
                ))
            })??;
        let authorizer: Arc<dyn AsyncGlobusAuthorizer> = match self.kind {
            AuthorizerKind::AccessToken => {
                // The same token the blocking authorizer has; it never renews.
                let header = validated.get_authorization_header()?;
                let token = header
                    .as_deref()
                    .and_then(|header| header.strip_prefix("Bearer "))
                    .unwrap_or_default();
                return Ok(Arc::new(AccessTokenAuthorizer::new(token)));
            }
            AuthorizerKind::Renewing => {
                let store: Arc<dyn AsyncTokenStorage> =
                    Arc::new(BlockingPool::from_arc(Arc::clone(&self.store)));
                Arc::new(
                    AsyncStorageAuthorizer::builder(
                        store,
                        resource_server,
                        self.async_parts.client()?,
                    )
                    .build()?,
                )
            }
        };
        lock(&self.async_parts.cache).insert(resource_server.to_owned(), Arc::clone(&authorizer));
        Ok(authorizer)
    }
}

/// `async_authorizer` for an app type, written once for both.
macro_rules! async_authorizer_method {
    () => {
        /// [`GlobusApp::authorizer`] for async code (feature `async`): validation, and a login
        /// flow when one is needed (which may wait for a person), run on tokio's blocking pool,
        /// never on a runtime worker; the authorizer renews with the async client, single-flight
        /// across tasks and, through the store's lock, across processes. Needs a tokio runtime.
        #[cfg_attr(docsrs, doc(cfg(feature = "async")))]
        pub async fn async_authorizer(
            self: &std::sync::Arc<Self>,
            resource_server: &str,
        ) -> Result<std::sync::Arc<dyn globus_authorizers::AsyncGlobusAuthorizer>, AppError> {
            let app: std::sync::Arc<dyn GlobusApp> = std::sync::Arc::clone(self) as _;
            self.core.async_authorizer(app, resource_server).await
        }
    };
}
pub(super) use async_authorizer_method;
