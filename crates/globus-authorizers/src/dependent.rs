//! Dependent tokens for the users of a service, kept per user identity in a shared store and
//! renewed once across the service's instances.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use globus_tokens_core::{Secret, SwapOutcome, TokenData, TokenStorage};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::authorizer::GlobusAuthorizer;
use crate::client::AuthClient;
use crate::error::{AuthError, Result};
use crate::renewing::EXPIRES_ADJUST_SECONDS;
use crate::store_renewal::StoreRenewal;

/// Opens the store of one namespace (one user identity), e.g.
/// `move |ns| Ok(Arc::new(dynamo.with_namespace(ns)) as Arc<dyn TokenStorage>)`.
pub type NamespaceStores =
    dyn Fn(&str) -> globus_tokens_core::Result<Arc<dyn TokenStorage>> + Send + Sync;

/// Marks the anchor entry written by a dependent-token grant: when (seconds since the epoch)...
const GRANTED_AT: &str = "dependent_grant_at";
/// ...and for which resource servers.
const GRANTED_FOR: &str = "dependent_grant_resource_servers";
/// How recent a grant must be for a process that finds it to wait for its entries rather than
/// grant again.
const GRANT_SETTLE_SECONDS: i64 = 30;
/// How long such a process waits for the granting process to write the other entries.
const GRANT_SETTLE_WAIT: Duration = Duration::from_secs(5);

/// Dependent tokens for the users of a service (an action provider, a portal, a gateway).
///
/// A user calls the service with an access token whose audience is the service's client; the
/// service exchanges it for dependent tokens (`urn:globus:auth:grant_type:dependent_token`)
/// to call other Globus services as that user. `DependentTokens` keeps them in a store, in a
/// namespace per user identity (`user/{identity_id}` by default), so tokens never cross users
/// and every instance of the service shares them. For each request:
///
/// 1. the user's identity comes from introspecting their token (cached in memory until the
///    token expires; an inactive token is [`AuthError::TokenRefused`]);
/// 2. a fresh token in memory is used as it is (no store request);
/// 3. else the stored one, renewed first with its refresh token when stale ([`StoreRenewal`],
///    so once across processes: on DynamoDB under the entry's renewal lease);
/// 4. else (none stored, or its refresh token refused) a new dependent-token grant, made under
///    the lease of the user's first declared resource server, so a user's concurrent requests
///    on several instances make one grant, whose tokens for every resource server are stored.
///
/// Needs a confidential client and the resource servers the service's dependent scopes cover.
///
/// ```no_run
/// use std::sync::Arc;
/// use globus_authorizers::{AuthClient, DependentTokens, GlobusAuthorizer};
/// use globus_tokens_core::{MemoryTokenStorage, Secret, TokenStorage};
///
/// let client = Arc::new(AuthClient::confidential("service-client-id", "secret")?);
/// let tokens = Arc::new(
///     DependentTokens::builder(client, |_namespace: &str| {
///         Ok(Arc::new(MemoryTokenStorage::new()) as Arc<dyn TokenStorage>)
///     })
///     .resource_servers(["transfer.api.globus.org"])
///     .build()?,
/// );
/// let user_token = Secret::new("token-from-the-request");
/// let transfer = tokens.authorizer(user_token, "transfer.api.globus.org");
/// let header = transfer.get_authorization_header()?;
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
pub struct DependentTokens {
    client: Arc<AuthClient>,
    stores: Box<NamespaceStores>,
    namespace_prefix: String,
    resource_servers: Vec<String>,
    refresh_tokens: bool,
    scope: Option<String>,
    renewal: StoreRenewal,
    /// sha256 of a user token -> (identity, expiry in seconds).
    identities: Mutex<HashMap<[u8; 32], (String, i64)>>,
    /// (identity, resource server) -> the token last seen.
    tokens: Mutex<HashMap<(String, String), TokenData>>,
}

impl std::fmt::Debug for DependentTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependentTokens")
            .field("client", &self.client)
            .field("namespace_prefix", &self.namespace_prefix)
            .field("resource_servers", &self.resource_servers)
            .field("refresh_tokens", &self.refresh_tokens)
            .finish_non_exhaustive()
    }
}

