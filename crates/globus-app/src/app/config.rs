//! [`GlobusAppConfig`]: globus-sdk's `GlobusAppConfig`, how an app stores tokens, logs in and
//! handles validation errors.

use std::fmt;
use std::sync::Arc;

use globus_authorizers::SdkEnv;
use globus_native_login::{CodeHandler, InputCodeHandler, LocalServerCodeHandler, NoBrowser};
use globus_tokens_core::TokenStorage;

use super::{AppError, GlobusApp};
use crate::AppStorageKind;
use crate::validating::TokenValidationError;

/// Where an app keeps its tokens (globus-sdk's `token_storage`): a kind globus-sdk knows by
/// name, opened at the app's per-app path, or any storage.
#[derive(Clone)]
#[non_exhaustive]
pub enum AppTokenStorage {
    /// `"json"`, `"sqlite"` or `"memory"`, at `~/.globus/app/{client_id}/{app}/...`.
    Kind(AppStorageKind),
    /// A storage the program opened itself (namespace and location are its business).
    Custom(Arc<dyn TokenStorage>),
}

impl fmt::Debug for AppTokenStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppTokenStorage::Kind(kind) => write!(f, "{kind}"),
            AppTokenStorage::Custom(store) => write!(f, "custom(namespace {})", store.namespace()),
        }
    }
}

impl Default for AppTokenStorage {
    fn default() -> Self {
        AppTokenStorage::Kind(AppStorageKind::Json)
    }
}

impl From<AppStorageKind> for AppTokenStorage {
    fn from(kind: AppStorageKind) -> Self {
        AppTokenStorage::Kind(kind)
    }
}

/// How a [`UserApp`](super::UserApp) gets the authorization code (globus-sdk's
/// `login_flow_manager`): any [`CodeHandler`] of globus-native-login.
///
/// - [`LoginFlow::command_line`] (the default, globus-sdk's `"command-line"`): print the URL,
///   read the pasted code ([`InputCodeHandler`]; give it a reader and writer to drive it from a
///   test or another UI).
/// - [`LoginFlow::local_server`] (`"local-server"`): open the browser and receive the redirect
///   on `http://localhost:PORT` ([`LocalServerCodeHandler`]).
#[derive(Clone, Debug)]
pub struct LoginFlow {
    handler: Arc<dyn CodeHandler>,
}

impl LoginFlow {
    /// Paste the code at the terminal (standard input, messages on standard error). The URL
    /// is printed, not opened in a browser, as globus-sdk's `CommandLineLoginFlowManager` does.
    pub fn command_line() -> Self {
        Self::from_handler(InputCodeHandler::new().browser_opener(NoBrowser))
    }

    /// Receive the redirect on a local server.
    pub fn local_server() -> Self {
        Self::from_handler(LocalServerCodeHandler::new())
    }

    /// Any code handler (an [`InputCodeHandler`] with its own reader, a configured
    /// [`LocalServerCodeHandler`], or a program's own).
    pub fn from_handler(handler: impl CodeHandler + 'static) -> Self {
        LoginFlow {
            handler: Arc::new(handler),
        }
    }

    /// The handler.
    pub fn handler(&self) -> &dyn CodeHandler {
        &*self.handler
    }
}

impl Default for LoginFlow {
    fn default() -> Self {
        Self::command_line()
    }
}

/// Called when stored tokens fail validation while getting an authorizer (globus-sdk's
/// `token_validation_error_handler`); when it returns `Ok`, the authorizer is tried once more,
/// otherwise its error is returned.
pub type ValidationErrorHandler =
    Arc<dyn Fn(&dyn GlobusApp, TokenValidationError) -> Result<(), AppError> + Send + Sync>;

/// globus-sdk's default handler, `resolve_by_login_flow`: an identity mismatch is returned as
/// it is (logging in again cannot fix it), anything else runs a login flow (`login(force)`).
/// Errors that are not validation failures (a storage or consent lookup failure) are returned
/// too.
pub fn resolve_by_login_flow(
    app: &dyn GlobusApp,
    error: TokenValidationError,
) -> Result<(), AppError> {
    if !error.is_resolvable_by_login() {
        return Err(AppError::Validation(error));
    }
    app.login(true)
}

