//! `globus-tokens introspect RS` and `globus-tokens whoami` against the fake Globus Auth.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use globus_tokens::{Clock, SqliteAdapter, SystemClock, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::FakeAuthServer;
use serde_json::Value;

const NATIVE: &str = "cli-native-client";
const SERVICE: &str = "cli-confidential-client";
const SECRET: &str = "cli-client-s3cret";
const USER: &str = "5e5e5e5e-0000-4000-8000-00000000abcd";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const AUTH: &str = "auth.globus.org";

struct Env {
    home: tempfile::TempDir,
    auth: FakeAuthServer,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("{err}: {}", self.stdout))
    }

    fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{:?}", self.stderr);
        lines[0]
    }
}

impl Env {
    fn new() -> Self {
        let auth = FakeAuthServer::start();
        auth.register_native_client(NATIVE);
        auth.register_confidential_client(SERVICE, SECRET);
        Env {
            home: tempfile::tempdir().unwrap(),
            auth,
        }
    }

    fn store_path(&self) -> PathBuf {
        self.home.path().join("tokens.db")
    }

    fn store(&self, data: TokenData) {
        SqliteAdapter::open(self.store_path())
            .unwrap()
            .store_token_data(&[(data.resource_server.clone(), data)].into())
            .unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, true)
    }

    fn run_without_secret(&self, args: &[&str]) -> Run {
        self.run_with(args, false)
    }

    fn run_with(&self, args: &[&str], secret: bool) -> Run {
        let store = format!("sqlite:{}", self.store_path().display());
        let mut command = Command::new(env!("CARGO_BIN_EXE_globus-tokens"));
        // The secret comes from the environment (on the command line it would be visible to
        // other users, and the CLI warns).
        if secret {
            command.env("GLOBUS_CLIENT_SECRET", SECRET);
        } else {
            command.env_remove("GLOBUS_CLIENT_SECRET");
        }
        let output = command
            .args(["--store", &store])
            .args(args)
            .env("HOME", self.home.path())
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", self.auth.base_url())
            .env_remove("GLOBUS_SDK_ENVIRONMENT")
            .env_remove("GLOBUS_CLIENT_ID")
            .env_remove("GLOBUS_TOKENS_STORE")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

fn now() -> i64 {
    SystemClock.now_seconds()
}

#[test]
fn introspect_shows_what_globus_auth_says_of_the_stored_token() {
    let env = Env::new();
    let token = env.auth.issue_user_token(USER, TRANSFER, TRANSFER_SCOPE);
    env.store(TokenData::new(
        TRANSFER,
        TRANSFER_SCOPE,
        token.clone(),
        now() + 3600,
    ));
    // A client secret makes the client's own namespace the default; the user's is DEFAULT.
    let confidential = ["--client-id", SERVICE, "--namespace", "DEFAULT"];

    let text = env.run(&[&confidential[..], &["introspect", TRANSFER]].concat());
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains("active") && text.stdout.contains("yes"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains(USER), "{}", text.stdout);
    let json = env.run(
        &[
            &confidential[..],
            &["--format", "json", "introspect", TRANSFER],
        ]
        .concat(),
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value = json.json();
    assert_eq!(value["active"], true);
    assert_eq!(value["sub"], USER);
    assert_eq!(value["aud"][0], TRANSFER);
    assert_eq!(value["identity_set"][0], USER);
    for run in [&text, &json] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(&token) && !all.contains(SECRET), "{all}");
    }
    let sent = env.auth.requests().pop().unwrap();
    assert_eq!(sent.path, "/v2/oauth2/token/introspect");

    env.auth.revoke_token(&token);
    let revoked = env.run(
        &[
            &confidential[..],
            &["--format", "json", "introspect", TRANSFER],
        ]
        .concat(),
    );
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    assert_eq!(revoked.json()["active"], false);
    let text = env.run(&[&confidential[..], &["introspect", TRANSFER]].concat());
    assert!(text.stdout.contains("not active"), "{}", text.stdout);
}

#[test]
fn introspect_needs_a_confidential_client_and_a_stored_token() {
    let env = Env::new();
    let token = env.auth.issue_user_token(USER, TRANSFER, TRANSFER_SCOPE);
    env.store(TokenData::new(
        TRANSFER,
        TRANSFER_SCOPE,
        token,
        now() + 3600,
    ));
    let native = env.run_without_secret(&["--client-id", NATIVE, "introspect", TRANSFER]);
    assert_eq!(native.code, 2, "{}", native.stderr);
    assert!(
        native.error_line().contains("--client-secret"),
        "{}",
        native.stderr
    );
    let nobody = env.run_without_secret(&["introspect", TRANSFER]);
    assert_eq!(nobody.code, 2, "{}", nobody.stderr);
    assert!(
        nobody.error_line().contains("--client-id"),
        "{}",
        nobody.stderr
    );
    let missing = env.run(&[
        "--client-id",
        SERVICE,
        "--namespace",
        "DEFAULT",
        "introspect",
        "groups.api.globus.org",
    ]);
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(
        missing.error_line().contains("globus-tokens login"),
        "{}",
        missing.stderr
    );
    assert!(env.auth.requests().is_empty(), "nothing was sent");
}

#[test]
fn whoami_shows_the_logged_in_identity_and_renews_a_stale_token() {
    let env = Env::new();
    let token = env
        .auth
        .issue_user_token(USER, AUTH, "openid profile email");
    env.store(TokenData::new(
        AUTH,
        "openid profile email",
        token.clone(),
        now() + 3600,
    ));
    let text = env.run_without_secret(&["whoami"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.starts_with(&format!("{USER}@example.org")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!("identity: {USER}")),
        "{}",
        text.stdout
    );
    let json = env.run_without_secret(&["--format", "json", "whoami"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.json()["sub"], USER);
    assert!(!json.stdout.contains(&token));

    // A stale token with a refresh token is renewed first (the fake's user is the renewed
    // token's identity).
    let refresh_token = env
        .auth
        .issue_refresh_token(NATIVE, AUTH, "openid profile email");
    env.store(
        TokenData::new(AUTH, "openid profile email", "AT-stale", now() - 10)
            .with_refresh_token(refresh_token),
    );
    let renewed = env.run_without_secret(&["--client-id", NATIVE, "--format", "json", "whoami"]);
    assert_eq!(renewed.code, 0, "{}", renewed.stderr);
    assert_eq!(env.auth.token_requests(), 1);
    assert_eq!(
        renewed.json()["sub"],
        globus_tokens_testkit::fake_auth::IDENTITY_ID
    );
}

#[test]
fn whoami_errors_are_one_clear_line() {
    let env = Env::new();
    let missing = env.run_without_secret(&["whoami"]);
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(
        missing.error_line().contains("globus-tokens login"),
        "{}",
        missing.stderr
    );
    let token = env.auth.issue_user_token(USER, AUTH, "openid");
    env.store(TokenData::new(AUTH, "openid", token.clone(), now() + 3600));
    env.auth.revoke_token(&token);
    let refused = env.run_without_secret(&["whoami"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let line = refused.error_line();
    assert!(line.contains("401") && line.contains("userinfo"), "{line}");
    assert!(!line.contains(&token), "{line}");
}
