//! Why an id_token was refused.

use crate::error::AuthError;

/// Why an id_token was not accepted. No variant carries the token; values taken from its
/// claims (issuer, audience) are shortened.
///
/// Every variant except [`IdTokenError::Fetch`] means the token itself is bad (forged,
/// expired, for someone else, or not a JWT) and decoding it again will fail again; `Fetch`
/// says the discovery document or key set could not be had and may be temporary
/// ([`IdTokenError::is_temporary`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The discovery document or key set could not be fetched or was unusable.
    #[error("could not get the {what}: {source}")]
    Fetch {
        /// `OpenID configuration` or `JWK set`.
        what: &'static str,
        /// The HTTP error, naming the URL and status.
        #[source]
        source: AuthError,
    },

    /// Not a JWT: not three base64url parts, a header or payload that is not a JSON object,
    /// or a header without a string `alg`.
    #[error("the id_token is malformed: {reason}")]
    Malformed {
        /// What is wrong, without the token's content.
        reason: String,
    },

    /// Signed with an algorithm the discovery document does not list, or one that is not a
    /// public-key signature (`none`, `HS256`, ...).
    #[error("the id_token is signed with {algorithm:?}, which is not accepted (accepted: {})", accepted.join(", "))]
    UnsupportedAlgorithm {
        /// The header's `alg`.
        algorithm: String,
        /// What would have been accepted.
        accepted: Vec<String>,
    },

    /// No key of the key set fits the token (its `kid`, or its algorithm's key type), even
    /// after fetching the key set again.
    #[error("no key in the JWK set at {jwks_uri} fits the id_token{}, even after fetching the set again", kid.as_deref().map(|kid| format!(" (kid {kid:?})")).unwrap_or_default())]
    UnknownKey {
        /// The header's `kid`, if any.
        kid: Option<String>,
        /// Where the keys came from.
        jwks_uri: String,
    },

    /// The signature does not verify with the key set's key: the token is forged or was
    /// altered.
    #[error(
        "the id_token's signature does not verify with the keys at {jwks_uri}: it is forged or altered"
    )]
    InvalidSignature {
        /// Where the keys came from.
        jwks_uri: String,
    },

    /// The key the token names cannot be used (bad modulus or exponent, ...).
    #[error("the JWK set key{} cannot be used: {reason}", kid.as_deref().map(|kid| format!(" {kid:?}")).unwrap_or_default())]
    InvalidKey {
        /// The key's `kid`, if any.
        kid: Option<String>,
        /// What is wrong with it.
        reason: String,
    },

    /// `exp` has passed, by more than the leeway.
    #[error("the id_token expired at {expires_at} (now {now}, leeway {leeway_seconds} s)")]
    Expired {
        /// `exp`, seconds since the epoch.
        expires_at: i64,
        /// The clock's time.
        now: i64,
        /// The leeway allowed.
        leeway_seconds: i64,
    },

    /// `iat` or `nbf` is in the future, by more than the leeway.
    #[error(
        "the id_token is not valid yet: {claim} is {value} (now {now}, leeway {leeway_seconds} s)"
    )]
    NotYetValid {
        /// `iat` or `nbf`.
        claim: &'static str,
        /// Its value.
        value: i64,
        /// The clock's time.
        now: i64,
        /// The leeway allowed.
        leeway_seconds: i64,
    },

    /// `aud` does not name this client.
    #[error("the id_token is for {found:?}, not for this client {expected:?}")]
    WrongAudience {
        /// The client id expected.
        expected: String,
        /// The token's audiences (shortened).
        found: Vec<String>,
    },

    /// `iss` is not the discovery document's issuer.
    #[error("the id_token was issued by {found:?}, not by {expected:?}")]
    WrongIssuer {
        /// The discovery document's issuer.
        expected: String,
        /// The token's `iss` (shortened).
        found: String,
    },

    /// A required claim is missing (`sub`, `iss`, `aud`, `exp`).
    #[error("the id_token has no {claim} claim")]
    MissingClaim {
        /// The claim.
        claim: &'static str,
    },

    /// A claim has the wrong type or shape.
    #[error("the id_token's {claim} claim {reason}")]
    InvalidClaim {
        /// The claim.
        claim: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl IdTokenError {
    /// Whether trying again later may succeed: only a [`IdTokenError::Fetch`] whose HTTP error
    /// is temporary. A bad token stays bad.
    pub fn is_temporary(&self) -> bool {
        match self {
            IdTokenError::Fetch { source, .. } => source.is_temporary(),
            _ => false,
        }
    }
}

/// At most 200 characters of text taken from a token, for errors.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX).collect();
        short.push('…');
        short
    }
}
