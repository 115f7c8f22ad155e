//! An app's token file opened as globus-sdk's GlobusApp opens it, validated: JSON format 2.0
//! and SQLite schema 2 in namespace DEFAULT, owner-only, keeping one identity across handles.

use std::path::Path;

use base64::Engine as _;
use globus_app::paths::AppLocation;
use globus_app::validating::{
    TokenValidationError, UnchangingIdentityIdValidator, ValidatingTokenStorage,
};
use globus_app::{AppStorageKind, open_app_storage, open_app_token_file};
use globus_tokens_core::{EnumerableTokenStorage, TokenResponse, TokenStorage};
use globus_tokens_sqlite::{SchemaVersion, SqliteAdapter};
use serde_json::Value;

const CLIENT_ID: &str = "61338d24-54d5-408f-a10d-66c06b59f6d2";
const TRANSFER: &str = "transfer.api.globus.org";

/// A login response for `identity` (an unsigned `id_token` naming it), received at 1000.
fn login_response(identity: &str, access_token: &str) -> TokenResponse {
    let claims = format!(r#"{{"sub": "{identity}"}}"#);
    let id_token = format!(
        "eyJhbGciOiJub25lIn0.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims)
    );
    let body = serde_json::json!({
        "access_token": format!("{access_token}-auth"), "scope": "openid",
        "resource_server": "auth.globus.org", "expires_in": 3600, "token_type": "Bearer",
        "id_token": id_token,
        "other_tokens": [{"access_token": access_token,
            "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
            "resource_server": TRANSFER, "expires_in": 3600, "token_type": "Bearer",
            "refresh_token": format!("{access_token}-refresh")}],
    });
    TokenResponse::from_value_at(&body, 1_000).unwrap()
}

fn validating(
    location: &AppLocation,
    kind: AppStorageKind,
) -> ValidatingTokenStorage<Box<dyn TokenStorage>> {
    let store = open_app_storage(location, kind).unwrap();
    assert_eq!(store.namespace(), "DEFAULT");
    ValidatingTokenStorage::new(store)
        .unwrap()
        .with_validator(UnchangingIdentityIdValidator)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Logs in as alice, then shows that a second handle (as another process would open) knows the
/// identity and refuses bob, leaving the file byte for byte as it was.
fn one_identity_per_app(kind: AppStorageKind) -> (tempfile::TempDir, AppLocation) {
    let root = tempfile::tempdir().unwrap();
    let apps = root.path().join("home/.globus/app");
    let location = AppLocation::in_root(&apps, CLIENT_ID, "My App", "sandbox").unwrap();
    let file = location.token_file(kind).unwrap();
    assert!(file.ends_with(format!(
        "{CLIENT_ID}/my-app/sandbox-tokens.{}",
        kind.file_format().unwrap()
    )));

    let store = validating(&location, kind);
    store
        .store_token_response(&login_response("alice", "AT-1"))
        .unwrap();
    drop(store);

    let again = validating(&location, kind);
    assert_eq!(again.identity_id().as_deref(), Some("alice"));
    let before = std::fs::read(&file).unwrap();
    let err = again
        .store_token_response(&login_response("bob", "AT-2"))
        .unwrap_err();
    assert!(matches!(
        err,
        TokenValidationError::IdentityMismatch { ref stored_id, ref new_id } if stored_id == "alice" && new_id == "bob"
    ));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the refused login changed nothing"
    );
    let transfer = again.get_validated_token_data(TRANSFER).unwrap();
    assert_eq!(transfer.access_token.expose(), "AT-1");
    assert_eq!(transfer.identity_id.as_deref(), Some("alice"));

    // The same identity may log in again.
    again
        .store_token_response(&login_response("alice", "AT-3"))
        .unwrap();
    let listing = again.get_by_resource_server().unwrap();
    assert_eq!(listing.len(), 2);
    assert_eq!(listing[TRANSFER].access_token.expose(), "AT-3");

    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
        for dir in [location.dir(), location.dir().parent().unwrap(), &apps] {
            assert_eq!(mode(dir), 0o700, "{}", dir.display());
        }
    }
    (root, location)
}

#[test]
fn json_app_file_is_json_2_in_namespace_default() {
    let (_root, location) = one_identity_per_app(AppStorageKind::Json);
    let file = location.token_file(AppStorageKind::Json).unwrap();
    let text: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(text["format_version"], "2.0");
    let namespaces: Vec<&String> = text["data"].as_object().unwrap().keys().collect();
    assert_eq!(namespaces, ["DEFAULT"]);
    let transfer = &text["data"]["DEFAULT"][TRANSFER];
    assert_eq!(transfer["identity_id"], "alice");
    assert_eq!(transfer["access_token"], "AT-3");
    assert_eq!(transfer["expires_at_seconds"], 4_600);
}

#[test]
fn sqlite_app_file_has_sqlite_token_storage_layout_in_namespace_default() {
    let (_root, location) = one_identity_per_app(AppStorageKind::Sqlite);
    let file = location.token_file(AppStorageKind::Sqlite).unwrap();
    let adapter = SqliteAdapter::open(&file).unwrap();
    assert_eq!(adapter.schema_version(), SchemaVersion::V2);
    assert_eq!(adapter.namespaces().unwrap(), ["DEFAULT"]);
    let transfer = adapter.get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(transfer.identity_id.as_deref(), Some("alice"));
}

#[test]
fn an_existing_file_keeps_its_identity_across_kinds_of_handles() {
    // What a Python GlobusApp would have written: JSON 2.0, namespace DEFAULT, with identity.
    let root = tempfile::tempdir().unwrap();
    let location =
        AppLocation::in_root(root.path(), CLIENT_ID, "Unnamed Globus App", "production").unwrap();
    let file = location.token_file(AppStorageKind::Json).unwrap();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        r#"{"data": {"DEFAULT": {"transfer.api.globus.org": {"resource_server": "transfer.api.globus.org", "identity_id": "carol", "scope": "s", "access_token": "AT-py", "refresh_token": "RT-py", "expires_at_seconds": 2000000000, "token_type": "Bearer"}}}, "format_version": "2.0", "globus-sdk.version": "3.65.0"}"#,
    )
    .unwrap();
    assert!(file.ends_with("unnamed-globus-app/tokens.json"));
    let store = validating(&location, AppStorageKind::Json);
    assert_eq!(store.identity_id().as_deref(), Some("carol"));
    assert!(
        store
            .store_token_response(&login_response("dave", "AT"))
            .is_err()
    );
}

#[test]
fn memory_storage_creates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let location =
        AppLocation::in_root(&root.path().join("apps"), CLIENT_ID, "app", "production").unwrap();
    let store = open_app_storage(&location, AppStorageKind::Memory).unwrap();
    store.store(&login_response("alice", "AT")).unwrap();
    assert!(store.get_token_data(TRANSFER).unwrap().is_some());
    assert!(!root.path().join("apps").exists());
    assert!(open_app_token_file(&root.path().join("x"), AppStorageKind::Memory, true).is_err());
}

#[test]
fn opening_without_create_never_creates() {
    let root = tempfile::tempdir().unwrap();
    for kind in [AppStorageKind::Json, AppStorageKind::Sqlite] {
        let path = root
            .path()
            .join("app")
            .join(format!("tokens.{}", kind.file_format().unwrap()));
        let err = open_app_token_file(&path, kind, false)
            .err()
            .expect("missing file");
        assert!(
            matches!(&err, globus_tokens_core::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
            "{kind}: {err}"
        );
        assert!(!root.path().join("app").exists(), "{kind}");
    }
}
