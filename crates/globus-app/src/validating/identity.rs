//! Who a token response belongs to: the seam where the `id_token` is decoded.

use std::fmt;
use std::sync::Arc;

use globus_tokens_core::TokenResponse;

use super::TokenValidationError;

/// Decodes the identity (`sub`) of a token response's `id_token`: what globus-sdk's
/// `TokenStorage._extract_identity_id` does with its `IDTokenDecoder`.
///
/// `Ok(None)` means the response names no identity (no `id_token`, such as a client-credentials
/// or dependent-token response); an `id_token` that cannot be decoded or fails verification is
/// an error ([`TokenValidationError::InvalidIdToken`]), never `None`.
///
/// [`UnverifiedIdentityDecoder`], the default of a storage built by hand, reads the claim
/// without checking the signature; the apps use
/// [`VerifiedIdentityDecoder`](crate::auth::VerifiedIdentityDecoder), which verifies the token
/// against Globus Auth's OpenID configuration and keys as globus-sdk's `IDTokenDecoder` does,
/// set through
/// [`ValidatingTokenStorage::with_identity_decoder`](super::ValidatingTokenStorage::with_identity_decoder).
pub trait IdentityDecoder: Send + Sync + fmt::Debug {
    /// The identity the response's tokens belong to, if it names one.
    fn identity_id(&self, response: &TokenResponse)
    -> Result<Option<String>, TokenValidationError>;
}

impl<D: IdentityDecoder + ?Sized> IdentityDecoder for Arc<D> {
    fn identity_id(
        &self,
        response: &TokenResponse,
    ) -> Result<Option<String>, TokenValidationError> {
        (**self).identity_id(response)
    }
}

/// The `sub` claim of the `id_token`, read without checking its signature
/// ([`TokenResponse::identity_id`]).
///
/// Acceptable for a response taken straight from the token endpoint over TLS (OpenID Connect
/// Core, section 3.1.3.7), which is where this library's responses come from; a verifying
/// decoder is the stronger choice and is meant to replace this one (see [`IdentityDecoder`]).
///
/// ```
/// use globus_app::validating::{IdentityDecoder, UnverifiedIdentityDecoder};
/// use globus_tokens_core::TokenResponse;
///
/// let response = TokenResponse::from_json_at(br#"{"access_token": "AT", "scope": "s",
///     "resource_server": "rs", "expires_in": 60}"#, 0)?;
/// assert_eq!(UnverifiedIdentityDecoder.identity_id(&response).unwrap(), None);
/// # Ok::<(), globus_tokens_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct UnverifiedIdentityDecoder;

impl IdentityDecoder for UnverifiedIdentityDecoder {
    fn identity_id(
        &self,
        response: &TokenResponse,
    ) -> Result<Option<String>, TokenValidationError> {
        if response.id_token().is_none() {
            return Ok(None);
        }
        match response.identity_id() {
            Some(identity) => Ok(Some(identity)),
            None => Err(TokenValidationError::InvalidIdToken {
                reason: "it is not a JWT whose payload has a string `sub` claim".to_owned(),
                source: None,
            }),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use base64::Engine as _;

    use super::*;

    /// A token response for `identity` (with an unsigned `id_token`), or without one.
    pub(crate) fn response(identity: Option<&str>, received_at: i64) -> TokenResponse {
        let id_token = identity.map(|sub| {
            let claims = format!(r#"{{"sub": "{sub}", "iss": "https://auth.globus.org"}}"#);
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
            format!("eyJhbGciOiJub25lIn0.{payload}.")
        });
        let body = serde_json::json!({
            "access_token": "AT-auth", "scope": "openid", "resource_server": "auth.globus.org",
            "expires_in": 3600, "token_type": "Bearer", "refresh_token": "RT-auth",
            "id_token": id_token,
            "other_tokens": [{"access_token": "AT-transfer",
                "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
                "resource_server": "transfer.api.globus.org", "expires_in": 3600,
                "token_type": "Bearer", "refresh_token": "RT-transfer"}],
        });
        TokenResponse::from_value_at(&body, received_at).unwrap()
    }

    #[test]
    fn reads_sub_and_refuses_garbage() {
        assert_eq!(
            UnverifiedIdentityDecoder
                .identity_id(&response(Some("id-1"), 0))
                .unwrap(),
            Some("id-1".to_owned())
        );
        assert_eq!(
            UnverifiedIdentityDecoder
                .identity_id(&response(None, 0))
                .unwrap(),
            None
        );
        let garbage = TokenResponse::from_json_at(
            br#"{"access_token": "AT", "scope": "s", "resource_server": "rs", "id_token": "not-a-jwt"}"#,
            0,
        )
        .unwrap();
        let err = UnverifiedIdentityDecoder.identity_id(&garbage).unwrap_err();
        assert!(matches!(err, TokenValidationError::InvalidIdToken { .. }));
        assert!(!err.to_string().contains("not-a-jwt"), "{err}");
    }
}
