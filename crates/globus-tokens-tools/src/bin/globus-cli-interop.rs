//! The Rust half of `scripts/interop-globus-cli`: the real globus-cli (3.44.0) and globus-tokens
//! share globus-cli's login, against the fake Globus Auth.
//!
//! ```text
//! globus-cli-interop DIR GLOBUS_TOKENS_BIN PYTHON SCRIPT
//! ```
//!
//! With `HOME` in a fresh directory under DIR and `GLOBUS_SDK_SERVICE_URL_AUTH` at the fake:
//!
//! 1. `PYTHON SCRIPT write ...`: globus-cli's own storage code records its templated client and
//!    stores the (stale) tokens refresh grants give it;
//! 2. `globus-tokens --store globus-cli token transfer.api.globus.org` renews the stale token
//!    with globus-cli's client; `list` shows it; `login` and `logout` are refused, pointing to
//!    `globus login` / `globus logout`;
//! 3. the library opens the same login (`GlobusCliSpec`) and renews the auth token with
//!    globus-cli's client through `StoreRenewal`;
//! 4. `PYTHON SCRIPT check TOKEN`: globus-cli reads the renewed tokens, and `globus whoami`
//!    works;
//! 5. missing storage, another profile, another environment: one-line errors saying what to run;
//! 6. globus-cli's own authorizer renews the same token in a loop while globus-tokens renews it
//!    eight times: nobody fails and the stored token stays valid (non-rotating refresh tokens,
//!    Globus Auth's default).
//!
//! Prints `ok - ...` / `not ok - ...` per check (Python's lines are passed through); exits 1
//! if any check failed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use globus_authorizers::{AuthClient, StoreRenewal};
use globus_tokens::spec::{GlobusCliClientKind, GlobusCliSpec};
use globus_tokens::{OpenMode, StoreSpec};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const TEMPLATED_ID: &str = "6a1f0c2e-7b3d-4f5a-9e8c-1d2b3c4d5e6f";
const TEMPLATED_SECRET: &str = "globus-cli-templated-s3cret";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const AUTH: &str = "auth.globus.org";
/// globus-cli's required Auth scopes (`login_manager/scopes.py`).
const AUTH_SCOPE: &str =
    "openid profile email urn:globus:auth:scope:auth.globus.org:view_identity_set";

struct Report {
    failed: usize,
}

impl Report {
    fn check(&mut self, ok: bool, what: &str, why: impl FnOnce() -> String) {
        if ok {
            println!("ok - {what}");
        } else {
            self.failed += 1;
            println!("not ok - {what}: {}", why());
        }
    }
}

struct Env<'a> {
    home: PathBuf,
    auth: &'a FakeAuthServer,
    globus_tokens: &'a Path,
    python: &'a Path,
    script: &'a Path,
}

impl Env<'_> {
    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home.display().to_string()),
            ("GLOBUS_SDK_SERVICE_URL_AUTH", self.auth.base_url()),
        ]
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        for name in [
            "GLOBUS_SDK_ENVIRONMENT",
            "GLOBUS_PROFILE",
            "GLOBUS_CLI_CLIENT_ID",
            "GLOBUS_CLI_CLIENT_SECRET",
            "GLOBUS_CLIENT_ID",
            "GLOBUS_CLIENT_SECRET",
            "GLOBUS_TOKENS_STORE",
        ] {
            command.env_remove(name);
        }
        command.envs(self.vars());
        command
    }

    fn globus_tokens(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut command = self.command(self.globus_tokens);
        command.args(args).envs(extra.iter().copied());
        command.output().expect("run globus-tokens")
    }

    fn python(&self, report: &mut Report, args: &[&str]) -> bool {
        let output = self
            .command(self.python)
            .arg(self.script)
            .args(args)
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&output.stdout);
        print!("{stdout}");
        let ok = output.status.success();
        report.check(ok, &format!("globus-cli's code ran: {}", args[0]), || {
            format!(
                "exit {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
        ok
    }

    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name: &str| match name {
            "HOME" => Some(self.home.display().to_string()),
            _ => None,
        }
    }
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    )
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [dir, globus_tokens, python, script] = args.as_slice() else {
        eprintln!("usage: globus-cli-interop DIR GLOBUS_TOKENS_BIN PYTHON SCRIPT");
        std::process::exit(2);
    };
    let auth = FakeAuthServer::start();
    auth.register_confidential_client(TEMPLATED_ID, TEMPLATED_SECRET);
    let env = Env {
        home: dir.join("home"),
        auth: &auth,
        globus_tokens,
        python,
        script,
    };
    std::fs::create_dir_all(&env.home).expect("create HOME");
    let mut report = Report { failed: 0 };
    run(&env, &mut report);
    if report.failed > 0 {
        std::process::exit(1);
    }
}

