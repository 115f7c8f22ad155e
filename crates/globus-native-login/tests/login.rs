//! Login flows against the fake Globus Auth over real HTTP: the local server driven by an HTTP
//! client that follows the authorize redirect like a browser, the pasted-code path with a
//! scripted terminal, handler selection, SSH detection, timeout and consent errors.

mod common;

use std::io::{BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use globus_native_login::handlers::buffer_writer;
use globus_native_login::{
    CodeHandler, HandlerContext, InputCodeHandler, LocalServerCodeHandler, LoginError,
    LoginOptions, LoginTokenStorage, MultiClientTokenStorage, NativeClient, NoBrowser,
};
use globus_tokens_core::ManualClock;
use globus_tokens_testkit::fake_auth::FakeAuthServer;

fn native_client(
    server: &FakeAuthServer,
    storage: Option<MultiClientTokenStorage>,
    handlers: Vec<Arc<dyn CodeHandler>>,
) -> NativeClient {
    let clock = Arc::new(ManualClock::new(now()));
    let builder = NativeClient::builder(CLIENT)
        .app_name("Test <App>")
        .auth_client(auth_client(server, clock.clone()))
        .clock(clock)
        .code_handlers(handlers);
    match storage {
        Some(storage) => builder.token_storage(storage),
        None => builder.no_token_storage(),
    }
    .build()
    .unwrap()
}

fn local_handler(browser: &ScriptedBrowser) -> LocalServerCodeHandler {
    LocalServerCodeHandler::new()
        .env_lookup(env(&[]))
        .browser_opener(browser.clone())
        .writer(buffer_writer(&Arc::default()))
        .timeout(Duration::from_secs(20))
}

#[test]
fn full_login_through_the_local_server_then_saved_tokens_without_requests() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    let browser = ScriptedBrowser::follows_redirect();
    let client = native_client(
        &server,
        Some(MultiClientTokenStorage::new(&path, CLIENT)),
        vec![Arc::new(local_handler(&browser))],
    );
    let options = LoginOptions::new()
        .requested_scopes(["openid profile", TRANSFER])
        .refresh_tokens(true)
        .query_param("session_message", "hello");
    let tokens = client.login(&options).unwrap();
    assert_eq!(
        tokens.keys().collect::<Vec<_>>(),
        ["auth.globus.org", "transfer.api.globus.org"]
    );
    assert!(tokens.values().all(|t| t.refresh_token.is_some()));
    for data in tokens.values() {
        assert!(server.is_valid_access_token(data.access_token.expose()));
        assert_eq!(
            data.identity_id.as_deref(),
            Some(globus_tokens_testkit::fake_auth::IDENTITY_ID),
            "the identity of the id_token is returned"
        );
    }
    // What fair-research-login's formats keep: the six fields, without identity_id.
    let six_fields: std::collections::BTreeMap<_, _> = tokens
        .iter()
        .map(|(rs, data)| {
            let mut data = data.clone();
            data.identity_id = None;
            (rs.clone(), data)
        })
        .collect();

    // The authorize request: PKCE S256, random state, named grant, offline, extra param,
    // redirect to http://localhost:PORT.
    let opened = browser.opened.lock().unwrap().clone();
    assert_eq!(opened.len(), 1);
    let url = &opened[0];
    assert_eq!(param(url, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        param(url, "prefill_named_grant").as_deref(),
        Some("Test <App> Login")
    );
    assert_eq!(param(url, "access_type").as_deref(), Some("offline"));
    assert_eq!(param(url, "session_message").as_deref(), Some("hello"));
    assert_eq!(
        param(url, "scope").unwrap(),
        format!("openid profile {TRANSFER}")
    );
    let state = param(url, "state").unwrap();
    assert_eq!(state.len(), 64);
    let redirect = param(url, "redirect_uri").unwrap();
    assert!(redirect.starts_with("http://localhost:"), "{redirect}");
    assert!(
        !redirect
            .trim_start_matches("http://localhost:")
            .contains('/')
    );

    // The exchange sent the verifier, which the server checked against the challenge.
    let exchange = server
        .requests()
        .into_iter()
        .find(|r| r.form_value("grant_type") == Some("authorization_code"))
        .unwrap();
    assert!(exchange.form_value("code_verifier").is_some());
    assert_eq!(exchange.form_value("redirect_uri"), Some(redirect.as_str()));

    // The browser saw the success page, with the app name escaped.
    let visits = browser.wait_for_visits(1);
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].status, 200);
    assert!(visits[0].body.contains("Login Successful"));
    assert!(visits[0].body.contains("Test &lt;App&gt;"));
    assert!(!visits[0].body.contains("<App>"));

    // Saved, and a second login returns them without any request.
    let saved = MultiClientTokenStorage::new(&path, CLIENT)
        .read_tokens()
        .unwrap();
    assert_eq!(saved, six_fields);
    let requests = server.requests().len();
    let again = client.login(&options).unwrap();
    assert_eq!(again, six_fields);
    assert_eq!(
        server.requests().len(),
        requests,
        "no request for saved tokens"
    );
    assert_eq!(browser.opened.lock().unwrap().len(), 1);

    // force: a new flow.
    let forced = client.login(&options.clone().force(true)).unwrap();
    assert_ne!(forced, tokens);
}

