//! The renewal lease of `update_token_data`: what it costs, that it is released (also after a
//! panic or a dropped future), taken over from a dead holder, waited for while its holder
//! lives, skipped by listings, and that a malformed lease item or a throttled request is a
//! typed error that changes nothing. Several processes racing for it: tests/concurrency.rs
//! here, and globus-authorizers' tests/dynamodb_processes.rs with real renewals.

mod common;

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use globus_tokens_core::{Error, TokenData, TokenStorage};
use globus_tokens_dynamodb::aws_sdk_dynamodb::types::AttributeValue;
use globus_tokens_dynamodb::{DynamoDbStorage, ErrorKind, ItemLayout, LeaseConfig, error_kind};

const RS: &str = "transfer.api.globus.org";

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The key of the lease item guarding `resource_server` in namespace `DEFAULT`.
fn lease_key(layout: ItemLayout, resource_server: &str) -> HashMap<String, AttributeValue> {
    let lease_rs = format!("#lease:{resource_server}");
    match layout {
        ItemLayout::Seed => HashMap::from([(
            "token_data_id".to_owned(),
            s(&format!("DEFAULT:{lease_rs}")),
        )]),
        _ => HashMap::from([
            ("namespace".to_owned(), s("DEFAULT")),
            ("resource_server".to_owned(), s(&lease_rs)),
        ]),
    }
}

fn get_lease(store: &DynamoDbStorage) -> Option<HashMap<String, AttributeValue>> {
    let request = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .set_key(Some(lease_key(store.layout(), RS)))
        .consistent_read(true);
    block_on(request.send())
        .unwrap()
        .item()
        .filter(|item| !item.is_empty())
        .cloned()
}

fn put_lease(store: &DynamoDbStorage, extra: &[(&str, AttributeValue)]) {
    let mut item = lease_key(store.layout(), RS);
    item.insert("resource_server".to_owned(), s(&format!("#lease:{RS}")));
    for (name, value) in extra {
        item.insert((*name).to_owned(), value.clone());
    }
    let request = store
        .client()
        .put_item()
        .table_name(store.table_name())
        .set_item(Some(item));
    block_on(request.send()).unwrap();
}

fn set_rvn(store: &DynamoDbStorage, rvn: &str) {
    let request = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(lease_key(store.layout(), RS)))
        .update_expression("SET lease_rvn = :rvn")
        .expression_attribute_values(":rvn", s(rvn));
    block_on(request.send()).unwrap();
}

fn token(version: i64) -> TokenData {
    TokenData::new(RS, "scope", format!("AT-{version}"), version).with_refresh_token("RT")
}

/// Store version 1 and return the store.
fn table_with_token(prefix: &str, layout: ItemLayout, lease: LeaseConfig) -> DynamoDbStorage {
    let table = common::fresh_table(prefix, layout);
    let store = common::builder(table.table_name())
        .layout(layout)
        .lease(lease)
        .build()
        .unwrap();
    store
        .store_token_data(&[(RS.to_owned(), token(1))].into())
        .unwrap();
    store
}

fn bump(store: &DynamoDbStorage) -> globus_tokens_core::Result<Option<TokenData>> {
    store.update_token_data(RS, &mut |current| {
        current.map(|current| token(current.expires_at_seconds + 1))
    })
}

