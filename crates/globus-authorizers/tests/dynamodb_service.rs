//! A service-shaped test: 4 processes serve requests of 50 users for 3 resource servers in
//! parallel for a while, keeping the users' dependent tokens in one DynamoDB table through
//! `DependentTokens`. Tokens never cross users, each user gets one dependent-token grant, and
//! every renewal happens once: no refresh token is ever sent twice (they rotate, so a second
//! renewal of the same expiry would have to send a used one).

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use globus_authorizers::{AuthClient, DependentTokens, GlobusAuthorizer};
use globus_tokens_core::{Secret, TokenStorage};
use globus_tokens_dynamodb::{CreateTableOptions, DynamoDbStorage, ItemLayout};
use globus_tokens_testkit::dynamodb_server::{
    ACCESS_KEY_ID, ENDPOINT_VAR, REGION, SECRET_ACCESS_KEY, endpoint,
};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const SERVICE: &str = "service-client-id";
const SECRET: &str = "service-s3cret-value";
const SERVICE_SCOPE: &str = "https://auth.globus.org/scopes/service-client-id/all";
const RESOURCE_SERVERS: [(&str, &str); 3] = [
    (
        "transfer.api.globus.org",
        "urn:globus:auth:scope:transfer.api.globus.org:all",
    ),
    (
        "groups.api.globus.org",
        "urn:globus:auth:scope:groups.api.globus.org:all",
    ),
    (
        "search.api.globus.org",
        "urn:globus:auth:scope:search.api.globus.org:all",
    ),
];
const USERS: usize = 50;
const PROCESSES: usize = 4;
const THREADS: usize = 4;
/// How long each process serves requests.
const SERVING: Duration = Duration::from_secs(8);
/// Issued tokens live 64 s and count as stale 60 s before expiry: a renewal every ~4 s.
const EXPIRES_IN: i64 = 64;
const CHILD: &str = "GLOBUS_AUTHORIZERS_DYNAMODB_SERVICE_TEST";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn epoch_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn table(name: &str) -> DynamoDbStorage {
    DynamoDbStorage::builder(name)
        .endpoint_url(endpoint())
        .region(REGION)
        .static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        .layout(ItemLayout::Composite)
        .build()
        .unwrap()
}

/// In a child: serve requests from `THREADS` threads until the deadline, each picking users
/// and resource servers in its own order; write `identity resource_server token` lines.
fn child() {
    let store = table(&var("TABLE"));
    let client = Arc::new(
        AuthClient::builder(SERVICE)
            .client_secret(SECRET)
            .base_url(var("AUTH_URL"))
            .build()
            .unwrap(),
    );
    let tokens = Arc::new(
        DependentTokens::builder(client, move |namespace: &str| {
            Ok(Arc::new(store.with_namespace(namespace)) as Arc<dyn TokenStorage>)
        })
        .resource_servers(RESOURCE_SERVERS.map(|(rs, _)| rs))
        .build()
        .unwrap(),
    );
    let users: Vec<(String, Secret)> = std::fs::read_to_string(var("USERS"))
        .unwrap()
        .lines()
        .map(|line| {
            let (identity, token) = line.split_once(' ').unwrap();
            (identity.to_owned(), Secret::new(token))
        })
        .collect();
    let process: usize = var("PROCESS").parse().unwrap();
    let start: u128 = var("START_AT_MS").parse().unwrap();
    while epoch_millis() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
    let deadline = Instant::now() + SERVING;
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (tokens, users) = (Arc::clone(&tokens), users.clone());
            std::thread::spawn(move || {
                let mut seen = BTreeSet::new();
                let mut step = process * 7 + thread * 13;
                while Instant::now() < deadline {
                    step += 1;
                    let (identity, user_token) = &users[step % USERS];
                    let (rs, _) = RESOURCE_SERVERS[(step / USERS + thread) % 3];
                    let authorizer = tokens.authorizer(user_token.clone(), rs);
                    let header = authorizer
                        .get_authorization_header()
                        .unwrap_or_else(|err| panic!("{identity} {rs}: {err}"))
                        .unwrap();
                    let token = header.strip_prefix("Bearer ").unwrap().to_owned();
                    seen.insert(format!("{identity} {rs} {token}"));
                    std::thread::sleep(Duration::from_millis(2));
                }
                seen
            })
        })
        .collect();
    let mut lines = BTreeSet::new();
    for thread in threads {
        lines.extend(thread.join().unwrap());
    }
    std::fs::write(
        var("OUTPUT"),
        lines.into_iter().collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
}

