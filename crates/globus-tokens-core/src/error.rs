//! The error type shared by every storage backend.

use std::path::{Path, PathBuf};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a token store, with enough context to find it.
///
/// Every variant names *where* (a file path, a database, a table) and *what*. No variant ever
/// carries a token, secret or other credential: values read from storage are described by their
/// type and location, never echoed.
///
/// [`Error::is_temporary`] tells failures worth retrying (a busy database, a throttled service)
/// from permanent ones (a corrupt file, an unsupported format).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done, e.g. "reading" or "renaming temporary file onto".
        operation: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A file is not valid JSON.
    #[error("{path} is not valid JSON: {message} (line {line}, column {column})")]
    JsonSyntax {
        /// The file.
        path: PathBuf,
        /// Line of the first syntax error (1-based; 0 for an empty file).
        line: usize,
        /// Column of the first syntax error (1-based; 0 for an empty file).
        column: usize,
        /// What the parser expected.
        message: String,
    },

    /// Data is well-formed but does not have the shape this format requires.
    #[error("{location}: {reason}")]
    InvalidData {
        /// Where the bad data is: a file path, optionally followed by a key path, or a table row.
        location: String,
        /// What is wrong with it (never the value itself).
        reason: String,
    },

    /// A store file declares a format version this code does not read.
    #[error("{location}: unsupported format version {found}; supported: {}", supported.join(", "))]
    UnsupportedFormatVersion {
        /// The file or database.
        location: String,
        /// The version found (or a description, such as "missing").
        found: String,
        /// The versions this reader accepts.
        supported: &'static [&'static str],
    },

    /// A token response from Globus Auth could not be understood.
    #[error("invalid token response: {reason}")]
    InvalidTokenResponse {
        /// What is missing or malformed (never a token value).
        reason: String,
    },

    /// The backend cannot do this operation (for example, listing on a key-value layout).
    #[error("{backend} does not support {operation}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Unsupported {
        /// Backend name, e.g. "sqlite".
        backend: &'static str,
        /// The operation asked for.
        operation: &'static str,
        /// Why, if there is more to say.
        detail: Option<String>,
    },

    /// An operation was retried as often as allowed and still did not succeed. Not temporary:
    /// the retrying already happened.
    #[error("{location}: gave up after {attempts} attempts: {reason}")]
    RetriesExhausted {
        /// What was being updated, e.g. a resource server and namespace.
        location: String,
        /// How many attempts were made.
        attempts: u32,
        /// Why the last attempt failed (free of secrets).
        reason: String,
    },

    /// An error from a backend's own driver or service (SQLite, DynamoDB, ...).
    #[error("{backend} error at {location}: {message}")]
    Backend {
        /// Backend name, e.g. "sqlite".
        backend: &'static str,
        /// The database, table or file involved.
        location: String,
        /// A description of the failure, free of secrets.
        message: String,
        /// Whether retrying later may succeed (locked database, throttling, network).
        temporary: bool,
        /// The driver's error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
}

impl Error {
    /// Whether the same operation may succeed if retried later.
    ///
    /// True for interrupted or would-block I/O, and for backend errors the backend marks as
    /// temporary (a busy SQLite database, a throttled DynamoDB table). False for corrupt or
    /// unsupported data, which retrying cannot fix.
    ///
    /// ```
    /// use globus_tokens_core::Error;
    /// let err = Error::InvalidData { location: "tokens.json".into(), reason: "root is not an object".into() };
    /// assert!(!err.is_temporary());
    /// ```
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
            ),
            Error::Backend { temporary, .. } => *temporary,
            _ => false,
        }
    }

    /// Build an [`Error::Io`].
    pub fn io(operation: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            operation,
            path: path.into(),
            source,
        }
    }

    /// Build an [`Error::InvalidData`] for a location in a file.
    pub fn invalid_data(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidData {
            location: location.into(),
            reason: reason.into(),
        }
    }

    /// Build an [`Error::JsonSyntax`] from a `serde_json` parse error.
    ///
    /// Only the position and category of the error are kept: `serde_json` syntax messages
    /// describe what was expected, never the document's content.
    pub fn json_syntax(path: &Path, err: &serde_json::Error) -> Self {
        let message = match err.classify() {
            serde_json::error::Category::Eof => "unexpected end of file".to_owned(),
            serde_json::error::Category::Syntax => syntax_message(err),
            serde_json::error::Category::Data => "unexpected data".to_owned(),
            serde_json::error::Category::Io => "read error".to_owned(),
        };
        Error::JsonSyntax {
            path: path.to_path_buf(),
            line: err.line(),
            column: err.column(),
            message,
        }
    }
}

/// The message part of a serde_json syntax error, without its " at line L column C" suffix.
fn syntax_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    match full.rfind(" at line ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    }
}
