//! `login` and `refresh` keep the identity of the login's `id_token` in stores that hold
//! `identity_id` (JSON 2.0, SQLite), and `refresh` through a symbolic link updates the link's
//! target. `app:` stores are GlobusApp's files and keep one identity.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use globus_tokens::{JsonTokenStorage, SqliteAdapter, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::{FakeAuthServer, IDENTITY_ID};

mod common;
use common::{authorize, start_login_with};

const CLIENT: &str = "cli-identity-client";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

struct Env {
    home: tempfile::TempDir,
    auth: FakeAuthServer,
}

impl Env {
    fn new() -> Self {
        let auth = FakeAuthServer::start();
        auth.register_native_client(CLIENT);
        Env {
            home: tempfile::tempdir().unwrap(),
            auth,
        }
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
            .env_remove("SSH_TTY")
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_CLIENT")
            .stdin(Stdio::null());
        command
    }

    /// `login --no-browser` for openid and transfer, completed by following the printed
    /// authorize URL to the local redirect server like a browser.
    fn login(&self, store: &str) {
        let (ok, stderr) =
            self.login_with(store, &["--scope", "openid", "--scope", TRANSFER_SCOPE]);
        assert!(ok, "{stderr}");
    }

    /// `login --no-browser` with `extra` arguments, completed like a browser; whether it
    /// succeeded, and its standard error.
    fn login_with(&self, store: &str, extra: &[&str]) -> (bool, String) {
        let mut args = vec![
            "--client-id",
            CLIENT,
            "--store",
            store,
            "login",
            "--no-browser",
        ];
        args.extend_from_slice(extra);
        let (mut child, url, reader) = start_login_with(self.command(&args), Stdio::null());
        let redirect = authorize(&url);
        let page = ureq::get(redirect.as_str()).call().unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let status = child.wait().unwrap();
        let stderr = reader.join().unwrap();
        (status.success(), stderr)
    }

    /// Run to the end: exit code, standard output, standard error.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = self.command(args).output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }

    /// Where globus-sdk keeps app `slug`'s `file` for this client.
    fn app_file(&self, slug: &str, file: &str) -> PathBuf {
        self.home
            .path()
            .join(".globus/app")
            .join(CLIENT)
            .join(slug)
            .join(file)
    }

    fn run_ok(&self, args: &[&str]) {
        let output = self.command(args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn login_then_refresh_keep_identity(store_arg: &str, open: impl Fn() -> Box<dyn TokenStorage>) {
    let env = Env::new();
    env.login(store_arg);
    let after_login: TokenData = open().get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(after_login.identity_id.as_deref(), Some(IDENTITY_ID));
    assert_eq!(
        open()
            .get_token_data("auth.globus.org")
            .unwrap()
            .unwrap()
            .identity_id
            .as_deref(),
        Some(IDENTITY_ID)
    );

    env.run_ok(&[
        "--client-id",
        CLIENT,
        "--store",
        store_arg,
        "refresh",
        TRANSFER,
    ]);
    let after_refresh = open().get_token_data(TRANSFER).unwrap().unwrap();
    assert_ne!(after_refresh.access_token, after_login.access_token);
    assert_eq!(after_refresh.identity_id.as_deref(), Some(IDENTITY_ID));
}

#[test]
fn login_and_refresh_keep_identity_in_json_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    let arg = format!("json:{}", path.display());
    login_then_refresh_keep_identity(&arg, || Box::new(JsonTokenStorage::new(&path)));
}

#[test]
fn login_and_refresh_keep_identity_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let arg = format!("sqlite:{}", path.display());
    login_then_refresh_keep_identity(&arg, || Box::new(SqliteAdapter::open(&path).unwrap()));
}

/// The issue's case: `link.json` -> `real/t.json`; `refresh` through the link rotates the
/// refresh token in the target, and the link stays a link.
#[cfg(unix)]
#[test]
fn refresh_through_a_symlink_updates_the_target() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let dir = env.home.path();
    std::fs::create_dir(dir.join("real")).unwrap();
    let real = dir.join("real").join("t.json");
    let link = dir.join("link.json");
    let refresh_token = env
        .auth
        .issue_refresh_token(CLIENT, TRANSFER, TRANSFER_SCOPE);
    let access_token = env.auth.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    let data = TokenData::new(TRANSFER, TRANSFER_SCOPE, access_token, 2_000_000_000)
        .with_refresh_token(refresh_token.clone());
    JsonTokenStorage::new(&real)
        .store_token_data(&[(TRANSFER.to_owned(), data)].into())
        .unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real/t.json", &link).unwrap();

    let arg = format!("json:{}", link.display());
    env.run_ok(&["--client-id", CLIENT, "--store", &arg, "refresh", TRANSFER]);

