//! [`UserApp`]: globus-sdk's `UserApp`, an app acting for a person who logs in.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use globus_authorizers::{AuthClient, GlobusAuthorizer};
use globus_scopes::Scope;
use globus_tokens_core::Secret;

use super::core::{AppCore, AppTokenStore, AuthorizerKind, CoreParams};
use super::login_flow::run_user_login;
use super::{AppError, GlobusApp, GlobusAppConfig};
use crate::paths::AppLocation;

/// An app acting for a user who logs in with Globus Auth (globus-sdk's `UserApp`).
///
/// Tokens are kept in a [`ValidatingTokenStorage`](crate::validating::ValidatingTokenStorage)
/// (by default the JSON file globus-sdk uses for the same client id and app name, so a Python
/// `UserApp` and this one share their logins) that checks, as globus-sdk does: the identity
/// never changes ([`UnchangingIdentityIdValidator`](crate::validating::UnchangingIdentityIdValidator),
/// with `id_token`s verified against Globus Auth's keys), the scope requirements are met (root
/// scopes in the token, dependent scopes in the user's consents), and the tokens have not
/// expired (or, with refresh tokens, that there are refresh tokens).
///
/// [`authorizer`](GlobusApp::authorizer) hands out an access-token authorizer, or, with
/// `request_refresh_tokens`, a [`StorageAuthorizer`](globus_authorizers::StorageAuthorizer)
/// that renews through the store (once across threads and processes). When the stored tokens
/// do not validate, the configured handler runs (by default a login flow).
///
/// **Thread safety** (globus-sdk's `GlobusApp` is not thread-safe): a `UserApp` is
/// `Send + Sync`; logins and logouts run one at a time, and threads that found the tokens
/// invalid together run one login: the others take its tokens.
///
/// ```no_run
/// use globus_app::app::{GlobusApp, GlobusAppConfig, UserApp};
/// use globus_scopes::{Scope, TransferScopes};
///
/// let app = UserApp::new("My App", "my-native-client-id", GlobusAppConfig::default())?;
/// app.add_scope_requirements([(
///     "transfer.api.globus.org".to_owned(),
///     vec![Scope::new(TransferScopes::ALL)?],
/// )].into());
/// // Logs in (prints a URL, reads the pasted code) only when the stored tokens do not do.
/// let authorizer = app.authorizer("transfer.api.globus.org")?;
/// let header = authorizer.get_authorization_header()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UserApp {
    core: AppCore,
}

impl fmt::Debug for UserApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserApp")
            .field("app_name", &self.core.app_name)
            .field("client", &self.core.client)
            .field("config", &self.core.config)
            .field("location", &self.core.location)
            .finish_non_exhaustive()
    }
}

impl UserApp {
    /// An app for the native client `client_id`.
    pub fn new(app_name: &str, client_id: &str, config: GlobusAppConfig) -> Result<Self, AppError> {
        Self::build(app_name, client_id, None, config)
    }

    /// An app for the confidential client `client_id` (globus-sdk's `UserApp` with a
    /// `client_secret`).
    pub fn confidential(
        app_name: &str,
        client_id: &str,
        client_secret: impl Into<Secret>,
        config: GlobusAppConfig,
    ) -> Result<Self, AppError> {
        Self::build(app_name, client_id, Some(client_secret.into()), config)
    }

    fn build(
        app_name: &str,
        client_id: &str,
        client_secret: Option<Secret>,
        config: GlobusAppConfig,
    ) -> Result<Self, AppError> {
        let kind = if config.request_refresh_tokens {
            AuthorizerKind::Renewing
        } else {
            AuthorizerKind::AccessToken
        };
        let core = AppCore::new(CoreParams {
            app_name,
            client_id,
            client_secret,
            config,
            kind,
            user: true,
        })?;
        Ok(UserApp { core })
    }

    /// Where the tokens are kept, for the storages globus-sdk knows by name.
    pub fn location(&self) -> Option<&AppLocation> {
        self.core.location.as_ref()
    }

    /// The Globus Auth client the app logs in, renews and revokes with.
    pub fn auth_client(&self) -> &Arc<AuthClient> {
        &self.core.client
    }

    /// Close the app: drops the storage (a SQLite file's connection is closed).
    pub fn close(self) {}

    #[cfg(feature = "async")]
    super::nonblocking::async_authorizer_method!();
}

impl GlobusApp for UserApp {
    delegate_to_core!();

    fn login(&self, force: bool) -> Result<(), AppError> {
        let core = &self.core;
        core.login(force, |scopes| {
            run_user_login(&core.client, &core.config, &core.app_name, scopes)
        })
    }
}
