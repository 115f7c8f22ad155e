//! Sending one request to Globus Auth (a form POST or a GET): retries with backoff, typed
//! errors, redacted server text. This module decides; `blocking` (ureq) and `nonblocking`
//! (reqwest, feature `async`) only send attempts and sleep between them.

mod blocking;
#[cfg(feature = "async")]
mod nonblocking;

pub(crate) use blocking::transport_error;

use std::sync::Arc;
use std::time::Duration;

use globus_tokens_core::raw::retry::{Backoff, BackoffConfig};
use serde_json::Value;

use crate::error::{AuthError, Result, TransportErrorKind};
use crate::redact::Redactor;

/// The longest response body read from Globus Auth; token responses are a few kilobytes.
const MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Server error descriptions kept in errors are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// How failed requests are retried: 429, 5xx and connection failures only, never other 4xx,
/// never a timeout (the server may have acted on the request) nor a TLS failure.
///
/// Waits follow [`globus_tokens_core::raw::retry::Backoff`]: the first is `initial_backoff`, each
/// later one is drawn between `initial_backoff` and twice the previous one, capped at
/// `max_backoff`; a `Retry-After` header (seconds) is honoured up to `max_backoff`. When every
/// retry fails the error is [`AuthError::RetriesExhausted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Longest single wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// globus-sdk's numbers: 5 retries, waits from 0.25 s, at most 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The backoff shape of this policy.
    pub fn backoff_config(&self) -> BackoffConfig {
        BackoffConfig {
            init_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            base: 2.0,
        }
    }
}

/// Uniform `[0, 1)` numbers for backoff jitter; `None` uses the system's.
pub(crate) type SharedRandom = Option<Arc<dyn Fn() -> f64 + Send + Sync>>;

/// Which grant a token request is, for naming `invalid_grant` correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    Refresh,
    ClientCredentials,
    AuthorizationCode,
    Revoke,
    /// The dependent-token grant: `invalid_grant` means the offered token was refused.
    DependentToken,
    /// Not a grant: discovery, keys, consents, introspection, userinfo.
    Other,
}

/// The method and body of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Method<'a> {
    Get,
    /// A form-encoded POST; the body is already encoded (`application/x-www-form-urlencoded`).
    PostForm(&'a str),
}

/// A 2xx reply.
pub(crate) struct Success {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

/// One request to Globus Auth as both HTTP clients send it: what to send, how to retry, how to
/// name it in errors and what to redact from the server's text. The blocking and async drivers
/// (`blocking.rs`, `nonblocking.rs`) differ only in how one attempt is sent and how a wait
/// is slept; everything else is decided here, once.
pub(crate) struct Exchange<'a> {
    pub(crate) url: &'a str,
    /// How errors and events name the request: an endpoint path, or a URL without its query.
    pub(crate) endpoint: &'a str,
    pub(crate) method: Method<'a>,
    pub(crate) call: Call,
    pub(crate) authorization: Option<String>,
    pub(crate) redactor: &'a Redactor,
    pub(crate) retry: RetryPolicy,
    pub(crate) random: &'a SharedRandom,
}

/// `form` encoded as an `application/x-www-form-urlencoded` body.
pub(crate) fn encode_form(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().copied())
        .finish()
}

/// What to do after an attempt.
pub(crate) enum Next {
    /// Stop with this result.
    Done(Result<Success>),
    /// Sleep this long, then send again.
    Retry(Duration),
}

/// The retry loop's state for one [`Exchange`]: attempts made and the backoff.
pub(crate) struct Attempts {
    backoff: Backoff,
    attempt: u32,
    attempts: u32,
}

