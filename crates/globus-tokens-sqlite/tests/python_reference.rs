//! Files written by globus-sdk 3.65.0 (`SQLiteAdapter`, schema 1; `SQLiteTokenStorage`,
//! schema 2) are read exactly, and files we write are what Python writes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use globus_tokens_core::{
    ConfigStorage, EnumerableTokenStorage, Error, TokenData, TokenStorage, WRITER_VERSION,
};
use globus_tokens_sqlite::{SchemaVersion, SqliteAdapter};
use serde_json::{Value, json};

const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const GROUPS_SCOPE: &str = "urn:globus:auth:scope:groups.api.globus.org:all";

fn token(rs: &str, scope: &str, access: &str, refresh: Option<&str>) -> (String, TokenData) {
    let mut data = TokenData::new(rs, scope, access, 2_000_000_000);
    data.refresh_token = refresh.map(Into::into);
    (rs.to_owned(), data)
}

fn default_tokens() -> BTreeMap<String, TokenData> {
    [
        token(
            "auth.globus.org",
            "openid profile email",
            "AT-a-0",
            Some("RT-a-0"),
        ),
        token(
            "transfer.api.globus.org",
            TRANSFER_SCOPE,
            "AT-a-1",
            Some("RT-a-1"),
        ),
        token("groups.api.globus.org", GROUPS_SCOPE, "AT-a-2", None),
    ]
    .into()
}

fn object(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn rows(path: &Path) -> Vec<(String, String, String, String)> {
    let conn = common::raw(path);
    let mut statement = conn
        .prepare(
            "SELECT namespace, resource_server, token_data_json, typeof(token_data_json) \
             FROM token_storage ORDER BY namespace, resource_server",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn schema(path: &Path) -> Vec<(String, String, String, i64, Option<String>)> {
    let conn = common::raw(path);
    let mut statement = conn
        .prepare("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master ORDER BY rowid")
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn internal(path: &Path) -> Vec<(String, String)> {
    let conn = common::raw(path);
    let mut statement = conn
        .prepare("SELECT attribute, value FROM sdk_storage_adapter_internal ORDER BY rowid")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn schema_1_tokens_and_config_per_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::copy_fixture("sdk-v1-sqlite.db", dir.path());
    let store = SqliteAdapter::open(&path).unwrap();
    assert_eq!(store.schema_version(), SchemaVersion::V1);
    assert_eq!(store.get_by_resource_server().unwrap(), default_tokens());
    for (rs, expected) in default_tokens() {
        assert_eq!(store.get_token_data(&rs).unwrap(), Some(expected));
    }

    let alice = store.with_namespace("userprofile/alice");
    let expected: BTreeMap<_, _> = [
        token(
            "auth.globus.org",
            "openid profile email",
            "AT-b-0",
            Some("RT-b-0"),
        ),
        token(
            "transfer.api.globus.org",
            TRANSFER_SCOPE,
            "AT-b-1",
            Some("RT-b-1"),
        ),
    ]
    .into();
    assert_eq!(alice.get_by_resource_server().unwrap(), expected);
    assert_eq!(alice.get_token_data("groups.api.globus.org").unwrap(), None);

    assert_eq!(
        store.read_config("cli_config").unwrap(),
        Some(object(
            json!({"default_profile": "alice", "n": 3, "flag": true, "none": null})
        ))
    );
    assert_eq!(store.read_config("profile").unwrap(), None);
    assert_eq!(
        alice.read_config("profile").unwrap(),
        Some(object(json!({"username": "alice@example.org"})))
    );
    // Key order is kept as Python wrote it.
    let keys: Vec<String> = store
        .read_config("cli_config")
        .unwrap()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["default_profile", "n", "flag", "none"]);

    assert_eq!(
        store.namespaces().unwrap(),
        ["DEFAULT", "userprofile/alice"]
    );
    assert_eq!(
        store.namespaces_including_config().unwrap(),
        ["DEFAULT", "userprofile/alice"]
    );
    let config_only = store.with_namespace("config-only");
    config_only
        .store_config("x", &object(json!({"a": 1})))
        .unwrap();
    assert_eq!(
        store.namespaces().unwrap(),
        ["DEFAULT", "userprofile/alice"]
    );
    assert_eq!(
        store.namespaces_including_config().unwrap(),
        ["DEFAULT", "config-only", "userprofile/alice"]
    );
}

#[test]
fn opening_a_reference_file_does_not_change_it() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sdk-v1-sqlite.db", "sdk-v2-sqlite.db"] {
        let path = common::copy_fixture(name, dir.path());
        let before = std::fs::read(&path).unwrap();
        let store = SqliteAdapter::open(&path).unwrap();
        store.get_token_data("auth.globus.org").unwrap();
        store
            .as_enumerable()
            .unwrap()
            .get_by_resource_server()
            .unwrap();
        store.namespaces_including_config().unwrap();
        store.close().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{name} changed by reading"
        );
    }
}

