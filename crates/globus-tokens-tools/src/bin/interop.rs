//! The Rust half of `scripts/interop`: writes token files for globus-sdk to read, and reads
//! what globus-sdk wrote or edited.
//!
//! ```text
//! interop write DIR                 write DIR/rust-v1.json, rust-v2.json, rust.db (schema 1)
//!                                   and rust-v2.db (schema 2, SQLiteTokenStorage's layout)
//! interop verify-python-edits DIR   check what Python changed in those files
//! interop read-python DIR           read DIR/py-*.{json,db}; upgrade py-v1-upgrade.json to 2.0
//!                                   and add a namespace to py-v2.db for Python to read back
//! interop live DIR PYTHON [ARGS...] keep one handle per file kind open while
//!                                   `PYTHON ARGS... live DIR N` rewrites the files in turn
//! ```
//!
//! Every check prints one line, `ok - rust: ...` or `not ok - rust: ...: why`; the exit status
//! is 1 if any check failed, 2 on a usage error. The expected values come from
//! `crates/globus-tokens-tools/data/interop-tokens.json`, shared with `scripts/python/interop_check.py`.
//!
//! The tokens here are made-up test values, so mismatches are shown in full.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::path::Path;
use std::process::ExitCode;

use globus_tokens::SqliteAdapter;
use globus_tokens::sqlite::SchemaVersion;
use globus_tokens::{
    ConfigStorage, EnumerableTokenStorage, TokenData, TokenDataLayout, TokenStorage,
};
use globus_tokens::{JsonTokenStorage, SimpleJsonFileAdapter};
use serde_json::{Map, Value, json};

const SPEC: &str = include_str!("../../data/interop-tokens.json");
const AUTHORIZATION_CODE: &str = include_str!("../../data/response-authorization-code.json");
const REFRESH: &str = include_str!("../../data/response-refresh.json");

type CheckResult = Result<(), Box<dyn StdError>>;

/// Counts and prints check results.
#[derive(Default)]
struct Checks {
    passed: usize,
    failed: usize,
}

