//! The Rust half of the renewal-storm comparison in `scripts/bench-vs-python`: THREADS threads
//! ask one `RefreshTokenAuthorizer` holding a stale token for a header at the same moment.
//!
//! ```text
//! bench-renewal BASE_URL CLIENT_ID REFRESH_TOKEN THREADS
//! ```
//!
//! Prints one JSON line: `{"lang": "rust", "threads": N, "failed": N, "distinct_tokens": N}`.
//! The token requests made are counted by the server (`fake-globus-auth`'s `stats`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::{Arc, Barrier, Mutex};

use globus_tokens::authorizers::{AuthClient, GlobusAuthorizer, RefreshTokenAuthorizer};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base_url, client_id, refresh_token, threads] = args.as_slice() else {
        eprintln!("usage: bench-renewal BASE_URL CLIENT_ID REFRESH_TOKEN THREADS");
        return ExitCode::from(2);
    };
    let Ok(threads) = threads.parse::<usize>() else {
        eprintln!("bench-renewal: THREADS must be a number");
        return ExitCode::from(2);
    };
    let client = match AuthClient::builder(client_id.as_str())
        .base_url(base_url.as_str())
        .build()
    {
        Ok(client) => Arc::new(client),
        Err(err) => {
            eprintln!("bench-renewal: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Expired a while ago: every thread finds it stale.
    let authorizer = match RefreshTokenAuthorizer::builder(refresh_token.as_str(), client)
        .access_token("AT-stale")
        .expires_at(0)
        .build()
    {
        Ok(authorizer) => authorizer,
        Err(err) => {
            eprintln!("bench-renewal: {err}");
            return ExitCode::FAILURE;
        }
    };
    let barrier = Barrier::new(threads);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                let outcome = authorizer.get_authorization_header();
                outcomes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(outcome);
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    let failed = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    let distinct: BTreeSet<_> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().ok())
        .collect();
    println!(
        "{}",
        serde_json::json!({"lang": "rust", "threads": threads, "failed": failed, "distinct_tokens": distinct.len()})
    );
    ExitCode::SUCCESS
}
