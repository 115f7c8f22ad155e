//! The async authorizers under load, against the fake Globus Auth over real HTTP: a storm of
//! tasks on one `current_thread` runtime renews once and never blocks the runtime; a renewing
//! task dropped mid-request leaves the others their token; the reqwest middleware retries one
//! 401 and returns a second.

#![cfg(feature = "async")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use globus_authorizers::{
    AsyncAuthClient, AsyncGlobusAuthorizer, AsyncRefreshTokenAuthorizer, AuthClient,
};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const NATIVE: &str = "native-client-id";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const TASKS: usize = 10_000;
const REPLY_DELAY: Duration = Duration::from_millis(100);

fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.set_rotate_refresh_tokens(true);
    server.set_token_delay(REPLY_DELAY);
    server
}

fn client(server: &FakeAuthServer) -> Arc<AsyncAuthClient> {
    Arc::new(
        AuthClient::builder(NATIVE)
            .base_url(server.base_url())
            .build_async()
            .unwrap(),
    )
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn ten_thousand_tasks_renew_once_without_blocking_the_runtime() {
    let server = Arc::new(server());
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    current_thread().block_on(async {
        let authorizer = Arc::new(
            AsyncRefreshTokenAuthorizer::builder(refresh_token, client(&server))
                .access_token("AT-stale")
                .expires_at(0)
                .build()
                .unwrap(),
        );
        // A ticker on the same runtime: if anything blocked the thread, it would miss ticks.
        let ticks = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
        let ticker = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                let mut interval = tokio::time::interval(Duration::from_millis(10));
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    interval.tick().await;
                    ticks.lock().unwrap().push(Instant::now());
                }
            }
        });
        // When the token request reaches the server, which answers 100 ms later.
        let request_seen = tokio::spawn({
            let server = Arc::clone(&server);
            async move {
                while server.token_requests() == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Instant::now()
            }
        });
        tokio::task::yield_now().await;
        let mut tasks = Vec::with_capacity(TASKS);
        for batch in 0..TASKS / 500 {
            for _ in 0..500 {
                let authorizer = Arc::clone(&authorizer);
                tasks.push(tokio::spawn(async move {
                    let asked = Instant::now();
                    let header = authorizer.get_authorization_header().await;
                    (header, asked.elapsed())
                }));
            }
            // Let the ticker run between batches of spawns, as any busy program would.
            if batch % 4 == 3 {
                tokio::task::yield_now().await;
            }
        }
        let mut headers = Vec::with_capacity(TASKS);
        for task in tasks {
            let (header, _) = task.await.unwrap();
            headers.push(header.unwrap().unwrap());
        }
        let request_seen = request_seen.await.unwrap();
        ticker.abort();
        assert_eq!(server.token_requests(), 1, "one renewal for {TASKS} tasks");
        assert!(
            headers.iter().all(|h| h == &headers[0]),
            "one token for all"
        );
        assert_ne!(headers[0], "Bearer AT-stale");
        assert!(server.is_valid_access_token(headers[0].trim_start_matches("Bearer ")));
        // While the request was in flight (all 10,000 tasks parked), the ticker kept its pace:
        // a renewal that blocked the thread would leave no tick in the reply's 100 ms.
        let window = request_seen..request_seen + Duration::from_millis(80);
        let ticks = ticks.lock().unwrap().clone();
        let during: Vec<_> = ticks.iter().filter(|t| window.contains(*t)).collect();
        assert!(
            during.len() >= 4,
            "{} ticks while the request was in flight",
            during.len()
        );
        let max_gap = during
            .windows(2)
            .map(|w| w[1].duration_since(*w[0]))
            .max()
            .unwrap();
        assert!(
            max_gap < Duration::from_millis(40),
            "ticker gap {max_gap:?} while the request was in flight"
        );
    });
}

