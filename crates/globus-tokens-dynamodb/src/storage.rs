//! [`DynamoDbStorage`] and its builder.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, DeleteRequest, KeySchemaElement, KeyType,
    ProvisionedThroughput, Put, ReturnValue, ScalarAttributeType, TableStatus, TransactWriteItem,
    WriteRequest,
};
use globus_tokens_core::{
    DEFAULT_NAMESPACE, EnumerableTokenStorage, Error, Result, SwapOutcome, TokenData,
    TokenResponse, TokenStorage, UpdateFn,
};

use crate::error::{BACKEND, ErrorKind, backend_error, from_sdk};
use crate::item::{
    self, ACCESS_TOKEN, Item, ItemLayout, NAMESPACE, REFRESH_TOKEN, RESOURCE_SERVER,
};
use crate::runtime::RuntimeThread;

/// Items per `TransactWriteItems` request (the DynamoDB API limit).
pub const TRANSACT_WRITE_LIMIT: usize = 100;
/// Items per `BatchWriteItem` request (the DynamoDB API limit).
pub const BATCH_WRITE_LIMIT: usize = 25;
/// Attempts at a write that DynamoDB cancelled for a concurrent transaction, or left
/// unprocessed, before giving up with a temporary error.
const WRITE_ATTEMPTS: u32 = 8;

/// Billing mode for [`DynamoDbStorage::create_table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Billing {
    /// On-demand capacity (`PAY_PER_REQUEST`).
    #[default]
    OnDemand,
    /// Provisioned capacity with these read and write capacity units.
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

/// Options for [`DynamoDbStorage::create_table`].
///
/// ```
/// use std::time::Duration;
/// use globus_tokens_dynamodb::{Billing, CreateTableOptions};
/// let options = CreateTableOptions::default()
///     .billing(Billing::Provisioned { read: 5, write: 5 })
///     .wait(Duration::from_secs(120));
/// assert_eq!(options.wait_limit(), Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateTableOptions {
    billing: Billing,
    wait: Duration,
}

impl Default for CreateTableOptions {
    fn default() -> Self {
        CreateTableOptions {
            billing: Billing::OnDemand,
            wait: Duration::from_secs(60),
        }
    }
}

impl CreateTableOptions {
    /// The billing mode (default on-demand).
    pub fn billing(mut self, billing: Billing) -> Self {
        self.billing = billing;
        self
    }

    /// How long to wait for the table to become `ACTIVE` (default 60 s).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The configured wait.
    pub fn wait_limit(&self) -> Duration {
        self.wait
    }
}

/// Builds a [`DynamoDbStorage`]. Obtained from [`DynamoDbStorage::builder`].
///
/// Without [`DynamoDbStorageBuilder::client`], the SDK configuration comes from the standard
/// AWS chain (environment, `~/.aws/config` and `~/.aws/credentials`, SSO, instance
/// metadata), with the region, endpoint and credentials set here taking precedence.
#[derive(Clone)]
pub struct DynamoDbStorageBuilder {
    table: String,
    layout: ItemLayout,
    namespace: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    credentials: Option<Credentials>,
    client: Option<Client>,
    max_attempts: Option<u32>,
    timeout: Option<Duration>,
}

impl fmt::Debug for DynamoDbStorageBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbStorageBuilder")
            .field("table", &self.table)
            .field("layout", &self.layout)
            .field("namespace", &self.namespace)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("credentials", &self.credentials.as_ref().map(|_| "<set>"))
            .field("client", &self.client.as_ref().map(|_| "<given>"))
            .finish()
    }
}

impl DynamoDbStorageBuilder {
    /// The item layout (default [`ItemLayout::Seed`]).
    pub fn layout(mut self, layout: ItemLayout) -> Self {
        self.layout = layout;
        self
    }

