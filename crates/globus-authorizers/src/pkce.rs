//! PKCE (RFC 7636) verifiers and S256 challenges.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use globus_tokens_core::Secret;
use sha2::{Digest, Sha256};

use crate::error::{AuthError, Result};

/// A PKCE code verifier: 43 to 128 characters from the unreserved set `[A-Za-z0-9-._~]`.
///
/// `Debug` shows a fingerprint only, like [`Secret`].
///
/// ```
/// use globus_authorizers::PkceVerifier;
/// let verifier = PkceVerifier::generate()?;
/// assert_eq!(verifier.expose().len(), 43);
/// assert_eq!(verifier.challenge().len(), 43);
/// assert!(PkceVerifier::new("too-short").is_err());
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PkceVerifier(Secret);

impl PkceVerifier {
    /// A fresh verifier from 32 random bytes (43 characters), as globus-sdk makes them.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|err| AuthError::InvalidConfig(format!("no randomness for PKCE: {err}")))?;
        Ok(PkceVerifier(Secret::new(URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// Use a given verifier, checking its length and alphabet.
    pub fn new(verifier: impl Into<String>) -> Result<Self> {
        let verifier = verifier.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
        if !(43..=128).contains(&verifier.len()) || !verifier.chars().all(allowed) {
            return Err(AuthError::InvalidConfig(
                "a PKCE verifier must be 43-128 characters from A-Z a-z 0-9 - . _ ~".to_owned(),
            ));
        }
        Ok(PkceVerifier(Secret::new(verifier)))
    }

    /// The verifier, for the token request.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The S256 challenge: base64url (no padding) of the verifier's SHA-256.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.expose().as_bytes()))
    }
}

impl std::fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PkceVerifier({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(
            verifier.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn rejects_bad_alphabet_and_lengths() {
        assert!(PkceVerifier::new("a".repeat(42)).is_err());
        assert!(PkceVerifier::new("a".repeat(129)).is_err());
        assert!(PkceVerifier::new(format!("{}+", "a".repeat(43))).is_err());
        assert!(PkceVerifier::new("a".repeat(128)).is_ok());
    }

    #[test]
    fn generated_verifiers_differ_and_are_valid() {
        let a = PkceVerifier::generate().unwrap();
        let b = PkceVerifier::generate().unwrap();
        assert_ne!(a, b);
        assert!(PkceVerifier::new(a.expose()).is_ok());
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
