//! DynamoDB token storage for globus-tokens: many service instances sharing Globus tokens.
//!
//! [`DynamoDbStorage`] implements the blocking [`globus_tokens_core::TokenStorage`] trait over
//! `aws-sdk-dynamodb` (requests run on a runtime thread of the storage's own, so it works from
//! plain `fn main` and from inside a tokio runtime) and offers `async` methods beside it.
//!
//! # Item layouts
//!
//! Both layouts store one item per namespace and resource server with these attributes:
//!
//! | attribute | type | |
//! |---|---|---|
//! | `resource_server` | S | |
//! | `access_token` | S | |
//! | `refresh_token` | S | absent when there is none |
//! | `expires_at_seconds` | N | seconds since the Unix epoch |
//! | `scope` | S | space-separated |
//! | `token_type` | S | absent when there is none |
//! | `identity_id` | S | absent when there is none |
//! | `extra_json` | S | fields of [`globus_tokens_core::TokenData::extra`] as a JSON object; absent when empty |
//!
//! [`ItemLayout::Seed`] (the default) keys items by a string hash key `token_data_id` =
//! `"{namespace}:{resource_server}"`, the layout of globus-sdk's DynamoDB example, so tables
//! it wrote are read and vice versa. It cannot list without a full-table scan, so
//! `as_enumerable()` is `None` and listing is [`globus_tokens_core::Error::Unsupported`].
//! [`ItemLayout::Composite`] keys items by partition key `namespace` and sort key
//! `resource_server`, and can list a namespace (`Query`), list namespaces and remove a
//! namespace. Attributes other tools add to an item are read into `extra`.
//!
//! # Requests
//!
//! Reads are strongly consistent `GetItem`s. A store of several resource servers is one
//! `TransactWriteItems` request per 100 entries (atomic within each request); one entry is one
//! `PutItem`. [`globus_tokens_core::TokenStorage::compare_and_swap`] is a `PutItem` whose
//! condition requires the stored `access_token` and `refresh_token` to be the expected ones
//! (`attribute_not_exists` when nothing is expected), so concurrent renewals never replace a
//! newer token with an older one.
//!
//! # Errors
//!
//! DynamoDB failures are [`globus_tokens_core::Error::Backend`] with backend `"dynamodb"`,
//! naming the table and endpoint; [`error_kind`] tells a missing table, a wrong key schema,
//! throttling, refused credentials and an unreachable server apart, and
//! [`globus_tokens_core::Error::is_temporary`] is true for the retryable ones. A malformed item
//! (a missing attribute, a wrong type) is [`globus_tokens_core::Error::InvalidData`] naming the
//! item and attribute. No error or `Debug` output contains a token or credential.
//!
//! ```no_run
//! use globus_tokens_core::TokenStorage;
//! use globus_tokens_dynamodb::{CreateTableOptions, DynamoDbStorage, ItemLayout};
//!
//! # fn main() -> Result<(), globus_tokens_core::Error> {
//! let store = DynamoDbStorage::builder("globus-tokens")
//!     .endpoint_url("http://127.0.0.1:8000") // a local DynamoDB-compatible server
//!     .region("us-east-1")
//!     .static_credentials("test", "test")
//!     .layout(ItemLayout::Composite)
//!     .build()?;
//! if !store.table_exists()? {
//!     store.create_table(CreateTableOptions::default())?;
//! }
//! let listing = store.as_enumerable().expect("the composite layout lists");
//! println!("{} resource servers", listing.get_by_resource_server()?.len());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod error;
mod item;
mod lease;
mod nonblocking;
mod operations;
mod requests;
mod runtime;
mod storage;
mod table;

pub use builder::DynamoDbStorageBuilder;
pub use error::{BACKEND, DynamoDbError, ErrorKind, error_kind};
pub use item::ItemLayout;
pub use lease::LeaseConfig;
pub use requests::{BATCH_WRITE_LIMIT, TRANSACT_WRITE_LIMIT};
pub use storage::DynamoDbStorage;
pub use table::{Billing, CreateTableOptions};

/// The AWS SDK for DynamoDB, re-exported for [`DynamoDbStorageBuilder::client`].
pub use aws_sdk_dynamodb;
