//! [`DynamoDbStorageBuilder`]: the client configuration a [`DynamoDbStorage`] is built from.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use globus_tokens_core::{DEFAULT_NAMESPACE, Result};

use crate::error::{ErrorKind, backend_error};
use crate::item::ItemLayout;
use crate::lease::LeaseConfig;
use crate::runtime::RuntimeThread;
use crate::storage::{DynamoDbStorage, Shared};

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
    lease: Option<LeaseConfig>,
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
            .field("lease", &self.lease)
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

    /// The renewal lease that makes `update_token_data` run once across machines (default
    /// [`LeaseConfig::default`]). Each update then costs two more write requests (take and
    /// release the lease item, plus one per heartbeat).
    pub fn lease(mut self, lease: LeaseConfig) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Updates without a lease: within a process they still run one at a time, but processes
    /// on several machines that find the same stale token each renew it, and with rotating
    /// refresh tokens all but one of them get `invalid_grant` and recover by re-reading.
    pub fn without_lease(mut self) -> Self {
        self.lease = None;
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
                lease: self.lease,
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
            lease: Some(LeaseConfig::default()),
        }
    }
}
