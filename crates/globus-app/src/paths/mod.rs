//! Where a GlobusApp keeps its tokens, computed exactly as globus-sdk 3.65 computes it
//! (`_default_globus_app_filepath` in `globus_sdk/tokenstorage/v2/base.py`):
//!
//! | platform | token file |
//! |---|---|
//! | Linux, macOS | `~/.globus/app/{client_id}/{slug}/[{environment}-]tokens.{json,db}` |
//! | Windows | `%LOCALAPPDATA%\globus\app\{client_id}\{slug}\[{environment}-]tokens.{json,db}` |
//!
//! `slug` is the app name made safe ([`slugify_app_name`]); the environment is
//! `GLOBUS_SDK_ENVIRONMENT` ([`environment_name`]), and `production` has no prefix. On Windows
//! `%APPDATA%` is used when `%LOCALAPPDATA%` is not set, and `~\AppData\Local` when neither is.
//! `.json` is `JSONTokenStorage`'s file, `.db` `SQLiteTokenStorage`'s.
//!
//! ```
//! use globus_app::paths::AppLocation;
//! use globus_app::AppStorageKind;
//! use globus_authorizers::SdkEnv;
//!
//! let env = SdkEnv::from_pairs([("HOME", "/home/me"), ("GLOBUS_SDK_ENVIRONMENT", "sandbox")]);
//! let location = AppLocation::from_env("61338d24-54d5-408f-a10d-66c06b59f6d2", "My App", &env)?;
//! # #[cfg(unix)]
//! assert_eq!(
//!     location.token_file(AppStorageKind::Json).unwrap(),
//!     std::path::Path::new("/home/me/.globus/app/61338d24-54d5-408f-a10d-66c06b59f6d2/my-app/sandbox-tokens.json")
//! );
//! # Ok::<(), globus_app::paths::AppPathError>(())
//! ```

mod slug;

use std::path::{Path, PathBuf};

use globus_authorizers::{ENVIRONMENT_VAR, SdkEnv};

pub use slug::slugify_app_name;

use crate::store::AppStorageKind;

/// The environment globus-sdk assumes when `GLOBUS_SDK_ENVIRONMENT` is not set; its token files
/// have no prefix.
pub const PRODUCTION: &str = "production";

/// The app name globus-sdk's `GlobusApp` uses when given none.
pub const DEFAULT_APP_NAME: &str = "Unnamed Globus App";

/// Why an app's token location cannot be computed. App names, client ids and environment names
/// are not secrets and are named in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppPathError {
    /// The app name is empty once made safe (globus-sdk: "App name results in the empty
    /// string").
    #[error("app name {name:?} results in the empty string; choose a different name")]
    EmptyAppName {
        /// The name as given.
        name: String,
    },
    /// The app name, made safe, is a name Windows reserves (globus-sdk: "App name results in a
    /// reserved filename"), refused on every platform as globus-sdk does.
    #[error("app name {name:?} results in a reserved filename ({slug:?}); choose a different name")]
    ReservedAppName {
        /// The name as given.
        name: String,
        /// What it became.
        slug: String,
    },
    /// A client id that would not be one directory name (globus-sdk does not check; client
    /// ids are UUIDs).
    #[error("client id {client_id:?} cannot name a directory: {reason}")]
    InvalidClientId {
        /// The client id as given.
        client_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An environment name that would not fit in a file name.
    #[error("Globus environment {environment:?} cannot be part of a file name: {reason}")]
    InvalidEnvironment {
        /// The environment as given.
        environment: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No home (or application data) directory could be found.
    #[error("cannot find the home directory for the app's token file: set {variables}")]
    NoHomeDirectory {
        /// The variables that would tell it.
        variables: &'static str,
    },
}

/// The Globus environment globus-sdk's `GlobusAppConfig` uses by default:
/// `GLOBUS_SDK_ENVIRONMENT`, read through `env` (an empty value counts as unset, as everywhere
/// in [`SdkEnv`]), else `production`. Not checked against the known environments: like
/// globus-sdk, any name makes a file name, and the Globus Auth URL is checked where it is used.
///
/// ```
/// use globus_authorizers::SdkEnv;
/// assert_eq!(globus_app::paths::environment_name(&SdkEnv::from_pairs([("GLOBUS_SDK_ENVIRONMENT", "preview")])), "preview");
/// assert_eq!(globus_app::paths::environment_name(&SdkEnv::from_pairs([("GLOBUS_SDK_ENVIRONMENT", "")])), "production");
/// ```
pub fn environment_name(env: &SdkEnv) -> String {
    env.var(ENVIRONMENT_VAR)
        .unwrap_or_else(|| PRODUCTION.to_owned())
}

/// The directory all apps' token directories are in: `~/.globus/app`, or on Windows
/// `%LOCALAPPDATA%\globus\app` (else `%APPDATA%\globus\app`, else `~\AppData\Local\globus\app`).
///
/// Variables are read through `env` (so tests can inject them; empty counts as unset); the home
/// directory is `HOME` (Windows: `USERPROFILE`, else `HOMEDRIVE` + `HOMEPATH`), else the
/// operating system's record of the user's home.
pub fn default_root(env: &SdkEnv) -> Result<PathBuf, AppPathError> {
    let convention = if cfg!(windows) {
        Convention::Windows
    } else {
        Convention::Posix
    };
    let root = root_of(convention, &|name| env.var(name), &|| std::env::home_dir())?;
    Ok(root.to_path_buf())
}

/// Where one app's tokens are: the directory `ROOT/{client_id}/{slug}` and the file name
/// `[{environment}-]tokens.EXT`. Made by [`AppLocation::from_env`] (the default root and
/// environment), [`AppLocation::new`] (an explicit environment) or [`AppLocation::in_root`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLocation {
    client_id: String,
    app_name: String,
    slug: String,
    environment: String,
    dir: PathBuf,
}

