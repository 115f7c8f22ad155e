//! The async authorizer's events (renewal started, shared, abandoned, failed, renewed) on a
//! `current_thread` runtime, recorded by a global subscriber: each is there, none shows a token,
//! nor does `Debug`. The only test of this binary, so the global subscriber sees only it.

#![cfg(feature = "async")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use globus_authorizers::{
    AsyncGlobusAuthorizer, AsyncRenewingAuthorizer, AsyncTokenSource, AuthError, BoxFuture, Result,
};
use globus_tokens_core::{ManualClock, TokenResponse};

/// Renewal 0 panics, 1 is refused, later ones answer `AT-SECRET-<n>`.
struct Script(AtomicUsize);

impl AsyncTokenSource for Script {
    fn fetch(&self) -> BoxFuture<'_, Result<TokenResponse>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            match n {
                0 => panic!("a bug in the token source"),
                1 => Err(AuthError::LoginRequired {
                    resource_server: None,
                    reason: "invalid_grant".into(),
                }),
                _ => {
                    let body = format!(
                        r#"{{"access_token": "AT-SECRET-{n}", "scope": "s", "expires_in": 3600, "resource_server": "rs"}}"#
                    );
                    Ok(TokenResponse::from_json_at(body.as_bytes(), 1_000).unwrap())
                }
            }
        })
    }

    fn context(&self) -> String {
        "scopes \"s1 s2\"".to_owned()
    }
}

#[test]
fn renewal_events_and_debug_never_show_a_token() {
    let events = common::record_globally();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let auth = Arc::new(
            AsyncRenewingAuthorizer::with_source(
                Script(AtomicUsize::new(0)),
                Arc::new(ManualClock::new(1_000)),
            )
            .access_token("AT-SECRET-stale")
            .expires_at(1_000)
            .build()
            .unwrap(),
        );
        let task = |auth: &Arc<AsyncRenewingAuthorizer<Script>>| {
            let auth = Arc::clone(auth);
            tokio::spawn(async move { auth.get_authorization_header().await })
        };
        // Abandoned (the panic reaches the caller that started it), then refused (shared
        // with a waiter), then renewed (shared with a waiter).
        assert!(task(&auth).await.unwrap_err().is_panic());
        for expected_ok in [false, true] {
            let (first, second) = (task(&auth), task(&auth));
            let (first, second) = (first.await.unwrap(), second.await.unwrap());
            assert_eq!((first.is_ok(), second.is_ok()), (expected_ok, expected_ok));
        }
        let debug = format!("{auth:?}");
        assert!(
            debug.contains("expires_at") && !debug.contains("AT-SECRET"),
            "{debug}"
        );
    });
    let events = events.lock().unwrap().clone();
    for message in [
        "renewing access token",
        "token renewal abandoned",
        "token renewal failed",
        "renewed access token",
        "shared the result of another caller's renewal",
    ] {
        assert!(
            events.iter().any(|e| e.message().contains(message)),
            "no {message:?} in {events:#?}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e.field("token") == Some(r#"scopes "s1 s2""#))
    );
    common::assert_no_secret_in_events(&events, &["AT-SECRET"]);
}