fn run(env: &Env<'_>, report: &mut Report) {
    let auth = env.auth;
    // 1. globus-cli stores tokens that are stale at once (rotating refresh tokens, the
    // harder case for a shared file).
    auth.set_rotate_refresh_tokens(true);
    auth.set_expires_in(30);
    let transfer_rt = auth.issue_refresh_token(TEMPLATED_ID, TRANSFER, TRANSFER_SCOPE);
    let auth_rt = auth.issue_refresh_token(TEMPLATED_ID, AUTH, AUTH_SCOPE);
    if !env.python(
        report,
        &[
            "write",
            TEMPLATED_ID,
            TEMPLATED_SECRET,
            &transfer_rt,
            &auth_rt,
        ],
    ) {
        return;
    }
    auth.set_expires_in(172_800);
    let spec = GlobusCliSpec::resolve("globus-cli", None, &env.lookup()).expect("resolve");
    let store = StoreSpec::GlobusCli(Box::new(spec.clone()))
        .open("DEFAULT", OpenMode::Existing)
        .expect("open globus-cli's storage");
    let stored_by_python = store.get_token_data(TRANSFER).unwrap().unwrap();

    // 2. The command renews with globus-cli's client.
    auth.clear_requests();
    let token = env.globus_tokens(&["--store", "globus-cli", "token", TRANSFER], &[]);
    let (printed, stderr) = text(&token);
    report.check(
        token.status.success() && auth.is_valid_access_token(&printed),
        "`globus-tokens --store globus-cli token transfer.api.globus.org` prints a valid token",
        || format!("{}: {stderr}", token.status),
    );
    report.check(
        printed != stored_by_python.access_token.expose(),
        "the stale token was renewed",
        || "the stored (stale) token was printed".to_owned(),
    );
    let refresh = auth
        .requests()
        .into_iter()
        .find(|r| r.form_value("grant_type") == Some("refresh_token"));
    let basic = {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{TEMPLATED_ID}:{TEMPLATED_SECRET}"));
        format!("Basic {encoded}")
    };
    report.check(
        refresh
            .as_ref()
            .and_then(|r| r.header("authorization"))
            .is_some_and(|h| h == basic),
        "the renewal authenticated as globus-cli's templated client",
        || format!("{refresh:?}"),
    );
    report.check(
        !stderr.contains(TEMPLATED_SECRET) && !printed.contains(TEMPLATED_SECRET),
        "globus-cli's client secret is never printed",
        || stderr.clone(),
    );
    let list = env.globus_tokens(&["--store", "globus-cli", "--format", "json", "list"], &[]);
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap_or_default();
    let entries = listed["tokens"].as_array().cloned().unwrap_or_default();
    report.check(
        entries.iter().any(|t| {
            t["resource_server"] == TRANSFER && t["namespace"] == "userprofile/production"
        }),
        "`list` shows the login (namespace userprofile/production)",
        || format!("{listed}"),
    );
    for (command, instead) in [("logout", "globus logout"), ("login", "globus login")] {
        let refused = env.globus_tokens(&["--store", "globus-cli", command], &[]);
        let (_, stderr) = text(&refused);
        report.check(
            refused.status.code() == Some(2)
                && stderr.contains(instead)
                && stderr.lines().count() == 1,
            &format!("`{command}` is refused and points to `{instead}`"),
            || format!("{}: {stderr}", refused.status),
        );
    }

    // 3. The library: the same login, renewed with globus-cli's client.
    let client = spec.client(&*store, &env.lookup()).ok().flatten();
    report.check(
        client.as_ref().is_some_and(|c| {
            c.kind == GlobusCliClientKind::Templated && c.client_id == TEMPLATED_ID
        }),
        "GlobusCliSpec::client finds globus-cli's templated client",
        || format!("{client:?}"),
    );
    if let Some(client) = client {
        let renewal = AuthClient::builder(client.client_id.as_str())
            .client_secret(client.client_secret.clone())
            .base_url(auth.base_url())
            .build()
            .map(|c| StoreRenewal::new(Arc::new(c)));
        let renewed = renewal.map(|r| r.renew(&*store, AUTH, None));
        report.check(
            matches!(&renewed, Ok(Ok(data)) if auth.is_valid_access_token(data.access_token.expose())),
            "StoreRenewal renews globus-cli's auth token in its storage",
            || format!("{renewed:?}"),
        );
    }

    // 4. globus-cli goes on working with the file.
    env.python(report, &["check", &printed]);

    // 5. What to run when there is no login.
    let empty = Env {
        home: env.home.with_file_name("empty-home"),
        ..*env
    };
    std::fs::create_dir_all(&empty.home).ok();
    for (what, env_used, extra, wanted) in [
        (
            "no storage",
            &empty,
            vec![],
            vec!["does not exist", "`globus login`"],
        ),
        (
            "another profile",
            env,
            vec![("GLOBUS_PROFILE", "work")],
            vec![
                "it has logins for GLOBUS_SDK_ENVIRONMENT=production",
                "`GLOBUS_PROFILE=work globus login`",
            ],
        ),
        (
            "another environment",
            env,
            vec![("GLOBUS_SDK_ENVIRONMENT", "sandbox")],
            vec![
                "userprofile/sandbox",
                "`GLOBUS_SDK_ENVIRONMENT=sandbox globus login`",
            ],
        ),
    ] {
        let missing = env_used.globus_tokens(&["--store", "globus-cli", "token", TRANSFER], &extra);
        let (_, stderr) = text(&missing);
        report.check(
            missing.status.code() == Some(3)
                && stderr.lines().count() == 1
                && wanted.iter().all(|w| stderr.contains(w)),
            &format!("{what}: one line saying what to run"),
            || format!("{}: {stderr}", missing.status),
        );
    }

    // 6. Both renew at once: globus-cli's authorizer in a loop for 4 s while globus-tokens
    // renews eight times (each request takes 50 ms at the fake, so they overlap).
    auth.set_rotate_refresh_tokens(false);
    auth.set_token_delay(std::time::Duration::from_millis(50));
    let mut theirs = env
        .command(env.python)
        .arg(env.script)
        .args(["renew", "4"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn python");
    let mut their_output = std::io::BufReader::new(theirs.stdout.take().expect("stdout"));
    let mut line = String::new();
    let ready =
        std::io::BufRead::read_line(&mut their_output, &mut line).is_ok() && line.trim() == "ready";
    let before = auth.token_requests();
    let mut all_ok = ready;
    for round in 0..8 {
        let ours = env.globus_tokens(
            &["--quiet", "--store", "globus-cli", "refresh", TRANSFER],
            &[],
        );
        if !ours.status.success() {
            all_ok = false;
            println!(
                "# round {round}: globus-tokens {}: {}",
                ours.status,
                text(&ours).1
            );
        }
    }
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut their_output, &mut rest);
    print!("{rest}");
    let theirs_ok = theirs.wait().is_ok_and(|status| status.success());
    all_ok &= theirs_ok && rest.contains("ok - ") && !rest.contains("not ok");
    report.check(
        auth.token_requests() > before + 8,
        "globus-cli renewed while globus-tokens did",
        || format!("{} token requests", auth.token_requests() - before),
    );
    let last = store.get_token_data(TRANSFER).ok().flatten();
    report.check(
        all_ok
            && last.as_ref().is_some_and(|t| {
                auth.is_valid_access_token(t.access_token.expose())
                    && t.refresh_token
                        .as_ref()
                        .is_some_and(|rt| auth.is_valid_refresh_token(rt.expose()))
            }),
        "globus-tokens and globus-cli renewing at once: nobody fails, the stored token stays valid",
        || format!("all ok: {all_ok}"),
    );
}
