//! A test "user": the command-line flow's reader and writer, driven by visiting the authorize
//! URL on the fake Globus Auth (whose 302 carries the code) and pasting the code back.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use globus_app::app::{GlobusAppConfig, LoginFlow};
use globus_authorizers::SdkEnv;
use globus_native_login::{InputCodeHandler, NoBrowser};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

/// What the user saw and did.
#[derive(Default)]
pub(crate) struct UserState {
    /// Text written by the flow.
    pub(crate) shown: String,
    /// Authorize URLs visited.
    pub(crate) visited: Vec<String>,
    /// Bytes typed but not yet read.
    typed: VecDeque<u8>,
    /// The codes typed.
    pub(crate) codes: Vec<String>,
    /// When false, the user types nothing (the flow reads end of input).
    pub(crate) willing: bool,
    /// How long the user takes to type (a person is slow); the reading thread blocks meanwhile.
    pub(crate) think: Duration,
    /// The threads the flow read the keyboard on.
    pub(crate) reader_threads: Vec<std::thread::ThreadId>,
}

/// The simulated user at the terminal.
#[derive(Clone)]
pub(crate) struct User(pub(crate) Arc<Mutex<UserState>>);

impl User {
    pub(crate) fn new() -> Self {
        User(Arc::new(Mutex::new(UserState {
            willing: true,
            ..UserState::default()
        })))
    }

    pub(crate) fn logins(&self) -> usize {
        self.0.lock().unwrap().visited.len()
    }

    pub(crate) fn last_url(&self) -> String {
        self.0
            .lock()
            .unwrap()
            .visited
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// Take `think` to type each code.
    pub(crate) fn set_think(&self, think: Duration) {
        self.0.lock().unwrap().think = think;
    }

    /// The threads the flow read the keyboard on.
    pub(crate) fn reader_threads(&self) -> Vec<std::thread::ThreadId> {
        self.0.lock().unwrap().reader_threads.clone()
    }

    pub(crate) fn set_willing(&self, willing: bool) {
        self.0.lock().unwrap().willing = willing;
    }

    /// The login flow this user drives.
    pub(crate) fn flow(&self) -> LoginFlow {
        LoginFlow::from_handler(
            InputCodeHandler::new()
                .reader(BufReader::new(Keyboard(self.clone())))
                .writer(Arc::new(Mutex::new(Box::new(Screen(self.clone())))))
                .browser_opener(NoBrowser),
        )
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

/// Visit an authorize URL and return the `code` of the redirect.
pub(crate) fn approve(url: &str) -> String {
    let response = agent().get(url).call().unwrap();
    assert_eq!(
        response.status().as_u16(),
        302,
        "authorize did not redirect"
    );
    let location = response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap();
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("no code in the redirect")
}

struct Screen(User);

impl Write for Screen {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut state = self.0.0.lock().unwrap();
        state.shown.push_str(&String::from_utf8_lossy(bytes));
        // A URL on the screen: the user opens it, approves, and types the code.
        let urls: Vec<String> = state
            .shown
            .split_whitespace()
            .filter(|w| w.contains("/v2/oauth2/authorize?"))
            .map(str::to_owned)
            .collect();
        for url in urls {
            if state.visited.contains(&url) {
                continue;
            }
            state.visited.push(url.clone());
            if state.willing {
                let code = approve(&url);
                state.typed.extend(format!("{code}\n").bytes());
                state.codes.push(code);
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Keyboard(User);

impl Read for Keyboard {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let think = {
            let mut state = self.0.0.lock().unwrap();
            state.reader_threads.push(std::thread::current().id());
            state.think
        };
        std::thread::sleep(think);
        let mut state = self.0.0.lock().unwrap();
        let mut n = 0;
        while n < buf.len() {
            match state.typed.pop_front() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

/// globus-sdk's variables pointing at the fake, with `HOME` at `home`.
pub(crate) fn env(server: &FakeAuthServer, home: &Path) -> SdkEnv {
    SdkEnv::from_pairs([
        ("GLOBUS_SDK_SERVICE_URL_AUTH", server.base_url()),
        ("HOME", home.display().to_string()),
    ])
}

/// A config for the fake, with `user` at the terminal.
pub(crate) fn config(server: &FakeAuthServer, home: &Path, user: &User) -> GlobusAppConfig {
    GlobusAppConfig::default()
        .with_env(env(server, home))
        .with_login_flow(user.flow())
}
