//! Files written by globus-sdk 3.65.0 are read exactly, and the files we write for the same
//! data are byte-identical to them except for the `"globus-sdk.version"` value.
//!
//! The reference files in `tests/data/` are copies of the shared Python fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globus_tokens_core::raw::pyjson;
use globus_tokens_core::{
    EnumerableTokenStorage, Error, TokenData, TokenResponse, TokenStorage, WRITER_VERSION,
};
use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};
use serde_json::Value;

const V1: &str = include_str!("data/sdk-v1-simple.json");
const V2: &str = include_str!("data/sdk-v2.json");
const RESPONSE: &[u8] = include_bytes!("data/response-authorization-code.json");
/// So that the response's tokens (`expires_in` 172800) expire at 2000000000, like the fixtures'.
const RECEIVED_AT: i64 = 2_000_000_000 - 172_800;
const EXPIRES: i64 = 2_000_000_000;
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const BOB_IDENTITY: &str = "ae341a98-d274-11e5-b888-dbae3a8ba545";

fn response() -> TokenResponse {
    TokenResponse::from_json_at(RESPONSE, RECEIVED_AT).expect("fixture response parses")
}

/// What every fixture holds in namespace `DEFAULT`.
fn default_tokens() -> BTreeMap<String, TokenData> {
    [
        TokenData::new("auth.globus.org", "openid profile email", "AT-a-0", EXPIRES)
            .with_refresh_token("RT-a-0"),
        TokenData::new("transfer.api.globus.org", TRANSFER_SCOPE, "AT-a-1", EXPIRES)
            .with_refresh_token("RT-a-1"),
        TokenData::new(
            "groups.api.globus.org",
            "urn:globus:auth:scope:groups.api.globus.org:all",
            "AT-a-2",
            EXPIRES,
        ),
    ]
    .into_iter()
    .map(|data| (data.resource_server.clone(), data))
    .collect()
}

fn bob_transfer() -> TokenData {
    TokenData::new("transfer.api.globus.org", TRANSFER_SCOPE, "AT-bob", EXPIRES)
        .with_refresh_token("RT-bob")
        .with_identity_id(BOB_IDENTITY)
}

/// A fixture's text with our writer version where globus-sdk put its own.
fn with_our_version(fixture: &str) -> String {
    let python = r#""globus-sdk.version": "3.65.0""#;
    assert!(fixture.contains(python));
    fixture.replace(
        python,
        &format!(r#""globus-sdk.version": "{WRITER_VERSION}""#),
    )
}

/// A writable copy of a fixture in a fresh directory.
fn copy_of(fixture: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, fixture).expect("write fixture copy");
    (dir, path)
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read written file")
}

#[test]
fn simple_adapter_reads_python_v1() {
    let (_dir, path) = copy_of(V1);
    let adapter = SimpleJsonFileAdapter::new(&path);
    assert!(adapter.file_exists());
    assert_eq!(adapter.get_by_resource_server().unwrap(), default_tokens());
    for (resource_server, expected) in default_tokens() {
        assert_eq!(
            adapter.get_token_data(&resource_server).unwrap(),
            Some(expected)
        );
    }
    let groups = adapter
        .get_token_data("groups.api.globus.org")
        .unwrap()
        .unwrap();
    assert_eq!(groups.refresh_token, None);
    assert_eq!(groups.token_type.as_deref(), Some("Bearer"));
    assert_eq!(adapter.namespaces().unwrap(), ["DEFAULT"]);
    assert_eq!(read_text(&path), V1, "reading must not change the file");
}

#[test]
fn json_token_storage_reads_python_v2() {
    let (_dir, path) = copy_of(V2);
    let default = JsonTokenStorage::new(&path);
    let bob = default.with_namespace("userprofile/bob");
    assert_eq!(default.get_by_resource_server().unwrap(), default_tokens());
    let expected_bob: BTreeMap<_, _> =
        [(bob_transfer().resource_server.clone(), bob_transfer())].into();
    assert_eq!(bob.get_by_resource_server().unwrap(), expected_bob);
    let transfer = bob
        .get_token_data("transfer.api.globus.org")
        .unwrap()
        .unwrap();
    assert_eq!(transfer.identity_id.as_deref(), Some(BOB_IDENTITY));
    assert_eq!(transfer.access_token.expose(), "AT-bob");
    assert_eq!(bob.get_token_data("auth.globus.org").unwrap(), None);
    assert_eq!(
        default.namespaces().unwrap(),
        ["DEFAULT", "userprofile/bob"]
    );
    let nobody = default.with_namespace("userprofile/nobody");
    assert!(nobody.get_by_resource_server().unwrap().is_empty());
    assert_eq!(read_text(&path), V2);
}

#[test]
fn json_token_storage_reads_python_v1_as_default() {
    let (_dir, path) = copy_of(V1);
    let storage = JsonTokenStorage::new(&path);
    assert_eq!(storage.get_by_resource_server().unwrap(), default_tokens());
    assert_eq!(storage.namespaces().unwrap(), ["DEFAULT"]);
    let other = storage.with_namespace("other");
    assert_eq!(other.get_token_data("auth.globus.org").unwrap(), None);
    assert_eq!(
        read_text(&path),
        V1,
        "reading a 1.0 file must not upgrade it"
    );
}

