//! [`Scope`]: one scope string, its optional flag and its dependencies.

use std::fmt;
use std::str::FromStr;

use crate::error::{ScopeParseError, ScopeStringError};
use crate::parser;

/// A scope with its dependent scopes: globus-sdk's `Scope`.
///
/// `Display` writes globus-sdk's serialisation (`str(scope)`): `*` before an optional scope,
/// then the scope string, then the dependencies in brackets separated by single spaces, in the
/// order they were added. [`Scope::parse`] reads any scope string; `str::parse::<Scope>()`
/// ([`FromStr`]) reads a string that holds exactly one top-level scope.
///
/// ```
/// use globus_scopes::{GcsCollectionScopeBuilder, Scope, TransferScopes};
///
/// let collection = GcsCollectionScopeBuilder::new("542a86fc-1766-450d-841f-065488a2ec01");
/// let transfer = Scope::new(TransferScopes::ALL)?
///     .with_dependency(Scope::new(collection.data_access())?.with_optional(true));
/// assert_eq!(
///     transfer.to_string(),
///     "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access]"
/// );
/// assert_eq!(transfer.to_string().parse::<Scope>()?, transfer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    scope_string: String,
    optional: bool,
    dependencies: Vec<Scope>,
}

impl Scope {
    /// A required scope without dependencies.
    ///
    /// # Errors
    ///
    /// [`ScopeStringError`] if `scope_string` is empty or holds `[`, `]`, `*` or a space (use
    /// [`Scope::parse`] or [`FromStr`] for strings with that syntax).
    pub fn new(scope_string: impl Into<String>) -> Result<Self, ScopeStringError> {
        let scope_string = scope_string.into();
        if scope_string.is_empty() {
            return Err(ScopeStringError::Empty);
        }
        if let Some((position, character)) = scope_string
            .char_indices()
            .find(|&(_, c)| matches!(c, '[' | ']' | '*' | ' '))
        {
            return Err(ScopeStringError::SpecialCharacter {
                scope_string,
                character,
                position,
            });
        }
        Ok(Self::from_parts(scope_string, false, Vec::new()))
    }

    /// For the parser, whose names are already known to be valid.
    pub(crate) fn from_parts(
        scope_string: String,
        optional: bool,
        dependencies: Vec<Scope>,
    ) -> Self {
        Self {
            scope_string,
            optional,
            dependencies,
        }
    }

    /// Parses a scope string into its top-level scopes (globus-sdk 3.x `Scope.parse`, 4.x
    /// `ScopeParser.parse`).
    ///
    /// The empty string (or only whitespace) gives no scopes. Like globus-sdk, parsing goes
    /// through a graph in which each scope string is one node: dependencies given to a scope
    /// anywhere in the string are its dependencies everywhere, repeats are merged, a required
    /// dependency absorbs an optional one of the same name, and a cycle is an error. The order
    /// is the order of first appearance (globus-sdk's varies between runs; see the crate docs).
    ///
    /// ```
    /// use globus_scopes::Scope;
    ///
    /// let scopes = Scope::parse("a[b[x]] c[b[y] *d] a")?;
    /// assert_eq!(globus_scopes::scopes_to_str(&scopes), "a[b[x y]] c[b[x y] *d]");
    /// assert!(Scope::parse("   ")?.is_empty());
    /// # Ok::<(), globus_scopes::ScopeParseError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ScopeParseError`]: a syntax error (with its byte offset), a cycle, or more than
    /// [`MAX_DEPTH`](crate::MAX_DEPTH) levels or [`MAX_SCOPES`](crate::MAX_SCOPES) scopes.
    pub fn parse(scope_string: &str) -> Result<Vec<Scope>, ScopeParseError> {
        parser::parse(scope_string)
    }

    /// globus-sdk's `Scope.merge_scopes`: both lists serialised, joined and parsed again, so
    /// the result is merged as [`Scope::parse`] merges.
    ///
    /// ```
    /// use globus_scopes::Scope;
    ///
    /// let a = Scope::parse("x[y] z")?;
    /// let b = Scope::parse("x[w]")?;
    /// assert_eq!(globus_scopes::scopes_to_str(&Scope::merge_scopes(&a, &b)?), "x[y w] z");
    /// # Ok::<(), globus_scopes::ScopeParseError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ScopeParseError`] when the combination has a cycle or exceeds a limit.
    pub fn merge_scopes(
        scopes_a: &[Scope],
        scopes_b: &[Scope],
    ) -> Result<Vec<Scope>, ScopeParseError> {
        Self::parse(&crate::scopes_to_str(scopes_a.iter().chain(scopes_b)))
    }

    /// The scope string, without `*` or dependencies.
    pub fn scope_string(&self) -> &str {
        &self.scope_string
    }

    /// Whether the scope is optional (`*`): the user may decline it without declining the
    /// scope that depends on it (globus-sdk also calls this "atomically revocable").
    pub fn is_optional(&self) -> bool {
        self.optional
    }