    /// The namespace the storage reads and writes (default `DEFAULT`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The AWS region, e.g. `us-east-1` (default: from the AWS chain).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Send requests to this endpoint instead of AWS, e.g. `http://127.0.0.1:8000` for a
    /// local DynamoDB-compatible server.
    pub fn endpoint_url(mut self, endpoint_url: impl Into<String>) -> Self {
        self.endpoint_url = Some(endpoint_url.into());
        self
    }

    /// Use these static credentials instead of the AWS credential chain.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "globus-tokens-dynamodb",
        ));
        self
    }

    /// Use an existing client (its region, endpoint, credentials, retries and interceptors);
    /// the region, endpoint and credentials of this builder are then ignored.
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Attempts per request, including the first, for the SDK's standard retry of throttling,
    /// transient and connection errors (default 3). Ignored with [`DynamoDbStorageBuilder::client`].
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }

    /// Time limit for each request attempt (default 30 s; connecting: at most 5 s).
    /// Ignored with [`DynamoDbStorageBuilder::client`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Build the storage without contacting DynamoDB (credentials and region are resolved,
    /// which may read files and environment variables). See
    /// [`DynamoDbStorageBuilder::open`] for a version that checks the table.
    pub fn build(self) -> Result<DynamoDbStorage> {
        let runtime = RuntimeThread::start()?;
        let client_given = self.client.is_some();
        let client = match self.client {
            Some(client) => client,
            None => {
                let (region, endpoint, credentials) =
                    (self.region, self.endpoint_url.clone(), self.credentials);
                let attempts = self.max_attempts.unwrap_or(3);
                let timeout = self.timeout.unwrap_or(Duration::from_secs(30));
                let location = format!("table {}", self.table);
                runtime.block_on(async move {
                    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                        .retry_config(
                            aws_config::retry::RetryConfig::standard().with_max_attempts(attempts),
                        )
                        .timeout_config(
                            aws_config::timeout::TimeoutConfig::builder()
                                .connect_timeout(timeout.min(Duration::from_secs(5)))
                                .operation_attempt_timeout(timeout)
                                .build(),
                        );
                    if let Some(region) = region {
                        loader = loader.region(Region::new(region));
                    }
                    if let Some(endpoint) = endpoint {
                        loader = loader.endpoint_url(endpoint);
                    }
                    if let Some(credentials) = credentials {
                        loader = loader.credentials_provider(credentials);
                    }
                    let config = loader.load().await;
                    if config.region().is_none() {
                        return Err(backend_error(
                            ErrorKind::NoRegion,
                            None,
                            location,
                            "no AWS region configured: set AWS_REGION (or a region in the AWS \
                             profile, or DynamoDbStorageBuilder::region)",
                        ));
                    }
                    Ok(Client::new(&config))
                })?
            }
        };
        // With a given client, the endpoint is the client's business and unknown here.
        let endpoint = self.endpoint_url.filter(|_| !client_given);
        let location = match &endpoint {
            Some(endpoint) => format!("table {} at {endpoint}", self.table),
            None => format!("table {}", self.table),
        };
        Ok(DynamoDbStorage {
            shared: Arc::new(Shared {
                client,
                table: self.table,
                layout: self.layout,
                location,
                runtime,
            }),
            namespace: self.namespace,
        })
    }

    /// Build the storage and check that the table exists and has the key schema of the
    /// configured layout ([`DynamoDbStorage::check_table`]).
    pub fn open(self) -> Result<DynamoDbStorage> {
        let storage = self.build()?;
        storage.check_table()?;
        Ok(storage)
    }
}

