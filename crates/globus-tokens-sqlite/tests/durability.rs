//! Permissions, sharing between threads and connections, locking across a read-modify-write,
//! and reads staying correct when other connections write.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use globus_tokens_core::{EnumerableTokenStorage, MemoryTokenStorage, TokenData, TokenStorage};
use globus_tokens_sqlite::{JournalMode, SqliteAdapter};
use proptest::prelude::*;

fn batch(data: TokenData) -> std::collections::BTreeMap<String, TokenData> {
    [(data.resource_server.clone(), data)].into()
}

fn numbered(writer: usize, index: usize) -> TokenData {
    TokenData::new(
        format!("rs-{writer}-{index}.example.org"),
        "scope",
        format!("AT-{writer}-{index}"),
        2_000_000_000,
    )
    .with_refresh_token(format!("RT-{writer}-{index}"))
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn new_database_and_directories_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("a").join("b");
    let path = parent.join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    store.store(&common::fixture_response()).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&parent), 0o700);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
}

#[cfg(unix)]
#[test]
fn rollback_journal_is_owner_only_while_a_transaction_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    SqliteAdapter::open(&path).unwrap().close().unwrap();
    let journal = dir.path().join("tokens.db-journal");
    let conn = common::raw(&path);
    conn.execute_batch(
        "BEGIN IMMEDIATE; INSERT INTO token_storage VALUES ('DEFAULT', 'rs', '{}');",
    )
    .unwrap();
    assert!(
        journal.exists(),
        "no journal while a write transaction is open"
    );
    assert_eq!(mode(&journal), 0o600);
    conn.execute_batch("ROLLBACK").unwrap();
    assert!(
        !journal.exists(),
        "the rollback journal is deleted (journal_mode=DELETE)"
    );
}

#[cfg(unix)]
#[test]
fn wal_files_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::builder(&path)
        .journal_mode(JournalMode::Wal)
        .open()
        .unwrap();
    store.store(&common::fixture_response()).unwrap();
    for suffix in ["-wal", "-shm"] {
        let file = dir.path().join(format!("tokens.db{suffix}"));
        assert!(file.exists(), "{suffix} missing");
        assert_eq!(mode(&file), 0o600, "{suffix}");
    }
    // WAL is recorded in the file header (bytes 18 and 19 are 2).
    store.close().unwrap();
    let header = std::fs::read(&path).unwrap();
    assert_eq!(&header[18..20], &[2, 2]);
}

#[test]
fn default_is_the_rollback_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    store.store(&common::fixture_response()).unwrap();
    let header = std::fs::read(&path).unwrap();
    assert_eq!(&header[18..20], &[1, 1]);
    assert!(!dir.path().join("tokens.db-wal").exists());
    let journal_mode: String = common::raw(&path)
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal_mode, "delete");
}

#[test]
fn an_empty_file_counts_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqliteAdapter::open(&path).unwrap();
    assert_eq!(store.schema_version().number(), 1);
    store.store(&common::fixture_response()).unwrap();
    assert_eq!(
        SqliteAdapter::open(&path)
            .unwrap()
            .get_by_resource_server()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn sixteen_threads_on_one_shared_handle() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteAdapter::open(dir.path().join("tokens.db")).unwrap());
    std::thread::scope(|scope| {
        for writer in 0..16 {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for index in 0..10 {
                    store
                        .store_token_data(&batch(numbered(writer, index)))
                        .unwrap();
                    // Reads interleave with the writes and always see this thread's own write.
                    assert!(
                        store
                            .get_token_data(&numbered(writer, index).resource_server)
                            .unwrap()
                            .is_some()
                    );
                }
            });
        }
    });
    let all = store.get_by_resource_server().unwrap();
    assert_eq!(all.len(), 160);
    for writer in 0..16 {
        for index in 0..10 {
            let expected = numbered(writer, index);
            assert_eq!(all.get(&expected.resource_server), Some(&expected));
        }
    }
}

#[test]
fn separate_handles_see_each_others_writes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let first = SqliteAdapter::open(&path).unwrap();
    let second = SqliteAdapter::open(&path).unwrap();
    let rs = "transfer.api.globus.org";
    for round in 0..200 {
        let (writer, reader) = if round % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        // Read first, so an answer kept from before the write would show.
        let previous = reader.get_token_data(rs).unwrap();
        let data = TokenData::new(rs, "scope", format!("AT-{round}"), round);
        writer.store_token_data(&batch(data.clone())).unwrap();
        assert_ne!(previous.as_ref(), Some(&data));
        assert_eq!(
            reader.get_token_data(rs).unwrap(),
            Some(data.clone()),
            "round {round}"
        );
        if round % 7 == 0 {
            assert!(writer.remove_token_data(rs).unwrap());
            assert_eq!(reader.get_token_data(rs).unwrap(), None, "round {round}");
        }
    }
}

#[test]
fn reads_see_writes_by_other_programs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    store.store(&common::fixture_response()).unwrap();
    let raw = common::raw(&path);
    for round in 0..50 {
        assert!(store.get_token_data("auth.globus.org").unwrap().is_some());
        let text = format!(
            r#"{{"scope": "s", "access_token": "AT-raw-{round}", "refresh_token": null, "token_type": "Bearer", "expires_at_seconds": {round}, "resource_server": "auth.globus.org"}}"#
        );
        raw.execute(
            "UPDATE token_storage SET token_data_json = ? WHERE namespace = 'DEFAULT' AND resource_server = 'auth.globus.org'",
            [text],
        )
        .unwrap();
        let got = store.get_token_data("auth.globus.org").unwrap().unwrap();
        assert_eq!(got.access_token.expose(), format!("AT-raw-{round}"));
    }
}

