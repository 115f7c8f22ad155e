//! globus-sdk's `ScopeRequirementsValidator`: stored tokens must carry the scopes an app
//! requires. The root-scope check is here; the dependent-scope check needs the identity's
//! consents, which a [`ConsentCheck`] supplies.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use super::{
    TokenDataByResourceServer, TokenDataValidator, TokenValidationContext, TokenValidationError,
};
use globus_tokens_core::TokenData;

/// A required scope as the validator needs to see it: its root scope string (what a token's
/// `scope` lists) and whether it has dependent scopes (which only consents show).
///
/// [`RootScope`] is a scope without dependencies. A scope type with dependencies (such as a
/// parsed `transfer:all[collection:data_access]`) implements this trait to be used with a
/// [`ConsentCheck`].
pub trait RequiredScope: fmt::Debug + fmt::Display + Send + Sync {
    /// The root scope string, e.g. `urn:globus:auth:scope:transfer.api.globus.org:all`.
    fn scope_string(&self) -> &str;

    /// Whether the requirement includes dependent scopes.
    fn has_dependencies(&self) -> bool;
}

/// A scope requirement without dependent scopes: just a scope string.
///
/// ```
/// use globus_app::validating::{RequiredScope, RootScope};
/// let scope = RootScope::new("openid");
/// assert_eq!(scope.scope_string(), "openid");
/// assert!(!scope.has_dependencies());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RootScope(String);

impl RootScope {
    /// The scope `scope_string`.
    pub fn new(scope_string: impl Into<String>) -> Self {
        RootScope(scope_string.into())
    }
}

impl fmt::Display for RootScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl RequiredScope for RootScope {
    fn scope_string(&self) -> &str {
        &self.0
    }

    fn has_dependencies(&self) -> bool {
        false
    }
}

/// The consent side of dependent-scope checking, the part of globus-sdk's
/// `ScopeRequirementsValidator` that calls Globus Auth (`AuthClient.get_consents(identity)`,
/// then `ConsentForest.meets_scope_requirements`). Implementations keep the last consents they
/// fetched, as globus-sdk caches its consent forest.
///
/// The validator calls it only for after-retrieval checks of requirements that have
/// dependencies, once the token's root scopes are known to be there:
///
/// 1. [`cached_consents_meet`](Self::cached_consents_meet): if the consents fetched before
///    meet the requirements, the check passes with no request;
/// 2. if no identity is known, the check passes (globus-sdk skips it silently);
/// 3. [`fetch_consents_and_check`](Self::fetch_consents_and_check) for the identity; `false`
///    is [`TokenValidationError::UnmetScopeRequirements`] with `dependent: true`.
pub trait ConsentCheck<S>: Send + Sync + fmt::Debug {
    /// Whether consents fetched earlier (if any) meet `required`; no request is made.
    fn cached_consents_meet(&self, required: &[S]) -> bool;

    /// Fetch `identity_id`'s consents (replacing the cached ones) and tell whether they meet
    /// `required`. A failed lookup is [`TokenValidationError::ConsentCheck`].
    fn fetch_consents_and_check(
        &self,
        identity_id: &str,
        required: &[S],
    ) -> Result<bool, TokenValidationError>;
}

/// Token data must carry the scopes required for its resource server (globus-sdk's
/// `ScopeRequirementsValidator`, which every `GlobusApp` adds).
///
/// - Before storing, only root scopes are checked: each required scope string must be among
///   the token's `scope` (split on spaces). Resource servers without requirements pass.
/// - After retrieval, root scopes, then dependent scopes through the [`ConsentCheck`] (see its
///   steps).
///
/// Without a [`ConsentCheck`] ([`ScopeRequirementsValidator::roots_only`]), dependent scopes
/// are not checked at all; the apps use [`AuthConsentCheck`](crate::auth::AuthConsentCheck)
/// (Globus Auth's consents API and a `globus_scopes::ConsentForest`, as globus-sdk does).
///
/// Requirements can be added while the validator is in use (through an `Arc` kept beside the
/// storage), as `GlobusApp.add_scope_requirements` does.
///
/// ```
/// use std::collections::BTreeMap;
/// use globus_app::validating::{RootScope, ScopeRequirementsValidator, TokenDataValidator, TokenValidationContext};
/// use globus_tokens_core::TokenData;
///
/// let transfer = "urn:globus:auth:scope:transfer.api.globus.org:all";
/// let validator = ScopeRequirementsValidator::roots_only(BTreeMap::from([
///     ("transfer.api.globus.org".to_owned(), vec![RootScope::new(transfer)]),
/// ]));
/// let token = TokenData::new("transfer.api.globus.org", "openid", "AT", 0);
/// let data = BTreeMap::from([(token.resource_server.clone(), token)]);
/// assert!(validator.before_store(&data, &TokenValidationContext::default()).is_err());
/// ```
pub struct ScopeRequirementsValidator<S = RootScope> {
    requirements: RwLock<BTreeMap<String, Vec<S>>>,
    consents: Option<Box<dyn ConsentCheck<S>>>,
}

