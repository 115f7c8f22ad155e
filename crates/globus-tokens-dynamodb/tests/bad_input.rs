//! Missing tables, an unreachable server and malformed items: typed errors, never a panic,
//! and never a token in the message.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use globus_tokens_core::{Error, TokenData, TokenStorage};
use globus_tokens_dynamodb::aws_sdk_dynamodb::types::AttributeValue;
use globus_tokens_dynamodb::{DynamoDbStorage, ErrorKind, ItemLayout, error_kind};
use globus_tokens_testkit::data::authorization_code_response;

#[test]
fn missing_table_is_table_not_found() {
    let store = common::builder(&common::unique_table("missing"))
        .build()
        .unwrap();
    let errors = [
        store.get_token_data("auth.globus.org").unwrap_err(),
        store.store(&authorization_code_response()).unwrap_err(),
        store
            .store_token_data(&globus_tokens_testkit::data::batch(TokenData::new(
                "rs", "s", "AT-x", 1,
            )))
            .unwrap_err(),
        store.remove_token_data("auth.globus.org").unwrap_err(),
        store
            .compare_and_swap(None, &TokenData::new("rs", "s", "AT-x", 1))
            .unwrap_err(),
    ];
    for err in errors {
        assert_eq!(error_kind(&err), Some(ErrorKind::TableNotFound), "{err}");
        assert!(!err.is_temporary());
        let message = err.to_string();
        assert!(message.contains(store.table_name()), "{message}");
        assert!(message.contains("does not exist"), "{message}");
        assert!(!message.contains("AT-"), "{message}");
    }
}

#[test]
fn server_down_is_unreachable_and_temporary() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let store = DynamoDbStorage::builder("tokens")
        .endpoint_url(&endpoint)
        .region(common::REGION)
        .static_credentials(common::ACCESS_KEY_ID, common::SECRET_ACCESS_KEY)
        .max_attempts(2)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = Instant::now();
    for err in [
        store.get_token_data("auth.globus.org").unwrap_err(),
        store.store(&authorization_code_response()).unwrap_err(),
        store.table_exists().unwrap_err(),
    ] {
        assert_eq!(error_kind(&err), Some(ErrorKind::Unreachable), "{err}");
        assert!(err.is_temporary());
        let message = err.to_string();
        assert!(message.contains(&endpoint), "names the endpoint: {message}");
        assert!(message.contains("cannot reach"), "{message}");
        assert!(!message.contains("AT-a-"), "{message}");
    }
    assert!(started.elapsed() < Duration::from_secs(60));
}

fn raw_put(store: &DynamoDbStorage, item: HashMap<String, AttributeValue>) {
    let request = store
        .client()
        .put_item()
        .table_name(store.table_name())
        .set_item(Some(item));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(request.send())
        .unwrap();
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn good_item(layout: ItemLayout, rs: &str) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::new();
    match layout {
        ItemLayout::Composite => {
            item.insert("namespace".to_owned(), s("DEFAULT"));
        }
        _ => {
            item.insert("token_data_id".to_owned(), s(&format!("DEFAULT:{rs}")));
        }
    }
    item.insert("resource_server".to_owned(), s(rs));
    item.insert("access_token".to_owned(), s("AT-secret-value"));
    item.insert("refresh_token".to_owned(), s("RT-secret-value"));
    item.insert("scope".to_owned(), s("openid"));
    item.insert(
        "expires_at_seconds".to_owned(),
        AttributeValue::N("1700000000".to_owned()),
    );
    item
}

#[test]
fn malformed_items_are_invalid_data() {
    for layout in [ItemLayout::Seed, ItemLayout::Composite] {
        let store = common::fresh_table("malformed", layout);
        let cases: [(&str, &str, Option<AttributeValue>); 6] = [
            ("no-access.example.org", "access_token", None),
            ("no-expiry.example.org", "expires_at_seconds", None),
            ("no-scope.example.org", "scope", None),
            (
                "expiry-string.example.org",
                "expires_at_seconds",
                Some(s("tomorrow")),
            ),
            (
                "token-number.example.org",
                "access_token",
                Some(AttributeValue::N("12".into())),
            ),
            ("extra-not-json.example.org", "extra_json", Some(s("[1, 2"))),
        ];
        for (rs, attribute, value) in &cases {
            let mut item = good_item(layout, rs);
            match value {
                None => {
                    item.remove(*attribute);
                }
                Some(value) => {
                    item.insert((*attribute).to_owned(), value.clone());
                }
            }
            raw_put(&store, item);
            let err = store.get_token_data(rs).unwrap_err();
            let Error::InvalidData { location, reason } = &err else {
                panic!("{rs}: expected InvalidData, got {err:?}");
            };
            assert!(reason.contains(attribute), "{rs}: {reason}");
            assert!(location.contains(rs), "{rs}: {location}");
            assert!(location.contains(store.table_name()), "{location}");
            let shown = format!("{err} {err:?}");
            for secret in ["AT-secret-value", "RT-secret-value", "tomorrow"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            // A conditional update over a malformed item fails the same way, without panicking.
            assert!(
                store
                    .update_token_data(rs, &mut |_| Some(TokenData::new(*rs, "s", "AT", 1)))
                    .is_err()
            );
        }
        // A well-formed item written by another tool reads fine, with its extra attribute.
        let mut item = good_item(layout, "other-tool.example.org");
        item.insert("written_by".to_owned(), s("python"));
        raw_put(&store, item);
        let data = store
            .get_token_data("other-tool.example.org")
            .unwrap()
            .unwrap();
        assert_eq!(data.extra["written_by"], "python");
        assert_eq!(data.token_type, None);
        if let Some(listing) = store.as_enumerable() {
            // Listing hits the malformed items and says so.
            assert!(matches!(
                listing.get_by_resource_server().unwrap_err(),
                Error::InvalidData { .. }
            ));
        }
    }
}

#[test]
fn composite_layout_rejects_empty_keys_cleanly() {
    let store = common::fresh_table("empty-key", ItemLayout::Composite);
    assert_eq!(store.get_token_data("").unwrap(), None);
    assert!(!store.remove_token_data("").unwrap());
    let err = store
        .store_token_data(&globus_tokens_testkit::data::batch(TokenData::new(
            "", "s", "AT", 1,
        )))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidData { .. }), "{err}");
}
