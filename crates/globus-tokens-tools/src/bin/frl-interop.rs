//! The Rust half of `scripts/interop-frl`: globus-native-login writes fair-research-login
//! files for the real fair-research-login 0.3.1 to read, and reads the files it writes.
//!
//! ```text
//! frl-interop write DIR        write DIR/rust-frl.cfg (clients A and B) and DIR/rust-frl.json
//! frl-interop read-python DIR  check Python's edits of DIR/rust-frl.*, read DIR/py-frl.*
//!                              exactly, then save one more group into DIR/py-frl.*
//! frl-interop compare-fuzz DIR read every DIR/fuzz/*.cfg and compare with what
//!                              fair-research-login made of it (DIR/fuzz/expected.json)
//! ```
//!
//! Prints `ok - ...` / `not ok - ...` per check; exits 1 if any check failed. The expected
//! values are repeated in `scripts/python/interop_frl.py`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globus_authorizers::AuthClient;
use globus_native_login::{
    JsonLoginTokenStorage, LoginTokenStorage, MultiClientTokenStorage, NativeClient,
};
use globus_tokens_core::TokenData;

const CLIENT_A: &str = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5";
const CLIENT_B: &str = "11111111-2222-3333-4444-555555555555";
const TRANSFER: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const GROUPS: &str = "urn:globus:auth:scope:groups.api.globus.org:all";
const SEARCH: &str = "urn:globus:auth:scope:search.api.globus.org:all";

type Tokens = BTreeMap<String, TokenData>;

fn group(rs: &str, scope: &str, at: &str, rt: Option<&str>, expires: i64) -> (String, TokenData) {
    let mut data = TokenData::new(rs, scope, at, expires);
    if let Some(rt) = rt {
        data = data.with_refresh_token(rt);
    }
    (rs.to_owned(), data)
}

fn rust_a() -> Tokens {
    [
        group(
            "auth.globus.org",
            "openid profile email",
            "AT-r-0",
            Some("RT-r-0"),
            2_000_000_000,
        ),
        group(
            "transfer.api.globus.org",
            TRANSFER,
            "AT-r-1",
            None,
            2_000_000_001,
        ),
        group(
            "scöpe.example.org",
            "https://auth.globus.org/scopes/x/ünïcode",
            "AT-r-3",
            Some("RT-r-3"),
            2_000_000_003,
        ),
    ]
    .into()
}

fn rust_b() -> Tokens {
    [group(
        "groups.api.globus.org",
        GROUPS,
        "AT-r-2%",
        Some("RT-r-2"),
        2_000_000_002,
    )]
    .into()
}

fn py_edit() -> Tokens {
    [group(
        "groups.api.globus.org",
        GROUPS,
        "AT-p-9",
        Some("RT-p-9"),
        2_000_000_009,
    )]
    .into()
}

fn py_a() -> Tokens {
    [
        group(
            "auth.globus.org",
            "openid profile email",
            "AT-p-0",
            Some("RT-p-0"),
            2_000_000_100,
        ),
        group(
            "transfer.api.globus.org",
            TRANSFER,
            "AT-p-1",
            None,
            2_000_000_101,
        ),
    ]
    .into()
}

fn py_b() -> Tokens {
    [group(
        "search.api.globus.org",
        SEARCH,
        "AT-p-2",
        Some("RT-p-2"),
        2_000_000_102,
    )]
    .into()
}

fn rust_edit() -> Tokens {
    [group(
        "groups.api.globus.org",
        GROUPS,
        "AT-r-9",
        Some("RT-r-9"),
        2_000_000_109,
    )]
    .into()
}

fn merged(a: Tokens, b: Tokens) -> Tokens {
    a.into_iter().chain(b).collect()
}

