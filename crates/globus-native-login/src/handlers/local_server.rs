//! fair-research-login's `LocalServerCodeHandler`: a one-shot HTTP server on loopback receives
//! the browser's redirect.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use globus_tokens_core::Secret;

use super::{
    BrowserOpener, CodeHandler, CodeOutcome, CodeSession, EnvLookup, HandlerContext, MessageWriter,
    UserAgent, is_remote_session,
};
use crate::error::{LoginError, Result, shorten};

const NAME: &str = "local server";
const MAX_REQUEST_HEAD: usize = 16 * 1024;
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// The whole time one connection may take, from accept to the last byte of the answer: a
/// client that sends nothing, or one byte at a time, is dropped after it.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(5);
/// Connections served at once (one thread each). Beyond it new connections are closed at once;
/// a slot frees within [`CONNECTION_DEADLINE`].
const MAX_CONNECTIONS: usize = 16;

/// The page served after the redirect. `$app_name`, `$login_result`, `$error` and
/// `$post_login_message` are replaced (HTML-escaped), as in fair-research-login's template.
pub const DEFAULT_TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en-US">
<head>
  <meta charset="utf-8">
  <title>$app_name Login</title>
  <style>
    body { font: 16px "Helvetica Neue", Arial, Helvetica, sans-serif; margin: 0; }
    header { background: #2e5793; color: #fff; padding: 16px 24px; font-size: 20px; }
    main { max-width: 640px; margin: 24px auto; color: #333; line-height: 150%; }
    h1 { border-bottom: solid 1px #aaa; font-weight: normal; }
  </style>
</head>
<body>
  <header>Globus</header>
  <main>
    <h1>$app_name</h1>
    <p>$login_result. You may close this tab.</p>
    <p>$error</p>
    <p>$post_login_message</p>
  </main>
</body>
</html>
"#;

/// Receives the authorization code on a local HTTP server: binds `127.0.0.1` (never all
/// interfaces) on a port the OS chooses, uses the redirect URI `http://localhost:PORT` (as
/// fair-research-login does), opens the browser at the authorize URL (or prints the URL with
/// `no_browser`), and waits for the browser to come back.
///
/// - Connections are served concurrently (up to 16 at once, one thread each), and each has 5
///   seconds in all to send its request and take the answer, so idle or slow connections to
///   the port cannot hold up the browser's redirect.
/// - Only `GET /` (the callback) is answered with a page; other paths get 404 and the server
///   keeps waiting.
/// - The `state` in the redirect must be the one sent. A redirect with another state (a forged
///   request from another page or program) gets a "rejected" page and the server **keeps
///   waiting** for the real redirect, so a forgery can neither log the user in to someone
///   else's grant nor abort their login.
/// - `error=...` in the redirect (consent declined) serves the error page and stops the login
///   with [`LoginError::Consent`].
/// - No redirect within the timeout (default 10 minutes) is [`LoginError::LocalServerTimeout`].
/// - Unavailable in an SSH session (`SSH_TTY`, `SSH_CONNECTION` or `SSH_CLIENT` set) and with
///   `no_local_server`: the next handler runs.
/// - Everything echoed into the page is HTML-escaped.
///
/// A program that handles Ctrl-C itself can cancel the wait (moving on to the next handler)
/// through [`LocalServerCodeHandler::cancel_flag`].
///
/// ```
/// use std::sync::Arc;
/// use globus_native_login::{CodeHandler, HandlerContext, LocalServerCodeHandler};
///
/// let handler = LocalServerCodeHandler::new()
///     .env_lookup(Arc::new(|name: &str| (name == "SSH_TTY").then(|| "/dev/pts/1".to_owned())));
/// assert!(!handler.is_available(&HandlerContext::new("My App"))); // remote session
/// ```
#[derive(Debug, Clone)]
pub struct LocalServerCodeHandler {
    agent: UserAgent,
    template: String,
    post_login_message: String,
    cli_message: String,
    timeout: Duration,
    cancel: Arc<AtomicBool>,
}

impl Default for LocalServerCodeHandler {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalServerCodeHandler {
    /// A handler with the default page, a 10-minute timeout, the process environment, the
    /// system browser and messages on standard error.
    pub fn new() -> Self {
        LocalServerCodeHandler {
            agent: UserAgent::default(),
            template: DEFAULT_TEMPLATE.to_owned(),
            post_login_message: String::new(),
            cli_message: "Starting login with Globus Auth, press ^C to cancel.".to_owned(),
            timeout: Duration::from_secs(600),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// How long to wait for the browser's redirect.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The page template (see [`DEFAULT_TEMPLATE`] for the placeholders).
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = template.into();
        self
    }

    /// Text for the page's `$post_login_message`.
    pub fn post_login_message(mut self, message: impl Into<String>) -> Self {
        self.post_login_message = message.into();
        self
    }

    /// The line written when the server starts.
    pub fn cli_message(mut self, message: impl Into<String>) -> Self {
        self.cli_message = message.into();
        self
    }

    /// Write messages to `writer` instead of standard error.
    pub fn writer(mut self, writer: MessageWriter) -> Self {
        self.agent.writer = writer;
        self
    }

    /// Open the browser with `opener`.
    pub fn browser_opener(mut self, opener: impl BrowserOpener + 'static) -> Self {
        self.agent.browser = Arc::new(opener);
        self
    }

    /// Look environment variables up with `env` (SSH detection).
    pub fn env_lookup(mut self, env: EnvLookup) -> Self {
        self.agent.env = env;
        self
    }

    /// Setting this flag to `true` ends a running wait with [`CodeOutcome::Cancelled`] (it is
    /// reset when the next login starts).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Render the page for `app_name` with a result and an error text (both escaped).
    pub fn render_page(&self, app_name: &str, login_result: &str, error: &str) -> String {
        render(
            &self.template,
            &[
                ("app_name", app_name),
                ("login_result", login_result),
                ("error", error),
                ("post_login_message", &self.post_login_message),
            ],
        )
    }
}

impl CodeHandler for LocalServerCodeHandler {
    fn name(&self) -> &str {
        NAME
    }

    fn is_available(&self, context: &HandlerContext<'_>) -> bool {
        !context.no_local_server && !is_remote_session(&self.agent.env)
    }

    fn start(&self, context: &HandlerContext<'_>) -> Result<Box<dyn CodeSession>> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|err| LoginError::handler(NAME, "binding 127.0.0.1", err))?;
        listener
            .set_nonblocking(true)
            .map_err(|err| LoginError::handler(NAME, "configuring the listener", err))?;
        let addr = listener
            .local_addr()
            .map_err(|err| LoginError::handler(NAME, "reading the listener's port", err))?;
        self.cancel.store(false, Ordering::SeqCst);
        self.agent.say(&self.cli_message);
        Ok(Box::new(LocalSession {
            handler: self.clone(),
            listener,
            addr,
            app_name: context.app_name.to_owned(),
            no_browser: context.no_browser,
        }))
    }
}

struct LocalSession {
    handler: LocalServerCodeHandler,
    listener: TcpListener,
    addr: SocketAddr,
    app_name: String,
    no_browser: bool,
}

/// What one request to the server meant.
enum Callback {
    Code(Secret),
    Denied {
        error: String,
        description: Option<String>,
    },
    KeepWaiting,
}

impl Callback {
    /// The login's result, if this request ends it.
    fn ends_login(self) -> Option<Result<CodeOutcome>> {
        match self {
            Callback::Code(code) => Some(Ok(CodeOutcome::Code(code))),
            Callback::Denied { error, description } => {
                Some(Err(LoginError::Consent { error, description }))
            }
            Callback::KeepWaiting => None,
        }
    }
}

/// What a connection's thread needs: shared, read-only.
struct Responder {
    handler: LocalServerCodeHandler,
    app_name: String,
    state: String,
}

/// Counts a connection's thread as running until dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl CodeSession for LocalSession {
    fn redirect_uri(&self) -> Option<String> {
        Some(format!("http://localhost:{}", self.addr.port()))
    }

    fn authenticate(self: Box<Self>, authorize_url: &str, state: &str) -> Result<CodeOutcome> {
        self.handler.agent.send_to(authorize_url, self.no_browser);
        let deadline = Instant::now() + self.handler.timeout;
        let responder = Arc::new(Responder {
            handler: self.handler.clone(),
            app_name: self.app_name.clone(),
            state: state.to_owned(),
        });
        let running = Arc::new(AtomicUsize::new(0));
        let (results, outcomes) = mpsc::channel::<Callback>();
        loop {
            if self.handler.cancel.load(Ordering::SeqCst) {
                return Ok(CodeOutcome::Cancelled);
            }
            // Answers first: a redirect already served wins over the deadline.
            while let Ok(callback) = outcomes.try_recv() {
                if let Some(end) = callback.ends_login() {
                    return end;
                }
            }
            match self.listener.accept() {
                Ok((stream, _peer)) => {
                    if running.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                        tracing::debug!("redirect server busy; connection closed");
                        continue;
                    }
                    running.fetch_add(1, Ordering::SeqCst);
                    let slot = Slot(Arc::clone(&running));
                    let responder = Arc::clone(&responder);
                    let results = results.clone();
                    let spawned = std::thread::Builder::new()
                        .name("login-redirect".to_owned())
                        .spawn(move || {
                            let _slot = slot;
                            let callback = responder.serve(stream);
                            // The login may have ended meanwhile; nobody to tell then.
                            let _ = results.send(callback);
                        });
                    if let Err(err) = spawned {
                        tracing::debug!(error = %err, "cannot start a thread for a connection");
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(LoginError::LocalServerTimeout {
                            redirect_uri: self.redirect_uri().unwrap_or_default(),
                            seconds: self.handler.timeout.as_secs(),
                        });
                    }
                    // Wakes at once when a connection's thread has an answer.
                    if let Ok(callback) = outcomes.recv_timeout(POLL_INTERVAL)
                        && let Some(end) = callback.ends_login()
                    {
                        return end;
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => {
                    return Err(LoginError::handler(NAME, "accepting a connection", err));
                }
            }
        }
    }
}

impl Responder {
    /// Answer one connection within [`CONNECTION_DEADLINE`]; a broken or slow client is
    /// ignored (the server keeps waiting).
    fn serve(&self, mut stream: TcpStream) -> Callback {
        let deadline = Instant::now() + CONNECTION_DEADLINE;
        if stream.set_nonblocking(false).is_err()
            || stream.set_write_timeout(Some(CONNECTION_DEADLINE)).is_err()
        {
            return Callback::KeepWaiting;
        }
        let Some(head) = read_head(&mut stream, deadline) else {
            return Callback::KeepWaiting;
        };
        let expected_state = self.state.as_str();
        let mut words = head.lines().next().unwrap_or_default().split_whitespace();
        let (method, target) = (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        );
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if path != "/" {
            respond(
                &mut stream,
                404,
                "Not Found",
                "text/plain; charset=utf-8",
                "not found\n",
            );
            return Callback::KeepWaiting;
        }
        if method != "GET" {
            respond(
                &mut stream,
                405,
                "Method Not Allowed",
                "text/plain; charset=utf-8",
                "method not allowed\n",
            );
            return Callback::KeepWaiting;
        }
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let state_ok = get("state") == Some(expected_state);
        let handler = &self.handler;
        if !state_ok {
            let page = handler.render_page(
                &self.app_name,
                "Login Failed",
                "This request did not come from the login this program started (its state does not match), so it was ignored.",
            );
            respond(
                &mut stream,
                400,
                "Bad Request",
                "text/html; charset=utf-8",
                &page,
            );
            return Callback::KeepWaiting;
        }
        if let Some(error) = get("error") {
            let description = get("error_description").map(shorten);
            let shown = description.clone().unwrap_or_else(|| shorten(error));
            let page = handler.render_page(&self.app_name, "Login Failed", &shown);
            respond(&mut stream, 200, "OK", "text/html; charset=utf-8", &page);
            return Callback::Denied {
                error: shorten(error),
                description,
            };
        }
        match get("code").filter(|code| !code.is_empty()) {
            Some(code) => {
                let page = handler.render_page(&self.app_name, "Login Successful", "");
                respond(&mut stream, 200, "OK", "text/html; charset=utf-8", &page);
                Callback::Code(Secret::new(code))
            }
            None => {
                let page = handler.render_page(
                    &self.app_name,
                    "Login Failed",
                    "The redirect carried no authorization code.",
                );
                respond(
                    &mut stream,
                    400,
                    "Bad Request",
                    "text/html; charset=utf-8",
                    &page,
                );
                Callback::KeepWaiting
            }
        }
    }
}

/// Read up to the end of the request head (`\r\n\r\n`), at most 16 KiB, before `deadline`.
fn read_head(stream: &mut TcpStream, deadline: Instant) -> Option<String> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let remaining = deadline.checked_duration_since(Instant::now())?;
        if remaining.is_zero() {
            return None;
        }
        // Each read waits at most until the connection's deadline, however the bytes trickle.
        stream.set_read_timeout(Some(remaining)).ok()?;
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if buffer.windows(4).any(|w| w == b"\r\n\r\n") || buffer.len() > MAX_REQUEST_HEAD {
            break;
        }
    }
    if buffer.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(&buffer).into_owned())
}

fn respond(stream: &mut TcpStream, status: u16, reason: &str, content_type: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

/// Escape text for HTML element content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

/// Substitute `$name` and `${name}` in `template` with escaped values (`$$` is `$`), as
/// Python's `string.Template` does; unknown placeholders are left as they are.
fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match vars
            .iter()
            .find(|(n, _)| *n == name)
            .filter(|_| !name.is_empty())
        {
            Some((_, value)) => {
                out.push_str(&html_escape(value));
                rest = &after[consumed..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_substitution_escapes() {
        let page = render(
            "<h1>$app_name</h1>${error}$$x $unknown",
            &[("app_name", "<b>&"), ("error", "\"'")],
        );
        assert_eq!(page, "<h1>&lt;b&gt;&amp;</h1>&quot;&#x27;$x $unknown");
    }
}
