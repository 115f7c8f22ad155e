//! Consent forests against globus-sdk 3.65.0's, on the answers recorded by
//! `scripts/python/scopes_corpus.py` in `tests/data/consents_corpus.json`: the same bodies
//! give the same errors, the same trees, the same text and the same
//! `meets_scope_requirements` answers.

use globus_scopes::Scope;
use globus_scopes::consents::ConsentForest;
use serde_json::Value;

fn corpus() -> Value {
    match serde_json::from_str(include_str!("data/consents_corpus.json")) {
        Ok(v) => v,
        Err(e) => panic!("tests/data/consents_corpus.json: {e}"),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn cases() -> Vec<Value> {
    corpus()["cases"].as_array().cloned().unwrap_or_default()
}

#[test]
fn errors_are_globus_sdks() {
    let mut seen = 0;
    for case in cases().iter().filter(|c| c["result"] == "error") {
        seen += 1;
        let name = str_of(case, "name");
        let err = match ConsentForest::from_json_value(&case["body"]) {
            Err(e) => e,
            Ok(_) => panic!("{name}: globus-sdk failed, we did not"),
        };
        let message = str_of(case, "message");
        assert!(
            err.to_string().starts_with(message),
            "{name}: {err} vs {message}"
        );
        assert_eq!(
            err.is_tree_construction_error(),
            str_of(case, "error_class") == "ConsentTreeConstructionError",
            "{name}"
        );
    }
    assert!(seen >= 3);
}

#[test]
fn forests_have_globus_sdks_shape_and_text() {
    for case in cases().iter().filter(|c| c["result"] == "ok") {
        let name = str_of(case, "name");
        let forest =
            ConsentForest::from_json_value(&case["body"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let trees: Vec<Value> = forest
            .trees()
            .iter()
            .map(|t| {
                let mut ids: Vec<i64> = t.nodes().iter().map(|n| n.id).collect();
                ids.sort_unstable();
                serde_json::json!({
                    "root": t.root().map(|r| r.id),
                    "node_ids": ids,
                    "max_depth": t.max_depth(),
                })
            })
            .collect();
        assert_eq!(Value::Array(trees), case["trees"], "{name}");
        let strings: Vec<String> = forest.nodes().iter().map(ToString::to_string).collect();
        assert_eq!(
            serde_json::json!(strings),
            case["consent_strings"],
            "{name}"
        );
        assert_eq!(forest.to_string(), str_of(case, "forest_string"), "{name}");
    }
}

#[test]
fn meets_scope_requirements_answers_are_globus_sdks() {
    let mut answers = 0;
    let mut met = 0;
    for case in cases().iter().filter(|c| c["result"] == "ok") {
        let name = str_of(case, "name");
        let forest =
            ConsentForest::from_json_value(&case["body"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        for answer in case["meets"].as_array().into_iter().flatten() {
            let requirement = str_of(answer, "requirement");
            let expected = answer["meets"].as_bool();
            let ours = forest
                .meets_scope_requirements_str(requirement)
                .unwrap_or_else(|e| panic!("{requirement}: {e}"));
            assert_eq!(Some(ours), expected, "{name}: {requirement:?}");
            // the same through parsed scopes, one requirement at a time
            let scopes = Scope::parse(requirement).unwrap_or_else(|e| panic!("{e}"));
            let each = scopes
                .iter()
                .all(|s| forest.meets_scope_requirements(std::slice::from_ref(s)));
            assert_eq!(each, ours, "{name}: {requirement:?}");
            answers += 1;
            met += usize::from(ours);
        }
    }
    // the corpus exercises both answers
    assert!(
        answers >= 100 && met >= 10 && answers - met >= 10,
        "{answers} {met}"
    );
}