#[test]
fn a_forged_state_is_rejected_and_the_real_redirect_still_logs_in() {
    let server = server();
    let browser = ScriptedBrowser::new(Arc::new(|url| {
        let location = follow_authorize(url);
        let base = location.split('?').next().unwrap().to_owned();
        let forged_code = get(&with_param(&location, "state", "forged-by-another-page"));
        let no_state = get(&format!("{base}?code=stolen"));
        let other_path = get(&format!("{base}favicon.ico"));
        let real = get(&location);
        vec![forged_code, no_state, other_path, real]
    }));
    let client = native_client(&server, None, vec![Arc::new(local_handler(&browser))]);
    let tokens = client
        .login(&LoginOptions::new().requested_scopes([TRANSFER]))
        .unwrap();
    assert!(tokens.contains_key("transfer.api.globus.org"));
    let visits = browser.wait_for_visits(4);
    assert_eq!(visits.len(), 4);
    assert_eq!(visits[0].status, 400);
    assert!(visits[0].body.contains("state does not match"));
    assert_eq!(visits[1].status, 400);
    assert_eq!(visits[2].status, 404);
    assert_eq!(visits[3].status, 200);
    assert!(visits[3].body.contains("Login Successful"));
    // One exchange only: the forged requests never reached the token endpoint.
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn a_consent_error_stops_with_a_typed_error_and_an_escaped_page() {
    let server = server();
    server.set_authorize_error(Some("access_denied"));
    let browser = ScriptedBrowser::follows_redirect();
    let input = InputCodeHandler::new()
        .reader(std::io::Cursor::new(b"would-be-code\n".to_vec()))
        .writer(buffer_writer(&Arc::default()))
        .browser_opener(NoBrowser);
    let client = native_client(
        &server,
        None,
        vec![Arc::new(local_handler(&browser)), Arc::new(input)],
    );
    let err = client
        .login(&LoginOptions::new().requested_scopes([TRANSFER]))
        .unwrap_err();
    match &err {
        LoginError::Consent { error, description } => {
            assert_eq!(error, "access_denied");
            assert_eq!(
                description.as_deref(),
                Some("The user did not grant consent")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.token_requests(),
        0,
        "the pasted-code handler was not tried"
    );
    let visits = browser.wait_for_visits(1);
    assert!(visits[0].body.contains("Login Failed"));
    assert!(visits[0].body.contains("The user did not grant consent"));

    // Anything echoed is escaped.
    let handler = LocalServerCodeHandler::new();
    let page = handler.render_page("<script>", "Login Failed", "<img src=x onerror=alert(1)>");
    assert!(
        !page.contains("<script>") && !page.contains("<img"),
        "{page}"
    );
}

/// A terminal the test types into: the handler reads the pipe, the "user" watches the output
/// for the URL, logs in with a browser and pastes the code shown.
fn scripted_terminal(
    output: Arc<Mutex<Vec<u8>>>,
) -> (
    BufReader<std::io::PipeReader>,
    std::thread::JoinHandle<String>,
) {
    let (reader, mut writer) = std::io::pipe().unwrap();
    let user = std::thread::spawn(move || {
        let url = loop {
            let shown = String::from_utf8(output.lock().unwrap().clone()).unwrap();
            if let Some(line) = shown.lines().find(|l| l.contains("/v2/oauth2/authorize?")) {
                break line.trim().to_owned();
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let location = follow_authorize(&url);
        let code = param(&location, "code").unwrap();
        writeln!(writer, "  {code}  ").unwrap();
        url
    });
    (BufReader::new(reader), user)
}

#[test]
fn pasted_code_in_an_ssh_session() {
    let server = server();
    let output = Arc::new(Mutex::new(Vec::new()));
    let (reader, user) = scripted_terminal(Arc::clone(&output));
    let ssh = env(&[("SSH_CONNECTION", "10.0.0.1 51000 10.0.0.2 22")]);
    let never = ScriptedBrowser::new(Arc::new(|_| panic!("no browser in an SSH session")));
    let local = LocalServerCodeHandler::new()
        .env_lookup(ssh.clone())
        .browser_opener(never.clone());
    let input = InputCodeHandler::new()
        .reader(reader)
        .writer(buffer_writer(&output))
        .env_lookup(ssh)
        .browser_opener(never.clone());
    let dir = tempfile::tempdir().unwrap();
    let client = native_client(
        &server,
        Some(MultiClientTokenStorage::new(
            dir.path().join("a.cfg"),
            CLIENT,
        )),
        vec![Arc::new(local), Arc::new(input)],
    );
    let tokens = client
        .login(&LoginOptions::new().requested_scopes(["openid", GROUPS]))
        .unwrap();
    assert_eq!(tokens.len(), 2);
    let url = user.join().unwrap();
    assert_eq!(
        param(&url, "redirect_uri").unwrap(),
        format!("{}v2/web/auth-code", server.base_url())
    );
    assert!(never.opened.lock().unwrap().is_empty());
    let shown = String::from_utf8(output.lock().unwrap().clone()).unwrap();
    assert!(shown.contains("Please paste the following URL in a browser:"));
    assert!(shown.contains("Please Paste your Auth Code Below:"));
}

#[test]
fn no_local_server_uses_the_next_handler() {
    let server = server();
    let output = Arc::new(Mutex::new(Vec::new()));
    let (reader, user) = scripted_terminal(Arc::clone(&output));
    let unused = ScriptedBrowser::follows_redirect();
    let input = InputCodeHandler::new()
        .reader(reader)
        .writer(buffer_writer(&output))
        .env_lookup(env(&[]))
        .browser_opener(NoBrowser);
    let client = native_client(
        &server,
        None,
        vec![Arc::new(local_handler(&unused)), Arc::new(input)],
    );
    let tokens = client
        .login(
            &LoginOptions::new()
                .requested_scopes([TRANSFER])
                .no_local_server(true)
                .no_browser(true),
        )
        .unwrap();
    assert!(tokens.contains_key("transfer.api.globus.org"));
    user.join().unwrap();
    assert!(unused.opened.lock().unwrap().is_empty());
}

#[test]
fn end_of_input_cancels_and_no_handler_left_is_an_error() {
    let server = server();
    let input = InputCodeHandler::new()
        .reader(std::io::Cursor::new(Vec::new()))
        .writer(buffer_writer(&Arc::default()))
        .browser_opener(NoBrowser);
    let blank = InputCodeHandler::new()
        .reader(std::io::Cursor::new(b"   \n".to_vec()))
        .writer(buffer_writer(&Arc::default()))
        .browser_opener(NoBrowser);
    let client = native_client(&server, None, vec![Arc::new(input), Arc::new(blank)]);
    let err = client
        .login(&LoginOptions::new().requested_scopes([TRANSFER]))
        .unwrap_err();
    match err {
        LoginError::NoAuthorizationCode { tried } => {
            assert_eq!(tried, ["pasted code", "pasted code"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn the_local_server_times_out() {
    let server = server();
    let idle = ScriptedBrowser::new(Arc::new(|_| Vec::new()));
    let handler = local_handler(&idle).timeout(Duration::from_millis(300));
    let client = native_client(&server, None, vec![Arc::new(handler)]);
    let started = std::time::Instant::now();
    let err = client
        .login(&LoginOptions::new().requested_scopes([TRANSFER]))
        .unwrap_err();
    assert!(
        matches!(err, LoginError::LocalServerTimeout { .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_local_server_cancel_flag_moves_to_the_next_handler() {
    let server = server();
    let idle = ScriptedBrowser::new(Arc::new(|_| Vec::new()));
    let handler = local_handler(&idle);
    let flag = handler.cancel_flag();
    let input = InputCodeHandler::new()
        .reader(std::io::Cursor::new(Vec::new()))
        .writer(buffer_writer(&Arc::default()))
        .browser_opener(NoBrowser);
    let client = native_client(&server, None, vec![Arc::new(handler), Arc::new(input)]);
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let err = client
        .login(&LoginOptions::new().requested_scopes([TRANSFER]))
        .unwrap_err();
    canceller.join().unwrap();
    match err {
        LoginError::NoAuthorizationCode { tried } => {
            assert_eq!(tried, ["local server", "pasted code"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ssh_sessions_disable_the_local_server_and_the_browser() {
    let context = HandlerContext::new("App");
    for var in ["SSH_TTY", "SSH_CONNECTION", "SSH_CLIENT"] {
        let handler = LocalServerCodeHandler::new().env_lookup(env(&[(var, "x")]));
        assert!(!handler.is_available(&context), "{var}");
        assert!(globus_native_login::is_remote_session(&env(&[(var, "x")])));
    }
    let local = LocalServerCodeHandler::new().env_lookup(env(&[("SSH_TTY", "")]));
    assert!(
        local.is_available(&context),
        "an empty value is not a session"
    );
    assert!(!local.is_available(&context.no_local_server(true)));
}

#[test]
fn the_local_server_listens_on_loopback_only() {
    let handler = LocalServerCodeHandler::new()
        .env_lookup(env(&[]))
        .writer(buffer_writer(&Arc::default()));
    let session = handler.start(&HandlerContext::new("App")).unwrap();
    let uri = session.redirect_uri().unwrap();
    let port: u16 = uri.trim_start_matches("http://localhost:").parse().unwrap();
    assert_ne!(port, 0);
    // Reachable on 127.0.0.1 only: on Linux all of 127/8 is loopback, so a server bound to
    // 0.0.0.0 would also answer on 127.0.0.2.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    if cfg!(target_os = "linux") {
        assert!(std::net::TcpStream::connect(("127.0.0.2", port)).is_err());
    }
}

#[test]
fn without_storage_login_always_runs_a_flow() {
    let server = server();
    let browser = ScriptedBrowser::follows_redirect();
    let client = native_client(&server, None, vec![Arc::new(local_handler(&browser))]);
    let options = LoginOptions::new().requested_scopes([TRANSFER]);
    client.login(&options).unwrap();
    client.login(&options).unwrap();
    assert_eq!(server.token_requests(), 2);
    assert!(matches!(
        client.load_tokens(&[TRANSFER]),
        Err(LoginError::StorageDisabled)
    ));
    assert!(matches!(client.logout(), Err(LoginError::StorageDisabled)));
}

#[test]
fn default_scopes_are_used_when_none_are_requested() {
    let server = server();
    let browser = ScriptedBrowser::follows_redirect();
    let clock = Arc::new(ManualClock::new(now()));
    let client = NativeClient::builder(CLIENT)
        .auth_client(auth_client(&server, clock.clone()))
        .clock(clock)
        .default_scopes(["openid", "email"])
        .no_token_storage()
        .code_handlers(vec![Arc::new(local_handler(&browser))])
        .build()
        .unwrap();
    assert_eq!(client.app_name(), "My App");
    client.login(&LoginOptions::new()).unwrap();
    let url = browser.opened.lock().unwrap()[0].clone();
    assert_eq!(param(&url, "scope").as_deref(), Some("openid email"));
    assert_eq!(
        param(&url, "prefill_named_grant").as_deref(),
        Some("My App Login")
    );
    assert_eq!(param(&url, "access_type").as_deref(), Some("online"));
}
