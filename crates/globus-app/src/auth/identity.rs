//! The identity of a token response from its verified `id_token` (globus-sdk's
//! `IDTokenDecoder`, which `GlobusApp` gives its storage).

use std::sync::Arc;

use globus_authorizers::IdTokenDecoder;
use globus_tokens_core::TokenResponse;

use crate::validating::{IdentityDecoder, TokenValidationError};

/// An [`IdentityDecoder`] that verifies the `id_token` (signature against Globus Auth's key
/// set, algorithm, issuer, audience, expiry) with [`IdTokenDecoder`] before trusting its
/// `sub`. A token that fails verification is [`TokenValidationError::InvalidIdToken`], so
/// nothing is stored for an identity that was not proven.
///
/// ```no_run
/// use globus_app::auth::VerifiedIdentityDecoder;
/// use globus_app::validating::ValidatingTokenStorage;
/// use globus_authorizers::{AuthClient, IdTokenDecoder};
/// use globus_tokens_core::MemoryTokenStorage;
///
/// let decoder = IdTokenDecoder::new(AuthClient::native("my-client-id")?);
/// let store = ValidatingTokenStorage::new(MemoryTokenStorage::new())?
///     .with_identity_decoder(VerifiedIdentityDecoder::new(decoder));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedIdentityDecoder {
    decoder: Arc<IdTokenDecoder>,
}

impl VerifiedIdentityDecoder {
    /// Verify with `decoder` (its OpenID configuration and key set are fetched once and kept).
    pub fn new(decoder: impl Into<Arc<IdTokenDecoder>>) -> Self {
        VerifiedIdentityDecoder {
            decoder: decoder.into(),
        }
    }

    /// The decoder.
    pub fn decoder(&self) -> &IdTokenDecoder {
        &self.decoder
    }
}

impl IdentityDecoder for VerifiedIdentityDecoder {
    fn identity_id(
        &self,
        response: &TokenResponse,
    ) -> Result<Option<String>, TokenValidationError> {
        match self.decoder.decode_response(response) {
            Ok(claims) => Ok(claims.map(|claims| claims.sub)),
            Err(err) => Err(TokenValidationError::InvalidIdToken {
                reason: err.to_string(),
                source: Some(Box::new(err)),
            }),
        }
    }
}
