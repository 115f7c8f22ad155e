//! `globus-cli[:PROFILE]`: the login globus-cli 3.x keeps, where and as globus-cli keeps it.
//!
//! globus-cli (`globus_cli/login_manager/storage.py`, unchanged from 3.0 to 3.44) keeps its
//! tokens in a globus-sdk `SQLiteAdapter` file, `~/.globus/cli/storage.db` (on Windows
//! `%LOCALAPPDATA%\globus\cli\storage.db`), in namespace
//! `userprofile/{environment}[/{GLOBUS_PROFILE}]`, or `clientprofile/{environment}/{client_id}`
//! when `GLOBUS_CLI_CLIENT_ID` and `GLOBUS_CLI_CLIENT_SECRET` log the CLI in as a client. The
//! environment is `GLOBUS_SDK_ENVIRONMENT` (default `production`). Its user tokens belong to a
//! confidential client globus-cli registered from its template; the client's id and secret are
//! in the same file, config `auth_client_data` of the same namespace, and renewal uses them.
//! Before 3.0, globus-cli kept tokens in `~/.globus.cfg`; 3.x revokes those, so they are not
//! read here.
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")] {
//! use globus_tokens_spec::{OpenMode, StoreSpec};
//!
//! let spec: StoreSpec = "globus-cli".parse()?;
//! let StoreSpec::GlobusCli(cli) = &spec else { unreachable!() };
//! let store = spec.open("DEFAULT", OpenMode::Existing)?; // globus-cli's namespace
//! let lookup = |name: &str| std::env::var(name).ok();
//! if let Some(client) = cli.client(&*store, &lookup)? {
//!     // Renew with `AuthClient::builder(client.client_id).client_secret(client.client_secret)`
//!     // and `StoreRenewal::renew(&*store, "transfer.api.globus.org", None)`.
//!     println!("globus-cli's client: {}", client.client_id);
//! }
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

use globus_tokens_core::{Secret, TokenStorage};

use crate::error::SpecError;

/// The config entry (in the login's namespace) holding globus-cli's templated client.
pub const GLOBUS_CLI_CLIENT_CONFIG: &str = "auth_client_data";

/// A `globus-cli[:PROFILE]` spec, located when parsed from the environment as globus-cli
/// locates its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GlobusCliSpec {
    /// The profile the spec names (`globus-cli:PROFILE`); it wins over `GLOBUS_PROFILE`.
    pub spec_profile: Option<String>,
    /// The storage file: `~/.globus/cli/storage.db`.
    pub path: PathBuf,
    /// The Globus environment: `GLOBUS_SDK_ENVIRONMENT`, default `production`.
    pub environment: String,
    /// The profile in use: the spec's, else `GLOBUS_PROFILE` (not for client logins).
    pub profile: Option<String>,
    /// `GLOBUS_CLI_CLIENT_ID` when the CLI is logged in as a client.
    pub client_login: Option<String>,
    /// The namespace globus-cli uses.
    pub namespace: String,
}

/// The client globus-cli renews its tokens with.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GlobusCliClient {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// Where it came from.
    pub kind: GlobusCliClientKind,
}

