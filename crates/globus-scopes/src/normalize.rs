//! globus-sdk's `scopes_to_str` and `scopes_to_scope_list`.

use std::fmt::{Display, Write as _};

use crate::error::ScopeParseError;
use crate::scope::Scope;

/// Joins scopes (or scope strings, or anything `Display`) with single spaces, unparsed and
/// unmerged: globus-sdk's `scopes_to_str` / 4.x `ScopeParser.serialize(reject_empty=False)`.
///
/// ```
/// use globus_scopes::{Scope, TransferScopes, scopes_to_str};
///
/// let scopes = [Scope::new("openid")?, Scope::new(TransferScopes::ALL)?];
/// assert_eq!(
///     scopes_to_str(&scopes),
///     "openid urn:globus:auth:scope:transfer.api.globus.org:all"
/// );
/// assert_eq!(scopes_to_str(["foo", "bar[baz]"]), "foo bar[baz]");
/// # Ok::<(), globus_scopes::ScopeStringError>(())
/// ```
pub fn scopes_to_str<I>(scopes: I) -> String
where
    I: IntoIterator,
    I::Item: Display,
{
    let mut out = String::new();
    for (i, scope) in scopes.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // writing to a String cannot fail
        let _ = write!(out, "{scope}");
    }
    out
}

/// Parses each scope string on its own and concatenates the results: globus-sdk's
/// `scopes_to_scope_list` for strings. Scopes from different strings are not merged (use
/// [`Scope::parse`] on the joined string, or [`Scope::merge_scopes`], to merge).
///
/// ```
/// use globus_scopes::scopes_to_scope_list;
///
/// let scopes = scopes_to_scope_list(["foo", "bar baz[qux]", "foo"])?;
/// let names: Vec<&str> = scopes.iter().map(|s| s.scope_string()).collect();
/// assert_eq!(names, ["foo", "bar", "baz", "foo"]);
/// # Ok::<(), globus_scopes::ScopeParseError>(())
/// ```
///
/// # Errors
///
/// The first [`ScopeParseError`] of any string.
pub fn scopes_to_scope_list<I>(scope_strings: I) -> Result<Vec<Scope>, ScopeParseError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut scopes = Vec::new();
    for s in scope_strings {
        scopes.extend(Scope::parse(s.as_ref())?);
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_collections() {
        assert_eq!(scopes_to_str(Vec::<Scope>::new()), "");
        assert_eq!(scopes_to_scope_list(Vec::<String>::new()), Ok(vec![]));
    }

    #[test]
    fn strings_are_not_parsed_by_scopes_to_str() {
        assert_eq!(scopes_to_str(["a  b", "c"]), "a  b c");
    }

    #[test]
    fn scope_list_reports_the_first_error() {
        assert!(matches!(
            scopes_to_scope_list(["ok", "a[", "b]"]),
            Err(ScopeParseError::EndsInLeftBracket { position: 1 })
        ));
    }
}
