//! `NativeClient`: fair-research-login's login, load, refresh and logout.

mod authorizers;
mod login;
mod options;
mod tokens;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use globus_authorizers::AuthClient;
use globus_tokens_core::{Clock, TokenData};

use crate::error::{LoginError, Result};
use crate::handlers::CodeHandler;
#[cfg(doc)]
use crate::handlers::{InputCodeHandler, LocalServerCodeHandler};
use crate::storage::LoginTokenStorage;
#[cfg(doc)]
use crate::storage::MultiClientTokenStorage;

pub use authorizers::LoginAuthorizer;
pub use options::{LoginOptions, NativeClientBuilder};

/// Tokens by resource server, as `by_resource_server` gives them.
pub type TokensByResourceServer = BTreeMap<String, TokenData>;

/// fair-research-login's `NativeClient`: log a user in with the native-app (PKCE) flow, keep
/// their tokens, load and refresh them, log out.
///
/// Built with [`NativeClient::builder`]. Defaults follow fair-research-login: app name
/// `"My App"`, storage [`MultiClientTokenStorage`] in `~/.globus-native-apps.cfg` (section =
/// client id), handlers [`LocalServerCodeHandler`] then [`InputCodeHandler`], and an
/// [`AuthClient`] for the client id with the base URL from `GLOBUS_SDK_ENVIRONMENT`.
///
/// ```no_run
/// use globus_native_login::{LoginOptions, NativeClient};
///
/// let client = NativeClient::builder("my-client-id").app_name("My Tool").build()?;
/// let tokens = client.login(&LoginOptions::new()
///     .requested_scopes(["openid", "urn:globus:auth:scope:transfer.api.globus.org:all"])
///     .refresh_tokens(true))?;
/// // Later runs: saved tokens, refreshed (and saved) when expired.
/// let authorizers = client.get_authorizers(&["urn:globus:auth:scope:transfer.api.globus.org:all"])?;
/// # Ok::<(), globus_native_login::LoginError>(())
/// ```
pub struct NativeClient {
    client_id: String,
    app_name: String,
    default_scopes: Vec<String>,
    storage: Option<Arc<dyn LoginTokenStorage>>,
    code_handlers: Vec<Arc<dyn CodeHandler>>,
    auth_client: Arc<AuthClient>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for NativeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeClient")
            .field("client_id", &self.client_id)
            .field("app_name", &self.app_name)
            .field("default_scopes", &self.default_scopes)
            .field("storage", &self.storage)
            .field("code_handlers", &self.code_handlers)
            .field("auth_client", &self.auth_client)
            .finish_non_exhaustive()
    }
}

/// Every scope named in `scopes` (each item may hold several, space-separated).
fn scope_set<S: AsRef<str>>(scopes: &[S]) -> BTreeSet<String> {
    scopes
        .iter()
        .flat_map(|s| {
            s.as_ref()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

impl NativeClient {
    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The application name.
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The default scopes.
    pub fn default_scopes(&self) -> &[String] {
        &self.default_scopes
    }

    /// The token storage, if any.
    pub fn token_storage(&self) -> Option<&Arc<dyn LoginTokenStorage>> {
        self.storage.as_ref()
    }

    /// The Globus Auth client.
    pub fn auth_client(&self) -> &Arc<AuthClient> {
        &self.auth_client
    }

    fn storage(&self) -> Result<&Arc<dyn LoginTokenStorage>> {
        self.storage.as_ref().ok_or(LoginError::StorageDisabled)
    }
}
