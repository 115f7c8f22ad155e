//! Files written by fair-research-login 0.3.1 (`tests/data/`, copies of the shared Python
//! fixtures) are read exactly, and what we write for the same tokens is byte-identical.

use std::collections::BTreeMap;
use std::path::Path;

use globus_native_login::{JsonLoginTokenStorage, LoginTokenStorage, MultiClientTokenStorage};
use globus_tokens_core::{EnumerableTokenStorage, TokenData, TokenStorage};

const INI: &str = include_str!("data/frl-multiclient.cfg");
const JSON: &str = include_str!("data/frl-tokens.json");
const CLIENT: &str = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5";
const OTHER_CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const EXPIRES: i64 = 2_000_000_000;
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const GROUPS_SCOPE: &str = "urn:globus:auth:scope:groups.api.globus.org:all";

fn auth() -> TokenData {
    TokenData::new("auth.globus.org", "openid profile email", "AT-a-0", EXPIRES)
        .with_refresh_token("RT-a-0")
}
fn transfer() -> TokenData {
    TokenData::new("transfer.api.globus.org", TRANSFER_SCOPE, "AT-a-1", EXPIRES)
        .with_refresh_token("RT-a-1")
}
fn groups() -> TokenData {
    TokenData::new("groups.api.globus.org", GROUPS_SCOPE, "AT-a-2", EXPIRES)
}

fn map(items: impl IntoIterator<Item = TokenData>) -> BTreeMap<String, TokenData> {
    items
        .into_iter()
        .map(|data| (data.resource_server.clone(), data))
        .collect()
}

fn copy_to(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn reads_the_multiclient_fixture_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_to(dir.path(), "apps.cfg", INI);
    let storage = MultiClientTokenStorage::new(&path, CLIENT);
    assert_eq!(
        storage.read_tokens().unwrap(),
        map([auth(), transfer(), groups()])
    );
    assert_eq!(
        storage.with_client_id(OTHER_CLIENT).read_tokens().unwrap(),
        map([auth()])
    );
    assert!(
        storage
            .with_client_id("absent")
            .read_tokens()
            .unwrap()
            .is_empty()
    );
    assert_eq!(storage.namespaces().unwrap(), [OTHER_CLIENT, CLIENT]);
}

#[test]
fn rewriting_the_multiclient_fixture_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_to(dir.path(), "apps.cfg", INI);
    let storage = MultiClientTokenStorage::new(&path, CLIENT);
    // Replace every group with itself in another order: the file must not change.
    storage
        .write_tokens(&storage.read_tokens().unwrap())
        .unwrap();
    storage.store_token_data(&map([groups(), auth()])).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), INI);
}

#[test]
fn writing_the_fixture_tokens_from_scratch_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    let first = MultiClientTokenStorage::new(&path, CLIENT);
    // fair-research-login saved auth, transfer, groups in the response's order.
    for data in [auth(), transfer(), groups()] {
        first.store_token_data(&map([data])).unwrap();
    }
    first
        .with_client_id(OTHER_CLIENT)
        .write_tokens(&map([auth()]))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), INI);

    let json_path = dir.path().join("mytokens.json");
    let json = JsonLoginTokenStorage::new(&json_path);
    for data in [auth(), transfer(), groups()] {
        json.store_token_data(&map([data])).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&json_path).unwrap(), JSON);
}

#[test]
fn other_sections_are_kept_on_write_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_to(dir.path(), "apps.cfg", INI);
    let other = MultiClientTokenStorage::new(&path, OTHER_CLIENT);
    other.clear_tokens().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // Our section emptied (kept as an empty section, as fair-research-login does), the other
    // client's section byte-for-byte as it was.
    let first_section = INI.split("\n\n").next().unwrap();
    assert!(text.starts_with(first_section), "{text}");
    assert!(text.ends_with(&format!("[{OTHER_CLIENT}]\n\n")), "{text}");
    let storage = MultiClientTokenStorage::new(&path, CLIENT);
    assert_eq!(storage.read_tokens().unwrap().len(), 3);
    assert!(other.read_tokens().unwrap().is_empty());
}

#[test]
fn reads_the_json_fixture_exactly_and_rewrites_it_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_to(dir.path(), "mytokens.json", JSON);
    let storage = JsonLoginTokenStorage::new(&path);
    let tokens = storage.read_tokens().unwrap();
    assert_eq!(tokens, map([auth(), transfer(), groups()]));
    storage.write_tokens(&tokens).unwrap();
    storage.store_token_data(&map([groups()])).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), JSON);
    assert_eq!(storage.get_by_resource_server().unwrap(), tokens);
    storage.clear_tokens().unwrap();
    assert!(!path.exists());
    assert!(storage.read_tokens().unwrap().is_empty());
}

#[cfg(unix)]
#[test]
fn files_we_write_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("apps.cfg");
    MultiClientTokenStorage::new(&ini, CLIENT)
        .write_tokens(&map([auth()]))
        .unwrap();
    let json = dir.path().join("mytokens.json");
    JsonLoginTokenStorage::new(&json)
        .write_tokens(&map([auth()]))
        .unwrap();
    for path in [ini, json] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn an_empty_json_file_holds_no_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_to(dir.path(), "mytokens.json", "");
    assert!(
        JsonLoginTokenStorage::new(&path)
            .read_tokens()
            .unwrap()
            .is_empty()
    );
}
