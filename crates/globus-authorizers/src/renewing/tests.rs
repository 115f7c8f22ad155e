use super::*;
use globus_tokens_core::ManualClock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::Duration;

/// A token source answering from a script, counting calls.
struct Scripted {
    calls: AtomicUsize,
    delay: Duration,
    reply: Box<dyn Fn(usize) -> Result<TokenResponse> + Send + Sync>,
    rotated: Mutex<Option<Secret>>,
}

impl Scripted {
    fn new(reply: impl Fn(usize) -> Result<TokenResponse> + Send + Sync + 'static) -> Self {
        Scripted {
            calls: AtomicUsize::new(0),
            delay: Duration::ZERO,
            reply: Box::new(reply),
            rotated: Mutex::new(None),
        }
    }
}

impl TokenSource for Scripted {
    fn fetch(&self) -> Result<TokenResponse> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        (self.reply)(call)
    }
    fn context(&self) -> String {
        "scopes \"s1 s2\"".to_owned()
    }
    fn accept(&self, token: &TokenData) {
        *self.rotated.lock().unwrap() = token.refresh_token.clone();
    }
}

fn response(body: &str, at: i64) -> TokenResponse {
    TokenResponse::from_json_at(body.as_bytes(), at).unwrap()
}

fn one_token(n: usize) -> Result<TokenResponse> {
    Ok(response(
        &format!(
            r#"{{"access_token": "AT-{n}", "scope": "s", "expires_in": 3600, "resource_server": "rs"}}"#
        ),
        1_000,
    ))
}

fn clock(now: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(now))
}

#[test]
fn seeds_need_both_token_and_expiry() {
    let only_token = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(0))
        .access_token("AT")
        .build();
    assert!(matches!(only_token, Err(AuthError::InvalidConfig(_))));
    let only_expiry = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(0))
        .expires_at(5)
        .build();
    assert!(matches!(only_expiry, Err(AuthError::InvalidConfig(_))));
}

#[test]
fn renews_60_seconds_before_expiry() {
    let clock = clock(1_000);
    let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock.clone())
        .access_token("AT-seed")
        .expires_at(1_061)
        .build()
        .unwrap();
    assert_eq!(
        auth.get_authorization_header().unwrap().as_deref(),
        Some("Bearer AT-seed")
    );
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 0);
    clock.set(1_001); // now + 60 >= expires_at: stale
    assert_eq!(
        auth.get_authorization_header().unwrap().as_deref(),
        Some("Bearer AT-0")
    );
    assert_eq!(auth.expires_at(), Some(4_600));
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
}

#[test]
fn ensure_valid_token_renews_only_when_missing_or_near_expiry() {
    let clock = clock(1_000);
    let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock.clone())
        .access_token("AT-seed")
        .expires_at(2_000)
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-seed");
    }
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 0);
    clock.set(2_000 - EXPIRES_ADJUST_SECONDS - 1);
    assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-seed");
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 0);
    clock.set(2_000 - EXPIRES_ADJUST_SECONDS);
    assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-0");
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
    // The renewed token (expires 1_000 + 3600) is used until near its own expiry.
    assert_eq!(auth.ensure_valid_token().unwrap().expose(), "AT-0");
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);

    let empty = RenewingAuthorizer::with_source(Scripted::new(one_token), clock.clone())
        .build()
        .unwrap();
    assert_eq!(empty.ensure_valid_token().unwrap().expose(), "AT-0");
    assert_eq!(empty.ensure_valid_token().unwrap().expose(), "AT-0");
    assert_eq!(empty.source().calls.load(Ordering::SeqCst), 1);
}

#[test]
fn renew_now_always_renews() {
    let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
        .access_token("AT-seed")
        .expires_at(9_999)
        .build()
        .unwrap();
    assert_eq!(auth.renew_now().unwrap().expose(), "AT-0");
    assert_eq!(auth.renew_now().unwrap().expose(), "AT-1");
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
}

#[test]
fn without_seed_first_header_renews_and_401_forces_renewal() {
    let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
        .build()
        .unwrap();
    assert_eq!(
        auth.get_authorization_header().unwrap().as_deref(),
        Some("Bearer AT-0")
    );
    assert_eq!(
        auth.get_authorization_header().unwrap().as_deref(),
        Some("Bearer AT-0")
    );
    assert!(auth.handle_missing_authorization());
    assert_eq!(auth.access_token(), None);
    assert_eq!(
        auth.get_authorization_header().unwrap().as_deref(),
        Some("Bearer AT-1")
    );
}

#[test]
fn response_with_two_resource_servers_is_an_error_naming_the_scopes() {
    let source = Scripted::new(|_| {
        Ok(response(
            r#"{"access_token": "A", "scope": "s1", "resource_server": "rs1",
                "other_tokens": [{"access_token": "B", "scope": "s2", "resource_server": "rs2"}]}"#,
            0,
        ))
    });
    let auth = RenewingAuthorizer::with_source(source, clock(0))
        .build()
        .unwrap();
    let err = auth.get_authorization_header().unwrap_err();
    assert!(matches!(&err, AuthError::UnexpectedResourceServers { found, .. } if found.len() == 2));
    let text = err.to_string();
    assert!(
        text.contains("s1 s2") && text.contains("rs1, rs2"),
        "{text}"
    );
    assert!(!text.contains("\"A\"") && !format!("{err:?}").contains("\"B\""));
}

