//! Property tests: parsing never panics, and token data survives both JSON layouts.

use globus_tokens_core::{TokenData, TokenDataLayout, TokenResponse, pyjson};
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
