//! [`ClientApp`]: globus-sdk's `ClientApp`, an app acting as its own confidential client.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use globus_authorizers::{AuthClient, GlobusAuthorizer};
use globus_scopes::Scope;
use globus_tokens_core::Secret;

use super::core::{AppCore, AppTokenStore, AuthorizerKind, CoreParams};
use super::{AppError, GlobusApp, GlobusAppConfig};
use crate::paths::AppLocation;

/// An app acting as a confidential client, with tokens from the client-credentials grant
/// (globus-sdk's `ClientApp`). "Logging in" is a client-credentials request for every required
/// scope; authorizers are [`StorageAuthorizer`](globus_authorizers::StorageAuthorizer)s that
/// get new tokens by client credentials through the store when theirs go stale.
///
/// Tokens are validated against the scope requirements only (a client has no user identity).
/// The login flow of the configuration is not used. `Send + Sync`, as [`UserApp`](super::UserApp).
///
/// ```no_run
/// use globus_app::app::{ClientApp, GlobusApp, GlobusAppConfig};
/// use globus_scopes::{Scope, TransferScopes};
///
/// let app = ClientApp::new("My Service", "client-id", "client-secret", GlobusAppConfig::default())?;
/// app.add_scope_requirements([("transfer.api.globus.org".to_owned(), vec![Scope::new(TransferScopes::ALL)?])].into());
/// let header = app.authorizer("transfer.api.globus.org")?.get_authorization_header()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClientApp {
    core: AppCore,
}

impl fmt::Debug for ClientApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientApp")
            .field("app_name", &self.core.app_name)
            .field("client", &self.core.client)
            .field("config", &self.core.config)
            .field("location", &self.core.location)
            .finish_non_exhaustive()
    }
}

impl ClientApp {
    /// An app for the confidential client `client_id` with `client_secret`; an empty secret, or
    /// a config with a login flow, is [`AppError::InvalidConfig`], as in globus-sdk.
    pub fn new(
        app_name: &str,
        client_id: &str,
        client_secret: impl Into<Secret>,
        config: GlobusAppConfig,
    ) -> Result<Self, AppError> {
        let client_secret = client_secret.into();
        if config.login_flow.is_some() {
            // globus-sdk: "A ClientApp cannot use a login_flow_manager".
            return Err(AppError::InvalidConfig(
                "a ClientApp cannot use a login flow (it gets tokens by client credentials)"
                    .to_owned(),
            ));
        }
        if client_secret.expose().is_empty() {
            return Err(AppError::InvalidConfig(
                "a ClientApp requires a client secret".to_owned(),
            ));
        }
        let core = AppCore::new(CoreParams {
            app_name,
            client_id,
            client_secret: Some(client_secret),
            config,
            kind: AuthorizerKind::Renewing,
            user: false,
        })?;
        Ok(ClientApp { core })
    }

    /// Where the tokens are kept, for the storages globus-sdk knows by name.
    pub fn location(&self) -> Option<&AppLocation> {
        self.core.location.as_ref()
    }

    /// The Globus Auth client.
    pub fn auth_client(&self) -> &Arc<AuthClient> {
        &self.core.client
    }

    /// Close the app: drops the storage (a SQLite file's connection is closed).
    pub fn close(self) {}

    #[cfg(feature = "async")]
    super::nonblocking::async_authorizer_method!();
}

impl GlobusApp for ClientApp {
    delegate_to_core!();

    fn login(&self, force: bool) -> Result<(), AppError> {
        let client = &self.core.client;
        self.core.login(force, |scopes| {
            Ok(client.oauth2_client_credentials_tokens(scopes)?)
        })
    }
}
