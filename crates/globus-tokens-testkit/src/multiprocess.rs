//! Several processes writing one store at once, with a reader polling meanwhile.
//!
//! The test binary re-executes itself: the parent runs the named test again in child processes
//! with environment variables that turn [`concurrent_writers`] into a worker. This needs no
//! helper binary, and works under `cargo test` and cargo-nextest alike.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use globus_tokens_core::TokenStorage;

use crate::data::{batch, numbered};

/// Writer processes started by [`concurrent_writers`].
pub const WRITERS: usize = 8;
/// Distinct resource servers each writer stores, one `store` call each.
pub const PER_WRITER: usize = 50;

const ROLE_VAR: &str = "GLOBUS_TOKENS_TESTKIT_WORKER";
const PATH_VAR: &str = "GLOBUS_TOKENS_TESTKIT_STORE";
/// Exit status of a worker that saw a failed operation.
const WORKER_FAILED: i32 = 3;

/// Opens a store on a path, for the writer and reader processes.
pub type Opener = fn(&Path) -> Box<dyn TokenStorage>;

/// Run [`WRITERS`] processes that each store [`PER_WRITER`] distinct resource servers into one
/// store file (created by the first writer), while this process reads the store in a loop.
///
/// Panics unless every operation of every process succeeds, the reader never fails (no
/// half-written or unparseable file is ever visible), the number of entries the reader sees
/// never goes down, and all `WRITERS * PER_WRITER` entries are present at the end.
///
/// `test_name` must be the calling test's name as the test harness knows it (its module path
/// within the test crate, e.g. `json_v2` or `sqlite::writers`), so children can run it alone.
/// `file_name` is the store's file name inside a fresh temporary directory.
pub fn concurrent_writers(test_name: &str, file_name: &str, open: Opener) {
    if let Ok(role) = std::env::var(ROLE_VAR) {
        run_worker(&role, open);
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(file_name);
    let children: Vec<Child> = (0..WRITERS)
        .map(|writer| spawn_worker(test_name, writer, &path))
        .collect();
    let reads = poll_while_writing(&path, open, children);
    let store = open(&path);
    let listing = store
        .as_enumerable()
        .expect("store under test can list its entries");
    let all = listing.get_by_resource_server().expect("final read");
    let expected: BTreeSet<String> = (0..WRITERS)
        .flat_map(|writer| {
            (0..PER_WRITER).map(move |index| numbered(writer, index).resource_server)
        })
        .collect();
    let found: BTreeSet<String> = all.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "{} entries lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    for writer in 0..WRITERS {
        for index in 0..PER_WRITER {
            let want = numbered(writer, index);
            assert_eq!(all.get(&want.resource_server), Some(&want));
        }
    }
    assert!(reads > 0, "the reader never ran");
}

fn spawn_worker(test_name: &str, writer: usize, path: &Path) -> Child {
    spawn_test_again(
        test_name,
        &[
            (ROLE_VAR, writer.to_string().as_ref()),
            (PATH_VAR, path.as_os_str()),
        ],
        Stdio::inherit(),
    )
}

/// Run the test `test_name` of this test binary again in a child process, with `vars` set.
pub(crate) fn spawn_test_again(
    test_name: &str,
    vars: &[(&str, &std::ffi::OsStr)],
    stderr: Stdio,
) -> Child {
    let exe = std::env::current_exe().expect("path of the test binary");
    Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn worker process")
}

/// Read the store until every child exits; returns how many reads succeeded.
fn poll_while_writing(path: &Path, open: Opener, mut children: Vec<Child>) -> usize {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut reads = 0;
    let mut largest_seen = 0;
    let mut failures = Vec::new();
    while !children.is_empty() {
        assert!(
            Instant::now() < deadline,
            "writers did not finish within 5 minutes"
        );
        if path.exists() {
            let store = open(path);
            let listing = store
                .as_enumerable()
                .expect("store under test can list its entries");
            match listing.get_by_resource_server() {
                Ok(all) => {
                    reads += 1;
                    assert!(
                        all.len() >= largest_seen,
                        "entries disappeared: {} after {largest_seen}",
                        all.len()
                    );
                    largest_seen = all.len();
                }
                Err(err) => panic!("a reader saw an error while writers ran: {err}"),
            }
        }
        children.retain_mut(|child| match child.try_wait().expect("wait for worker") {
            Some(status) => {
                if !status.success() {
                    failures.push(status);
                }
                false
            }
            None => true,
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(failures.is_empty(), "worker processes failed: {failures:?}");
    reads
}

#[allow(clippy::print_stderr)]
fn run_worker(role: &str, open: Opener) {
    let writer: usize = role.parse().expect("worker index");
    let path = PathBuf::from(std::env::var_os(PATH_VAR).expect("store path for worker"));
    let mut failed = 0;
    for index in 0..PER_WRITER {
        // A fresh handle now and then, so the creation of the store and reopening race too.
        let store = open(&path);
        if let Err(err) = store.store_token_data(&batch(numbered(writer, index))) {
            eprintln!("worker {writer}: store {index} failed: {err}");
            failed += 1;
        }
    }
    std::process::exit(if failed == 0 { 0 } else { WORKER_FAILED });
}