impl std::fmt::Debug for GlobusCliClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobusCliClient")
            .field("client_id", &self.client_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Where a [`GlobusCliClient`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GlobusCliClientKind {
    /// The confidential client globus-cli registered for this login (config
    /// `auth_client_data`); user tokens are renewed with their refresh tokens.
    Templated,
    /// `GLOBUS_CLI_CLIENT_ID` / `GLOBUS_CLI_CLIENT_SECRET`: tokens are renewed with client
    /// credentials.
    ClientLogin,
}

impl GlobusCliSpec {
    /// Locate globus-cli's storage for `spec_profile`, reading the environment through
    /// `lookup` (`HOME`, `LOCALAPPDATA`/`APPDATA` on Windows, `GLOBUS_SDK_ENVIRONMENT`,
    /// `GLOBUS_PROFILE`, `GLOBUS_CLI_CLIENT_ID`, `GLOBUS_CLI_CLIENT_SECRET`). `text` is the
    /// spec as given, for errors.
    pub fn resolve(
        text: &str,
        spec_profile: Option<String>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SpecError> {
        let var = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let environment = var("GLOBUS_SDK_ENVIRONMENT").unwrap_or_else(|| "production".to_owned());
        let client_login = match (var("GLOBUS_CLI_CLIENT_ID"), var("GLOBUS_CLI_CLIENT_SECRET")) {
            (Some(id), Some(_)) => Some(id),
            (None, None) => None,
            _ => {
                return Err(SpecError::GlobusCli {
                    spec: text.to_owned(),
                    reason: "both GLOBUS_CLI_CLIENT_ID and GLOBUS_CLI_CLIENT_SECRET must be set \
                             to use a client identity (as globus-cli requires); set both, or \
                             unset them to use the user's login"
                        .to_owned(),
                });
            }
        };
        let profile = spec_profile.clone().or_else(|| var("GLOBUS_PROFILE"));
        let namespace = match (&client_login, &profile) {
            (Some(client_id), _) => format!("clientprofile/{environment}/{client_id}"),
            (None, Some(profile)) => format!("userprofile/{environment}/{profile}"),
            (None, None) => format!("userprofile/{environment}"),
        };
        Ok(GlobusCliSpec {
            spec_profile,
            path: data_dir(&var).join("storage.db"),
            environment,
            profile,
            client_login,
            namespace,
        })
    }

    /// The client that renews this login's tokens: the client login's credentials from the
    /// environment (`lookup`), else globus-cli's templated client from the storage's config.
    /// `None` when the storage has no such client (globus-cli never logged in here).
    pub fn client(
        &self,
        store: &dyn TokenStorage,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> globus_tokens_core::Result<Option<GlobusCliClient>> {
        if let Some(client_id) = &self.client_login {
            let Some(secret) = lookup("GLOBUS_CLI_CLIENT_SECRET").filter(|s| !s.is_empty()) else {
                return Ok(None);
            };
            return Ok(Some(GlobusCliClient {
                client_id: client_id.clone(),
                client_secret: Secret::new(secret),
                kind: GlobusCliClientKind::ClientLogin,
            }));
        }
        let Some(config) = store.as_config_storage() else {
            return Ok(None);
        };
        let Some(data) = config.read_config(GLOBUS_CLI_CLIENT_CONFIG)? else {
            return Ok(None);
        };
        let field = |name: &str| data.get(name).and_then(serde_json::Value::as_str);
        match (field("client_id"), field("client_secret")) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(Some(GlobusCliClient {
                    client_id: id.to_owned(),
                    client_secret: Secret::new(secret),
                    kind: GlobusCliClientKind::Templated,
                }))
            }
            _ => Err(globus_tokens_core::Error::invalid_data(
                format!(
                    "{} config {GLOBUS_CLI_CLIENT_CONFIG} (namespace {})",
                    self.path.display(),
                    self.namespace
                ),
                "expected an object with string fields client_id and client_secret",
            )),
        }
    }

    /// What to say when this login is missing: run `globus login` (with the profile and
    /// environment in use).
    pub fn login_hint(&self) -> String {
        let mut command = String::new();
        if self.environment != "production" {
            command.push_str(&format!("GLOBUS_SDK_ENVIRONMENT={} ", self.environment));
        }
        if let Some(profile) = &self.profile {
            command.push_str(&format!("GLOBUS_PROFILE={profile} "));
        }
        command.push_str("globus login");
        format!("run `{command}`")
    }
}

/// globus-cli's data directory (`_get_data_dir`).
fn data_dir(var: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if cfg!(windows) {
        let base = var("LOCALAPPDATA")
            .or_else(|| var("APPDATA"))
            .map(PathBuf::from)
            .unwrap_or_else(|| home(var).join("AppData").join("Local"));
        base.join("globus").join("cli")
    } else {
        home(var).join(".globus").join("cli")
    }
}

fn home(var: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    var("HOME")
        .or_else(|| var("USERPROFILE"))
        .map_or_else(|| PathBuf::from("~"), PathBuf::from)
}

impl std::fmt::Display for GlobusCliSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.spec_profile {
            Some(profile) => write!(f, "globus-cli:{profile}"),
            None => f.write_str("globus-cli"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)], profile: Option<&str>) -> Result<GlobusCliSpec, SpecError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        GlobusCliSpec::resolve("globus-cli", profile.map(str::to_owned), &|name| {
            vars.get(name).cloned()
        })
    }

    #[cfg(not(windows))]
    #[test]
    fn namespaces_and_path_as_globus_cli_resolves_them() {
        let spec = resolve(&[("HOME", "/h")], None).unwrap();
        assert_eq!(spec.path, PathBuf::from("/h/.globus/cli/storage.db"));
        assert_eq!(spec.namespace, "userprofile/production");
        let spec = resolve(
            &[("HOME", "/h"), ("GLOBUS_SDK_ENVIRONMENT", "sandbox")],
            None,
        )
        .unwrap();
        assert_eq!(spec.namespace, "userprofile/sandbox");
        let spec = resolve(
            &[
                ("HOME", "/h"),
                ("GLOBUS_SDK_ENVIRONMENT", "test"),
                ("GLOBUS_PROFILE", "me"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(spec.namespace, "userprofile/test/me");
        // The spec's profile wins over GLOBUS_PROFILE.
        let spec = resolve(&[("HOME", "/h"), ("GLOBUS_PROFILE", "me")], Some("work")).unwrap();
        assert_eq!(spec.namespace, "userprofile/production/work");
        // Client logins ignore the profile.
        let spec = resolve(
            &[
                ("HOME", "/h"),
                ("GLOBUS_PROFILE", "me"),
                ("GLOBUS_CLI_CLIENT_ID", "926cc9c6"),
                ("GLOBUS_CLI_CLIENT_SECRET", "s"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(spec.namespace, "clientprofile/production/926cc9c6");
        assert!(!format!("{spec:?}").contains("\"s\""));
    }

    #[test]
    fn half_a_client_login_is_refused_as_globus_cli_refuses_it() {
        let err = resolve(&[("HOME", "/h"), ("GLOBUS_CLI_CLIENT_ID", "x")], None).unwrap_err();
        assert!(
            err.to_string().contains("GLOBUS_CLI_CLIENT_SECRET"),
            "{err}"
        );
    }

    #[test]
    fn the_hint_names_the_environment_and_profile() {
        let spec = resolve(&[("HOME", "/h")], None).unwrap();
        assert_eq!(spec.login_hint(), "run `globus login`");
        let spec = resolve(
            &[("HOME", "/h"), ("GLOBUS_SDK_ENVIRONMENT", "sandbox")],
            Some("p"),
        )
        .unwrap();
        assert_eq!(
            spec.login_hint(),
            "run `GLOBUS_SDK_ENVIRONMENT=sandbox GLOBUS_PROFILE=p globus login`"
        );
    }
}