/// Builds [`DependentTokens`].
pub struct DependentTokensBuilder {
    client: Arc<AuthClient>,
    stores: Box<NamespaceStores>,
    namespace_prefix: String,
    resource_servers: Vec<String>,
    refresh_tokens: bool,
    scope: Option<String>,
}

impl std::fmt::Debug for DependentTokensBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependentTokensBuilder")
            .field("resource_servers", &self.resource_servers)
            .finish_non_exhaustive()
    }
}

impl DependentTokensBuilder {
    /// The resource servers the service's dependent scopes cover (at least one); the first
    /// one's renewal lease serializes a user's dependent-token grants.
    pub fn resource_servers<I, S>(mut self, resource_servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_servers = resource_servers.into_iter().map(Into::into).collect();
        self
    }

    /// The namespace of identity `ID` is `{prefix}{ID}` (default prefix `user/`).
    pub fn namespace_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.namespace_prefix = prefix.into();
        self
    }

    /// Ask for refresh tokens (`access_type=offline`, the default) so stored tokens are
    /// renewed without the user's token; without them a stale token needs a new grant.
    pub fn refresh_tokens(mut self, refresh_tokens: bool) -> Self {
        self.refresh_tokens = refresh_tokens;
        self
    }

    /// Narrow each grant to these scopes (space-separated).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Check the settings and build.
    pub fn build(self) -> Result<DependentTokens> {
        if !self.client.is_confidential() {
            return Err(AuthError::InvalidConfig(
                "dependent tokens need a confidential client (with a secret)".to_owned(),
            ));
        }
        if self.resource_servers.is_empty() {
            return Err(AuthError::InvalidConfig(
                "name the resource servers of the service's dependent scopes".to_owned(),
            ));
        }
        Ok(DependentTokens {
            renewal: StoreRenewal::new(Arc::clone(&self.client)),
            client: self.client,
            stores: self.stores,
            namespace_prefix: self.namespace_prefix,
            resource_servers: self.resource_servers,
            refresh_tokens: self.refresh_tokens,
            scope: self.scope,
            identities: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }
}

impl DependentTokens {
    /// Start building for `client` (confidential), opening each user's namespace with `stores`.
    pub fn builder<F>(client: Arc<AuthClient>, stores: F) -> DependentTokensBuilder
    where
        F: Fn(&str) -> globus_tokens_core::Result<Arc<dyn TokenStorage>> + Send + Sync + 'static,
    {
        DependentTokensBuilder {
            client,
            stores: Box::new(stores),
            namespace_prefix: "user/".to_owned(),
            resource_servers: Vec::new(),
            refresh_tokens: true,
            scope: None,
        }
    }

    /// The namespace a user's tokens are kept in.
    pub fn namespace_of(&self, identity_id: &str) -> String {
        format!("{}{identity_id}", self.namespace_prefix)
    }

    /// The identity `user_token` acts for, by introspection (cached until the token expires).
    /// An inactive token is [`AuthError::TokenRefused`].
    pub fn identity_of(&self, user_token: &Secret) -> Result<String> {
        let key: [u8; 32] = Sha256::digest(user_token.expose().as_bytes()).into();
        let now = self.now();
        if let Some((identity, _)) = lock(&self.identities)
            .get(&key)
            .filter(|(_, expires)| *expires > now)
        {
            return Ok(identity.clone());
        }
        let seen = self.client.oauth2_token_introspect(user_token, None)?;
        let identity = match (seen.active, seen.sub) {
            (true, Some(sub)) if !sub.is_empty() => sub,
            (true, _) => {
                return Err(AuthError::InvalidResponse {
                    endpoint: "v2/oauth2/token/introspect".to_owned(),
                    status: 200,
                    reason: "an active token without \"sub\"".to_owned(),
                });
            }
            (false, _) => {
                return Err(AuthError::TokenRefused {
                    reason: "introspection says the token is not active".to_owned(),
                });
            }
        };
        let expires = seen.exp.unwrap_or(now + 60);
        let mut identities = lock(&self.identities);
        identities.retain(|_, (_, expires)| *expires > now);
        identities.insert(key, (identity.clone(), expires));
        Ok(identity)
    }

    /// A usable token for `resource_server` acting for the user whose token is `user_token`.
    pub fn token(&self, user_token: &Secret, resource_server: &str) -> Result<TokenData> {
        let identity = self.identity_of(user_token)?;
        self.token_for(&identity, user_token, resource_server, None)
    }

    /// An authorizer for `resource_server` on behalf of the user whose token is `user_token`.
    pub fn authorizer(
        self: &Arc<Self>,
        user_token: Secret,
        resource_server: &str,
    ) -> DependentTokenAuthorizer {
        DependentTokenAuthorizer {
            tokens: Arc::clone(self),
            user_token,
            resource_server: resource_server.to_owned(),
        }
    }

    fn now(&self) -> i64 {
        self.renewal.clock().now_seconds()
    }

    fn fresh(&self, data: &TokenData) -> bool {
        !data.is_expired_at(self.now(), EXPIRES_ADJUST_SECONDS)
    }

    /// The token of `identity` for `resource_server`; `rejected` is an access token a
    /// resource server answered 401 to.
    fn token_for(
        &self,
        identity: &str,
        user_token: &Secret,
        resource_server: &str,
        rejected: Option<&Secret>,
    ) -> Result<TokenData> {
        if !self.resource_servers.iter().any(|rs| rs == resource_server) {
            return Err(AuthError::InvalidConfig(format!(
                "{resource_server} is not among the dependent resource servers ({})",
                self.resource_servers.join(", ")
            )));
        }
        let key = (identity.to_owned(), resource_server.to_owned());
        if let Some(data) = lock(&self.tokens).get(&key)
            && self.fresh(data)
            && rejected != Some(&data.access_token)
        {
            return Ok(data.clone());
        }
        let store = (self.stores)(&self.namespace_of(identity))?;
        let data = match store.get_token_data(resource_server)? {
            Some(data) if self.fresh(&data) && rejected != Some(&data.access_token) => data,
            Some(data) if data.refresh_token.is_some() => {
                match self.renewal.renew(&*store, resource_server, rejected) {
                    Ok(data) => data,
                    Err(err) if err.is_login_required() => {
                        self.grant(&*store, user_token, resource_server)?
                    }
                    Err(err) => return Err(err),
                }
            }
            _ => self.grant(&*store, user_token, resource_server)?,
        };
        lock(&self.tokens).insert(key, data.clone());
        Ok(data)
    }

    /// A dependent-token grant for the user, under the lease of the first resource server
    /// (the anchor); returns the entry for `resource_server`.
    fn grant(
        &self,
        store: &dyn TokenStorage,
        user_token: &Secret,
        resource_server: &str,
    ) -> Result<TokenData> {
        let anchor = self.resource_servers[0].as_str();
        let mut granted: Option<BTreeMap<String, TokenData>> = None;
        let mut failure: Option<AuthError> = None;
        let mut settling = false;
        store.update_token_data(anchor, &mut |current| {
            (granted, failure, settling) = (None, None, false);
            if let Some(current) = current
                && self.fresh(current)
                && self.recently_granted(current, resource_server)
            {
                // Another process granted while we waited for the lease: its entries are
                // being written.
                settling = true;
                return None;
            }
            let mut entries = match self.dependent_grant(user_token) {
                Ok(entries) => entries,
                Err(err) => {
                    failure = Some(err);
                    return None;
                }
            };
            let stamp = |entry: &mut TokenData, covered: &[String]| {
                entry.extra.insert(GRANTED_AT.to_owned(), self.now().into());
                entry.extra.insert(
                    GRANTED_FOR.to_owned(),
                    Value::Array(covered.iter().cloned().map(Value::String).collect()),
                );
            };
            let covered: Vec<String> = entries.keys().cloned().collect();
            let anchor_entry = entries.get_mut(anchor).map(|entry| {
                stamp(entry, &covered);
                entry.clone()
            });
            granted = Some(entries);
            anchor_entry
        })?;
        if let Some(err) = failure {
            return Err(err);
        }
        if let Some(entries) = granted {
            self.store_others(store, anchor, &entries)?;
            return entry_for(&entries, resource_server);
        }
        if settling {
            return self.wait_for_entry(store, user_token, resource_server);
        }
        Err(AuthError::LoginRequired {
            resource_server: Some(resource_server.to_owned()),
            reason: "no dependent token could be obtained".to_owned(),
        })
    }

    fn recently_granted(&self, anchor: &TokenData, resource_server: &str) -> bool {
        let at = anchor.extra.get(GRANTED_AT).and_then(Value::as_i64);
        let covers = anchor
            .extra
            .get(GRANTED_FOR)
            .and_then(Value::as_array)
            .is_some_and(|list| list.iter().any(|rs| rs.as_str() == Some(resource_server)));
        covers && at.is_some_and(|at| self.now().saturating_sub(at) <= GRANT_SETTLE_SECONDS)
    }

    /// Store a grant's other entries where nothing usable is stored (a compare-and-swap, so a
    /// token renewed meanwhile is not replaced).
    fn store_others(
        &self,
        store: &dyn TokenStorage,
        anchor: &str,
        entries: &BTreeMap<String, TokenData>,
    ) -> Result<()> {
        for (resource_server, entry) in entries.iter().filter(|(rs, _)| rs.as_str() != anchor) {
            let current = store.get_token_data(resource_server)?;
            if current.as_ref().is_some_and(|current| self.fresh(current)) {
                continue;
            }
            if let SwapOutcome::Conflict(_) = store.compare_and_swap(current.as_ref(), entry)? {
                tracing::debug!(
                    resource_server = %resource_server,
                    "a dependent token was written by another process first"
                );
            }
        }
        Ok(())
    }

    /// Another process just granted: read `resource_server`'s entry until it is there (for at
    /// most [`GRANT_SETTLE_WAIT`]), else grant ourselves.
    fn wait_for_entry(
        &self,
        store: &dyn TokenStorage,
        user_token: &Secret,
        resource_server: &str,
    ) -> Result<TokenData> {
        let deadline = std::time::Instant::now() + GRANT_SETTLE_WAIT;
        let mut wait = Duration::from_millis(5);
        loop {
            if let Some(data) = store.get_token_data(resource_server)?
                && self.fresh(&data)
            {
                return Ok(data);
            }
            if std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(200));
        }
        let entries = self.dependent_grant(user_token)?;
        self.store_others(store, "", &entries)?;
        entry_for(&entries, resource_server)
    }

    /// One dependent-token grant for `user_token`, by resource server.
    fn dependent_grant(&self, user_token: &Secret) -> Result<BTreeMap<String, TokenData>> {
        let response = self.client.oauth2_get_dependent_tokens(
            user_token,
            self.refresh_tokens,
            self.scope.as_deref(),
        )?;
        Ok(response.by_resource_server())
    }
}

