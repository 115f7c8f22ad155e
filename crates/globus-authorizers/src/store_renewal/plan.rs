//! The decisions of a renewal through a store, shared by the blocking [`StoreRenewal`] and
//! the async one: is the stored entry stale, which grant renews it, is the answer usable, how
//! is it merged, and what follows a refused grant. The drivers only do the I/O.
//!
//! [`StoreRenewal`]: super::StoreRenewal

use std::sync::Arc;

use globus_tokens_core::{Clock, Secret, TokenData, TokenResponse};

use crate::error::{AuthError, Result};
use crate::renewing::{EXPIRES_ADJUST_SECONDS, single_token};

/// When an entry counts as stale, and whether client credentials can renew it.
#[derive(Clone)]
pub(crate) struct Plan {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) skew_seconds: i64,
    confidential: bool,
}

/// What to do with the stored entry, decided under the store's lock.
pub(crate) enum Look<'a> {
    /// Usable as it is: write nothing.
    Keep,
    /// Write nothing and fail the pass with this error.
    Fail(AuthError),
    /// Renew it.
    Renew(Renewal<'a>),
}

/// How a stale entry is renewed.
pub(crate) enum Grant<'a> {
    /// `grant_type=refresh_token` with the stored refresh token.
    Refresh(&'a Secret),
    /// `grant_type=client_credentials` for the stored scopes (confidential clients).
    ClientCredentials(&'a str),
}

/// One stale entry and the grant that renews it.
pub(crate) struct Renewal<'a> {
    current: &'a TokenData,
    grant: Grant<'a>,
}

impl Plan {
    pub(crate) fn new(clock: Arc<dyn Clock>, confidential: bool) -> Self {
        Plan {
            clock,
            skew_seconds: EXPIRES_ADJUST_SECONDS,
            confidential,
        }
    }

    /// Decide about `current`, the entry stored for `resource_server`: renew it when it is
    /// stale or its access token was `rejected` by a resource server.
    pub(crate) fn look<'a>(
        &self,
        resource_server: &str,
        current: Option<&'a TokenData>,
        rejected: Option<&Secret>,
    ) -> Look<'a> {
        let Some(current) = current else {
            return Look::Fail(AuthError::LoginRequired {
                resource_server: Some(resource_server.to_owned()),
                reason: "no tokens stored".to_owned(),
            });
        };
        let stale = current.is_expired_at(self.clock.now_seconds(), self.skew_seconds)
            || rejected == Some(&current.access_token);
        if !stale {
            return Look::Keep;
        }
        let grant = if let Some(refresh_token) = &current.refresh_token {
            Grant::Refresh(refresh_token)
        } else if self.confidential {
            Grant::ClientCredentials(&current.scope)
        } else {
            return Look::Fail(AuthError::LoginRequired {
                resource_server: Some(current.resource_server.clone()),
                reason: "the access token expired and there is no refresh token".to_owned(),
            });
        };
        tracing::info!(
            resource_server = %current.resource_server,
            grant = match grant {
                Grant::Refresh(_) => "refresh_token",
                Grant::ClientCredentials(_) => "client_credentials",
            },
            rejected = rejected.is_some(),
            "renewing access token through the store"
        );
        Look::Renew(Renewal { current, grant })
    }
}

impl Renewal<'_> {
    /// The grant to send.
    pub(crate) fn grant(&self) -> &Grant<'_> {
        &self.grant
    }

    /// The refresh token the grant uses, if it is a refresh.
    pub(crate) fn refresh_token(&self) -> Option<&Secret> {
        match self.grant {
            Grant::Refresh(refresh_token) => Some(refresh_token),
            Grant::ClientCredentials(_) => None,
        }
    }

    /// The entry to store after Globus Auth answered the grant with `response`: exactly one
    /// token, for this resource server, merged into the stored entry.
    pub(crate) fn into_entry(self, response: TokenResponse) -> Result<TokenData> {
        let rs = self.current.resource_server.as_str();
        let new = match self.grant {
            Grant::Refresh(_) => {
                let context = || format!("the refresh token for {rs}");
                let token = single_token(&response, context)?;
                if token.resource_server != rs {
                    return Err(AuthError::UnexpectedResourceServers {
                        context: context(),
                        found: vec![token.resource_server],
                    });
                }
                token
            }
            Grant::ClientCredentials(scopes) => {
                let found = response.resource_servers().map(str::to_owned).collect();
                response.by_resource_server().remove(rs).ok_or_else(|| {
                    AuthError::UnexpectedResourceServers {
                        context: format!("client credentials for scopes {scopes:?}"),
                        found,
                    }
                })?
            }
        };
        Ok(merge_renewed(self.current, new))
    }
}

