//! The validator hook and globus-sdk's validators that need nothing but the token data:
//! `HasRefreshTokensValidator`, `NotExpiredValidator`, `UnchangingIdentityIDValidator`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use globus_tokens_core::{Clock, SystemClock, TokenData};

use super::{TokenValidationContext, TokenValidationError};

/// Token data by resource server, as validators see it.
pub type TokenDataByResourceServer = BTreeMap<String, TokenData>;

/// A check on token data before it is stored and after it is read (globus-sdk's
/// `TokenDataValidator`).
///
/// Both hooks default to accepting, so a validator implements only the one it needs (as
/// globus-sdk's `_OnlyBeforeValidator` / `_OnlyAfterValidator`). A validator refuses by
/// returning a [`TokenValidationError`]; its messages must not contain tokens.
///
/// ```
/// use globus_app::validating::{TokenDataByResourceServer, TokenDataValidator, TokenValidationContext, TokenValidationError};
///
/// /// Refuses to store tokens for resource servers outside an allow-list.
/// #[derive(Debug)]
/// struct OnlyTransfer;
///
/// impl TokenDataValidator for OnlyTransfer {
///     fn before_store(&self, data: &TokenDataByResourceServer, _: &TokenValidationContext) -> Result<(), TokenValidationError> {
///         match data.keys().find(|rs| *rs != "transfer.api.globus.org") {
///             Some(rs) => Err(TokenValidationError::MissingToken { resource_server: rs.clone() }),
///             None => Ok(()),
///         }
///     }
/// }
/// ```
pub trait TokenDataValidator: Send + Sync + fmt::Debug {
    /// Check `token_data` before it is written.
    fn before_store(
        &self,
        token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        let _ = (token_data, context);
        Ok(())
    }

    /// Check `token_data` after it is read, before it is returned.
    fn after_retrieve(
        &self,
        token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        let _ = (token_data, context);
        Ok(())
    }
}

/// A shared validator validates too, so a program can keep a handle on one it gave to a
/// storage (to add scope requirements later, say).
impl<V: TokenDataValidator + ?Sized> TokenDataValidator for Arc<V> {
    fn before_store(
        &self,
        token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        (**self).before_store(token_data, context)
    }

    fn after_retrieve(
        &self,
        token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        (**self).after_retrieve(token_data, context)
    }
}

/// Read token data must have refresh tokens (globus-sdk's `HasRefreshTokensValidator`, which
/// `UserApp` adds when it asks for refresh tokens). Runs after retrieval only.
#[derive(Debug, Clone, Copy, Default)]
pub struct HasRefreshTokensValidator;

