//! Hostile scope strings: huge, deep or exponentially expanding inputs give typed errors
//! quickly, without exhausting the stack or memory.

use std::time::Instant;

use globus_scopes::{MAX_DEPTH, MAX_SCOPES, Scope, ScopeParseError, scopes_to_str};

#[test]
fn deep_brackets_are_refused_not_overflowed() {
    let levels = 100_000;
    let mut input = String::new();
    for i in 0..levels {
        input.push_str(&format!("s{i}["));
    }
    input.push('x');
    input.push_str(&"]".repeat(levels));
    assert_eq!(
        Scope::parse(&input),
        Err(ScopeParseError::TooDeep {
            depth: levels + 1,
            limit: MAX_DEPTH
        })
    );
}

#[test]
fn the_deepest_accepted_scope_prints_and_drops() {
    let mut input = String::new();
    for i in 0..MAX_DEPTH - 1 {
        input.push_str(&format!("s{i}["));
    }
    input.push('x');
    input.push_str(&"]".repeat(MAX_DEPTH - 1));
    let scopes = Scope::parse(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scopes_to_str(&scopes), input);
}

#[test]
fn exponential_expansion_is_refused_quickly() {
    // every level doubles: a few hundred bytes that would expand to 2^60 scopes
    let levels: Vec<String> = (0..60)
        .map(|i| format!("a{i}[a{} b{}] b{i}[a{} b{}]", i + 1, i + 1, i + 1, i + 1))
        .collect();
    let started = Instant::now();
    assert_eq!(
        Scope::parse(&levels.join(" ")),
        Err(ScopeParseError::TooManyScopes { limit: MAX_SCOPES })
    );
    // globus-sdk's cycle check would walk all 2^60 paths; ours visits each scope once
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn wide_input_is_fine() {
    let collections: Vec<String> = (0..5_000)
        .map(|i| format!("https://auth.globus.org/scopes/{i:08}/data_access"))
        .collect();
    let input = format!(
        "urn:globus:auth:scope:transfer.api.globus.org:all[{}]",
        collections.join(" ")
    );
    let scopes = Scope::parse(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scopes[0].dependencies().len(), 5_000);
    assert_eq!(scopes_to_str(&scopes), input);
}

#[test]
fn huge_flat_input_with_many_errors_reports_the_first() {
    let input = format!("{} a[b]c", "x ".repeat(200_000));
    assert!(matches!(
        Scope::parse(&input),
        Err(ScopeParseError::InvalidCharacterAfterRightBracket { position, found: 'c' })
            if position == 400_000 + 4
    ));
}