    assert!(is_symlink(&link));
    let stored = JsonTokenStorage::new(&real)
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    let rotated = stored.refresh_token.unwrap();
    assert_ne!(
        rotated.expose(),
        refresh_token,
        "the target has the new refresh token"
    );
    assert!(env.auth.is_valid_refresh_token(rotated.expose()));
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert!(dir.join("real").join("t.json.lock").exists());
    assert!(!dir.join("link.json.lock").exists());
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_symlink()
}

/// The one error line of a failed run.
fn error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("globus-tokens: error: "))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0]
}

fn app_store_round_trip(spec: &str, file: &str, open: fn(&Path) -> Box<dyn TokenStorage>) {
    let env = Env::new();
    // Without openid in the scopes: an app store asks for it, to learn the identity.
    let (ok, stderr) = env.login_with(spec, &["--scope", TRANSFER_SCOPE]);
    assert!(ok, "{stderr}");
    let path = env.app_file("my-app", file);
    let store = open(&path);
    let listing = store.as_enumerable().unwrap();
    assert_eq!(listing.namespaces().unwrap(), ["DEFAULT"]);
    let transfer = store.get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(transfer.identity_id.as_deref(), Some(IDENTITY_ID));
    assert!(store.get_token_data("auth.globus.org").unwrap().is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let (code, stdout, stderr) =
        env.run(&["--client-id", CLIENT, "--store", spec, "token", TRANSFER]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), transfer.access_token.expose());

    let (code, stdout, stderr) = env.run(&[
        "--client-id",
        CLIENT,
        "--store",
        spec,
        "--format",
        "json",
        "list",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{listed}");
    assert!(
        tokens.iter().all(|t| t["namespace"] == "DEFAULT"),
        "{listed}"
    );
    assert_eq!(listed["store"], spec);

    let (code, _, stderr) = env.run(&["--client-id", CLIENT, "--store", spec, "logout"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        open(&path)
            .as_enumerable()
            .unwrap()
            .get_by_resource_server()
            .unwrap()
            .is_empty()
    );
    assert!(
        !env.auth
            .is_valid_access_token(transfer.access_token.expose())
    );
}

#[test]
fn login_token_list_logout_in_a_json_app_store() {
    app_store_round_trip("app:My App", "tokens.json", |path| {
        Box::new(JsonTokenStorage::new(path))
    });
}

#[test]
fn login_token_list_logout_in_a_sqlite_app_store() {
    app_store_round_trip("app:My App?storage=sqlite", "tokens.db", |path| {
        let adapter = SqliteAdapter::open(path).unwrap();
        assert_eq!(
            adapter.schema_version().number(),
            2,
            "SQLiteTokenStorage's layout"
        );
        Box::new(adapter)
    });
}

#[test]
fn an_app_store_refuses_a_login_as_another_identity_and_is_left_unchanged() {
    let env = Env::new();
    let path = env.app_file("my-app", "tokens.json");
    let access_token = env.auth.issue_access_token(TRANSFER, TRANSFER_SCOPE);
    let refresh_token = env
        .auth
        .issue_refresh_token(CLIENT, TRANSFER, TRANSFER_SCOPE);
    let theirs = TokenData::new(TRANSFER, TRANSFER_SCOPE, access_token, 2_000_000_000)
        .with_refresh_token(refresh_token)
        .with_identity_id("someone-else");
    JsonTokenStorage::new(&path)
        .store_token_data(&[(TRANSFER.to_owned(), theirs)].into())
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    let (ok, stderr) = env.login_with(
        "app:My App",
        &["--force", "--scope", "openid", "--scope", TRANSFER_SCOPE],
    );
    assert!(!ok, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("app:My App did not keep the new tokens")
            && line.contains(IDENTITY_ID)
            && line.contains("someone-else"),
        "{line}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the store is unchanged"
    );

    // A plain store has no such rule: the same login into a json: store of the same file works.
    let plain = format!("json:{}", path.display());
    let (ok, stderr) = env.login_with(&plain, &["--force", "--scope", "openid"]);
    assert!(ok, "{stderr}");

    // After logging out, the app store takes the new identity.
    env.run_ok(&["--client-id", CLIENT, "--store", "app:My App", "logout"]);
    let (ok, stderr) = env.login_with("app:My App", &["--scope", TRANSFER_SCOPE]);
    assert!(ok, "{stderr}");
    let transfer = JsonTokenStorage::new(&path)
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert_eq!(transfer.identity_id.as_deref(), Some(IDENTITY_ID));
}

#[test]
fn an_app_store_refuses_a_login_that_does_not_grant_the_requested_scopes() {
    const MONITOR: &str = "urn:globus:auth:scope:transfer.api.globus.org:monitor_ongoing";
    let env = Env::new();
    // Globus Auth grants transfer's `all` but not `monitor_ongoing`.
    env.auth.set_withheld_scopes(&[MONITOR]);
    let (ok, stderr) = env.login_with(
        "app:My App",
        &[
            "--scope",
            "openid",
            "--scope",
            TRANSFER_SCOPE,
            "--scope",
            MONITOR,
        ],
    );
    assert!(!ok, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("app:My App did not keep the new tokens")
            && line.contains("unmet root scope requirements for transfer.api.globus.org")
            && line.contains(MONITOR),
        "{line}"
    );
    let path = env.app_file("my-app", "tokens.json");
    assert!(
        !path.exists()
            || JsonTokenStorage::new(&path)
                .get_token_data(TRANSFER)
                .unwrap()
                .is_none(),
        "nothing was kept"
    );

    // Once the scope is granted, the same login is kept.
    env.auth.set_withheld_scopes(&[]);
    let (ok, stderr) = env.login_with(
        "app:My App",
        &[
            "--scope",
            "openid",
            "--scope",
            TRANSFER_SCOPE,
            "--scope",
            MONITOR,
        ],
    );
    assert!(ok, "{stderr}");
    let transfer = JsonTokenStorage::new(&path)
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert!(transfer.scopes().any(|scope| scope == MONITOR));
}

#[test]
fn app_stores_need_a_client_id_and_a_usable_name() {
    let env = Env::new();
    let (code, _, stderr) = env.run(&["--store", "app:tool", "list"]);
    assert_eq!(code, 2, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("app:tool") && line.contains("--client-id"),
        "{line}"
    );
    for (args, word) in [
        (vec!["--store", "app:CON", "list"], "reserved"),
        (vec!["--store", "app:", "list"], "empty"),
        (
            vec!["--store", "app:tool?storage=memory", "list"],
            "json or sqlite",
        ),
        (
            vec!["--store", "app:tool", "--namespace", "other", "list"],
            "DEFAULT",
        ),
    ] {
        let mut all = vec!["--client-id", CLIENT];
        all.extend(args);
        let (code, _, stderr) = env.run(&all);
        assert_eq!(code, 2, "{all:?}: {stderr}");
        assert!(error_line(&stderr).contains(word), "{all:?}: {stderr}");
    }
    // Nothing stored yet: login required, and nothing is created.
    let (code, _, stderr) = env.run(&["--client-id", CLIENT, "--store", "app:tool", "list"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(error_line(&stderr).contains("app:tool"), "{stderr}");
    assert!(!env.home.path().join(".globus").exists());
}

#[test]
fn the_globus_environment_prefixes_the_app_file() {
    let env = Env::new();
    let path = env.app_file("tool", "sandbox-tokens.json");
    let data = TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT", 2_000_000_000);
    JsonTokenStorage::new(&path)
        .store_token_data(&[(TRANSFER.to_owned(), data)].into())
        .unwrap();
    let output = env
        .command(&[
            "--client-id",
            CLIENT,
            "--store",
            "app:tool",
            "-v",
            "show",
            TRANSFER,
        ])
        .env("GLOBUS_SDK_ENVIRONMENT", "sandbox")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string()),
        "-v names the file: {stderr}"
    );
    // In production the file has no prefix, and there is none.
    let (code, _, _) = env.run(&[
        "--client-id",
        CLIENT,
        "--store",
        "app:tool",
        "show",
        TRANSFER,
    ]);
    assert_eq!(code, 3);
}

#[test]
fn migrate_into_an_app_store_keeps_to_namespace_default() {
    let env = Env::new();
    let source = env.home.path().join("old.json");
    let data = TokenData::new(TRANSFER, TRANSFER_SCOPE, "AT-old", 2_000_000_000)
        .with_identity_id(IDENTITY_ID);
    JsonTokenStorage::new(&source)
        .store_token_data(&[(TRANSFER.to_owned(), data.clone())].into())
        .unwrap();
    JsonTokenStorage::new(&source)
        .with_namespace("userprofile/other")
        .store_token_data(&[(TRANSFER.to_owned(), data)].into())
        .unwrap();
    let from = format!("json:{}", source.display());
    let args = [
        "--client-id",
        CLIENT,
        "migrate",
        "--from",
        &from,
        "--to",
        "app:tool",
    ];
    // Every namespace of the source cannot go into an app store, which has only DEFAULT.
    let (code, _, stderr) = env.run(&args);
    assert_eq!(code, 2, "{stderr}");
    assert!(error_line(&stderr).contains("app:tool"), "{stderr}");
    let mut with_default = args.to_vec();
    with_default.extend(["--namespace", "DEFAULT"]);
    let (code, _, stderr) = env.run(&with_default);
    assert_eq!(code, 0, "{stderr}");
    let copied = JsonTokenStorage::new(env.app_file("tool", "tokens.json"))
        .get_token_data(TRANSFER)
        .unwrap()
        .unwrap();
    assert_eq!(copied.access_token.expose(), "AT-old");
}
