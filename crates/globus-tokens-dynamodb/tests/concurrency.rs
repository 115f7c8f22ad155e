//! Concurrency against the real server: 8 threads x 25 stores lose nothing, and 4 processes
//! renewing one token through the conditional update lose no renewal and never move the token
//! backwards.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use globus_tokens_core::{TokenData, TokenStorage};
use globus_tokens_dynamodb::ItemLayout;
use globus_tokens_testkit::data::{batch, numbered};

const THREADS: usize = 8;
// moto applies one request at a time (~17 ms a transaction): 2 x 8 x 25 transactions and twice
// as many reads are enough to interleave the threads.
const STORES: usize = 25;

#[test]
fn eight_threads_twenty_five_stores_each() {
    for layout in [ItemLayout::Seed, ItemLayout::Composite] {
        let store = common::fresh_table("threads", layout);
        std::thread::scope(|scope| {
            for writer in 0..THREADS {
                let store = store.clone();
                scope.spawn(move || {
                    for index in 0..STORES {
                        // Two resource servers per store, so each store is a transaction.
                        let mut two = batch(numbered(writer, index));
                        let mut other = numbered(writer + THREADS, index);
                        other.scope = format!("second {writer} {index}");
                        two.insert(other.resource_server.clone(), other);
                        store.store_token_data(&two).unwrap();
                    }
                });
            }
        });
        for writer in 0..THREADS * 2 {
            for index in 0..STORES {
                let want = numbered(writer, index);
                let got = store.get_token_data(&want.resource_server).unwrap();
                assert!(got.is_some(), "{layout:?}: lost {}", want.resource_server);
                if writer < THREADS {
                    assert_eq!(got, Some(want));
                }
            }
        }
        if let Some(listing) = store.as_enumerable() {
            assert_eq!(
                listing.get_by_resource_server().unwrap().len(),
                THREADS * 2 * STORES
            );
        }
    }
}

const RS: &str = "transfer.api.globus.org";
const PROCESSES: usize = 4;
const RENEWALS: i64 = 20;
const TABLE_VAR: &str = "GLOBUS_TOKENS_DYNAMODB_TEST_TABLE";
const LAYOUT_VAR: &str = "GLOBUS_TOKENS_DYNAMODB_TEST_LAYOUT";

/// Version `n` of the token: access and refresh token and expiry all carry `n`.
fn version(n: i64) -> TokenData {
    TokenData::new(RS, "s", format!("AT-{n}"), n).with_refresh_token(format!("RT-{n}"))
}

fn version_of(data: &TokenData) -> i64 {
    data.access_token.expose()[3..].parse().unwrap()
}

/// One worker process: `RENEWALS` renewals, each reading the current version and writing the
/// next through `update_token_data` (conditional writes). Prints the versions it wrote.
fn worker(table: &str, layout: ItemLayout) {
    // Without the renewal lease: this checks the fence alone (conditional writes on the tokens
    // read); tests/lease.rs and globus-authorizers' dynamodb_processes test the lease.
    let store = common::builder(table)
        .layout(layout)
        .without_lease()
        .build()
        .unwrap();
    let mut wrote = Vec::new();
    for _ in 0..RENEWALS {
        let result = store
            .update_token_data(RS, &mut |current| {
                let current = current.expect("seeded");
                let n = version_of(current);
                // Each renewal rotates the refresh token: the next version.
                Some(version(n + 1))
            })
            .unwrap()
            .unwrap();
        wrote.push(version_of(&result));
    }
    println!(
        "WROTE {}",
        wrote
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
}

#[test]
fn four_processes_renewing_one_token() {
    if let (Ok(table), Ok(layout)) = (std::env::var(TABLE_VAR), std::env::var(LAYOUT_VAR)) {
        let layout = if layout == "composite" {
            ItemLayout::Composite
        } else {
            ItemLayout::Seed
        };
        worker(&table, layout);
        return;
    }
    for (layout, name) in [
        (ItemLayout::Seed, "seed"),
        (ItemLayout::Composite, "composite"),
    ] {
        let store = common::fresh_table("renew", layout);
        store.store_token_data(&batch(version(0))).unwrap();
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                Command::new(&exe)
                    .args([
                        "four_processes_renewing_one_token",
                        "--exact",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(TABLE_VAR, store.table_name())
                    .env(LAYOUT_VAR, name)
                    .env(common::ENDPOINT_VAR, common::endpoint())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Meanwhile, read: the version never goes down.
        let highest = Arc::new(AtomicI64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (store, highest, done) = (store.clone(), highest.clone(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                let deadline = Instant::now() + Duration::from_secs(120);
                while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let n = version_of(&store.get_token_data(RS).unwrap().unwrap());
                    let before = highest.fetch_max(n, Ordering::SeqCst);
                    assert!(n >= before, "token moved backwards: {before} -> {n}");
                    reads += 1;
                }
                reads
            })
        };
        let mut all_written = Vec::new();
        for child in children {
            let output = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "worker failed: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let line = stdout
                .lines()
                .find_map(|l| l.split_once("WROTE ").map(|(_, rest)| rest.trim()))
                .unwrap_or_else(|| panic!("worker did not report: {stdout}"));
            let wrote: Vec<i64> = line.split(',').map(|n| n.parse().unwrap()).collect();
            assert!(
                wrote.windows(2).all(|w| w[0] < w[1]),
                "a worker saw the token go backwards: {wrote:?}"
            );
            all_written.extend(wrote);
        }
        done.store(true, Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0, "the reader never ran");
        // Every renewal landed exactly once: versions 1..=4*25, each written by one process.
        all_written.sort_unstable();
        let expected: Vec<i64> = (1..=PROCESSES as i64 * RENEWALS).collect();
        assert_eq!(all_written, expected, "{name}: lost or duplicated renewals");
        let last = store.get_token_data(RS).unwrap().unwrap();
        assert_eq!(last, version(PROCESSES as i64 * RENEWALS));
    }
}
