//! Why token data failed validation: globus-sdk's `TokenValidationError` family as one enum.

use std::collections::BTreeMap;

/// A boxed error from a pluggable part (identity decoder, consent check).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why [`ValidatingTokenStorage`](super::ValidatingTokenStorage) refused to store or return
/// token data.
///
/// Mirrors globus-sdk's `tokenstorage.v2.validating_token_storage.errors`: `MissingTokenError`
/// ([`MissingToken`](Self::MissingToken), [`MissingRefreshToken`](Self::MissingRefreshToken)),
/// `ExpiredTokenError`, `IdentityMismatchError`, `MissingIdentityError`,
/// `UnmetScopeRequirementsError`; plus what globus-sdk raises as other exceptions (inconsistent
/// identities, a rejected `id_token`, a failed consent lookup, storage failures).
/// [`is_resolvable_by_login`](Self::is_resolvable_by_login) tells which a new login fixes, as
/// globus-sdk's `resolve_by_login_flow` decides.
///
/// No variant carries a token or an `id_token`; identity ids, resource servers and scope
/// strings are not secrets and are named.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenValidationError {
    /// No token data is stored for the resource server (globus-sdk's `MissingTokenError`).
    #[error("no token data for {resource_server}")]
    MissingToken {
        /// The resource server asked for.
        resource_server: String,
    },
    /// The stored token data has no refresh token (globus-sdk's `MissingTokenError` from
    /// `HasRefreshTokensValidator`).
    #[error("no refresh token for {resource_server}")]
    MissingRefreshToken {
        /// The resource server.
        resource_server: String,
    },
    /// The access token has expired (globus-sdk's `ExpiredTokenError`).
    #[error(
        "the token for {resource_server} expired at {expires_at_seconds} (seconds since the Unix epoch)"
    )]
    Expired {
        /// The resource server.
        resource_server: String,
        /// When it expired.
        expires_at_seconds: i64,
    },
    /// The tokens belong to another identity than the one this storage holds tokens for
    /// (globus-sdk's `IdentityMismatchError`). Never resolved by logging in again: it means
    /// someone else logged in; remove the stored tokens first to switch identities.
    #[error(
        "the new tokens belong to identity {new_id}, but the stored tokens belong to {stored_id}; \
         log out (remove the stored tokens) before logging in as another identity"
    )]
    IdentityMismatch {
        /// The identity the stored tokens belong to.
        stored_id: String,
        /// The identity of the tokens being stored.
        new_id: String,
    },
    /// The token response names no identity (globus-sdk's `MissingIdentityError`): it had no
    /// `id_token`, which happens when the login did not ask for the `openid` scope.
    #[error(
        "the token response has no id_token, so its identity is unknown; log in with the openid scope"
    )]
    MissingIdentity,
    /// Token data of several identities at once (globus-sdk raises `ValueError`).
    #[error("token data of several identities together: {}", identity_ids.join(", "))]
    MixedIdentities {
        /// The identities, sorted.
        identity_ids: Vec<String>,
    },
    /// The token data does not meet the scope requirements for its resource server (globus-sdk's
    /// `UnmetScopeRequirementsError`).
    #[error(
        "unmet {} scope requirements for {resource_server}{}",
        if *dependent { "dependent" } else { "root" },
        if missing.is_empty() { String::new() } else { format!(": missing {}", missing.join(" ")) }
    )]
    UnmetScopeRequirements {
        /// The resource server whose requirements are not met.
        resource_server: String,
        /// The required root scopes the token lacks (empty when only dependent scopes are
        /// unmet).
        missing: Vec<String>,
        /// Whether it is the dependent scopes (checked against the identity's consents).
        dependent: bool,
        /// Every requirement that was evaluated, by resource server, as scope text (globus-sdk
        /// puts the whole set in the error too).
        requirements: BTreeMap<String, Vec<String>>,
    },
    /// The `id_token` could not be decoded or verified, so the identity is unknown.
    #[error("the id_token was rejected: {reason}")]
    InvalidIdToken {
        /// Why, never the token itself.
        reason: String,
        /// The decoder's error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// Looking up the identity's consents (for dependent scope requirements) failed.
    #[error("checking the consents of identity {identity_id} failed: {source}")]
    ConsentCheck {
        /// The identity.
        identity_id: String,
        /// Whether retrying later may succeed (a network failure, a 5xx).
        temporary: bool,
        /// Whether a login fixes it: the user's Globus Auth token is missing, expired without
        /// a refresh token, or refused by the consents API (HTTP 401).
        login_required: bool,
        /// What failed.
        #[source]
        source: BoxError,
    },
    /// The underlying storage failed.
    #[error("token storage: {0}")]
    Storage(#[from] globus_tokens_core::Error),
}

impl TokenValidationError {
    /// Whether logging in again can fix it, as globus-sdk's `resolve_by_login_flow` decides:
    /// every validation failure except an identity mismatch. Inconsistent identities, a rejected
    /// `id_token`, a failed consent lookup and storage failures are not validation failures
    /// there either (they are other exceptions).
    ///
    /// ```
    /// use globus_app::validating::TokenValidationError;
    /// assert!(TokenValidationError::MissingIdentity.is_resolvable_by_login());
    /// let mismatch = TokenValidationError::IdentityMismatch { stored_id: "a".into(), new_id: "b".into() };
    /// assert!(!mismatch.is_resolvable_by_login());
    /// ```
    pub fn is_resolvable_by_login(&self) -> bool {
        matches!(
            self,
            TokenValidationError::MissingToken { .. }
                | TokenValidationError::MissingRefreshToken { .. }
                | TokenValidationError::Expired { .. }
                | TokenValidationError::MissingIdentity
                | TokenValidationError::UnmetScopeRequirements { .. }
                | TokenValidationError::ConsentCheck {
                    login_required: true,
                    ..
                }
        )
    }

    /// Whether an identity check failed (mismatch, missing or mixed identities).
    pub fn is_identity_error(&self) -> bool {
        matches!(
            self,
            TokenValidationError::IdentityMismatch { .. }
                | TokenValidationError::MissingIdentity
                | TokenValidationError::MixedIdentities { .. }
        )
    }

    /// Whether the same operation may succeed later without any change: a temporary storage
    /// failure or consent lookup.
    pub fn is_temporary(&self) -> bool {
        match self {
            TokenValidationError::Storage(err) => err.is_temporary(),
            TokenValidationError::ConsentCheck { temporary, .. } => *temporary,
            _ => false,
        }
    }

    /// This error as a storage error, for the [`TokenStorage`](globus_tokens_core::TokenStorage)
    /// methods of the validating storage: a storage failure is returned as it was; any other
    /// failure becomes [`Error::Backend`](globus_tokens_core::Error::Backend) (backend
    /// `"token validation"`, at `namespace`) with this error as its source, which
    /// [`TokenValidationError::find_in`] finds again.
    pub fn into_storage_error(self, namespace: &str) -> globus_tokens_core::Error {
        match self {
            TokenValidationError::Storage(err) => err,
            other => globus_tokens_core::Error::Backend {
                backend: "token validation",
                location: format!("namespace {namespace}"),
                message: other.to_string(),
                temporary: other.is_temporary(),
                source: Some(Box::new(other)),
            },
        }
    }

    /// The validation error somewhere in `err`'s chain of sources (`err` included): how a
    /// caller holding a storage, authorizer or login error learns that validation refused.
    ///
    /// ```
    /// use globus_app::validating::TokenValidationError;
    /// let storage_error = TokenValidationError::MissingIdentity.into_storage_error("DEFAULT");
    /// assert!(matches!(
    ///     TokenValidationError::find_in(&storage_error),
    ///     Some(TokenValidationError::MissingIdentity)
    /// ));
    /// ```
    pub fn find_in<'a>(
        err: &'a (dyn std::error::Error + 'static),
    ) -> Option<&'a TokenValidationError> {
        let mut current = Some(err);
        while let Some(err) = current {
            if let Some(found) = err.downcast_ref::<TokenValidationError>() {
                return Some(found);
            }
            current = err.source();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<TokenValidationError> {
        vec![
            TokenValidationError::MissingToken {
                resource_server: "rs".into(),
            },
            TokenValidationError::MissingRefreshToken {
                resource_server: "rs".into(),
            },
            TokenValidationError::Expired {
                resource_server: "rs".into(),
                expires_at_seconds: 5,
            },
            TokenValidationError::IdentityMismatch {
                stored_id: "a".into(),
                new_id: "b".into(),
            },
            TokenValidationError::MissingIdentity,
            TokenValidationError::MixedIdentities {
                identity_ids: vec!["a".into(), "b".into()],
            },
            TokenValidationError::UnmetScopeRequirements {
                resource_server: "rs".into(),
                missing: vec!["s1".into()],
                dependent: false,
                requirements: BTreeMap::from([("rs".into(), vec!["s1".into()])]),
            },
            TokenValidationError::InvalidIdToken {
                reason: "bad signature".into(),
                source: None,
            },
            TokenValidationError::ConsentCheck {
                identity_id: "a".into(),
                temporary: true,
                login_required: false,
                source: "HTTP 503".into(),
            },
            TokenValidationError::Storage(globus_tokens_core::Error::invalid_data(
                "t.json",
                "root is not an object",
            )),
        ]
    }

    #[test]
    fn only_plain_validation_failures_are_resolved_by_login() {
        let resolvable: Vec<bool> = every_kind()
            .iter()
            .map(TokenValidationError::is_resolvable_by_login)
            .collect();
        assert_eq!(
            resolvable,
            [
                true, true, true, false, true, false, true, false, false, false
            ]
        );
    }

    #[test]
    fn temporary_only_for_consents_and_storage_that_say_so() {
        let temporary: Vec<bool> = every_kind()
            .iter()
            .map(TokenValidationError::is_temporary)
            .collect();
        assert_eq!(
            temporary,
            [
                false, false, false, false, false, false, false, false, true, false
            ]
        );
    }

    #[test]
    fn messages_name_what_failed() {
        let texts: Vec<String> = every_kind().iter().map(ToString::to_string).collect();
        assert_eq!(texts[0], "no token data for rs");
        assert!(texts[2].contains("expired at 5"), "{}", texts[2]);
        assert!(texts[3].contains("identity b") && texts[3].contains("belong to a"));
        assert!(texts[4].contains("openid"));
        assert_eq!(texts[5], "token data of several identities together: a, b");
        assert_eq!(texts[6], "unmet root scope requirements for rs: missing s1");
        assert!(texts[8].contains("HTTP 503"));
    }

    #[test]
    fn storage_errors_round_trip_and_others_are_found_in_the_chain() {
        for err in every_kind() {
            let was_storage = matches!(err, TokenValidationError::Storage(_));
            let text = err.to_string();
            let storage = err.into_storage_error("DEFAULT");
            match TokenValidationError::find_in(&storage) {
                Some(found) => {
                    assert!(!was_storage);
                    assert_eq!(found.to_string(), text);
                    assert!(
                        storage.to_string().contains("namespace DEFAULT"),
                        "{storage}"
                    );
                }
                None => assert!(was_storage, "{text}"),
            }
        }
    }
}