struct Shared {
    client: Client,
    table: String,
    layout: ItemLayout,
    /// "table NAME[ at ENDPOINT]", for errors.
    location: String,
    runtime: RuntimeThread,
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
    shared: Arc<Shared>,
    namespace: String,
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
    /// A builder for storage in `table`.
    ///
    /// ```
    /// use globus_tokens_dynamodb::{DynamoDbStorage, ItemLayout};
    /// let builder = DynamoDbStorage::builder("tokens")
    ///     .region("us-east-1")
    ///     .endpoint_url("http://127.0.0.1:8000")
    ///     .static_credentials("AKIDEXAMPLE", "not-a-real-secret")
    ///     .layout(ItemLayout::Composite);
    /// assert!(!format!("{builder:?}").contains("not-a-real-secret"));
    /// ```
    pub fn builder(table: impl Into<String>) -> DynamoDbStorageBuilder {
        DynamoDbStorageBuilder {
            table: table.into(),
            layout: ItemLayout::Seed,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            region: None,
            endpoint_url: None,
            credentials: None,
            client: None,
            max_attempts: None,
            timeout: None,
        }
    }

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

    fn location_of(&self, resource_server: &str) -> String {
        format!(
            "{} item {}",
            self.shared.location,
            self.shared
                .layout
                .describe_key(&self.namespace, resource_server)
        )
    }

    fn unsupported_listing(&self, operation: &'static str) -> Error {
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
    fn key_is_storable(&self, resource_server: &str) -> bool {
        self.shared.layout == ItemLayout::Seed
            || (!resource_server.is_empty() && !self.namespace.is_empty())
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

    /// Async [`DynamoDbStorage::create_table`].
    pub async fn create_table_async(&self, options: CreateTableOptions) -> Result<()> {
        self.shared
            .runtime
            .run(create_table(Arc::clone(&self.shared), options))
            .await
    }

    /// Async [`DynamoDbStorage::table_exists`].
    pub async fn table_exists_async(&self) -> Result<bool> {
        self.shared
            .runtime
            .run(table_exists(Arc::clone(&self.shared)))
            .await
    }

    /// Async [`DynamoDbStorage::check_table`].
    pub async fn check_table_async(&self) -> Result<()> {
        self.shared
            .runtime
            .run(check_table(Arc::clone(&self.shared)))
            .await
    }

    // ----- blocking table management -----

    /// Create the table with the key schema of this storage's layout, and wait (at most
    /// `options`' wait) until it is `ACTIVE`.
    ///
    /// Errors: [`ErrorKind::TableAlreadyExists`] if it exists, [`ErrorKind::TableNotActive`]
    /// (temporary) if it is not active in time.
    ///
    /// ```no_run
    /// use globus_tokens_dynamodb::{CreateTableOptions, DynamoDbStorage, ItemLayout};
    /// # fn main() -> Result<(), globus_tokens_core::Error> {
    /// let store = DynamoDbStorage::builder("globus-tokens")
    ///     .layout(ItemLayout::Composite)
    ///     .build()?;
    /// if !store.table_exists()? {
    ///     store.create_table(CreateTableOptions::default())?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_table(&self, options: CreateTableOptions) -> Result<()> {
        self.shared
            .runtime
            .block_on(create_table(Arc::clone(&self.shared), options))
    }

    /// Whether the table exists (in any state).
    pub fn table_exists(&self) -> Result<bool> {
        self.shared
            .runtime
            .block_on(table_exists(Arc::clone(&self.shared)))
    }

    /// Check that the table exists and its key schema is the one this storage's layout
    /// needs: [`ErrorKind::TableNotFound`] or [`ErrorKind::WrongKeySchema`] otherwise.
    pub fn check_table(&self) -> Result<()> {
        self.shared
            .runtime
            .block_on(check_table(Arc::clone(&self.shared)))
    }

    /// Remove every entry of this handle's namespace; returns how many were removed.
    /// Composite layout only (`Unsupported` on the seed layout). Deletes go out in
    /// `BatchWriteItem` requests of 25, retrying unprocessed items with backoff; the whole
    /// removal is not atomic.
    pub fn remove_namespace(&self) -> Result<usize> {
        let fut = self.remove_namespace_future()?;
        self.shared.runtime.block_on(fut)
    }

    // ----- futures -----

    fn store_future(
        &self,
        token_data: &BTreeMap<String, TokenData>,
    ) -> Result<impl Future<Output = Result<()>> + Send + 'static> {
        let layout = self.shared.layout;
        let mut items = Vec::with_capacity(token_data.len());
        for (key, data) in token_data {
            let mut data = data.clone();
            if data.resource_server != *key {
                data.resource_server.clone_from(key);
            }
            if !self.key_is_storable(key) {
                return Err(Error::invalid_data(
                    self.location_of(key),
                    "the composite layout cannot store an empty namespace or resource server",
                ));
            }
            items.push(item::to_item(layout, &self.namespace, &data));
        }
        let shared = Arc::clone(&self.shared);
        Ok(async move { write_items(&shared, items).await })
    }

