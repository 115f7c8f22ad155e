//! The shared conformance suite, run against both fair-research-login file stores.
//!
//! Cases the formats cannot pass are replaced by format-specific tests below:
//! neither format keeps `identity_id` or unknown fields (fair-research-login rejects a token
//! group holding them), and the INI format reads an empty refresh token back as none.

use std::path::PathBuf;

use globus_native_login::{JsonLoginTokenStorage, MultiClientTokenStorage};
use globus_tokens_core::{DEFAULT_NAMESPACE, TokenData, TokenStorage};
use globus_tokens_testkit::StoreFactory;
use globus_tokens_testkit::data::{authorization_code_response, batch, numbered};
use serde_json::json;
use tempfile::TempDir;

struct InTempDir(TempDir);

impl InTempDir {
    fn new() -> Self {
        InTempDir(tempfile::tempdir().expect("temporary directory"))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// One INI file; the namespace is the client id (section). `DEFAULT` is configparser's
/// defaults section, which no client can use, so that namespace is the section `default`.
struct IniFactory(InTempDir);

fn section_for(namespace: &str) -> &str {
    if namespace == DEFAULT_NAMESPACE {
        "default"
    } else {
        namespace
    }
}

impl StoreFactory for IniFactory {
    type Store = MultiClientTokenStorage;

    fn open(&self, namespace: &str) -> MultiClientTokenStorage {
        MultiClientTokenStorage::new(self.0.file("native-apps.cfg"), section_for(namespace))
    }
}

/// The plain JSON file has one implicit namespace.
struct JsonFactory(InTempDir);

impl StoreFactory for JsonFactory {
    type Store = JsonLoginTokenStorage;

    fn open(&self, _namespace: &str) -> JsonLoginTokenStorage {
        JsonLoginTokenStorage::new(self.0.file("mytokens.json"))
    }

    fn supports_namespaces(&self) -> bool {
        false
    }
}

mod multi_client_token_storage {
    use super::*;
    globus_tokens_testkit::conformance_suite!(@cases IniFactory(InTempDir::new());
        round_trip, missing_data, merge_per_resource_server, overwrite, remove_true_false,
        namespace_isolation, two_handles_share_writes, refresh_semantics,
        redaction, compare_and_swap, update_token_data,
        empty_batch_is_noop, threads_on_shared_handle,
        threads_on_separate_handles, update_is_single_flight_across_threads
    );
}

mod json_token_storage {
    use super::*;
    globus_tokens_testkit::conformance_suite!(@cases JsonFactory(InTempDir::new());
        round_trip, missing_data, merge_per_resource_server, overwrite, remove_true_false,
        namespace_isolation, two_handles_share_writes, refresh_semantics,
        redaction, compare_and_swap, update_token_data,
        enumeration, empty_batch_is_noop, unusual_values, threads_on_shared_handle,
        threads_on_separate_handles, update_is_single_flight_across_threads
    );
}

/// `unknown_fields_preserved`, as these formats define it: the six fields survive, identity and
/// unknown fields are dropped, and what else is stored is kept.
fn identity_and_unknown_fields_dropped<S: TokenStorage>(store: &S, reopen: &dyn Fn() -> S) {
    let mut data = numbered(1, 1).with_identity_id("ae341a98-d274-11e5-b888-dbae3a8ba545");
    data.extra
        .insert("custom_field".into(), json!({"nested": [1]}));
    store.store_token_data(&batch(data.clone())).unwrap();
    store.store(&authorization_code_response()).unwrap();
    let mut expected = data.clone();
    expected.identity_id = None;
    expected.extra.clear();
    let other = reopen();
    assert_eq!(
        other.get_token_data(&data.resource_server).unwrap(),
        Some(expected)
    );
    assert!(
        other
            .get_token_data("transfer.api.globus.org")
            .unwrap()
            .is_some()
    );
}

#[test]
fn ini_drops_identity_and_unknown_fields() {
    let factory = IniFactory(InTempDir::new());
    let store = factory.open(DEFAULT_NAMESPACE);
    identity_and_unknown_fields_dropped(&store, &|| factory.open(DEFAULT_NAMESPACE));
}

#[test]
fn json_drops_identity_and_unknown_fields() {
    let factory = JsonFactory(InTempDir::new());
    let store = factory.open(DEFAULT_NAMESPACE);
    identity_and_unknown_fields_dropped(&store, &|| factory.open(DEFAULT_NAMESPACE));
}

/// `unusual_values` for the INI format: everything but the empty refresh token reads back
/// unchanged (multi-line values, quotes, backslashes, non-ASCII, `%`, extreme expiries).
#[test]
fn ini_unusual_values() {
    let factory = IniFactory(InTempDir::new());
    let store = factory.open(DEFAULT_NAMESPACE);
    let cases = [
        TokenData::new(
            "ünïcödé.example.org",
            "scöpe \u{1F600} \"quoted\" back\\slash\nnewline\n\nafter-blank 100%",
            "AT-ü%%",
            i64::MAX,
        ),
        TokenData::new("empty-scope.example.org", "", "AT-e", i64::MIN),
        TokenData::new("zero.example.org", "s", "AT-z", 0).with_refresh_token("RT=z:1"),
    ];
    for data in &cases {
        store.store_token_data(&batch(data.clone())).unwrap();
    }
    let other = factory.open(DEFAULT_NAMESPACE);
    for data in &cases {
        assert_eq!(
            other
                .get_token_data(&data.resource_server)
                .unwrap()
                .as_ref(),
            Some(data)
        );
    }
    // An empty refresh token is written as an empty value, which means none.
    let empty_rt = TokenData::new("e.example.org", "s", "AT", 1).with_refresh_token("");
    store.store_token_data(&batch(empty_rt)).unwrap();
    let read = other.get_token_data("e.example.org").unwrap().unwrap();
    assert_eq!(read.refresh_token, None);
}

/// Values an INI file cannot hold are refused with an error naming the option, not the value,
/// and the file is left as it was.
#[test]
fn ini_refuses_values_it_cannot_hold() {
    let factory = IniFactory(InTempDir::new());
    let store = factory.open("client");
    store.store(&authorization_code_response()).unwrap();
    let path = factory.0.file("native-apps.cfg");
    let before = std::fs::read(&path).unwrap();
    for data in [
        TokenData::new("ws.example.org", " leading-space-secret", "AT", 1),
        TokenData::new("cr.example.org", "s", "AT-\r-secret", 1),
        TokenData::new("comment.example.org", "a\n#not-a-comment-secret", "AT", 1),
        TokenData::new("bad__name.example.org", "s", "AT", 1),
        TokenData::new("bad=name", "s", "AT", 1),
    ] {
        let err = store
            .store_token_data(&batch(data))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("native-apps.cfg"), "{err}");
    }
    // Two resource servers that share an option prefix.
    let err = store
        .store_token_data(
            &[
                ("a.b".to_owned(), TokenData::new("a.b", "s", "AT", 1)),
                ("a_b".to_owned(), TokenData::new("a_b", "s", "AT", 1)),
            ]
            .into(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("share the option prefix"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// `enumeration` for the INI format: it lists what it holds, and the namespaces are the
/// sections holding tokens (the `DEFAULT` namespace is section `default` here).
#[test]
fn ini_enumeration() {
    use globus_tokens_core::EnumerableTokenStorage;
    let factory = IniFactory(InTempDir::new());
    let store = factory.open("client-a");
    let listing: &dyn EnumerableTokenStorage = store.as_enumerable().unwrap();
    assert!(listing.get_by_resource_server().unwrap().is_empty());
    assert!(listing.namespaces().unwrap().is_empty());
    store.store(&authorization_code_response()).unwrap();
    factory
        .open("client-0")
        .store(&authorization_code_response())
        .unwrap();
    assert_eq!(
        listing.get_by_resource_server().unwrap(),
        authorization_code_response().by_resource_server()
    );
    assert_eq!(listing.namespaces().unwrap(), ["client-0", "client-a"]);
    store.remove_token_data("groups.api.globus.org").unwrap();
    assert_eq!(listing.get_by_resource_server().unwrap().len(), 2);
}

#[test]
fn ini_rejects_unusable_client_ids() {
    let dir = InTempDir::new();
    for id in ["DEFAULT", "", "two\nlines", " padded"] {
        let store = MultiClientTokenStorage::new(dir.file("x.cfg"), id);
        let err = store.get_token_data("auth.globus.org").unwrap_err();
        assert!(err.to_string().contains("cannot be a section"), "{err}");
        assert!(store.store(&authorization_code_response()).is_err());
    }
    assert!(!dir.file("x.cfg").exists());
}
