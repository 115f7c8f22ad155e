//! The `globus-cli` store without Python: a storage laid out as globus-cli 3.x lays it out
//! (its SQLite file, namespace, and templated client in config `auth_client_data`) is read and
//! renewed with that client; login, logout and migrating into it are refused; missing logins
//! say which `globus login` to run. The real globus-cli is exercised by
//! scripts/interop-globus-cli.

use std::process::{Command, Stdio};

use globus_tokens::{
    Clock, ConfigStorage as _, SqliteAdapter, SystemClock, TokenData, TokenStorage,
};
use globus_tokens_testkit::fake_auth::FakeAuthServer;
use serde_json::json;

const TEMPLATED: &str = "templated-client-id";
const SECRET: &str = "templated-client-s3cret";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

struct Env {
    home: tempfile::TempDir,
    auth: FakeAuthServer,
}

impl Env {
    /// globus-cli's storage with a stale transfer token in `namespace`.
    fn new(namespace: &str) -> Self {
        let auth = FakeAuthServer::start();
        auth.register_confidential_client(TEMPLATED, SECRET);
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".globus/cli");
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteAdapter::builder(dir.join("storage.db"))
            .namespace(namespace)
            .open()
            .unwrap();
        store
            .store_config(
                "auth_client_data",
                json!({"client_id": TEMPLATED, "client_secret": SECRET})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
        let refresh_token = auth.issue_refresh_token(TEMPLATED, TRANSFER, TRANSFER_SCOPE);
        store
            .store_token_data(
                &[(
                    TRANSFER.to_owned(),
                    TokenData::new(
                        TRANSFER,
                        TRANSFER_SCOPE,
                        "AT-stale",
                        SystemClock.now_seconds() - 5,
                    )
                    .with_refresh_token(refresh_token),
                )]
                .into(),
            )
            .unwrap();
        Env { home, auth }
    }

    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_globus-tokens"))
            .args(args)
            .env("HOME", self.home.path())
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", self.auth.base_url())
            .env_remove("GLOBUS_SDK_ENVIRONMENT")
            .env_remove("GLOBUS_PROFILE")
            .env_remove("GLOBUS_CLI_CLIENT_ID")
            .env_remove("GLOBUS_CLI_CLIENT_SECRET")
            .env_remove("GLOBUS_CLIENT_ID")
            .env_remove("GLOBUS_CLIENT_SECRET")
            .env_remove("GLOBUS_TOKENS_STORE")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }
}

#[test]
fn a_globus_cli_login_is_read_and_renewed_with_its_own_client() {
    let env = Env::new("userprofile/production");
    let (code, stdout, stderr) = env.run(&["--store", "globus-cli", "-v", "token", TRANSFER], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(env.auth.is_valid_access_token(stdout.trim()), "{stdout}");
    assert!(
        stderr.contains(TEMPLATED) && !stderr.contains(SECRET),
        "{stderr}"
    );
    assert_eq!(env.auth.token_requests(), 1);
    let (code, stdout, _) = env.run(
        &[
            "--store",
            "globus-cli",
            "--format",
            "json",
            "show",
            TRANSFER,
        ],
        &[],
    );
    assert_eq!(code, 0);
    let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["namespace"], "userprofile/production");
    // globus-cli's templated client is confidential: it introspects the renewed token.
    let (code, stdout, stderr) = env.run(
        &[
            "--store",
            "globus-cli",
            "--format",
            "json",
            "introspect",
            TRANSFER,
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let seen: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(seen["active"], true);
    assert_eq!(seen["client_id"], TEMPLATED);
}

#[test]
fn profiles_and_environments_choose_the_namespace_as_globus_cli_does() {
    let env = Env::new("userprofile/sandbox/work");
    let (code, stdout, stderr) = env.run(
        &["--store", "globus-cli:work", "token", TRANSFER],
        &[("GLOBUS_SDK_ENVIRONMENT", "sandbox")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(env.auth.is_valid_access_token(stdout.trim()));
    let (code, _, stderr) = env.run(
        &["--store", "globus-cli", "token", TRANSFER],
        &[("GLOBUS_SDK_ENVIRONMENT", "sandbox")],
    );
    assert_eq!(code, 3);
    assert!(
        stderr.contains("it has logins for GLOBUS_SDK_ENVIRONMENT=sandbox GLOBUS_PROFILE=work")
            && stderr.contains("run `GLOBUS_SDK_ENVIRONMENT=sandbox globus login`")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn a_client_login_renews_with_client_credentials() {
    let env = Env::new("clientprofile/production/templated-client-id");
    // globus-cli's client logins keep client-credential tokens: no refresh token.
    SqliteAdapter::builder(env.home.path().join(".globus/cli/storage.db"))
        .namespace("clientprofile/production/templated-client-id")
        .open()
        .unwrap()
        .store_token_data(
            &[(
                TRANSFER.to_owned(),
                TokenData::new(
                    TRANSFER,
                    TRANSFER_SCOPE,
                    "AT-stale",
                    SystemClock.now_seconds() - 5,
                ),
            )]
            .into(),
        )
        .unwrap();
    let vars = [
        ("GLOBUS_CLI_CLIENT_ID", TEMPLATED),
        ("GLOBUS_CLI_CLIENT_SECRET", SECRET),
    ];
    let (code, stdout, stderr) = env.run(&["--store", "globus-cli", "token", TRANSFER], &vars);
    assert_eq!(code, 0, "{stderr}");
    assert!(env.auth.is_valid_access_token(stdout.trim()));
    let grant = env.auth.requests().pop().unwrap();
    assert_eq!(grant.form_value("grant_type"), Some("client_credentials"));
}

#[test]
fn globus_clis_login_is_not_changed_here() {
    let env = Env::new("userprofile/production");
    for (args, wanted) in [
        (vec!["--store", "globus-cli", "logout"], "`globus logout`"),
        (vec!["--store", "globus-cli", "login"], "`globus login`"),
        (
            vec![
                "migrate",
                "--from",
                "sqlite:/nonexistent.db",
                "--to",
                "globus-cli",
            ],
            "`globus login`",
        ),
    ] {
        let (code, _, stderr) = env.run(&args, &[]);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(wanted) && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
    assert_eq!(env.auth.requests().len(), 0);
}
