//! Errors for scope strings: [`ScopeParseError`] (globus-sdk's `ScopeParseError` and
//! `ScopeCycleError`) and [`ScopeStringError`] (globus-sdk's `ValueError` from `Scope(...)`).

/// A scope string that does not parse.
///
/// Each syntax variant's message starts with globus-sdk's own message for the same input, followed
/// by the byte offset in the input where the problem is. [`Cycle`](Self::Cycle) is globus-sdk's
/// `ScopeCycleError` (see [`is_cycle`](Self::is_cycle)); [`TooDeep`](Self::TooDeep) and
/// [`TooManyScopes`](Self::TooManyScopes) are limits globus-sdk does not have (see the crate
/// docs); [`NotExactlyOneScope`](Self::NotExactlyOneScope) is the `ValueError` of globus-sdk's
/// `Scope.deserialize`. Every variant is permanent: the same input always fails the same way.
///
/// ```
/// use globus_scopes::{Scope, ScopeParseError};
///
/// let err = Scope::parse("a[b").unwrap_err();
/// assert_eq!(err, ScopeParseError::UnclosedBracket { position: 1 });
/// assert_eq!(err.to_string(), "unclosed brackets, missing ']' (the '[' at byte 1 is never closed)");
/// assert!(Scope::parse("a[b[a]]").unwrap_err().is_cycle());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeParseError {
    /// `*` followed by a space, as in `* a`.
    #[error("'*' must not be followed by a space (at byte {position})")]
    SpaceAfterOptionalMarker {
        /// Byte offset of the `*`.
        position: usize,
    },
    /// `]` followed by anything but a space or another `]`, as in `a[b]c`.
    #[error("']' may only be followed by a space or ']' (found {found:?} at byte {position})")]
    InvalidCharacterAfterRightBracket {
        /// Byte offset of the `]`.
        position: usize,
        /// The character after it.
        found: char,
    },
    /// A space before `[`, as in `a [b]`.
    #[error("'[' cannot have a preceding space (at byte {position})")]
    SpaceBeforeLeftBracket {
        /// Byte offset of the space.
        position: usize,
    },
    /// The string ends with `*`.
    #[error("ended in optional marker (at byte {position})")]
    EndsInOptionalMarker {
        /// Byte offset of the `*`.
        position: usize,
    },
    /// `*` followed by `*`, `[` or `]` instead of a scope string.
    #[error("a scope string must always follow an optional marker (at byte {position})")]
    OptionalMarkerWithoutScope {
        /// Byte offset of the `*`.
        position: usize,
    },
    /// The string ends with `[`.
    #[error("ended in left bracket (at byte {position})")]
    EndsInLeftBracket {
        /// Byte offset of the `[`.
        position: usize,
    },
    /// `[]` (spaces between them do not help: `[ ]` is empty too).
    #[error("found empty brackets (at byte {position})")]
    EmptyBrackets {
        /// Byte offset of the `[`.
        position: usize,
    },
    /// `[[`.
    #[error("found double left-bracket (at byte {position})")]
    DoubleLeftBracket {
        /// Byte offset of the first `[`.
        position: usize,
    },
    /// `[` with no scope string before it, as at the start of the string.
    #[error("found '[' without a preceding scope string (at byte {position})")]
    LeftBracketWithoutScope {
        /// Byte offset of the `[`.
        position: usize,
    },
    /// `]` with no open `[`.
    #[error("found ']' with no matching '[' preceding it (at byte {position})")]
    UnmatchedRightBracket {
        /// Byte offset of the `]`.
        position: usize,
    },
    /// The string ends with a `[` still open.
    #[error("unclosed brackets, missing ']' (the '[' at byte {position} is never closed)")]
    UnclosedBracket {
        /// Byte offset of the innermost `[` left open.
        position: usize,
    },
    /// A scope depends on itself, directly or through others (globus-sdk's `ScopeCycleError`).
    ///
    /// Dependencies of one scope string are merged wherever it appears, so `a[b] b[a]` is a
    /// cycle although neither bracket nests `a` in itself.
    #[error("A cycle was found involving '{scope}'")]
    Cycle {
        /// A scope string on the cycle.
        scope: String,
    },
    /// Dependencies (after merging) nest deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("scope dependencies nest {depth} levels deep, more than the limit of {limit}")]
    TooDeep {
        /// The depth found (a scope without dependencies is 1 level).
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// The parsed scopes, with merged dependencies copied under every scope that has them,
    /// would hold more than [`MAX_SCOPES`](crate::MAX_SCOPES) scopes.
    #[error("the scope string expands to more than {limit} scopes")]
    TooManyScopes {
        /// The limit.
        limit: usize,
    },
    /// [`Scope::from_str`](std::str::FromStr) found zero or several top-level scopes.
    #[error("expected exactly one scope, found {found}")]
    NotExactlyOneScope {
        /// How many top-level scopes the string holds.
        found: usize,
    },
}

impl ScopeParseError {
    /// `true` for [`Cycle`](Self::Cycle), the case globus-sdk raises as `ScopeCycleError`.
    pub fn is_cycle(&self) -> bool {
        matches!(self, Self::Cycle { .. })
    }

    /// The byte offset in the input where a syntax error was found; `None` for the errors
    /// about the whole string (cycles, limits, the number of scopes).
    pub fn position(&self) -> Option<usize> {
        match self {
            Self::SpaceAfterOptionalMarker { position }
            | Self::InvalidCharacterAfterRightBracket { position, .. }
            | Self::SpaceBeforeLeftBracket { position }
            | Self::EndsInOptionalMarker { position }
            | Self::OptionalMarkerWithoutScope { position }
            | Self::EndsInLeftBracket { position }
            | Self::EmptyBrackets { position }
            | Self::DoubleLeftBracket { position }
            | Self::LeftBracketWithoutScope { position }
            | Self::UnmatchedRightBracket { position }
            | Self::UnclosedBracket { position } => Some(*position),
            Self::Cycle { .. }
            | Self::TooDeep { .. }
            | Self::TooManyScopes { .. }
            | Self::NotExactlyOneScope { .. } => None,
        }
    }
}

/// A string that cannot be one scope's name ([`Scope::new`](crate::Scope::new)).
///
/// ```
/// use globus_scopes::{Scope, ScopeStringError};
///
/// assert!(matches!(
///     Scope::new("a[b]"),
///     Err(ScopeStringError::SpecialCharacter { character: '[', position: 1, .. })
/// ));
/// assert_eq!(Scope::new(""), Err(ScopeStringError::Empty));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeStringError {
    /// The name holds one of `[`, `]`, `*` or a space, which have meaning in scope strings.
    #[error(
        "Scope instances may not contain the special characters '[]* ' (found {character:?} at byte {position} of {scope_string:?}); use Scope::parse for scope strings with dependencies"
    )]
    SpecialCharacter {
        /// The rejected name.
        scope_string: String,
        /// The special character.
        character: char,
        /// Its byte offset.
        position: usize,
    },
    /// The name is empty (globus-sdk accepts it; no parse ever produces it).
    #[error("a scope string cannot be empty")]
    Empty,
}
