//! The `dynamodb-tokenstorage` example end to end: the built binary against a real
//! DynamoDB-compatible server (moto), the fake Globus Auth and a fake Groups API, with the
//! login code pasted on stdin as a person would.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../crates/globus-tokens-dynamodb/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use globus_tokens_core::TokenStorage;
use globus_tokens_dynamodb::ItemLayout;
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const CLIENT_ID: &str = "0b9c1d2e-dynamodb-example-client";
const RS: &str = "groups.api.globus.org";
const EXPECTED_CSV: &str = "ID,Name,Type,Session Enforcement,Roles\n\
    a1b2c3d4-0001,Research Lab,regular,strict,admin,member\n\
    a1b2c3d4-0002,Plain Group,plain,not strict,member\n";

/// A fake Groups API: `GET /v2/groups/my_groups` for a valid access token of the fake Auth.
fn start_groups(auth: Arc<FakeAuthServer>) -> (String, Arc<AtomicUsize>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", server.server_addr().to_ip().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            counter.fetch_add(1, Ordering::SeqCst);
            let token = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_owned));
            let authorized = token.is_some_and(|t| auth.is_valid_access_token(&t));
            let response = if request.url() != "/v2/groups/my_groups" {
                tiny_http::Response::from_string("{}").with_status_code(404)
            } else if !authorized {
                tiny_http::Response::from_string(r#"{"code":"AUTHENTICATION_ERROR"}"#)
                    .with_status_code(401)
            } else {
                tiny_http::Response::from_string(
                    r#"[{"id": "a1b2c3d4-0001", "name": "Research Lab", "group_type": "regular",
                         "enforce_session": true,
                         "my_memberships": [{"role": "member"}, {"role": "admin"}, {"role": "member"}]},
                        {"id": "a1b2c3d4-0002", "name": "Plain Group", "group_type": "plain",
                         "enforce_session": false, "my_memberships": [{"role": "member"}]}]"#,
                )
            };
            let _ = request.respond(response);
        }
    });
    (url, calls)
}

struct Env {
    table: String,
    auth_url: String,
    groups_url: String,
}

fn command(env: &Env) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynamodb-tokenstorage"));
    command
        .env("AWS_ENDPOINT_URL_DYNAMODB", common::endpoint())
        .env("AWS_REGION", common::REGION)
        .env("AWS_ACCESS_KEY_ID", common::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", common::SECRET_ACCESS_KEY)
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("GLOBUS_TOKENS_DYNAMODB_TABLE", &env.table)
        .env("GLOBUS_CLIENT_ID", CLIENT_ID)
        .env("GLOBUS_SDK_SERVICE_URL_AUTH", &env.auth_url)
        .env("GLOBUS_SDK_SERVICE_URL_GROUPS", &env.groups_url)
        .env_remove("GLOBUS_SDK_ENVIRONMENT");
    command
}

fn check(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "example failed: {stderr}");
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Follow the authorize URL like a browser and take the code from the redirect.
fn code_from_authorize_url(url: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .build()
        .into();
    let response = agent.get(url).call().unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let query = location.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("code="))
        .expect("code in the redirect")
        .to_owned()
}

#[test]
fn create_login_list_and_renew() {
    let auth = Arc::new(FakeAuthServer::start());
    auth.register_native_client(CLIENT_ID);
    let (groups_url, groups_calls) = start_groups(Arc::clone(&auth));
    let env = Env {
        table: common::unique_table("example"),
        auth_url: auth.base_url(),
        groups_url,
    };

    // --create: the seed's key schema, ACTIVE when it returns.
    let output = command(&env).arg("--create").output().unwrap();
    check(&output);
    let store = common::builder(&env.table)
        .layout(ItemLayout::Seed)
        .open()
        .unwrap();

    // First run: no tokens, so the login flow; the code goes in on stdin.
    let mut child = command(&env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut url = None;
    let mut line = String::new();
    while url.is_none() {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no authorize URL printed"
        );
        if line.starts_with("http") {
            url = Some(line.trim().to_owned());
        }
    }
    let url = url.unwrap();
    assert!(
        url.starts_with(&format!("{}v2/oauth2/authorize?", env.auth_url)),
        "{url}"
    );
    assert!(url.contains("access_type=offline"), "{url}");
    let code = code_from_authorize_url(&url);
    writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "first run failed: {rest}");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), EXPECTED_CSV);
    let stored = store
        .get_token_data(RS)
        .unwrap()
        .expect("tokens stored after login");
    assert!(auth.is_valid_access_token(stored.access_token.expose()));
    assert!(stored.refresh_token.is_some());
    assert_eq!(groups_calls.load(Ordering::SeqCst), 1);

    // Second run: tokens in DynamoDB, no login (stdin closed), no renewal.
    let token_requests = auth.token_requests();
    let output = command(&env).stdin(Stdio::null()).output().unwrap();
    assert_eq!(check(&output), EXPECTED_CSV);
    assert_eq!(
        auth.token_requests(),
        token_requests,
        "renewed a fresh token"
    );

    // Third run: the stored access token has expired; the authorizer renews it and
    // `on_refresh` stores the new one in DynamoDB.
    let mut expired = stored.clone();
    expired.expires_at_seconds = 0;
    store
        .store_token_data(&globus_tokens_testkit::data::batch(expired))
        .unwrap();
    let output = command(&env).stdin(Stdio::null()).output().unwrap();
    assert_eq!(check(&output), EXPECTED_CSV);
    assert_eq!(auth.token_requests(), token_requests + 1, "one renewal");
    let renewed = store.get_token_data(RS).unwrap().unwrap();
    assert_ne!(renewed.access_token, stored.access_token);
    assert!(renewed.expires_at_seconds > 0);
    assert!(auth.is_valid_access_token(renewed.access_token.expose()));
    assert_eq!(groups_calls.load(Ordering::SeqCst), 3);
    // Nothing secret on the terminal.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains(renewed.access_token.expose()));
}

#[test]
fn missing_table_is_a_clear_error() {
    let auth = FakeAuthServer::start();
    let env = Env {
        table: common::unique_table("example-missing"),
        auth_url: auth.base_url(),
        groups_url: "http://127.0.0.1:9/".to_owned(),
    };
    let output = command(&env).stdin(Stdio::null()).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains(&env.table), "{stderr}");
}

#[test]
fn missing_credentials_are_a_clear_error() {
    let auth = FakeAuthServer::start();
    let env = Env {
        table: common::unique_table("example-nocreds"),
        auth_url: auth.base_url(),
        groups_url: "http://127.0.0.1:9/".to_owned(),
    };
    // No credentials anywhere in the chain (and no instance metadata lookups).
    let output = command(&env)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no AWS credentials found") && stderr.contains("AWS_ACCESS_KEY_ID"),
        "{stderr}"
    );
}