impl<S: RequiredScope> fmt::Debug for ScopeRequirementsValidator<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeRequirementsValidator")
            .field("requirements", &*self.read())
            .field("consents", &self.consents)
            .finish()
    }
}

impl<S: RequiredScope> ScopeRequirementsValidator<S> {
    /// A validator for `requirements` (scopes by resource server) that checks dependent scopes
    /// with `consents`.
    pub fn new(
        requirements: BTreeMap<String, Vec<S>>,
        consents: impl ConsentCheck<S> + 'static,
    ) -> Self {
        ScopeRequirementsValidator {
            requirements: RwLock::new(requirements),
            consents: Some(Box::new(consents)),
        }
    }

    /// A validator that checks root scopes only: dependent scopes are not checked (see the
    /// type's documentation).
    pub fn roots_only(requirements: BTreeMap<String, Vec<S>>) -> Self {
        ScopeRequirementsValidator {
            requirements: RwLock::new(requirements),
            consents: None,
        }
    }

    /// Add requirements, appended to those of the same resource server.
    pub fn add_scope_requirements(&self, requirements: impl IntoIterator<Item = (String, Vec<S>)>) {
        let mut current = self
            .requirements
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (resource_server, scopes) in requirements {
            current.entry(resource_server).or_default().extend(scopes);
        }
    }

