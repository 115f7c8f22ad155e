//! Files and rows that are not what they should be give typed errors naming the file (and the
//! row), never a panic, never a token value, and never a change to the file.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use globus_tokens_core::{ConfigStorage, EnumerableTokenStorage, Error, TokenData, TokenStorage};
use globus_tokens_sqlite::SqliteAdapter;
use proptest::prelude::*;

const SECRETS: [&str; 2] = ["AT-leak", "RT-leak"];

fn assert_no_secret(err: &Error) {
    let text = format!("{err} {err:?}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in error: {text}");
    }
}

fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Open must fail with InvalidData naming `path`, and leave the file as it was.
fn open_fails_as_invalid(path: &Path) -> String {
    let before = std::fs::read(path).unwrap();
    let err = SqliteAdapter::open(path).unwrap_err();
    let Error::InvalidData { location, reason } = &err else {
        panic!("expected InvalidData, got {err:?}");
    };
    assert_eq!(location, &path.display().to_string());
    assert_no_secret(&err);
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "file changed by a failed open"
    );
    reason.clone()
}

#[test]
fn random_bytes_are_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    for (index, len) in [1usize, 10, 100, 512, 4096, 20_000].into_iter().enumerate() {
        let path = dir.path().join(format!("random-{len}.db"));
        std::fs::write(
            &path,
            pseudo_random(len, 0x9e37_79b9_7f4a_7c15 + index as u64),
        )
        .unwrap();
        assert_eq!(
            open_fails_as_invalid(&path),
            "not a SQLite database",
            "{len} bytes"
        );
    }
}

#[test]
fn a_json_token_file_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::fs::write(
        &path,
        br#"{"by_rs": {"auth.globus.org": {"access_token": "AT-leak", "refresh_token": "RT-leak"}}, "format_version": "1.0"}"#,
    )
    .unwrap();
    assert_eq!(open_fails_as_invalid(&path), "not a SQLite database");
}

#[test]
fn a_database_without_token_storage_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE something (x); INSERT INTO something VALUES ('AT-leak');")
        .unwrap();
    let reason = open_fails_as_invalid(&path);
    assert!(reason.contains("token_storage"), "{reason}");
}

