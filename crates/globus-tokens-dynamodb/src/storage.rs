//! [`DynamoDbStorage`]: the handle, and the [`TokenStorage`] implementation over it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use aws_sdk_dynamodb::Client;
use globus_tokens_core::raw::retry::{CasRetry, update_with_compare_and_swap};
use globus_tokens_core::{
    EnumerableTokenStorage, Error, Result, SwapOutcome, TokenData, TokenResponse, TokenStorage,
    UpdateFn,
};

use crate::error::BACKEND;
use crate::item::ItemLayout;
use crate::lease::{self, HeldLease, LeaseConfig, LeaseKey};
use crate::runtime::RuntimeThread;

/// What every handle on one table shares.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) layout: ItemLayout,
    /// "table NAME[ at ENDPOINT]", for errors.
    pub(crate) location: String,
    pub(crate) runtime: RuntimeThread,
    /// The renewal lease of `update_token_data`, if leases are on.
    pub(crate) lease: Option<LeaseConfig>,
}

/// Token storage in a DynamoDB table, bound to one namespace.
///
/// Implements the blocking [`TokenStorage`] trait (every request runs on a runtime thread of
/// its own, so it works from plain `fn main` and from inside a tokio runtime alike) and offers
/// the same operations as `async` methods for async code.
///
/// Handles are cheap to clone and share one client and runtime thread;
/// [`DynamoDbStorage::with_namespace`] gives a handle on another namespace. Reads are strongly
/// consistent. A store of several resource servers is one `TransactWriteItems` request (one
/// per 100 items), so it is atomic. [`TokenStorage::compare_and_swap`] is a conditional
/// `PutItem`, so concurrent renewals never replace a newer token with an older one.
///
/// ```no_run
/// use globus_tokens_core::{TokenResponse, TokenStorage};
/// use globus_tokens_dynamodb::{DynamoDbStorage, ItemLayout};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = DynamoDbStorage::builder("globus-tokens")
///     .region("us-east-1")
///     .layout(ItemLayout::Seed)
///     .namespace("my-service")
///     .open()?; // checks that the table exists with the right key schema
/// let response = TokenResponse::from_json(&std::fs::read("token-response.json")?)?;
/// store.store(&response)?; // one request, whatever the number of resource servers
/// let groups = store.get_token_data("groups.api.globus.org")?;
/// println!("{groups:?}"); // tokens appear as fingerprints only
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DynamoDbStorage {
    pub(crate) shared: Arc<Shared>,
    pub(crate) namespace: String,
}

impl fmt::Debug for DynamoDbStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbStorage")
            .field("table", &self.shared.table)
            .field("layout", &self.shared.layout)
            .field("namespace", &self.namespace)
            .field("location", &self.shared.location)
            .finish()
    }
}

/// Per-process locks serializing `update_token_data` on one entry, across all handles.
type LockMap = HashMap<String, Weak<Mutex<()>>>;
static UPDATE_LOCKS: Mutex<Option<LockMap>> = Mutex::new(None);

fn update_lock(key: String) -> Arc<Mutex<()>> {
    let mut guard = UPDATE_LOCKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(lock) = map.get(&key).and_then(Weak::upgrade) {
        return lock;
    }
    map.retain(|_, lock| lock.strong_count() > 0);
    let lock = Arc::new(Mutex::new(()));
    map.insert(key, Arc::downgrade(&lock));
    lock
}

impl DynamoDbStorage {
    /// A handle on the same table (same client and runtime) bound to another namespace.
    pub fn with_namespace(&self, namespace: impl Into<String>) -> Self {
        DynamoDbStorage {
            shared: Arc::clone(&self.shared),
            namespace: namespace.into(),
        }
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.shared.table
    }

    /// The item layout.
    pub fn layout(&self) -> ItemLayout {
        self.shared.layout
    }

