//! The DynamoDB requests behind the storage operations, with their retries.

use std::time::Duration;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, WriteRequest};
use globus_tokens_core::raw::retry::{Backoff, BackoffConfig};
use globus_tokens_core::{Error, Result, TokenData};

use crate::error::{ErrorKind, backend_error, from_sdk};
use crate::item::{self, Item, NAMESPACE};
use crate::storage::Shared;

/// Items per `TransactWriteItems` request (the DynamoDB API limit).
pub const TRANSACT_WRITE_LIMIT: usize = 100;
/// Items per `BatchWriteItem` request (the DynamoDB API limit).
pub const BATCH_WRITE_LIMIT: usize = 25;
/// Attempts at a write that DynamoDB cancelled for a concurrent transaction, or left
/// unprocessed, before giving up with a temporary error.
const WRITE_ATTEMPTS: u32 = 8;

pub(crate) fn build_error(shared: &Shared, err: aws_sdk_dynamodb::error::BuildError) -> Error {
    backend_error(
        ErrorKind::InvalidRequest,
        None,
        &shared.location,
        format!("cannot build request: {err}"),
    )
}

pub(crate) async fn get_item(
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

pub(crate) async fn query_namespace(shared: &Shared, namespace: &str) -> Result<Vec<Item>> {
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

/// The backoff between retried writes: 25 ms growing to 1.6 s, with jitter (core's one backoff).
pub(crate) fn write_backoff() -> Backoff {
    Backoff::new(&BackoffConfig {
        init_backoff: Duration::from_millis(25),
        max_backoff: Duration::from_millis(1600),
        base: 2.0,
    })
}

/// Write items: one `PutItem` for one item, else `TransactWriteItems` per 100 items (each
/// chunk atomic), retrying transactions cancelled by concurrent transactions.
pub(crate) async fn write_items(shared: &Shared, items: Vec<Item>) -> Result<()> {
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
                let mut backoff = write_backoff();
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
                            tokio::time::sleep(backoff.next()).await;
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
pub(crate) async fn batch_write(shared: &Shared, mut requests: Vec<WriteRequest>) -> Result<()> {
    let mut attempt = 0;
    let mut backoff = write_backoff();
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
        tokio::time::sleep(backoff.next()).await;
    }
    Ok(())
}
