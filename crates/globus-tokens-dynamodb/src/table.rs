//! Table administration: creating a table, checking its key schema, waiting until it is active.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TableStatus,
};
use globus_tokens_core::Result;

use crate::error::{ErrorKind, backend_error, from_sdk};
use crate::requests::build_error;
use crate::storage::{DynamoDbStorage, Shared};
use globus_tokens_core::raw::retry::{Backoff, BackoffConfig};

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

impl DynamoDbStorage {
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
    // Poll often: a new table usually turns ACTIVE within a second or two.
    let mut backoff = Backoff::new(&BackoffConfig {
        init_backoff: Duration::from_millis(25),
        max_backoff: Duration::from_millis(400),
        base: 2.0,
    });
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
        tokio::time::sleep(backoff.next().min(deadline - Instant::now())).await;
    }
}
