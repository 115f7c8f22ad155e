//! The async authorizers: single-flight on one thread, cancellation, shared failures, secrets.
//!
//! Every test runs on a current-thread runtime with paused time (a scripted reply "takes"
//! 100 ms of virtual time without real waiting) inside a watchdog thread: a driver that blocked
//! the runtime's only thread fails the test instead of hanging it, and every await is under a
//! timeout so a waiter never woken fails too.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use globus_tokens_core::{ManualClock, TokenData, TokenResponse};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{AsyncGlobusAuthorizer, AsyncRenewingAuthorizer, AsyncTokenSource, BoxFuture};
use crate::authorizer::{AccessTokenAuthorizer, BasicAuthorizer, NullAuthorizer};
use crate::error::{AuthError, Result};

type Reply = BoxFuture<'static, Result<TokenResponse>>;

/// A token source answering from a script, counting calls.
struct Scripted {
    calls: AtomicUsize,
    reply: Box<dyn Fn(usize) -> Reply + Send + Sync>,
    accepted: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        Scripted {
            calls: AtomicUsize::new(0),
            reply: Box::new(reply),
            accepted: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl AsyncTokenSource for Scripted {
    fn fetch(&self) -> BoxFuture<'_, Result<TokenResponse>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        (self.reply)(call)
    }
    fn context(&self) -> String {
        "scopes \"s1 s2\"".to_owned()
    }
    fn accept(&self, token: &TokenData) {
        self.accepted
            .lock()
            .unwrap()
            .push(token.resource_server.clone());
    }
}

fn one_token(n: usize) -> Result<TokenResponse> {
    let body = format!(
        r#"{{"access_token": "AT-{n}", "scope": "s", "expires_in": 3600, "resource_server": "rs"}}"#
    );
    Ok(TokenResponse::from_json_at(body.as_bytes(), 1_000).unwrap())
}

fn login_required() -> AuthError {
    AuthError::LoginRequired {
        resource_server: None,
        reason: "invalid_grant".into(),
    }
}

/// The reply after `delay` (virtual time).
fn after(delay: Duration, reply: Result<TokenResponse>) -> Reply {
    Box::pin(async move {
        tokio::time::sleep(delay).await;
        reply
    })
}

const RENEWAL: Duration = Duration::from_millis(100);

/// An authorizer whose seeded token is already stale at the clock's time.
fn stale(source: Scripted) -> Arc<AsyncRenewingAuthorizer<Scripted>> {
    Arc::new(
        AsyncRenewingAuthorizer::with_source(source, Arc::new(ManualClock::new(1_000)))
            .access_token("AT-stale")
            .expires_at(1_000)
            .build()
            .unwrap(),
    )
}

/// Run `test` on a current-thread runtime with paused time; fail if it does not end.
fn run<F: Future<Output = ()> + 'static>(test: impl FnOnce() -> F + Send + 'static) {
    let (done, ended) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(test());
        let _ = done.send(());
    });
    match ended.recv_timeout(Duration::from_secs(120)) {
        Ok(()) => thread.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(thread.join().unwrap_err())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the runtime hung: something blocked its only thread")
        }
    }
}

/// Await `future`, failing the test if it is still pending after a (virtual) minute.
async fn guard<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("a waiter was never woken")
}

