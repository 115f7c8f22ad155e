//! Splitting a scope string into tokens, as globus-sdk's `_tokenize` does, with the same
//! adjacent-character checks in the same order (so the first error reported is the same).

use crate::error::ScopeParseError;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind<'a> {
    /// `*`, the optional marker.
    Star,
    /// `[`
    Open,
    /// `]`
    Close,
    /// A scope string.
    Name(&'a str),
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) kind: TokenKind<'a>,
    pub(crate) position: usize,
}

/// Splits on the four special characters `[`, `]`, `*` and space (only U+0020: a tab or
/// newline is part of a scope string, except at the very end of the input, which Python's
/// `str.strip()` trims).
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token<'_>>, ScopeParseError> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut chars = input.char_indices().peekable();
    while let Some((idx, current)) = chars.next() {
        let kind = match current {
            '[' => Some(TokenKind::Open),
            ']' => Some(TokenKind::Close),
            '*' => Some(TokenKind::Star),
            ' ' => None,
            _ => continue,
        };
        reject_bad_adjacent_characters(current, chars.peek().map(|&(_, c)| c), idx)?;
        if start != idx {
            tokens.push(Token {
                kind: TokenKind::Name(&input[start..idx]),
                position: start,
            });
        }
        // every special character is one byte long
        start = idx + 1;
        if let Some(kind) = kind {
            tokens.push(Token {
                kind,
                position: idx,
            });
        }
    }
    let remainder = &input[start..];
    let stripped = strip_python_whitespace(remainder);
    if !stripped.is_empty() {
        let leading = remainder.len() - remainder.trim_start_matches(is_python_whitespace).len();
        tokens.push(Token {
            kind: TokenKind::Name(stripped),
            position: start + leading,
        });
    }
    Ok(tokens)
}

fn reject_bad_adjacent_characters(
    current: char,
    next: Option<char>,
    position: usize,
) -> Result<(), ScopeParseError> {
    let Some(next) = next else {
        return Ok(());
    };
    match (current, next) {
        ('*', ' ') => Err(ScopeParseError::SpaceAfterOptionalMarker { position }),
        (']', found) if found != ' ' && found != ']' => {
            Err(ScopeParseError::InvalidCharacterAfterRightBracket { position, found })
        }
        (' ', '[') => Err(ScopeParseError::SpaceBeforeLeftBracket { position }),
        _ => Ok(()),
    }
}

/// Python's `str.isspace()` for one character: Unicode `White_Space` (Rust's
/// `char::is_whitespace`) plus the four ASCII separators U+001C..U+001F, which Python counts
/// as whitespace because of their bidirectional class.
pub(crate) fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// Python's `str.strip()` with no arguments.
pub(crate) fn strip_python_whitespace(s: &str) -> &str {
    s.trim_matches(is_python_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind<'_>> {
        match tokenize(input) {
            Ok(tokens) => tokens.into_iter().map(|t| t.kind).collect(),
            Err(e) => panic!("{input:?}: {e}"),
        }
    }

    #[test]
    fn splits_on_the_four_special_characters() {
        use TokenKind::*;
        assert_eq!(
            kinds("a[b *c] d"),
            vec![
                Name("a"),
                Open,
                Name("b"),
                Star,
                Name("c"),
                Close,
                Name("d")
            ]
        );
        assert_eq!(kinds("a*b"), vec![Name("a"), Star, Name("b")]);
        assert_eq!(kinds(""), vec![]);
        assert_eq!(kinds("   "), vec![]);
    }

    #[test]
    fn only_the_last_token_is_stripped_of_other_whitespace() {
        use TokenKind::*;
        assert_eq!(kinds("a\t b\t"), vec![Name("a\t"), Name("b")]);
        assert_eq!(kinds("*\ta"), vec![Star, Name("a")]);
        assert_eq!(kinds("\u{a0}a\u{1c}"), vec![Name("a")]);
        assert_eq!(kinds("\n"), vec![]);
    }

    #[test]
    fn positions_are_byte_offsets() {
        let tokens = match tokenize("é[ \tb]") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let positions: Vec<usize> = tokens.iter().map(|t| t.position).collect();
        assert_eq!(positions, vec![0, 2, 4, 6]);
        assert_eq!(tokens[2].kind, TokenKind::Name("\tb"));
        let tokens = match tokenize("x \u{3000}y") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(tokens[1].kind, TokenKind::Name("y"));
        assert_eq!(tokens[1].position, 5);
    }

    #[test]
    fn adjacent_character_errors_come_first_and_in_order() {
        assert_eq!(
            tokenize("a[b]c * d"),
            Err(ScopeParseError::InvalidCharacterAfterRightBracket {
                position: 3,
                found: 'c'
            })
        );
        assert_eq!(
            tokenize("* a[b]c"),
            Err(ScopeParseError::SpaceAfterOptionalMarker { position: 0 })
        );
        assert_eq!(
            tokenize("a [b]"),
            Err(ScopeParseError::SpaceBeforeLeftBracket { position: 1 })
        );
        assert!(tokenize("a[b]] ]").is_ok());
        assert!(
            tokenize("a]").is_ok(),
            "']' at the end is a parse error, not a token error"
        );
    }

    #[test]
    fn python_whitespace_adds_the_ascii_separators() {
        for c in [
            '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1f}', ' ', '\u{85}', '\u{a0}',
        ] {
            assert!(is_python_whitespace(c), "{c:?}");
        }
        for c in ['\u{200b}', '\u{180e}', '\u{feff}', 'a', '\0'] {
            assert!(!is_python_whitespace(c), "{c:?}");
        }
    }
}
