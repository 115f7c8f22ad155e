//! Processes sharing one DynamoDB table renew a stale token once per expiry, through the
//! table's renewal lease: 16 processes with the blocking `StorageAuthorizer`, 4 processes of
//! 16 tasks with the async one (feature `async`), and a lease holder killed in the middle of
//! its refresh, with non-rotating and with rotating refresh tokens.
//!
//! Needs a DynamoDB-compatible server (scripts/test starts one; see globus-tokens-testkit's
//! `dynamodb_server`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use globus_authorizers::{AuthClient, GlobusAuthorizer, StorageAuthorizer};
use globus_tokens_core::{Clock as _, SystemClock, TokenData, TokenStorage};
use globus_tokens_dynamodb::{CreateTableOptions, DynamoDbStorage, ItemLayout, LeaseConfig};
use globus_tokens_testkit::dynamodb_server::{
    ACCESS_KEY_ID, ENDPOINT_VAR, REGION, SECRET_ACCESS_KEY, endpoint,
};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const NATIVE: &str = "native-client-id";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const CHILD: &str = "GLOBUS_AUTHORIZERS_DYNAMODB_PROCESS_TEST";
/// Tasks per process in the async storm.
#[cfg(feature = "async")]
const TASKS: usize = 16;

fn epoch_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn layout_named(name: &str) -> ItemLayout {
    match name {
        "composite" => ItemLayout::Composite,
        _ => ItemLayout::Seed,
    }
}

fn open(table: &str, layout: ItemLayout, lease: Duration) -> DynamoDbStorage {
    DynamoDbStorage::builder(table)
        .endpoint_url(endpoint())
        .region(REGION)
        .static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        .layout(layout)
        .lease(LeaseConfig::default().duration(lease))
        .build()
        .unwrap()
}

fn child_store() -> DynamoDbStorage {
    let lease = Duration::from_millis(var("LEASE_MS").parse().unwrap());
    open(&var("TABLE"), layout_named(&var("LAYOUT")), lease)
}

fn wait_for_start() {
    let start: u128 = var("START_AT_MS").parse().unwrap();
    while epoch_millis() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// In a child: get a header (or an error) and write `OK header` / `ERR message` to OUTPUT.
fn child() {
    #[cfg(feature = "async")]
    if std::env::var_os("ASYNC").is_some() {
        return async_child();
    }
    let store = Arc::new(child_store());
    let client = Arc::new(
        AuthClient::builder(NATIVE)
            .base_url(var("AUTH_URL"))
            .build()
            .unwrap(),
    );
    let authorizer = StorageAuthorizer::builder(store, TRANSFER, client)
        .build()
        .unwrap();
    wait_for_start();
    let outcome = match authorizer.get_authorization_header() {
        Ok(Some(header)) => format!("OK {header}"),
        Ok(None) => "ERR no header".to_owned(),
        Err(err) => format!("ERR {err}"),
    };
    std::fs::write(var("OUTPUT"), outcome).unwrap();
}

/// In an async child: `TASKS` tasks on a `current_thread` runtime ask one async storage
/// authorizer over the table (natively async) for a header at once.
#[cfg(feature = "async")]
fn async_child() {
    use globus_authorizers::{AsyncGlobusAuthorizer, AsyncStorageAuthorizer};
    use globus_tokens_core::AsyncTokenStorage;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store: Arc<dyn AsyncTokenStorage> = Arc::new(child_store());
        let client = Arc::new(
            AuthClient::builder(NATIVE)
                .base_url(var("AUTH_URL"))
                .build_async()
                .unwrap(),
        );
        let authorizer = Arc::new(
            AsyncStorageAuthorizer::builder(store, TRANSFER, client)
                .build()
                .unwrap(),
        );
        wait_for_start();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let authorizer = Arc::clone(&authorizer);
                tokio::spawn(async move { authorizer.get_authorization_header().await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(match task.await.unwrap() {
                Ok(Some(header)) => format!("OK {header}"),
                Ok(None) => "ERR no header".to_owned(),
                Err(err) => format!("ERR {err}"),
            });
        }
        let first = outcomes[0].clone();
        let outcome = if outcomes.iter().all(|o| *o == first) {
            first
        } else {
            format!("ERR tasks disagree: {outcomes:?}")
        };
        std::fs::write(var("OUTPUT"), outcome).unwrap();
    });
}

