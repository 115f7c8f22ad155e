//! Properties of parsing and serialising: round trips, normal forms, and no panic on any input.

use globus_scopes::consents::ConsentForest;
use globus_scopes::{Scope, ScopeParseError, scopes_to_str};
use proptest::prelude::*;

/// Python's `str.isspace()`, repeated here because the crate keeps its own private.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A tree shape with names from `[a-z0-9:/._-]` and some non-ASCII.
fn shape() -> impl Strategy<Value = Scope> {
    let leaf = ("[a-z0-9:/._\u{e9}\u{65e5}-]{1,6}", any::<bool>()).prop_map(|(name, optional)| {
        Scope::new(name)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_optional(optional)
    });
    leaf.prop_recursive(4, 24, 4, |inner| {
        (inner.clone(), prop::collection::vec(inner, 1..4))
            .prop_map(|(parent, children)| parent.with_dependencies(children))
    })
}

/// Renames every scope in preorder to `name#i`, so no two scopes share a name and the
/// forest is already in globus-sdk's normal form.
fn distinct(scopes: Vec<Scope>) -> Vec<Scope> {
    fn rename(scope: &Scope, counter: &mut usize) -> Scope {
        *counter += 1;
        let name = format!("{}#{counter}", scope.scope_string());
        let children: Vec<Scope> = scope
            .dependencies()
            .iter()
            .map(|d| rename(d, counter))
            .collect();
        Scope::new(name)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_optional(scope.is_optional())
            .with_dependencies(children)
    }
    let mut counter = 0;
    scopes.iter().map(|s| rename(s, &mut counter)).collect()
}

fn names_are_trimmed(scopes: &[Scope]) -> bool {
    scopes.iter().all(|s| {
        let name = s.scope_string();
        !name.starts_with(python_space)
            && !name.ends_with(python_space)
            && names_are_trimmed(s.dependencies())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// parse(serialize(x)) == x for scopes in normal form (distinct names).
    #[test]
    fn round_trip_of_normal_forms(scopes in prop::collection::vec(shape(), 0..4)) {
        let scopes = distinct(scopes);
        let text = scopes_to_str(&scopes);
        prop_assert_eq!(Scope::parse(&text), Ok(scopes.clone()));
        for scope in &scopes {
            prop_assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope.clone()));
        }
    }

    /// Any built forest serialises to a string that parses (unless a name repeats along a
    /// path, a cycle), and what it parses to is a fixed point: parsing normalises once.
    #[test]
    fn parsing_normalises_once(scopes in prop::collection::vec(shape(), 0..4)) {
        match Scope::parse(&scopes_to_str(&scopes)) {
            Ok(normal) => {
                prop_assert_eq!(Scope::parse(&scopes_to_str(&normal)), Ok(normal.clone()));
            }
            Err(e) => prop_assert!(e.is_cycle(), "{}", e),
        }
    }

    /// Dense in special characters: never panics, and an accepted string's serialisation
    /// parses back to the same scopes (when no name keeps whitespace that the end-of-input
    /// trim would remove, which globus-sdk does not round-trip either).
    #[test]
    fn special_character_soup(input in "[ab\\[\\]* \t\u{a0}\u{1c}]{0,40}") {
        if let Ok(scopes) = Scope::parse(&input) {
            prop_assume!(names_are_trimmed(&scopes));
            prop_assert_eq!(Scope::parse(&scopes_to_str(&scopes)), Ok(scopes.clone()));
        }
    }

    /// Arbitrary strings: a result or a typed error, never a panic; syntax errors point
    /// inside the input at a character boundary.
    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        match Scope::parse(&input) {
            Ok(_) => {}
            Err(e) => {
                if let Some(position) = e.position() {
                    prop_assert!(input.is_char_boundary(position) && position < input.len());
                }
                prop_assert!(!e.to_string().is_empty());
            }
        }
        let _ = input.parse::<Scope>();
    }

    /// Syntax errors are found at the character globus-sdk's message is about.
    #[test]
    fn error_positions_point_at_the_culprit(input in "[ab\\[\\]* ]{1,30}") {
        if let Err(e) = Scope::parse(&input) {
            let at = |p: usize| input[p..].chars().next();
            match e {
                ScopeParseError::SpaceAfterOptionalMarker { position }
                | ScopeParseError::EndsInOptionalMarker { position }
                | ScopeParseError::OptionalMarkerWithoutScope { position } => {
                    prop_assert_eq!(at(position), Some('*'))
                }
                ScopeParseError::InvalidCharacterAfterRightBracket { position, .. }
                | ScopeParseError::UnmatchedRightBracket { position } => {
                    prop_assert_eq!(at(position), Some(']'))
                }
                ScopeParseError::SpaceBeforeLeftBracket { position } => {
                    prop_assert_eq!(at(position), Some(' '))
                }
                ScopeParseError::EndsInLeftBracket { position }
                | ScopeParseError::EmptyBrackets { position }
                | ScopeParseError::DoubleLeftBracket { position }
                | ScopeParseError::LeftBracketWithoutScope { position }
                | ScopeParseError::UnclosedBracket { position } => {
                    prop_assert_eq!(at(position), Some('['))
                }
                other => prop_assert!(other.is_cycle(), "{}", other),
            }
        }
    }

    /// Arbitrary bytes as a consents body: a forest or a typed error.
    #[test]
    fn consent_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = ConsentForest::from_response_json(&body);
    }

    /// Random forests, including repeated ids, empty paths and links into cycles: building,
    /// checking, measuring and printing all finish.
    #[test]
    fn random_forests_finish(
        consents in prop::collection::vec(
            (0i64..6, prop::collection::vec(0i64..6, 0..4), "[abc]"),
            0..10,
        ),
        requirement in "[abc](\\[[abc]( [abc])?\\])?",
    ) {
        let body: Vec<serde_json::Value> = consents
            .iter()
            .map(|(id, path, name)| serde_json::json!({
                "id": id, "dependency_path": path, "scope_name": name, "client": "c",
                "scope": "s", "effective_identity": "e", "created": "t", "updated": "t",
                "last_used": "t", "status": "approved", "allows_refresh": true,
                "auto_approved": false, "atomically_revocable": false
            }))
            .collect();
        if let Ok(forest) = ConsentForest::from_json_value(&serde_json::Value::Array(body)) {
            match forest.meets_scope_requirements_str(&requirement) {
                Ok(_) => {}
                // "a[a]" is a cycle
                Err(e) => prop_assert!(e.is_cycle(), "{}", e),
            }
            for tree in forest.trees() {
                prop_assert!(tree.max_depth() >= 1);
                prop_assert!(tree.to_string().lines().count() >= 1);
            }
            let _ = forest.to_string();
        }
    }
}