#[test]
fn update_token_data_holds_a_write_lock_while_its_closure_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    let rs = "transfer.api.globus.org";
    store
        .store_token_data(&batch(TokenData::new(rs, "s", "AT-old", 0)))
        .unwrap();
    let other = SqliteAdapter::builder(&path)
        .busy_timeout(Duration::from_millis(50))
        .open()
        .unwrap();
    let (inside_tx, inside_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let store = &store;
        scope.spawn(move || {
            store
                .update_token_data(rs, &mut |current| {
                    assert_eq!(current.unwrap().access_token.expose(), "AT-old");
                    inside_tx.send(()).unwrap();
                    // Wait until the other connection has tried to write.
                    done_rx.recv().unwrap();
                    Some(TokenData::new(rs, "s", "AT-renewed", 100))
                })
                .unwrap();
        });
        inside_rx.recv().unwrap();
        // Reading is still possible (the rollback journal lets readers in until the commit)...
        assert_eq!(
            other
                .get_token_data(rs)
                .unwrap()
                .unwrap()
                .access_token
                .expose(),
            "AT-old"
        );
        // ...but writing, and starting another read-modify-write, fail as busy.
        let err = other
            .store_token_data(&batch(TokenData::new(rs, "s", "AT-other", 1)))
            .unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
        let err = other.update_token_data(rs, &mut |_| None).unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
        let raw = common::raw(&path);
        raw.busy_timeout(Duration::ZERO).unwrap();
        assert!(raw.execute_batch("BEGIN IMMEDIATE").is_err());
        done_tx.send(()).unwrap();
    });
    assert_eq!(
        other
            .get_token_data(rs)
            .unwrap()
            .unwrap()
            .access_token
            .expose(),
        "AT-renewed"
    );
}

#[test]
fn a_batch_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    // Another connection holds the write lock: the batch fails as a whole, as busy.
    let raw = common::raw(&path);
    raw.execute_batch("BEGIN IMMEDIATE").unwrap();
    let quick = SqliteAdapter::builder(&path)
        .busy_timeout(Duration::from_millis(20))
        .open()
        .unwrap();
    let err = quick.store(&common::fixture_response()).unwrap_err();
    assert!(err.is_temporary());
    raw.execute_batch("ROLLBACK").unwrap();
    assert!(store.get_by_resource_server().unwrap().is_empty());
    store.store(&common::fixture_response()).unwrap();
    assert_eq!(quick.get_by_resource_server().unwrap().len(), 3);
}

#[derive(Debug, Clone)]
enum Op {
    Store(bool, u8, u8),
    Remove(bool, u8),
    Get(bool, u8),
    RawUpdate(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0..4u8, any::<u8>()).prop_map(|(h, rs, v)| Op::Store(h, rs, v)),
        (any::<bool>(), 0..4u8).prop_map(|(h, rs)| Op::Remove(h, rs)),
        (any::<bool>(), 0..4u8).prop_map(|(h, rs)| Op::Get(h, rs)),
        (0..4u8, any::<u8>()).prop_map(|(rs, v)| Op::RawUpdate(rs, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Two connections, plus raw SQL writes, always agree with a model.
    #[test]
    fn reads_match_a_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.db");
        let handles = [SqliteAdapter::open(&path).unwrap(), SqliteAdapter::open(&path).unwrap()];
        let raw = common::raw(&path);
        let model = MemoryTokenStorage::new();
        let name = |rs: u8| format!("rs-{rs}.example.org");
        let data = |rs: u8, value: u8| TokenData::new(name(rs), "s", format!("AT-{value}"), i64::from(value));
        for op in ops {
            match op {
                Op::Store(h, rs, value) => {
                    handles[usize::from(h)].store_token_data(&batch(data(rs, value))).unwrap();
                    model.store_token_data(&batch(data(rs, value))).unwrap();
                }
                Op::Remove(h, rs) => {
                    prop_assert_eq!(
                        handles[usize::from(h)].remove_token_data(&name(rs)).unwrap(),
                        model.remove_token_data(&name(rs)).unwrap()
                    );
                }
                Op::Get(h, rs) => {
                    prop_assert_eq!(
                        handles[usize::from(h)].get_token_data(&name(rs)).unwrap(),
                        model.get_token_data(&name(rs)).unwrap()
                    );
                }
                Op::RawUpdate(rs, value) => {
                    let text = globus_tokens_core::raw::pyjson::to_string(
                        &data(rs, value).to_json_object(globus_tokens_core::TokenDataLayout::Legacy),
                    )
                    .unwrap();
                    let changed = raw
                        .execute(
                            "UPDATE token_storage SET token_data_json = ? WHERE namespace = 'DEFAULT' AND resource_server = ?",
                            (text, name(rs)),
                        )
                        .unwrap();
                    if changed > 0 {
                        model.store_token_data(&batch(data(rs, value))).unwrap();
                    }
                }
            }
        }
        for rs in 0..4 {
            for handle in &handles {
                prop_assert_eq!(handle.get_token_data(&name(rs)).unwrap(), model.get_token_data(&name(rs)).unwrap());
            }
        }
    }
}
