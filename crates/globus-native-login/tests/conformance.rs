//! The shared conformance suite, run against both fair-research-login file stores, with what
//! the formats cannot do declared as capabilities: neither keeps `identity_id` or unknown
//! fields (fair-research-login rejects a token group holding them), the INI format reads an
//! empty refresh token back as none, and the plain JSON file has one implicit namespace.
//! Format-specific tests follow.

use std::path::PathBuf;

use globus_native_login::{JsonLoginTokenStorage, MultiClientTokenStorage};
use globus_tokens_core::{DEFAULT_NAMESPACE, TokenData, TokenStorage};
use globus_tokens_testkit::data::{authorization_code_response, batch};
use globus_tokens_testkit::{Capabilities, StoreFactory};
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

    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
            .identity_id(false)
            .unknown_fields(false)
            .empty_refresh_token(false)
    }
}

/// The plain JSON file has one implicit namespace.
struct JsonFactory(InTempDir);

impl StoreFactory for JsonFactory {
    type Store = JsonLoginTokenStorage;

    fn open(&self, _namespace: &str) -> JsonLoginTokenStorage {
        JsonLoginTokenStorage::new(self.0.file("mytokens.json"))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
            .namespaces(false)
            .identity_id(false)
            .unknown_fields(false)
    }
}

mod multi_client_token_storage {
    use super::*;
    globus_tokens_testkit::conformance_suite!(IniFactory(InTempDir::new()));
}

mod json_login_token_storage {
    use super::*;
    globus_tokens_testkit::conformance_suite!(JsonFactory(InTempDir::new()));
}

/// More unusual values for the INI format than the suite's `unusual_values`: multi-line values
/// with blank lines, `%`, `=` and `:` read back unchanged.
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

/// Enumeration across clients in the INI format: the namespaces are the sections holding
/// tokens.
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