#[test]
fn an_update_holds_the_lease_and_costs_two_more_requests() {
    for layout in [ItemLayout::Seed, ItemLayout::Composite] {
        let counter = Arc::new(common::RequestCounter::default());
        let table = common::fresh_table("lease-cost", layout);
        let store = DynamoDbStorage::builder(table.table_name())
            .client(common::counting_client(Arc::clone(&counter)))
            .layout(layout)
            .build()
            .unwrap();
        store
            .store_token_data(&[(RS.to_owned(), token(1))].into())
            .unwrap();
        let before = counter.0.load(Ordering::SeqCst);
        let mut seen_lease = None;
        store
            .update_token_data(RS, &mut |current| {
                seen_lease = get_lease(&table);
                current.map(|c| token(c.expires_at_seconds + 1))
            })
            .unwrap();
        // Put lease, get entry, conditional put, delete lease.
        assert_eq!(counter.0.load(Ordering::SeqCst) - before, 4, "{layout:?}");
        let lease = seen_lease.expect("the lease item exists during the update");
        let owner = match &lease["lease_owner"] {
            AttributeValue::S(owner) => owner.clone(),
            other => panic!("{other:?}"),
        };
        assert!(
            owner.contains(&format!(":{}:", std::process::id())),
            "{owner}"
        );
        assert!(get_lease(&table).is_none(), "released after the update");
        assert_eq!(store.get_token_data(RS).unwrap().unwrap(), token(2));

        let unleased = DynamoDbStorage::builder(table.table_name())
            .client(common::counting_client(Arc::clone(&counter)))
            .layout(layout)
            .without_lease()
            .build()
            .unwrap();
        assert_eq!(unleased.lease_config(), None);
        let before = counter.0.load(Ordering::SeqCst);
        bump_unleased(&unleased);
        assert_eq!(counter.0.load(Ordering::SeqCst) - before, 2, "{layout:?}");
    }
}

fn bump_unleased(store: &DynamoDbStorage) {
    store
        .update_token_data(RS, &mut |current| {
            current.map(|c| token(c.expires_at_seconds + 1))
        })
        .unwrap();
}

#[test]
fn a_dead_holders_lease_is_taken_over_after_its_duration() {
    for layout in [ItemLayout::Seed, ItemLayout::Composite] {
        let lease = LeaseConfig::default().duration(Duration::from_millis(400));
        let store = table_with_token("lease-dead", layout, lease);
        put_lease(
            &store,
            &[
                ("lease_owner", s("ghost-host:1:dead")),
                ("lease_rvn", s("rvn-of-a-dead-process")),
                ("lease_duration_ms", AttributeValue::N("400".into())),
            ],
        );
        let started = Instant::now();
        assert_eq!(bump(&store).unwrap(), Some(token(2)));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(400), "{waited:?}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        assert!(get_lease(&store).is_none(), "released after the takeover");
    }
}

#[test]
fn a_live_holder_is_waited_for_then_the_wait_gives_up_with_a_temporary_error() {
    let lease = LeaseConfig::default()
        .duration(Duration::from_millis(300))
        .max_wait(Duration::from_millis(900));
    let store = table_with_token("lease-live", ItemLayout::Composite, lease);
    put_lease(
        &store,
        &[
            ("lease_owner", s("busy-host:7:live")),
            ("lease_rvn", s("rvn-0")),
            ("lease_duration_ms", AttributeValue::N("300".into())),
        ],
    );
    // Another holder's heartbeat: a new RVN every 60 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let beating = {
        let (store, stop) = (store.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut beat = 0;
            while !stop.load(Ordering::SeqCst) {
                beat += 1;
                set_rvn(&store, &format!("rvn-{beat}"));
                std::thread::sleep(Duration::from_millis(60));
            }
        })
    };
    let started = Instant::now();
    let err = bump(&store).unwrap_err();
    let waited = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    beating.join().unwrap();
    assert_eq!(error_kind(&err), Some(ErrorKind::LeaseTimeout), "{err}");
    assert!(err.is_temporary());
    let message = err.to_string();
    assert!(
        message.contains("busy-host:7:live") && message.contains("#lease:"),
        "names the holder and the lease item: {message}"
    );
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert_eq!(store.get_token_data(RS).unwrap().unwrap(), token(1));
    // Its holder gone quiet, the lease is taken over a duration later.
    assert_eq!(bump(&store).unwrap(), Some(token(2)));
}

