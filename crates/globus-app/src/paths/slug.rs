//! globus-sdk's `_slugify_app_name`: an app name made safe as one directory name.

use unicode_general_category::{GeneralCategory, get_general_category};

use super::AppPathError;

/// The directory name globus-sdk 3.65 makes of an app name (`_slugify_app_name` in
/// `globus_sdk/tokenstorage/v2/base.py`), in the same four steps:
///
/// 1. the characters Windows reserves in file names, `< > : " / \ | ? *`, become `+`;
/// 2. `.` and space become `-`;
/// 3. characters Python's `str.isprintable()` rejects are removed: control and format
///    characters, separators other than the ASCII space (such as no-break and zero-width
///    spaces), private-use and unassigned code points;
/// 4. the result is lowercased (full Unicode lowercasing, as Python's `str.lower()`).
///
/// The result must not be empty ([`AppPathError::EmptyAppName`]) nor one of the names Windows
/// reserves, `con`, `prn`, `aux`, `nul`, `com` or `lpt` followed by one decimal digit (any
/// Unicode decimal digit, as Python's `\d`) ([`AppPathError::ReservedAppName`]); globus-sdk
/// checks these on every platform, and so does this function.
///
/// Character properties come from Unicode 16.0; Python 3.11 uses 14.0 (3.14 uses 16.0), so a
/// code point assigned in between counts as printable here and is removed by older Pythons.
///
/// ```
/// use globus_app::paths::{AppPathError, slugify_app_name};
///
/// assert_eq!(slugify_app_name("My App v1.2")?, "my-app-v1-2");
/// assert_eq!(slugify_app_name("a?b")?, "a+b");
/// assert!(matches!(slugify_app_name("CON"), Err(AppPathError::ReservedAppName { .. })));
/// assert!(matches!(slugify_app_name("\u{200b}"), Err(AppPathError::EmptyAppName { .. })));
/// # Ok::<(), AppPathError>(())
/// ```
pub fn slugify_app_name(app_name: &str) -> Result<String, AppPathError> {
    let kept: String = app_name
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' => '+',
            '.' | ' ' => '-',
            other => other,
        })
        .filter(|&c| is_printable(c))
        .collect();
    // Lowercased as a whole, so a final capital sigma becomes `ς`, as in Python.
    let slug = kept.to_lowercase();
    if is_reserved(&slug) {
        return Err(AppPathError::ReservedAppName {
            name: app_name.to_owned(),
            slug,
        });
    }
    if slug.is_empty() {
        return Err(AppPathError::EmptyAppName {
            name: app_name.to_owned(),
        });
    }
    Ok(slug)
}

/// Python's `str.isprintable()` for one character: everything but the categories "Other"
/// (Cc, Cf, Cs, Co, Cn) and "Separator" (Zs, Zl, Zp), except that the ASCII space is printable.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::SpaceSeparator
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// globus-sdk's `re.fullmatch(r"con|prn|aux|nul|com\d|lpt\d", slug)`; `\d` is any character of
/// category Nd, as in Python's `re` for text patterns.
fn is_reserved(slug: &str) -> bool {
    if matches!(slug, "con" | "prn" | "aux" | "nul") {
        return true;
    }
    let Some(rest) = slug
        .strip_prefix("com")
        .or_else(|| slug.strip_prefix("lpt"))
    else {
        return false;
    };
    let mut chars = rest.chars();
    matches!(
        (chars.next(), chars.next()),
        (Some(digit), None) if get_general_category(digit) == GeneralCategory::DecimalNumber
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_in_globus_sdk_order() {
        // Replacement before removal: a reserved character never disappears.
        assert_eq!(slugify_app_name("a\u{0}?").unwrap(), "a+");
        // Removal before the reserved-name check: hidden characters do not make a name safe.
        assert!(matches!(
            slugify_app_name("c\u{200b}on"),
            Err(AppPathError::ReservedAppName { slug, .. }) if slug == "con"
        ));
        // Lowercasing before the check.
        assert!(slugify_app_name("LPT3").is_err());
        assert_eq!(slugify_app_name("lpt10").unwrap(), "lpt10");
        // Spaces are replaced, not removed, so blank names are not empty.
        assert_eq!(slugify_app_name("   ").unwrap(), "---");
    }

    #[test]
    fn printability_follows_python() {
        for c in [
            '\u{0}', '\t', '\u{7f}', '\u{85}', '\u{a0}', '\u{ad}', '\u{200b}',
        ] {
            assert!(!is_printable(c), "{c:?}");
        }
        for c in ['\u{2028}', '\u{2029}', '\u{3000}', '\u{e000}', '\u{feff}'] {
            assert!(!is_printable(c), "{c:?}");
        }
        for c in [' ', 'a', '+', '\u{e9}', '\u{301}', '\u{1f600}', '\u{65e5}'] {
            assert!(is_printable(c), "{c:?}");
        }
    }

    #[test]
    fn reserved_digits_are_unicode_decimal_digits() {
        assert!(is_reserved("com\u{661}")); // ARABIC-INDIC DIGIT ONE (Nd)
        assert!(!is_reserved("com\u{b9}")); // SUPERSCRIPT ONE (No)
        assert!(!is_reserved("com\u{2460}")); // CIRCLED DIGIT ONE (No)
        assert!(!is_reserved("com"));
        assert!(!is_reserved("com11"));
        assert!(!is_reserved("xcon"));
    }

    #[test]
    fn errors_name_the_app_and_what_it_became() {
        let err = slugify_app_name("Aux").unwrap_err();
        assert_eq!(
            err.to_string(),
            "app name \"Aux\" results in a reserved filename (\"aux\"); choose a different name"
        );
        let err = slugify_app_name("\u{7}").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