#[test]
fn schema_2_tokens_readable_and_writable() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::copy_fixture("sdk-v2-sqlite.db", dir.path());
    let store = SqliteAdapter::open(&path).unwrap();
    assert_eq!(store.schema_version(), SchemaVersion::V2);
    assert_eq!(store.schema_version().number(), 2);
    assert_eq!(store.get_by_resource_server().unwrap(), default_tokens());
    let client = store.with_namespace("clientapp");
    let expected: BTreeMap<_, _> = [token(
        "transfer.api.globus.org",
        TRANSFER_SCOPE,
        "AT-c-0",
        Some("RT-c-0"),
    )]
    .into();
    assert_eq!(client.get_by_resource_server().unwrap(), expected);
    assert_eq!(store.namespaces().unwrap(), ["DEFAULT", "clientapp"]);
    assert_eq!(
        store.namespaces_including_config().unwrap(),
        ["DEFAULT", "clientapp"]
    );

    // Written in SQLiteTokenStorage's own layout: the same text Python wrote for DEFAULT.
    let copy = store.with_namespace("copy");
    copy.store(&common::fixture_response()).unwrap();
    assert_eq!(copy.get_by_resource_server().unwrap(), default_tokens());
    let all = rows(&path);
    let python: BTreeMap<_, _> = all
        .iter()
        .filter(|row| row.0 == "DEFAULT")
        .map(|row| (row.1.clone(), row.2.clone()))
        .collect();
    let ours: BTreeMap<_, _> = all
        .iter()
        .filter(|row| row.0 == "copy")
        .map(|row| (row.1.clone(), row.2.clone()))
        .collect();
    assert_eq!(ours, python);
    assert!(all.iter().all(|row| row.3 == "text"));

    // Removal and renewal work on schema 2 too.
    assert!(
        client
            .remove_tokens_for_resource_server("transfer.api.globus.org")
            .unwrap()
    );
    assert_eq!(store.namespaces().unwrap(), ["DEFAULT", "copy"]);
    // The file is still schema 2 with no config table: Python keeps reading it as it wrote it.
    assert_eq!(
        internal(&path)[1],
        ("globus-sdk.database_schema_version".into(), "2".into())
    );
    assert!(
        !schema(&path)
            .iter()
            .any(|entry| entry.1 == "config_storage")
    );
}

