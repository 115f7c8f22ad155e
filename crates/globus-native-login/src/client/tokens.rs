//! Loading, refreshing and saving tokens, by resource server or by scope.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use globus_authorizers::{AuthError, StoreRenewal};
use globus_tokens_core::{TokenData, TokenStorage};

use super::{NativeClient, TokensByResourceServer, scope_set};
use crate::error::{LoginError, Result};
use crate::storage::{LoginStorageView, login_group};

impl NativeClient {
    /// Saved token groups, validated as fair-research-login's `verify_token_group` does, not
    /// checked for expiry.
    fn load_raw_tokens(&self) -> Result<TokensByResourceServer> {
        let raw = self.storage()?.read_tokens()?;
        raw.iter()
            .map(|(rs, data)| verify_group(rs, data).map(|group| (rs.clone(), group)))
            .collect()
    }

    /// Merge `tokens` into storage by resource server (read, merge, write; under the storage's
    /// lock for the file stores). Fails with [`LoginError::StorageDisabled`] without storage.
    pub fn save_tokens(&self, tokens: &TokensByResourceServer) -> Result<()> {
        let storage = self.storage()?;
        let mut groups = BTreeMap::new();
        for (rs, data) in tokens {
            groups.insert(rs.clone(), verify_group(rs, data)?);
        }
        storage.update_tokens(&mut |saved| {
            saved.extend(groups.iter().map(|(rs, data)| (rs.clone(), data.clone())));
        })?;
        Ok(())
    }

    /// Saved tokens by resource server, following fair-research-login 0.3.1's rules.
    ///
    /// - Nothing saved: [`LoginError::NoSavedTokens`] (no storage: [`LoginError::StorageDisabled`]).
    /// - With requested scopes (each item may hold several, space-separated), only the groups
    ///   holding at least one requested scope are kept, and every requested scope must be in
    ///   one of them, or [`LoginError::ScopesMismatch`] names the missing ones.
    /// - Tokens count as expired when `now >= expires_at_seconds`. With requested scopes, if any
    ///   kept group is expired and without refresh token, [`LoginError::TokensExpired`] names
    ///   the expired resource servers. Otherwise the expired groups with refresh tokens are
    ///   refreshed and saved (with the rotated refresh token, which fair-research-login drops);
    ///   without requested scopes, expired groups that cannot be refreshed are left out, and
    ///   if nothing is left the error is `TokensExpired`.
    /// - A refresh refused with `invalid_grant` is `TokensExpired` for that resource server,
    ///   unless storage meanwhile holds a different unexpired group for it (another process
    ///   refreshed first and rotated the refresh token), which is then used; other failures
    ///   are returned as they are.
    pub fn load_tokens<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<TokensByResourceServer> {
        let mut tokens = self.load_raw_tokens()?;
        if tokens.is_empty() {
            return Err(LoginError::NoSavedTokens);
        }
        let requested = scope_set(requested_scopes);
        if !requested.is_empty() {
            tokens.retain(|_, group| group.scopes().any(|s| requested.contains(s)));
            let loaded: BTreeSet<&str> = tokens.values().flat_map(TokenData::scopes).collect();
            let missing: Vec<String> = requested
                .iter()
                .filter(|s| !loaded.contains(s.as_str()))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(LoginError::ScopesMismatch { missing });
            }
        }
        let now = self.clock.now_seconds();
        let expired: Vec<String> = tokens
            .iter()
            .filter(|(_, group)| group.is_expired_at(now, 0))
            .map(|(rs, _)| rs.clone())
            .collect();
        if expired.is_empty() {
            return Ok(tokens);
        }
        let refreshable: Vec<String> = expired
            .iter()
            .filter(|rs| tokens.get(*rs).is_some_and(|g| g.refresh_token.is_some()))
            .cloned()
            .collect();
        if !requested.is_empty() && refreshable.len() != expired.len() {
            return Err(LoginError::TokensExpired {
                resource_servers: expired,
                reason: Some("no refresh token".to_owned()),
            });
        }
        let mut refreshed = TokensByResourceServer::new();
        for rs in &refreshable {
            if let Some(group) = tokens.get(rs) {
                refreshed.insert(rs.clone(), self.refresh_group(rs, group)?);
            }
        }
        tokens.retain(|rs, _| !expired.contains(rs));
        tokens.extend(refreshed);
        if tokens.is_empty() {
            return Err(LoginError::TokensExpired {
                resource_servers: expired,
                reason: Some("no refresh token".to_owned()),
            });
        }
        Ok(tokens)
    }

    /// Refresh one expired group through storage, under its lock ([`StoreRenewal`]: a group
    /// another process refreshed meanwhile is taken as it is), and return the saved group.
    fn refresh_group(&self, rs: &str, group: &TokenData) -> Result<TokenData> {
        if group.refresh_token.is_none() {
            return Err(LoginError::TokensExpired {
                resource_servers: vec![rs.to_owned()],
                reason: Some("no refresh token".to_owned()),
            });
        }
        let storage = self.storage()?;
        let view;
        let store: &dyn TokenStorage = match storage.as_token_storage() {
            Some(store) => store,
            None => {
                view = LoginStorageView(&**storage);
                &view
            }
        };
        // fair-research-login counts a token as expired from its expiry on, with no skew.
        let renewal = StoreRenewal::new(Arc::clone(&self.auth_client))
            .skew_seconds(0)
            .with_clock(Arc::clone(&self.clock));
        match renewal.renew(store, rs, None) {
            Ok(renewed) => verify_group(rs, &renewed),
            Err(AuthError::LoginRequired { reason, .. }) => Err(LoginError::TokensExpired {
                resource_servers: vec![rs.to_owned()],
                reason: Some(format!("refresh token refused: {reason}")),
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// Like [`NativeClient::load_tokens`], keyed by scope: each scope of the loaded groups maps
    /// to the group holding it (a group with several scopes appears once per scope).
    pub fn load_tokens_by_scope<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<TokensByResourceServer> {
        let tokens = self.load_tokens(requested_scopes)?;
        Ok(by_scope(&tokens))
    }
}

fn by_scope(tokens: &TokensByResourceServer) -> TokensByResourceServer {
    let mut out = BTreeMap::new();
    for group in tokens.values() {
        for scope in group.scopes() {
            out.insert(scope.to_owned(), group.clone());
        }
    }
    out
}

/// fair-research-login's `verify_token_group`, on typed data: `token_type` must be `Bearer`
/// when given (and becomes `Bearer`), an empty refresh token is none. Unlike the original,
/// `identity_id` and other fields are kept for the stores that hold them (globus-sdk issue
/// #1050); fair-research-login's own file formats drop them when they write.
fn verify_group(resource_server: &str, data: &TokenData) -> Result<TokenData> {
    match data.token_type.as_deref() {
        None | Some("") | Some("Bearer") => {}
        Some(_) => {
            return Err(LoginError::InvalidTokenFormat {
                resource_server: resource_server.to_owned(),
                reason: "token_type must be \"Bearer\"".to_owned(),
            });
        }
    }
    let mut group = login_group(data);
    group.token_type = Some("Bearer".to_owned());
    Ok(group)
}