    fn get_future(
        &self,
        resource_server: &str,
    ) -> impl Future<Output = Result<Option<TokenData>>> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        let storable = self.key_is_storable(resource_server);
        let key = shared.layout.key(&self.namespace, resource_server);
        let location = self.location_of(resource_server);
        let resource_server = resource_server.to_owned();
        async move {
            if !storable {
                return Ok(None);
            }
            get_item(&shared, key, &resource_server, &location).await
        }
    }

    fn remove_future(
        &self,
        resource_server: &str,
    ) -> impl Future<Output = Result<bool>> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        let storable = self.key_is_storable(resource_server);
        let key = shared.layout.key(&self.namespace, resource_server);
        async move {
            if !storable {
                return Ok(false);
            }
            let output = shared
                .client
                .delete_item()
                .table_name(&shared.table)
                .set_key(Some(key))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(|err| from_sdk(err, "DeleteItem", &shared.location))?;
            Ok(output.attributes().is_some_and(|a| !a.is_empty()))
        }
    }

    fn cas_future(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<impl Future<Output = Result<SwapOutcome>> + Send + 'static> {
        let rs = new.resource_server.clone();
        if !self.key_is_storable(&rs) {
            return Err(Error::invalid_data(
                self.location_of(&rs),
                "the composite layout cannot store an empty namespace or resource server",
            ));
        }
        let shared = Arc::clone(&self.shared);
        let item = item::to_item(shared.layout, &self.namespace, new);
        let key = shared.layout.key(&self.namespace, &rs);
        let location = self.location_of(&rs);
        let expected = expected.map(|e| (e.access_token.clone(), e.refresh_token.clone()));
        Ok(async move {
            let mut put = shared
                .client
                .put_item()
                .table_name(&shared.table)
                .set_item(Some(item))
                .expression_attribute_names("#at", ACCESS_TOKEN);
            put = match &expected {
                None => put.condition_expression("attribute_not_exists(#at)"),
                Some((access, refresh)) => {
                    let put = put
                        .expression_attribute_names("#rt", REFRESH_TOKEN)
                        .expression_attribute_values(
                            ":at",
                            aws_sdk_dynamodb::types::AttributeValue::S(access.expose().to_owned()),
                        );
                    match refresh {
                        None => put.condition_expression("#at = :at AND attribute_not_exists(#rt)"),
                        Some(refresh) => put
                            .condition_expression("#at = :at AND #rt = :rt")
                            .expression_attribute_values(
                                ":rt",
                                aws_sdk_dynamodb::types::AttributeValue::S(
                                    refresh.expose().to_owned(),
                                ),
                            ),
                    }
                }
            };
            match put.send().await {
                Ok(_) => Ok(SwapOutcome::Swapped),
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                    let now = get_item(&shared, key, &rs, &location).await?;
                    Ok(SwapOutcome::Conflict(now))
                }
                Err(err) => Err(from_sdk(err, "PutItem (conditional)", &shared.location)),
            }
        })
    }

    fn list_future(
        &self,
    ) -> Result<impl Future<Output = Result<BTreeMap<String, TokenData>>> + Send + 'static> {
        if self.shared.layout != ItemLayout::Composite {
            return Err(self.unsupported_listing("listing a namespace"));
        }
        let shared = Arc::clone(&self.shared);
        let namespace = self.namespace.clone();
        Ok(async move {
            let mut all = BTreeMap::new();
            if namespace.is_empty() {
                return Ok(all);
            }
            for item in query_namespace(&shared, &namespace).await? {
                let rs = match item.get(RESOURCE_SERVER) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(rs)) => rs.clone(),
                    _ => String::new(),
                };
                let location = format!(
                    "{} item {}",
                    shared.location,
                    shared.layout.describe_key(&namespace, &rs)
                );
                let data = item::from_item(&item, &rs, &location)?;
                all.insert(rs, data);
            }
            Ok(all)
        })
    }

    fn namespaces_future(
        &self,
    ) -> Result<impl Future<Output = Result<Vec<String>>> + Send + 'static> {
        if self.shared.layout != ItemLayout::Composite {
            return Err(self.unsupported_listing("listing namespaces"));
        }
        let shared = Arc::clone(&self.shared);
        Ok(async move {
            let mut namespaces = BTreeSet::new();
            let mut start: Option<Item> = None;
            loop {
                let output = shared
                    .client
                    .scan()
                    .table_name(&shared.table)
                    .projection_expression("#ns")
                    .expression_attribute_names("#ns", NAMESPACE)
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|err| from_sdk(err, "Scan", &shared.location))?;
                for item in output.items() {
                    if let Some(aws_sdk_dynamodb::types::AttributeValue::S(ns)) =
                        item.get(NAMESPACE)
                    {
                        namespaces.insert(ns.clone());
                    }
                }
                match output.last_evaluated_key() {
                    Some(key) if !key.is_empty() => start = Some(key.clone()),
                    _ => break,
                }
            }
            Ok(namespaces.into_iter().collect())
        })
    }

    fn remove_namespace_future(
        &self,
    ) -> Result<impl Future<Output = Result<usize>> + Send + 'static> {
        if self.shared.layout != ItemLayout::Composite {
            return Err(self.unsupported_listing("removing a namespace"));
        }
        let shared = Arc::clone(&self.shared);
        let namespace = self.namespace.clone();
        Ok(async move {
            if namespace.is_empty() {
                return Ok(0);
            }
            let keys: Vec<Item> = query_namespace(&shared, &namespace)
                .await?
                .into_iter()
                .filter_map(|item| match item.get(RESOURCE_SERVER) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(rs)) => {
                        Some(shared.layout.key(&namespace, rs))
                    }
                    _ => None,
                })
                .collect();
            let count = keys.len();
            for chunk in keys.chunks(BATCH_WRITE_LIMIT) {
                let mut requests = Vec::with_capacity(chunk.len());
                for key in chunk {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map_err(|err| build_error(&shared, err))?;
                    requests.push(WriteRequest::builder().delete_request(delete).build());
                }
                batch_write(&shared, requests).await?;
            }
            Ok(count)
        })
    }
}

