//! The Rust half of `scripts/interop-app`: a globus-sdk 3.65 `UserApp` and globus-app's
//! `UserApp` share one app's tokens, logging in against the fake Globus Auth.
//!
//! ```text
//! app-interop DIR PYTHON [ARGS...]
//! ```
//!
//! Starts the fake Globus Auth, then for each of `json` and `sqlite` storage, with `HOME` in a
//! fresh directory under DIR and `GLOBUS_SDK_SERVICE_URL_AUTH` at the fake:
//!
//! 1. runs `PYTHON ARGS... login STORAGE`: a Python `UserApp` logs in with its command-line
//!    flow; this program reads the authorize URL from its output, visits it (the fake's 302
//!    carries the code) and types the code into its standard input;
//! 2. a Rust `UserApp` (same client id and app name) gets an authorizer with no login and no
//!    token request, from the tokens Python stored;
//! 3. the Rust app adds a Transfer requirement (with a dependent scope), finds a login is
//!    required, logs in, and the requirement is met;
//! 4. runs `PYTHON ARGS... check STORAGE ACCESS_TOKEN`: the Python app, given the same
//!    requirement, finds it met without logging in (its standard input is closed) and hands
//!    out Rust's Transfer token.
//!
//! Prints `ok - ...` / `not ok - ...` per check (Python's lines are passed through); exits 1
//! if any check failed.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use globus_app::AppStorageKind;
use globus_app::app::{GlobusApp, GlobusAppConfig, LoginFlow, UserApp};
use globus_authorizers::SdkEnv;
use globus_native_login::{CodeHandler, CodeOutcome, CodeSession, HandlerContext};
use globus_scopes::Scope;
use globus_tokens_core::Secret;
use globus_tokens_testkit::fake_auth::{FakeAuthServer, IDENTITY_ID};

/// Also in scripts/python/interop_app.py.
const CLIENT_ID: &str = "5f0e3d6c-9a51-4c2e-b1a7-2d6c8e4f0a13";
const APP_NAME: &str = "Interop App";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_REQUIREMENT: &str = "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access]";

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

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Visit an authorize URL as a user who approves; the code from the redirect.
fn approve(url: &str) -> Result<String, String> {
    let response = agent().get(url).call().map_err(|e| e.to_string())?;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            format!(
                "authorize answered {} without a redirect",
                response.status()
            )
        })?;
    url::Url::parse(location)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| "no code in the redirect".to_owned())
}

/// A login flow that approves at once, counting its logins.
#[derive(Debug, Clone, Default)]
struct Approver(Arc<AtomicUsize>);

struct ApproverSession(Arc<AtomicUsize>);

impl CodeHandler for Approver {
    fn name(&self) -> &str {
        "approver"
    }

    fn start(&self, _: &HandlerContext<'_>) -> globus_native_login::Result<Box<dyn CodeSession>> {
        Ok(Box::new(ApproverSession(Arc::clone(&self.0))))
    }
}

impl CodeSession for ApproverSession {
    fn redirect_uri(&self) -> Option<String> {
        None
    }

    fn authenticate(
        self: Box<Self>,
        authorize_url: &str,
        _state: &str,
    ) -> globus_native_login::Result<CodeOutcome> {
        self.0.fetch_add(1, Ordering::SeqCst);
        match approve(authorize_url) {
            Ok(code) => Ok(CodeOutcome::Code(Secret::new(code))),
            Err(_) => Ok(CodeOutcome::Cancelled),
        }
    }
}

/// Run Python with `args`; pass its check lines through; answer its login prompt when `answer`.
fn run_python(
    python: &[String],
    args: &[&str],
    env: &[(&str, String)],
    answer: bool,
    report: &mut Report,
) {
    // Two words at most: the third argument is a token.
    let title = format!("python {}", args[..args.len().min(2)].join(" "));
    let mut command = Command::new(&python[0]);
    command
        .args(&python[1..])
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(if answer {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return report.check(false, &title, || format!("cannot start: {err}")),
    };
    let mut stdin = child.stdin.take();
    let Some(stdout) = child.stdout.take() else {
        return report.check(false, &title, || "no stdout".to_owned());
    };
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // The code prompt has no newline, so a check line may follow it on the same line.
        let line = match line.find("ok - ") {
            Some(at) if line[..at].ends_with("not ") => line[at - 4..].to_owned(),
            Some(at) => line[at..].to_owned(),
            None => line,
        };
        if line.starts_with("ok - ") {
            println!("{line}");
        } else if line.starts_with("not ok - ") {
            report.failed += 1;
            println!("{line}");
        } else if let Some(url) = line
            .trim()
            .strip_prefix("http")
            .map(|rest| format!("http{rest}"))
            && url.contains("/v2/oauth2/authorize?")
        {
            let typed = approve(&url).and_then(|code| {
                let stdin = stdin.as_mut().ok_or("Python's stdin is closed")?;
                writeln!(stdin, "{code}").map_err(|e| e.to_string())
            });
            report.check(
                typed.is_ok(),
                "approved Python's authorize URL and typed the code",
                || typed.err().unwrap_or_default(),
            );
        }
    }
    drop(stdin);
    match child.wait() {
        Ok(status) => report.check(status.success(), &format!("{title} exited"), || {
            status.to_string()
        }),
        Err(err) => report.check(false, &title, || err.to_string()),
    }
}

