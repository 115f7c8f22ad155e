//! Store and read costs of both JSON formats, against the floor every durable write pays.
//!
//! `store` stores the three-resource-server authorization-code response into a file that
//! already holds it (the steady state of a token refresh). `bare_atomic_write` writes the bytes
//! that store produces with exactly one temporary-file write, fsync, rename and directory fsync
//! and nothing else: the lock, read, parse and serialization a store adds should cost little
//! next to that (the target is within 1.5x).
//!
//! `get_token_data` reads the token file and returns one entry; `bare_read_parse` reads the same
//! file and parses it into a `serde_json::Value` and nothing else (the target is within 1.5x).
//!
//! fsync latency drifts with whatever else the disk is doing, and CPU time with whatever else
//! the machine runs, so each benchmark is measured interleaved with its floor (`store` with
//! `bare_atomic_write`, `get_token_data` with `bare_read_parse`): each timed iteration of one is
//! preceded by an untimed iteration of the other, and both see the same background load.

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use globus_tokens_core::{TokenResponse, TokenStorage};
use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};

const RESPONSE: &[u8] = include_bytes!("../tests/data/response-authorization-code.json");
const RECEIVED_AT: i64 = 2_000_000_000 - 172_800;

fn bare_atomic_write(path: &Path, temp: &Path, dir: &Path, bytes: &[u8]) {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(temp).expect("create temporary file");
    file.write_all(bytes).expect("write temporary file");
    file.sync_all().expect("fsync temporary file");
    drop(file);
    fs::rename(temp, path).expect("rename over target");
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .expect("fsync directory");
}

/// Time `iters` runs of `measured`, each after an untimed run of `other`.
fn interleaved(iters: u64, mut measured: impl FnMut(), mut other: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        other();
        let start = Instant::now();
        measured();
        total += start.elapsed();
    }
    total
}

fn bench_format<S: TokenStorage>(
    c: &mut Criterion,
    name: &str,
    open: impl Fn(PathBuf) -> S,
    response: &TokenResponse,
) {
    // Under target/ rather than /tmp, which may be tmpfs where fsync costs nothing.
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tempfile::tempdir_in(&base).expect("temporary directory");
    let path = dir.path().join("tokens.json");
    let store = open(path.clone());
    store.store(response).expect("initial store");
    let bytes = fs::read(&path).expect("read stored file");

    let mut group = c.benchmark_group(name);
    let baseline = dir.path().join("baseline.json");
    let temp = dir.path().join(".baseline.json.tmp");
    let do_store = || store.store(black_box(response)).expect("store");
    let do_baseline = || bare_atomic_write(&baseline, &temp, dir.path(), black_box(&bytes));
    group.bench_function("store", |b| {
        b.iter_custom(|iters| interleaved(iters, do_store, do_baseline));
    });
    group.bench_function("bare_atomic_write", |b| {
        b.iter_custom(|iters| interleaved(iters, do_baseline, do_store));
    });
    // The floor for a read: the same file read and parsed into a `serde_json::Value`, nothing
    // else (the target is within 1.5x). Interleaved like the writes: on a shared machine the
    // background load drifts between two benchmarks run one after the other by more than the
    // difference being measured.
    let do_bare_read = || {
        let bytes = fs::read(black_box(&path)).expect("read");
        black_box(serde_json::from_slice::<serde_json::Value>(&bytes).expect("parse"));
    };
    let do_get = || {
        black_box(
            store
                .get_token_data(black_box("transfer.api.globus.org"))
                .expect("get"),
        );
    };
    group.bench_function("bare_read_parse", |b| {
        b.iter_custom(|iters| interleaved(iters, do_bare_read, do_get));
    });
    group.bench_function("get_token_data", |b| {
        b.iter_custom(|iters| interleaved(iters, do_get, do_bare_read));
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let response = TokenResponse::from_json_at(RESPONSE, RECEIVED_AT).expect("fixture response");
    bench_format(
        c,
        "simple_json_file_adapter",
        SimpleJsonFileAdapter::new,
        &response,
    );
    bench_format(c, "json_token_storage", JsonTokenStorage::new, &response);
}

criterion_group!(store_get, benches);
criterion_main!(store_get);
