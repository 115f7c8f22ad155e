//! Authorizers for the saved tokens: [`NativeClient::get_authorizers`] and [`LoginAuthorizer`].

use std::collections::BTreeMap;
use std::sync::Arc;

use globus_authorizers::{AccessTokenAuthorizer, GlobusAuthorizer, RefreshTokenAuthorizer};
use globus_tokens_core::TokenData;

use super::NativeClient;
use crate::error::Result;
use crate::storage::renewed_group;

/// An authorizer from [`NativeClient::get_authorizers`]: a refresh-token authorizer where a
/// refresh token is saved (its renewals are saved to the client's storage), an access-token
/// authorizer otherwise.
#[derive(Debug)]
#[non_exhaustive]
// Made once per resource server and kept behind an `Arc`; boxing would only add a step.
#[allow(clippy::large_enum_variant)]
pub enum LoginAuthorizer {
    /// Renews with the saved refresh token.
    RefreshToken(RefreshTokenAuthorizer),
    /// The saved access token, until it expires.
    AccessToken(AccessTokenAuthorizer),
}

impl GlobusAuthorizer for LoginAuthorizer {
    fn get_authorization_header(&self) -> globus_authorizers::Result<Option<String>> {
        match self {
            LoginAuthorizer::RefreshToken(a) => a.get_authorization_header(),
            LoginAuthorizer::AccessToken(a) => a.get_authorization_header(),
        }
    }

    fn handle_missing_authorization(&self) -> bool {
        match self {
            LoginAuthorizer::RefreshToken(a) => a.handle_missing_authorization(),
            LoginAuthorizer::AccessToken(a) => a.handle_missing_authorization(),
        }
    }
}

impl NativeClient {
    /// An authorizer per loaded resource server (after [`NativeClient::load_tokens`]): a
    /// refresh-token authorizer where a refresh token exists, whose renewals (rotated refresh
    /// tokens included) are saved to storage; an access-token authorizer otherwise.
    pub fn get_authorizers<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<BTreeMap<String, Arc<LoginAuthorizer>>> {
        let tokens = self.load_tokens(requested_scopes)?;
        tokens
            .iter()
            .map(|(rs, group)| Ok((rs.clone(), Arc::new(self.authorizer_for(rs, group)?))))
            .collect()
    }

    /// Like [`NativeClient::get_authorizers`], keyed by scope; scopes of one resource server
    /// share one authorizer (so they renew once).
    pub fn get_authorizers_by_scope<S: AsRef<str>>(
        &self,
        requested_scopes: &[S],
    ) -> Result<BTreeMap<String, Arc<LoginAuthorizer>>> {
        let tokens = self.load_tokens(requested_scopes)?;
        let mut by_rs = BTreeMap::new();
        for (rs, group) in &tokens {
            by_rs.insert(rs.clone(), Arc::new(self.authorizer_for(rs, group)?));
        }
        let mut out = BTreeMap::new();
        for (rs, group) in &tokens {
            if let Some(authorizer) = by_rs.get(rs) {
                for scope in group.scopes() {
                    out.insert(scope.to_owned(), Arc::clone(authorizer));
                }
            }
        }
        Ok(out)
    }

    /// The authorizer for one group (not checked for expiry).
    pub fn authorizer_for(
        &self,
        resource_server: &str,
        group: &TokenData,
    ) -> Result<LoginAuthorizer> {
        let Some(refresh_token) = &group.refresh_token else {
            return Ok(LoginAuthorizer::AccessToken(AccessTokenAuthorizer::new(
                group.access_token.clone(),
            )));
        };
        let mut builder =
            RefreshTokenAuthorizer::builder(refresh_token.clone(), Arc::clone(&self.auth_client))
                .resource_server(resource_server)
                .token_data(group)
                .clock(Arc::clone(&self.clock));
        if let Some(storage) = self.storage.clone() {
            builder = builder.on_refresh(move |response| {
                let renewed = response.by_resource_server();
                storage
                    .update_tokens(&mut |saved| {
                        for (rs, data) in &renewed {
                            // Keeps what the response leaves out: a non-rotated refresh token,
                            // identity_id.
                            let group = renewed_group(saved.get(rs), data);
                            saved.insert(rs.clone(), group);
                        }
                    })
                    .map_err(Into::into)
            });
        }
        Ok(LoginAuthorizer::RefreshToken(builder.build()?))
    }
}
