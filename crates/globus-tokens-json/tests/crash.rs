//! Writers killed with SIGKILL hundreds of times: the file always parses, holds whole writes
//! only, and the lock is never left held.

use std::path::Path;

use globus_tokens_core::TokenStorage;
use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};
use globus_tokens_testkit::crash::killed_writers;

fn v1(path: &Path) -> Box<dyn TokenStorage> {
    Box::new(SimpleJsonFileAdapter::new(path))
}

fn v2(path: &Path) -> Box<dyn TokenStorage> {
    Box::new(JsonTokenStorage::new(path))
}

/// Beyond our own reader: the bytes are JSON, and no temporary file piles up.
fn parses_as_json(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .unwrap_or_else(|err| panic!("{} is corrupt: {err}", path.display()));
    let leftovers = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert!(leftovers <= 2, "{leftovers} temporary files left behind");
}

#[test]
fn json_v1_writers_killed_at_random_points() {
    let stored = killed_writers(
        "json_v1_writers_killed_at_random_points",
        "tokens.json",
        v1,
        150,
        parses_as_json,
    );
    assert!(stored >= 25, "the writers hardly wrote: {stored}");
}

#[test]
fn json_v2_writers_killed_at_random_points() {
    let stored = killed_writers(
        "json_v2_writers_killed_at_random_points",
        "tokens.json",
        v2,
        150,
        parses_as_json,
    );
    assert!(stored >= 25, "the writers hardly wrote: {stored}");
}