/// The parent's side: a table with a stale token, the fake Globus Auth, and the children.
struct Setup {
    server: FakeAuthServer,
    store: DynamoDbStorage,
    layout: &'static str,
    lease: Duration,
    dir: tempfile::TempDir,
    spawned: usize,
}

impl Setup {
    fn new(layout: &'static str, lease: Duration) -> Self {
        let server = FakeAuthServer::start();
        server.register_native_client(NATIVE);
        static TABLES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let table = format!(
            "dynamodb-processes-{}-{}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::SeqCst),
            epoch_millis()
        );
        let store = open(&table, layout_named(layout), lease);
        store.create_table(CreateTableOptions::default()).unwrap();
        let refresh_token = server.issue_refresh_token(NATIVE, TRANSFER, TRANSFER_SCOPE);
        let stale = TokenData::new(
            TRANSFER,
            TRANSFER_SCOPE,
            "AT-stale",
            SystemClock.now_seconds() - 5,
        )
        .with_refresh_token(refresh_token);
        store
            .store_token_data(&[(TRANSFER.to_owned(), stale)].into())
            .unwrap();
        Setup {
            server,
            store,
            layout,
            lease,
            dir: tempfile::tempdir().unwrap(),
            spawned: 0,
        }
    }

    /// Start a child running `test_name`, starting its request at `start_at` (epoch ms).
    fn spawn(
        &mut self,
        test_name: &str,
        asynchronous: bool,
        start_at: u128,
    ) -> (Child, std::path::PathBuf) {
        self.spawned += 1;
        let output = self.dir.path().join(format!("outcome-{}", self.spawned));
        let mut command = Command::new(std::env::current_exe().unwrap());
        if asynchronous {
            command.env("ASYNC", "1");
        }
        let child = command
            .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("TABLE", self.store.table_name())
            .env("LAYOUT", self.layout)
            .env("LEASE_MS", self.lease.as_millis().to_string())
            .env(ENDPOINT_VAR, endpoint())
            .env("AUTH_URL", self.server.base_url())
            .env("START_AT_MS", start_at.to_string())
            .env("OUTPUT", &output)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        (child, output)
    }

    fn expire_stored(&self) {
        let mut expired = self.store.get_token_data(TRANSFER).unwrap().unwrap();
        expired.expires_at_seconds = SystemClock.now_seconds() - 5;
        self.store
            .store_token_data(&[(TRANSFER.to_owned(), expired)].into())
            .unwrap();
    }

    fn stored(&self) -> TokenData {
        self.store.get_token_data(TRANSFER).unwrap().unwrap()
    }
}

fn outcome(child: (Child, std::path::PathBuf)) -> String {
    let (mut child, output) = child;
    assert!(child.wait().unwrap().success(), "a child process failed");
    std::fs::read_to_string(output).unwrap()
}

/// `processes` children, `expiries` times: each expiry costs exactly one token request, every
/// process gets the renewed token, and nobody fails.
fn storm(
    test_name: &str,
    asynchronous: bool,
    layout: &'static str,
    processes: usize,
    expiries: usize,
) {
    let mut setup = Setup::new(layout, Duration::from_secs(10));
    setup.server.set_token_delay(Duration::from_millis(300));
    for expiry in 1..=expiries {
        let start_at = epoch_millis() + 700;
        let children: Vec<_> = (0..processes)
            .map(|_| setup.spawn(test_name, asynchronous, start_at))
            .collect();
        let outcomes: Vec<String> = children.into_iter().map(outcome).collect();
        let stored = setup.stored();
        let expected = format!("OK Bearer {}", stored.access_token.expose());
        for outcome in &outcomes {
            assert_eq!(
                outcome, &expected,
                "expiry {expiry}: every process got the renewed token"
            );
        }
        assert_eq!(
            setup.server.token_requests(),
            expiry,
            "expiry {expiry}: one token request per expiry"
        );
        assert!(
            setup
                .server
                .is_valid_refresh_token(stored.refresh_token.as_ref().unwrap().expose())
        );
        setup.expire_stored();
    }
}