/// A grant's entry for `resource_server`, or the error saying what the grant covered.
fn entry_for(entries: &BTreeMap<String, TokenData>, resource_server: &str) -> Result<TokenData> {
    entries
        .get(resource_server)
        .cloned()
        .ok_or_else(|| AuthError::UnexpectedResourceServers {
            context: format!("the dependent-token grant for {resource_server}"),
            found: entries.keys().cloned().collect(),
        })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A [`GlobusAuthorizer`] for one resource server on behalf of one user of a service, from
/// [`DependentTokens::authorizer`]. A 401 renews the token (once across the service's
/// instances) before the retry.
pub struct DependentTokenAuthorizer {
    tokens: Arc<DependentTokens>,
    user_token: Secret,
    resource_server: String,
}

impl std::fmt::Debug for DependentTokenAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependentTokenAuthorizer")
            .field("resource_server", &self.resource_server)
            .finish_non_exhaustive()
    }
}

impl DependentTokenAuthorizer {
    /// The current token (renewed or granted first if needed).
    pub fn token(&self) -> Result<TokenData> {
        self.tokens.token(&self.user_token, &self.resource_server)
    }
}

impl GlobusAuthorizer for DependentTokenAuthorizer {
    fn get_authorization_header(&self) -> Result<Option<String>> {
        Ok(Some(format!(
            "Bearer {}",
            self.token()?.access_token.expose()
        )))
    }

    fn handle_missing_authorization(&self) -> bool {
        let Ok(identity) = self.tokens.identity_of(&self.user_token) else {
            return false;
        };
        let key = (identity.clone(), self.resource_server.clone());
        let rejected = lock(&self.tokens.tokens)
            .get(&key)
            .map(|data| data.access_token.clone());
        match self.tokens.token_for(
            &identity,
            &self.user_token,
            &self.resource_server,
            rejected.as_ref(),
        ) {
            Ok(_) => true,
            Err(err) => {
                tracing::warn!(
                    resource_server = %self.resource_server,
                    error = %err,
                    "could not renew a dependent token after a 401"
                );
                false
            }
        }
    }
}
