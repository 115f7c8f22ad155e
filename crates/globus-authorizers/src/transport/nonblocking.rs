//! Sending an [`Exchange`] with reqwest from async code (feature `async`).

use crate::error::{AuthError, Result, TransportErrorKind};

use super::{
    Exchange, MAX_BODY_BYTES, Method, Next, Reply, Success, classify_io, host_port, is_tls,
};

impl Exchange<'_> {
    /// Send with retries, awaiting `tokio::time::sleep` between attempts. Dropping the future
    /// drops the request in flight.
    pub(crate) async fn run_async(&self, client: &reqwest::Client) -> Result<Success> {
        let mut attempts = self.attempts();
        loop {
            self.sending(&attempts);
            let sent = self.send_once_async(client).await;
            match self.after(&mut attempts, sent) {
                Next::Done(result) => return result,
                Next::Retry(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    async fn send_once_async(&self, client: &reqwest::Client) -> Result<Reply> {
        let transport = |err| reqwest_error(self.endpoint, self.url, err);
        let mut request = match self.method {
            Method::Get => client.get(self.url),
            Method::PostForm(body) => client
                .post(self.url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.to_owned()),
        }
        .header("Accept", "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let mut response = request.send().await.map_err(transport)?;
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
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() as u64 + chunk.len() as u64 > MAX_BODY_BYTES {
                return Err(AuthError::Transport {
                    endpoint: self.endpoint.to_owned(),
                    kind: TransportErrorKind::Protocol,
                    message: format!(
                        "the answer from {} is larger than {MAX_BODY_BYTES} bytes",
                        host_port(self.url)
                    ),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

/// A reqwest failure as a typed transport error for `endpoint`, classified as the blocking
/// client's are. The message is the innermost cause: reqwest's own text repeats the URL,
/// which for some requests carries a query.
pub(crate) fn reqwest_error(endpoint: &str, url: &str, err: reqwest::Error) -> AuthError {
    let host = host_port(url);
    let innermost = innermost_cause(&err);
    let io = find_io_error(&err);
    let (kind, message) = if is_tls(&err) {
        (TransportErrorKind::Tls, format!("with {host}: {innermost}"))
    } else if err.is_timeout() {
        (
            TransportErrorKind::Timeout,
            format!("no answer from {host} in time"),
        )
    } else if let Some(io) = io {
        classify_io(&host, io)
    } else if err.is_connect() {
        (
            TransportErrorKind::Connect,
            format!("could not connect to {host}: {innermost}"),
        )
    } else if err.is_request() || err.is_body() || err.is_decode() {
        // Sent, then the connection ended without a whole answer (hyper's "connection closed
        // before message completed"): what ureq reports as an unexpected EOF.
        (
            TransportErrorKind::Reset,
            format!("{host} closed the connection before a complete answer ({innermost})"),
        )
    } else {
        (
            TransportErrorKind::Protocol,
            format!("with {host}: {innermost}"),
        )
    };
    AuthError::Transport {
        endpoint: endpoint.to_owned(),
        kind,
        message,
    }
}

fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

fn find_io_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        current = err.source();
    }
    None
}
