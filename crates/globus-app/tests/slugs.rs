//! App names made into directory names exactly as globus-sdk 3.65 makes them: every entry of
//! `tests/data/app_paths.json` (written by `scripts/python/app_paths_corpus.py` with the real
//! globus-sdk) is checked, slugs and errors alike.

use globus_app::paths::{AppPathError, slugify_app_name};
use serde_json::Value;

#[test]
fn slugs_and_errors_match_globus_sdk() {
    let corpus: Value =
        serde_json::from_str(include_str!("data/app_paths.json")).expect("the corpus is JSON");
    assert_eq!(corpus["globus_sdk_version"], "3.65.0");
    let entries = corpus["slugs"].as_array().expect("a list of slugs");
    assert!(entries.len() > 900, "{} entries", entries.len());
    let (mut slugs, mut reserved, mut empty) = (0, 0, 0);
    let mut failures = Vec::new();
    for entry in entries {
        let name = entry["name"].as_str().expect("a name");
        let got = slugify_app_name(name);
        let ok = match (entry["slug"].as_str(), entry["error"].as_str(), &got) {
            (Some(expected), _, Ok(slug)) => {
                slugs += 1;
                slug == expected
            }
            (_, Some("reserved"), Err(AppPathError::ReservedAppName { name: n, .. })) => {
                reserved += 1;
                n == name
            }
            (_, Some("empty"), Err(AppPathError::EmptyAppName { name: n })) => {
                empty += 1;
                n == name
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{name:?}: expected {entry}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Each kind of outcome is really exercised.
    assert!(
        slugs > 100 && reserved > 50 && empty > 3,
        "{slugs} {reserved} {empty}"
    );
}

#[test]
fn the_reserved_error_says_what_the_name_became() {
    let err = slugify_app_name("Com\u{0661}").unwrap_err();
    assert!(matches!(&err, AppPathError::ReservedAppName { slug, .. } if slug == "com\u{0661}"));
    assert!(err.to_string().contains("reserved filename"), "{err}");
}
