//! `app:NAME[?storage=json|sqlite]`: the token file globus-sdk's `GlobusApp` keeps for an app,
//! `~/.globus/app/{client_id}/{app}/[{environment}-]tokens.{json,db}`.
//!
//! The spec names the app; the file also depends on the app's client id and the Globus
//! environment, which the spec does not carry. `StoreSpec::resolve_app` (client id given,
//! environment from `GLOBUS_SDK_ENVIRONMENT`) or `StoreSpec::resolve_app_in` (both explicit,
//! and the directory of apps) locate the file, and only a located app spec opens.

use std::fmt;
use std::path::PathBuf;

use crate::error::SpecError;
#[cfg(feature = "app")]
use crate::spec::StoreSpec;

/// Which of globus-sdk's GlobusApp file storages an `app:` spec names (`?storage=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AppStorage {
    /// `storage=json` (the default, as in globus-sdk): `tokens.json`, JSON format 2.0.
    #[default]
    Json,
    /// `storage=sqlite`: `tokens.db`, `SQLiteTokenStorage`'s layout (schema 2).
    Sqlite,
}

impl AppStorage {
    /// `json` or `sqlite`.
    pub fn name(self) -> &'static str {
        match self {
            AppStorage::Json => "json",
            AppStorage::Sqlite => "sqlite",
        }
    }
}

/// The parts of an `app:` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppSpec {
    /// The app name as given (globus-sdk's `app_name`).
    pub name: String,
    /// `?storage=`: the file format.
    pub storage: AppStorage,
    /// Where the app's file is, once resolved for a client id and environment.
    pub location: Option<AppFile>,
}

/// An `app:` spec's file, located for one client id and Globus environment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppFile {
    /// The app's client id.
    pub client_id: String,
    /// The Globus environment (`production` has no file-name prefix).
    pub environment: String,
    /// The token file.
    pub path: PathBuf,
}

impl AppSpec {
    /// A spec for app `name` in `storage`, not located yet.
    pub fn new(name: impl Into<String>, storage: AppStorage) -> Self {
        AppSpec {
            name: name.into(),
            storage,
            location: None,
        }
    }
}

impl fmt::Display for AppSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app:{}", self.name)?;
        if self.storage != AppStorage::Json {
            write!(f, "?storage={}", self.storage.name())?;
        }
        Ok(())
    }
}

/// How errors name a store: the spec, and for a located `app:` spec its file too (the spec
/// alone does not say where the file is).
pub(crate) fn describe(spec: &crate::spec::StoreSpec) -> String {
    match spec {
        crate::spec::StoreSpec::App(AppSpec {
            location: Some(file),
            ..
        }) => format!("{spec} ({})", file.path.display()),
        crate::spec::StoreSpec::GlobusCli(cli) => {
            format!(
                "globus-cli's storage {} (namespace {})",
                cli.path.display(),
                cli.namespace
            )
        }
        other => other.to_string(),
    }
}

/// Parse the part after `app:`. `text` is the whole spec, for errors.
pub(crate) fn parse_app(text: &str, rest: &str) -> Result<AppSpec, SpecError> {
    let spec = || text.to_owned();
    // The app name runs to the first `?`: names holding `?` need the library API.
    let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut storage = AppStorage::Json;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "storage" => {
                storage = match value.as_ref() {
                    "json" => AppStorage::Json,
                    "sqlite" => AppStorage::Sqlite,
                    other => {
                        return Err(SpecError::BadAppStorage {
                            storage: other.to_owned(),
                            spec: spec(),
                        });
                    }
                }
            }
            other => {
                return Err(SpecError::UnknownAppOption {
                    option: other.to_owned(),
                    spec: spec(),
                });
            }
        }
    }
    #[cfg(feature = "app")]
    check_name(text, name)?;
    Ok(AppSpec::new(name, storage))
}

/// globus-sdk refuses names that make an empty or reserved directory name; so does parsing.
#[cfg(feature = "app")]
fn check_name(text: &str, name: &str) -> Result<(), SpecError> {
    use globus_app::paths::{AppPathError, slugify_app_name};
    match slugify_app_name(name) {
        Ok(_) => Ok(()),
        Err(AppPathError::ReservedAppName { slug, .. }) => Err(SpecError::ReservedAppName {
            slug,
            spec: text.to_owned(),
        }),
        Err(_) => Err(SpecError::EmptyAppName {
            spec: text.to_owned(),
        }),
    }
}

