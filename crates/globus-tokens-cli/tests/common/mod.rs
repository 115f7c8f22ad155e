//! Helpers shared by the command's integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::process::{Command, Stdio};

/// Spawn a prepared `login` command with its standard error piped; return the child, the
/// authorize URL it printed and a thread collecting the rest of standard error.
pub(crate) fn start_login_with(
    mut command: Command,
    stdin: Stdio,
) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if let Some(start) = line.find("http")
                && line.contains("/v2/oauth2/authorize?")
            {
                let _ = url_tx.send(line[start..].trim().to_owned());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let url = url_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("login printed an authorize URL");
    (child, url, reader)
}

/// Follow the authorize URL like a browser: Globus Auth redirects to the app's redirect URI.
pub(crate) fn authorize(url: &str) -> url::Url {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let reply = agent.get(url).call().unwrap();
    assert_eq!(reply.status().as_u16(), 302);
    url::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap()
}