/// A client that never reaches Globus Auth (unexpired tokens only).
fn client(
    client_id: &str,
    storage: impl LoginTokenStorage + 'static,
) -> Result<NativeClient, String> {
    let auth = AuthClient::builder(client_id)
        .base_url("http://127.0.0.1:9/")
        .build()
        .map_err(|e| e.to_string())?;
    NativeClient::builder(client_id)
        .auth_client(Arc::new(auth))
        .token_storage(storage)
        .build()
        .map_err(|e| e.to_string())
}

struct Checks {
    failed: usize,
}

impl Checks {
    fn check(&mut self, name: &str, run: impl FnOnce() -> Result<(), String>) {
        match run() {
            Ok(()) => println!("ok - {name}"),
            Err(why) => {
                self.failed += 1;
                println!("not ok - {name}: {why}");
            }
        }
    }
}

fn expect(actual: Tokens, expected: Tokens) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        // Token values here are test fixtures, not secrets; show what differs by name.
        let names = |t: &Tokens| t.keys().cloned().collect::<Vec<_>>().join(", ");
        Err(format!(
            "expected groups [{}], got [{}] (or values differ)",
            names(&expected),
            names(&actual)
        ))
    }
}

fn write(dir: &Path, checks: &mut Checks) {
    let cfg = dir.join("rust-frl.cfg");
    checks.check(
        "Rust writes rust-frl.cfg (clients A and B) with NativeClient::save_tokens",
        || {
            client(CLIENT_A, MultiClientTokenStorage::new(&cfg, CLIENT_A))?
                .save_tokens(&rust_a())
                .map_err(|e| e.to_string())?;
            client(CLIENT_B, MultiClientTokenStorage::new(&cfg, CLIENT_B))?
                .save_tokens(&rust_b())
                .map_err(|e| e.to_string())
        },
    );
    checks.check(
        "Rust writes rust-frl.json with NativeClient::save_tokens",
        || {
            client(
                CLIENT_A,
                JsonLoginTokenStorage::new(dir.join("rust-frl.json")),
            )?
            .save_tokens(&rust_a())
            .map_err(|e| e.to_string())
        },
    );
}

fn load(client_id: &str, storage: impl LoginTokenStorage + 'static) -> Result<Tokens, String> {
    client(client_id, storage)?
        .load_tokens(&[] as &[&str])
        .map_err(|e| e.to_string())
}

fn read_python(dir: &Path, checks: &mut Checks) {
    let rust_cfg = dir.join("rust-frl.cfg");
    let py_cfg = dir.join("py-frl.cfg");
    let py_json = dir.join("py-frl.json");
    checks.check(
        "Rust reads fair-research-login's edit of rust-frl.cfg (client A)",
        || {
            expect(
                load(CLIENT_A, MultiClientTokenStorage::new(&rust_cfg, CLIENT_A))?,
                merged(rust_a(), py_edit()),
            )
        },
    );
    checks.check(
        "... client B's section survived fair-research-login's rewrite",
        || {
            expect(
                load(CLIENT_B, MultiClientTokenStorage::new(&rust_cfg, CLIENT_B))?,
                rust_b(),
            )
        },
    );
    checks.check(
        "Rust reads fair-research-login's edit of rust-frl.json",
        || {
            expect(
                load(
                    CLIENT_A,
                    JsonLoginTokenStorage::new(dir.join("rust-frl.json")),
                )?,
                merged(rust_a(), py_edit()),
            )
        },
    );
    checks.check(
        "Rust reads py-frl.cfg written by fair-research-login (client A)",
        || {
            expect(
                load(CLIENT_A, MultiClientTokenStorage::new(&py_cfg, CLIENT_A))?,
                py_a(),
            )
        },
    );
    checks.check(
        "Rust reads py-frl.cfg written by fair-research-login (client B)",
        || {
            expect(
                load(CLIENT_B, MultiClientTokenStorage::new(&py_cfg, CLIENT_B))?,
                py_b(),
            )
        },
    );
    checks.check(
        "Rust reads py-frl.json written by fair-research-login",
        || {
            expect(
                load(CLIENT_A, JsonLoginTokenStorage::new(&py_json))?,
                py_a(),
            )
        },
    );
    checks.check(
        "Rust saves a group into fair-research-login's py-frl.cfg and py-frl.json",
        || {
            client(CLIENT_A, MultiClientTokenStorage::new(&py_cfg, CLIENT_A))?
                .save_tokens(&rust_edit())
                .map_err(|e| e.to_string())?;
            client(CLIENT_A, JsonLoginTokenStorage::new(&py_json))?
                .save_tokens(&rust_edit())
                .map_err(|e| e.to_string())
        },
    );
}

