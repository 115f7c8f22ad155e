//! The options of [`NativeClient::login`] and the [`NativeClient`] builder.

use std::sync::Arc;

use globus_authorizers::AuthClient;
use globus_tokens_core::Clock;

use super::NativeClient;
use crate::error::{LoginError, Result};
use crate::handlers::{CodeHandler, InputCodeHandler, LocalServerCodeHandler};
use crate::storage::{LoginTokenStorage, MultiClientTokenStorage};

/// Options of [`NativeClient::login`] (fair-research-login's `login()` keyword arguments).
///
/// ```
/// use globus_native_login::LoginOptions;
/// let options = LoginOptions::new()
///     .requested_scopes(["openid", "profile"])
///     .refresh_tokens(true)
///     .no_browser(true)
///     .query_param("session_required_single_domain", "example.org");
/// assert_eq!(options.requested_scopes.as_deref(), Some(&["openid".to_owned(), "profile".to_owned()][..]));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoginOptions {
    /// Scopes to log in with; `None` uses the client's default scopes.
    pub requested_scopes: Option<Vec<String>>,
    /// Ask for refresh tokens (`access_type=offline`).
    pub refresh_tokens: bool,
    /// Run a login flow even when saved tokens would do.
    pub force: bool,
    /// The grant name on the consent page; default `"{app_name} Login"`.
    pub prefill_named_grant: Option<String>,
    /// Extra query parameters for the authorize URL (fair-research-login's `query_params`).
    pub query_params: Vec<(String, String)>,
    /// Do not use the local server handler.
    pub no_local_server: bool,
    /// Do not open a browser; print the URL.
    pub no_browser: bool,
}

impl LoginOptions {
    /// Defaults: client's scopes, no refresh tokens, not forced, local server and browser on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the requested scopes.
    pub fn requested_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.requested_scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Ask for refresh tokens.
    pub fn refresh_tokens(mut self, value: bool) -> Self {
        self.refresh_tokens = value;
        self
    }

    /// Force a login flow.
    pub fn force(mut self, value: bool) -> Self {
        self.force = value;
        self
    }

    /// Name the grant.
    pub fn prefill_named_grant(mut self, name: impl Into<String>) -> Self {
        self.prefill_named_grant = Some(name.into());
        self
    }

    /// Add a query parameter to the authorize URL.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query_params.push((name.into(), value.into()));
        self
    }

    /// Skip the local server.
    pub fn no_local_server(mut self, value: bool) -> Self {
        self.no_local_server = value;
        self
    }

    /// Do not open a browser.
    pub fn no_browser(mut self, value: bool) -> Self {
        self.no_browser = value;
        self
    }
}

/// Builds a [`NativeClient`].
pub struct NativeClientBuilder {
    client_id: String,
    app_name: Option<String>,
    default_scopes: Vec<String>,
    storage: StorageChoice,
    code_handlers: Option<Vec<Arc<dyn CodeHandler>>>,
    auth_client: Option<Arc<AuthClient>>,
    clock: Option<Arc<dyn Clock>>,
}

enum StorageChoice {
    Default,
    Disabled,
    Given(Arc<dyn LoginTokenStorage>),
}

impl std::fmt::Debug for NativeClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeClientBuilder")
            .field("client_id", &self.client_id)
            .field("app_name", &self.app_name)
            .finish_non_exhaustive()
    }
}

impl NativeClientBuilder {
    /// The application name (default `"My App"`): the grant name and the local server's page.
    pub fn app_name(mut self, app_name: impl Into<String>) -> Self {
        self.app_name = Some(app_name.into());
        self
    }

    /// Scopes [`NativeClient::login`] requests when the options name none.
    pub fn default_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.default_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Keep tokens in `storage`.
    pub fn token_storage(mut self, storage: impl LoginTokenStorage + 'static) -> Self {
        self.storage = StorageChoice::Given(Arc::new(storage));
        self
    }

    /// Keep tokens in a shared `storage`.
    pub fn token_storage_arc(mut self, storage: Arc<dyn LoginTokenStorage>) -> Self {
        self.storage = StorageChoice::Given(storage);
        self
    }

    /// Keep no tokens (fair-research-login's `token_storage=None`): loading fails with
    /// [`LoginError::StorageDisabled`] and `login` always runs a flow.
    pub fn no_token_storage(mut self) -> Self {
        self.storage = StorageChoice::Disabled;
        self
    }

    /// The code handlers, tried in order.
    pub fn code_handlers(mut self, handlers: Vec<Arc<dyn CodeHandler>>) -> Self {
        self.code_handlers = Some(handlers);
        self
    }

    /// The Globus Auth client (default: a native client for the client id, base URL from the
    /// environment).
    pub fn auth_client(mut self, client: Arc<AuthClient>) -> Self {
        self.auth_client = Some(client);
        self
    }

    /// The clock deciding expiry (default: the auth client's clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Build. Fails on an empty client id, an auth client for another client id, an unknown
    /// `GLOBUS_SDK_ENVIRONMENT`, or default storage without a home directory.
    pub fn build(self) -> Result<NativeClient> {
        if self.client_id.trim().is_empty() {
            return Err(LoginError::InvalidConfig(
                "the client id is empty".to_owned(),
            ));
        }
        let auth_client = match self.auth_client {
            Some(client) => client,
            None => Arc::new(AuthClient::native(self.client_id.clone())?),
        };
        if auth_client.client_id() != self.client_id {
            return Err(LoginError::InvalidConfig(format!(
                "the auth client is for client id {:?}, not {:?}",
                auth_client.client_id(),
                self.client_id
            )));
        }
        let storage = match self.storage {
            StorageChoice::Given(storage) => Some(storage),
            StorageChoice::Disabled => None,
            StorageChoice::Default => {
                let path = MultiClientTokenStorage::default_path().ok_or_else(|| {
                    LoginError::InvalidConfig(
                        "no home directory for the default token storage; give one with token_storage()"
                            .to_owned(),
                    )
                })?;
                Some(
                    Arc::new(MultiClientTokenStorage::new(path, self.client_id.clone()))
                        as Arc<dyn LoginTokenStorage>,
                )
            }
        };
        let code_handlers = self.code_handlers.unwrap_or_else(|| {
            vec![
                Arc::new(LocalServerCodeHandler::new()) as Arc<dyn CodeHandler>,
                Arc::new(InputCodeHandler::new()),
            ]
        });
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::clone(auth_client.clock()));
        Ok(NativeClient {
            client_id: self.client_id,
            app_name: self.app_name.unwrap_or_else(|| "My App".to_owned()),
            default_scopes: self.default_scopes,
            storage,
            code_handlers,
            auth_client,
            clock,
        })
    }
}

impl NativeClient {
    /// Start building a client for `client_id`.
    pub fn builder(client_id: impl Into<String>) -> NativeClientBuilder {
        NativeClientBuilder {
            client_id: client_id.into(),
            app_name: None,
            default_scopes: Vec::new(),
            storage: StorageChoice::Default,
            code_handlers: None,
            auth_client: None,
            clock: None,
        }
    }
}
