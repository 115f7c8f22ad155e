//! What `UserApp` and `ClientApp` share (globus-sdk's `GlobusApp` base class): the client,
//! the validating storage, the scope requirements, the authorizer cache and the login lock.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use globus_authorizers::{
    AccessTokenAuthorizer, AuthClient, GlobusAuthorizer, IdTokenDecoder, SERVICE_URL_AUTH_VAR,
    StorageAuthorizer, StoreRenewal, auth_base_url_for_environment,
};
use globus_scopes::{AuthScopes, Scope, scopes_to_str};
use globus_tokens_core::{Secret, TokenResponse, TokenStorage};

use super::{AppError, AppTokenStorage, GlobusApp, GlobusAppConfig};
use crate::auth::{AuthConsentCheck, VerifiedIdentityDecoder};
use crate::open_app_storage;
use crate::paths::AppLocation;
use crate::validating::{
    HasRefreshTokensValidator, NotExpiredValidator, ScopeRequirementsValidator,
    TokenValidationError, UnchangingIdentityIdValidator, ValidatingTokenStorage,
};

/// The validating storage every app uses.
pub type AppTokenStore = ValidatingTokenStorage<Arc<dyn TokenStorage>>;

/// The resource server of Globus Auth, whose `openid` scope every app requires.
const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";

/// Which authorizers an app hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthorizerKind {
    /// The stored access token until it expires (a user app without refresh tokens).
    AccessToken,
    /// A [`StorageAuthorizer`] renewing through the validating store (refresh tokens or client
    /// credentials).
    Renewing,
}

struct Cached {
    authorizer: Arc<dyn GlobusAuthorizer>,
    /// For access-token authorizers: dropped from the cache once expired (as globus-sdk's
    /// `AccessTokenAuthorizerFactory` does), so the next request validates again.
    expires_at: Option<i64>,
}

/// What the app's parts are built from.
pub(super) struct CoreParams<'a> {
    pub app_name: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<Secret>,
    pub config: GlobusAppConfig,
    pub kind: AuthorizerKind,
    pub user: bool,
}

pub(super) struct AppCore {
    pub(super) app_name: String,
    pub(super) client: Arc<AuthClient>,
    pub(super) config: GlobusAppConfig,
    pub(super) location: Option<AppLocation>,
    pub(super) store: Arc<AppTokenStore>,
    pub(super) kind: AuthorizerKind,
    validator: Arc<ScopeRequirementsValidator<Scope>>,
    consents: Arc<AuthConsentCheck>,
    requirements: Mutex<BTreeMap<String, Vec<Scope>>>,
    cache: Mutex<HashMap<String, Cached>>,
    /// Held while logging in or out, so one flow runs at a time.
    login_lock: Mutex<()>,
    /// Bumped after each login, so a thread that waited for another's login can tell.
    logins: AtomicU64,
    /// The async client and authorizers (feature `async`).
    #[cfg(feature = "async")]
    pub(super) async_parts: super::nonblocking::AsyncParts,
}

