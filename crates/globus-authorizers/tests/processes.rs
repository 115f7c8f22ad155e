//! Four processes sharing one store renew a stale token once per expiry: with the blocking
//! `StorageAuthorizer` (one thread each), and with the async one (feature `async`: a storm of
//! tasks on a `current_thread` runtime in each process, renewing through `BlockingPool`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use globus_authorizers::{AuthClient, GlobusAuthorizer, StorageAuthorizer};
use globus_tokens_core::{Clock as _, SystemClock, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const NATIVE: &str = "native-client-id";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const PROCESSES: usize = 4;

const CHILD: &str = "GLOBUS_AUTHORIZERS_PROCESS_TEST";

fn open(kind: &str, path: &Path) -> Arc<dyn TokenStorage> {
    match kind {
        "json" => Arc::new(globus_tokens_json::JsonTokenStorage::new(path)),
        "sqlite" => Arc::new(globus_tokens_sqlite::SqliteAdapter::open(path).unwrap()),
        other => panic!("unknown store kind {other}"),
    }
}

fn epoch_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Tasks per process in the async storm.
#[cfg(feature = "async")]
const TASKS: usize = 250;

fn wait_for_start() {
    let start: u128 = std::env::var("START_AT_MS").unwrap().parse().unwrap();
    while epoch_millis() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// In an async child: at the common start time, `TASKS` tasks ask one async storage authorizer
/// for a header at once; all must get the same one, which is written to the output file.
#[cfg(feature = "async")]
fn async_child() {
    use globus_authorizers::{AsyncGlobusAuthorizer, AsyncStorageAuthorizer};
    use globus_tokens_core::{AsyncTokenStorage, BlockingPool};
    let var = |name: &str| std::env::var(name).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store: Arc<dyn AsyncTokenStorage> = Arc::new(BlockingPool::from_arc(open(
            &var("STORE_KIND"),
            Path::new(&var("STORE_PATH")),
        )));
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
        let mut headers = Vec::new();
        for task in tasks {
            headers.push(task.await.unwrap().unwrap().unwrap());
        }
        assert!(
            headers.iter().all(|h| h == &headers[0]),
            "one token per process"
        );
        std::fs::write(var("OUTPUT"), &headers[0]).unwrap();
    });
}

/// In a child: wait for the common start time, get a header, write it to the output file.
fn child() {
    #[cfg(feature = "async")]
    if std::env::var_os("ASYNC").is_some() {
        return async_child();
    }
    let var = |name: &str| std::env::var(name).unwrap();
    let store = open(&var("STORE_KIND"), Path::new(&var("STORE_PATH")));
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
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    std::fs::write(var("OUTPUT"), header).unwrap();
}

fn round(
    test_name: &str,
    asynchronous: bool,
    kind: &str,
    store_path: &Path,
    server: &FakeAuthServer,
    dir: &Path,
    round: usize,
) -> Vec<String> {
    let start_at = epoch_millis() + 700;
    let children: Vec<_> = (0..PROCESSES)
        .map(|index| {
            let output = dir.join(format!("header-{round}-{index}"));
            let mut command = Command::new(std::env::current_exe().unwrap());
            if asynchronous {
                command.env("ASYNC", "1");
            }
            let child = command
                .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
                .env(CHILD, "1")
                .env("STORE_KIND", kind)
                .env("STORE_PATH", store_path)
                .env("AUTH_URL", server.base_url())
                .env("START_AT_MS", start_at.to_string())
                .env("OUTPUT", &output)
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            (child, output)
        })
        .collect();
    children
        .into_iter()
        .map(|(mut child, output)| {
            assert!(
                child.wait().unwrap().success(),
                "a process failed to get a header"
            );
            std::fs::read_to_string(output).unwrap()
        })
        .collect()
}

fn four_processes_renew_once(test_name: &str, asynchronous: bool, kind: &str, file_name: &str) {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let server = FakeAuthServer::start();
    server.register_native_client(NATIVE);
    server.set_token_delay(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    let store = open(kind, &path);
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

    for expiry in 1..=2 {
        let headers = round(
            test_name,
            asynchronous,
            kind,
            &path,
            &server,
            dir.path(),
            expiry,
        );
        assert_eq!(
            server.token_requests(),
            expiry,
            "one token request per expiry"
        );
        assert!(
            headers.iter().all(|h| h == &headers[0]),
            "every process got the same token"
        );
        let stored = store.get_token_data(TRANSFER).unwrap().unwrap();
        assert_eq!(
            headers[0],
            format!("Bearer {}", stored.access_token.expose())
        );
        assert!(
            server.is_valid_refresh_token(stored.refresh_token.as_ref().unwrap().expose()),
            "rotated RT stored"
        );
        // Expire it again for the next round.
        let mut expired = stored;
        expired.expires_at_seconds = SystemClock.now_seconds() - 5;
        store
            .store_token_data(&[(TRANSFER.to_owned(), expired)].into())
            .unwrap();
    }
}

#[test]
fn four_processes_share_a_sqlite_store() {
    four_processes_renew_once(
        "four_processes_share_a_sqlite_store",
        false,
        "sqlite",
        "tokens.db",
    );
}

#[test]
fn four_processes_share_a_json_store() {
    four_processes_renew_once(
        "four_processes_share_a_json_store",
        false,
        "json",
        "tokens.json",
    );
}

/// The issue's storm: four processes, each with many tasks on one async authorizer, sharing
/// one SQLite store through `BlockingPool`: one token request per expiry.
#[cfg(feature = "async")]
#[test]
fn four_processes_of_async_tasks_share_a_sqlite_store() {
    four_processes_renew_once(
        "four_processes_of_async_tasks_share_a_sqlite_store",
        true,
        "sqlite",
        "tokens.db",
    );
}

#[cfg(feature = "async")]
#[test]
fn four_processes_of_async_tasks_share_a_json_store() {
    four_processes_renew_once(
        "four_processes_of_async_tasks_share_a_json_store",
        true,
        "json",
        "tokens.json",
    );
}