#[test]
fn unsupported_schema_versions() {
    let dir = tempfile::tempdir().unwrap();
    for (version, shown) in [("3", "3"), ("", ""), ("1.0", "1.0")] {
        let path = dir.path().join(format!("v{version}.db"));
        SqliteAdapter::open(&path).unwrap().close().unwrap();
        common::raw(&path)
            .execute(
                "UPDATE sdk_storage_adapter_internal SET value = ? WHERE attribute = 'globus-sdk.database_schema_version'",
                [version],
            )
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        match SqliteAdapter::open(&path) {
            Err(Error::UnsupportedFormatVersion {
                location,
                found,
                supported,
            }) => {
                assert_eq!(location, path.display().to_string());
                assert_eq!(found, shown);
                assert_eq!(supported, ["1", "2"]);
            }
            other => panic!("expected UnsupportedFormatVersion, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
    // No version row at all.
    let path = dir.path().join("none.db");
    SqliteAdapter::open(&path).unwrap().close().unwrap();
    common::raw(&path)
        .execute("DELETE FROM sdk_storage_adapter_internal", [])
        .unwrap();
    assert!(matches!(
        SqliteAdapter::open(&path),
        Err(Error::UnsupportedFormatVersion { .. })
    ));
}

#[test]
fn a_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteAdapter::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

/// A store with one corrupt row (`value` as token_data_json) and one good row.
fn store_with_row(
    dir: &Path,
    value: rusqlite::types::Value,
) -> (std::path::PathBuf, SqliteAdapter) {
    let path = dir.join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    let good = TokenData::new("good.example.org", "s", "AT-good", 1);
    store
        .store_token_data(&[(good.resource_server.clone(), good)].into())
        .unwrap();
    common::raw(&path)
        .execute(
            "INSERT INTO token_storage VALUES ('DEFAULT', 'bad.example.org', ?)",
            [value],
        )
        .unwrap();
    (path, store)
}

#[test]
fn corrupt_rows_are_invalid_data_naming_the_row() {
    use rusqlite::types::Value as Sql;
    let cases: Vec<(Sql, &str)> = vec![
        (Sql::Text("[\"AT-leak\", \"RT-leak\"]".into()), "must be a JSON object, found an array"),
        (Sql::Text("\"AT-leak\"".into()), "found a string"),
        (Sql::Text("null".into()), "found null"),
        (Sql::Text("{\"access_token\": \"AT-leak\", \"refresh_".into()), "not valid JSON"),
        (Sql::Text("AT-leak".into()), "not valid JSON"),
        // The column's TEXT affinity stores the integer 5 as the text "5".
        (Sql::Integer(5), "must be a JSON object, found a number"),
        (
            Sql::Text(r#"{"scope": 7, "access_token": "AT-leak", "refresh_token": "RT-leak", "expires_at_seconds": 1}"#.into()),
            "field `scope` must be a string, found a number",
        ),
        (
            Sql::Text(r#"{"scope": "s", "access_token": "AT-leak", "refresh_token": "RT-leak", "expires_at_seconds": "soon"}"#.into()),
            "field `expires_at_seconds` must be an integer, found a string",
        ),
        (
            Sql::Text(r#"{"scope": "s", "access_token": ["AT-leak"], "expires_at_seconds": 1}"#.into()),
            "field `access_token` must be a string, found an array",
        ),
        (
            Sql::Text(r#"{"scope": "s", "access_token": "AT-leak", "refresh_token": {"RT-leak": 1}, "expires_at_seconds": 1}"#.into()),
            "field `refresh_token` must be a string or null, found an object",
        ),
        (
            Sql::Text(r#"{"scope": "s", "refresh_token": "RT-leak", "expires_at_seconds": 1}"#.into()),
            "missing required field `access_token`",
        ),
    ];
    for (value, expected_reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (path, store) = store_with_row(dir.path(), value);
        let location = format!(
            "{}: token_storage[namespace=DEFAULT, resource_server=bad.example.org]",
            path.display()
        );
        let before = std::fs::read(&path).unwrap();
        let check = |err: Error| {
            assert_no_secret(&err);
            match &err {
                Error::InvalidData {
                    location: found,
                    reason,
                } => {
                    assert_eq!(found, &location);
                    assert!(
                        reason.contains(expected_reason),
                        "{reason:?} lacks {expected_reason:?}"
                    );
                }
                other => panic!("expected InvalidData, got {other:?}"),
            }
        };
        check(store.get_token_data("bad.example.org").unwrap_err());
        check(store.get_by_resource_server().unwrap_err());
        // Writes that must read first fail the same way and change nothing.
        let new = TokenData::new("bad.example.org", "s", "AT-new", 2);
        check(store.compare_and_swap(None, &new).unwrap_err());
        let mut called = false;
        check(
            store
                .update_token_data("bad.example.org", &mut |_| {
                    called = true;
                    Some(new.clone())
                })
                .unwrap_err(),
        );
        assert!(!called, "update closure ran on unreadable data");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "file changed by a failed write"
        );
        // The good row is still readable, and the bad row can be replaced or removed.
        assert!(store.get_token_data("good.example.org").unwrap().is_some());
        store
            .store_token_data(&[(new.resource_server.clone(), new.clone())].into())
            .unwrap();
        assert_eq!(store.get_token_data("bad.example.org").unwrap(), Some(new));
    }
}

#[test]
fn blob_json_is_read_like_text() {
    let dir = tempfile::tempdir().unwrap();
    let json = br#"{"scope": "s", "access_token": "AT", "refresh_token": null, "token_type": "Bearer", "expires_at_seconds": 5, "resource_server": "bad.example.org"}"#;
    let (_, store) = store_with_row(dir.path(), rusqlite::types::Value::Blob(json.to_vec()));
    let data = store.get_token_data("bad.example.org").unwrap().unwrap();
    assert_eq!(data.access_token.expose(), "AT");
    assert_eq!(data.expires_at_seconds, 5);
}

#[test]
fn config_that_is_not_an_object_is_invalid_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    let conn = common::raw(&path);
    conn.execute_batch(
        "INSERT INTO config_storage VALUES ('DEFAULT', 'list', '[\"AT-leak\"]');
         INSERT INTO config_storage VALUES ('DEFAULT', 'broken', '{\"AT-leak\": ');",
    )
    .unwrap();
    for (name, reason) in [
        ("list", "config data must be a JSON object, found an array"),
        ("broken", "config_data_json is not valid JSON"),
    ] {
        let err = store.read_config(name).unwrap_err();
        assert_no_secret(&err);
        match err {
            Error::InvalidData {
                location,
                reason: found,
            } => {
                assert_eq!(
                    location,
                    format!(
                        "{}: config_storage[namespace=DEFAULT, config_name={name}]",
                        path.display()
                    )
                );
                assert!(found.contains(reason), "{found}");
            }
            other => panic!("expected InvalidData, got {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever text a row holds, reading it returns data or InvalidData, never panics.
    #[test]
    fn any_row_text_is_handled(text in ".{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        let (_, store) = store_with_row(dir.path(), rusqlite::types::Value::Text(text));
        match store.get_token_data("bad.example.org") {
            Ok(Some(_)) | Err(Error::InvalidData { .. }) => {}
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }

    /// A file with SQLite's magic header followed by garbage is an error (or an empty-looking
    /// database), never a panic, and a failed open leaves it unchanged.
    #[test]
    fn garbage_after_the_magic_header_is_handled(tail in proptest::collection::vec(any::<u8>(), 0..9000)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.db");
        let mut bytes = b"SQLite format 3\0".to_vec();
        bytes.extend_from_slice(&tail);
        std::fs::write(&path, &bytes).unwrap();
        if let Err(err) = SqliteAdapter::open(&path) {
            prop_assert!(err.to_string().contains(&path.display().to_string()), "{}", err);
            prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
        }
    }
}

/// Everything in `dir`, with contents, so a test can show nothing was created or written.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Option<Vec<u8>>)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let content = std::fs::read(&path).ok();
            (path, content)
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn create_if_missing_false_never_creates_or_writes() {
    use globus_tokens_sqlite::JournalMode;

    let dir = tempfile::tempdir().unwrap();
    // A missing file, also below a missing directory: NotFound naming the path, nothing made.
    for path in [
        dir.path().join("missing.db"),
        dir.path().join("no-such-dir").join("tokens.db"),
    ] {
        let err = SqliteAdapter::builder(&path)
            .create_if_missing(false)
            .journal_mode(JournalMode::Wal)
            .open()
            .unwrap_err();
        match &err {
            Error::Io {
                path: named,
                source,
                ..
            } => {
                assert_eq!(named, &path);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected Io(NotFound), got {other:?}"),
        }
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert!(!err.is_temporary());
    }
    assert!(
        snapshot(dir.path()).is_empty(),
        "{:?}",
        snapshot(dir.path())
    );

    // A 0-byte file: "not a token database", and it stays 0 bytes with no journal beside it.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let before = snapshot(dir.path());
    let err = SqliteAdapter::builder(&empty)
        .create_if_missing(false)
        .journal_mode(JournalMode::Wal)
        .open()
        .unwrap_err();
    let Error::InvalidData { location, reason } = &err else {
        panic!("expected InvalidData, got {err:?}");
    };
    assert_eq!(location, &empty.display().to_string());
    assert_eq!(reason, "an empty file, not a token database");
    assert_eq!(snapshot(dir.path()), before);

    // An existing database opens as usual, and reading it writes nothing.
    let path = dir.path().join("tokens.db");
    drop(SqliteAdapter::open(&path).unwrap());
    let before = snapshot(dir.path());
    let store = SqliteAdapter::builder(&path)
        .create_if_missing(false)
        .open()
        .unwrap();
    assert_eq!(store.get_token_data("auth.globus.org").unwrap(), None);
    assert!(store.get_by_resource_server().unwrap().is_empty());
    store.close().unwrap();
    assert_eq!(snapshot(dir.path()), before);

    // The default still creates a missing file and fills an empty one.
    assert!(SqliteAdapter::open(&empty).is_ok());
    assert!(std::fs::metadata(&empty).unwrap().len() > 0);
}