/// Yield to the runtime until `ready` holds.
async fn until(ready: impl Fn() -> bool) {
    guard(async {
        while !ready() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

fn header_task(
    auth: &Arc<AsyncRenewingAuthorizer<Scripted>>,
) -> tokio::task::JoinHandle<Result<Option<String>>> {
    let auth = Arc::clone(auth);
    tokio::spawn(async move { auth.get_authorization_header().await })
}

#[test]
fn ten_thousand_tasks_one_renewal_and_the_runtime_keeps_ticking() {
    run(|| async {
        let auth = stale(Scripted::new(|n| after(RENEWAL, one_token(n))));
        let ticks = Arc::new(Mutex::new(Vec::new()));
        let ticker = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(Duration::from_millis(10));
                loop {
                    interval.tick().await;
                    ticks.lock().unwrap().push(Instant::now());
                }
            })
        };
        let started = Instant::now();
        let tasks: Vec<_> = (0..10_000).map(|_| header_task(&auth)).collect();
        let mut failures = 0;
        for task in tasks {
            match guard(task).await.unwrap() {
                Ok(header) => assert_eq!(header.as_deref(), Some("Bearer AT-0")),
                Err(_) => failures += 1,
            }
        }
        let finished = Instant::now();
        ticker.abort();

        assert_eq!(failures, 0);
        assert_eq!(auth.source().calls(), 1, "one renewal for 10,000 tasks");
        assert_eq!(*auth.source().accepted.lock().unwrap(), ["rs"]);
        assert!(finished - started >= RENEWAL);
        // The waiters never held the thread: the ticker on the same runtime kept its pace
        // through the whole renewal (a blocked thread would have hung the runtime instead).
        let ticks = ticks.lock().unwrap().clone();
        let during = ticks
            .iter()
            .filter(|tick| (started..=finished).contains(tick))
            .count();
        assert!(during >= 10, "{during} ticks during a 100 ms renewal");
        let widest = ticks.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(widest <= Duration::from_millis(15), "a {widest:?} gap");
    });
}

#[test]
fn aborting_the_renewing_task_does_not_cancel_its_request() {
    run(|| async {
        let auth = stale(Scripted::new(|n| after(RENEWAL, one_token(n))));
        let renewing = header_task(&auth);
        until(|| auth.source().calls() == 1).await;
        let waiters: Vec<_> = (0..50).map(|_| header_task(&auth)).collect();
        until(|| auth.flights.waiting() == 50).await;

        // Mid-request: the request goes on in its own task and lands for the waiters (a
        // refresh token the server rotated in it is kept, not lost with the caller).
        renewing.abort();
        assert!(guard(renewing).await.unwrap_err().is_cancelled());
        for waiter in waiters {
            assert_eq!(
                guard(waiter).await.unwrap().unwrap().as_deref(),
                Some("Bearer AT-0")
            );
        }
        assert_eq!(auth.source().calls(), 1, "no second request");
        assert_eq!(auth.flights.waiting(), 0);
    });
}

#[test]
fn a_renewal_whose_caller_timed_out_still_lands() {
    run(|| async {
        let auth = stale(Scripted::new(|n| after(RENEWAL, one_token(n))));
        let timed_out = tokio::time::timeout(RENEWAL / 2, auth.get_authorization_header()).await;
        assert!(timed_out.is_err());
        let header = guard(auth.get_authorization_header()).await.unwrap();
        assert_eq!(header.as_deref(), Some("Bearer AT-0"));
        assert_eq!(auth.source().calls(), 1);
    });
}

/// A reply that panics after `delay` (a bug in a token source).
fn panics_after(delay: Duration) -> Reply {
    Box::pin(async move {
        tokio::time::sleep(delay).await;
        panic!("the token source failed")
    })
}

#[test]
fn a_panicking_renewal_hands_over_to_one_waiter() {
    run(|| async {
        let auth = stale(Scripted::new(|n| {
            if n == 0 {
                panics_after(RENEWAL)
            } else {
                after(RENEWAL, one_token(n))
            }
        }));
        let renewing = header_task(&auth);
        until(|| auth.source().calls() == 1).await;
        let waiters: Vec<_> = (0..50).map(|_| header_task(&auth)).collect();
        until(|| auth.flights.waiting() == 50).await;
        // The panic reaches the caller that started the renewal, as in the blocking authorizer.
        assert!(guard(renewing).await.unwrap_err().is_panic());
        for waiter in waiters {
            assert_eq!(
                guard(waiter).await.unwrap().unwrap().as_deref(),
                Some("Bearer AT-1")
            );
        }
        assert_eq!(
            auth.source().calls(),
            2,
            "one more request, not one per waiter"
        );
        assert_eq!(auth.flights.waiting(), 0);
    });
}

