//! Shared test helpers: a fake Globus Auth, clients wired to it, and a scripted "browser".
#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use globus_authorizers::{AuthClient, RetryPolicy};
use globus_native_login::{BrowserOpener, EnvLookup, LoginTokenStorage, NativeClient};
use globus_tokens_core::{Clock, ManualClock, SystemClock};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

pub const CLIENT: &str = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5";
pub const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
pub const GROUPS: &str = "urn:globus:auth:scope:groups.api.globus.org:all";

pub fn server() -> FakeAuthServer {
    let server = FakeAuthServer::start();
    server.register_native_client(CLIENT);
    server
}

pub fn auth_client(server: &FakeAuthServer, clock: Arc<dyn Clock>) -> Arc<AuthClient> {
    Arc::new(
        AuthClient::builder(CLIENT)
            .base_url(server.base_url())
            .retry(RetryPolicy::none())
            .timeout(Duration::from_secs(10))
            .clock(clock)
            .build()
            .unwrap(),
    )
}

pub fn now() -> i64 {
    SystemClock.now_seconds()
}

/// A client on `server` with `storage`, a manual clock at the real time, and no handlers.
pub fn client_with(
    server: &FakeAuthServer,
    storage: impl LoginTokenStorage + 'static,
) -> (NativeClient, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(now()));
    let client = NativeClient::builder(CLIENT)
        .app_name("Test <App>")
        .auth_client(auth_client(server, clock.clone()))
        .clock(clock.clone())
        .token_storage(storage)
        .code_handlers(Vec::new())
        .build()
        .unwrap();
    (client, clock)
}

/// An environment without SSH variables (or with the given ones).
pub fn env(vars: &[(&str, &str)]) -> EnvLookup {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Arc::new(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

/// One page load: status and body.
#[derive(Debug, Clone)]
pub struct Visit {
    pub url: String,
    pub status: u16,
    pub body: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

pub fn get(url: &str) -> Visit {
    let mut response = agent().get(url).call().unwrap();
    let mut body = String::new();
    response
        .body_mut()
        .as_reader()
        .read_to_string(&mut body)
        .unwrap();
    Visit {
        url: url.to_owned(),
        status: response.status().as_u16(),
        body,
    }
}

/// GET the authorize URL and return the `Location` it redirects to.
pub fn follow_authorize(url: &str) -> String {
    let response = agent().get(url).call().unwrap();
    assert_eq!(
        response.status().as_u16(),
        302,
        "authorize did not redirect"
    );
    response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// Replace one query parameter of a URL.
pub fn with_param(location: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(location).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear();
    for (k, v) in pairs {
        let v = if k == name { value.to_owned() } else { v };
        url.query_pairs_mut().append_pair(&k, &v);
    }
    url.to_string()
}

pub fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What a scripted browser does with the authorize URL, in a background thread.
pub type Script = Arc<dyn Fn(&str) -> Vec<Visit> + Send + Sync>;

/// A "browser" that runs a script on the URL it is asked to open, like a user clicking
/// through; every page it loads is recorded.
#[derive(Clone)]
pub struct ScriptedBrowser {
    pub opened: Arc<Mutex<Vec<String>>>,
    pub visits: Arc<Mutex<Vec<Visit>>>,
    script: Script,
}

impl std::fmt::Debug for ScriptedBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptedBrowser")
    }
}

impl ScriptedBrowser {
    pub fn new(script: Script) -> Self {
        ScriptedBrowser {
            opened: Arc::default(),
            visits: Arc::default(),
            script,
        }
    }

    /// Follow the authorize redirect to the local server, as a browser does.
    pub fn follows_redirect() -> Self {
        Self::new(Arc::new(|url| vec![get(&follow_authorize(url))]))
    }

    pub fn visits(&self) -> Vec<Visit> {
        self.visits.lock().unwrap().clone()
    }

    /// The pages loaded, once the script has loaded `count` of them (the script runs in its
    /// own thread and may finish after the login returns).
    pub fn wait_for_visits(&self, count: usize) -> Vec<Visit> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let visits = self.visits();
            if visits.len() >= count || std::time::Instant::now() > deadline {
                return visits;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl BrowserOpener for ScriptedBrowser {
    fn open(&self, url: &str) -> std::io::Result<()> {
        self.opened.lock().unwrap().push(url.to_owned());
        let script = Arc::clone(&self.script);
        let visits = Arc::clone(&self.visits);
        let url = url.to_owned();
        std::thread::spawn(move || {
            let pages = script(&url);
            visits.lock().unwrap().extend(pages);
        });
        Ok(())
    }
}
