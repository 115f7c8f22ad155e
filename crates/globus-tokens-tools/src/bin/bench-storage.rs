//! The Rust half of `scripts/bench-vs-python`: the same workload as
//! `scripts/python/bench_tokenstorage.py`, through globus-tokens.
//!
//! ```text
//! bench-storage DIR [--backend json1|sqlite|all] [--warmup N] [--store-samples N]
//!                   [--get-samples N] [--get-batch N]
//! ```
//!
//! For each backend, in a fresh file under DIR: store the 3-resource-server token response
//! (`crates/globus-tokens-tools/data/response-authorization-code.json`) repeatedly, then read one resource
//! server back repeatedly. Each sample times one store, or `--get-batch` gets; the median
//! over samples, in nanoseconds per operation, is printed as one JSON line per measurement:
//! `{"lang": "rust", "backend": "sqlite", "op": "get", "median_ns": 1234.5, ...}`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use globus_tokens::SimpleJsonFileAdapter;
use globus_tokens::SqliteAdapter;
use globus_tokens::{TokenResponse, TokenStorage};

const RESPONSE: &[u8] = include_bytes!("../../data/response-authorization-code.json");
const GET_RS: &str = "transfer.api.globus.org";

struct Options {
    dir: PathBuf,
    backends: Vec<&'static str>,
    warmup: usize,
    store_samples: usize,
    get_samples: usize,
    get_batch: usize,
    settle_seconds: f64,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        dir: PathBuf::new(),
        backends: vec!["json1", "sqlite"],
        warmup: 20,
        store_samples: 200,
        get_samples: 200,
        get_batch: 20,
        settle_seconds: 3.0,
    };
    let mut dir = None;
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|value| value.parse().ok())
                .filter(|&n: &usize| n > 0)
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "--backend" => {
                options.backends = match args.next().as_deref() {
                    Some("json1") => vec!["json1"],
                    Some("sqlite") => vec!["sqlite"],
                    Some("all") => vec!["json1", "sqlite"],
                    _ => return Err("--backend takes json1, sqlite or all".to_owned()),
                }
            }
            "--warmup" => options.warmup = number("--warmup")?,
            "--store-samples" => options.store_samples = number("--store-samples")?,
            "--get-samples" => options.get_samples = number("--get-samples")?,
            "--get-batch" => options.get_batch = number("--get-batch")?,
            "--settle-seconds" => {
                options.settle_seconds = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .filter(|&n: &f64| n >= 0.0)
                    .ok_or("--settle-seconds needs a number of seconds")?
            }
            other if !other.starts_with('-') && dir.is_none() => dir = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    options.dir = dir.ok_or("missing DIR")?;
    Ok(options)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    }
}

fn report(backend: &str, op: &str, samples: Vec<f64>, ops_per_sample: usize) {
    let count = samples.len();
    let line = serde_json::json!({
        "lang": "rust",
        "backend": backend,
        "op": op,
        "median_ns": median(samples),
        "samples": count,
        "ops_per_sample": ops_per_sample,
    });
    println!("{line}");
}

fn run(
    backend: &str,
    store: &dyn TokenStorage,
    options: &Options,
) -> Result<(), Box<dyn std::error::Error>> {
    let response = TokenResponse::from_json(RESPONSE)?;

    for _ in 0..options.warmup {
        store.store(&response)?;
    }
    let mut samples = Vec::with_capacity(options.store_samples);
    for _ in 0..options.store_samples {
        let start = Instant::now();
        store.store(black_box(&response))?;
        samples.push(start.elapsed().as_nanos() as f64);
    }
    report(backend, "store", samples, 1);

    // "get_fresh": right after the stores; "get": once the file has been left alone for a few
    // seconds, the steady state of a token file (read far more often than written).
    for op in ["get_fresh", "get"] {
        if op == "get" {
            std::thread::sleep(std::time::Duration::from_secs_f64(options.settle_seconds));
        }
        for _ in 0..options.warmup * options.get_batch {
            black_box(store.get_token_data(GET_RS)?);
        }
        let mut samples = Vec::with_capacity(options.get_samples);
        for _ in 0..options.get_samples {
            let start = Instant::now();
            for _ in 0..options.get_batch {
                let data = store.get_token_data(black_box(GET_RS))?;
                if data.is_none() {
                    return Err(format!("{backend}: {GET_RS} missing after store").into());
                }
                black_box(data);
            }
            samples.push(start.elapsed().as_nanos() as f64 / options.get_batch as f64);
        }
        report(backend, op, samples, options.get_batch);
    }
    Ok(())
}

fn open(backend: &str, dir: &Path) -> Result<Box<dyn TokenStorage>, Box<dyn std::error::Error>> {
    Ok(match backend {
        "json1" => Box::new(SimpleJsonFileAdapter::new(dir.join("bench-v1.json"))),
        _ => Box::new(SqliteAdapter::open(dir.join("bench.db"))?),
    })
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench-storage: {message}");
            eprintln!(
                "usage: bench-storage DIR [--backend json1|sqlite|all] [--warmup N] \
                 [--store-samples N] [--get-samples N] [--get-batch N] [--settle-seconds S]"
            );
            return ExitCode::from(2);
        }
    };
    for backend in &options.backends {
        let result = open(backend, &options.dir).and_then(|store| run(backend, &*store, &options));
        if let Err(err) = result {
            eprintln!("bench-storage: {backend}: {err}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