#[test]
fn simple_adapter_refuses_v2_like_python() {
    let (_dir, path) = copy_of(V2);
    let adapter = SimpleJsonFileAdapter::new(&path);
    let err = adapter.get_token_data("auth.globus.org").unwrap_err();
    assert!(
        matches!(
            &err,
            Error::UnsupportedFormatVersion { found, supported, .. }
                if found == "\"2.0\"" && *supported == ["1.0"]
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&path.display().to_string()));
    assert!(adapter.store(&response()).is_err());
    assert_eq!(read_text(&path), V2);
}

#[test]
fn simple_adapter_writes_python_v1_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = SimpleJsonFileAdapter::new(dir.path().join("tokens.json"));
    adapter.store(&response()).unwrap();
    assert_eq!(read_text(adapter.path()), with_our_version(V1));
}

#[test]
fn json_token_storage_writes_python_v2_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let default = JsonTokenStorage::new(dir.path().join("tokens.json"));
    default.store(&response()).unwrap();
    let bob = default.with_namespace("userprofile/bob");
    bob.store_token_data(&[(bob_transfer().resource_server.clone(), bob_transfer())].into())
        .unwrap();
    assert_eq!(read_text(default.path()), with_our_version(V2));
}

#[test]
fn rewriting_python_files_with_the_same_data_changes_only_the_version() {
    let (_dir, path) = copy_of(V1);
    SimpleJsonFileAdapter::new(&path)
        .store(&response())
        .unwrap();
    assert_eq!(read_text(&path), with_our_version(V1));

    let (_dir, path) = copy_of(V2);
    let storage = JsonTokenStorage::new(&path);
    storage.store_token_data(&default_tokens()).unwrap();
    storage
        .with_namespace("userprofile/bob")
        .store(&response())
        .unwrap();
    storage
        .with_namespace("userprofile/bob")
        .remove_token_data("auth.globus.org")
        .unwrap();
    storage
        .with_namespace("userprofile/bob")
        .remove_token_data("groups.api.globus.org")
        .unwrap();
    storage
        .with_namespace("userprofile/bob")
        .store_token_data(&[(bob_transfer().resource_server.clone(), bob_transfer())].into())
        .unwrap();
    assert_eq!(read_text(&path), with_our_version(V2));
}

/// globus-sdk's upgrade: the 1.0 entries move, unchanged, under `data.DEFAULT`.
#[test]
fn json_token_storage_upgrades_v1_on_write() {
    let (_dir, path) = copy_of(V1);
    let bob = JsonTokenStorage::new(&path).with_namespace("userprofile/bob");
    bob.store_token_data(&[(bob_transfer().resource_server.clone(), bob_transfer())].into())
        .unwrap();

    let v1: Value = serde_json::from_str(V1).unwrap();
    let bob_entry = serde_json::from_str::<Value>(V2).unwrap()["data"]["userprofile/bob"].clone();
    let expected = serde_json::json!({
        "data": {"DEFAULT": v1["by_rs"], "userprofile/bob": bob_entry},
        "format_version": "2.0",
        "globus-sdk.version": WRITER_VERSION,
    });
    assert_eq!(
        read_text(&path).into_bytes(),
        pyjson::to_vec(&expected).unwrap()
    );

    let default = JsonTokenStorage::new(&path);
    assert_eq!(default.get_by_resource_server().unwrap(), default_tokens());
    assert_eq!(
        default.namespaces().unwrap(),
        ["DEFAULT", "userprofile/bob"]
    );
    assert!(matches!(
        SimpleJsonFileAdapter::new(&path).get_token_data("auth.globus.org"),
        Err(Error::UnsupportedFormatVersion { .. })
    ));
}

/// Restoring the same response after an upgrade gives exactly Python's 2.0 file (minus bob).
#[test]
fn upgraded_then_restored_matches_python_v2() {
    let (_dir, path) = copy_of(V1);
    JsonTokenStorage::new(&path).store(&response()).unwrap();
    let mut expected: Value = serde_json::from_str(&with_our_version(V2)).unwrap();
    let data = expected["data"].as_object_mut().unwrap();
    data.shift_remove("userprofile/bob");
    assert_eq!(
        read_text(&path).into_bytes(),
        pyjson::to_vec(&expected).unwrap()
    );
}

#[test]
fn unknown_top_level_keys_survive_in_place() {
    let extra = V1.replacen("{", r#"{"written_by": {"tool": "other"}, "#, 1);
    let (_dir, path) = copy_of(&extra);
    let adapter = SimpleJsonFileAdapter::new(&path);
    assert!(adapter.remove_token_data("groups.api.globus.org").unwrap());
    let text = read_text(&path);
    assert!(
        text.starts_with(r#"{"written_by": {"tool": "other"}, "by_rs": {"auth.globus.org": "#),
        "{text}"
    );
    assert!(!text.contains("groups.api.globus.org"));

    JsonTokenStorage::new(&path).store(&response()).unwrap();
    let text = read_text(&path);
    assert!(
        text.ends_with(&format!(
            r#""format_version": "2.0", "globus-sdk.version": "{WRITER_VERSION}", "written_by": {{"tool": "other"}}}}"#
        )),
        "{text}"
    );
}
