//! fair-research-login's `InputCodeHandler`: the user pastes the code.

use std::io::BufRead;
use std::sync::{Arc, Mutex, PoisonError};

use globus_tokens_core::Secret;

use super::{
    BrowserOpener, CodeHandler, CodeOutcome, CodeSession, EnvLookup, HandlerContext, MessageWriter,
    UserAgent,
};
use crate::error::{LoginError, Result};

type SharedReader = Arc<Mutex<Box<dyn BufRead + Send>>>;

/// Sends the user to Globus Auth (opening the browser when it can, printing the URL otherwise)
/// with Globus Auth's own redirect page, which shows the code, and reads the pasted code from
/// the terminal. The code is trimmed; end of input or an empty line cancels, so the next
/// handler (if any) is tried.
///
/// Reader and writer are injectable (default: standard input and standard error):
///
/// ```
/// use globus_native_login::{CodeHandler, CodeOutcome, HandlerContext, InputCodeHandler};
///
/// let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
/// let handler = InputCodeHandler::new()
///     .reader(std::io::Cursor::new(b"  the-code \n".to_vec()))
///     .writer(globus_native_login::handlers::buffer_writer(&output))
///     .browser_opener(globus_native_login::handlers::NoBrowser);
/// let session = handler.start(&HandlerContext::new("My App").no_browser(true))?;
/// assert_eq!(session.redirect_uri(), None);
/// match session.authenticate("https://auth.example/authorize", "state")? {
///     CodeOutcome::Code(code) => assert_eq!(code.expose(), "the-code"),
///     other => panic!("{other:?}"),
/// }
/// let shown = String::from_utf8(output.lock().unwrap().clone())?;
/// assert!(shown.contains("https://auth.example/authorize"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct InputCodeHandler {
    agent: UserAgent,
    reader: ReaderSlot,
}

#[derive(Clone)]
struct ReaderSlot(Option<SharedReader>);

impl std::fmt::Debug for ReaderSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "custom" } else { "stdin" })
    }
}

impl Default for InputCodeHandler {
    fn default() -> Self {
        Self::new()
    }
}

impl InputCodeHandler {
    /// Read from standard input, write to standard error.
    pub fn new() -> Self {
        InputCodeHandler {
            agent: UserAgent::default(),
            reader: ReaderSlot(None),
        }
    }

    /// Read the code from `reader` instead of standard input.
    pub fn reader(mut self, reader: impl BufRead + Send + 'static) -> Self {
        self.reader = ReaderSlot(Some(Arc::new(Mutex::new(Box::new(reader)))));
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
}

impl CodeHandler for InputCodeHandler {
    fn name(&self) -> &str {
        "pasted code"
    }

    fn start(&self, context: &HandlerContext<'_>) -> Result<Box<dyn CodeSession>> {
        Ok(Box::new(InputSession {
            agent: self.agent.clone(),
            reader: self.reader.0.clone(),
            no_browser: context.no_browser,
        }))
    }
}

struct InputSession {
    agent: UserAgent,
    reader: Option<SharedReader>,
    no_browser: bool,
}

impl CodeSession for InputSession {
    fn redirect_uri(&self) -> Option<String> {
        None
    }

    fn authenticate(self: Box<Self>, authorize_url: &str, _state: &str) -> Result<CodeOutcome> {
        self.agent.send_to(authorize_url, self.no_browser);
        self.agent.say("Please Paste your Auth Code Below: ");
        let mut line = String::new();
        let read = match &self.reader {
            Some(reader) => reader
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .read_line(&mut line),
            None => std::io::stdin().lock().read_line(&mut line),
        };
        match read {
            Ok(0) => Ok(CodeOutcome::Cancelled),
            Ok(_) => {
                let code = line.trim();
                if code.is_empty() {
                    Ok(CodeOutcome::Cancelled)
                } else {
                    Ok(CodeOutcome::Code(Secret::new(code)))
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => Ok(CodeOutcome::Cancelled),
            Err(err) => Err(LoginError::handler(
                "pasted code",
                "reading the code from the terminal failed",
                err,
            )),
        }
    }
}