#[test]
fn schema_2_config_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::copy_fixture("sdk-v2-sqlite.db", dir.path());
    let store = SqliteAdapter::open(&path).unwrap();
    let config = store
        .as_config_storage()
        .expect("config errors explain themselves");
    let expected_detail = format!(
        "{} is a globus-sdk SQLiteTokenStorage database (schema 2), which has no config table",
        path.display()
    );
    let results = [
        config.store_config("x", &object(json!({"a": 1}))).map(drop),
        config.read_config("x").map(drop),
        config.remove_config("x").map(drop),
    ];
    for result in results {
        match result {
            Err(Error::Unsupported {
                backend,
                operation,
                detail,
            }) => {
                assert_eq!(backend, "sqlite");
                assert_eq!(operation, "config storage");
                assert_eq!(detail.as_deref(), Some(expected_detail.as_str()));
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
    assert!(
        !schema(&path)
            .iter()
            .any(|entry| entry.1 == "config_storage")
    );
}

#[test]
fn new_database_has_pythons_schema_and_row_text() {
    let dir = tempfile::tempdir().unwrap();
    let reference = common::copy_fixture("sdk-v1-sqlite.db", dir.path());
    let path = dir.path().join("new.db");
    let store = SqliteAdapter::open(&path).unwrap();
    assert_eq!(store.schema_version(), SchemaVersion::V1);
    assert_eq!(schema(&path), schema(&reference));
    assert_eq!(
        internal(&path),
        [
            ("globus-sdk.version".to_owned(), WRITER_VERSION.to_owned()),
            (
                "globus-sdk.database_schema_version".to_owned(),
                "1".to_owned()
            ),
        ]
    );

    store.store(&common::fixture_response()).unwrap();
    let python: Vec<_> = rows(&reference)
        .into_iter()
        .filter(|row| row.0 == "DEFAULT")
        .collect();
    assert_eq!(python.len(), 3);
    assert_eq!(rows(&path), python);

    // Config text is json.dumps text too.
    store
        .store_config(
            "cli_config",
            &object(json!({"default_profile": "alice", "n": 3, "flag": true, "none": null})),
        )
        .unwrap();
    let read = |p: &Path| -> String {
        common::raw(p)
            .query_row(
                "SELECT config_data_json FROM config_storage WHERE namespace='DEFAULT' AND config_name='cli_config'",
                [],
                |row| row.get(0),
            )
            .unwrap()
    };
    assert_eq!(read(&path), read(&reference));
}

#[test]
fn new_schema_2_database_is_what_sqlite_token_storage_creates() {
    let dir = tempfile::tempdir().unwrap();
    let reference = common::copy_fixture("sdk-v2-sqlite.db", dir.path());
    let path = dir.path().join("new-v2.db");
    let store = SqliteAdapter::builder(&path)
        .new_file_schema(SchemaVersion::V2)
        .open()
        .unwrap();
    assert_eq!(store.schema_version(), SchemaVersion::V2);
    assert!(store.file_exists());
    assert_eq!(schema(&path), schema(&reference));
    assert_eq!(
        internal(&path),
        [
            ("globus-sdk.version".to_owned(), WRITER_VERSION.to_owned()),
            (
                "globus-sdk.database_schema_version".to_owned(),
                "2".to_owned()
            ),
        ]
    );
    // Python's SQLiteTokenStorage creates its file under a 0o177 umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Token text as SQLiteTokenStorage writes it (the fixture's DEFAULT rows).
    store.store(&common::fixture_response()).unwrap();
    let python: Vec<_> = rows(&reference)
        .into_iter()
        .filter(|row| row.0 == "DEFAULT")
        .collect();
    assert_eq!(python.len(), 3);
    assert_eq!(rows(&path), python);
    assert!(matches!(
        store.read_config("x"),
        Err(Error::Unsupported { .. })
    ));
    drop(store);

    // Reopened with the default options, it stays schema 2; asking for schema 2 on an existing
    // schema-1 file does not change that file either.
    assert_eq!(
        SqliteAdapter::open(&path).unwrap().schema_version(),
        SchemaVersion::V2
    );
    let v1 = common::copy_fixture("sdk-v1-sqlite.db", dir.path());
    let before = std::fs::read(&v1).unwrap();
    let store = SqliteAdapter::builder(&v1)
        .new_file_schema(SchemaVersion::V2)
        .open()
        .unwrap();
    assert_eq!(store.schema_version(), SchemaVersion::V1);
    drop(store);
    assert_eq!(std::fs::read(&v1).unwrap(), before);
}

#[test]
fn file_exists_follows_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    assert!(store.file_exists());
    std::fs::remove_file(&path).unwrap();
    assert!(!store.file_exists());
    assert!(!SqliteAdapter::open(":memory:").unwrap().file_exists());
}

#[test]
fn writing_to_a_reference_file_keeps_other_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::copy_fixture("sdk-v1-sqlite.db", dir.path());
    let alice = SqliteAdapter::builder(&path)
        .namespace("userprofile/alice")
        .open()
        .unwrap();
    let renewed = TokenData::new(
        "transfer.api.globus.org",
        TRANSFER_SCOPE,
        "AT-b-9",
        2_100_000_000,
    )
    .with_refresh_token("RT-b-9");
    alice
        .store_token_data(&[(renewed.resource_server.clone(), renewed.clone())].into())
        .unwrap();
    let again = SqliteAdapter::open(&path).unwrap();
    assert_eq!(again.get_by_resource_server().unwrap(), default_tokens());
    assert_eq!(
        again
            .with_namespace("userprofile/alice")
            .get_token_data("transfer.api.globus.org")
            .unwrap(),
        Some(renewed)
    );
    assert!(again.read_config("cli_config").unwrap().is_some());
}

#[test]
fn config_names_list_each_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::copy_fixture("sdk-v1-sqlite.db", dir.path());
    let store = SqliteAdapter::open(&path).unwrap();
    assert_eq!(store.config_names().unwrap(), ["cli_config"]);
    assert_eq!(
        store
            .with_namespace("userprofile/alice")
            .config_names()
            .unwrap(),
        ["profile"]
    );
    assert!(
        store
            .with_namespace("nobody")
            .config_names()
            .unwrap()
            .is_empty()
    );
    let v2 = common::copy_fixture("sdk-v2-sqlite.db", dir.path());
    let err = SqliteAdapter::open(&v2)
        .unwrap()
        .config_names()
        .unwrap_err();
    assert!(
        matches!(err, globus_tokens_core::Error::Unsupported { .. }),
        "{err:?}"
    );
}