fn build_error(shared: &Shared, err: aws_sdk_dynamodb::error::BuildError) -> Error {
    backend_error(
        ErrorKind::InvalidRequest,
        None,
        &shared.location,
        format!("cannot build request: {err}"),
    )
}

async fn get_item(
    shared: &Shared,
    key: Item,
    resource_server: &str,
    location: &str,
) -> Result<Option<TokenData>> {
    let output = shared
        .client
        .get_item()
        .table_name(&shared.table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|err| from_sdk(err, "GetItem", &shared.location))?;
    match output.item() {
        None => Ok(None),
        Some(item) if item.is_empty() => Ok(None),
        Some(item) => item::from_item(item, resource_server, location).map(Some),
    }
}

async fn query_namespace(shared: &Shared, namespace: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let output = shared
            .client
            .query()
            .table_name(&shared.table)
            .key_condition_expression("#ns = :ns")
            .expression_attribute_names("#ns", NAMESPACE)
            .expression_attribute_values(
                ":ns",
                aws_sdk_dynamodb::types::AttributeValue::S(namespace.to_owned()),
            )
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|err| from_sdk(err, "Query", &shared.location))?;
        items.extend(output.items().iter().cloned());
        match output.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    Ok(items)
}

fn backoff(attempt: u32) -> Duration {
    // 25 ms, 50 ms, ... capped at 1.6 s, with up to 50% jitter from the clock's nanoseconds.
    let base = 25u64 << attempt.min(6);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    ) % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}

