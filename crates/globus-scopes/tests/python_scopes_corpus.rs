//! Our parser and serialiser against globus-sdk 3.65.0's, on the answers recorded by
//! `scripts/python/scopes_corpus.py` in `tests/data/scopes_corpus.json` (regenerate or check
//! them with that script).

use globus_scopes::{
    AuthScopes, ComputeScopes, FlowsScopes, GcsCollectionScopeBuilder, GcsEndpointScopeBuilder,
    GroupsScopes, NexusScopes, Scope, ScopeBuilder, ScopeParseError, SearchScopes,
    SpecificFlowScopeBuilder, TimersScopes, TransferScopes, scopes_to_str,
};
use serde_json::{Value, json};

fn corpus() -> Value {
    match serde_json::from_str(include_str!("data/scopes_corpus.json")) {
        Ok(v) => v,
        Err(e) => panic!("tests/data/scopes_corpus.json: {e}"),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

/// The scope with its dependencies sorted by (scope_string, optional), recursively, as the
/// generator sorts globus-sdk's set-ordered output.
fn sorted(scope: &Scope) -> Scope {
    let mut dependencies: Vec<Scope> = scope.dependencies().iter().map(sorted).collect();
    dependencies.sort_by(|a, b| {
        (a.scope_string(), a.is_optional()).cmp(&(b.scope_string(), b.is_optional()))
    });
    let bare = Scope::new(scope.scope_string()).unwrap_or_else(|e| panic!("{e}"));
    bare.with_optional(scope.is_optional())
        .with_dependencies(dependencies)
}

fn sorted_list(scopes: &[Scope]) -> Vec<Scope> {
    let mut list: Vec<Scope> = scopes.iter().map(sorted).collect();
    list.sort_by(|a, b| {
        (a.scope_string(), a.is_optional()).cmp(&(b.scope_string(), b.is_optional()))
    });
    list
}

fn tree_json(scope: &Scope) -> Value {
    json!({
        "scope_string": scope.scope_string(),
        "optional": scope.is_optional(),
        "dependencies": scope.dependencies().iter().map(tree_json).collect::<Vec<_>>(),
    })
}

#[test]
fn corpus_is_large_and_mixed() {
    let corpus = corpus();
    let cases = corpus["cases"].as_array().map_or(0, Vec::len);
    assert!(cases >= 60, "only {cases} cases");
    assert_eq!(str_of(&corpus, "globus_sdk_version"), "3.65.0");
}

#[test]
fn every_string_parses_as_globus_sdk_parses_it() {
    let corpus = corpus();
    let cases = corpus["cases"].as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    for case in &cases {
        let input = str_of(case, "input");
        let ours = Scope::parse(input);
        let verdict = match (str_of(case, "result"), &ours) {
            ("ok", Ok(scopes)) => check_ok(case, input, scopes),
            ("error", Err(err)) => check_error(case, err),
            (expected, got) => Err(format!("globus-sdk: {expected}, we: {got:?}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{input:?}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check_ok(case: &Value, input: &str, scopes: &[Scope]) -> Result<(), String> {
    let canonical = sorted_list(scopes);
    let trees: Vec<Value> = canonical.iter().map(tree_json).collect();
    if Value::Array(trees.clone()) != case["trees"] {
        return Err(format!(
            "trees differ:\n  ours   {}\n  python {}",
            Value::Array(trees),
            case["trees"]
        ));
    }
    let serialised = scopes_to_str(&canonical);
    if serialised != str_of(case, "canonical") {
        return Err(format!(
            "serialisation differs: ours {serialised:?}, python {:?}",
            str_of(case, "canonical")
        ));
    }
    // our own (first-appearance) order serialises to a string that parses back unchanged
    let again = Scope::parse(&scopes_to_str(scopes)).map_err(|e| format!("reparse: {e}"))?;
    if again != scopes {
        return Err(format!("reparse changed {scopes:?} into {again:?}"));
    }
    let one = input.parse::<Scope>();
    if one.is_ok() != case["deserialize_ok"].as_bool().unwrap_or(false) {
        return Err(format!(
            "FromStr gave {one:?}, python deserialize_ok={}",
            case["deserialize_ok"]
        ));
    }
    Ok(())
}

fn check_error(case: &Value, err: &ScopeParseError) -> Result<(), String> {
    match str_of(case, "error_class") {
        "ScopeCycleError" => {
            let ScopeParseError::Cycle { scope } = err else {
                return Err(format!("python found a cycle, we: {err}"));
            };
            let on_cycle: Vec<&str> = case["cycle_nodes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !on_cycle.contains(&scope.as_str()) {
                return Err(format!("{scope:?} is not on a cycle ({on_cycle:?})"));
            }
            let expected = format!("A cycle was found involving '{scope}'");
            if err.to_string() != expected {
                return Err(format!("message {err} != {expected}"));
            }
        }
        "ScopeParseError" => {
            let message = str_of(case, "message");
            if err.is_cycle() || !err.to_string().starts_with(message) || err.position().is_none() {
                return Err(format!("python: {message:?}, we: {err} ({err:?})"));
            }
        }
        other => return Err(format!("unknown class {other}")),
    }
    Ok(())
}

#[test]
fn whitespace_trimmed_at_the_end_is_pythons_isspace() {
    let corpus = corpus();
    let python: Vec<u32> = corpus["python_whitespace"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64())
                .filter_map(|c| u32::try_from(c).ok())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(python.len(), 29, "globus-sdk 3.65 on Python 3.11");
    // every code point of the Basic Multilingual Plane (all of Python's whitespace is there),
    // and a sample of the others
    let probe = (0..=0xFFFF_u32).chain((0x10000..=0x10FFFF).step_by(97));
    for c in probe.filter_map(char::from_u32) {
        if matches!(c, '[' | ']' | '*' | ' ') {
            continue;
        }
        let input = format!("x{c}");
        let parsed = Scope::parse(&input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let expected = if python.contains(&u32::from(c)) {
            "x".to_owned()
        } else {
            input.clone()
        };
        assert_eq!(parsed.len(), 1, "{input:?}");
        assert_eq!(parsed[0].scope_string(), expected, "U+{:04X}", u32::from(c));
    }
}

/// `(globus-sdk attribute, scope string)` pairs.
type Scopes = &'static [(&'static str, &'static str)];

#[test]
fn service_scopes_are_globus_sdks() {
    let corpus = corpus();
    let ours: [(&str, &str, Scopes); 8] = [
        (
            "AuthScopes",
            AuthScopes::RESOURCE_SERVER,
            AuthScopes::SCOPES,
        ),
        (
            "ComputeScopes",
            ComputeScopes::RESOURCE_SERVER,
            ComputeScopes::SCOPES,
        ),
        (
            "FlowsScopes",
            FlowsScopes::RESOURCE_SERVER,
            FlowsScopes::SCOPES,
        ),
        (
            "GroupsScopes",
            GroupsScopes::RESOURCE_SERVER,
            GroupsScopes::SCOPES,
        ),
        (
            "NexusScopes",
            NexusScopes::RESOURCE_SERVER,
            NexusScopes::SCOPES,
        ),
        (
            "SearchScopes",
            SearchScopes::RESOURCE_SERVER,
            SearchScopes::SCOPES,
        ),
        (
            "TimersScopes",
            TimersScopes::RESOURCE_SERVER,
            TimersScopes::SCOPES,
        ),
        (
            "TransferScopes",
            TransferScopes::RESOURCE_SERVER,
            TransferScopes::SCOPES,
        ),
    ];
    let python = corpus["collections"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(python.len(), ours.len());
    for (name, resource_server, scopes) in ours {
        let recorded = &python[name];
        assert_eq!(
            resource_server,
            str_of(recorded, "resource_server"),
            "{name}"
        );
        let theirs: Vec<(String, String)> = recorded["scopes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|pair| (str_of_index(pair, 0), str_of_index(pair, 1)))
                    .collect()
            })
            .unwrap_or_default();
        let ours: Vec<(String, String)> = scopes
            .iter()
            .map(|(a, v)| ((*a).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(ours, theirs, "{name}");
    }
    // the individual constants are the listed ones
    assert_eq!(TransferScopes::ALL, TransferScopes::SCOPES[0].1);
    assert_eq!(AuthScopes::VIEW_IDENTITY_SET, AuthScopes::SCOPES[9].1);
    assert_eq!(FlowsScopes::RUN_MANAGE, FlowsScopes::SCOPES[5].1);
}

fn str_of_index(v: &Value, i: usize) -> String {
    v[i].as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{v}[{i}]"))
}

#[test]
fn scope_builders_are_globus_sdks() {
    let corpus = corpus();
    let b = &corpus["builders"];
    let names = |v: &Value| -> Vec<String> {
        v["scope_names"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };

    let collection = GcsCollectionScopeBuilder::new(str_of(&b["gcs_collection"], "id"));
    assert_eq!(
        collection.data_access(),
        str_of(&b["gcs_collection"], "data_access")
    );
    assert_eq!(collection.https(), str_of(&b["gcs_collection"], "https"));
    assert_eq!(
        GcsCollectionScopeBuilder::SCOPE_NAMES,
        names(&b["gcs_collection"])
    );

    let endpoint = GcsEndpointScopeBuilder::new(str_of(&b["gcs_endpoint"], "id"));
    assert_eq!(
        endpoint.manage_collections(),
        str_of(&b["gcs_endpoint"], "manage_collections")
    );
    assert_eq!(
        GcsEndpointScopeBuilder::SCOPE_NAMES,
        names(&b["gcs_endpoint"])
    );

    let flow = SpecificFlowScopeBuilder::new(str_of(&b["specific_flow"], "id"));
    assert_eq!(flow.user(), str_of(&b["specific_flow"], "user"));
    assert_eq!(
        SpecificFlowScopeBuilder::SCOPE_NAMES,
        names(&b["specific_flow"])
    );

    let generic = ScopeBuilder::new(str_of(&b["generic"], "resource_server"));
    assert_eq!(
        generic.urn_scope_string("all"),
        str_of(&b["generic"], "urn_all")
    );
    assert_eq!(
        generic.url_scope_string("hello_world"),
        str_of(&b["generic"], "url_hello_world")
    );
}
