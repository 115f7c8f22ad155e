//! Code handlers: how the authorization code gets from Globus Auth back to the program.

mod input;
mod local_server;

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use globus_tokens_core::Secret;

use crate::error::Result;

pub use input::InputCodeHandler;
pub use local_server::{DEFAULT_TEMPLATE, LocalServerCodeHandler};

/// Looks up an environment variable; injectable so tests can pretend to be in an SSH session.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where handlers write messages for the user (default: standard error).
pub type MessageWriter = Arc<Mutex<Box<dyn Write + Send>>>;

/// The process environment, through `std::env::var`.
pub fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok())
}

/// A writer to standard error, the default for handler messages.
pub fn stderr_writer() -> MessageWriter {
    Arc::new(Mutex::new(Box::new(std::io::stderr())))
}

/// The environment variables whose presence marks an SSH session (a non-empty value).
pub const SSH_VARIABLES: [&str; 3] = ["SSH_TTY", "SSH_CONNECTION", "SSH_CLIENT"];

/// Whether `env` says this is an SSH session, where no local browser can reach a local server.
///
/// ```
/// use std::sync::Arc;
/// use globus_native_login::is_remote_session;
/// assert!(is_remote_session(&(Arc::new(|name: &str| (name == "SSH_CLIENT").then(|| "10.0.0.1 2222 22".to_owned())) as _)));
/// assert!(!is_remote_session(&(Arc::new(|_: &str| None) as _)));
/// ```
pub fn is_remote_session(env: &EnvLookup) -> bool {
    SSH_VARIABLES
        .iter()
        .any(|name| env(name).is_some_and(|value| !value.is_empty()))
}

/// Opens a URL in the user's web browser; injectable so tests never open one.
pub trait BrowserOpener: Send + Sync + fmt::Debug {
    /// Open `url`; an error makes the handler print the URL instead.
    fn open(&self, url: &str) -> std::io::Result<()>;
}

/// Opens URLs with the platform's opener: `open` on macOS, `rundll32 url.dll` on Windows,
/// `xdg-open` elsewhere. The command's output is discarded; it is not waited for.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBrowser;

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &str) -> std::io::Result<()> {
        let mut command = if cfg!(target_os = "macos") {
            std::process::Command::new("open")
        } else if cfg!(windows) {
            let mut command = std::process::Command::new("rundll32");
            command.arg("url.dll,FileProtocolHandler");
            command
        } else {
            std::process::Command::new("xdg-open")
        };
        command
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map(|_child| ())
    }
}

/// What a login asked of the handlers (from [`crate::LoginOptions`] and the client).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct HandlerContext<'a> {
    /// The application name, for pages and messages.
    pub app_name: &'a str,
    /// Do not run a local server.
    pub no_local_server: bool,
    /// Do not open a browser; print the URL instead.
    pub no_browser: bool,
}

impl<'a> HandlerContext<'a> {
    /// A context for `app_name` with both options off.
    pub fn new(app_name: &'a str) -> Self {
        HandlerContext {
            app_name,
            no_local_server: false,
            no_browser: false,
        }
    }

    /// Set `no_local_server`.
    pub fn no_local_server(mut self, value: bool) -> Self {
        self.no_local_server = value;
        self
    }

    /// Set `no_browser`.
    pub fn no_browser(mut self, value: bool) -> Self {
        self.no_browser = value;
        self
    }
}

/// What a handler's [`CodeSession::authenticate`] got.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodeOutcome {
    /// The authorization code.
    Code(Secret),
    /// The user gave up on this handler (end of input, cancel): the next handler is tried.
    Cancelled,
}

/// fair-research-login's `CodeHandler`: one way to get the authorization code.
///
/// [`crate::NativeClient::login`] tries its handlers in order: it skips one that is not
/// available, calls [`CodeHandler::start`], builds the authorize URL for the session's redirect
/// URI and calls [`CodeSession::authenticate`]. [`CodeOutcome::Cancelled`] moves on to the next
/// handler; an error (such as [`crate::LoginError::Consent`]) stops the login.
pub trait CodeHandler: Send + Sync + fmt::Debug {
    /// A short name for messages and errors, e.g. `"local server"`.
    fn name(&self) -> &str;

    /// Whether this handler can run now (the local server cannot in an SSH session).
    fn is_available(&self, context: &HandlerContext<'_>) -> bool {
        let _ = context;
        true
    }

    /// Prepare a login: the local server binds its port here.
    fn start(&self, context: &HandlerContext<'_>) -> Result<Box<dyn CodeSession>>;
}

/// One login attempt through a [`CodeHandler`].
pub trait CodeSession: Send {
    /// The redirect URI to put in the authorize URL; `None` for Globus Auth's page that shows
    /// the code for the user to paste.
    fn redirect_uri(&self) -> Option<String>;

    /// Send the user to `authorize_url` and wait for the code. `state` is the random value in
    /// the URL, for handlers that receive the redirect themselves to check.
    fn authenticate(self: Box<Self>, authorize_url: &str, state: &str) -> Result<CodeOutcome>;
}

/// How the handlers reach the user: environment, browser and message writer.
#[derive(Clone)]
pub(crate) struct UserAgent {
    pub(crate) env: EnvLookup,
    pub(crate) browser: Arc<dyn BrowserOpener>,
    pub(crate) writer: MessageWriter,
}

impl fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserAgent")
            .field("browser", &self.browser)
            .finish_non_exhaustive()
    }
}

impl Default for UserAgent {
    fn default() -> Self {
        UserAgent {
            env: process_env(),
            browser: Arc::new(SystemBrowser),
            writer: stderr_writer(),
        }
    }
}

impl UserAgent {
    /// Write a line for the user; a failing terminal is not worth failing the login for.
    pub(crate) fn say(&self, message: &str) {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(writer, "{message}");
        let _ = writer.flush();
    }

    /// Open the browser at `url`, or print it when told not to, when remote, or when opening fails.
    pub(crate) fn send_to(&self, url: &str, no_browser: bool) {
        let opened = !no_browser && !is_remote_session(&self.env) && self.browser.open(url).is_ok();
        if !opened {
            self.say(&format!(
                "Please paste the following URL in a browser:\n{url}"
            ));
        }
    }
}

/// A [`BrowserOpener`] that never opens anything (so handlers print the URL): for tests and
/// programs that must not start a browser.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBrowser;

impl BrowserOpener for NoBrowser {
    fn open(&self, _url: &str) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "browser opening is disabled",
        ))
    }
}

/// A [`MessageWriter`] appending to a shared buffer, to capture what handlers tell the user.
pub fn buffer_writer(buffer: &Arc<Mutex<Vec<u8>>>) -> MessageWriter {
    Arc::new(Mutex::new(Box::new(BufferWriter(Arc::clone(buffer)))))
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
