//! UserApp with the local-server flow: globus-native-login's redirect server receives the code.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use globus_app::app::{GlobusApp, GlobusAppConfig, LoginFlow, UserApp};
use globus_native_login::{LocalServerCodeHandler, NoBrowser};
use globus_tokens_testkit::fake_auth::{FakeAuthServer, IDENTITY_ID};

const CLIENT: &str = "0b0b5a6e-4a4b-4f2b-8b8b-000000000003";

/// A browser: given the printed authorize URL, it approves and follows the redirect to the
/// local server (from another thread, since the server answers only once it waits).
struct Browser {
    shown: String,
    redirects: Arc<Mutex<Vec<String>>>,
}

impl Write for Browser {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.shown.push_str(&String::from_utf8_lossy(bytes));
        if let Some(url) = self
            .shown
            .split_whitespace()
            .find(|w| w.contains("/v2/oauth2/authorize?"))
            .map(str::to_owned)
        {
            self.shown.clear();
            let redirects = Arc::clone(&self.redirects);
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .max_redirects(0)
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(10)))
                    .build()
                    .into();
                let response = agent.get(&url).call().unwrap();
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                redirects.lock().unwrap().push(location.clone());
                let page = agent.get(&location).call().unwrap();
                assert_eq!(page.status().as_u16(), 200);
            });
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_local_server_receives_the_code() {
    let server = FakeAuthServer::start();
    server.register_native_client(CLIENT);
    let home = tempfile::tempdir().unwrap();
    let redirects = Arc::new(Mutex::new(Vec::new()));
    let handler = LocalServerCodeHandler::new()
        .browser_opener(NoBrowser)
        .env_lookup(Arc::new(|_: &str| None))
        .timeout(Duration::from_secs(30))
        .writer(Arc::new(Mutex::new(Box::new(Browser {
            shown: String::new(),
            redirects: Arc::clone(&redirects),
        }))));
    let config = GlobusAppConfig::default()
        .with_env(common::env(&server, home.path()))
        .with_login_flow(LoginFlow::from_handler(handler));
    let app = UserApp::new("Local Server App", CLIENT, config).unwrap();
    app.login(false).unwrap();
    let redirects = redirects.lock().unwrap().clone();
    assert_eq!(redirects.len(), 1);
    assert!(
        redirects[0].starts_with("http://localhost:"),
        "{}",
        redirects[0]
    );
    assert_eq!(
        app.token_storage().identity_id().as_deref(),
        Some(IDENTITY_ID)
    );
    assert!(!app.login_required().unwrap());
}