#[test]
fn on_refresh_runs_after_the_state_is_updated() {
    let slot: Arc<OnceLock<std::sync::Weak<RenewingAuthorizer<Scripted>>>> = Arc::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (slot2, seen2) = (slot.clone(), seen.clone());
    let auth = Arc::new(
        RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
            .on_refresh(move |response| {
                let auth = slot2.get().unwrap().upgrade().unwrap();
                let current = auth.access_token().unwrap();
                let in_response = response.grants()[0].access_token.clone();
                seen2.lock().unwrap().push(current == in_response);
                Ok(())
            })
            .build()
            .unwrap(),
    );
    slot.set(Arc::downgrade(&auth)).unwrap();
    auth.get_authorization_header().unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![true]);
}

#[test]
fn callback_error_is_reported_and_new_token_kept() {
    let auth = RenewingAuthorizer::with_source(Scripted::new(one_token), clock(1_000))
        .on_refresh(|_| Err("disk full".into()))
        .build()
        .unwrap();
    let err = auth.get_authorization_header().unwrap_err();
    assert!(matches!(&err, AuthError::OnRefresh { message, .. } if message == "disk full"));
    assert_eq!(
        auth.get_authorization_header().unwrap().as_deref(),
        Some("Bearer AT-0")
    );
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
}

#[test]
fn rotated_refresh_token_replaces_the_old_and_absent_one_keeps_it() {
    let client = Arc::new(
        AuthClient::builder("client")
            .base_url("http://127.0.0.1:9/")
            .build()
            .unwrap(),
    );
    let auth = RefreshTokenAuthorizer::builder("RT-original", client)
        .build()
        .unwrap();
    let without = TokenData::new("rs", "s", "AT-1", 10);
    auth.source().accept(&without);
    assert_eq!(auth.refresh_token().expose(), "RT-original");
    auth.source()
        .accept(&without.clone().with_refresh_token("RT-rotated"));
    assert_eq!(auth.refresh_token().expose(), "RT-rotated");
    assert!(!format!("{auth:?}").contains("RT-rotated"));
}

#[test]
fn many_threads_one_stale_token_one_request() {
    let mut source = Scripted::new(one_token);
    source.delay = Duration::from_millis(100);
    let auth = RenewingAuthorizer::with_source(source, clock(1_000))
        .build()
        .unwrap();
    let barrier = Barrier::new(32);
    std::thread::scope(|scope| {
        for _ in 0..32 {
            scope.spawn(|| {
                barrier.wait();
                assert_eq!(
                    auth.get_authorization_header().unwrap().as_deref(),
                    Some("Bearer AT-0")
                );
            });
        }
    });
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 1);
}

#[test]
fn failed_renewal_is_shared_by_all_waiters() {
    let mut source = Scripted::new(|_| {
        Err(AuthError::LoginRequired {
            resource_server: None,
            reason: "invalid_grant".into(),
        })
    });
    source.delay = Duration::from_millis(200);
    let auth = RenewingAuthorizer::with_source(source, clock(1_000))
        .build()
        .unwrap();
    let barrier = Barrier::new(16);
    let failures = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                barrier.wait();
                if auth
                    .get_authorization_header()
                    .unwrap_err()
                    .is_login_required()
                {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(failures.load(Ordering::SeqCst), 16);
    assert_eq!(
        auth.source().calls.load(Ordering::SeqCst),
        1,
        "waiters must not retry"
    );
}

/// Spin until `ready` holds; the states waited for here are reached within microseconds.
fn until(ready: impl Fn() -> bool) {
    while !ready() {
        std::thread::yield_now();
    }
}

#[test]
fn a_panicking_renewal_hands_over_to_one_waiter() {
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let source = Scripted::new(move |n| {
        if n == 0 {
            // Hold the first renewal until every waiter is in place, then fail it by panicking.
            let _ = gate.lock().unwrap().recv();
            panic!("boom");
        }
        one_token(n)
    });
    let auth = Arc::new(
        RenewingAuthorizer::with_source(source, clock(1_000))
            .build()
            .unwrap(),
    );
    // Each caller reports over a channel, so a waiter never woken fails the test, not hangs it.
    let (report, reports) = std::sync::mpsc::channel();
    let call = |name: &'static str| {
        let (auth, report) = (Arc::clone(&auth), report.clone());
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                auth.get_authorization_header()
            }));
            let _ = report.send((
                name,
                outcome.map(|header| header.map_err(|e| e.to_string())),
            ));
        })
    };
    call("first");
    until(|| auth.source().calls.load(Ordering::SeqCst) == 1);
    for _ in 0..4 {
        call("waiter");
    }
    until(|| auth.flights.waiting() == 4);
    open.send(()).unwrap();
    for _ in 0..5 {
        let (name, outcome) = reports
            .recv_timeout(Duration::from_secs(60))
            .expect("every caller returns");
        match name {
            "first" => assert!(outcome.is_err(), "the first caller panicked"),
            _ => assert_eq!(
                outcome.unwrap().unwrap().as_deref(),
                Some("Bearer AT-1"),
                "each waiter got the token of the one that took over"
            ),
        }
    }
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        auth.get_authorization_header().unwrap().as_deref(),
        Some("Bearer AT-1")
    );
    assert_eq!(auth.source().calls.load(Ordering::SeqCst), 2);
}