/// What one locked pass over the entry found.
#[derive(Default)]
pub(crate) struct Pass {
    /// What the store holds after the pass.
    pub(crate) stored: Option<TokenData>,
    /// The refresh token the pass renewed with, if it did.
    pub(crate) used_refresh_token: Option<Secret>,
    pub(crate) failure: Option<AuthError>,
}

impl Pass {
    /// Start an update call afresh: on backends without locks the update may run again, and
    /// only its last run counts.
    pub(crate) fn restart(&mut self) {
        self.failure = None;
        self.used_refresh_token = None;
    }

    /// Record a failure; the update writes nothing.
    pub(crate) fn failed(&mut self, err: AuthError) -> Option<TokenData> {
        self.failure = Some(err);
        None
    }

    /// Record a renewal's outcome; returns what the update writes.
    pub(crate) fn renewed(&mut self, outcome: Result<TokenData>) -> Option<TokenData> {
        match outcome {
            Ok(new) => {
                tracing::info!(
                    resource_server = %new.resource_server,
                    expires_at = new.expires_at_seconds,
                    "renewed access token through the store"
                );
                self.failure = None;
                Some(new)
            }
            Err(err) => {
                tracing::info!(error = %err, "token renewal through the store failed");
                self.failed(err)
            }
        }
    }
}

/// What follows a pass.
pub(crate) enum Step {
    /// The renewal is over.
    Return(Result<TokenData>),
    /// The grant was refused: read the store again to see whether another writer rotated the
    /// refresh token meanwhile.
    CheckRotation(RotationCheck),
}

/// A refused refresh token, to compare with what the store holds now.
pub(crate) struct RotationCheck {
    used_refresh_token: Secret,
    reason: String,
}

/// The state of one renewal across passes: a refused refresh token is retried once, with
/// the newer token a writer that ignores our lock (such as a Python program) stored.
pub(crate) struct RenewRun<'a> {
    resource_server: &'a str,
    retried_after_rotation: bool,
}

impl<'a> RenewRun<'a> {
    pub(crate) fn new(resource_server: &'a str) -> Self {
        RenewRun {
            resource_server,
            retried_after_rotation: false,
        }
    }

    fn login_required(&self, reason: String) -> AuthError {
        AuthError::LoginRequired {
            resource_server: Some(self.resource_server.to_owned()),
            reason,
        }
    }

    pub(crate) fn after_pass(&mut self, pass: Pass) -> Step {
        match pass.failure {
            None => Step::Return(
                pass.stored
                    .ok_or_else(|| self.login_required("no tokens stored".to_owned())),
            ),
            Some(AuthError::LoginRequired { reason, .. }) => match pass.used_refresh_token {
                Some(used_refresh_token) if !self.retried_after_rotation => {
                    Step::CheckRotation(RotationCheck {
                        used_refresh_token,
                        reason,
                    })
                }
                _ => Step::Return(Err(self.login_required(reason))),
            },
            Some(err) => Step::Return(Err(err)),
        }
    }

    /// `None`: the store holds another refresh token now; run another pass with it.
    pub(crate) fn after_rotation_check(
        &mut self,
        check: RotationCheck,
        now_stored: Option<TokenData>,
    ) -> Option<Result<TokenData>> {
        let rotated = now_stored.as_ref().and_then(|d| d.refresh_token.as_ref())
            != Some(&check.used_refresh_token);
        if !rotated {
            return Some(Err(self.login_required(check.reason)));
        }
        self.retried_after_rotation = true;
        None
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