fn round(storage: AppStorageKind, work: &Path, python: &[String], report: &mut Report) {
    let server = FakeAuthServer::start();
    server.register_native_client(CLIENT_ID);
    let home: PathBuf = work.join(format!("home-{storage}"));
    if let Err(err) = std::fs::create_dir_all(&home) {
        return report.check(false, "creating HOME", || err.to_string());
    }
    let vars = vec![
        ("HOME", home.display().to_string()),
        ("GLOBUS_SDK_SERVICE_URL_AUTH", server.base_url()),
    ];
    let name = storage.name();

    // 1. Python logs in.
    run_python(python, &["login", name], &vars, true, report);
    let after_python = server.token_requests();
    report.check(
        after_python == 1,
        &format!("{name}: Python logged in with one token request"),
        || format!("{after_python} token requests"),
    );

    // 2. Rust uses Python's tokens.
    let approver = Approver::default();
    let config = GlobusAppConfig::default()
        .with_env(SdkEnv::from_pairs(vars.clone()))
        .with_token_storage(storage)
        .with_login_flow(LoginFlow::from_handler(approver.clone()));
    let app = match UserApp::new(APP_NAME, CLIENT_ID, config) {
        Ok(app) => app,
        Err(err) => {
            return report.check(false, &format!("{name}: Rust UserApp"), || err.to_string());
        }
    };
    let header = app
        .authorizer("auth.globus.org")
        .map_err(|e| e.to_string())
        .and_then(|a| a.get_authorization_header().map_err(|e| e.to_string()));
    report.check(
        matches!(&header, Ok(Some(h)) if server.is_valid_access_token(h.trim_start_matches("Bearer "))),
        &format!("{name}: Rust authorizer from Python's tokens"),
        || format!("{header:?}"),
    );
    report.check(
        server.token_requests() == after_python && approver.0.load(Ordering::SeqCst) == 0,
        &format!("{name}: ... with no login and no token request"),
        || {
            format!(
                "{} token requests, {} logins",
                server.token_requests(),
                approver.0.load(Ordering::SeqCst)
            )
        },
    );
    report.check(
        app.token_storage().identity_id().as_deref() == Some(IDENTITY_ID),
        &format!("{name}: Rust reads the identity Python stored"),
        || format!("{:?}", app.token_storage().identity_id()),
    );

    // 3. Rust adds a requirement and logs in.
    let requirement = match Scope::parse(TRANSFER_REQUIREMENT) {
        Ok(scopes) => scopes,
        Err(err) => return report.check(false, "parsing the requirement", || err.to_string()),
    };
    app.add_scope_requirements(BTreeMap::from([(TRANSFER.to_owned(), requirement)]));
    let required = app.login_required();
    report.check(
        matches!(required, Ok(true)),
        &format!("{name}: Rust: the new requirement needs a login"),
        || format!("{required:?}"),
    );
    let login = app.login(false);
    report.check(
        login.is_ok() && approver.0.load(Ordering::SeqCst) == 1,
        &format!("{name}: Rust logged in"),
        || format!("{login:?}"),
    );
    let required = app.login_required();
    report.check(
        matches!(required, Ok(false)),
        &format!("{name}: Rust: requirement met"),
        || format!("{required:?}"),
    );
    let transfer_token = app
        .token_storage()
        .get_validated_token_data(TRANSFER)
        .map(|data| data.access_token.expose().to_owned());
    app.close();
    let Ok(transfer_token) = transfer_token else {
        return report.check(
            false,
            &format!("{name}: Rust stored a Transfer token"),
            || format!("{transfer_token:?}"),
        );
    };

    // 4. Python finds the requirement met without logging in.
    let before = server.token_requests();
    let consents_path = format!("/v2/api/identities/{IDENTITY_ID}/consents");
    let lookups = server.requests_to(&consents_path);
    run_python(
        python,
        &["check", name, &transfer_token],
        &vars,
        false,
        report,
    );
    report.check(
        server.token_requests() == before,
        &format!("{name}: Python made no token request"),
        || format!("{} token requests", server.token_requests() - before),
    );
    report.check(
        server.requests_to(&consents_path) > lookups,
        &format!("{name}: Python checked the dependent scope against the consents"),
        || "no consents lookup".to_owned(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(work), Some(_)) = (args.first(), args.get(1)) else {
        eprintln!("usage: app-interop DIR PYTHON [ARGS...]");
        std::process::exit(2);
    };
    let work = PathBuf::from(work);
    let python = args[1..].to_vec();
    let mut report = Report { failed: 0 };
    for storage in [AppStorageKind::Json, AppStorageKind::Sqlite] {
        round(storage, &work, &python, &mut report);
    }
    std::process::exit(i32::from(report.failed > 0));
}
