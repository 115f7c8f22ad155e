//! Renewal of one resource server's token through a store: the one implementation behind
//! [`StorageAuthorizer`](crate::StorageAuthorizer), fair-research-login's `NativeClient` and the
//! `globus-tokens` command.

use std::sync::Arc;

use globus_tokens_core::{Clock, Secret, TokenData, TokenStorage};

use crate::client::AuthClient;
use crate::error::{AuthError, Result};
use crate::renewing::{EXPIRES_ADJUST_SECONDS, single_token};

/// Renews tokens in place in a [`TokenStorage`], once across threads and processes.
///
/// [`StoreRenewal::renew`] runs inside [`TokenStorage::update_token_data`]: the store's lock
/// (sidecar lock of a JSON file, `BEGIN IMMEDIATE` on SQLite) or conditional write is held
/// across read, renewal and write, so when several processes find the same stale token the first
/// renews it and the others find its result. The grant is the refresh token when the entry has
/// one, else client credentials when the client is confidential. What a response leaves out is
/// kept (see [`merge_renewed`]). When Globus Auth answers `invalid_grant` and the store now holds
/// a different refresh token than the one used (a writer that ignores our lock, such as a Python
/// program, rotated it), the store is read again and the newer token used.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AuthClient, StoreRenewal};
/// use globus_tokens_core::MemoryTokenStorage;
///
/// let store = MemoryTokenStorage::new();
/// let renewal = StoreRenewal::new(Arc::new(AuthClient::native("my-client-id")?));
/// // Renews only if stale (within 60 s of expiry); returns what the store holds afterwards.
/// let token = renewal.renew(&store, "transfer.api.globus.org", None)?;
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Clone)]
pub struct StoreRenewal {
    client: Arc<AuthClient>,
    clock: Arc<dyn Clock>,
    skew_seconds: i64,
}

impl std::fmt::Debug for StoreRenewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRenewal")
            .field("skew_seconds", &self.skew_seconds)
            .finish_non_exhaustive()
    }
}

/// What one locked pass over the entry found.
struct Pass {
    stored: Option<TokenData>,
    used_refresh_token: Option<Secret>,
    failure: Option<AuthError>,
}

impl StoreRenewal {
    /// Renew with `client`, on its clock, when a token is within [`EXPIRES_ADJUST_SECONDS`] of
    /// expiry.
    pub fn new(client: Arc<AuthClient>) -> Self {
        let clock = Arc::clone(client.clock());
        StoreRenewal {
            client,
            clock,
            skew_seconds: EXPIRES_ADJUST_SECONDS,
        }
    }

    /// Count a token as stale this many seconds before it expires (fair-research-login: 0).
    pub fn skew_seconds(mut self, seconds: i64) -> Self {
        self.skew_seconds = seconds;
        self
    }

    /// Judge staleness by `clock` instead of the client's.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock staleness is judged by.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Make sure `store` holds a usable token for `resource_server` and return it.
    ///
    /// The stored token is renewed when it is stale, or when its access token is `rejected`
    /// (a resource server answered 401 to it); a token another process renewed meanwhile is
    /// taken as it is. Errors: [`AuthError::LoginRequired`] when nothing is stored, there is no
    /// way to renew, or Globus Auth refused the grant; the client's errors otherwise.
    pub fn renew(
        &self,
        store: &dyn TokenStorage,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<TokenData> {
        let login_required = |reason: String| AuthError::LoginRequired {
            resource_server: Some(resource_server.to_owned()),
            reason,
        };
        let mut retried_after_rotation = false;
        loop {
            let pass = self.locked_pass(store, resource_server, rejected)?;
            match pass.failure {
                None => {
                    return pass
                        .stored
                        .ok_or_else(|| login_required("no tokens stored".to_owned()));
                }
                Some(AuthError::LoginRequired { reason, .. })
                    if !retried_after_rotation && pass.used_refresh_token.is_some() =>
                {
                    // Did someone else rotate the refresh token while our request was in flight?
                    let now_stored = store.get_token_data(resource_server)?;
                    let rotated = now_stored.as_ref().and_then(|d| d.refresh_token.as_ref())
                        != pass.used_refresh_token.as_ref();
                    if !rotated {
                        return Err(login_required(reason));
                    }
                    retried_after_rotation = true;
                }
                Some(AuthError::LoginRequired { reason, .. }) => {
                    return Err(login_required(reason));
                }
                Some(err) => return Err(err),
            }
        }
    }

    /// One locked read-renew-write.
    fn locked_pass(
        &self,
        store: &dyn TokenStorage,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<Pass> {
        let mut failure = None;
        let mut used_refresh_token = None;
        let stored = store.update_token_data(resource_server, &mut |current| {
            // The closure may run again on backends without locks: start clean each time.
            failure = None;
            used_refresh_token = None;
            let Some(current) = current else {
                failure = Some(AuthError::LoginRequired {
                    resource_server: Some(resource_server.to_owned()),
                    reason: "no tokens stored".to_owned(),
                });
                return None;
            };
            let stale = current.is_expired_at(self.clock.now_seconds(), self.skew_seconds)
                || rejected == Some(&current.access_token);
            if !stale {
                return None;
            }
            used_refresh_token = current.refresh_token.clone();
            match self.renewed(current) {
                Ok(new) => Some(new),
                Err(err) => {
                    failure = Some(err);
                    None
                }
            }
        })?;
        Ok(Pass {
            stored,
            used_refresh_token,
            failure,
        })
    }

    /// The entry after renewing `current` with the grant it allows.
    fn renewed(&self, current: &TokenData) -> Result<TokenData> {
        let rs = current.resource_server.as_str();
        let new = if let Some(refresh_token) = &current.refresh_token {
            let response = self.client.oauth2_refresh_token(refresh_token)?;
            let context = || format!("the refresh token for {rs}");
            let token = single_token(&response, context)?;
            if token.resource_server != rs {
                return Err(AuthError::UnexpectedResourceServers {
                    context: context(),
                    found: vec![token.resource_server],
                });
            }
            token
        } else if self.client.is_confidential() {
            let response = self
                .client
                .oauth2_client_credentials_tokens(&current.scope)?;
            let found = response.resource_servers().map(str::to_owned).collect();
            response.by_resource_server().remove(rs).ok_or_else(|| {
                AuthError::UnexpectedResourceServers {
                    context: format!("client credentials for scopes {:?}", current.scope),
                    found,
                }
            })?
        } else {
            return Err(AuthError::LoginRequired {
                resource_server: Some(rs.to_owned()),
                reason: "the access token expired and there is no refresh token".to_owned(),
            });
        };
        Ok(merge_renewed(current, new))
    }
}

/// The stored entry `old` after a renewal that returned `new`: the new access token and expiry;
/// the rotated refresh token if there is one, else the stored one; the new scope, token type and
/// identity when the response has them; and what a response never carries (unknown fields) kept.
pub fn merge_renewed(old: &TokenData, new: TokenData) -> TokenData {
    let mut merged = old.clone();
    merged.access_token = new.access_token;
    merged.expires_at_seconds = new.expires_at_seconds;
    if new.refresh_token.is_some() {
        merged.refresh_token = new.refresh_token;
    }
    if new.identity_id.is_some() {
        merged.identity_id = new.identity_id;
    }
    if !new.scope.is_empty() {
        merged.scope = new.scope;
    }
    if new.token_type.is_some() {
        merged.token_type = new.token_type;
    }
    merged
}
