//! What validators know besides the token data: globus-sdk's `TokenValidationContext`.

use std::collections::{BTreeMap, BTreeSet};

use globus_tokens_core::TokenData;

use super::TokenValidationError;

/// What a [`TokenDataValidator`](super::TokenDataValidator) is told about the state of the
/// storage when it runs (globus-sdk's `TokenValidationContext`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TokenValidationContext {
    /// The identity the storage held tokens for before this operation, if known.
    pub prior_identity_id: Option<String>,
    /// The identity of the token data being validated, if it names one.
    pub token_data_identity_id: Option<String>,
}

impl TokenValidationContext {
    /// A context with both identities.
    pub fn new(prior_identity_id: Option<String>, token_data_identity_id: Option<String>) -> Self {
        TokenValidationContext {
            prior_identity_id,
            token_data_identity_id,
        }
    }

    /// The identity to act for: the token data's, else the prior one (what globus-sdk's
    /// `ScopeRequirementsValidator` uses to look up consents).
    pub fn identity_id(&self) -> Option<&str> {
        self.token_data_identity_id
            .as_deref()
            .or(self.prior_identity_id.as_deref())
    }
}

/// The one identity that token data belongs to: `None` when no entry names one, an error when
/// entries name different ones (globus-sdk's `_identity_id_from_token_data`).
///
/// ```
/// use std::collections::BTreeMap;
/// use globus_app::validating::identity_id_of;
/// use globus_tokens_core::TokenData;
///
/// let a = TokenData::new("auth.globus.org", "openid", "AT", 0).with_identity_id("id-1");
/// let b = TokenData::new("transfer.api.globus.org", "s", "AT2", 0);
/// let data = BTreeMap::from([("auth.globus.org".to_owned(), a), ("transfer.api.globus.org".to_owned(), b)]);
/// assert_eq!(identity_id_of(&data)?, Some("id-1".to_owned()));
/// # Ok::<(), globus_app::validating::TokenValidationError>(())
/// ```
pub fn identity_id_of(
    token_data: &BTreeMap<String, TokenData>,
) -> Result<Option<String>, TokenValidationError> {
    let identities: BTreeSet<&str> = token_data
        .values()
        .filter_map(|data| data.identity_id.as_deref())
        .collect();
    let mut found = identities.iter();
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(one), None) => Ok(Some((*one).to_owned())),
        _ => Err(TokenValidationError::MixedIdentities {
            identity_ids: identities.into_iter().map(str::to_owned).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rs: &str, identity: Option<&str>) -> (String, TokenData) {
        let mut data = TokenData::new(rs, "s", "AT", 0);
        data.identity_id = identity.map(str::to_owned);
        (rs.to_owned(), data)
    }

    #[test]
    fn one_identity_none_or_several() {
        let of = |entries: Vec<(String, TokenData)>| identity_id_of(&entries.into_iter().collect());
        assert_eq!(of(vec![]).unwrap(), None);
        assert_eq!(of(vec![entry("a", None), entry("b", None)]).unwrap(), None);
        assert_eq!(
            of(vec![
                entry("a", Some("x")),
                entry("b", Some("x")),
                entry("c", None)
            ])
            .unwrap(),
            Some("x".to_owned())
        );
        let err = of(vec![entry("a", Some("y")), entry("b", Some("x"))]).unwrap_err();
        assert!(matches!(
            err,
            TokenValidationError::MixedIdentities { identity_ids } if identity_ids == ["x", "y"]
        ));
    }

    #[test]
    fn acting_identity_prefers_the_token_data() {
        let both = TokenValidationContext::new(Some("old".into()), Some("new".into()));
        assert_eq!(both.identity_id(), Some("new"));
        let prior = TokenValidationContext::new(Some("old".into()), None);
        assert_eq!(prior.identity_id(), Some("old"));
        assert_eq!(TokenValidationContext::default().identity_id(), None);
    }
}