impl TokenDataValidator for HasRefreshTokensValidator {
    fn after_retrieve(
        &self,
        token_data: &TokenDataByResourceServer,
        _context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        match token_data
            .values()
            .find(|data| data.refresh_token.is_none())
        {
            Some(data) => Err(TokenValidationError::MissingRefreshToken {
                resource_server: data.resource_server.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// Read access tokens must not have expired (globus-sdk's `NotExpiredValidator`, which
/// `UserApp` adds when it does not ask for refresh tokens). Runs after retrieval only.
///
/// Expired means `expires_at_seconds < now`, without leeway, as in globus-sdk (whose `now` has
/// fractions of a second; the [`Clock`] has whole seconds).
#[derive(Debug, Clone)]
pub struct NotExpiredValidator {
    clock: Arc<dyn Clock>,
}

impl NotExpiredValidator {
    /// A validator reading the time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        NotExpiredValidator { clock }
    }
}

impl Default for NotExpiredValidator {
    /// The system clock.
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl TokenDataValidator for NotExpiredValidator {
    fn after_retrieve(
        &self,
        token_data: &TokenDataByResourceServer,
        _context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        let now = self.clock.now_seconds();
        match token_data
            .values()
            .find(|data| data.expires_at_seconds < now)
        {
            Some(data) => Err(TokenValidationError::Expired {
                resource_server: data.resource_server.clone(),
                expires_at_seconds: data.expires_at_seconds,
            }),
            None => Ok(()),
        }
    }
}

/// Stored tokens must name an identity, and the same one as the tokens stored before
/// (globus-sdk's `UnchangingIdentityIDValidator`, which `UserApp` always adds). Runs before
/// storing only:
///
/// - token data naming no identity (a response without `id_token`) is
///   [`TokenValidationError::MissingIdentity`];
/// - with no prior identity (nothing stored yet), anything else passes;
/// - a different identity is [`TokenValidationError::IdentityMismatch`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UnchangingIdentityIdValidator;

impl TokenDataValidator for UnchangingIdentityIdValidator {
    fn before_store(
        &self,
        _token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> Result<(), TokenValidationError> {
        let Some(new_id) = &context.token_data_identity_id else {
            return Err(TokenValidationError::MissingIdentity);
        };
        match &context.prior_identity_id {
            Some(stored_id) if stored_id != new_id => Err(TokenValidationError::IdentityMismatch {
                stored_id: stored_id.clone(),
                new_id: new_id.clone(),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use globus_tokens_core::ManualClock;

    use super::*;

    fn data(entries: &[TokenData]) -> TokenDataByResourceServer {
        entries
            .iter()
            .map(|d| (d.resource_server.clone(), d.clone()))
            .collect()
    }

    fn context(prior: Option<&str>, new: Option<&str>) -> TokenValidationContext {
        TokenValidationContext::new(prior.map(str::to_owned), new.map(str::to_owned))
    }

    #[test]
    fn has_refresh_tokens_names_the_first_without_one() {
        let with = TokenData::new("a", "s", "AT", 0).with_refresh_token("RT");
        let without = TokenData::new("b", "s", "AT", 0);
        let ctx = TokenValidationContext::default();
        let v = HasRefreshTokensValidator;
        assert!(
            v.after_retrieve(&data(std::slice::from_ref(&with)), &ctx)
                .is_ok()
        );
        assert!(v.after_retrieve(&data(&[]), &ctx).is_ok());
        let err = v
            .after_retrieve(&data(&[with.clone(), without.clone()]), &ctx)
            .unwrap_err();
        assert!(matches!(
            err,
            TokenValidationError::MissingRefreshToken { resource_server } if resource_server == "b"
        ));
        // Only after retrieval: storing tokens without refresh tokens is fine.
        assert!(v.before_store(&data(&[without]), &ctx).is_ok());
    }

    #[test]
    fn not_expired_uses_the_clock_without_leeway() {
        let clock = Arc::new(ManualClock::new(1_000));
        let v = NotExpiredValidator::new(clock.clone());
        let token = data(&[TokenData::new("rs", "s", "AT", 1_000)]);
        let ctx = TokenValidationContext::default();
        assert!(
            v.after_retrieve(&token, &ctx).is_ok(),
            "expiring now is not expired yet"
        );
        clock.advance(1);
        let err = v.after_retrieve(&token, &ctx).unwrap_err();
        assert!(matches!(
            err,
            TokenValidationError::Expired { resource_server, expires_at_seconds: 1_000 } if resource_server == "rs"
        ));
        assert!(v.before_store(&token, &ctx).is_ok());
    }

    #[test]
    fn unchanging_identity_cases() {
        let v = UnchangingIdentityIdValidator;
        let d = data(&[TokenData::new("rs", "s", "AT", 0)]);
        assert!(matches!(
            v.before_store(&d, &context(None, None)),
            Err(TokenValidationError::MissingIdentity)
        ));
        assert!(matches!(
            v.before_store(&d, &context(Some("a"), None)),
            Err(TokenValidationError::MissingIdentity)
        ));
        assert!(v.before_store(&d, &context(None, Some("a"))).is_ok());
        assert!(v.before_store(&d, &context(Some("a"), Some("a"))).is_ok());
        let err = v
            .before_store(&d, &context(Some("a"), Some("b")))
            .unwrap_err();
        assert!(matches!(
            &err,
            TokenValidationError::IdentityMismatch { stored_id, new_id } if stored_id == "a" && new_id == "b"
        ));
        assert!(!err.is_resolvable_by_login());
        // Reading tokens never fails this validator.
        assert!(v.after_retrieve(&d, &context(Some("a"), Some("b"))).is_ok());
    }

    #[test]
    fn shared_validators_validate() {
        let shared: Arc<dyn TokenDataValidator> = Arc::new(UnchangingIdentityIdValidator);
        let d = data(&[TokenData::new("rs", "s", "AT", 0)]);
        assert!(shared.before_store(&d, &context(None, None)).is_err());
    }
}
