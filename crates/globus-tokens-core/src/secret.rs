//! A string that must never be printed: access tokens, refresh tokens, client secrets.

use sha2::{Digest, Sha256};
use std::fmt;

/// A credential whose value is hidden from `Debug` output.
///
/// `Debug` shows a short SHA-256 fingerprint, enough to tell two secrets apart in a log without
/// revealing either. There is deliberately no `Display`: reading the value takes an explicit
/// call to [`Secret::expose`].
///
/// ```
/// use globus_tokens_core::Secret;
/// let token = Secret::new("AT-very-secret");
/// let shown = format!("{token:?}");
/// assert!(!shown.contains("very-secret"));
/// assert!(shown.starts_with("Secret(sha256:"));
/// assert_eq!(token.expose(), "AT-very-secret");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Call only where the value must leave the program (an HTTP
    /// header, a store), never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first 8 hex digits of the value's SHA-256: safe to show, stable across runs.
    ///
    /// ```
    /// use globus_tokens_core::Secret;
    /// assert_eq!(Secret::new("abc").fingerprint(), "ba7816bf");
    /// ```
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest[..4]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(sha256:{})", self.fingerprint())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}