thread_local! {
    /// While this thread runs a validation-error handler: the login count when its
    /// authorizer failed validation.
    static SEEN_LOGINS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Sets [`SEEN_LOGINS`] for the handler's duration.
struct SeenLogins(Option<u64>);

impl SeenLogins {
    fn set(generation: u64) -> Self {
        SeenLogins(SEEN_LOGINS.replace(Some(generation)))
    }
}

impl Drop for SeenLogins {
    fn drop(&mut self) {
        SEEN_LOGINS.set(self.0);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppCore {
    pub(super) fn new(params: CoreParams<'_>) -> Result<Self, AppError> {
        let CoreParams {
            app_name,
            client_id,
            client_secret,
            config,
            kind,
            user,
        } = params;
        let environment = config.environment();
        // globus-sdk: GLOBUS_SDK_SERVICE_URL_AUTH wins, else the environment's URL.
        let base_url = match config.env.var(SERVICE_URL_AUTH_VAR) {
            Some(_) => config.env.auth_base_url()?,
            None => auth_base_url_for_environment(&environment)?,
        };
        let mut builder = AuthClient::builder(client_id)
            .env(config.env.clone())
            .base_url(base_url);
        if let Some(secret) = client_secret {
            builder = builder.client_secret(secret);
        }
        #[cfg(feature = "async")]
        let async_parts = super::nonblocking::AsyncParts::new(builder.clone());
        let client = Arc::new(builder.build()?);

        let (location, inner): (Option<AppLocation>, Arc<dyn TokenStorage>) = match &config
            .token_storage
        {
            AppTokenStorage::Kind(storage_kind) => {
                let location = AppLocation::new(client_id, app_name, &environment, &config.env)?;
                let store = open_app_storage(&location, *storage_kind)?;
                (Some(location), Arc::from(store))
            }
            AppTokenStorage::Custom(store) => (None, Arc::clone(store)),
        };

        // The consent check needs a Globus Auth token of the user, which is in the store the
        // validator guards: it reads (and renews) it from the inner store, bypassing validation.
        let store_cell: Arc<OnceLock<Weak<AppTokenStore>>> = Arc::new(OnceLock::new());
        let consents = Arc::new(AuthConsentCheck::new(Arc::clone(&client), {
            let cell = Arc::clone(&store_cell);
            let renewal = StoreRenewal::new(Arc::clone(&client));
            move || {
                let store = cell
                    .get()
                    .and_then(Weak::upgrade)
                    .ok_or("the app's token storage is closed")?;
                let data = renewal.renew(store.inner(), AUTH_RESOURCE_SERVER, None)?;
                Ok(data.access_token)
            }
        }));
        let mut requirements = BTreeMap::new();
        // globus-sdk attaches an AuthClient (for consents) to every app, which requires openid.
        requirements.insert(
            AUTH_RESOURCE_SERVER.to_owned(),
            vec![
                Scope::new(AuthScopes::OPENID)
                    .map_err(|err| AppError::InvalidConfig(format!("the openid scope: {err}")))?,
            ],
        );
        let validator = Arc::new(ScopeRequirementsValidator::new(
            requirements.clone(),
            Arc::clone(&consents),
        ));

        let decoder = VerifiedIdentityDecoder::new(IdTokenDecoder::new((*client).clone()));
        let mut store = ValidatingTokenStorage::new(inner)?.with_identity_decoder(decoder);
        // globus-sdk's order: the expiry check first, then scopes, then the identity.
        if user {
            match kind {
                AuthorizerKind::Renewing => store.push_validator(HasRefreshTokensValidator),
                AuthorizerKind::AccessToken => {
                    store.push_validator(NotExpiredValidator::new(Arc::clone(client.clock())))
                }
            }
        }
        store.push_validator(Arc::clone(&validator));
        if user {
            store.push_validator(UnchangingIdentityIdValidator);
        }
        let store = Arc::new(store);
        let _ = store_cell.set(Arc::downgrade(&store));

        Ok(AppCore {
            app_name: app_name.to_owned(),
            client,
            config,
            location,
            store,
            kind,
            validator,
            consents,
            requirements: Mutex::new(requirements),
            cache: Mutex::new(HashMap::new()),
            login_lock: Mutex::new(()),
            logins: AtomicU64::new(0),
            #[cfg(feature = "async")]
            async_parts,
        })
    }

    pub(super) fn add_scope_requirements(&self, added: BTreeMap<String, Vec<Scope>>) {
        let mut requirements = lock(&self.requirements);
        let mut cache = lock(&self.cache);
        for (resource_server, scopes) in &added {
            requirements
                .entry(resource_server.clone())
                .or_default()
                .extend(scopes.iter().cloned());
            cache.remove(resource_server);
            #[cfg(feature = "async")]
            self.async_parts.forget(resource_server);
        }
        self.validator.add_scope_requirements(added);
    }

    pub(super) fn scope_requirements(&self) -> BTreeMap<String, Vec<Scope>> {
        lock(&self.requirements).clone()
    }

    /// Every requirement merged into one scope string (globus-sdk's
    /// `_auth_params_with_required_scopes`).
    pub(super) fn required_scopes(&self) -> Result<String, AppError> {
        let mut merged: Vec<Scope> = Vec::new();
        for scopes in lock(&self.requirements).values() {
            merged = Scope::merge_scopes(&merged, scopes)?;
        }
        Ok(scopes_to_str(&merged))
    }

    fn clear_cache(&self) {
        lock(&self.cache).clear();
        #[cfg(feature = "async")]
        self.async_parts.clear_cache();
    }

    /// An authorizer from valid stored tokens, with no error handling.
    pub(super) fn try_authorizer(
        &self,
        resource_server: &str,
    ) -> Result<Arc<dyn GlobusAuthorizer>, AppError> {
        let now = self.client.clock().now_seconds();
        if let Some(cached) = lock(&self.cache).get(resource_server)
            && cached.expires_at.is_none_or(|expires_at| expires_at >= now)
        {
            return Ok(Arc::clone(&cached.authorizer));
        }
        let data = self.store.get_validated_token_data(resource_server)?;
        let cached = match self.kind {
            AuthorizerKind::AccessToken => Cached {
                authorizer: Arc::new(AccessTokenAuthorizer::new(data.access_token.clone())),
                expires_at: Some(data.expires_at_seconds),
            },
            AuthorizerKind::Renewing => {
                let store: Arc<dyn TokenStorage> = Arc::clone(&self.store) as _;
                let authorizer =
                    StorageAuthorizer::builder(store, resource_server, Arc::clone(&self.client))
                        .build()?;
                Cached {
                    authorizer: Arc::new(authorizer),
                    expires_at: None,
                }
            }
        };
        let authorizer = Arc::clone(&cached.authorizer);
        lock(&self.cache).insert(resource_server.to_owned(), cached);
        Ok(authorizer)
    }

    /// globus-sdk's `get_authorizer`: on a validation error, the handler, then one more try.
    pub(super) fn authorizer(
        &self,
        app: &dyn GlobusApp,
        resource_server: &str,
    ) -> Result<Arc<dyn GlobusAuthorizer>, AppError> {
        let generation = self.logins.load(Ordering::SeqCst);
        let err = match self.try_authorizer(resource_server) {
            Err(AppError::Validation(err)) => err,
            other => return other,
        };
        let Some(handler) = &self.config.error_handler else {
            return Err(AppError::Validation(err));
        };
        tracing::info!(resource_server, error = %err, "stored tokens are not valid; running the validation-error handler");
        // A login the handler asks for is skipped when another thread logged in since this one
        // looked and nothing is required any more: threads failing together log in once.
        let _seen = SeenLogins::set(generation);
        handler(app, err)?;
        self.try_authorizer(resource_server)
    }

    /// globus-sdk's `login_required`: whether some required resource server's tokens fail
    /// validation. Failures that are not validation verdicts (storage, consent lookup) are
    /// errors, as they are exceptions there.
    pub(super) fn login_required(&self) -> Result<bool, AppError> {
        let resource_servers: Vec<String> = lock(&self.requirements).keys().cloned().collect();
        for resource_server in resource_servers {
            match self.try_authorizer(&resource_server) {
                Ok(_) => {}
                Err(AppError::Validation(err))
                    if err.is_resolvable_by_login()
                        || matches!(err, TokenValidationError::IdentityMismatch { .. }) =>
                {
                    tracing::debug!(resource_server, error = %err, "login required");
                    return Ok(true);
                }
                Err(err) => return Err(err),
            }
        }
        Ok(false)
    }

    /// globus-sdk's `login`: run `flow` when forced or when a login is required, and store
    /// what it returns. One login at a time.
    pub(super) fn login(
        &self,
        force: bool,
        flow: impl FnOnce(&str) -> Result<TokenResponse, AppError>,
    ) -> Result<(), AppError> {
        let _login = lock(&self.login_lock);
        let superseded = SEEN_LOGINS
            .get()
            .is_some_and(|seen| seen != self.logins.load(Ordering::SeqCst));
        if (!force || superseded) && !self.login_required()? {
            return Ok(());
        }
        let scopes = self.required_scopes()?;
        let response = flow(&scopes)?;
        let stored = self.store.store_token_response(&response);
        self.clear_cache();
        self.logins.fetch_add(1, Ordering::SeqCst);
        stored?;
        tracing::info!(app = %self.app_name, "logged in");
        Ok(())
    }

    /// globus-sdk's `logout`, extended to everything stored: each token is revoked (access,
    /// then refresh) and its entry removed; then the remembered identity and the caches are
    /// dropped, so someone else may log in.
    pub(super) fn logout(&self) -> Result<(), AppError> {
        let _login = lock(&self.login_lock);
        let inner = self.store.inner();
        let mut resource_servers: Vec<String> = lock(&self.requirements).keys().cloned().collect();
        if let Some(listing) = inner.as_enumerable() {
            for resource_server in listing.get_by_resource_server()?.into_keys() {
                if !resource_servers.contains(&resource_server) {
                    resource_servers.push(resource_server);
                }
            }
        }
        for resource_server in &resource_servers {
            if let Some(data) = inner.get_token_data(resource_server)? {
                self.client.oauth2_revoke_token(&data.access_token)?;
                if let Some(refresh_token) = &data.refresh_token {
                    self.client.oauth2_revoke_token(refresh_token)?;
                }
                inner.remove_token_data(resource_server)?;
            }
        }
        self.store.forget_identity();
        self.consents.clear_cache();
        self.clear_cache();
        tracing::info!(app = %self.app_name, "logged out");
        Ok(())
    }
}
