//! The local redirect server cannot be held up by idle or dribbling connections: each is
//! served on its own thread with a total deadline, and the real redirect is answered while
//! they wait.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::env;
use globus_native_login::handlers::buffer_writer;
use globus_native_login::{
    CodeHandler, CodeOutcome, HandlerContext, LocalServerCodeHandler, NoBrowser,
};

const STATE: &str = "the-real-state-5678";

#[test]
fn idle_and_dribbling_connections_do_not_delay_the_real_redirect() {
    let handler = LocalServerCodeHandler::new()
        .timeout(Duration::from_secs(60))
        .env_lookup(env(&[]))
        .browser_opener(NoBrowser)
        .writer(buffer_writer(&Arc::default()));
    let session = handler
        .start(&HandlerContext::new("Held").no_browser(true))
        .unwrap();
    let port: u16 = session
        .redirect_uri()
        .unwrap()
        .trim_start_matches("http://localhost:")
        .parse()
        .unwrap();
    let waiting = std::thread::spawn(move || {
        session.authenticate("https://auth.example.org/authorize", STATE)
    });

    // Ten connections that never send a byte, opened before the redirect.
    let idle: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    // One that sends a request head one byte every 100 ms (it would take minutes to finish).
    let stop = Arc::new(AtomicBool::new(false));
    let dribbler = {
        let stop = Arc::clone(&stop);
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::thread::spawn(move || {
            let head = format!("GET /?state={STATE}&x={} HTTP/1.1\r\n", "y".repeat(4000));
            for byte in head.bytes() {
                if stop.load(Ordering::SeqCst) || stream.write_all(&[byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // The real redirect is answered within a second (served one at a time, the idle
    // connections alone held it for 10 x 5 s).
    let mut real = TcpStream::connect(("127.0.0.1", port)).unwrap();
    real.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    write!(
        real,
        "GET /?code=the-code&state={STATE} HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    .unwrap();
    let mut reply = Vec::new();
    real.read_to_end(&mut reply)
        .expect("the redirect is answered within 1 s");
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("Login Successful"));

    match waiting.join().unwrap().unwrap() {
        CodeOutcome::Code(code) => assert_eq!(code.expose(), "the-code"),
        other => panic!("{other:?}"),
    }
    stop.store(true, Ordering::SeqCst);
    dribbler.join().unwrap();
    drop(idle);
}
