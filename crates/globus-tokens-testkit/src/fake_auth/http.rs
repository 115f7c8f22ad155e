//! A minimal HTTP/1.1 server on loopback: one thread accepts, one thread per connection.
//!
//! Hand-written rather than tiny_http so that a handler can close a connection without
//! sending any response (tiny_http answers a dropped request with a 500, and keeps the
//! connection open when a response is never written). Every response carries
//! `Connection: close` and the connection is closed after it, so each request arrives on a
//! fresh connection and an injected connection failure is always seen by the client.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest request head (request line and headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;
/// How long a connection may sit idle while its request is read.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    /// The request target up to `?`, not percent-decoded.
    pub(crate) path: String,
    /// The query string after `?`, if any (raw).
    pub(crate) query: Option<String>,
    /// Header names lowercased, values trimmed, in arrival order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpRequest {
    /// First header with this (lowercase) name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to send back.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A complete response.
    Response {
        status: u16,
        content_type: &'static str,
        extra_headers: Vec<(String, String)>,
        body: Vec<u8>,
        /// `Content-Length` to announce when it differs from `body.len()` (a truncated body:
        /// the connection is closed after the short body).
        declared_length: Option<usize>,
    },
    /// Close the connection without writing anything.
    Close,
    /// Abort the connection with a TCP reset (RST) instead of an orderly close.
    Reset,
}

impl Reply {
    pub(crate) fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Reply::Response {
            status,
            content_type,
            extra_headers: Vec::new(),
            body: body.into(),
            declared_length: None,
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        if let Reply::Response { extra_headers, .. } = &mut self {
            extra_headers.push((name.to_owned(), value.into()));
        }
        self
    }
}

pub(crate) type Handler = dyn Fn(HttpRequest) -> Reply + Send + Sync + 'static;

/// A running listener; [`Listener::stop`] ends the accept loop.
pub(crate) struct Listener {
    addr: SocketAddr,
    shutdown: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Bind `127.0.0.1:0` and serve `handler` in background threads.
    pub(crate) fn start(shutdown: Arc<AtomicBool>, handler: Arc<Handler>) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let flag = Arc::clone(&shutdown);
        let accept_thread = std::thread::Builder::new()
            .name(format!("fake-auth-accept-{}", addr.port()))
            .spawn(move || accept_loop(&listener, &flag, &handler))?;
        Ok(Listener {
            addr,
            shutdown,
            accept_thread: Some(accept_thread),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting and wait for the accept thread. Connection threads already running
    /// finish their current request (sleeps end early) and exit.
    pub(crate) fn stop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept() with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: &TcpListener, shutdown: &Arc<AtomicBool>, handler: &Arc<Handler>) {
    for stream in listener.incoming() {
        if shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            // Transient accept errors (EMFILE, aborted connections): back off briefly.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let handler = Arc::clone(handler);
        let spawned = std::thread::Builder::new()
            .name("fake-auth-conn".to_owned())
            .spawn(move || serve_connection(stream, &*handler));
        if spawned.is_err() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn serve_connection(stream: TcpStream, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let request = match read_request(&mut reader, &mut writer) {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(_) => {
            let reply = Reply::new(400, "text/plain", "malformed request\n");
            let _ = write_reply(&mut writer, &reply);
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    };
    let reply = handler(request);
    if matches!(reply, Reply::Reset) {
        // A zero linger time makes close() send RST: the client sees "connection reset".
        let _ = socket2::SockRef::from(&writer).set_linger(Some(Duration::ZERO));
        drop(reader);
        drop(writer);
        return;
    }
    let _ = write_reply(&mut writer, &reply);
    let _ = writer.flush();
    let _ = writer.shutdown(Shutdown::Both);
}

/// Read one request; `Ok(None)` when the peer closed before sending anything.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<HttpRequest>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut head_len = 0usize;
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    head_len += line.len();
    let request_line = line.trim_end().to_owned();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("bad request line"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() {
        return Err(bad("bad request line"));
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("eof in headers"));
        }
        head_len += line.len();
        if head_len > MAX_HEAD {
            return Err(bad("head too large"));
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let Some((name, value)) = trimmed.split_once(':') else {
            return Err(bad("bad header"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v): &(String, String)| v.clone())
    };
    if find("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let chunked =
        find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader)?
    } else if let Some(length) = find("content-length") {
        let length: usize = length.parse().map_err(|_| bad("bad content-length"))?;
        if length > MAX_BODY {
            return Err(bad("body too large"));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    } else {
        Vec::new()
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    Ok(Some(HttpRequest {
        method: method.to_owned(),
        path,
        query,
        headers,
        body,
    }))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(bad("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn write_reply(writer: &mut TcpStream, reply: &Reply) -> io::Result<()> {
    let Reply::Response {
        status,
        content_type,
        extra_headers,
        body,
        declared_length,
    } = reply
    else {
        return Ok(());
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n",
        reason(*status),
        declared_length.unwrap_or(body.len()),
    );
    for (name, value) in extra_headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    writer.write_all(&bytes)?;
    writer.flush()
}

/// Sleep for `duration`, ending early once `shutdown` is set. Returns false if cut short.
pub(crate) fn sleep_unless(shutdown: &AtomicBool, duration: Duration) -> bool {
    let deadline = Instant::now() + duration;
    loop {
        if shutdown.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}
