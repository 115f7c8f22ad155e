//! Property tests: parsing never panics, and token data survives both JSON layouts.

use globus_tokens_core::raw::pyjson;
use globus_tokens_core::{TokenData, TokenDataLayout, TokenResponse};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn token_data() -> impl Strategy<Value = TokenData> {
    (
        "\\PC{0,20}",
        "\\PC{0,40}",
        "\\PC{1,30}",
        proptest::option::of("\\PC{0,30}"),
        any::<i64>(),
        proptest::option::of("[A-Za-z]{0,8}"),
        proptest::option::of("[0-9a-f-]{0,36}"),
        proptest::collection::btree_map("x_[a-z]{1,6}", any::<i32>(), 0..4),
    )
        .prop_map(
            |(rs, scope, at, rt, expires, token_type, identity, extra)| {
                let mut data = TokenData::new(rs, scope, at, expires);
                data.refresh_token = rt.map(Into::into);
                data.token_type = token_type;
                data.identity_id = identity;
                data.extra = extra
                    .into_iter()
                    .map(|(k, v)| (k, Value::from(v)))
                    .collect::<Map<_, _>>();
                data
            },
        )
}

proptest! {
    #[test]
    fn token_responses_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = TokenResponse::from_json_at(&bytes, 0);
    }

    #[test]
    fn token_responses_from_arbitrary_json_never_panic(text in "[\\[\\]{}\":, a-z0-9_.-]{0,200}") {
        let _ = TokenResponse::from_json_at(text.as_bytes(), 0);
    }

    #[test]
    fn token_data_round_trips_through_both_layouts(data in token_data()) {
        for layout in [TokenDataLayout::Legacy, TokenDataLayout::V2] {
            let object = data.to_json_object(layout);
            // Through Python-style JSON text and back, as a store does.
            let text = pyjson::to_vec(&Value::Object(object)).unwrap();
            prop_assert!(text.is_ascii());
            let parsed: Value = serde_json::from_slice(&text).unwrap();
            let back = TokenData::from_json_value(&parsed, &data.resource_server, "test").unwrap();
            prop_assert_eq!(&back, &data);
        }
    }
}

/// The checked-in corpus: real response shapes and known-awkward inputs.
fn corpus() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/token-response");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

#[test]
fn every_corpus_input_parses_or_fails_cleanly() {
    let corpus = corpus();
    assert!(corpus.len() >= 10);
    for input in corpus {
        let _ = TokenResponse::from_json_at(&input, 0);
    }
}

proptest! {
    /// Mutations of the corpus (bytes replaced, inserted, removed, truncated) never panic.
    #[test]
    fn mutated_corpus_inputs_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let corpus = corpus();
        let mut input = corpus[pick.index(corpus.len())].clone();
        for (at, byte, kind) in edits {
            if input.is_empty() {
                input.push(byte);
                continue;
            }
            let at = at.index(input.len());
            match kind {
                0 => input[at] = byte,
                1 => input.insert(at, byte),
                2 => { input.remove(at); }
                _ => input.truncate(at),
            }
        }
        let _ = TokenResponse::from_json_at(&input, 0);
    }
}