#[cfg(feature = "app")]
#[cfg_attr(docsrs, doc(cfg(feature = "app")))]
impl StoreSpec {
    /// Locate an `app:` spec's file for the app's `client_id`, in the Globus environment of
    /// `GLOBUS_SDK_ENVIRONMENT` and under the home directory, read through `env` (exactly as
    /// globus-sdk's `GlobusApp` does); other specs are returned unchanged.
    ///
    /// An `app:` spec without a client id is [`SpecError::NoAppClientId`]; one that cannot be
    /// located (a client id that is not one directory name, no home directory) is
    /// [`SpecError::AppLocation`].
    ///
    /// ```
    /// use globus_authorizers::SdkEnv;
    /// use globus_tokens_spec::StoreSpec;
    ///
    /// let env = SdkEnv::from_pairs([("HOME", "/home/me"), ("GLOBUS_SDK_ENVIRONMENT", "sandbox")]);
    /// let spec: StoreSpec = "app:My App?storage=sqlite".parse()?;
    /// let located = spec.resolve_app(Some("cid"), &env)?;
    /// # #[cfg(unix)]
    /// assert_eq!(located.file().unwrap(), std::path::Path::new("/home/me/.globus/app/cid/my-app/sandbox-tokens.db"));
    /// assert_eq!(located.to_string(), "app:My App?storage=sqlite");
    /// # Ok::<(), globus_tokens_spec::SpecError>(())
    /// ```
    pub fn resolve_app(
        &self,
        client_id: Option<&str>,
        env: &globus_authorizers::SdkEnv,
    ) -> Result<StoreSpec, SpecError> {
        let StoreSpec::App(_) = self else {
            return Ok(self.clone());
        };
        let root = globus_app::paths::default_root(env).map_err(|err| SpecError::AppLocation {
            reason: err.to_string(),
            spec: self.to_string(),
        })?;
        self.resolve_app_in(client_id, &globus_app::paths::environment_name(env), &root)
    }

    /// Locate an `app:` spec's file under `root` (the directory of apps, `~/.globus/app` by
    /// default) for `client_id` in `environment`; other specs are returned unchanged.
    pub fn resolve_app_in(
        &self,
        client_id: Option<&str>,
        environment: &str,
        root: &std::path::Path,
    ) -> Result<StoreSpec, SpecError> {
        let StoreSpec::App(app) = self else {
            return Ok(self.clone());
        };
        let Some(client_id) = client_id.filter(|id| !id.is_empty()) else {
            return Err(SpecError::NoAppClientId {
                spec: self.to_string(),
            });
        };
        let location =
            globus_app::paths::AppLocation::in_root(root, client_id, &app.name, environment)
                .map_err(|err| SpecError::AppLocation {
                    reason: err.to_string(),
                    spec: self.to_string(),
                })?;
        let kind = match app.storage {
            AppStorage::Json => globus_app::AppStorageKind::Json,
            AppStorage::Sqlite => globus_app::AppStorageKind::Sqlite,
        };
        let path = location
            .token_file(kind)
            .ok_or_else(|| SpecError::AppLocation {
                reason: format!("{kind} storage has no file"),
                spec: self.to_string(),
            })?;
        Ok(StoreSpec::App(AppSpec {
            location: Some(AppFile {
                client_id: client_id.to_owned(),
                environment: environment.to_owned(),
                path,
            }),
            ..app.clone()
        }))
    }
}

#[cfg(all(test, feature = "app"))]
mod tests {
    use std::path::Path;

    use globus_authorizers::SdkEnv;

    use super::*;

    #[test]
    fn parses_name_and_storage() {
        assert_eq!(
            "app:My App".parse(),
            Ok(StoreSpec::App(AppSpec::new("My App", AppStorage::Json)))
        );
        assert_eq!(
            "app:tool?storage=sqlite".parse(),
            Ok(StoreSpec::App(AppSpec::new("tool", AppStorage::Sqlite)))
        );
        assert_eq!(
            "app:tool?storage=json"
                .parse::<StoreSpec>()
                .unwrap()
                .to_string(),
            "app:tool"
        );
        let spec: StoreSpec = "app:a.b:c".parse().unwrap();
        assert_eq!(spec.scheme(), "app");
        assert!(!spec.has_namespaces());
        assert!(spec.can_list());
        assert_eq!(spec.file(), None, "not located yet");
    }