/// How a [`UserApp`](super::UserApp) or [`ClientApp`](super::ClientApp) behaves (globus-sdk's
/// `GlobusAppConfig`). Built from [`GlobusAppConfig::default`] with the `with_*` methods.
///
/// ```
/// use globus_app::AppStorageKind;
/// use globus_app::app::{GlobusAppConfig, LoginFlow};
/// let config = GlobusAppConfig::default()
///     .with_token_storage(AppStorageKind::Sqlite)
///     .with_request_refresh_tokens(true)
///     .with_login_flow(LoginFlow::local_server());
/// assert!(config.request_refresh_tokens());
/// ```
#[derive(Clone)]
pub struct GlobusAppConfig {
    pub(super) token_storage: AppTokenStorage,
    pub(super) request_refresh_tokens: bool,
    /// `None`: not set (a user app runs [`LoginFlow::default`]; a client app has none).
    pub(super) login_flow: Option<LoginFlow>,
    pub(super) login_redirect_uri: Option<String>,
    pub(super) environment: Option<String>,
    pub(super) error_handler: Option<ValidationErrorHandler>,
    pub(super) env: SdkEnv,
}

impl fmt::Debug for GlobusAppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobusAppConfig")
            .field("token_storage", &self.token_storage)
            .field("request_refresh_tokens", &self.request_refresh_tokens)
            .field(
                "login_flow",
                &self.login_flow.as_ref().map(|flow| flow.handler().name()),
            )
            .field("login_redirect_uri", &self.login_redirect_uri)
            .field("environment", &self.environment)
            .field("error_handler", &self.error_handler.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for GlobusAppConfig {
    /// globus-sdk's defaults: JSON storage, no refresh tokens, the command-line flow, the
    /// client's default redirect URI, the environment from `GLOBUS_SDK_ENVIRONMENT`, and
    /// [`resolve_by_login_flow`]; variables are read from the process environment.
    fn default() -> Self {
        GlobusAppConfig {
            token_storage: AppTokenStorage::default(),
            request_refresh_tokens: false,
            login_flow: None,
            login_redirect_uri: None,
            environment: None,
            error_handler: Some(Arc::new(resolve_by_login_flow)),
            env: SdkEnv::process(),
        }
    }
}

impl GlobusAppConfig {
    /// Where to keep tokens (default: JSON).
    pub fn with_token_storage(mut self, storage: impl Into<AppTokenStorage>) -> Self {
        self.token_storage = storage.into();
        self
    }

    /// Ask for refresh tokens (default: no; access tokens then last until they expire and a
    /// new login is needed).
    pub fn with_request_refresh_tokens(mut self, refresh_tokens: bool) -> Self {
        self.request_refresh_tokens = refresh_tokens;
        self
    }

    /// How to log in (default: [`LoginFlow::command_line`]).
    pub fn with_login_flow(mut self, flow: LoginFlow) -> Self {
        self.login_flow = Some(flow);
        self
    }

    /// The redirect URI for flows that do not receive the redirect themselves (default: the
    /// client's `{auth}v2/web/auth-code`). Must be registered with the client.
    pub fn with_login_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.login_redirect_uri = Some(uri.into());
        self
    }

    /// The Globus environment (default: `GLOBUS_SDK_ENVIRONMENT`, else `production`); it picks
    /// Globus Auth's URL (unless `GLOBUS_SDK_SERVICE_URL_AUTH` is set) and the token file name.
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The validation-error handler; `None` returns validation errors from
    /// [`GlobusApp::authorizer`] without logging in.
    pub fn with_token_validation_error_handler(
        mut self,
        handler: Option<ValidationErrorHandler>,
    ) -> Self {
        self.error_handler = handler;
        self
    }

    /// Read globus-sdk's variables (environment, Auth URL, timeouts, `HOME`) from `env`
    /// instead of the process environment.
    pub fn with_env(mut self, env: SdkEnv) -> Self {
        self.env = env;
        self
    }

    /// Whether refresh tokens are requested.
    pub fn request_refresh_tokens(&self) -> bool {
        self.request_refresh_tokens
    }

    /// The configured token storage.
    pub fn token_storage(&self) -> &AppTokenStorage {
        &self.token_storage
    }

    /// The Globus environment in effect.
    pub fn environment(&self) -> String {
        self.environment
            .clone()
            .unwrap_or_else(|| crate::paths::environment_name(&self.env))
    }
}