impl AppLocation {
    /// The location globus-sdk uses for `client_id`'s app `app_name`, with the environment and
    /// home directory read through `env`.
    pub fn from_env(client_id: &str, app_name: &str, env: &SdkEnv) -> Result<Self, AppPathError> {
        Self::new(client_id, app_name, &environment_name(env), env)
    }

    /// The location in an explicit Globus `environment`, under [`default_root`].
    pub fn new(
        client_id: &str,
        app_name: &str,
        environment: &str,
        env: &SdkEnv,
    ) -> Result<Self, AppPathError> {
        Self::in_root(&default_root(env)?, client_id, app_name, environment)
    }

    /// The location under `root` instead of the default one (for tests, or a program that keeps
    /// its apps elsewhere).
    ///
    /// ```
    /// use globus_app::{AppStorageKind, paths::AppLocation};
    /// let location = AppLocation::in_root("/srv/apps".as_ref(), "cid", "My.App", "production")?;
    /// assert_eq!(location.slug(), "my-app");
    /// assert_eq!(location.token_file(AppStorageKind::Sqlite).unwrap(), std::path::Path::new("/srv/apps/cid/my-app/tokens.db"));
    /// assert_eq!(location.token_file(AppStorageKind::Memory), None);
    /// # Ok::<(), globus_app::paths::AppPathError>(())
    /// ```
    pub fn in_root(
        root: &Path,
        client_id: &str,
        app_name: &str,
        environment: &str,
    ) -> Result<Self, AppPathError> {
        check_component(client_id).map_err(|reason| AppPathError::InvalidClientId {
            client_id: client_id.to_owned(),
            reason,
        })?;
        check_component(environment).map_err(|reason| AppPathError::InvalidEnvironment {
            environment: environment.to_owned(),
            reason,
        })?;
        let slug = slugify_app_name(app_name)?;
        let dir = root.join(client_id).join(&slug);
        Ok(AppLocation {
            client_id: client_id.to_owned(),
            app_name: app_name.to_owned(),
            slug,
            environment: environment.to_owned(),
            dir,
        })
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The app name as given.
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// The app name made safe: the directory name.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The Globus environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The app's directory, `ROOT/{client_id}/{slug}`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `tokens`, or `{environment}-tokens` outside production.
    pub fn file_stem(&self) -> String {
        file_stem(&self.environment)
    }

    /// The token file of a file storage (`tokens.json`, `tokens.db`); `None` for memory.
    pub fn token_file(&self, kind: AppStorageKind) -> Option<PathBuf> {
        let extension = kind.file_format()?;
        Some(self.dir.join(format!("{}.{extension}", self.file_stem())))
    }
}

fn file_stem(environment: &str) -> String {
    if environment == PRODUCTION {
        "tokens".to_owned()
    } else {
        format!("{environment}-tokens")
    }
}

/// A client id or environment must be one plain file-name component: no separators, not `.`
/// or `..`, no NUL.
fn check_component(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value == "." || value == ".." {
        return Err("it is a relative directory name");
    }
    if value.contains(['/', '\\', '\0']) {
        return Err("it holds a path separator or NUL");
    }
    Ok(())
}

/// Path conventions: the running platform's, and (in tests) the other one's, so the Windows
/// rules are checked everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Convention {
    Posix,
    Windows,
}

/// A root directory as a base and the components below it, joined only at the end so tests
/// can render it with either separator.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Root {
    base: PathBuf,
    below: &'static [&'static str],
}

impl Root {
    fn to_path_buf(&self) -> PathBuf {
        let mut path = self.base.clone();
        path.extend(self.below);
        path
    }
}

fn root_of(
    convention: Convention,
    var: &dyn Fn(&str) -> Option<String>,
    os_home: &dyn Fn() -> Option<PathBuf>,
) -> Result<Root, AppPathError> {
    match convention {
        Convention::Posix => {
            let home = var("HOME")
                .map(PathBuf::from)
                .or_else(os_home)
                .ok_or(AppPathError::NoHomeDirectory { variables: "HOME" })?;
            Ok(Root {
                base: home,
                below: &[".globus", "app"],
            })
        }
        Convention::Windows => {
            if let Some(data) = var("LOCALAPPDATA").or_else(|| var("APPDATA")) {
                return Ok(Root {
                    base: PathBuf::from(data),
                    below: &["globus", "app"],
                });
            }
            // ntpath.expanduser: USERPROFILE, else HOMEDRIVE + HOMEPATH.
            let home = var("USERPROFILE")
                .or_else(|| {
                    var("HOMEPATH").map(|path| var("HOMEDRIVE").unwrap_or_default() + &path)
                })
                .map(PathBuf::from)
                .or_else(os_home)
                .ok_or(AppPathError::NoHomeDirectory {
                    variables: "LOCALAPPDATA or USERPROFILE",
                })?;
            Ok(Root {
                base: home,
                below: &["AppData", "Local", "globus", "app"],
            })
        }
    }
}

#[cfg(test)]
mod tests;
