//! Progress as `tracing` events: each retry with its reason and delay, renewals started and
//! finished; never a credential in an event.

mod common;

use std::sync::Arc;
use std::time::Duration;

use globus_authorizers::{AuthClient, RefreshTokenAuthorizer, RetryPolicy};
use globus_tokens_core::Secret;
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};
use tracing::Level;

const NATIVE: &str = "native-client";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn client(server: &FakeAuthServer, max_retries: u32) -> AuthClient {
    AuthClient::builder(NATIVE)
        .base_url(server.base_url())
        .retry(RetryPolicy {
            max_retries,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
        })
        // The top of each jitter range: waits double exactly.
        .backoff_random(|| 1.0)
        .build()
        .unwrap()
}

#[test]
fn each_retry_is_an_event_with_reason_and_delay() {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    server.fail_next([
        Failure::ServerError,
        Failure::TooManyRequests {
            retry_after_seconds: 0,
        },
        Failure::TcpReset,
        Failure::ServerError,
    ]);
    let (result, events) = common::record(|| {
        client(&server, 5).oauth2_refresh_token(&Secret::new(refresh_token.clone()))
    });
    let response = result.unwrap();
    let retries: Vec<_> = events
        .iter()
        .filter(|e| e.message().contains("retrying"))
        .collect();
    assert_eq!(retries.len(), 4, "{events:#?}");
    assert!(retries.iter().all(|e| e.level == Level::INFO));
    let delays: Vec<&str> = retries
        .iter()
        .map(|e| e.field("delay_ms").unwrap())
        .collect();
    // Backoff 10, (Retry-After: 0), 20, 40 ms: Retry-After does not advance the backoff.
    assert_eq!(delays, ["10", "0", "20", "40"]);
    let reasons: Vec<&str> = retries.iter().map(|e| e.field("reason").unwrap()).collect();
    assert!(reasons[0].contains("HTTP 500"), "{reasons:?}");
    assert!(reasons[1].contains("HTTP 429"), "{reasons:?}");
    assert!(reasons[2].contains("connection reset"), "{reasons:?}");
    assert_eq!(
        retries
            .iter()
            .map(|e| e.field("attempt").unwrap())
            .collect::<Vec<_>>(),
        ["1", "2", "3", "4"]
    );
    let secrets: Vec<String> = response
        .grants()
        .iter()
        .flat_map(|g| {
            [
                Some(g.access_token.expose().to_owned()),
                g.refresh_token.as_ref().map(|t| t.expose().to_owned()),
            ]
        })
        .flatten()
        .chain([refresh_token])
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    common::assert_no_secret_in_events(&events, &secrets);
}

#[test]
fn giving_up_is_an_event_and_the_error_says_so() {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.fail_next(std::iter::repeat_n(Failure::ServerError, 3));
    let (result, events) =
        common::record(|| client(&server, 2).oauth2_refresh_token(&Secret::new("RT-sekrit")));
    let err = result.unwrap_err();
    assert!(
        err.to_string().starts_with("gave up after 3 attempts"),
        "{err}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.level == Level::INFO && e.message().contains("giving up")),
        "{events:#?}"
    );
    common::assert_no_secret_in_events(&events, &["RT-sekrit"]);
}

#[test]
fn renewals_started_and_finished_are_events() {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    let authorizer =
        RefreshTokenAuthorizer::builder(refresh_token.clone(), Arc::new(client(&server, 0)))
            .resource_server(TRANSFER)
            .build()
            .unwrap();
    let (token, events) = common::record(|| authorizer.ensure_valid_token().unwrap());
    let messages: Vec<&str> = events.iter().map(|e| e.message()).collect();
    assert!(messages.contains(&"renewing access token"), "{messages:?}");
    assert!(messages.contains(&"renewed access token"), "{messages:?}");
    let started = events
        .iter()
        .find(|e| e.message() == "renewing access token")
        .unwrap();
    assert!(started.field("token").unwrap().contains(TRANSFER));
    let rotated = authorizer.refresh_token();
    common::assert_no_secret_in_events(
        &events,
        &[token.expose(), refresh_token.as_str(), rotated.expose()],
    );

    server.revoke_token(rotated.expose());
    let (result, events) = common::record(|| authorizer.renew_now());
    assert!(result.unwrap_err().is_login_required());
    assert!(
        events.iter().any(|e| e.message() == "token renewal failed"),
        "{events:#?}"
    );
}