impl Exchange<'_> {
    /// The retry state for a new run of this exchange.
    pub(crate) fn attempts(&self) -> Attempts {
        let backoff = match self.random {
            Some(random) => {
                let random = Arc::clone(random);
                Backoff::with_random(&self.retry.backoff_config(), Box::new(move || random()))
            }
            None => Backoff::new(&self.retry.backoff_config()),
        };
        Attempts {
            backoff,
            attempt: 1,
            attempts: self.retry.max_retries.saturating_add(1),
        }
    }

    /// Called before each attempt is sent.
    pub(crate) fn sending(&self, attempts: &Attempts) {
        tracing::debug!(
            endpoint = self.endpoint,
            attempt = attempts.attempt,
            "sending request to Globus Auth"
        );
    }

    /// Decide what follows one attempt's outcome: its success, a final error, or a retry after
    /// a wait (`Retry-After` when the server gave one, up to the policy's longest wait).
    pub(crate) fn after(&self, attempts: &mut Attempts, sent: Result<Reply>) -> Next {
        let (outcome, retry_after) = match sent {
            Ok(reply) => {
                tracing::debug!(
                    endpoint = self.endpoint,
                    status = reply.status,
                    "Globus Auth answered"
                );
                let retry_after = reply.retry_after;
                (
                    reply.into_success(self.endpoint, self.call, self.redactor),
                    retry_after,
                )
            }
            Err(err) => (Err(err), None),
        };
        let err = match outcome {
            Ok(success) => return Next::Done(Ok(success)),
            Err(err) => err,
        };
        if !should_retry(&err) {
            return Next::Done(Err(err));
        }
        let (endpoint, attempt, max_attempts) =
            (self.endpoint, attempts.attempt, attempts.attempts);
        if attempt >= max_attempts {
            if max_attempts == 1 {
                return Next::Done(Err(err));
            }
            // Info, not warn: the error goes back to the caller, who reports it once.
            tracing::info!(endpoint, attempts = max_attempts, error = %err, "giving up on Globus Auth request");
            return Next::Done(Err(AuthError::RetriesExhausted {
                attempts: max_attempts,
                last: Box::new(err),
            }));
        }
        let wait = match retry_after {
            Some(wait) => wait.min(self.retry.max_backoff),
            None => attempts.backoff.next(),
        };
        tracing::info!(
            endpoint,
            attempt,
            max_attempts,
            delay_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            reason = %err,
            "Globus Auth request failed; retrying"
        );
        attempts.attempt += 1;
        Next::Retry(wait)
    }
}

/// The parts of an HTTP response the exchange looks at, from either client.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// A `Retry-After` header value in seconds (the HTTP-date form is not used by Globus Auth).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Retry 429, 5xx and transport failures that certainly did nothing on the server: a
/// timed-out request may have been processed (and a refresh token rotated).
fn should_retry(err: &AuthError) -> bool {
    match err {
        AuthError::Api { status, .. } => *status == 429 || *status >= 500,
        AuthError::Transport { kind, .. } => {
            !matches!(kind, TransportErrorKind::Timeout | TransportErrorKind::Tls)
        }
        _ => false,
    }
}

impl Reply {
    pub(crate) fn into_success(
        self,
        endpoint: &str,
        call: Call,
        redactor: &Redactor,
    ) -> Result<Success> {
        if (200..300).contains(&self.status) {
            return Ok(Success {
                status: self.status,
                content_type: self.content_type,
                body: self.body,
            });
        }
        let (code, message) = parse_error_body(&self.body, redactor);
        if code.as_deref() == Some("invalid_grant") {
            if call == Call::AuthorizationCode {
                return Err(AuthError::InvalidCode { reason: message });
            }
            if call == Call::DependentToken {
                return Err(AuthError::TokenRefused { reason: message });
            }
            if matches!(call, Call::Refresh | Call::ClientCredentials) {
                return Err(AuthError::LoginRequired {
                    resource_server: None,
                    reason: if message.is_empty() {
                        "invalid_grant".to_owned()
                    } else {
                        format!("invalid_grant: {message}")
                    },
                });
            }
        }
        Err(AuthError::Api {
            endpoint: endpoint.to_owned(),
            status: self.status,
            code,
            message,
        })
    }
}

