//! `SqliteAdapter::store` and `get_token_data` against bare rusqlite: a transaction writing the
//! same rows, and a prepared SELECT reading one, with the same pragmas.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use globus_tokens_core::raw::pyjson;
use globus_tokens_core::{TokenDataLayout, TokenResponse, TokenStorage};
use globus_tokens_sqlite::SqliteAdapter;
use rusqlite::{Connection, TransactionBehavior};

const RESPONSE: &[u8] = include_bytes!("../tests/data/response-authorization-code.json");
const RECEIVED_AT: i64 = 2_000_000_000 - 172_800;

fn response() -> TokenResponse {
    TokenResponse::from_json_at(RESPONSE, RECEIVED_AT).unwrap()
}

fn benches(c: &mut Criterion) {
    // Commits are dominated by fsync on a real disk; point GLOBUS_TOKENS_BENCH_DIR at a tmpfs
    // (e.g. /dev/shm) to compare the CPU cost of the adapter with the bare transaction.
    let dir = match std::env::var_os("GLOBUS_TOKENS_BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let response = response();

    let store = SqliteAdapter::open(dir.path().join("adapter.db")).unwrap();
    store.store(&response).unwrap();
    c.bench_function("store", |b| {
        b.iter(|| store.store(black_box(&response)).unwrap())
    });
    c.bench_function("get_token_data", |b| {
        b.iter(|| {
            store
                .get_token_data(black_box("transfer.api.globus.org"))
                .unwrap()
                .unwrap()
        })
    });

    // The floor for a read: a bare prepared SELECT of the same row on an open connection with
    // the adapter's pragmas, fetching the JSON text (no parsing).
    let reader = Connection::open(dir.path().join("adapter.db")).unwrap();
    reader
        .busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    reader.pragma_update(None, "synchronous", "FULL").unwrap();
    reader
        .pragma_update(None, "journal_mode", "TRUNCATE")
        .unwrap();
    reader.set_prepared_statement_cache_capacity(32);
    c.bench_function("get_floor_bare_select", |b| {
        b.iter(|| {
            let mut statement = reader
                .prepare_cached(
                    "SELECT token_data_json FROM token_storage WHERE namespace=? AND resource_server=?",
                )
                .unwrap();
            let text: String = statement
                .query_row(("DEFAULT", black_box("transfer.api.globus.org")), |row| {
                    row.get(0)
                })
                .unwrap();
            text
        })
    });
    drop(reader);

    // The baseline: the same three rows (same bytes), same pragmas, one BEGIN IMMEDIATE.
    let bare_path = dir.path().join("bare.db");
    drop(SqliteAdapter::open(&bare_path).unwrap());
    let mut conn = Connection::open(&bare_path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.pragma_update(None, "journal_mode", "TRUNCATE")
        .unwrap();
    let rows: Vec<(String, String)> = response
        .by_resource_server()
        .into_iter()
        .map(|(rs, data)| {
            let json = pyjson::to_string(&data.to_json_object(TokenDataLayout::Legacy)).unwrap();
            (rs, json)
        })
        .collect();
    c.bench_function("bare_rusqlite_txn", |b| {
        b.iter(|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            {
                let mut statement = tx
                    .prepare_cached(
                        "REPLACE INTO token_storage(namespace, resource_server, token_data_json) VALUES(?, ?, ?)",
                    )
                    .unwrap();
                for (rs, json) in &rows {
                    statement
                        .execute(("DEFAULT", rs.as_str(), json.as_str()))
                        .unwrap();
                }
            }
            tx.commit().unwrap();
        })
    });
}

criterion_group!(store_get, benches);
criterion_main!(store_get);
