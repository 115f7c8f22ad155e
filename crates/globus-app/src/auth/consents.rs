//! Dependent scope requirements checked against the user's consents, as globus-sdk's
//! `ScopeRequirementsValidator` does with `AuthClient.get_consents(...).to_forest()`.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use globus_authorizers::{AuthClient, AuthError};
use globus_scopes::Scope;
use globus_scopes::consents::ConsentForest;
use globus_tokens_core::Secret;

use crate::validating::{BoxError, ConsentCheck, RequiredScope, TokenValidationError};

impl RequiredScope for Scope {
    fn scope_string(&self) -> &str {
        Scope::scope_string(self)
    }

    fn has_dependencies(&self) -> bool {
        !self.dependencies().is_empty()
    }
}

/// Supplies an `auth.globus.org` access token of the user, to call the consents API with
/// (globus-sdk gives its consent client the app's own authorizer for Globus Auth).
pub type AccessTokenFn = dyn Fn() -> Result<Secret, BoxError> + Send + Sync;

/// A [`ConsentCheck`] that asks Globus Auth (`GET v2/api/identities/{id}/consents`) and keeps
/// the last consent forest, as globus-sdk's validator caches `_cached_consent_forest`: cached
/// consents that meet the requirements answer without a request; otherwise the consents are
/// fetched again (replacing the cache).
///
/// ```no_run
/// use std::sync::Arc;
/// use std::collections::BTreeMap;
/// use globus_app::auth::AuthConsentCheck;
/// use globus_app::validating::ScopeRequirementsValidator;
/// use globus_authorizers::{AuthClient, AuthError};
/// use globus_scopes::Scope;
///
/// let client = Arc::new(AuthClient::native("my-client-id")?);
/// let consents = AuthConsentCheck::new(client, || Ok("an auth.globus.org access token".into()));
/// let required = Scope::parse("urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/c/data_access]")?;
/// let validator = ScopeRequirementsValidator::new(
///     BTreeMap::from([("transfer.api.globus.org".to_owned(), required)]),
///     consents,
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AuthConsentCheck {
    client: Arc<AuthClient>,
    access_token: Box<AccessTokenFn>,
    cached: Mutex<Option<Arc<ConsentForest>>>,
}

impl fmt::Debug for AuthConsentCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConsentCheck")
            .field("client", &self.client)
            .field("cached", &self.cached_forest().is_some())
            .finish_non_exhaustive()
    }
}

impl AuthConsentCheck {
    /// Look consents up with `client`, authenticated by the token `access_token` returns.
    pub fn new(
        client: Arc<AuthClient>,
        access_token: impl Fn() -> Result<Secret, BoxError> + Send + Sync + 'static,
    ) -> Self {
        AuthConsentCheck {
            client,
            access_token: Box::new(access_token),
            cached: Mutex::new(None),
        }
    }

    /// The consent forest fetched last, if any.
    pub fn cached_forest(&self) -> Option<Arc<ConsentForest>> {
        self.cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forget the cached consents (the next check asks Globus Auth).
    pub fn clear_cache(&self) {
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn fetch(&self, identity_id: &str) -> Result<Arc<ConsentForest>, TokenValidationError> {
        let failed = |temporary: bool, login_required: bool, source: BoxError| {
            TokenValidationError::ConsentCheck {
                identity_id: identity_id.to_owned(),
                temporary,
                login_required,
                source,
            }
        };
        // No usable Globus Auth token (none stored, or expired with no refresh token), or one
        // the consents API refuses: a login gives a new one, as globus-sdk's error handler
        // would log in on the error its consent client raises.
        let token = (self.access_token)().map_err(|err| {
            let login_required = err
                .downcast_ref::<AuthError>()
                .is_some_and(AuthError::is_login_required);
            failed(false, login_required, err)
        })?;
        let consents = self
            .client
            .get_consents(identity_id, &token, false)
            .map_err(|err| {
                let login_required = matches!(err, AuthError::Api { status: 401, .. });
                failed(err.is_temporary(), login_required, Box::new(err))
            })?;
        let forest = ConsentForest::from_json_value(consents.raw())
            .map_err(|err| failed(false, false, Box::new(err)))?;
        let forest = Arc::new(forest);
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&forest));
        tracing::debug!(
            identity_id,
            consents = forest.nodes().len(),
            "fetched consents"
        );
        Ok(forest)
    }
}

impl ConsentCheck<Scope> for AuthConsentCheck {
    fn cached_consents_meet(&self, required: &[Scope]) -> bool {
        self.cached_forest()
            .is_some_and(|forest| forest.meets_scope_requirements(required))
    }

    fn fetch_consents_and_check(
        &self,
        identity_id: &str,
        required: &[Scope],
    ) -> Result<bool, TokenValidationError> {
        Ok(self.fetch(identity_id)?.meets_scope_requirements(required))
    }
}

/// A shared check checks too, so an app can keep a handle on the one its validator uses.
impl ConsentCheck<Scope> for Arc<AuthConsentCheck> {
    fn cached_consents_meet(&self, required: &[Scope]) -> bool {
        (**self).cached_consents_meet(required)
    }

    fn fetch_consents_and_check(
        &self,
        identity_id: &str,
        required: &[Scope],
    ) -> Result<bool, TokenValidationError> {
        (**self).fetch_consents_and_check(identity_id, required)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_requirements_with_their_dependencies() {
        let scopes = Scope::parse("a[b] c").unwrap();
        assert_eq!(RequiredScope::scope_string(&scopes[0]), "a");
        assert!(scopes[0].has_dependencies());
        assert!(!scopes[1].has_dependencies());
    }

    #[test]
    fn a_failing_token_source_is_a_permanent_consent_error_without_the_token() {
        let client = Arc::new(AuthClient::native("cid").unwrap());
        let check = AuthConsentCheck::new(client, || Err("no auth.globus.org token".into()));
        let required = Scope::parse("a[b]").unwrap();
        assert!(!check.cached_consents_meet(&required));
        let err = check
            .fetch_consents_and_check("id-1", &required)
            .unwrap_err();
        assert!(
            matches!(&err, TokenValidationError::ConsentCheck { identity_id, temporary: false, .. } if identity_id == "id-1"),
            "{err}"
        );
        assert!(check.cached_forest().is_none());
        assert!(!err.is_resolvable_by_login());
    }

    #[test]
    fn no_usable_auth_token_is_resolved_by_logging_in() {
        let client = Arc::new(AuthClient::native("cid").unwrap());
        let check = AuthConsentCheck::new(client, || {
            Err(Box::new(AuthError::LoginRequired {
                resource_server: Some("auth.globus.org".to_owned()),
                reason: "the token expired and there is no refresh token".to_owned(),
            }))
        });
        let err = check
            .fetch_consents_and_check("id-1", &Scope::parse("a[b]").unwrap())
            .unwrap_err();
        assert!(
            matches!(
                &err,
                TokenValidationError::ConsentCheck {
                    login_required: true,
                    temporary: false,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.is_resolvable_by_login());
    }
}
