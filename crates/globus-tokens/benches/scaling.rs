//! How store and get cost grow with the store: 10, 1 000 and 100 000 entries over 4
//! namespaces, for the JSON 2.0 file and for SQLite (see docs/performance.md).
//!
//! JSON rewrites (and fsyncs) the whole file on every write, so its store grows with the file;
//! a read of a settled file is one `stat` whatever its size, but the first read after a write
//! parses it all. SQLite writes and reads one indexed row, so both stay flat.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use globus_tokens::{JsonTokenStorage, SqliteAdapter, TokenData, TokenStorage};

const NAMESPACES: usize = 4;

fn entry(namespace: usize, index: usize) -> TokenData {
    TokenData::new(
        format!("rs-{namespace}-{index}.example.org"),
        "urn:globus:auth:scope:transfer.api.globus.org:all",
        format!("AT-{namespace}-{index}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        2_000_000_000,
    )
    .with_refresh_token(format!(
        "RT-{namespace}-{index}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    ))
}

/// One handle per namespace on a fresh store in `dir`.
type Open = fn(&Path) -> Vec<Box<dyn TokenStorage>>;

fn json(dir: &Path) -> Vec<Box<dyn TokenStorage>> {
    let root = JsonTokenStorage::new(dir.join("tokens.json"));
    (0..NAMESPACES)
        .map(|n| Box::new(root.with_namespace(format!("ns-{n}"))) as Box<dyn TokenStorage>)
        .collect()
}

fn sqlite(dir: &Path) -> Vec<Box<dyn TokenStorage>> {
    let root = SqliteAdapter::open(dir.join("tokens.db")).expect("open");
    (0..NAMESPACES)
        .map(|n| Box::new(root.with_namespace(format!("ns-{n}"))) as Box<dyn TokenStorage>)
        .collect()
}

fn scaling(c: &mut Criterion, name: &str, open: Open) {
    // Under target/ rather than /tmp, which may be tmpfs where fsync costs nothing.
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for size in [10, 1_000, 100_000] {
        let dir = tempfile::tempdir_in(&base).expect("temporary directory");
        let handles = open(dir.path());
        for (n, handle) in handles.iter().enumerate() {
            let batch: BTreeMap<String, TokenData> = (0..size / NAMESPACES)
                .map(|i| entry(n, i))
                .map(|d| (d.resource_server.clone(), d))
                .collect();
            handle.store_token_data(&batch).expect("fill");
        }
        let one = entry(0, 0);
        let batch: BTreeMap<String, TokenData> =
            [(one.resource_server.clone(), one.clone())].into();
        group.bench_with_input(BenchmarkId::new("store_one", size), &size, |b, _| {
            b.iter(|| {
                handles[0]
                    .store_token_data(black_box(&batch))
                    .expect("store")
            })
        });
        group.bench_with_input(BenchmarkId::new("get_just_written", size), &size, |b, _| {
            b.iter_batched(
                || handles[0].store_token_data(&batch).expect("store"),
                |()| {
                    handles[0]
                        .get_token_data(black_box(&one.resource_server))
                        .expect("get")
                },
                criterion::BatchSize::PerIteration,
            )
        });
        std::thread::sleep(Duration::from_secs(3)); // let the file settle for the read caches
        group.bench_with_input(BenchmarkId::new("get_settled", size), &size, |b, _| {
            b.iter(|| {
                handles[0]
                    .get_token_data(black_box(&one.resource_server))
                    .expect("get")
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    scaling(c, "json_v2_scaling", json);
    scaling(c, "sqlite_scaling", sqlite);
}

criterion_group!(scaling_benches, benches);
criterion_main!(scaling_benches);
