//! Sending one request to Globus Auth (a form POST or a GET): retries with backoff, typed
//! errors, redacted server text.

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
    /// Not a grant: discovery, keys, consents.
    Other,
}

/// The method and body of a request.
#[derive(Debug, Clone, Copy)]
enum Method<'a> {
    Get,
    PostForm(&'a [(&'a str, &'a str)]),
}

/// A 2xx reply.
pub(crate) struct Success {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

/// What a request needs from the client.
pub(crate) struct Sender<'a> {
    pub(crate) agent: &'a ureq::Agent,
    pub(crate) base_url: &'a str,
    pub(crate) authorization: Option<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) random: &'a SharedRandom,
}

impl Sender<'_> {
    /// POST `form` to `endpoint` (a path under the base URL) with retries; the 2xx reply, or
    /// a typed error whose server text went through `redactor`.
    pub(crate) fn post_form(
        &self,
        endpoint: &'static str,
        call: Call,
        form: &[(&str, &str)],
        redactor: &Redactor,
    ) -> Result<Success> {
        let url = format!("{}{endpoint}", self.base_url);
        self.send(&url, endpoint, Method::PostForm(form), call, redactor)
    }

    /// GET `url` (absolute) with the same retries and errors as [`Sender::post_form`]; errors
    /// name the request as `endpoint`.
    pub(crate) fn get(&self, url: &str, endpoint: &str, redactor: &Redactor) -> Result<Success> {
        self.send(url, endpoint, Method::Get, Call::Other, redactor)
    }

    fn send(
        &self,
        url: &str,
        endpoint: &str,
        method: Method<'_>,
        call: Call,
        redactor: &Redactor,
    ) -> Result<Success> {
        let mut backoff = match self.random {
            Some(random) => {
                let random = Arc::clone(random);
                Backoff::with_random(&self.retry.backoff_config(), Box::new(move || random()))
            }
            None => Backoff::new(&self.retry.backoff_config()),
        };
        let attempts = self.retry.max_retries.saturating_add(1);
        let mut attempt = 1;
        loop {
            tracing::debug!(endpoint, attempt, "sending request to Globus Auth");
            let (outcome, retry_after) = match self.send_once(url, endpoint, method) {
                Ok(reply) => {
                    let retry_after = reply.retry_after;
                    (reply.into_success(endpoint, call, redactor), retry_after)
                }
                Err(err) => (Err(err), None),
            };
            let err = match outcome {
                Ok(success) => return Ok(success),
                Err(err) => err,
            };
            if !should_retry(&err) {
                return Err(err);
            }
            if attempt >= attempts {
                if attempts == 1 {
                    return Err(err);
                }
                // Info, not warn: the error goes back to the caller, who reports it once.
                tracing::info!(endpoint, attempts, error = %err, "giving up on Globus Auth request");
                return Err(AuthError::RetriesExhausted {
                    attempts,
                    last: Box::new(err),
                });
            }
            let wait = match retry_after {
                Some(wait) => wait.min(self.retry.max_backoff),
                None => backoff.next(),
            };
            tracing::info!(
                endpoint,
                attempt,
                max_attempts = attempts,
                delay_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                reason = %err,
                "Globus Auth request failed; retrying"
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn send_once(&self, url: &str, endpoint: &str, method: Method<'_>) -> Result<Reply> {
        let authorization = self.authorization.as_deref();
        let sent = match method {
            Method::Get => {
                let mut request = self.agent.get(url).header("Accept", "application/json");
                if let Some(authorization) = authorization {
                    request = request.header("Authorization", authorization);
                }
                request.call()
            }
            Method::PostForm(form) => {
                let mut request = self.agent.post(url).header("Accept", "application/json");
                if let Some(authorization) = authorization {
                    request = request.header("Authorization", authorization);
                }
                request.send_form(form.iter().copied())
            }
        };
        let mut response = sent.map_err(|err| transport_error(endpoint, url, err))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after")
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|err| transport_error(endpoint, url, err))?;
        tracing::debug!(endpoint, status, "Globus Auth answered");
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
        })
    }
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

struct Reply {
    status: u16,
    content_type: String,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Reply {
    fn into_success(self, endpoint: &str, call: Call, redactor: &Redactor) -> Result<Success> {
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
fn host_port(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

/// Whether an I/O error carries a TLS failure from rustls.
fn is_tls(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// A ureq failure as a typed transport error for `endpoint`, naming the host and port.
pub(crate) fn transport_error(endpoint: &str, url: &str, err: ureq::Error) -> AuthError {
    use std::io::ErrorKind as Io;
    let host = host_port(url);
    let (kind, message) = match &err {
        ureq::Error::Timeout(what) => (
            TransportErrorKind::Timeout,
            format!("no answer from {host} in time ({what})"),
        ),
        ureq::Error::HostNotFound => (
            TransportErrorKind::Connect,
            format!("host not found: {host}"),
        ),
        ureq::Error::ConnectionFailed => (
            TransportErrorKind::Connect,
            format!("could not connect to {host}"),
        ),
        ureq::Error::Rustls(tls) => (TransportErrorKind::Tls, format!("with {host}: {tls}")),
        ureq::Error::Tls(tls) => (TransportErrorKind::Tls, format!("with {host}: {tls}")),
        ureq::Error::Io(io) => match io.kind() {
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
        },
        other => (
            TransportErrorKind::Protocol,
            format!("with {host}: {other}"),
        ),
    };
    AuthError::Transport {
        endpoint: endpoint.to_owned(),
        kind,
        message,
    }
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
