//! globus-sdk's `GlobusApp`: [`UserApp`] (a person logs in) and [`ClientApp`] (a confidential
//! client acts as itself), configured by [`GlobusAppConfig`], with the methods of the
//! [`GlobusApp`] trait.
//!
//! | globus-sdk 3.65 | here |
//! |---|---|
//! | `UserApp(app_name, client_id=...)` | [`UserApp::new`] (with a secret: [`UserApp::confidential`]) |
//! | `ClientApp(app_name, client_id=..., client_secret=...)` | [`ClientApp::new`] |
//! | `GlobusAppConfig(...)` | [`GlobusAppConfig::default`] and its `with_*` methods |
//! | `token_storage="json"/"sqlite"/"memory"` or a `TokenStorage` | [`AppTokenStorage`] |
//! | `login_flow_manager="command-line"/"local-server"` | [`LoginFlow::command_line`], [`LoginFlow::local_server`], [`LoginFlow::from_handler`] |
//! | `token_validation_error_handler` (`resolve_by_login_flow`) | [`ValidationErrorHandler`] ([`resolve_by_login_flow`]) |
//! | `app.get_authorizer(rs)` | [`GlobusApp::authorizer`] |
//! | `app.login(force=...)`, `login_required()`, `logout()` | [`GlobusApp::login`], [`GlobusApp::login_required`], [`GlobusApp::logout`] |
//! | `app.add_scope_requirements({...})`, `app.scope_requirements` | [`GlobusApp::add_scope_requirements`], [`GlobusApp::scope_requirements`] |
//! | `app.token_storage` | [`GlobusApp::token_storage`] |
//!
//! Deliberate differences: apps are `Send + Sync` and run one login at a time; `logout` revokes
//! and removes every stored token (not only those of required resource servers) and forgets
//! the identity, so another user can log in afterwards; `login_required` returns storage and
//! consent-lookup failures as errors, as globus-sdk raises them.

/// The [`GlobusApp`] methods both apps answer from their `core` alike; each app adds `login`.
macro_rules! delegate_to_core {
    () => {
        fn app_name(&self) -> &str {
            &self.core.app_name
        }

        fn client_id(&self) -> &str {
            self.core.client.client_id()
        }

        fn token_storage(&self) -> &Arc<AppTokenStore> {
            &self.core.store
        }

        fn add_scope_requirements(&self, requirements: BTreeMap<String, Vec<Scope>>) {
            self.core.add_scope_requirements(requirements);
        }

        fn scope_requirements(&self) -> BTreeMap<String, Vec<Scope>> {
            self.core.scope_requirements()
        }

        fn authorizer(&self, resource_server: &str) -> Result<Arc<dyn GlobusAuthorizer>, AppError> {
            self.core.authorizer(self, resource_server)
        }

        fn login_required(&self) -> Result<bool, AppError> {
            self.core.login_required()
        }

        fn logout(&self) -> Result<(), AppError> {
            self.core.logout()
        }
    };
}

mod client;
mod config;
mod core;
mod error;
mod login_flow;
#[cfg(feature = "async")]
mod nonblocking;
mod user;

use std::collections::BTreeMap;
use std::sync::Arc;

use globus_authorizers::GlobusAuthorizer;
use globus_scopes::Scope;

pub use client::ClientApp;
pub use config::{
    AppTokenStorage, GlobusAppConfig, LoginFlow, ValidationErrorHandler, resolve_by_login_flow,
};
pub use core::AppTokenStore;
pub use error::AppError;
pub use user::UserApp;

/// What every app does (globus-sdk's `GlobusApp` methods). Object-safe, so a validation-error
/// handler gets the app as `&dyn GlobusApp`.
pub trait GlobusApp: Send + Sync {
    /// The app's name.
    fn app_name(&self) -> &str;

    /// The app's client id.
    fn client_id(&self) -> &str;

    /// The validating storage the app's tokens are in.
    fn token_storage(&self) -> &Arc<AppTokenStore>;

    /// Add scope requirements (appended to those of the same resource server); authorizers
    /// for those resource servers are validated afresh next time.
    fn add_scope_requirements(&self, requirements: BTreeMap<String, Vec<Scope>>);

    /// A copy of the scope requirements, by resource server (`auth.globus.org: openid` is
    /// always there, as in globus-sdk).
    fn scope_requirements(&self) -> BTreeMap<String, Vec<Scope>>;

    /// An authorizer for `resource_server` from valid stored tokens; when they do not
    /// validate, the validation-error handler runs (by default a login flow) and it is tried
    /// once more.
    fn authorizer(&self, resource_server: &str) -> Result<Arc<dyn GlobusAuthorizer>, AppError>;

    /// Log in when `force` or when [`login_required`](Self::login_required), and store the
    /// tokens.
    fn login(&self, force: bool) -> Result<(), AppError>;

    /// Whether the stored tokens fail to meet some requirement, so a login is needed.
    fn login_required(&self) -> Result<bool, AppError>;

    /// Revoke and remove every stored token.
    fn logout(&self) -> Result<(), AppError>;
}