#[test]
fn a_malformed_lease_item_is_invalid_data_and_changes_nothing() {
    for (shape, attributes) in [
        (
            "rvn is a number",
            vec![
                ("lease_rvn", AttributeValue::N("5".into())),
                ("lease_duration_ms", AttributeValue::N("300".into())),
            ],
        ),
        (
            "no rvn",
            vec![("lease_duration_ms", AttributeValue::N("300".into()))],
        ),
        (
            "duration is text",
            vec![("lease_rvn", s("x")), ("lease_duration_ms", s("soon"))],
        ),
    ] {
        for layout in [ItemLayout::Seed, ItemLayout::Composite] {
            let store = table_with_token("lease-bad", layout, LeaseConfig::default());
            put_lease(&store, &attributes);
            let err = bump(&store).unwrap_err();
            assert!(matches!(err, Error::InvalidData { .. }), "{shape}: {err}");
            let message = err.to_string();
            assert!(
                message.contains("lease_") && message.contains("#lease:"),
                "{shape}: names the item and attribute: {message}"
            );
            assert!(!err.is_temporary());
            assert_eq!(store.get_token_data(RS).unwrap().unwrap(), token(1));
            assert!(get_lease(&store).is_some(), "{shape}: not ours to remove");
        }
    }
}

#[test]
fn leftover_leases_are_not_entries() {
    let store = table_with_token("lease-list", ItemLayout::Composite, LeaseConfig::default());
    let other = store.with_namespace("only-a-lease");
    put_lease(
        &store,
        &[
            ("lease_rvn", s("x")),
            ("lease_duration_ms", AttributeValue::N("300".into())),
        ],
    );
    // A namespace holding nothing but a leftover lease.
    let mut item = HashMap::from([
        ("namespace".to_owned(), s("only-a-lease")),
        ("resource_server".to_owned(), s(&format!("#lease:{RS}"))),
        ("lease_rvn".to_owned(), s("y")),
        (
            "lease_duration_ms".to_owned(),
            AttributeValue::N("300".into()),
        ),
    ]);
    item.insert("lease_owner".to_owned(), s("ghost"));
    block_on(
        store
            .client()
            .put_item()
            .table_name(store.table_name())
            .set_item(Some(item))
            .send(),
    )
    .unwrap();
    let listing = store.as_enumerable().unwrap();
    assert_eq!(
        listing
            .get_by_resource_server()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        [RS]
    );
    assert_eq!(listing.namespaces().unwrap(), ["DEFAULT"]);
    assert_eq!(other.remove_namespace().unwrap(), 0);
    assert_eq!(
        store.remove_namespace().unwrap(),
        1,
        "entries only are counted"
    );
    assert!(
        get_lease(&store).is_none(),
        "the leftover lease went with its namespace"
    );
}

#[test]
fn a_panicking_update_releases_its_lease() {
    let store = table_with_token("lease-panic", ItemLayout::Seed, LeaseConfig::default());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.update_token_data(RS, &mut |_| panic!("the renewal panicked"));
    }));
    assert!(panicked.is_err());
    // With a 10 s lease, only a released lease lets the next update through at once.
    let started = Instant::now();
    assert_eq!(bump(&store).unwrap(), Some(token(2)));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn async_updates_hold_the_lease_and_a_dropped_one_releases_it() {
    let store = table_with_token("lease-async", ItemLayout::Composite, LeaseConfig::default());
    block_on(async {
        let mut seen = None;
        let table = store.clone();
        let updated =
            globus_tokens_core::AsyncTokenStorage::update_token_data(&store, RS, &mut |current| {
                seen = Some(get_lease_async_free(&table));
                Box::pin(async move { current.map(|c| token(c.expires_at_seconds + 1)) })
            })
            .await
            .unwrap();
        assert_eq!(updated, Some(token(2)));
        assert_eq!(seen, Some(true), "the lease is held during the update");

        // An update whose renewal never finishes, dropped by a timeout.
        let mut never = |_| -> globus_tokens_core::BoxFuture<'static, Option<TokenData>> {
            Box::pin(std::future::pending())
        };
        let pending =
            globus_tokens_core::AsyncTokenStorage::update_token_data(&store, RS, &mut never);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), pending)
                .await
                .is_err()
        );
        let started = Instant::now();
        let updated =
            globus_tokens_core::AsyncTokenStorage::update_token_data(&store, RS, &mut |current| {
                Box::pin(async move { current.map(|c| token(c.expires_at_seconds + 1)) })
            })
            .await
            .unwrap();
        assert_eq!(updated, Some(token(3)));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    });
}

