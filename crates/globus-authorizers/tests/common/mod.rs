//! Helpers shared by integration tests: a `tracing` subscriber that records every event.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One recorded event: level and `name=value` text of every field (`message` included).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub level: Level,
    pub fields: Vec<(String, String)>,
}

impl Recorded {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn message(&self) -> &str {
        self.field("message").unwrap_or_default()
    }

    pub fn text(&self) -> String {
        let mut text = String::new();
        for (name, value) in &self.fields {
            let _ = write!(text, "{name}={value} ");
        }
        text
    }
}

#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<Recorded>>>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(Recorded {
            level: *event.metadata().level(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Run `f` on this thread with a recording subscriber; its result and the events.
pub fn record<T>(f: impl FnOnce() -> T) -> (T, Vec<Recorded>) {
    let recorder = Recorder::default();
    let events = Arc::clone(&recorder.events);
    let result = tracing::subscriber::with_default(recorder, f);
    let events = events.lock().unwrap().clone();
    (result, events)
}

/// Panics if any event mentions one of `secrets`.
pub fn assert_no_secret_in_events(events: &[Recorded], secrets: &[&str]) {
    for event in events {
        let text = event.text();
        for secret in secrets {
            assert!(!text.contains(secret), "event leaks {secret}: {text}");
        }
    }
}

pub mod both_clients;

pub mod racing_store;

/// Install a recording subscriber as the process's global default and return its events.
/// For test binaries with a single test: a global subscriber sees every thread's events, with
/// none of the per-thread interest caching that makes scoped subscribers miss events when many
/// tests run at once.
pub fn record_globally() -> Arc<Mutex<Vec<Recorded>>> {
    let recorder = Recorder::default();
    let events = Arc::clone(&recorder.events);
    tracing::subscriber::set_global_default(recorder).expect("no global subscriber yet");
    events
}
