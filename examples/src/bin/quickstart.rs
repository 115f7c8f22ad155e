//! Quick start: keep Globus tokens in a SQLite file that globus-sdk can read too.
//!
//! ```text
//! cargo run -p globus-tokens-examples --bin quickstart [-- PATH/TO/tokens.db]
//! ```
//!
//! Stores a token response as Globus Auth returns it (three resource servers), reads one
//! resource server back and prints what is safe to print: never the tokens themselves.
//! Without a path, the database goes in a temporary directory that is removed afterwards.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::path::PathBuf;

use globus_tokens::SqliteAdapter;
use globus_tokens::{Clock, EnumerableTokenStorage, SystemClock, TokenResponse, TokenStorage};

/// A token response shaped like Globus Auth's reply to an authorization-code exchange.
const RESPONSE: &[u8] = include_bytes!("../../data/response-authorization-code.json");

fn main() -> Result<(), Box<dyn Error>> {
    let (path, _temporary) = match std::env::args_os().nth(1) {
        Some(path) => (PathBuf::from(path), None),
        None => {
            let dir = tempfile::tempdir()?;
            (dir.path().join("tokens.db"), Some(dir))
        }
    };

    // Open (or create) the database; it is created owner-only, in globus-sdk's schema.
    let store = SqliteAdapter::open(&path)?;

    // Parse the token endpoint's reply; expiry times are computed from the current time.
    let response = TokenResponse::from_json(RESPONSE)?;
    store.store(&response)?;
    println!("stored tokens in {}", path.display());
    println!(
        "resource servers: {}",
        response.resource_servers().collect::<Vec<_>>().join(", ")
    );

    // Read one resource server back.
    let transfer = store
        .get_token_data("transfer.api.globus.org")?
        .ok_or("transfer.api.globus.org was just stored but is missing")?;
    let now = SystemClock.now_seconds();
    println!();
    println!("resource server: {}", transfer.resource_server);
    for scope in transfer.scopes() {
        println!("  scope:         {scope}");
    }
    println!(
        "  expires at:    {} (in {} s; counted as expired from 60 s before: {})",
        utc(transfer.expires_at_seconds),
        transfer.expires_at_seconds - now,
        transfer.is_expired(&SystemClock, 60),
    );
    println!(
        "  refresh token: {}",
        if transfer.refresh_token.is_some() {
            "present"
        } else {
            "none"
        }
    );
    // Debug output of a token shows only a fingerprint, never the value.
    println!("  access token:  {:?}", transfer.access_token);

    // Everything in this namespace, and every namespace in the file.
    println!();
    for (resource_server, data) in store.get_by_resource_server()? {
        println!(
            "{resource_server}: expires {}",
            utc(data.expires_at_seconds)
        );
    }
    println!("namespaces: {}", store.namespaces()?.join(", "));
    Ok(())
}

/// Seconds since the Unix epoch as an ISO 8601 UTC time (proleptic Gregorian calendar).
fn utc(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ),
        // Past year 9999: no calendar date to show.
        Err(_) => format!("{seconds} seconds after 1970"),
    }
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn formats_utc_times() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(2_000_000_000), "2033-05-18T03:33:20Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59Z");
    }
}
