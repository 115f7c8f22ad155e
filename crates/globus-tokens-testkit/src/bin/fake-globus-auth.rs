//! The fake Globus Auth server as a program, for benchmarks that drive it from other languages
//! (`scripts/bench-vs-python` runs globus-sdk against it).
//!
//! Listens on 127.0.0.1 (an OS-chosen port), prints `{"base_url": "..."}` on its first line,
//! then answers commands read from standard input, one per line, with one JSON line each:
//!
//! ```text
//! client CLIENT_ID                 register a native client        -> {"ok": true}
//! issue CLIENT_ID RS SCOPE...      issue a refresh token           -> {"refresh_token": "..."}
//! delay MILLISECONDS               delay every token reply         -> {"ok": true}
//! stats                            counters so far                 -> {"token_requests": N, "revoke_requests": N}
//! reset                            zero the counters               -> {"ok": true}
//! ```
//!
//! It exits at the end of standard input. Refresh tokens rotate (each is single use).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, Write};
use std::time::Duration;

use globus_tokens_testkit::fake_auth::FakeAuthServer;
use serde_json::json;

fn main() {
    let server = FakeAuthServer::start();
    server.set_rotate_refresh_tokens(true);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "{}", json!({ "base_url": server.base_url() }));
    let _ = out.flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["client", client_id] => {
                server.register_native_client(client_id);
                json!({"ok": true})
            }
            ["issue", client_id, resource_server, scope @ ..] if !scope.is_empty() => {
                json!({"refresh_token": server.issue_refresh_token(client_id, resource_server, &scope.join(" "))})
            }
            ["delay", millis] => match millis.parse() {
                Ok(millis) => {
                    server.set_token_delay(Duration::from_millis(millis));
                    json!({"ok": true})
                }
                Err(_) => json!({"error": "delay takes milliseconds"}),
            },
            ["stats"] => {
                json!({"token_requests": server.token_requests(), "revoke_requests": server.revoke_requests()})
            }
            ["reset"] => {
                server.clear_requests();
                json!({"ok": true})
            }
            _ => json!({"error": format!("unknown command {line:?}")}),
        };
        let _ = writeln!(out, "{reply}");
        let _ = out.flush();
    }
}