/// The OAuth2 `error` / Globus `errors[0].code` and a short description from an error body,
/// both cleaned by `redactor`.
pub(crate) fn parse_error_body(body: &[u8], redactor: &Redactor) -> (Option<String>, String) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, String::new());
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let first_error = value.get("errors").and_then(|errors| errors.get(0));
    let code = text(value.get("error"))
        .or_else(|| text(first_error.and_then(|e| e.get("code"))))
        .map(|code| shorten(&redactor.clean(&code), 80));
    let message = text(value.get("error_description"))
        .or_else(|| text(first_error.and_then(|e| e.get("detail"))))
        .unwrap_or_default();
    // Redact before cutting, so a secret cut in half is still found whole.
    (code, shorten(&redactor.clean(&message), MAX_MESSAGE_CHARS))
}

fn shorten(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// `host:port` of a URL, for errors.
pub(crate) fn host_port(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// An I/O failure talking to `host`, classified: timeouts, refused or unreachable
/// connections, resets and early EOFs, TLS failures inside the I/O error, anything else.
pub(crate) fn classify_io(host: &str, io: &std::io::Error) -> (TransportErrorKind, String) {
    use std::io::ErrorKind as Io;
    match io.kind() {
        Io::TimedOut | Io::WouldBlock => (
            TransportErrorKind::Timeout,
            format!("no answer from {host} in time ({io})"),
        ),
        Io::ConnectionRefused => (
            TransportErrorKind::Connect,
            format!("connection to {host} refused"),
        ),
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => (
            TransportErrorKind::Reset,
            format!("connection to {host} reset by the peer ({io})"),
        ),
        Io::UnexpectedEof => (
            TransportErrorKind::Reset,
            format!("{host} closed the connection before a complete answer"),
        ),
        _ if io.get_ref().is_some_and(|inner| is_tls(inner)) => {
            (TransportErrorKind::Tls, format!("with {host}: {io}"))
        }
        Io::HostUnreachable | Io::NetworkUnreachable | Io::AddrNotAvailable => (
            TransportErrorKind::Connect,
            format!("could not connect to {host}: {io}"),
        ),
        _ => (TransportErrorKind::Io, format!("with {host}: {io}")),
    }
}

/// Whether an error, or one of its sources, is a TLS failure from rustls.
pub(crate) fn is_tls(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        // An `io::Error`'s `source()` skips the error it wraps; look inside explicitly.
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.get_ref().is_some_and(|inner| is_tls(inner))
        {
            return true;
        }
        current = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_parse_both_shapes() {
        let clean = Redactor::default();
        let oauth = br#"{"error": "invalid_grant", "error_description": "expired"}"#;
        assert_eq!(
            parse_error_body(oauth, &clean),
            (Some("invalid_grant".into()), "expired".into())
        );
        let globus = br#"{"errors": [{"code": "FORBIDDEN", "detail": "nope", "status": "403"}]}"#;
        assert_eq!(
            parse_error_body(globus, &clean),
            (Some("FORBIDDEN".into()), "nope".into())
        );
        assert_eq!(parse_error_body(b"<html>", &clean), (None, String::new()));
    }

    #[test]
    fn error_text_is_redacted_before_it_is_cut() {
        let secret = "x".repeat(290) + "SECRET-VALUE-0123";
        let redactor = Redactor::new([secret.as_str()]);
        let body = serde_json::json!({"error": "e", "error_description": format!("got {secret}")});
        let (_, message) = parse_error_body(body.to_string().as_bytes(), &redactor);
        assert_eq!(message, "got [REDACTED]");
    }

    #[test]
    fn host_and_port_for_errors() {
        assert_eq!(
            host_port("https://auth.globus.org/v2/x"),
            "auth.globus.org:443"
        );
        assert_eq!(host_port("http://127.0.0.1:9/v2"), "127.0.0.1:9");
    }
}
