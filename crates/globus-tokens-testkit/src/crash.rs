//! Writers killed with SIGKILL at random moments, hundreds of times: the store must stay
//! readable, hold whole writes only, and never stay locked.
//!
//! Like [`crate::multiprocess`], the test binary re-executes itself: children run the named
//! test with an environment variable that makes [`killed_writers`] write in a loop until killed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::data::{batch, numbered};
use crate::multiprocess::Opener;

const ROLE_VAR: &str = "GLOBUS_TOKENS_TESTKIT_CRASH_WORKER";
const PATH_VAR: &str = "GLOBUS_TOKENS_TESTKIT_CRASH_STORE";
/// Writers started (and killed) per round.
pub const WRITERS: usize = 2;

/// Run `rounds` rounds of: start [`WRITERS`] processes storing one entry after another into the
/// store at `file_name` (in a fresh temporary directory, removed every 25 rounds so creation is
/// interrupted too), kill them with SIGKILL after a random 1-20 ms, then check the store.
///
/// After every kill the store must open and list without error; each writer's entries must be
/// a gap-free prefix of what it wrote (a write is there whole or not at all, and none is lost
/// behind a later one); `check` (for example SQLite's `PRAGMA integrity_check`) must pass; and
/// a new write must succeed within 10 seconds, so a killed holder never leaves the lock held.
/// Returns the number of entries stored in the end.
pub fn killed_writers(
    test_name: &str,
    file_name: &str,
    open: Opener,
    rounds: usize,
    check: fn(&Path),
) -> usize {
    if let Ok(role) = std::env::var(ROLE_VAR) {
        write_until_killed(&role, open);
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(file_name);
    let mut random = Lcg::seeded();
    let mut writer_ids = 0..;
    for round in 0..rounds {
        if round % 25 == 0 {
            // Start again from no file now and then: a writer killed while creating the store
            // must not leave something the next opener refuses.
            for suffix in ["", "-journal"] {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(name));
            }
        }
        let children: Vec<_> = (0..WRITERS)
            .map(|_| spawn_writer(test_name, writer_ids.next().unwrap_or(0), &path))
            .collect();
        std::thread::sleep(Duration::from_millis(1 + random.next() % 20));
        for mut child in children {
            // SIGKILL: no destructor, no unlock, no cleanup runs in the writer.
            let _ = child.kill();
            let _ = child.wait();
        }
        if path.exists() {
            verify(&path, open, round);
            check(&path);
        }
        write_within_deadline(&path, open, round);
    }
    let store = open(&path);
    let listing = store
        .as_enumerable()
        .expect("store under test can list its entries");
    listing.get_by_resource_server().expect("final read").len()
}

fn spawn_writer(test_name: &str, writer: usize, path: &Path) -> std::process::Child {
    let writer = writer.to_string();
    crate::multiprocess::spawn_test_again(
        test_name,
        &[(ROLE_VAR, writer.as_ref()), (PATH_VAR, path.as_os_str())],
        Stdio::null(),
    )
}

/// Every writer's entries are `0..n` for some `n`: whole writes, in order, none lost.
fn verify(path: &Path, open: Opener, round: usize) {
    let store = open(path);
    let listing = store
        .as_enumerable()
        .expect("store under test can list its entries");
    let all = listing
        .get_by_resource_server()
        .unwrap_or_else(|err| panic!("round {round}: the store is unreadable after a kill: {err}"));
    let mut by_writer: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (resource_server, data) in &all {
        let Some((writer, index)) = parse_numbered(resource_server) else {
            continue; // the parent's own probe writes
        };
        assert_eq!(
            data,
            &numbered(writer, index),
            "round {round}: {resource_server} holds a torn write"
        );
        by_writer.entry(writer).or_default().push(index);
    }
    for (writer, mut indexes) in by_writer {
        indexes.sort_unstable();
        let expected: Vec<usize> = (0..indexes.len()).collect();
        assert_eq!(
            indexes, expected,
            "round {round}: writer {writer} has a gap: a write was lost"
        );
    }
}

/// A write from this process must not wait on a lock a killed writer held.
fn write_within_deadline(path: &Path, open: Opener, round: usize) {
    let (done, finished) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let store = open(&path);
        let probe =
            globus_tokens_core::TokenData::new(format!("probe-{round}"), "s", "AT-probe", 0);
        let _ = done.send(
            store
                .store_token_data(&batch(probe))
                .map_err(|err| err.to_string()),
        );
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => panic!("round {round}: writing after a kill failed: {err}"),
        Err(_) => panic!("round {round}: the store stayed locked after its holder was killed"),
    }
}

/// `rs-{writer}-{index}.example.org` back to its numbers.
fn parse_numbered(resource_server: &str) -> Option<(usize, usize)> {
    let middle = resource_server
        .strip_prefix("rs-")?
        .strip_suffix(".example.org")?;
    let (writer, index) = middle.split_once('-')?;
    Some((writer.parse().ok()?, index.parse().ok()?))
}

fn write_until_killed(role: &str, open: Opener) -> ! {
    let writer: usize = role.parse().expect("worker index");
    let path = PathBuf::from(std::env::var_os(PATH_VAR).expect("store path for worker"));
    let store = open(&path);
    // Continue where this writer id left off (ids are never reused, so this starts at 0).
    let deadline = Instant::now() + Duration::from_secs(30);
    for index in 0.. {
        if Instant::now() > deadline {
            break;
        }
        if store
            .store_token_data(&batch(numbered(writer, index)))
            .is_err()
        {
            std::process::exit(3);
        }
    }
    std::process::exit(0)
}

/// A small linear congruential generator: random enough for kill timing, no dependency.
struct Lcg(u64);

impl Lcg {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Lcg(nanos | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}
