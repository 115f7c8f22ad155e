//! Eight processes storing 50 distinct resource servers each into one file, while this process
//! reads it throughout: nothing is lost and no read ever sees a partial file.
//!
//! The testkit re-runs each test in child processes as the writers, so the test names here
//! must stay as they are (they are passed to the harness with `--exact`).

use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};
use globus_tokens_testkit::multiprocess::concurrent_writers;

#[test]
fn simple_json_file_adapter() {
    concurrent_writers("simple_json_file_adapter", "tokens.json", |path| {
        Box::new(SimpleJsonFileAdapter::new(path))
    });
}

#[test]
fn json_token_storage() {
    concurrent_writers("json_token_storage", "tokens.json", |path| {
        Box::new(JsonTokenStorage::new(path))
    });
}
