//! One writer of the shared-store comparison in `scripts/bench-vs-python`: stores COUNT
//! distinct resource servers, one `store` call each, into a store other processes write too.
//!
//! ```text
//! shared-writer json1|sqlite PATH WRITER COUNT
//! ```
//!
//! Prints one JSON line: `{"lang": "rust", "writer": W, "failed": N}` (operations that failed).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use globus_tokens::{SimpleJsonFileAdapter, SqliteAdapter, TokenData, TokenStorage};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [backend, path, writer, count] = args.as_slice() else {
        eprintln!("usage: shared-writer json1|sqlite PATH WRITER COUNT");
        return ExitCode::from(2);
    };
    let (Ok(writer), Ok(count)) = (writer.parse::<usize>(), count.parse::<usize>()) else {
        eprintln!("shared-writer: WRITER and COUNT must be numbers");
        return ExitCode::from(2);
    };
    let store: Box<dyn TokenStorage> = match backend.as_str() {
        "json1" => Box::new(SimpleJsonFileAdapter::new(path)),
        "sqlite" => match SqliteAdapter::open(path) {
            Ok(store) => Box::new(store),
            Err(err) => {
                eprintln!("shared-writer: {err}");
                println!(
                    "{}",
                    serde_json::json!({"lang": "rust", "writer": writer, "failed": count})
                );
                return ExitCode::SUCCESS;
            }
        },
        other => {
            eprintln!("shared-writer: unknown backend {other}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    for index in 0..count {
        let resource_server = format!("rs-{writer}-{index}.example.org");
        let data = TokenData::new(
            resource_server.as_str(),
            "scope",
            format!("AT-{writer}-{index}"),
            2_000_000_000,
        );
        if let Err(err) = store.store_token_data(&[(resource_server, data)].into()) {
            eprintln!("shared-writer {writer}: {err}");
            failed += 1;
        }
    }
    println!(
        "{}",
        serde_json::json!({"lang": "rust", "writer": writer, "failed": failed})
    );
    ExitCode::SUCCESS
}
