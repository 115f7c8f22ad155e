//! The async authorizers over Globus Auth and over a store: the blocking sources' state and
//! rules, with the token request awaited on [`AsyncAuthClient`].

use std::sync::Arc;

use globus_tokens_core::{AsyncTokenStorage, Secret, TokenData, TokenResponse};

use super::{AsyncRenewingAuthorizer, AsyncRenewingAuthorizerBuilder, AsyncTokenSource, BoxFuture};
use crate::client::AsyncAuthClient;
use crate::error::Result;
use crate::renewing::{ClientCredentialsSource, RefreshTokenSource};
use crate::storage::StorageTokenSource;
use crate::store_renewal::AsyncStoreRenewal;

impl AsyncTokenSource for RefreshTokenSource<AsyncAuthClient> {
    fn fetch(&self) -> BoxFuture<'_, Result<TokenResponse>> {
        Box::pin(async move {
            let refresh_token = self.refresh_token();
            self.client()
                .oauth2_refresh_token(&refresh_token)
                .await
                .map_err(|err| self.name_resource_server(err))
        })
    }

    fn context(&self) -> String {
        self.describe()
    }

    fn accept(&self, token: &TokenData) {
        self.keep_rotated(token);
    }
}

/// globus-sdk's `RefreshTokenAuthorizer` for async code: a bearer token renewed with a refresh
/// token (rotated ones are kept) through [`AsyncAuthClient`], single-flight across tasks.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AsyncGlobusAuthorizer, AsyncRefreshTokenAuthorizer, AuthClient};
/// # async fn run() -> Result<(), globus_authorizers::AuthError> {
/// let client = Arc::new(AuthClient::builder("my-client-id").build_async()?);
/// let authorizer = AsyncRefreshTokenAuthorizer::builder("RT", client)
///     .resource_server("transfer.api.globus.org")
///     .build()?;
/// let header = authorizer.get_authorization_header().await?; // renews if stale
/// # Ok(())
/// # }
/// ```
pub type AsyncRefreshTokenAuthorizer = AsyncRenewingAuthorizer<RefreshTokenSource<AsyncAuthClient>>;

impl AsyncRenewingAuthorizer<RefreshTokenSource<AsyncAuthClient>> {
    /// Start building an authorizer that renews with `refresh_token` through `client`.
    pub fn builder(
        refresh_token: impl Into<Secret>,
        client: Arc<AsyncAuthClient>,
    ) -> AsyncRenewingAuthorizerBuilder<RefreshTokenSource<AsyncAuthClient>> {
        let clock = Arc::clone(client.clock());
        AsyncRenewingAuthorizer::with_source(
            RefreshTokenSource::new(client, refresh_token.into()),
            clock,
        )
    }

    /// The refresh token in use now (rotated tokens replace the original).
    pub fn refresh_token(&self) -> Secret {
        self.source().refresh_token()
    }
}

impl AsyncTokenSource for ClientCredentialsSource<AsyncAuthClient> {
    fn fetch(&self) -> BoxFuture<'_, Result<TokenResponse>> {
        Box::pin(self.client.oauth2_client_credentials_tokens(&self.scopes))
    }

    fn context(&self) -> String {
        self.describe()
    }
}

/// globus-sdk's `ClientCredentialsAuthorizer` for async code: a confidential client's own token
/// for fixed scopes, renewed through [`AsyncAuthClient`].
pub type AsyncClientCredentialsAuthorizer =
    AsyncRenewingAuthorizer<ClientCredentialsSource<AsyncAuthClient>>;

impl AsyncRenewingAuthorizer<ClientCredentialsSource<AsyncAuthClient>> {
    /// Start building an authorizer for `scopes` (space-separated, all for one resource server).
    pub fn builder(
        client: Arc<AsyncAuthClient>,
        scopes: impl Into<String>,
    ) -> AsyncRenewingAuthorizerBuilder<ClientCredentialsSource<AsyncAuthClient>> {
        let clock = Arc::clone(client.clock());
        AsyncRenewingAuthorizer::with_source(
            ClientCredentialsSource {
                client,
                scopes: scopes.into(),
            },
            clock,
        )
    }
}

impl AsyncTokenSource for StorageTokenSource<dyn AsyncTokenStorage, AsyncStoreRenewal> {
    fn fetch(&self) -> BoxFuture<'_, Result<TokenResponse>> {
        Box::pin(async move {
            let rejected = self.rejected();
            let data = self
                .renewal()
                .renew(&**self.store(), self.resource_server(), rejected.as_ref())
                .await?;
            Ok(self.renewed(data, self.renewal().clock().now_seconds()))
        })
    }

    fn context(&self) -> String {
        self.describe()
    }

    fn invalidate(&self, rejected: Option<&Secret>) {
        self.remember_rejected(rejected);
    }
}

/// [`StorageAuthorizer`](crate::StorageAuthorizer) for async code: a renewing authorizer whose
/// state lives in a shared [`AsyncTokenStorage`], renewed with [`AsyncStoreRenewal`]: once
/// across the tasks of a process (single-flight in memory) and once across processes (the
/// store's lock, held by [`BlockingPool`](globus_tokens_core::BlockingPool) across the awaited
/// request, or DynamoDB's conditional writes).
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AsyncGlobusAuthorizer, AsyncStorageAuthorizer, AuthClient};
/// use globus_tokens_core::{AsyncTokenStorage, BlockingPool, MemoryTokenStorage};
/// # async fn run() -> Result<(), globus_authorizers::AuthError> {
/// let store: Arc<dyn AsyncTokenStorage> = Arc::new(BlockingPool::new(MemoryTokenStorage::new()));
/// let client = Arc::new(AuthClient::builder("my-client-id").build_async()?);
/// let authorizer = AsyncStorageAuthorizer::builder(store, "transfer.api.globus.org", client).build()?;
/// let header = authorizer.get_authorization_header().await?;
/// # Ok(())
/// # }
/// ```
pub type AsyncStorageAuthorizer =
    AsyncRenewingAuthorizer<StorageTokenSource<dyn AsyncTokenStorage, AsyncStoreRenewal>>;

impl AsyncRenewingAuthorizer<StorageTokenSource<dyn AsyncTokenStorage, AsyncStoreRenewal>> {
    /// Start building an authorizer for `resource_server`'s tokens in `store`, renewed with
    /// `client`.
    pub fn builder(
        store: Arc<dyn AsyncTokenStorage>,
        resource_server: impl Into<String>,
        client: Arc<AsyncAuthClient>,
    ) -> AsyncRenewingAuthorizerBuilder<StorageTokenSource<dyn AsyncTokenStorage, AsyncStoreRenewal>>
    {
        let clock = Arc::clone(client.clock());
        let namespace = store.namespace().to_owned();
        let source = StorageTokenSource::new(
            store,
            namespace,
            resource_server.into(),
            AsyncStoreRenewal::new(client),
        );
        AsyncRenewingAuthorizer::with_source(source, clock)
    }
}