/// A group as fair-research-login's `verify_token_group` returns it, or why it refuses it.
fn frl_view(data: &TokenData) -> Result<serde_json::Value, String> {
    match data.token_type.as_deref() {
        None | Some("Bearer") => {}
        Some(_) => return Err("token_type is not Bearer".to_owned()),
    }
    Ok(serde_json::json!({
        "scope": data.scope,
        "access_token": data.access_token.expose(),
        "refresh_token": data.refresh_token.as_ref().map(|t| t.expose()),
        "token_type": "Bearer",
        "expires_at_seconds": data.expires_at_seconds,
        "resource_server": data.resource_server,
    }))
}

fn compare_fuzz(dir: &Path, checks: &mut Checks) {
    let fuzz = dir.join("fuzz");
    let expected: Vec<serde_json::Value> = match std::fs::read(fuzz.join("expected.json"))
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(expected) => expected,
        Err(why) => {
            checks.check("read fuzz/expected.json", || Err(why));
            return;
        }
    };
    let (mut agree, mut both_refuse, mut stricter) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for entry in &expected {
        let file = entry["file"].as_str().unwrap_or_default();
        let ours: Result<serde_json::Map<String, serde_json::Value>, String> =
            MultiClientTokenStorage::new(fuzz.join(file), "c")
                .read_tokens()
                .map_err(|e| e.to_string())
                .and_then(|tokens| {
                    tokens
                        .iter()
                        .map(|(rs, data)| frl_view(data).map(|v| (rs.clone(), v)))
                        .collect()
                });
        match (ours, entry["ok"].as_bool() == Some(true)) {
            (Ok(ours), true) if serde_json::Value::Object(ours.clone()) == entry["tokens"] => {
                agree += 1
            }
            (Ok(_), true) => {
                disagreements.push(format!("{file}: both read it, with different tokens"))
            }
            (Ok(_), false) => disagreements.push(format!(
                "{file}: we read tokens, fair-research-login refuses it ({})",
                entry["error"].as_str().unwrap_or("?")
            )),
            (Err(_), true) => stricter += 1,
            (Err(_), false) => both_refuse += 1,
        }
    }
    let total = expected.len();
    checks.check(
        &format!(
            "{total} generated INI files: {agree} read identically, {both_refuse} refused by both, {stricter} refused only by us (stricter), {} disagreements",
            disagreements.len()
        ),
        || {
            if disagreements.is_empty() {
                Ok(())
            } else {
                Err(disagreements.iter().take(10).cloned().collect::<Vec<_>>().join("; "))
            }
        },
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (command, dir) = match args.as_slice() {
        [_, command, dir] => (command.as_str(), PathBuf::from(dir)),
        _ => {
            eprintln!("usage: frl-interop (write | read-python | compare-fuzz) DIR");
            std::process::exit(2);
        }
    };
    let mut checks = Checks { failed: 0 };
    match command {
        "write" => write(&dir, &mut checks),
        "read-python" => read_python(&dir, &mut checks),
        "compare-fuzz" => compare_fuzz(&dir, &mut checks),
        _ => {
            eprintln!("unknown command {command:?}");
            std::process::exit(2);
        }
    }
    std::process::exit(i32::from(checks.failed > 0));
}
