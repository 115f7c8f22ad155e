//! Finding (or starting) the DynamoDB-compatible server the tests run against.
//!
//! `GLOBUS_TOKENS_DYNAMODB_ENDPOINT` names a running server (scripts/test starts moto's server
//! and sets it). Without it, the tests start moto's server themselves, from the `.venv-moto/`
//! that `scripts/lib/dynamodb.sh` creates, through `scripts/python/dynamodb_server.py`; and
//! they fail with instructions if it is not there: they never pass without a server.
#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::sync::atomic::{AtomicUsize, Ordering};

use globus_tokens_dynamodb::{CreateTableOptions, DynamoDbStorage, ItemLayout};

pub(crate) use globus_tokens_testkit::dynamodb_server::{
    ACCESS_KEY_ID, ENDPOINT_VAR, REGION, SECRET_ACCESS_KEY, endpoint,
};

/// A builder for the test server with dummy credentials.
pub(crate) fn builder(table: &str) -> globus_tokens_dynamodb::DynamoDbStorageBuilder {
    DynamoDbStorage::builder(table)
        .endpoint_url(endpoint())
        .region(REGION)
        .static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
}

/// A table name no other test (or test process) uses.
pub(crate) fn unique_table(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Storage on a new, empty table of `layout`.
pub(crate) fn fresh_table(prefix: &str, layout: ItemLayout) -> DynamoDbStorage {
    let store = builder(&unique_table(prefix))
        .layout(layout)
        .build()
        .unwrap();
    store.create_table(CreateTableOptions::default()).unwrap();
    store
}

/// Counts the HTTP requests a client sends (every attempt, retries included).
#[derive(Debug, Default)]
pub(crate) struct RequestCounter(pub(crate) AtomicUsize);

impl globus_tokens_dynamodb::aws_sdk_dynamodb::config::Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &globus_tokens_dynamodb::aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &globus_tokens_dynamodb::aws_sdk_dynamodb::config::RuntimeComponents,
        _config: &mut globus_tokens_dynamodb::aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), globus_tokens_dynamodb::aws_sdk_dynamodb::error::BoxError> {
        self.0.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Debug)]
struct CountingInterceptor(std::sync::Arc<RequestCounter>);

/// A client for the test server whose requests are counted in `counter`.
pub(crate) fn counting_client(
    counter: std::sync::Arc<RequestCounter>,
) -> globus_tokens_dynamodb::aws_sdk_dynamodb::Client {
    use globus_tokens_dynamodb::aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let config = globus_tokens_dynamodb::aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "tests",
        ))
        .interceptor(CountingInterceptor(counter))
        .build();
    globus_tokens_dynamodb::aws_sdk_dynamodb::Client::from_conf(config)
}
