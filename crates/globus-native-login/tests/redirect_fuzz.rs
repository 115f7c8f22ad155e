//! Property test of the local redirect server: whatever arrives on its port (random bytes,
//! broken or hostile HTTP), it never panics, never accepts a code without the right state, and
//! still completes the login when the real redirect comes. Bounded: a few cases of 40 requests.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::env;
use globus_native_login::handlers::buffer_writer;
use globus_native_login::{
    CodeHandler, CodeOutcome, HandlerContext, LocalServerCodeHandler, NoBrowser,
};
use proptest::prelude::*;

const STATE: &str = "the-real-state-1234";

/// Requests shaped like HTTP, some valid-looking, with hostile parts.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let path = prop_oneof![
        Just("/".to_owned()),
        "/[a-z?=&%<>\"']{0,40}",
        Just("/?code=stolen&state=wrong".to_owned()),
        Just("/?code=stolen".to_owned()),
        Just("/?error=<script>alert(1)</script>&state=wrong".to_owned()),
        Just(format!("/favicon.ico?code=x&state={STATE}")),
    ];
    let method = prop_oneof![Just("GET"), Just("POST"), Just("DELETE"), Just("G\u{0}T")];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        (method, path, proptest::collection::vec("[ -~]{0,30}", 0..5)).prop_map(
            |(method, path, headers)| {
                let mut text = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
                for header in headers {
                    text.push_str(&header);
                    text.push_str("\r\n");
                }
                text.push_str("\r\n");
                text.into_bytes()
            }
        ),
    ]
}

fn send(port: u16, bytes: &[u8]) {
    if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = stream.write_all(bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        let text = String::from_utf8_lossy(&reply);
        assert!(
            !text.contains("<script>"),
            "echoed markup unescaped: {text}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn the_redirect_server_survives_anything_and_takes_only_the_real_redirect(
        junk in proptest::collection::vec(request(), 40)
    ) {
        let handler = LocalServerCodeHandler::new()
            .timeout(Duration::from_secs(30))
            .env_lookup(env(&[]))
            .browser_opener(NoBrowser)
            .writer(buffer_writer(&Arc::default()));
        let session = handler.start(&HandlerContext::new("Fuzz").no_browser(true)).unwrap();
        let port: u16 = session.redirect_uri().unwrap().trim_start_matches("http://localhost:").parse().unwrap();
        let waiting = std::thread::spawn(move || session.authenticate("https://auth.example.org/authorize", STATE));
        for bytes in &junk {
            send(port, bytes);
        }
        send(port, format!("GET /?code=the-code&state={STATE} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        let outcome = waiting.join().expect("the server thread must not panic").unwrap();
        match outcome {
            CodeOutcome::Code(code) => prop_assert_eq!(code.expose(), "the-code"),
            other => prop_assert!(false, "unexpected outcome {:?}", other),
        }
    }
}