#[test]
fn a_waiter_dropped_while_waiting_does_not_disturb_the_others() {
    run(|| async {
        let gate = Arc::new(Notify::new());
        let reply_gate = Arc::clone(&gate);
        let auth = stale(Scripted::new(move |n| {
            let gate = Arc::clone(&reply_gate);
            Box::pin(async move {
                gate.notified().await;
                one_token(n)
            })
        }));
        let renewing = header_task(&auth);
        until(|| auth.source().calls() == 1).await;
        let mut waiters: Vec<_> = (0..3).map(|_| header_task(&auth)).collect();
        until(|| auth.flights.waiting() == 3).await;

        let dropped = waiters.remove(0);
        dropped.abort();
        assert!(guard(dropped).await.unwrap_err().is_cancelled());
        assert_eq!(auth.flights.waiting(), 2);
        gate.notify_one();
        for task in waiters.into_iter().chain([renewing]) {
            assert_eq!(
                guard(task).await.unwrap().unwrap().as_deref(),
                Some("Bearer AT-0")
            );
        }
        assert_eq!(auth.source().calls(), 1);
    });
}

#[test]
fn a_failed_renewal_is_shared_and_the_next_call_renews_again() {
    run(|| async {
        let auth = stale(Scripted::new(|n| {
            if n == 0 {
                after(RENEWAL, Err(login_required()))
            } else {
                after(RENEWAL, one_token(n))
            }
        }));
        let tasks: Vec<_> = (0..100).map(|_| header_task(&auth)).collect();
        for task in tasks {
            let err = guard(task).await.unwrap().unwrap_err();
            assert!(err.is_login_required(), "{err}");
        }
        assert_eq!(auth.source().calls(), 1, "waiters must not retry");

        let header = guard(auth.get_authorization_header()).await.unwrap();
        assert_eq!(header.as_deref(), Some("Bearer AT-1"));
        assert_eq!(auth.source().calls(), 2);
    });
}

#[test]
fn fresh_token_ensure_renew_now_and_401() {
    run(|| async {
        let clock = Arc::new(ManualClock::new(1_000));
        let auth = AsyncRenewingAuthorizer::with_source(
            Scripted::new(|n| after(RENEWAL, one_token(n))),
            clock.clone(),
        )
        .access_token("AT-seed")
        .expires_at(2_000)
        .build()
        .unwrap();
        assert_eq!(
            guard(auth.ensure_valid_token()).await.unwrap().expose(),
            "AT-seed"
        );
        assert_eq!(auth.source().calls(), 0);
        clock.set(2_000 - crate::EXPIRES_ADJUST_SECONDS);
        assert_eq!(
            guard(auth.ensure_valid_token()).await.unwrap().expose(),
            "AT-0"
        );
        assert_eq!(auth.expires_at(), Some(4_600));
        assert_eq!(guard(auth.renew_now()).await.unwrap().expose(), "AT-1");
        assert!(AsyncGlobusAuthorizer::handle_missing_authorization(&auth));
        assert_eq!(auth.access_token(), None);
        let header = guard(auth.get_authorization_header()).await.unwrap();
        assert_eq!(header.as_deref(), Some("Bearer AT-2"));
        assert_eq!(auth.source().calls(), 3);

        let half = AsyncRenewingAuthorizer::with_source(Scripted::new(one_token_now), clock)
            .access_token("AT")
            .build();
        assert!(matches!(half, Err(AuthError::InvalidConfig(_))));
    });
}

fn one_token_now(n: usize) -> Reply {
    Box::pin(std::future::ready(one_token(n)))
}

#[test]
fn never_renewing_authorizers_work_as_dyn_async_authorizers() {
    run(|| async {
        let authorizers: Vec<Arc<dyn AsyncGlobusAuthorizer>> = vec![
            Arc::new(NullAuthorizer),
            Arc::new(BasicAuthorizer::new("user", "pass")),
            Arc::new(AccessTokenAuthorizer::new("AT-fixed")),
            Arc::new(Box::new(AccessTokenAuthorizer::new("AT-boxed"))),
        ];
        let mut headers = Vec::new();
        for authorizer in &authorizers {
            headers.push(authorizer.get_authorization_header().await.unwrap());
            assert!(!authorizer.handle_missing_authorization());
        }
        assert_eq!(
            headers,
            [
                None,
                Some("Basic dXNlcjpwYXNz".to_owned()),
                Some("Bearer AT-fixed".to_owned()),
                Some("Bearer AT-boxed".to_owned()),
            ]
        );
        let by_ref: &dyn AsyncGlobusAuthorizer = &&NullAuthorizer;
        assert_eq!(by_ref.get_authorization_header().await.unwrap(), None);
    });
}