    /// The requirements now, as scope text by resource server.
    pub fn scope_requirements(&self) -> BTreeMap<String, Vec<String>> {
        as_text(&self.read())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Vec<S>>> {
        self.requirements
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check(
        &self,
        resource_server: &str,
        token_data: &TokenData,
        identity_id: Option<&str>,
        eval_dependent: bool,
    ) -> Result<(), TokenValidationError> {
        let all = self.read();
        // No requirements are, by definition, met.
        let Some(required) = all.get(resource_server) else {
            return Ok(());
        };
        let unmet =
            |missing: Vec<String>, dependent: bool| TokenValidationError::UnmetScopeRequirements {
                resource_server: resource_server.to_owned(),
                missing,
                dependent,
                requirements: as_text(&all),
            };
        let missing: Vec<String> = required
            .iter()
            .filter(|scope| !token_data.scopes().any(|s| s == scope.scope_string()))
            .map(|scope| scope.scope_string().to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(unmet(missing, false));
        }
        if !eval_dependent || !required.iter().any(RequiredScope::has_dependencies) {
            return Ok(());
        }
        let Some(consents) = &self.consents else {
            return Ok(());
        };
        if consents.cached_consents_meet(required) {
            return Ok(());
        }
        let Some(identity_id) = identity_id else {
            return Ok(());
        };
        if consents.fetch_consents_and_check(identity_id, required)? {
            Ok(())
        } else {
            Err(unmet(Vec::new(), true))
        }
    }
}

fn as_text<S: fmt::Display>(
    requirements: &BTreeMap<String, Vec<S>>,
) -> BTreeMap<String, Vec<String>> {
    requirements
        .iter()
        .map(|(rs, scopes)| (rs.clone(), scopes.iter().map(ToString::to_string).collect()))
        .collect()
}

impl<S: RequiredScope> TokenDataValidator for ScopeRequirementsValidator<S> {
    fn before_store(
        &self,
        token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        for (resource_server, data) in token_data {
            self.check(resource_server, data, context.identity_id(), false)?;
        }
        Ok(())
    }

    fn after_retrieve(
        &self,
        token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        for data in token_data.values() {
            self.check(&data.resource_server, data, context.identity_id(), true)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const TRANSFER: &str = "transfer.api.globus.org";
    const ALL: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

    /// A requirement with dependencies, shown as text only (parsing is not this crate's job).
    #[derive(Debug, Clone)]
    struct WithDeps(&'static str, &'static str);

    impl fmt::Display for WithDeps {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}[{}]", self.0, self.1)
        }
    }

    impl RequiredScope for WithDeps {
        fn scope_string(&self) -> &str {
            self.0
        }
        fn has_dependencies(&self) -> bool {
            true
        }
    }

    /// Consents as a fixed answer, counting fetches.
    #[derive(Debug, Default)]
    struct FakeConsents {
        cached: Mutex<Option<bool>>,
        server_says: Mutex<Option<bool>>,
        fetches: Mutex<Vec<String>>,
    }

    impl ConsentCheck<WithDeps> for &'static FakeConsents {
        fn cached_consents_meet(&self, _: &[WithDeps]) -> bool {
            self.cached.lock().unwrap().unwrap_or(false)
        }
        fn fetch_consents_and_check(
            &self,
            identity_id: &str,
            _: &[WithDeps],
        ) -> Result<bool, TokenValidationError> {
            self.fetches.lock().unwrap().push(identity_id.to_owned());
            let answer = *self.server_says.lock().unwrap();
            *self.cached.lock().unwrap() = answer;
            answer.ok_or_else(|| TokenValidationError::ConsentCheck {
                identity_id: identity_id.to_owned(),
                temporary: true,
                login_required: false,
                source: "connection refused".into(),
            })
        }
    }

    fn token(scope: &str) -> TokenDataByResourceServer {
        BTreeMap::from([(
            TRANSFER.to_owned(),
            TokenData::new(TRANSFER, scope, "AT", 0),
        )])
    }

    fn ctx(identity: Option<&str>) -> TokenValidationContext {
        TokenValidationContext::new(None, identity.map(str::to_owned))
    }

    #[test]
    fn root_scopes_must_all_be_in_the_token() {
        let v = ScopeRequirementsValidator::roots_only(BTreeMap::from([(
            TRANSFER.to_owned(),
            vec![RootScope::new(ALL), RootScope::new("extra")],
        )]));
        assert!(
            v.before_store(&token(&format!("{ALL} extra")), &ctx(None))
                .is_ok()
        );
        assert!(
            v.after_retrieve(&token(&format!("extra  {ALL}")), &ctx(None))
                .is_ok()
        );
        let err = v.before_store(&token(ALL), &ctx(None)).unwrap_err();
        match err {
            TokenValidationError::UnmetScopeRequirements {
                resource_server,
                missing,
                dependent,
                requirements,
            } => {
                assert_eq!(resource_server, TRANSFER);
                assert_eq!(missing, ["extra"]);
                assert!(!dependent);
                assert_eq!(requirements[TRANSFER], [ALL, "extra"]);
            }
            other => panic!("{other}"),
        }
        // A prefix of a scope is not the scope.
        assert!(
            v.after_retrieve(
                &token("urn:globus:auth:scope:transfer.api.globus.org:al extra"),
                &ctx(None)
            )
            .is_err()
        );
    }

    #[test]
    fn resource_servers_without_requirements_pass_and_requirements_can_grow() {
        let v = ScopeRequirementsValidator::<RootScope>::roots_only(BTreeMap::new());
        assert!(v.before_store(&token("anything"), &ctx(None)).is_ok());
        v.add_scope_requirements([(TRANSFER.to_owned(), vec![RootScope::new(ALL)])]);
        assert!(v.before_store(&token("anything"), &ctx(None)).is_err());
        v.add_scope_requirements([(TRANSFER.to_owned(), vec![RootScope::new("more")])]);
        assert_eq!(v.scope_requirements()[TRANSFER], [ALL, "more"]);
    }

    #[test]
    fn dependent_scopes_follow_globus_sdk_steps() {
        let consents: &'static FakeConsents = Box::leak(Box::default());
        let v = ScopeRequirementsValidator::new(
            BTreeMap::from([(TRANSFER.to_owned(), vec![WithDeps(ALL, "data_access")])]),
            consents,
        );
        // Before storing, dependents are not evaluated (no request).
        assert!(v.before_store(&token(ALL), &ctx(Some("id"))).is_ok());
        // Root scopes first: a missing root fails without asking for consents.
        assert!(
            v.after_retrieve(&token("openid"), &ctx(Some("id")))
                .is_err()
        );
        assert!(consents.fetches.lock().unwrap().is_empty());
        // No identity: skipped.
        assert!(v.after_retrieve(&token(ALL), &ctx(None)).is_ok());
        assert!(consents.fetches.lock().unwrap().is_empty());
        // Not consented: unmet dependent requirements.
        *consents.server_says.lock().unwrap() = Some(false);
        let err = v.after_retrieve(&token(ALL), &ctx(Some("id"))).unwrap_err();
        assert!(
            matches!(
                err,
                TokenValidationError::UnmetScopeRequirements { dependent: true, ref missing, .. } if missing.is_empty()
            ),
            "{err}"
        );
        assert!(err.to_string().contains("dependent"), "{err}");
        // Consented: passes, and later checks use the cache (no more requests).
        *consents.server_says.lock().unwrap() = Some(true);
        assert!(v.after_retrieve(&token(ALL), &ctx(Some("id"))).is_ok());
        assert!(v.after_retrieve(&token(ALL), &ctx(Some("id"))).is_ok());
        assert_eq!(consents.fetches.lock().unwrap().len(), 2);
        // A failed lookup is a temporary consent-check error.
        *consents.cached.lock().unwrap() = None;
        *consents.server_says.lock().unwrap() = None;
        let err = v.after_retrieve(&token(ALL), &ctx(Some("id"))).unwrap_err();
        assert!(matches!(err, TokenValidationError::ConsentCheck { .. }) && err.is_temporary());
    }

    #[test]
    fn without_a_consent_check_dependents_are_not_checked() {
        let v = ScopeRequirementsValidator::roots_only(BTreeMap::from([(
            TRANSFER.to_owned(),
            vec![WithDeps(ALL, "data_access")],
        )]));
        assert!(v.after_retrieve(&token(ALL), &ctx(Some("id"))).is_ok());
        assert!(
            v.after_retrieve(&token("openid"), &ctx(Some("id")))
                .is_err()
        );
    }
}