    #[test]
    fn bad_app_specs_are_typed_errors_naming_the_spec() {
        type Check = fn(&SpecError) -> bool;
        let cases: [(&str, Check); 7] = [
            ("app:", |e| matches!(e, SpecError::EmptyAppName { .. })),
            ("app:\u{200b}", |e| {
                matches!(e, SpecError::EmptyAppName { .. })
            }),
            (
                "app:CON",
                |e| matches!(e, SpecError::ReservedAppName { slug, .. } if slug == "con"),
            ),
            ("app:lpt1?storage=sqlite", |e| {
                matches!(e, SpecError::ReservedAppName { .. })
            }),
            (
                "app:x?storage=memory",
                |e| matches!(e, SpecError::BadAppStorage { storage, .. } if storage == "memory"),
            ),
            ("app:x?storage=yaml", |e| {
                matches!(e, SpecError::BadAppStorage { .. })
            }),
            (
                "app:x?namespace=foo",
                |e| matches!(e, SpecError::UnknownAppOption { option, .. } if option == "namespace"),
            ),
        ];
        for (bad, check) in cases {
            let err = bad.parse::<StoreSpec>().unwrap_err();
            assert!(check(&err), "{bad}: {err:?}");
            assert!(
                err.to_string().contains(&format!("{bad:?}")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn resolving_needs_a_client_id_and_places_the_file_like_globus_sdk() {
        let json: StoreSpec = "app:My App".parse().unwrap();
        let root = Path::new("/apps");
        for missing in [None, Some("")] {
            let err = json
                .resolve_app_in(missing, "production", root)
                .unwrap_err();
            assert!(matches!(err, SpecError::NoAppClientId { .. }), "{err}");
            assert!(err.to_string().contains("client id"), "{err}");
        }
        let located = json
            .resolve_app_in(Some("cid"), "production", root)
            .unwrap();
        assert_eq!(
            located.file(),
            Some(Path::new("/apps/cid/my-app/tokens.json"))
        );
        let StoreSpec::App(AppSpec {
            location: Some(file),
            ..
        }) = &located
        else {
            panic!("{located:?}")
        };
        assert_eq!(
            (file.client_id.as_str(), file.environment.as_str()),
            ("cid", "production")
        );
        let sqlite: StoreSpec = "app:My App?storage=sqlite".parse().unwrap();
        assert_eq!(
            sqlite
                .resolve_app_in(Some("cid"), "preview", root)
                .unwrap()
                .file(),
            Some(Path::new("/apps/cid/my-app/preview-tokens.db"))
        );
        assert!(matches!(
            json.resolve_app_in(Some("../x"), "production", root),
            Err(SpecError::AppLocation { .. })
        ));
        // Other specs pass through.
        let other: StoreSpec = "sqlite:/x.db".parse().unwrap();
        assert_eq!(
            other.resolve_app_in(None, "production", root),
            Ok(other.clone())
        );
        assert_eq!(
            other.resolve_app(None, &SdkEnv::from_pairs([("HOME", "/h")])),
            Ok(other)
        );
    }

    #[cfg(unix)]
    #[test]
    fn resolve_reads_the_environment_through_sdk_env() {
        let env = SdkEnv::from_pairs([("HOME", "/home/u"), ("GLOBUS_SDK_ENVIRONMENT", "test")]);
        let spec: StoreSpec = "app:x".parse().unwrap();
        assert_eq!(
            spec.resolve_app(Some("cid"), &env).unwrap().file(),
            Some(Path::new("/home/u/.globus/app/cid/x/test-tokens.json"))
        );
        let production = SdkEnv::from_pairs([("HOME", "/home/u")]);
        assert_eq!(
            spec.resolve_app(Some("cid"), &production).unwrap().file(),
            Some(Path::new("/home/u/.globus/app/cid/x/tokens.json"))
        );
    }

    #[test]
    fn located_specs_compare_by_file() {
        let root = Path::new("/apps");
        let a = "app:My App".parse::<StoreSpec>().unwrap();
        let b = "app:my app".parse::<StoreSpec>().unwrap();
        let resolved = |s: &StoreSpec, id| s.resolve_app_in(Some(id), "production", root).unwrap();
        assert!(resolved(&a, "cid").same_store(&resolved(&b, "cid")));
        assert!(!resolved(&a, "cid").same_store(&resolved(&a, "other")));
        assert!(
            resolved(&a, "cid").same_store(&StoreSpec::Json(root.join("cid/my-app/tokens.json")))
        );
        assert!(!a.same_store(&b), "unlocated specs name no file");
    }
}
