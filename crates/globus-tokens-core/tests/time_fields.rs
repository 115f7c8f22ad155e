//! Every time field, at any integer value, parses and computes without a panic or a wrap:
//! stores and servers can hold anything (issue 10 item 11).

use globus_tokens_core::{TokenData, TokenResponse};
use proptest::prelude::*;
use serde_json::json;

/// Integers near the edges of i64 and of the clock, where arithmetic overflows.
fn extreme() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MIN + 1),
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(0),
        Just(-1),
        (-1_000i64..1_000).prop_map(|d| i64::MIN + 1_700_000_000 + d),
        (-1_000i64..1_000).prop_map(|d| i64::MAX - 1_700_000_000 + d),
        any::<i64>(),
    ]
}

fn clamp(value: i128) -> i64 {
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

proptest! {
    #[test]
    fn stored_expiry_parses_and_saturates(expires_at in extreme(), now in extreme(), leeway in extreme()) {
        let object = json!({"scope": "s", "access_token": "AT", "expires_at_seconds": expires_at,
                            "resource_server": "rs"});
        let data = TokenData::from_json_value(&object, "rs", "test").unwrap();
        prop_assert_eq!(data.expires_at_seconds, expires_at);
        prop_assert_eq!(
            data.expires_in_seconds_at(now),
            clamp(i128::from(expires_at) - i128::from(now))
        );
        let expired = data.is_expired_at(now, leeway);
        prop_assert_eq!(expired, clamp(i128::from(now) + i128::from(leeway)) >= expires_at);
    }

    #[test]
    fn response_lifetimes_parse_and_saturate(expires_in in extreme(), received_at in extreme(), now in extreme()) {
        let body = json!({"access_token": "AT", "scope": "s", "resource_server": "rs",
                          "token_type": "Bearer", "expires_in": expires_in});
        let response = TokenResponse::from_value_at(&body, received_at).unwrap();
        let data = response.by_resource_server().remove("rs").unwrap();
        prop_assert_eq!(
            data.expires_at_seconds,
            clamp(i128::from(received_at) + i128::from(expires_in))
        );
        let _ = data.expires_in_seconds_at(now);
        let again = TokenResponse::from_token_data([data.clone()], now);
        prop_assert_eq!(
            again.grants()[0].expires_in,
            clamp(i128::from(data.expires_at_seconds) - i128::from(now))
        );
    }

    #[test]
    fn huge_floats_are_typed_errors(value in prop_oneof![Just(1e19f64), Just(-1e19f64), Just(f64::MAX), Just(-9.3e18f64)]) {
        let object = json!({"scope": "s", "access_token": "AT", "expires_at_seconds": value});
        prop_assert!(TokenData::from_json_value(&object, "rs", "test").is_err());
        let body = json!({"access_token": "AT", "resource_server": "rs", "expires_in": value});
        prop_assert!(TokenResponse::from_value_at(&body, 0).is_err());
    }
}