impl Checks {
    fn check(&mut self, name: &str, run: impl FnOnce() -> CheckResult) {
        match run() {
            Ok(()) => {
                self.passed += 1;
                println!("ok - rust: {name}");
            }
            Err(err) => {
                self.failed += 1;
                let mut detail = err.to_string();
                let mut source = err.source();
                while let Some(cause) = source {
                    detail.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                println!("not ok - rust: {name}: {detail}");
            }
        }
    }
}

fn fail(message: String) -> CheckResult {
    Err(message.into())
}

fn ensure_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> CheckResult {
    if got == want {
        Ok(())
    } else {
        fail(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// The test data shared with the Python side.
struct Spec(Value);

impl Spec {
    fn load() -> Self {
        Spec(serde_json::from_str(SPEC).unwrap_or_else(|err| {
            panic!("crates/globus-tokens-tools/data/interop-tokens.json is not valid JSON: {err}")
        }))
    }

    fn at(&self, pointer: &str) -> &Value {
        self.0
            .pointer(pointer)
            .unwrap_or_else(|| panic!("interop-tokens.json has no {pointer}"))
    }

    fn object(&self, pointer: &str) -> Map<String, Value> {
        self.at(pointer)
            .as_object()
            .cloned()
            .unwrap_or_else(|| panic!("interop-tokens.json: {pointer} is not an object"))
    }

    /// The token objects of one namespace that Rust writes.
    fn tokens(&self, namespace: &str) -> Map<String, Value> {
        self.object("/tokens")
            .get(namespace)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| panic!("interop-tokens.json: no tokens for {namespace}"))
    }

    fn received_at(&self) -> i64 {
        self.at("/python/received_at")
            .as_i64()
            .unwrap_or_else(|| panic!("python.received_at is not an integer"))
    }

    /// The groups scope with non-ASCII characters, which Python also uses.
    fn non_ascii_scope(&self) -> String {
        self.at("/tokens/DEFAULT/groups.api.globus.org/scope")
            .as_str()
            .unwrap_or_else(|| panic!("groups scope is not a string"))
            .to_owned()
    }
}

fn token_data(object: &Map<String, Value>) -> Result<TokenData, Box<dyn StdError>> {
    let rs = object
        .get("resource_server")
        .and_then(Value::as_str)
        .ok_or("spec token has no resource_server")?;
    Ok(TokenData::from_json_object(
        object,
        rs,
        "interop-tokens.json",
    )?)
}

fn token_map(
    objects: &Map<String, Value>,
) -> Result<BTreeMap<String, TokenData>, Box<dyn StdError>> {
    objects
        .iter()
        .map(|(rs, object)| {
            let object = object.as_object().ok_or("spec token is not an object")?;
            Ok((rs.clone(), token_data(object)?))
        })
        .collect()
}

/// A token object with absent/null known fields dropped, so the legacy layout (nulls written)
/// and the 2.0 layout (nulls omitted) compare equal when they hold the same data.
fn normalized(mut object: Map<String, Value>) -> Value {
    for field in [
        "identity_id",
        "refresh_token",
        "token_type",
        "resource_server",
        "scope",
        "access_token",
        "expires_at_seconds",
    ] {
        if object.get(field) == Some(&Value::Null) {
            object.remove(field);
        }
    }
    Value::Object(object)
}

/// Stored data equals an expected token object: every field, including unknown ones.
fn ensure_token(got: Option<TokenData>, want: &Value, what: &str) -> CheckResult {
    let Some(got) = got else {
        return fail(format!("{what}: nothing stored"));
    };
    let want = want
        .as_object()
        .cloned()
        .ok_or_else(|| format!("{what}: expected value is not an object"))?;
    let got = normalized(got.to_json_object(TokenDataLayout::Legacy));
    let want = normalized(want);
    if got == want {
        Ok(())
    } else {
        fail(format!("{what}: got {got}, want {want}"))
    }
}

fn ensure_tokens(
    got: BTreeMap<String, TokenData>,
    want: &Map<String, Value>,
    what: &str,
) -> CheckResult {
    ensure_eq(
        got.keys().cloned().collect::<Vec<_>>(),
        want.keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        &format!("{what}: resource servers"),
    )?;
    for (rs, data) in got {
        ensure_token(Some(data), &want[&rs], &format!("{what}/{rs}"))?;
    }
    Ok(())
}

/// What globus-sdk's legacy adapters store for a token response received at `at`:
/// `OAuthTokenResponse.by_resource_server`.
fn legacy_from_response(body: &Value, at: i64) -> Map<String, Value> {
    let mut tokens = vec![body];
    if let Some(Value::Array(others)) = body.get("other_tokens") {
        tokens.extend(others);
    }
    tokens
        .into_iter()
        .map(|token| {
            let rs = token["resource_server"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let expires_in = token["expires_in"].as_i64().unwrap_or_default();
            let value = json!({
                "scope": token["scope"],
                "access_token": token["access_token"],
                "refresh_token": token.get("refresh_token").cloned().unwrap_or(Value::Null),
                "token_type": token.get("token_type").cloned().unwrap_or(Value::Null),
                "expires_at_seconds": at + expires_in,
                "resource_server": rs,
            });
            (rs, value)
        })
        .collect()
}

/// The authorization-code fixture as Python stores it: groups scope made non-ASCII.
fn authorization_code_tokens(spec: &Spec) -> Map<String, Value> {
    let mut body: Value = serde_json::from_str(AUTHORIZATION_CODE)
        .unwrap_or_else(|err| panic!("response-authorization-code.json: {err}"));
    body["other_tokens"][1]["scope"] = Value::String(spec.non_ascii_scope());
    legacy_from_response(&body, spec.received_at())
}

fn refresh_tokens(spec: &Spec) -> Map<String, Value> {
    let body: Value =
        serde_json::from_str(REFRESH).unwrap_or_else(|err| panic!("response-refresh.json: {err}"));
    legacy_from_response(&body, spec.received_at())
}

fn read_raw(path: &Path) -> Result<Value, Box<dyn StdError>> {
    let bytes = std::fs::read(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

// -- write: files for Python to read ---------------------------------------------------------

fn write(dir: &Path, checks: &mut Checks) {
    let spec = Spec::load();
    let default = spec.tokens("DEFAULT");
    let alice = spec.tokens("userprofile/alice");

    checks.check(
        "SimpleJsonFileAdapter writes rust-v1.json (format 1.0)",
        || {
            let store = SimpleJsonFileAdapter::new(dir.join("rust-v1.json"));
            store.store_token_data(&token_map(&default)?)?;
            ensure_tokens(store.get_by_resource_server()?, &default, "read back")
        },
    );

    checks.check(
        "JsonTokenStorage writes rust-v2.json (format 2.0, two namespaces)",
        || {
            let path = dir.join("rust-v2.json");
            JsonTokenStorage::new(&path).store_token_data(&token_map(&default)?)?;
            let store = JsonTokenStorage::new(&path).with_namespace("userprofile/alice");
            store.store_token_data(&token_map(&alice)?)?;
            ensure_tokens(store.get_by_resource_server()?, &alice, "read back")?;
            ensure_eq(
                store.namespaces()?,
                vec!["DEFAULT".to_owned(), "userprofile/alice".to_owned()],
                "namespaces",
            )
        },
    );

    checks.check(
        "SqliteAdapter writes rust.db (two namespaces + config)",
        || {
            let store = SqliteAdapter::open(dir.join("rust.db"))?;
            for (namespace, tokens) in [("DEFAULT", &default), ("userprofile/alice", &alice)] {
                let scoped = store.with_namespace(namespace);
                scoped.store_token_data(&token_map(tokens)?)?;
                for (name, value) in spec.object(&format!("/configs/{}", pointer_escape(namespace)))
                {
                    let value = value.as_object().ok_or("config is not an object")?;
                    scoped.store_config(&name, value)?;
                }
                ensure_tokens(scoped.get_by_resource_server()?, tokens, namespace)?;
            }
            Ok(())
        },
    );

    checks.check(
        "SqliteAdapter creates rust-v2.db in SQLiteTokenStorage's layout (schema 2, two namespaces)",
        || {
            let store = SqliteAdapter::builder(dir.join("rust-v2.db"))
                .new_file_schema(SchemaVersion::V2)
                .open()?;
            ensure_eq(store.schema_version(), SchemaVersion::V2, "schema version")?;
            for (namespace, tokens) in [("DEFAULT", &default), ("userprofile/alice", &alice)] {
                let scoped = store.with_namespace(namespace);
                scoped.store_token_data(&token_map(tokens)?)?;
                ensure_tokens(scoped.get_by_resource_server()?, tokens, namespace)?;
            }
            Ok(())
        },
    );
}

/// Escape a key for a JSON pointer (`/` and `~`).
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

// -- verify-python-edits: what Python changed in Rust's files --------------------------------

fn verify_python_edits(dir: &Path, checks: &mut Checks) {
    let spec = Spec::load();
    let default = spec.tokens("DEFAULT");
    let alice = spec.tokens("userprofile/alice");
    let refreshed = refresh_tokens(&spec);
    let transfer = "transfer.api.globus.org";
    let groups = "groups.api.globus.org";
    let search = "search.api.globus.org";

    checks.check(
        "rust-v1.json: Python's stored refresh replaced transfer; auth (extra fields, identity_id) and groups (non-ASCII scope, null RT) intact",
        || {
            let store = SimpleJsonFileAdapter::new(dir.join("rust-v1.json"));
            let mut want = default.clone();
            want.insert(transfer.to_owned(), refreshed[transfer].clone());
            ensure_tokens(store.get_by_resource_server()?, &want, "rust-v1.json")?;
            ensure_eq(
                read_raw(&dir.join("rust-v1.json"))?["format_version"].clone(),
                json!("1.0"),
                "format_version",
            )
        },
    );

    checks.check(
        "rust-v2.json DEFAULT: transfer replaced, groups removed, auth intact with extra fields",
        || {
            let store = JsonTokenStorage::new(dir.join("rust-v2.json"));
            ensure_token(
                store.get_token_data(transfer)?,
                &refreshed[transfer],
                "transfer",
            )?;
            ensure_eq(
                store.get_token_data(groups)?.is_none(),
                true,
                "groups removed",
            )?;
            let mut want = default.clone();
            want.remove(groups);
            want.insert(transfer.to_owned(), refreshed[transfer].clone());
            ensure_tokens(store.get_by_resource_server()?, &want, "DEFAULT")
        },
    );

    checks.check(
        "rust-v2.json userprofile/alice: Rust's entry intact (extra fields), Python's search entry added",
        || {
            let store = JsonTokenStorage::new(dir.join("rust-v2.json")).with_namespace("userprofile/alice");
            let mut want = alice.clone();
            want.insert(search.to_owned(), spec.at("/python/search").clone());
            ensure_tokens(store.get_by_resource_server()?, &want, "userprofile/alice")?;
            ensure_eq(
                store.namespaces()?,
                vec!["DEFAULT".to_owned(), "userprofile/alice".to_owned()],
                "namespaces",
            )
        },
    );

    checks.check(
        "rust.db DEFAULT: transfer replaced, groups removed, auth intact with extra fields",
        || {
            let store = SqliteAdapter::open(dir.join("rust.db"))?;
            let mut want = default.clone();
            want.remove(groups);
            want.insert(transfer.to_owned(), refreshed[transfer].clone());
            ensure_tokens(store.get_by_resource_server()?, &want, "DEFAULT")?;
            ensure_eq(
                store.get_token_data(groups)?.is_none(),
                true,
                "groups removed",
            )
        },
    );

    checks.check(
        "rust.db config: Python replaced cli_config, removed to_remove, added py_config",
        || {
            let store = SqliteAdapter::open(dir.join("rust.db"))?;
            ensure_eq(
                store.read_config("cli_config")?,
                Some(spec.object("/python/edited_cli_config")),
                "DEFAULT cli_config",
            )?;
            ensure_eq(store.read_config("to_remove")?, None, "DEFAULT to_remove")?;
            let alice_store = store.with_namespace("userprofile/alice");
            ensure_eq(
                alice_store.read_config("profile")?,
                Some(spec.object("/configs/userprofile~1alice/profile")),
                "alice profile",
            )?;
            ensure_eq(
                alice_store.read_config("py_config")?,
                Some(spec.object("/python/alice_config")),
                "alice py_config",
            )
        },
    );

    checks.check(
        "rust.db: alice intact, SQLiteTokenStorage's python/v2 namespace readable, namespaces listed",
        || {
            let store = SqliteAdapter::open(dir.join("rust.db"))?;
            ensure_tokens(
                store.with_namespace("userprofile/alice").get_by_resource_server()?,
                &alice,
                "userprofile/alice",
            )?;
            ensure_token(
                store.with_namespace("python/v2").get_token_data(search)?,
                spec.at("/python/search"),
                "python/v2 search",
            )?;
            ensure_eq(
                store.namespaces()?,
                vec!["DEFAULT".to_owned(), "python/v2".to_owned(), "userprofile/alice".to_owned()],
                "namespaces",
            )
        },
    );

    checks.check(
        "rust-v2.db: SQLiteTokenStorage's search entry readable, Rust's entries intact, still schema 2",
        || {
            let store = SqliteAdapter::open(dir.join("rust-v2.db"))?;
            ensure_eq(store.schema_version(), SchemaVersion::V2, "schema version")?;
            let mut want = default.clone();
            want.insert(search.to_owned(), spec.at("/python/search").clone());
            ensure_tokens(store.get_by_resource_server()?, &want, "DEFAULT")?;
            ensure_tokens(
                store.with_namespace("userprofile/alice").get_by_resource_server()?,
                &alice,
                "userprofile/alice",
            )
        },
    );
}

// -- read-python: fresh files from the Python classes -----------------------------------------

fn read_python(dir: &Path, checks: &mut Checks) {
    let spec = Spec::load();
    let original = authorization_code_tokens(&spec);
    let refreshed = refresh_tokens(&spec);
    let upgrade = spec.at("/upgrade_entry").clone();
    let upgrade_rs = upgrade["resource_server"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    checks.check(
        "SimpleJsonFileAdapter reads py-v1.json (non-ASCII \\u escapes, null RT)",
        || {
            let store = SimpleJsonFileAdapter::new(dir.join("py-v1.json"));
            ensure_tokens(store.get_by_resource_server()?, &original, "py-v1.json")?;
            ensure_token(
                store.get_token_data("groups.api.globus.org")?,
                &original["groups.api.globus.org"],
                "groups",
            )
        },
    );

    checks.check(
        "JsonTokenStorage reads the 1.0 py-v1.json as DEFAULT without rewriting it",
        || {
            let path = dir.join("py-v1.json");
            let before = std::fs::read(&path)?;
            let store = JsonTokenStorage::new(&path);
            ensure_tokens(store.get_by_resource_server()?, &original, "py-v1.json")?;
            ensure_eq(
                std::fs::read(&path)? == before,
                true,
                "file unchanged by reading",
            )
        },
    );

    checks.check(
        "JsonTokenStorage upgrades py-v1-upgrade.json to 2.0 on write, keeping the 1.0 tokens as DEFAULT",
        || {
            let path = dir.join("py-v1-upgrade.json");
            ensure_tokens(JsonTokenStorage::new(&path).get_by_resource_server()?, &original, "before")?;
            let store = JsonTokenStorage::new(&path).with_namespace("rust/upgraded");
            let entry = token_data(upgrade.as_object().ok_or("upgrade_entry not an object")?)?;
            store.store_token_data(&BTreeMap::from([(upgrade_rs.clone(), entry)]))?;
            ensure_eq(read_raw(&path)?["format_version"].clone(), json!("2.0"), "format_version")?;
            ensure_tokens(JsonTokenStorage::new(&path).get_by_resource_server()?, &original, "after")?;
            ensure_token(store.get_token_data(&upgrade_rs)?, &upgrade, "new entry")?;
            ensure_eq(
                store.namespaces()?,
                vec!["DEFAULT".to_owned(), "rust/upgraded".to_owned()],
                "namespaces",
            )
        },
    );

    checks.check(
        "SimpleJsonFileAdapter refuses the upgraded 2.0 file with an error",
        || match SimpleJsonFileAdapter::new(dir.join("py-v1-upgrade.json"))
            .get_token_data("auth.globus.org")
        {
            Err(_) => Ok(()),
            Ok(_) => fail("read a 2.0 file as 1.0".to_owned()),
        },
    );

    checks.check(
        "JsonTokenStorage reads py-v2.json (DEFAULT, userprofile/bob with identity_id)",
        || {
            let path = dir.join("py-v2.json");
            ensure_tokens(
                JsonTokenStorage::new(&path).get_by_resource_server()?,
                &original,
                "DEFAULT",
            )?;
            let bob = JsonTokenStorage::new(&path).with_namespace("userprofile/bob");
            ensure_token(
                bob.get_token_data("transfer.api.globus.org")?,
                spec.at("/python/bob"),
                "bob",
            )?;
            ensure_eq(
                bob.namespaces()?,
                vec!["DEFAULT".to_owned(), "userprofile/bob".to_owned()],
                "namespaces",
            )
        },
    );

    checks.check(
        "SqliteAdapter reads py-v1.db (schema 1: tokens, config, two namespaces)",
        || {
            let store = SqliteAdapter::open(dir.join("py-v1.db"))?;
            ensure_tokens(store.get_by_resource_server()?, &original, "DEFAULT")?;
            ensure_eq(
                store.read_config("cli_config")?,
                Some(spec.object("/python/cli_config")),
                "cli_config",
            )?;
            let alice = store.with_namespace("userprofile/alice");
            ensure_tokens(
                alice.get_by_resource_server()?,
                &refreshed,
                "userprofile/alice",
            )?;
            ensure_eq(
                alice.read_config("profile")?,
                Some(spec.object("/python/alice_config")),
                "alice profile",
            )?;
            ensure_eq(
                store.namespaces()?,
                vec!["DEFAULT".to_owned(), "userprofile/alice".to_owned()],
                "namespaces",
            )
        },
    );

    checks.check(
        "SqliteAdapter reads py-v2.db (SQLiteTokenStorage schema 2) and adds a namespace",
        || {
            let store = SqliteAdapter::open(dir.join("py-v2.db"))?;
            ensure_tokens(store.get_by_resource_server()?, &original, "DEFAULT")?;
            ensure_token(
                store
                    .with_namespace("clientapp")
                    .get_token_data("transfer.api.globus.org")?,
                spec.at("/python/clientapp"),
                "clientapp",
            )?;
            let rust = store.with_namespace("rust");
            let entry = token_data(upgrade.as_object().ok_or("upgrade_entry not an object")?)?;
            rust.store_token_data(&BTreeMap::from([(upgrade_rs.clone(), entry)]))?;
            ensure_token(rust.get_token_data(&upgrade_rs)?, &upgrade, "rust entry")?;
            ensure_eq(
                store.namespaces()?,
                vec![
                    "DEFAULT".to_owned(),
                    "clientapp".to_owned(),
                    "rust".to_owned(),
                ],
                "namespaces",
            )
        },
    );
}

// -- live: long-lived Rust handles and Python writing the same files in turn --------------------

const LIVE_RS: &str = "transfer.api.globus.org";
const LIVE_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const LIVE_EXPIRES: i64 = 2_000_000_000;
/// Python writes the odd generations, Rust the even ones; every token has the same length, so
/// each rewrite leaves the file the same size (the hard case for a cache validated by metadata).
const LIVE_LAST: u32 = 7;

fn live_token(generation: u32) -> TokenData {
    TokenData::new(
        LIVE_RS,
        LIVE_SCOPE,
        format!("AT-live-{generation}"),
        LIVE_EXPIRES,
    )
    .with_refresh_token(format!("RT-live-{generation}"))
}

fn live_expected(generation: u32) -> Value {
    json!({
        "scope": LIVE_SCOPE,
        "access_token": format!("AT-live-{generation}"),
        "refresh_token": format!("RT-live-{generation}"),
        "token_type": "Bearer",
        "expires_at_seconds": LIVE_EXPIRES,
        "resource_server": LIVE_RS,
    })
}

fn live_config(generation: u32) -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("n".to_owned(), generation.into());
    config
}

/// One handle per file kind, opened once and kept for the whole exchange, so any caching in
/// them must notice writes by other processes.
struct LiveHandles {
    v1: SimpleJsonFileAdapter,
    v2: JsonTokenStorage,
    db: SqliteAdapter,
}

impl LiveHandles {
    fn kinds(&self) -> [(&'static str, &dyn TokenStorage); 3] {
        [
            ("JSON 1.0", &self.v1 as &dyn TokenStorage),
            ("JSON 2.0", &self.v2),
            ("SQLite", &self.db),
        ]
    }

    fn write(&self, generation: u32) -> CheckResult {
        let batch = BTreeMap::from([(LIVE_RS.to_owned(), live_token(generation))]);
        for (_, store) in self.kinds() {
            store.store_token_data(&batch)?;
        }
        self.db.store_config("live", &live_config(generation))?;
        Ok(())
    }
}

fn live(dir: &Path, python: &[String], checks: &mut Checks) {
    let mut handles = None;
    checks.check(
        "live: Rust opens one long-lived handle per file kind and writes generation 0",
        || {
            let opened = LiveHandles {
                v1: SimpleJsonFileAdapter::new(dir.join("live-v1.json")),
                v2: JsonTokenStorage::new(dir.join("live-v2.json")),
                db: SqliteAdapter::open(dir.join("live.db"))?,
            };
            opened.write(0)?;
            // Read back, so that anything a handle caches is warm.
            for (kind, store) in opened.kinds() {
                ensure_token(store.get_token_data(LIVE_RS)?, &live_expected(0), kind)?;
            }
            handles = Some(opened);
            Ok(())
        },
    );
    let Some(handles) = handles else { return };

    for generation in (1..=LIVE_LAST).step_by(2) {
        // Python checks generation - 1 (Rust's), then writes `generation`.
        let mut command = std::process::Command::new(&python[0]);
        command
            .args(&python[1..])
            .arg("live")
            .arg(dir)
            .arg(generation.to_string());
        let mut python_ok = false;
        checks.check(
            &format!("live: Python process for generation {generation} ran"),
            || {
                let output = command.output()?;
                print!("{}", String::from_utf8_lossy(&output.stdout));
                eprint!("{}", String::from_utf8_lossy(&output.stderr));
                python_ok = output.status.success();
                if python_ok {
                    Ok(())
                } else {
                    fail(format!("exited with {}", output.status))
                }
            },
        );
        if !python_ok {
            return;
        }
        for (kind, store) in handles.kinds() {
            checks.check(
                &format!("live: the same Rust {kind} handle sees Python's generation {generation}"),
                || {
                    ensure_token(
                        store.get_token_data(LIVE_RS)?,
                        &live_expected(generation),
                        "get_token_data",
                    )?;
                    let all = store
                        .as_enumerable()
                        .ok_or("handle cannot list")?
                        .get_by_resource_server()?;
                    ensure_tokens(
                        all,
                        &Map::from_iter([(LIVE_RS.to_owned(), live_expected(generation))]),
                        "get_by_resource_server",
                    )
                },
            );
        }
        checks.check(
            &format!(
                "live: the same Rust SQLite handle sees Python's config generation {generation}"
            ),
            || {
                ensure_eq(
                    handles.db.read_config("live")?,
                    Some(live_config(generation)),
                    "config",
                )
            },
        );
        if generation < LIVE_LAST {
            checks.check(
                &format!(
                    "live: Rust writes generation {} through the same handles",
                    generation + 1
                ),
                || handles.write(generation + 1),
            );
        }
    }
}

fn main() -> ExitCode {
    const USAGE: &str = "usage: interop write|verify-python-edits|read-python DIR\n       \
                         interop live DIR PYTHON [ARGS...]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut checks = Checks::default();
    match args.as_slice() {
        [command, dir] if command == "write" => write(Path::new(dir), &mut checks),
        [command, dir] if command == "verify-python-edits" => {
            verify_python_edits(Path::new(dir), &mut checks)
        }
        [command, dir] if command == "read-python" => read_python(Path::new(dir), &mut checks),
        [command, dir, python @ ..] if command == "live" && !python.is_empty() => {
            live(Path::new(dir), python, &mut checks)
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    if checks.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
