//! Eight processes storing 50 resource servers each into one new database file while this
//! process reads it in a loop: nothing is lost and the reader never sees an error.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use globus_tokens_core::TokenStorage;
use globus_tokens_sqlite::{JournalMode, SqliteAdapter};

fn open(path: &Path) -> Box<dyn TokenStorage> {
    Box::new(SqliteAdapter::open(path).expect("open the shared database"))
}

fn open_wal(path: &Path) -> Box<dyn TokenStorage> {
    Box::new(
        SqliteAdapter::builder(path)
            .journal_mode(JournalMode::Wal)
            .open()
            .expect("open the shared database in WAL mode"),
    )
}

#[test]
fn concurrent_writers() {
    globus_tokens_testkit::multiprocess::concurrent_writers(
        "concurrent_writers",
        "tokens.db",
        open,
    );
}

#[test]
fn concurrent_writers_wal() {
    globus_tokens_testkit::multiprocess::concurrent_writers(
        "concurrent_writers_wal",
        "tokens.db",
        open_wal,
    );
}

const SINGLE_FLIGHT_VAR: &str = "GLOBUS_TOKENS_SQLITE_SINGLE_FLIGHT_DB";
const RENEWED: i32 = 10;
const RS: &str = "transfer.api.globus.org";

/// Eight processes find the same stale token at once; `update_token_data`'s `BEGIN IMMEDIATE`
/// makes exactly one of them renew it, and the others see the renewed token.
#[test]
fn update_is_single_flight_across_processes() {
    use globus_tokens_core::TokenData;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    if let Some(path) = std::env::var_os(SINGLE_FLIGHT_VAR) {
        let path = std::path::PathBuf::from(path);
        let store = SqliteAdapter::open(&path).expect("worker open");
        let go = path.with_extension("go");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !go.exists() {
            assert!(Instant::now() < deadline, "never told to start");
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut renewed = false;
        let result = store
            .update_token_data(RS, &mut |current| {
                let current = current?;
                if current.access_token.expose() != "AT-stale" {
                    return None;
                }
                renewed = true;
                // A slow token endpoint: the window in which a second renewal could start.
                std::thread::sleep(Duration::from_millis(30));
                Some(
                    TokenData::new(
                        RS,
                        "s",
                        format!("AT-fresh-{}", std::process::id()),
                        2_000_000_000,
                    )
                    .with_refresh_token("RT-1"),
                )
            })
            .expect("update");
        let token = result.expect("a token after the update");
        assert!(token.access_token.expose().starts_with("AT-fresh-"));
        std::process::exit(if renewed { RENEWED } else { 0 });
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let store = SqliteAdapter::open(&path).unwrap();
    store
        .store_token_data(
            &[(
                RS.to_owned(),
                TokenData::new(RS, "s", "AT-stale", 0).with_refresh_token("RT-0"),
            )]
            .into(),
        )
        .unwrap();
    // Read the stale entry in this process first: the read after the workers must not return it.
    assert_eq!(
        store
            .get_token_data(RS)
            .unwrap()
            .unwrap()
            .access_token
            .expose(),
        "AT-stale"
    );
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "update_is_single_flight_across_processes",
                    "--exact",
                    "--test-threads=1",
                ])
                .env(SINGLE_FLIGHT_VAR, &path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(path.with_extension("go"), b"").unwrap();
    let mut renewals = Vec::new();
    for mut child in children {
        let pid = child.id();
        let status = child.wait().unwrap();
        match status.code() {
            Some(RENEWED) => renewals.push(pid),
            Some(0) => {}
            other => panic!("worker {pid} failed: {other:?}"),
        }
    }
    assert_eq!(renewals.len(), 1, "renewed by {renewals:?}");
    let stored = store.get_token_data(RS).unwrap().unwrap();
    assert_eq!(
        stored.access_token.expose(),
        format!("AT-fresh-{}", renewals[0])
    );
}

const OPEN_RACE_VAR: &str = "GLOBUS_TOKENS_SQLITE_OPEN_RACE_WORKER";
const OPEN_RACE_PROCESSES: usize = 8;
const OPEN_RACE_ROUNDS: usize = 200;

/// Eight processes open the same new database in WAL mode at once, 200 times over (a new file
/// each round): no open may fail because another process is creating the file or switching it
/// to WAL (it once failed with "setting the journal mode: database is locked").
///
/// The workers live for all rounds and take each round's path from a pipe, so all eight start
/// opening within microseconds of each other without paying for 1,600 process starts.
#[test]
fn concurrent_wal_open_of_a_new_file() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    if std::env::var_os(OPEN_RACE_VAR).is_some() {
        // Worker: one path per line on stdin; one `ok` or `error ...` line per path on stderr
        // (stdout belongs to the test harness).
        let mut out = std::io::stderr().lock();
        for line in std::io::stdin().lock().lines() {
            let path = std::path::PathBuf::from(line.expect("read a path"));
            let result = SqliteAdapter::builder(&path)
                .journal_mode(JournalMode::Wal)
                .open()
                .and_then(|store| store.close());
            match result {
                Ok(()) => writeln!(out, "ok").unwrap(),
                Err(err) => writeln!(out, "error {err}").unwrap(),
            }
        }
        std::process::exit(0);
    }

    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut workers: Vec<_> = (0..OPEN_RACE_PROCESSES)
        .map(|_| {
            let mut child = Command::new(&exe)
                .args([
                    "concurrent_wal_open_of_a_new_file",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(OPEN_RACE_VAR, "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let stdin = child.stdin.take().unwrap();
            let answers = BufReader::new(child.stderr.take().unwrap()).lines();
            (child, stdin, answers)
        })
        .collect();
    let mut failures = Vec::new();
    for round in 0..OPEN_RACE_ROUNDS {
        let path = dir.path().join(format!("round-{round}")).join("tokens.db");
        for (_, stdin, _) in &mut workers {
            writeln!(stdin, "{}", path.display()).unwrap();
            stdin.flush().unwrap();
        }
        for (_, _, answers) in &mut workers {
            let answer = answers
                .next()
                .expect("a worker exited early")
                .expect("read a worker's answer");
            if answer != "ok" {
                failures.push(format!("round {round}: {answer}"));
            }
        }
        let store = SqliteAdapter::open(&path).unwrap();
        assert_eq!(store.schema_version().number(), 1);
    }
    for (mut child, stdin, _) in workers {
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
    assert!(
        failures.is_empty(),
        "{} of {} opens failed: {failures:#?}",
        failures.len(),
        OPEN_RACE_PROCESSES * OPEN_RACE_ROUNDS
    );
}