    /// The dependent scopes, in order.
    pub fn dependencies(&self) -> &[Scope] {
        &self.dependencies
    }

    /// This scope marked optional or required (globus-sdk 4.x `with_optional`).
    #[must_use]
    pub fn with_optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// This scope with one more dependency, after the others (globus-sdk 4.x
    /// `with_dependency`).
    #[must_use]
    pub fn with_dependency(mut self, dependency: Scope) -> Self {
        self.dependencies.push(dependency);
        self
    }

    /// This scope with more dependencies, after the others (globus-sdk 4.x
    /// `with_dependencies`).
    #[must_use]
    pub fn with_dependencies(mut self, dependencies: impl IntoIterator<Item = Scope>) -> Self {
        self.dependencies.extend(dependencies);
        self
    }

    /// Adds a dependency in place (globus-sdk 3.x `add_dependency`); returns `self` for
    /// chaining.
    pub fn add_dependency(&mut self, dependency: Scope) -> &mut Self {
        self.dependencies.push(dependency);
        self
    }

    /// globus-sdk's `Scope.serialize()`; the same as `to_string()`.
    pub fn serialize(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.optional {
            f.write_str("*")?;
        }
        f.write_str(&self.scope_string)?;
        if let Some((first, rest)) = self.dependencies.split_first() {
            f.write_str("[")?;
            fmt::Display::fmt(first, f)?;
            for dependency in rest {
                f.write_str(" ")?;
                fmt::Display::fmt(dependency, f)?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// Exactly one top-level scope (globus-sdk 3.x `Scope.deserialize`, 4.x `Scope.parse`).
///
/// ```
/// use globus_scopes::{Scope, ScopeParseError};
///
/// let scope: Scope = "*a[b]".parse()?;
/// assert!(scope.is_optional());
/// assert_eq!(scope.dependencies()[0].scope_string(), "b");
/// assert_eq!("a b".parse::<Scope>(), Err(ScopeParseError::NotExactlyOneScope { found: 2 }));
/// # Ok::<(), ScopeParseError>(())
/// ```
impl FromStr for Scope {
    type Err = ScopeParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut scopes = Self::parse(s)?;
        match scopes.len() {
            1 => scopes
                .pop()
                .ok_or(ScopeParseError::NotExactlyOneScope { found: 0 }),
            found => Err(ScopeParseError::NotExactlyOneScope { found }),
        }
    }
}

/// Serialised as its scope string.
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read from a scope string holding exactly one scope, as [`FromStr`].
impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Scope {
        match Scope::new(s) {
            Ok(scope) => scope,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn display_matches_globus_sdk_serialize() {
        let s = scope("a")
            .with_dependency(scope("b").with_optional(true))
            .with_dependency(scope("c").with_dependency(scope("d")));
        assert_eq!(s.to_string(), "a[*b c[d]]");
        assert_eq!(s.serialize(), "a[*b c[d]]");
        assert_eq!(scope("x").with_optional(true).to_string(), "*x");
    }

    #[test]
    fn new_rejects_special_characters_and_empty() {
        for (bad, character, position) in [
            ("a b", ' ', 1),
            ("*a", '*', 0),
            ("a]", ']', 1),
            ("é[", '[', 2),
        ] {
            assert_eq!(
                Scope::new(bad),
                Err(ScopeStringError::SpecialCharacter {
                    scope_string: bad.to_owned(),
                    character,
                    position
                })
            );
        }
        assert_eq!(Scope::new(""), Err(ScopeStringError::Empty));
        assert!(
            Scope::new("a\tb").is_ok(),
            "only U+0020 is special, as in globus-sdk"
        );
    }

    #[test]
    fn add_dependency_mutates_in_place() {
        let mut s = scope("a");
        s.add_dependency(scope("b")).add_dependency(scope("c"));
        assert_eq!(s.to_string(), "a[b c]");
    }

    #[test]
    fn from_str_wants_exactly_one() {
        assert_eq!(
            "".parse::<Scope>(),
            Err(ScopeParseError::NotExactlyOneScope { found: 0 })
        );
        assert_eq!(
            "a *a".parse::<Scope>(),
            Err(ScopeParseError::NotExactlyOneScope { found: 2 })
        );
        assert!(matches!(
            "a[".parse::<Scope>(),
            Err(ScopeParseError::EndsInLeftBracket { .. })
        ));
        assert_eq!("a a".parse::<Scope>(), Ok(scope("a")));
    }

    #[test]
    fn serde_uses_the_scope_string() -> Result<(), serde_json::Error> {
        let s = scope("a").with_dependency(scope("b").with_optional(true));
        let json = serde_json::to_string(&s)?;
        assert_eq!(json, r#""a[*b]""#);
        assert_eq!(serde_json::from_str::<Scope>(&json)?, s);
        assert!(serde_json::from_str::<Scope>(r#""a b""#).is_err());
        assert!(serde_json::from_str::<Scope>("7").is_err());
        Ok(())
    }
}
