//! Sending an [`Exchange`] with ureq, blocking the calling thread.

use crate::error::{AuthError, Result, TransportErrorKind};

use super::{Exchange, MAX_BODY_BYTES, Method, Next, Reply, Success, classify_io, host_port};

impl Exchange<'_> {
    /// Send with retries, sleeping this thread between attempts.
    pub(crate) fn run_blocking(&self, agent: &ureq::Agent) -> Result<Success> {
        let mut attempts = self.attempts();
        loop {
            self.sending(&attempts);
            let sent = self.send_once_blocking(agent);
            match self.after(&mut attempts, sent) {
                Next::Done(result) => return result,
                Next::Retry(wait) => std::thread::sleep(wait),
            }
        }
    }

    fn send_once_blocking(&self, agent: &ureq::Agent) -> Result<Reply> {
        let authorization = self.authorization.as_deref();
        let sent = match self.method {
            Method::Get => {
                let mut request = agent.get(self.url).header("Accept", "application/json");
                if let Some(authorization) = authorization {
                    request = request.header("Authorization", authorization);
                }
                request.call()
            }
            Method::PostForm(body) => {
                let mut request = agent
                    .post(self.url)
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/x-www-form-urlencoded");
                if let Some(authorization) = authorization {
                    request = request.header("Authorization", authorization);
                }
                request.send(body)
            }
        };
        let transport = |err| transport_error(self.endpoint, self.url, err);
        let mut response = sent.map_err(transport)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = super::parse_retry_after(header("retry-after").as_deref());
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(transport)?;
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

/// A ureq failure as a typed transport error for `endpoint`, naming the host and port.
pub(crate) fn transport_error(endpoint: &str, url: &str, err: ureq::Error) -> AuthError {
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
        ureq::Error::Io(io) => classify_io(&host, io),
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