#[test]
fn sixteen_processes_renew_once_per_expiry() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    storm(
        "sixteen_processes_renew_once_per_expiry",
        false,
        "seed",
        16,
        5,
    );
}

#[cfg(feature = "async")]
#[test]
fn four_processes_of_sixteen_tasks_renew_once_per_expiry() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    storm(
        "four_processes_of_sixteen_tasks_renew_once_per_expiry",
        true,
        "composite",
        4,
        5,
    );
}

/// Reads the stored token until stopped; fails if its expiry ever goes down.
fn watch_for_backwards(
    store: DynamoDbStorage,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut highest = i64::MIN;
        let mut reads = 0;
        while !stop.load(Ordering::SeqCst) {
            let now = store.get_token_data(TRANSFER).unwrap().unwrap();
            assert!(
                now.expires_at_seconds >= highest,
                "the stored token moved backwards"
            );
            highest = now.expires_at_seconds;
            reads += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        reads
    })
}

/// A holder takes the lease and sends its refresh (2 s at the fake); four others find the
/// lease held; the holder is SIGKILLed mid-request. Returns the others' outcomes and how long
/// after the kill the last one finished.
fn kill_the_holder(test_name: &str, setup: &mut Setup) -> (Vec<String>, Duration) {
    setup.server.set_token_delay(Duration::from_secs(2));
    let (mut holder, _) = setup.spawn(test_name, false, epoch_millis());
    let deadline = Instant::now() + Duration::from_secs(30);
    while setup.server.token_requests() == 0 {
        assert!(
            Instant::now() < deadline,
            "the holder never sent its refresh"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let others: Vec<_> = (0..4)
        .map(|_| setup.spawn(test_name, false, epoch_millis()))
        .collect();
    // Let them find the lease held, then kill the holder in the middle of its request.
    std::thread::sleep(Duration::from_millis(500));
    holder.kill().unwrap();
    let killed = Instant::now();
    holder.wait().unwrap();
    let outcomes: Vec<String> = others.into_iter().map(outcome).collect();
    (outcomes, killed.elapsed())
}

#[test]
fn a_killed_holder_costs_at_most_one_more_request_and_no_error() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let lease = Duration::from_secs(3);
    let mut setup = Setup::new("seed", lease);
    // Globus Auth's default: refresh tokens are not rotated.
    setup.server.set_rotate_refresh_tokens(false);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_for_backwards(setup.store.clone(), Arc::clone(&stop));
    let (outcomes, after_kill) = kill_the_holder(
        "a_killed_holder_costs_at_most_one_more_request_and_no_error",
        &mut setup,
    );
    stop.store(true, Ordering::SeqCst);
    assert!(watcher.join().unwrap() > 0);
    let stored = setup.stored();
    let expected = format!("OK Bearer {}", stored.access_token.expose());
    for outcome in &outcomes {
        assert_eq!(outcome, &expected, "no caller sees an error");
    }
    assert!(
        setup
            .server
            .is_valid_access_token(stored.access_token.expose())
    );
    assert_eq!(
        setup.server.token_requests(),
        2,
        "the holder's and one more"
    );
    // Within a lease duration (the holder's last heartbeat is at most that old) plus one
    // refresh, with room for process start-up on a loaded machine.
    let bound = lease + Duration::from_secs(2) + Duration::from_secs(3);
    assert!(after_kill < bound, "took {after_kill:?} after the kill");
}

#[test]
fn a_holder_killed_after_its_rotation_leaves_everyone_with_login_required() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let mut setup = Setup::new("composite", Duration::from_secs(3));
    setup.server.set_rotate_refresh_tokens(true);
    let before = setup.stored();
    let (outcomes, _) = kill_the_holder(
        "a_holder_killed_after_its_rotation_leaves_everyone_with_login_required",
        &mut setup,
    );
    for outcome in &outcomes {
        assert!(
            outcome.starts_with("ERR") && outcome.to_lowercase().contains("login"),
            "one clear login-required error: {outcome}"
        );
    }
    // One refused request per process at most: no retry loop.
    assert!(
        setup.server.token_requests() <= 1 + outcomes.len(),
        "{} token requests",
        setup.server.token_requests()
    );
    let after = setup.stored();
    assert_eq!(
        after, before,
        "the stored token did not move (backwards or otherwise)"
    );
}