/// Whether the lease item exists, read on a thread of its own (the caller is in a runtime).
fn get_lease_async_free(store: &DynamoDbStorage) -> bool {
    let store = store.clone();
    std::thread::spawn(move || get_lease(&store).is_some())
        .join()
        .unwrap()
}

/// A DynamoDB endpoint that throttles every request.
fn throttling_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // Read the head and the body it announces.
                loop {
                    let Ok(n) = stream.read(&mut buffer) else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .and_then(|value| value.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: ThrottlingException\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes());
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_throttled_lease_request_is_a_temporary_throttled_error() {
    let endpoint = throttling_server();
    let store = DynamoDbStorage::builder("tokens")
        .endpoint_url(&endpoint)
        .region(common::REGION)
        .static_credentials(common::ACCESS_KEY_ID, common::SECRET_ACCESS_KEY)
        .max_attempts(1)
        .build()
        .unwrap();
    let mut called = false;
    let err = store
        .update_token_data(RS, &mut |_| {
            called = true;
            None
        })
        .unwrap_err();
    assert!(!called, "nothing is renewed without the lease");
    assert_eq!(error_kind(&err), Some(ErrorKind::Throttled), "{err}");
    assert!(err.is_temporary());
    let message = err.to_string();
    assert!(
        message.contains("lease") && message.contains(&endpoint),
        "names the request and the endpoint: {message}"
    );
}

const HOLDER_TABLE: &str = "GLOBUS_TOKENS_LEASE_TEST_HOLDER_TABLE";

/// In the holder process: an update whose renewal takes 1.5 s, five lease durations.
fn slow_holder(table: &str) {
    let store = common::builder(table)
        .layout(ItemLayout::Composite)
        .lease(LeaseConfig::default().duration(Duration::from_millis(300)))
        .build()
        .unwrap();
    store
        .update_token_data(RS, &mut |current| {
            std::thread::sleep(Duration::from_millis(1_500));
            current.map(|c| token(c.expires_at_seconds + 100))
        })
        .unwrap();
}

#[test]
fn a_live_holders_heartbeat_keeps_its_lease_past_the_duration() {
    if let Ok(table) = std::env::var(HOLDER_TABLE) {
        return slow_holder(&table);
    }
    let lease = LeaseConfig::default().duration(Duration::from_millis(300));
    let store = table_with_token("lease-heartbeat", ItemLayout::Composite, lease);
    let mut holder = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_live_holders_heartbeat_keeps_its_lease_past_the_duration",
            "--exact",
            "--test-threads=1",
        ])
        .env(HOLDER_TABLE, store.table_name())
        .env(common::ENDPOINT_VAR, common::endpoint())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_lease(&store).is_none() {
        assert!(Instant::now() < deadline, "the holder never took the lease");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Another process's update waits for the holder, however long it beats, and then sees the
    // holder's token: it never takes the lease over from a live holder.
    let mut seen = None;
    store
        .update_token_data(RS, &mut |current| {
            seen = current.cloned();
            None
        })
        .unwrap();
    assert!(holder.wait().unwrap().success());
    assert_eq!(seen, Some(token(101)), "waited for the live holder's write");
    assert!(get_lease(&store).is_none());
}