#[test]
fn four_processes_serve_fifty_users_without_crossing_or_repeating_renewals() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let server = FakeAuthServer::start();
    server.register_confidential_client(SERVICE, SECRET);
    server.set_dependent_scopes(SERVICE, &RESOURCE_SERVERS);
    server.set_expires_in(EXPIRES_IN);
    server.set_rotate_refresh_tokens(true);
    let name = format!(
        "dependent-service-{}-{}",
        std::process::id(),
        epoch_millis()
    );
    let store = table(&name);
    store.create_table(CreateTableOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<(String, String)> = (0..USERS)
        .map(|n| {
            let identity = format!("00000000-0000-4000-8000-{n:012}");
            let token = server.issue_user_token(&identity, SERVICE, SERVICE_SCOPE);
            (identity, token)
        })
        .collect();
    let users_file = dir.path().join("users");
    std::fs::write(
        &users_file,
        users
            .iter()
            .map(|(identity, token)| format!("{identity} {token}"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let start_at = epoch_millis() + 1_000;
    let children: Vec<_> = (0..PROCESSES)
        .map(|process| {
            let output = dir.path().join(format!("seen-{process}"));
            let child = Command::new(std::env::current_exe().unwrap())
                .args([
                    "four_processes_serve_fifty_users_without_crossing_or_repeating_renewals",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD, "1")
                .env("TABLE", &name)
                .env(ENDPOINT_VAR, endpoint())
                .env("AUTH_URL", server.base_url())
                .env("USERS", &users_file)
                .env("PROCESS", process.to_string())
                .env("START_AT_MS", start_at.to_string())
                .env("OUTPUT", &output)
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            (child, output)
        })
        .collect();
    let mut served = 0;
    for (mut child, output) in children {
        assert!(child.wait().unwrap().success(), "a service process failed");
        for line in std::fs::read_to_string(output).unwrap().lines() {
            let mut parts = line.split(' ');
            let (identity, rs, token) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            assert_eq!(
                server.identity_of_token(token).as_deref(),
                Some(identity),
                "a token crossed users"
            );
            assert_eq!(server.access_token_info(token).unwrap().0, rs);
            served += 1;
        }
    }
    assert!(
        served >= USERS * RESOURCE_SERVERS.len(),
        "{served} tokens served"
    );

    let requests = server.requests();
    let mut grants: HashMap<String, usize> = HashMap::new();
    let mut refresh_tokens_sent = Vec::new();
    for request in &requests {
        match request.form_value("grant_type") {
            Some("urn:globus:auth:grant_type:dependent_token") => {
                let identity = server
                    .identity_of_token(request.form_value("token").unwrap())
                    .unwrap();
                *grants.entry(identity).or_default() += 1;
            }
            Some("refresh_token") => {
                refresh_tokens_sent.push(request.form_value("refresh_token").unwrap().to_owned());
            }
            _ => {}
        }
    }
    assert_eq!(grants.len(), USERS, "every user got dependent tokens");
    assert!(
        grants.values().all(|&count| count == 1),
        "one grant per user: {grants:?}"
    );
    let distinct: BTreeSet<&String> = refresh_tokens_sent.iter().collect();
    assert_eq!(
        distinct.len(),
        refresh_tokens_sent.len(),
        "a refresh token was sent twice: a renewal ran twice"
    );
    // Enough renewals for the races to matter (about 100 in 8 s on a 2-core machine).
    assert!(
        refresh_tokens_sent.len() >= USERS,
        "only {} renewals",
        refresh_tokens_sent.len()
    );
}
