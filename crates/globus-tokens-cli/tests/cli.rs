//! The real `globus-tokens` binary against real stores and the fake Globus Auth server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use globus_tokens::{Clock, SqliteAdapter, SystemClock, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::{Failure, FakeAuthServer};
use serde_json::Value;

mod common;
use common::{authorize, start_login_with};

const CLIENT: &str = "cli-native-client";
const CONFIDENTIAL: &str = "cli-confidential-client";
const SECRET: &str = "cli-client-s3cret";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {}", self.stdout))
    }

    /// Errors are exactly one line on standard error.
    fn one_error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr, got: {:?}",
            self.stderr
        );
        assert!(
            lines[0].starts_with("globus-tokens: error: "),
            "{}",
            lines[0]
        );
        lines[0]
    }
}

struct Env {
    home: tempfile::TempDir,
    auth: FakeAuthServer,
}

impl Env {
    fn new() -> Self {
        let auth = FakeAuthServer::start();
        auth.register_native_client(CLIENT);
        auth.register_confidential_client(CONFIDENTIAL, SECRET);
        Env {
            home: tempfile::tempdir().unwrap(),
            auth,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_globus-tokens"));
        command
            .args(args)
            .env("HOME", self.home.path())
            .env("GLOBUS_SDK_SERVICE_URL_AUTH", self.auth.base_url())
            .env_remove("GLOBUS_SDK_ENVIRONMENT")
            .env_remove("GLOBUS_CLIENT_ID")
            .env_remove("GLOBUS_CLIENT_SECRET")
            .env_remove("GLOBUS_TOKENS_STORE")
            // The local redirect server is skipped in SSH sessions.
            .env_remove("SSH_TTY")
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_CLIENT")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        finish(self.command(args).output().unwrap())
    }

    /// A SQLite store holding transfer tokens the fake server knows, expiring at `expires_at`.
    fn seeded_store(&self, expires_at: i64) -> (PathBuf, TokenData) {
        let path = self.path("tokens.db");
        let refresh_token = self
            .auth
            .issue_refresh_token(CLIENT, TRANSFER, TRANSFER_SCOPE);
        let access_token = self.auth.issue_access_token(TRANSFER, TRANSFER_SCOPE);
        let data = TokenData::new(TRANSFER, TRANSFER_SCOPE, access_token, expires_at)
            .with_refresh_token(refresh_token);
        SqliteAdapter::open(&path)
            .unwrap()
            .store_token_data(&[(TRANSFER.to_owned(), data.clone())].into())
            .unwrap();
        (path, data)
    }
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn now() -> i64 {
    SystemClock.now_seconds()
}

fn store_arg(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

#[test]
fn help_of_every_subcommand_is_complete_with_an_example() {
    let env = Env::new();
    let top = env.run(&["--help"]);
    assert_eq!(top.code, 0);
    for word in [
        "login",
        "list",
        "show",
        "token",
        "refresh",
        "logout",
        "migrate",
        "create-table",
        "Exit codes",
        "Examples:",
    ] {
        assert!(top.stdout.contains(word), "top-level help lacks {word}");
    }
    for sub in [
        "login",
        "list",
        "show",
        "token",
        "refresh",
        "logout",
        "revoke",
        "migrate",
        "create-table",
    ] {
        let help = env.run(&[sub, "--help"]);
        assert_eq!(help.code, 0, "{sub} --help");
        assert!(
            help.stdout.contains("Examples:"),
            "{sub} --help has no example:\n{}",
            help.stdout
        );
        assert!(
            help.stdout.contains("--store"),
            "{sub} --help lacks the global options"
        );
    }
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let env = Env::new();
    for args in [
        vec!["--store", "mysql:/x", "list"],
        vec!["--store", "tokens.db", "list"],
        vec!["--store", "frl:/x", "list"],
        vec!["frobnicate"],
        vec!["token"],
        vec!["--format", "yaml", "list"],
    ] {
        let run = env.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        run.one_error_line();
    }
    let run = env.run(&["--store", "mysql:/x", "list"]);
    assert!(
        run.stderr.contains("unknown store scheme"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_store_is_login_required_and_is_not_created() {
    let env = Env::new();
    let path = env.path("nothing.db");
    for sub in [
        vec!["token", TRANSFER],
        vec!["list"],
        vec!["show", TRANSFER],
        vec!["refresh"],
    ] {
        let mut args = vec!["--store".to_owned(), store_arg(&path)];
        args.extend(sub.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = env.run(&args);
        assert_eq!(run.code, 3, "{sub:?}: {}", run.stderr);
        assert!(run.one_error_line().contains("does not exist"));
    }
    assert!(!path.exists(), "a read command created the store");
    // The default store lives in ~/.globus.
    let run = env.run(&["token", TRANSFER]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr
            .contains(&env.path(".globus/tokens.db").display().to_string()),
        "{}",
        run.stderr
    );
}

#[test]
fn corrupt_and_unreadable_stores_fail_cleanly_and_stay_unchanged() {
    let env = Env::new();
    let corrupt = env.path("corrupt.db");
    std::fs::write(&corrupt, b"{\"this is\": \"json, not sqlite\"}").unwrap();
    let json = env.path("corrupt.json");
    std::fs::write(&json, b"{\"data\": {\"DEFAULT\": ").unwrap();
    for (store, path) in [
        (store_arg(&corrupt), &corrupt),
        (format!("json:{}", json.display()), &json),
    ] {
        let before = std::fs::read(path).unwrap();
        for args in [
            vec!["list"],
            vec!["token", TRANSFER],
            vec!["show", TRANSFER],
        ] {
            let mut full = vec!["--store", store.as_str()];
            full.extend(args);
            let run = env.run(&full);
            assert_eq!(run.code, 1, "{full:?}: {}", run.stderr);
            assert!(
                run.one_error_line().contains(&path.display().to_string()),
                "{}",
                run.stderr
            );
        }
        assert_eq!(std::fs::read(path).unwrap(), before, "{store} changed");
    }
    // A store path that is a directory (what root sees instead of a permission error).
    let dir = env.path("a-directory.json");
    std::fs::create_dir(&dir).unwrap();
    let run = env.run(&["--store", &format!("json:{}", dir.display()), "list"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.one_error_line();
    // Unreadable file: only meaningful when not running as root.
    let unreadable = env.path("unreadable.json");
    std::fs::write(&unreadable, b"{}").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&unreadable).is_err() {
        let run = env.run(&["--store", &format!("json:{}", unreadable.display()), "list"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.one_error_line().contains("unreadable.json"));
    }
}

#[test]
fn list_and_show_never_print_secrets_unless_asked() {
    let env = Env::new();
    let (path, data) = env.seeded_store(now() + 3600);
    let store = store_arg(&path);
    let at = data.access_token.expose().to_owned();
    let rt = data.refresh_token.as_ref().unwrap().expose().to_owned();

    let list = env.run(&["--store", &store, "list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains("NAMESPACE")
            && list.stdout.contains(TRANSFER)
            && list.stdout.contains("yes")
    );
    let json = env
        .run(&["--store", &store, "--format", "json", "list"])
        .json();
    let entry = &json["tokens"][0];
    assert_eq!(entry["namespace"], "DEFAULT");
    assert_eq!(entry["resource_server"], TRANSFER);
    assert_eq!(entry["scopes"][0], TRANSFER_SCOPE);
    assert_eq!(entry["has_refresh_token"], true);
    assert_eq!(entry["expired"], false);

    let show = env.run(&["--store", &store, "show", TRANSFER]);
    assert_eq!(show.code, 0);
    assert!(
        show.stdout
            .contains(&format!("sha256:{}", data.access_token.fingerprint()))
    );
    let shown = env
        .run(&[
            "--store",
            &store,
            "--format",
            "json",
            "show",
            TRANSFER,
            "--show-secrets",
        ])
        .json();
    assert_eq!(shown["access_token"], at.as_str());
    assert_eq!(shown["refresh_token"], rt.as_str());
    for run in [
        list,
        show,
        env.run(&["--store", &store, "--format", "json", "show", TRANSFER]),
        env.run(&["-vv", "--store", &store, "list"]),
    ] {
        assert!(
            !run.stdout.contains(&at) && !run.stdout.contains(&rt),
            "{}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(&at) && !run.stderr.contains(&rt),
            "{}",
            run.stderr
        );
    }
    let unknown = env.run(&["--store", &store, "show", "search.api.globus.org"]);
    assert_eq!(unknown.code, 3);
    assert!(
        unknown
            .one_error_line()
            .contains("no tokens for search.api.globus.org")
    );
}

#[test]
fn token_prints_a_fresh_token_without_any_request() {
    let env = Env::new();
    let (path, data) = env.seeded_store(now() + 3600);
    let run = env.run(&["--store", &store_arg(&path), "token", TRANSFER]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{}\n", data.access_token.expose()));
    assert_eq!(run.stderr, "");
    assert_eq!(env.auth.token_requests(), 0);
    let unknown = env.run(&[
        "--store",
        &store_arg(&path),
        "token",
        "search.api.globus.org",
    ]);
    assert_eq!(unknown.code, 3);
    unknown.one_error_line();
}

/// `-v` shows the library's events: the renewal and a retry with its reason, never a token.
#[test]
fn verbose_shows_renewals_and_retries_without_secrets() {
    let env = Env::new();
    let (path, data) = env.seeded_store(now() - 10);
    let store = store_arg(&path);
    env.auth.fail_next([Failure::ServerError]);
    let run = env.run(&[
        "-v",
        "--client-id",
        CLIENT,
        "--store",
        &store,
        "token",
        TRANSFER,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim();
    for expected in [
        "renewing access token through the store",
        "Globus Auth request failed; retrying",
        "HTTP 500",
        "renewed access token through the store",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    let stored = SqliteAdapter::open(&path)
        .unwrap()
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    for secret in [
        token,
        data.access_token.expose(),
        data.refresh_token.as_ref().unwrap().expose(),
        stored.refresh_token.as_ref().unwrap().expose(),
    ] {
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
}

#[test]
fn token_renews_a_stale_token_once_and_saves_the_rotated_refresh_token() {
    let env = Env::new();
    let (path, data) = env.seeded_store(now() - 10);
    let store = store_arg(&path);
    // Renewal needs the client id.
    let run = env.run(&["--store", &store, "token", TRANSFER]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.one_error_line().contains("--client-id"));

    let run = env.run(&["--client-id", CLIENT, "--store", &store, "token", TRANSFER]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim().to_owned();
    assert_ne!(token, data.access_token.expose());
    assert!(env.auth.is_valid_access_token(&token));
    assert_eq!(env.auth.token_requests(), 1);
    let stored = SqliteAdapter::open(&path)
        .unwrap()
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert_eq!(stored.access_token.expose(), token);
    assert_ne!(
        stored.refresh_token, data.refresh_token,
        "rotated refresh token saved"
    );
    assert!(
        env.auth
            .is_valid_refresh_token(stored.refresh_token.as_ref().unwrap().expose())
    );
    // Fresh now: no second request.
    let again = env.run(&[
        "--client-id",
        CLIENT,
        "--store",
        &store,
        "--format",
        "json",
        "token",
        TRANSFER,
    ]);
    assert_eq!(again.json()["access_token"], token.as_str());
    assert_eq!(env.auth.token_requests(), 1);
}

#[test]
fn invalid_grant_is_login_required_and_server_down_is_an_error_leaving_the_store_alone() {
    let env = Env::new();
    let path = env.path("tokens.db");
    let data = TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT-old", now() - 10)
        .with_refresh_token("RT-revoked");
    SqliteAdapter::open(&path)
        .unwrap()
        .store_token_data(&[(TRANSFER.to_owned(), data)].into())
        .unwrap();
    let run = env.run(&[
        "--client-id",
        CLIENT,
        "--store",
        &store_arg(&path),
        "token",
        TRANSFER,
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.one_error_line().contains("login"), "{}", run.stderr);
    assert!(!run.stderr.contains("RT-revoked"));

    let before = std::fs::read(&path).unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = env
        .command(&[
            "--client-id",
            CLIENT,
            "--store",
            &store_arg(&path),
            "token",
            TRANSFER,
        ])
        .env(
            "GLOBUS_SDK_SERVICE_URL_AUTH",
            format!("http://127.0.0.1:{closed_port}/"),
        )
        .output()
        .unwrap();
    let run = finish(output);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.one_error_line().contains("connection"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a failed renewal changed the store"
    );
}

#[test]
fn refresh_renews_now_and_logout_revokes_then_removes() {
    let env = Env::new();
    let (path, data) = env.seeded_store(now() + 3600);
    let store = store_arg(&path);
    let run = env.run(&["--client-id", CLIENT, "--store", &store, "refresh"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("renewed transfer.api.globus.org"));
    assert_eq!(env.auth.token_requests(), 1);
    let renewed = SqliteAdapter::open(&path)
        .unwrap()
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert_ne!(renewed.access_token, data.access_token);

    // Revocation with a client Globus Auth does not know fails: nothing is removed.
    let run = env.run(&["--client-id", "unknown-client", "--store", &store, "logout"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        SqliteAdapter::open(&path)
            .unwrap()
            .get_token_data(TRANSFER)
            .unwrap()
            .is_some()
    );

    let run = env.run(&["--client-id", CLIENT, "--store", &store, "revoke", TRANSFER]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let revoked = env.auth.revoked_tokens();
    assert!(revoked.contains(&renewed.access_token.expose().to_owned()));
    assert!(revoked.contains(&renewed.refresh_token.as_ref().unwrap().expose().to_owned()));
    assert!(
        SqliteAdapter::open(&path)
            .unwrap()
            .get_token_data(TRANSFER)
            .unwrap()
            .is_none()
    );
}

#[test]
fn client_credentials_login_and_renewal() {
    let env = Env::new();
    let path = env.path("service.db");
    let args = [
        "--client-id",
        CONFIDENTIAL,
        "--client-secret",
        SECRET,
        "--store",
    ];
    let store = store_arg(&path);
    let mut login: Vec<&str> = args.to_vec();
    login.extend([store.as_str(), "login", "--scope", TRANSFER_SCOPE]);
    let run = env.run(&login);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET));
    let client_store = || {
        SqliteAdapter::builder(&path)
            .namespace(format!("clientprofile/{CONFIDENTIAL}"))
            .open()
            .unwrap()
    };
    let stored = client_store().get_token_data(TRANSFER).unwrap().unwrap();
    assert!(stored.refresh_token.is_none());
    assert_eq!(env.auth.token_requests(), 1);
    // Make it stale: `token` renews with client credentials (no refresh token needed).
    let mut stale = stored.clone();
    stale.expires_at_seconds = now() - 5;
    client_store()
        .store_token_data(&[(TRANSFER.to_owned(), stale)].into())
        .unwrap();
    let mut token: Vec<&str> = args.to_vec();
    token.extend([store.as_str(), "token", TRANSFER]);
    let run = env.run(&token);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(run.stdout.trim(), stored.access_token.expose());
    assert_eq!(env.auth.token_requests(), 2);
}

fn copy_fixture(env: &Env, name: &str) -> PathBuf {
    let to = env.path(name);
    std::fs::copy(
        format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")),
        &to,
    )
    .unwrap();
    to
}

fn everything(env: &Env, store: &str) -> Value {
    let run = env.run(&["--store", store, "--format", "json", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut tokens = run.json()["tokens"].clone();
    let array = tokens.as_array_mut().unwrap();
    for entry in array.iter_mut() {
        entry.as_object_mut().unwrap().remove("expires_in_seconds");
    }
    array.sort_by_key(|e| format!("{}/{}", e["namespace"], e["resource_server"]));
    tokens
}

#[test]
fn migrate_round_trips_python_reference_files_with_nothing_lost() {
    let env = Env::new();
    let v1 = copy_fixture(&env, "sdk-v1-simple.json");
    let v2 = copy_fixture(&env, "sdk-v2.json");
    let db = copy_fixture(&env, "sdk-v1-sqlite.db");
    let originals: Vec<Vec<u8>> = [&v1, &v2, &db]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();

    for (source, namespaces) in [
        (format!("json1:{}", v1.display()), 1),
        (format!("json:{}", v2.display()), 2),
        (store_arg(&db), 2),
    ] {
        let middle = env.path(&format!("middle-{}.db", source.len()));
        let back = env.path(&format!("back-{}.json", source.len()));
        let run = env.run(&["migrate", "--from", &source, "--to", &store_arg(&middle)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!("in {namespaces} namespaces")),
            "{}",
            run.stderr
        );
        let run = env.run(&[
            "migrate",
            "--from",
            &store_arg(&middle),
            "--to",
            &format!("json:{}", back.display()),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let original = everything(&env, &source);
        assert!(!original.as_array().unwrap().is_empty());
        assert_eq!(
            everything(&env, &store_arg(&middle)),
            original,
            "{source} -> sqlite"
        );
        assert_eq!(
            everything(&env, &format!("json:{}", back.display())),
            original,
            "{source} -> sqlite -> json"
        );
    }
    // Identity ids and config survive too.
    let shown = env
        .run(&[
            "--store",
            &store_arg(&env.path(&format!(
                "middle-{}.db",
                format!("json:{}", v2.display()).len()
            ))),
            "--namespace",
            "userprofile/bob",
            "--format",
            "json",
            "show",
            TRANSFER,
        ])
        .json();
    assert_eq!(shown["identity_id"], "ae341a98-d274-11e5-b888-dbae3a8ba545");
    let config_copy = env.path("config-copy.db");
    let run = env.run(&[
        "--format",
        "json",
        "migrate",
        "--from",
        &store_arg(&db),
        "--to",
        &store_arg(&config_copy),
    ]);
    assert_eq!(
        run.json()["config"].as_array().unwrap().len(),
        2,
        "{}",
        run.stdout
    );
    let copied = SqliteAdapter::open(&config_copy).unwrap();
    use globus_tokens::ConfigStorage;
    assert_eq!(
        copied.read_config("cli_config").unwrap().unwrap()["default_profile"],
        "alice"
    );
    // The sources were never modified.
    for (path, before) in [&v1, &v2, &db].iter().zip(originals) {
        assert_eq!(
            std::fs::read(path).unwrap(),
            before,
            "{} changed",
            path.display()
        );
    }
}

#[test]
fn migrate_refuses_to_overwrite_newer_tokens_unless_forced() {
    let env = Env::new();
    let v1 = copy_fixture(&env, "sdk-v1-simple.json");
    let target = env.path("newer.db");
    let newer = TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT-newer", 2_100_000_000);
    SqliteAdapter::open(&target)
        .unwrap()
        .store_token_data(&[(TRANSFER.to_owned(), newer)].into())
        .unwrap();
    let before = std::fs::read(&target).unwrap();
    let run = env.run(&[
        "migrate",
        "--from",
        &format!("json1:{}", v1.display()),
        "--to",
        &store_arg(&target),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.one_error_line().contains("newer tokens"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&target).unwrap(), before, "nothing copied");
    let run = env.run(&[
        "migrate",
        "--force",
        "--from",
        &format!("json1:{}", v1.display()),
        "--to",
        &store_arg(&target),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let stored = SqliteAdapter::open(&target)
        .unwrap()
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert_eq!(stored.access_token.expose(), "AT-a-1");
    let same = env.run(&[
        "migrate",
        "--from",
        &store_arg(&target),
        "--to",
        &store_arg(&target),
    ]);
    assert_eq!(same.code, 2);
}

#[test]
fn concurrent_token_commands_renew_a_stale_token_once() {
    let env = Env::new();
    env.auth
        .set_token_delay(std::time::Duration::from_millis(300));
    let (path, _) = env.seeded_store(now() - 10);
    let store = store_arg(&path);
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.command(&["--client-id", CLIENT, "--store", &store, "token", TRANSFER])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let printed: Vec<String> = children
        .into_iter()
        .map(|child| {
            let run = finish(child.wait_with_output().unwrap());
            assert_eq!(run.code, 0, "{}", run.stderr);
            run.stdout
        })
        .collect();
    assert_eq!(env.auth.token_requests(), 1, "four processes, one renewal");
    assert!(printed.iter().all(|p| p == &printed[0]));
}

/// Start `login` with its standard error piped; return the child and the authorize URL it printed.
fn start_login(
    env: &Env,
    args: &[&str],
    stdin: Stdio,
) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
    start_login_with(env.command(args), stdin)
}

#[test]
fn native_login_through_the_local_server_then_saved_tokens_are_reused() {
    let env = Env::new();
    let path = env.path("login.db");
    let store = store_arg(&path);
    let args = [
        "--client-id",
        CLIENT,
        "--store",
        &store,
        "login",
        "--no-browser",
        "--scope",
        "openid",
        "--scope",
        TRANSFER_SCOPE,
    ];
    let (child, url, stderr) = start_login(&env, &args, Stdio::null());
    let parsed = url::Url::parse(&url).unwrap();
    let query: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], CLIENT);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["access_type"], "offline");
    assert!(
        query["redirect_uri"].starts_with("http://localhost:"),
        "{}",
        query["redirect_uri"]
    );

    // A forged state is turned away; the login keeps waiting for the real redirect.
    let redirect = authorize(&url);
    let mut forged = redirect.clone();
    forged.set_query(Some("code=forged&state=forged"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let page = agent.get(forged.as_str()).call().unwrap();
    assert_ne!(page.status().as_u16(), 200);
    let page = agent.get(redirect.as_str()).call().unwrap();
    assert_eq!(page.status().as_u16(), 200);

    let run = finish(child.wait_with_output().unwrap());
    let stderr = stderr.join().unwrap();
    assert_eq!(run.code, 0, "{stderr}");
    assert!(
        stderr.contains("logged in to transfer.api.globus.org"),
        "{stderr}"
    );
    let stored = SqliteAdapter::open(&path)
        .unwrap()
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert!(stored.refresh_token.is_some());
    assert!(env.auth.is_valid_access_token(stored.access_token.expose()));
    assert!(!stderr.contains(stored.access_token.expose()));
    let requests = env.auth.token_requests();
    assert_eq!(requests, 1);

    // Logged in already: no browser, no request.
    let again = env.run(&args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        !again.stderr.contains("/v2/oauth2/authorize"),
        "{}",
        again.stderr
    );
    assert_eq!(env.auth.token_requests(), requests);
}

#[test]
fn native_login_with_a_pasted_code() {
    let env = Env::new();
    let path = env.path("pasted.db");
    let store = store_arg(&path);
    let args = [
        "--client-id",
        CLIENT,
        "--store",
        &store,
        "login",
        "--no-local-server",
        "--no-browser",
        "--scope",
        TRANSFER_SCOPE,
    ];
    let (mut child, url, stderr) = start_login(&env, &args, Stdio::piped());
    let redirect = authorize(&url);
    assert!(
        redirect
            .as_str()
            .starts_with(&format!("{}v2/web/auth-code", env.auth.base_url())),
        "{redirect}"
    );
    let code = redirect
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "  {code}  ").unwrap();
    }
    let run = finish(child.wait_with_output().unwrap());
    let stderr = stderr.join().unwrap();
    assert_eq!(run.code, 0, "{stderr}");
    assert!(
        SqliteAdapter::open(&path)
            .unwrap()
            .get_token_data(TRANSFER)
            .unwrap()
            .is_some()
    );
    assert!(!stderr.contains(&code), "the code was echoed");

    // End of input instead of a code: login fails, as a login-required error.
    let (child, _, stderr) = start_login(
        &env,
        &[&args[..5], &["--force"], &args[5..]].concat(),
        Stdio::null(),
    );
    let run = finish(child.wait_with_output().unwrap());
    let stderr = stderr.join().unwrap();
    assert_ne!(run.code, 0, "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("globus-tokens: error: "),
        "{stderr}"
    );
}

#[test]
fn frl_store_reads_fair_research_login_files() {
    let env = Env::new();
    let cfg = copy_fixture(&env, "frl-multiclient.cfg");
    let store = format!("frl:{}#7414f0b4-7d05-4bb6-bb00-076fa3f17cf5", cfg.display());
    let listed = env.run(&["--store", &store, "--format", "json", "list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.json()["tokens"].as_array().unwrap().len(), 3);
    let token = env.run(&["--store", &store, "token", "auth.globus.org"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    assert_eq!(token.stdout.trim(), "AT-a-0");
    let other = env.run(&[
        "--store",
        &format!("frl:{}#11111111-2222-3333-4444-555555555555", cfg.display()),
        "list",
    ]);
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(other.stdout.contains("auth.globus.org") && !other.stdout.contains(TRANSFER));
}

#[test]
fn dynamodb_stores_create_table_migrate_list_and_token() {
    use globus_tokens_testkit::dynamodb_server::{
        ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, endpoint,
    };
    let env = Env::new();
    let v2 = copy_fixture(&env, "sdk-v2.json");
    let suffix = format!("{}-{}", std::process::id(), now());
    let run = |args: &[&str]| {
        finish(
            env.command(args)
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
                .env("AWS_REGION", REGION)
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_ENDPOINT_URL")
                .output()
                .unwrap(),
        )
    };
    let endpoint = url::form_urlencoded::byte_serialize(endpoint().as_bytes()).collect::<String>();
    let composite = format!("dynamodb:cli-composite-{suffix}?endpoint={endpoint}&layout=composite");
    let seed = format!("dynamodb:cli-seed-{suffix}?endpoint={endpoint}");

    // Before the table exists: a clear error, not a panic.
    let missing = run(&["--store", &composite, "list"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    missing.one_error_line();

    for store in [&composite, &seed] {
        let created = run(&["--store", store, "create-table"]);
        assert_eq!(created.code, 0, "{}", created.stderr);
    }
    let source = format!("json:{}", v2.display());
    let copied = run(&["migrate", "--from", &source, "--to", &composite]);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    assert_eq!(everything(&env, &source).as_array().unwrap().len(), 4);
    let listed = run(&["--store", &composite, "--format", "json", "list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.json()["tokens"].as_array().unwrap().len(), 4);
    let token = run(&[
        "--store",
        &composite,
        "--namespace",
        "userprofile/bob",
        "token",
        TRANSFER,
    ]);
    assert_eq!(
        (token.code, token.stdout.trim()),
        (0, "AT-bob"),
        "{}",
        token.stderr
    );

    // The seed layout cannot list: migrate names the namespace, list says it cannot.
    let copied = run(&[
        "--namespace",
        "DEFAULT",
        "migrate",
        "--from",
        &source,
        "--to",
        &seed,
    ]);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    let listed = run(&["--store", &seed, "list"]);
    assert_eq!(listed.code, 2, "{}", listed.stderr);
    assert!(listed.one_error_line().contains("cannot list"));
    let token = run(&["--store", &seed, "token", TRANSFER]);
    assert_eq!(
        (token.code, token.stdout.trim()),
        (0, "AT-a-1"),
        "{}",
        token.stderr
    );
}

// ----- issue 10 -----

/// Item 5: client credentials go to `clientprofile/CLIENT_ID`, never over the user's tokens.
#[test]
fn client_credentials_keep_to_their_own_namespace() {
    let env = Env::new();
    let (path, user) = env.seeded_store(now() + 3600);
    let store = store_arg(&path);
    let confidential = ["--client-id", CONFIDENTIAL, "--client-secret", SECRET];
    let login = env.run(
        &[
            &confidential[..],
            &["--store", &store, "login", "--scope", TRANSFER_SCOPE],
        ]
        .concat(),
    );
    assert_eq!(login.code, 0, "{}", login.stderr);
    let default = SqliteAdapter::open(&path)
        .unwrap()
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert!(
        default.same_tokens(&user),
        "the user's tokens were replaced"
    );
    // `token` with the secret reads the client's namespace, with --namespace the one named.
    let client_token =
        env.run(&[&confidential[..], &["--store", &store, "token", TRANSFER]].concat());
    assert_eq!(client_token.code, 0, "{}", client_token.stderr);
    assert_ne!(client_token.stdout.trim(), user.access_token.expose());
    let user_token = env.run(
        &[
            &confidential[..],
            &[
                "--store",
                &store,
                "--namespace",
                "DEFAULT",
                "token",
                TRANSFER,
            ],
        ]
        .concat(),
    );
    assert_eq!(user_token.stdout.trim(), user.access_token.expose());
    let listed = env
        .run(&["--store", &store, "--format", "json", "list"])
        .json();
    let namespaces: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(
        namespaces,
        ["DEFAULT", &format!("clientprofile/{CONFIDENTIAL}")[..]]
    );
    // A store without namespaces refuses, naming the way out, before any request.
    let requests = env.auth.token_requests();
    let json1 = format!("json1:{}", env.path("plain.json").display());
    let refused = finish(
        env.command(&["--client-id", CONFIDENTIAL, "--store", &json1, "login"])
            .env("GLOBUS_CLIENT_SECRET", SECRET)
            .output()
            .unwrap(),
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.one_error_line().contains("--namespace DEFAULT"));
    assert_eq!(env.auth.token_requests(), requests);
    assert!(!env.path("plain.json").exists());
}

/// Item 11: absurd expiry values neither crash nor wrap in `list` and `show`.
#[test]
fn absurd_expiry_values_are_shown_as_invalid_without_overflow() {
    let env = Env::new();
    let path = env.path("absurd.json");
    let near_min = i64::MIN + now();
    let entries = [
        ("near-min.example.org", near_min),
        ("min.example.org", i64::MIN),
        ("max.example.org", i64::MAX),
    ];
    let mut by_rs = serde_json::Map::new();
    for (rs, expires_at) in entries {
        by_rs.insert(
            rs.to_owned(),
            serde_json::json!({"scope": "s", "access_token": "AT", "refresh_token": null,
                "token_type": "Bearer", "expires_at_seconds": expires_at, "resource_server": rs}),
        );
    }
    let document = serde_json::json!({"by_rs": by_rs, "format_version": "1.0"});
    std::fs::write(&path, serde_json::to_vec(&document).unwrap()).unwrap();
    let store = format!("json1:{}", path.display());
    let text = env.run(&["--store", &store, "list"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(
        text.stdout.matches("invalid expiry").count(),
        3,
        "{}",
        text.stdout
    );
    let json = env.run(&["--store", &store, "--format", "json", "list"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    for entry in json.json()["tokens"].as_array().unwrap() {
        let expires_at = entry["expires_at_seconds"].as_i64().unwrap();
        let expires_in = entry["expires_in_seconds"].as_i64().unwrap();
        assert_eq!(entry["expiry_valid"], false);
        // Saturated, never wrapped: the sign follows the stored value.
        assert_eq!(expires_in < 0, expires_at < 0, "{entry}");
    }
    for (rs, _) in entries {
        for format in ["text", "json"] {
            let show = env.run(&["--store", &store, "--format", format, "show", rs]);
            assert_eq!(show.code, 0, "{rs}: {}", show.stderr);
            assert!(show.stderr.is_empty(), "{}", show.stderr);
        }
    }
}

/// Item 13: a failed write to standard output is an error.
#[test]
fn failed_writes_to_standard_output_exit_non_zero() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let env = Env::new();
    let (path, _) = env.seeded_store(now() + 3600);
    let store = store_arg(&path);
    for args in [
        vec!["--store", &store, "token", TRANSFER],
        vec!["--store", &store, "list"],
        vec!["--store", &store, "--format", "json", "show", TRANSFER],
    ] {
        let run = finish(
            env.command(&args)
                .stdout(Stdio::from(full.try_clone().unwrap()))
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.one_error_line().contains("standard output"),
            "{}",
            run.stderr
        );
    }
}

/// Item 13: a cancelled login leaves no store behind; `login --force` onto a corrupt store
/// fails before the browser round trip; `list` on an empty SQLite file does not write it.
#[test]
fn login_checks_the_store_first_and_a_cancelled_login_creates_nothing() {
    let env = Env::new();
    let login = |store: &str, force: bool| {
        let mut args = vec![
            "--client-id",
            CLIENT,
            "--store",
            store,
            "login",
            "--no-local-server",
            "--no-browser",
        ];
        if force {
            args.push("--force");
        }
        env.run(&args)
    };
    for name in ["new.db", "new.json", "sub/dir/new.json"] {
        let path = env.path(name);
        let scheme = if name.ends_with(".db") {
            "sqlite"
        } else {
            "json"
        };
        let cancelled = login(&format!("{scheme}:{}", path.display()), false);
        assert_ne!(cancelled.code, 0, "{}", cancelled.stderr);
        assert!(
            cancelled.stderr.contains("/v2/oauth2/authorize"),
            "{}",
            cancelled.stderr
        );
        assert!(!path.exists(), "a cancelled login left {name} behind");
        assert!(!env.path("sub").exists());
    }
    let corrupt_json = env.path("corrupt.json");
    std::fs::write(&corrupt_json, b"{\"data\": ").unwrap();
    let corrupt_db = env.path("corrupt.db");
    std::fs::write(&corrupt_db, b"not a database, not at all, no").unwrap();
    for (store, path) in [
        (format!("json:{}", corrupt_json.display()), &corrupt_json),
        (store_arg(&corrupt_db), &corrupt_db),
    ] {
        let before = std::fs::read(path).unwrap();
        for force in [false, true] {
            let run = login(&store, force);
            assert_eq!(run.code, 1, "{store}: {}", run.stderr);
            assert!(
                !run.stderr.contains("/v2/oauth2/authorize"),
                "{store}: the browser round trip ran: {}",
                run.stderr
            );
            run.one_error_line();
        }
        assert_eq!(std::fs::read(path).unwrap(), before);
    }
    assert_eq!(env.auth.token_requests(), 0);

    let empty = env.path("t.db");
    std::fs::write(&empty, b"").unwrap();
    let run = env.run(&["--store", &store_arg(&empty), "list"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.one_error_line().contains("empty"), "{}", run.stderr);
    assert_eq!(
        std::fs::metadata(&empty).unwrap().len(),
        0,
        "list wrote the file"
    );
}

/// Item 14: `migrate` to the same file under another spelling is refused.
#[test]
fn migrate_sees_the_same_file_through_other_spellings() {
    let env = Env::new();
    let v2 = copy_fixture(&env, "sdk-v2.json");
    let link = env.path("link.json");
    std::os::unix::fs::symlink(&v2, &link).unwrap();
    let before = std::fs::read(&v2).unwrap();
    for (from, to) in [
        (
            "json:sdk-v2.json".to_owned(),
            "json:./sdk-v2.json".to_owned(),
        ),
        (
            format!("json:{}", v2.display()),
            format!("json:{}", link.display()),
        ),
        (
            format!("json:{}", v2.display()),
            "json1:./sdk-v2.json".to_owned(),
        ),
    ] {
        let run = finish(
            env.command(&["migrate", "--force", "--from", &from, "--to", &to])
                .current_dir(env.home.path())
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 2, "{from} -> {to}: {}", run.stderr);
        assert!(
            run.one_error_line().contains("same store"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read(&v2).unwrap(), before);
}

/// Item 15: messages.
#[test]
fn messages_name_missing_arguments_and_verbosity_levels_differ() {
    let env = Env::new();
    let run = env.run(&["token"]);
    assert_eq!(run.code, 2);
    assert!(
        run.one_error_line().contains("<RESOURCE_SERVER>"),
        "{}",
        run.stderr
    );
    let (path, _) = env.seeded_store(now() + 3600);
    let store = store_arg(&path);
    let quiet = env.run(&["--store", &store, "list"]);
    let info = env.run(&["-v", "--store", &store, "list"]);
    let debug = env.run(&["-vv", "--store", &store, "list"]);
    assert_eq!((quiet.code, info.code, debug.code), (0, 0, 0));
    assert!(
        !info.stderr.contains("opening the store"),
        "{}",
        info.stderr
    );
    assert!(
        debug.stderr.contains("opening the store"),
        "{}",
        debug.stderr
    );
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

/// Item 15: warnings (here: a client secret on the command line) are printed without -v.
#[test]
fn warnings_are_printed_without_verbose() {
    let env = Env::new();
    let path = env.path("service.db");
    let store = store_arg(&path);
    let args = [
        "--client-id",
        CONFIDENTIAL,
        "--store",
        &store,
        "login",
        "--scope",
        TRANSFER_SCOPE,
    ];
    let run = env.run(&[&["--client-secret", SECRET][..], &args[..]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("GLOBUS_CLIENT_SECRET"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SECRET));
    let run = finish(
        env.command(&args)
            .env("GLOBUS_CLIENT_SECRET", SECRET)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
}

/// Item 15: subcommand help is self-contained and its examples are never wrapped mid-command.
#[test]
fn subcommand_help_points_to_the_store_grammar_and_keeps_examples_whole() {
    let env = Env::new();
    let top = env.run(&["--help"]);
    for sub in [
        vec!["--help"],
        vec!["login", "--help"],
        vec!["list", "--help"],
        vec!["show", "--help"],
        vec!["token", "--help"],
        vec!["refresh", "--help"],
        vec!["logout", "--help"],
        vec!["migrate", "--help"],
        vec!["create-table", "--help"],
        vec!["introspect", "--help"],
        vec!["whoami", "--help"],
    ] {
        let help = if sub.len() == 1 { &top } else { &env.run(&sub) };
        assert_eq!(help.code, 0);
        if sub.len() > 1 {
            assert!(
                !help.stdout.contains("\"Stores\""),
                "{sub:?} refers to a section it lacks"
            );
            assert!(help.stdout.contains("globus-tokens --help"), "{sub:?}");
        }
        let examples = help.stdout.split("Examples:").nth(1).unwrap();
        let lines: Vec<&str> = examples
            .lines()
            .take_while(|l| l.starts_with("  ") || l.is_empty())
            .filter(|l| !l.is_empty())
            .collect();
        assert!(!lines.is_empty(), "{sub:?}");
        for (i, line) in lines.iter().enumerate() {
            assert!(line.len() <= 80, "{sub:?}: example line too long: {line}");
            let starts_command = ["  globus-tokens ", "  curl ", "  TOKEN=", "  GLOBUS_"]
                .iter()
                .any(|p| line.starts_with(p));
            let continues = i > 0 && lines[i - 1].ends_with('\\') && line.starts_with("      ");
            assert!(
                starts_command || continues,
                "{sub:?}: example wrapped mid-command: {line:?}"
            );
        }
    }
}

/// Item 7 and 15: DynamoDB on both layouts through login, token, refresh, list, logout; the
/// store is checked before any request; errors are one short actionable line.
#[test]
fn dynamodb_login_token_refresh_logout_on_both_layouts() {
    use globus_tokens_testkit::dynamodb_server::{
        ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, endpoint,
    };
    let env = Env::new();
    let aws = |command: &mut Command| {
        command
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
    };
    let run = |args: &[&str]| {
        let mut command = env.command(args);
        aws(&mut command);
        finish(command.output().unwrap())
    };
    let suffix = format!("{}-{}", std::process::id(), now());
    let encoded = url::form_urlencoded::byte_serialize(endpoint().as_bytes()).collect::<String>();
    for layout in ["seed", "composite"] {
        let store =
            format!("dynamodb:cli-login-{layout}-{suffix}?endpoint={encoded}&layout={layout}");
        // No table yet: login fails before the browser round trip, saying what to do.
        let missing = run(&[
            "--client-id",
            CLIENT,
            "--store",
            &store,
            "login",
            "--no-browser",
        ]);
        assert_eq!(missing.code, 1, "{}", missing.stderr);
        let line = missing.one_error_line();
        assert!(line.contains("create-table") && line.len() < 300, "{line}");
        assert!(!missing.stderr.contains("/v2/oauth2/authorize"));

        assert_eq!(run(&["--store", &store, "create-table"]).code, 0);
        let again = run(&["--quiet", "--store", &store, "create-table"]);
        assert_eq!(again.code, 1);
        assert!(
            again.one_error_line().contains("already exists"),
            "{}",
            again.stderr
        );

        // Native login through the local redirect server.
        let args = [
            "--client-id",
            CLIENT,
            "--store",
            &store,
            "login",
            "--no-browser",
            "--scope",
            "openid",
            "--scope",
            TRANSFER_SCOPE,
        ];
        let mut command = env.command(&args);
        aws(&mut command);
        let (child, url, stderr) = start_login_with(command, Stdio::null());
        let redirect = authorize(&url);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        assert_eq!(
            agent
                .get(redirect.as_str())
                .call()
                .unwrap()
                .status()
                .as_u16(),
            200
        );
        let done = finish(child.wait_with_output().unwrap());
        let stderr = stderr.join().unwrap();
        assert_eq!(done.code, 0, "{layout}: {stderr}");
        assert!(
            stderr.contains("logged in to transfer.api.globus.org"),
            "{stderr}"
        );
        let requests = env.auth.token_requests();

        // Logged in already: said so, no flow.
        let already = run(&args);
        assert_eq!(already.code, 0, "{}", already.stderr);
        assert!(
            already.stderr.contains("already logged in") && already.stderr.contains("--force"),
            "{}",
            already.stderr
        );
        assert_eq!(env.auth.token_requests(), requests);

        let token = run(&["--store", &store, "token", TRANSFER]);
        assert_eq!(token.code, 0, "{}", token.stderr);
        assert!(env.auth.is_valid_access_token(token.stdout.trim()));
        let refreshed = run(&[
            "--client-id",
            CLIENT,
            "--store",
            &store,
            "refresh",
            TRANSFER,
        ]);
        assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
        let listed = run(&[
            "--store",
            &store,
            "--format",
            "json",
            "list",
            TRANSFER,
            "auth.globus.org",
        ]);
        assert_eq!(listed.code, 0, "{}", listed.stderr);
        assert_eq!(listed.json()["tokens"].as_array().unwrap().len(), 2);
        if layout == "seed" {
            // Listing needs names; the error says how, and that advice works (above, below).
            for command in ["list", "refresh", "logout"] {
                let all = run(&["--client-id", CLIENT, "--store", &store, command]);
                assert_eq!(all.code, 2, "{command}: {}", all.stderr);
                let wanted = format!("globus-tokens {command} RESOURCE_SERVER");
                assert!(all.one_error_line().contains(&wanted), "{}", all.stderr);
            }
        } else {
            let all = run(&["--store", &store, "--format", "json", "list"]);
            assert_eq!(all.code, 0, "{}", all.stderr);
            assert_eq!(all.json()["tokens"].as_array().unwrap().len(), 2);
        }
        let logout = run(&[
            "--client-id",
            CLIENT,
            "--store",
            &store,
            "logout",
            TRANSFER,
            "auth.globus.org",
        ]);
        assert_eq!(logout.code, 0, "{}", logout.stderr);
        let gone = run(&["--store", &store, "token", TRANSFER]);
        assert_eq!(gone.code, 3, "{}", gone.stderr);
    }

    // Short, actionable errors: no region, unreachable endpoint.
    // Empty AWS configuration files: no region anywhere.
    std::fs::write(env.path("no-config"), b"").unwrap();
    std::fs::write(env.path("no-credentials"), b"").unwrap();
    let mut command = env.command(&[
        "--store",
        "dynamodb:t?endpoint=http%3A%2F%2F127.0.0.1%3A9",
        "list",
        TRANSFER,
    ]);
    aws(&mut command);
    command
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", env.path("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", env.path("no-credentials"));
    let no_region = finish(command.output().unwrap());
    assert_eq!(no_region.code, 1);
    let line = no_region.one_error_line();
    assert!(
        line.contains("AWS_REGION") && line.contains("?region=") && line.len() < 300,
        "{line}"
    );
    let mut command = env.command(&[
        "--store",
        "dynamodb:t?endpoint=http%3A%2F%2F127.0.0.1%3A9",
        "list",
        TRANSFER,
    ]);
    aws(&mut command);
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", env.path("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", env.path("no-credentials"));
    let no_credentials = finish(command.output().unwrap());
    assert_eq!(no_credentials.code, 1);
    let line = no_credentials.one_error_line();
    assert!(
        line.contains("no AWS credentials")
            && line.contains("AWS_ACCESS_KEY_ID")
            && line.len() < 300,
        "{line}"
    );
    let unreachable = run(&[
        "--store",
        "dynamodb:t?endpoint=http%3A%2F%2F127.0.0.1%3A9",
        "list",
        TRANSFER,
    ]);
    assert_eq!(unreachable.code, 1);
    let line = unreachable.one_error_line();
    assert!(line.contains("cannot reach") && line.len() < 300, "{line}");
}