    /// The SDK client requests go through.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    pub(crate) fn location_of(&self, resource_server: &str) -> String {
        format!(
            "{} item {}",
            self.shared.location,
            self.shared
                .layout
                .describe_key(&self.namespace, resource_server)
        )
    }

    pub(crate) fn unsupported_listing(&self, operation: &'static str) -> Error {
        Error::Unsupported {
            backend: BACKEND,
            operation,
            detail: Some(
                "the seed item layout (hash key token_data_id) cannot list without scanning the \
                 whole table; use ItemLayout::Composite"
                    .to_owned(),
            ),
        }
    }

    /// The composite layout's sort key cannot be empty; the seed layout's hash key never is.
    pub(crate) fn key_is_storable(&self, resource_server: &str) -> bool {
        self.shared.layout == ItemLayout::Seed
            || (!resource_server.is_empty() && !self.namespace.is_empty())
    }

    /// The lease guarding updates of `resource_server`, and its settings, when leases are on.
    pub(crate) fn lease_for(&self, resource_server: &str) -> Option<(LeaseKey, LeaseConfig)> {
        let config = self.shared.lease?;
        self.key_is_storable(resource_server).then(|| {
            (
                LeaseKey::new(&self.shared, &self.namespace, resource_server),
                config,
            )
        })
    }

    /// The renewal lease settings, `None` when leases are off.
    pub fn lease_config(&self) -> Option<LeaseConfig> {
        self.shared.lease
    }

    fn release_lease_blocking(&self, lease: HeldLease) {
        // The update's outcome stands either way: an unreleased lease only delays the next
        // renewal of this entry by one lease duration.
        if let Err(err) = self.shared.runtime.block_on(lease.release()) {
            tracing::warn!(error = %err, "could not release a renewal lease");
        }
    }

    pub(crate) async fn release_lease(&self, lease: HeldLease) {
        if let Err(err) = self.shared.runtime.run(lease.release()).await {
            tracing::warn!(error = %err, "could not release a renewal lease");
        }
    }

    // ----- async operations (each runs on the runtime thread) -----

    /// Async [`TokenStorage::store_token_data`].
    pub async fn store_token_data_async(
        &self,
        token_data: &BTreeMap<String, TokenData>,
    ) -> Result<()> {
        let fut = self.store_future(token_data)?;
        self.shared.runtime.run(fut).await
    }

    /// Async [`TokenStorage::store`].
    pub async fn store_async(&self, response: &TokenResponse) -> Result<()> {
        self.store_token_data_async(&response.by_resource_server())
            .await
    }

    /// Async [`TokenStorage::get_token_data`].
    pub async fn get_token_data_async(&self, resource_server: &str) -> Result<Option<TokenData>> {
        self.shared
            .runtime
            .run(self.get_future(resource_server))
            .await
    }

    /// Async [`TokenStorage::remove_token_data`].
    pub async fn remove_token_data_async(&self, resource_server: &str) -> Result<bool> {
        self.shared
            .runtime
            .run(self.remove_future(resource_server))
            .await
    }

    /// Async [`TokenStorage::compare_and_swap`].
    pub async fn compare_and_swap_async(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        let fut = self.cas_future(expected, new)?;
        self.shared.runtime.run(fut).await
    }

    /// Async [`EnumerableTokenStorage::get_by_resource_server`]; `Unsupported` on the seed
    /// layout.
    pub async fn get_by_resource_server_async(&self) -> Result<BTreeMap<String, TokenData>> {
        let fut = self.list_future()?;
        self.shared.runtime.run(fut).await
    }

    /// Async [`DynamoDbStorage::remove_namespace`].
    pub async fn remove_namespace_async(&self) -> Result<usize> {
        let fut = self.remove_namespace_future()?;
        self.shared.runtime.run(fut).await
    }

    /// Remove every entry of this handle's namespace; returns how many were removed.
    /// Composite layout only (`Unsupported` on the seed layout). Deletes go out in
    /// `BatchWriteItem` requests of 25, retrying unprocessed items with backoff; the whole
    /// removal is not atomic.
    pub fn remove_namespace(&self) -> Result<usize> {
        let fut = self.remove_namespace_future()?;
        self.shared.runtime.block_on(fut)
    }
}

impl TokenStorage for DynamoDbStorage {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        let fut = self.store_future(token_data)?;
        self.shared.runtime.block_on(fut)
    }

    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        self.shared
            .runtime
            .block_on(self.get_future(resource_server))
    }

    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        self.shared
            .runtime
            .block_on(self.remove_future(resource_server))
    }

    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        let fut = self.cas_future(expected, new)?;
        self.shared.runtime.block_on(fut)
    }

    /// Read-modify-write through conditional writes, once across machines.
    ///
    /// Within one process, updates of the same entry (through any handle on the same table)
    /// run one at a time. Across processes and machines, the update holds the entry's renewal
    /// lease ([`LeaseConfig`], on by default): when several find the same stale token, one
    /// renews it and the others wait, then find its result. The write itself is conditional on
    /// the tokens read, so even a holder that stalled past its lease never moves a token
    /// backwards; a process that loses that race calls `update` again with the winner's entry.
    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        let lock = update_lock(format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            self.shared.location, self.shared.table, self.namespace, resource_server
        ));
        let _guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lease = match self.lease_for(resource_server) {
            Some((key, config)) => Some(self.shared.runtime.block_on(lease::acquire(
                Arc::clone(&self.shared),
                key,
                config,
            ))?),
            None => None,
        };
        let result =
            update_with_compare_and_swap(self, resource_server, update, &CasRetry::default());
        if let Some(lease) = lease {
            self.release_lease_blocking(lease);
        }
        result
    }

    fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
        match self.shared.layout {
            ItemLayout::Composite => Some(self),
            ItemLayout::Seed => None,
        }
    }
}

/// Listing: supported by [`ItemLayout::Composite`]; on [`ItemLayout::Seed`] every method
/// returns [`Error::Unsupported`] (and `as_enumerable()` is `None`).
impl EnumerableTokenStorage for DynamoDbStorage {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        let fut = self.list_future()?;
        self.shared.runtime.block_on(fut)
    }

    fn namespaces(&self) -> Result<Vec<String>> {
        let fut = self.namespaces_future()?;
        self.shared.runtime.block_on(fut)
    }
}