/// Write items: one `PutItem` for one item, else `TransactWriteItems` per 100 items (each
/// chunk atomic), retrying transactions cancelled by concurrent transactions.
async fn write_items(shared: &Shared, items: Vec<Item>) -> Result<()> {
    match items.len() {
        0 => Ok(()),
        1 => {
            let item = items.into_iter().next();
            shared
                .client
                .put_item()
                .table_name(&shared.table)
                .set_item(item)
                .send()
                .await
                .map_err(|err| from_sdk(err, "PutItem", &shared.location))?;
            Ok(())
        }
        _ => {
            for chunk in items.chunks(TRANSACT_WRITE_LIMIT) {
                let mut writes = Vec::with_capacity(chunk.len());
                for item in chunk {
                    let put = Put::builder()
                        .table_name(&shared.table)
                        .set_item(Some(item.clone()))
                        .build()
                        .map_err(|err| build_error(shared, err))?;
                    writes.push(TransactWriteItem::builder().put(put).build());
                }
                let mut attempt = 0;
                loop {
                    let result = shared
                        .client
                        .transact_write_items()
                        .set_transact_items(Some(writes.clone()))
                        .send()
                        .await
                        .map_err(|err| from_sdk(err, "TransactWriteItems", &shared.location));
                    match result {
                        Ok(_) => break,
                        Err(err)
                            if crate::error_kind(&err) == Some(ErrorKind::TransactionConflict)
                                && attempt + 1 < WRITE_ATTEMPTS =>
                        {
                            attempt += 1;
                            tokio::time::sleep(backoff(attempt)).await;
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
            Ok(())
        }
    }
}

/// One `BatchWriteItem` of at most 25 requests, resending unprocessed items with backoff.
async fn batch_write(shared: &Shared, mut requests: Vec<WriteRequest>) -> Result<()> {
    let mut attempt = 0;
    while !requests.is_empty() {
        let output = shared
            .client
            .batch_write_item()
            .request_items(shared.table.clone(), requests)
            .send()
            .await
            .map_err(|err| from_sdk(err, "BatchWriteItem", &shared.location))?;
        requests = output
            .unprocessed_items()
            .and_then(|unprocessed| unprocessed.get(&shared.table))
            .cloned()
            .unwrap_or_default();
        if requests.is_empty() {
            break;
        }
        attempt += 1;
        if attempt >= WRITE_ATTEMPTS {
            return Err(backend_error(
                ErrorKind::Throttled,
                None,
                &shared.location,
                format!(
                    "BatchWriteItem: {} items still unprocessed after {WRITE_ATTEMPTS} attempts",
                    requests.len()
                ),
            ));
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Ok(())
}

async fn describe(shared: &Shared) -> Result<aws_sdk_dynamodb::types::TableDescription> {
    let output = shared
        .client
        .describe_table()
        .table_name(&shared.table)
        .send()
        .await
        .map_err(|err| from_sdk(err, "DescribeTable", &shared.location))?;
    output.table().cloned().ok_or_else(|| {
        backend_error(
            ErrorKind::Other,
            None,
            &shared.location,
            "DescribeTable returned no table description",
        )
    })
}

async fn table_exists(shared: Arc<Shared>) -> Result<bool> {
    match describe(&shared).await {
        Ok(_) => Ok(true),
        Err(err) if crate::error_kind(&err) == Some(ErrorKind::TableNotFound) => Ok(false),
        Err(err) => Err(err),
    }
}

async fn check_table(shared: Arc<Shared>) -> Result<()> {
    let table = describe(&shared).await?;
    let found: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    let want = shared.layout.key_schema();
    let matches = found.len() == want.len()
        && want
            .iter()
            .all(|(name, kind)| found.iter().any(|(n, k)| n == name && k == kind));
    let string_keys = table.attribute_definitions().iter().all(|def| {
        !want.iter().any(|(name, _)| *name == def.attribute_name())
            || *def.attribute_type() == ScalarAttributeType::S
    });
    if matches && string_keys {
        return Ok(());
    }
    let describe = |schema: Vec<String>| schema.join(", ");
    Err(backend_error(
        ErrorKind::WrongKeySchema,
        None,
        &shared.location,
        format!(
            "key schema is [{}], but the {:?} layout needs [{}] (string attributes)",
            describe(found.iter().map(|(n, k)| format!("{n} {k}")).collect()),
            shared.layout,
            describe(want.iter().map(|(n, k)| format!("{n} {k}")).collect()),
        ),
    ))
}

async fn create_table(shared: Arc<Shared>, options: CreateTableOptions) -> Result<()> {
    let mut request = shared.client.create_table().table_name(&shared.table);
    for (name, kind) in shared.layout.key_schema() {
        let key_type = if *kind == "HASH" {
            KeyType::Hash
        } else {
            KeyType::Range
        };
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|err| build_error(&shared, err))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*name)
                    .key_type(key_type)
                    .build()
                    .map_err(|err| build_error(&shared, err))?,
            );
    }
    request = match options.billing {
        Billing::OnDemand => request.billing_mode(BillingMode::PayPerRequest),
        Billing::Provisioned { read, write } => request
            .billing_mode(BillingMode::Provisioned)
            .provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .map_err(|err| build_error(&shared, err))?,
            ),
    };
    request
        .send()
        .await
        .map_err(|err| from_sdk(err, "CreateTable", &shared.location))?;
    let deadline = Instant::now() + options.wait;
    let mut attempt = 0;
    loop {
        match describe(&shared).await {
            Ok(table) if table.table_status() == Some(&TableStatus::Active) => return Ok(()),
            Ok(_) => {}
            // Just created: a not-yet-visible table is still being created.
            Err(err) if crate::error_kind(&err) == Some(ErrorKind::TableNotFound) => {}
            Err(err) => return Err(err),
        }
        if Instant::now() >= deadline {
            return Err(backend_error(
                ErrorKind::TableNotActive,
                None,
                &shared.location,
                format!("table not ACTIVE within {:?}", options.wait),
            ));
        }
        attempt += 1;
        tokio::time::sleep(backoff(attempt.min(4)).min(deadline - Instant::now())).await;
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

    /// Read-modify-write through conditional writes.
    ///
    /// Within one process, updates of the same entry (through any handle on the same table)
    /// run one at a time, so threads that find the same stale token renew it once. Across
    /// processes there is no lock: each write is conditional on the tokens read, so a token
    /// never moves backwards, and a process that loses the race calls `update` again with
    /// the entry the winner wrote.
    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        const ATTEMPTS: usize = 32;
        let lock = update_lock(format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            self.shared.location, self.shared.table, self.namespace, resource_server
        ));
        let _guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut current = self.get_token_data(resource_server)?;
        for attempt in 0..ATTEMPTS {
            let Some(mut new) = update(current.as_ref()) else {
                return Ok(current);
            };
            new.resource_server = resource_server.to_owned();
            match self.compare_and_swap(current.as_ref(), &new)? {
                SwapOutcome::Swapped => return Ok(Some(new)),
                SwapOutcome::Conflict(now_stored) => current = now_stored,
                _ => current = self.get_token_data(resource_server)?,
            }
            if attempt > 2 {
                std::thread::sleep(backoff(attempt as u32 - 2));
            }
        }
        Err(backend_error(
            ErrorKind::TransactionConflict,
            None,
            self.location_of(resource_server),
            format!("gave up after {ATTEMPTS} conflicting concurrent updates"),
        ))
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
