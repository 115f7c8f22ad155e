//! `login` and `refresh` keep the identity of the login's `id_token` in stores that hold
//! `identity_id` (JSON 2.0, SQLite), and `refresh` through a symbolic link updates the link's
//! target.

use std::path::Path;
use std::process::{Command, Stdio};

use globus_tokens::{JsonTokenStorage, SqliteAdapter, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::{FakeAuthServer, IDENTITY_ID};

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
        use std::io::{BufRead, BufReader};
        let args = [
            "--client-id",
            CLIENT,
            "--store",
            store,
            "login",
            "--no-browser",
            "--scope",
            "openid",
            "--scope",
            TRANSFER_SCOPE,
        ];
        let mut child = self
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut seen = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if let Some(start) = line.find("http")
                    && line.contains("/v2/oauth2/authorize?")
                {
                    let _ = url_tx.send(line[start..].trim().to_owned());
                }
                seen.push_str(&line);
                seen.push('\n');
            }
            seen
        });
        let url = url_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("login printed an authorize URL");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let reply = agent.get(&url).call().unwrap();
        assert_eq!(reply.status().as_u16(), 302);
        let redirect = reply.headers()["location"].to_str().unwrap().to_owned();
        let page = agent.get(&redirect).call().unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let status = child.wait().unwrap();
        let stderr = reader.join().unwrap();
        assert!(status.success(), "{stderr}");
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
