//! Finding (or starting) the DynamoDB-compatible server that DynamoDB tests run against.
//!
//! `GLOBUS_TOKENS_DYNAMODB_ENDPOINT` names a running server (scripts/test starts moto's server
//! and sets it). Without it, the tests start moto's server themselves, from the `.venv-moto/`
//! that `scripts/lib/dynamodb.sh` creates, through `scripts/python/dynamodb_server.py`; and
//! they fail with instructions if it is not there: they never pass without a server.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The variable naming a running server's URL.
pub const ENDPOINT_VAR: &str = "GLOBUS_TOKENS_DYNAMODB_ENDPOINT";
/// Dummy credentials the local server accepts.
pub const ACCESS_KEY_ID: &str = "testing-access-key";
/// Dummy credentials the local server accepts.
pub const SECRET_ACCESS_KEY: &str = "testing-secret-key";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

struct Server {
    endpoint: String,
    // Kept so the server lives as long as this test process: `sh` kills moto when its stdin
    // (our end of the pipe) closes at exit.
    _guard: Option<Child>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The workspace root: the nearest ancestor of this crate holding the server launcher.
fn repo_root() -> PathBuf {
    // This crate lives in crates/globus-tokens-testkit of the workspace.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("scripts/python/dynamodb_server.py").exists())
        .unwrap_or(&manifest)
        .to_path_buf()
}

fn start_moto() -> Server {
    let python = repo_root().join(".venv-moto/bin/python");
    let server = repo_root().join("scripts/python/dynamodb_server.py");
    assert!(
        python.exists(),
        "no DynamoDB-compatible server: set {ENDPOINT_VAR} to a running server's URL, or run \
         `source scripts/lib/dynamodb.sh && ensure_dynamodb_server` (or scripts/test) once to \
         install moto into .venv-moto/ ({} does not exist)",
        python.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // `read` returns when this process exits (its stdin pipe closes); then moto is killed.
    let script = format!(
        "'{}' '{}' 127.0.0.1 {port} >/dev/null 2>&1 & pid=$!; echo started; read _; kill $pid",
        python.display(),
        server.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the moto server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the moto server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        endpoint,
        _guard: Some(child),
    }
}

/// The endpoint of the server under test.
pub fn endpoint() -> &'static str {
    &SERVER
        .get_or_init(|| match std::env::var(ENDPOINT_VAR) {
            Ok(endpoint) if !endpoint.is_empty() => Server {
                endpoint,
                _guard: None,
            },
            _ => start_moto(),
        })
        .endpoint
}
