//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The test data directory inside this crate.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// Copy a file from `tests/data` into `dir` (writable), so the repository copy is never opened.
pub fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let target = dir.join(name);
    std::fs::copy(data_dir().join(name), &target).expect("copy fixture");
    let mut permissions = std::fs::metadata(&target).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&target, permissions).unwrap();
    target
}

/// The authorization-code response fixture, received so that tokens expire at 2000000000.
pub fn fixture_response() -> globus_tokens_core::TokenResponse {
    let body = std::fs::read(data_dir().join("response-authorization-code.json")).unwrap();
    globus_tokens_core::TokenResponse::from_json_at(&body, 2_000_000_000 - 172_800).unwrap()
}

/// A raw connection on a database file, for looking at what the adapter wrote.
pub fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap()
}