#[test]
fn a_renewing_task_dropped_mid_request_leaves_the_others_their_token() {
    let server = server();
    let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
    current_thread().block_on(async {
        let authorizer = Arc::new(
            AsyncRefreshTokenAuthorizer::builder(refresh_token, client(&server))
                .access_token("AT-stale")
                .expires_at(0)
                .build()
                .unwrap(),
        );
        let first = tokio::spawn({
            let authorizer = Arc::clone(&authorizer);
            async move { authorizer.get_authorization_header().await }
        });
        // Wait until its request is at the server (which answers after 100 ms), then start
        // waiters and drop the renewing task.
        while server.token_requests() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let waiters: Vec<_> = (0..100)
            .map(|_| {
                let authorizer = Arc::clone(&authorizer);
                tokio::spawn(async move { authorizer.get_authorization_header().await })
            })
            .collect();
        tokio::task::yield_now().await;
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        let mut headers = Vec::new();
        for waiter in waiters {
            let header = tokio::time::timeout(Duration::from_secs(10), waiter)
                .await
                .expect("no waiter hangs")
                .unwrap()
                .unwrap()
                .unwrap();
            headers.push(header);
        }
        assert!(headers.iter().all(|h| h == &headers[0]));
        assert!(server.is_valid_access_token(headers[0].trim_start_matches("Bearer ")));
        assert_eq!(
            server.token_requests(),
            1,
            "the dropped caller's request went on and its result was shared"
        );
    });
}

mod middleware {
    use super::*;
    use globus_authorizers::AuthorizationMiddleware;
    use globus_tokens_testkit::fake_auth::Failure;
    use serde_json::json;

    const PROTECTED: &str = "/v2/test/protected";

    fn unauthorized() -> Failure {
        Failure::JsonBody {
            status: 401,
            body: json!({"code": "AuthenticationFailed", "message": "Token is not active"}),
        }
    }

    fn http(
        authorizer: Arc<AsyncRefreshTokenAuthorizer>,
    ) -> reqwest_middleware::ClientWithMiddleware {
        let env = globus_authorizers::SdkEnv::from_pairs([("X", "")]);
        let client = globus_authorizers::reqwest_client_builder(&env)
            .unwrap()
            .build()
            .unwrap();
        reqwest_middleware::ClientBuilder::new(client)
            .with(AuthorizationMiddleware::new(authorizer))
            .build()
    }

    fn authorizer(server: &FakeAuthServer) -> Arc<AsyncRefreshTokenAuthorizer> {
        let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
        let access_token = server.issue_access_token(TRANSFER, TRANSFER_SCOPE);
        Arc::new(
            AsyncRefreshTokenAuthorizer::builder(refresh_token, client(server))
                .access_token(access_token)
                .expires_at(i64::MAX / 2)
                .build()
                .unwrap(),
        )
    }

    #[test]
    fn one_401_is_retried_with_a_renewed_token() {
        let server = FakeAuthServer::start();
        server.register_native_client(NATIVE);
        current_thread().block_on(async {
            let authorizer = authorizer(&server);
            let before = authorizer.access_token().unwrap();
            server.fail_next_path(PROTECTED, [unauthorized()]);
            let response = http(Arc::clone(&authorizer))
                .get(server.protected_url())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(server.requests_to(PROTECTED), 2, "one retry");
            assert_eq!(server.token_requests(), 1, "one renewal");
            let after = authorizer.access_token().unwrap();
            assert_ne!(before, after);
            let sent: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.path == PROTECTED)
                .map(|r| r.header("authorization").unwrap().to_owned())
                .collect();
            assert_eq!(
                sent,
                [
                    format!("Bearer {}", before.expose()),
                    format!("Bearer {}", after.expose())
                ]
            );
        });
    }

    #[test]
    fn a_second_401_goes_back_to_the_caller() {
        let server = FakeAuthServer::start();
        server.register_native_client(NATIVE);
        current_thread().block_on(async {
            let authorizer = authorizer(&server);
            server.fail_next_path(PROTECTED, [unauthorized(), unauthorized(), unauthorized()]);
            let response = http(authorizer)
                .get(server.protected_url())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401);
            assert_eq!(
                server.requests_to(PROTECTED),
                2,
                "retried once, not forever"
            );
            assert_eq!(server.token_requests(), 1);
        });
    }

    #[test]
    fn a_failing_authorizer_fails_the_request_with_its_error() {
        let server = FakeAuthServer::start();
        server.register_native_client(NATIVE);
        current_thread().block_on(async {
            let authorizer = Arc::new(
                AsyncRefreshTokenAuthorizer::builder("RT-unknown", client(&server))
                    .build()
                    .unwrap(),
            );
            let err = http(authorizer)
                .get(server.protected_url())
                .send()
                .await
                .unwrap_err();
            let reqwest_middleware::Error::Middleware(err) = err else {
                panic!("{err:?}")
            };
            let auth = err.downcast_ref::<globus_authorizers::AuthError>().unwrap();
            assert!(auth.is_login_required(), "{auth:?}");
            assert_eq!(server.requests_to(PROTECTED), 0);
            assert!(!format!("{err:?}").contains("RT-unknown"));
        });
    }
}
