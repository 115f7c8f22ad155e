//! Opening the store a spec names.

use globus_tokens_core::{DEFAULT_NAMESPACE, TokenStorage};

use crate::error::OpenError;
use crate::spec::StoreSpec;
#[cfg(feature = "dynamodb")]
use crate::spec::{DynamoDbLayout, DynamoDbLease, DynamoDbSpec};

/// Whether opening may create the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenMode {
    /// Read or update existing tokens: a missing file store is [`OpenError::NotFound`] (an
    /// empty SQLite file [`OpenError::Empty`]) and nothing is created. A DynamoDB table must
    /// exist in both modes.
    Existing,
    /// Write new tokens: a missing file store is created (with owner-only permissions).
    Create,
}

impl StoreSpec {
    /// Open the store, bound to `namespace` (`DEFAULT` for stores without namespaces).
    ///
    /// A DynamoDB store is checked: the table must exist with the key schema of the layout. An
    /// `app:` store must have been located for a client id (`StoreSpec::resolve_app`) or it is
    /// [`OpenError::Spec`] with [`SpecError::NoAppClientId`](crate::SpecError::NoAppClientId).
    pub fn open(
        &self,
        namespace: &str,
        mode: OpenMode,
    ) -> Result<Box<dyn TokenStorage>, OpenError> {
        if let Some(feature) = self.disabled_feature() {
            return Err(OpenError::SchemeDisabled {
                spec: self.to_string(),
                feature,
            });
        }
        if let StoreSpec::App(app) = self
            && app.location.is_none()
        {
            return Err(OpenError::Spec(crate::SpecError::NoAppClientId {
                spec: self.to_string(),
            }));
        }
        // globus-cli's login has its own namespace; another one must be asked for by name.
        let (namespace, mode) = match self {
            StoreSpec::GlobusCli(cli) if namespace == DEFAULT_NAMESPACE => {
                (cli.namespace.as_str(), OpenMode::Existing)
            }
            // Never created: the file is globus-cli's.
            StoreSpec::GlobusCli(_) => (namespace, OpenMode::Existing),
            _ => (namespace, mode),
        };
        if !self.has_namespaces() && namespace != DEFAULT_NAMESPACE {
            return Err(OpenError::NoNamespaces {
                spec: crate::app::describe(self),
                namespace: namespace.to_owned(),
            });
        }
        if mode == OpenMode::Existing
            && let Some(file) = self.file()
        {
            match std::fs::metadata(file) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    return Err(OpenError::NotFound {
                        spec: crate::app::describe(self),
                    });
                }
                // Opening an empty file would write SQLite's schema into it: a read must not.
                Ok(meta) if meta.len() == 0 && self.is_sqlite() => {
                    return Err(OpenError::Empty {
                        spec: crate::app::describe(self),
                    });
                }
                _ => {}
            }
        }
        self.open_backend(namespace, mode)
            .map_err(|source| self.store_error(source))
    }

    /// Whether the store is an SQLite file (`sqlite:`, `app:...?storage=sqlite`).
    fn is_sqlite(&self) -> bool {
        match self {
            StoreSpec::Sqlite(_) | StoreSpec::GlobusCli(_) => true,
            StoreSpec::App(app) => app.storage == crate::AppStorage::Sqlite,
            _ => false,
        }
    }

    fn store_error(&self, source: globus_tokens_core::Error) -> OpenError {
        #[allow(unused_mut)]
        let mut hint = String::new();
        #[cfg(feature = "dynamodb")]
        if let StoreSpec::DynamoDb(_) = self {
            use globus_tokens_dynamodb::ErrorKind;
            hint = match globus_tokens_dynamodb::error_kind(&source) {
                Some(ErrorKind::NoRegion) => "; or add ?region=REGION to the store".to_owned(),
                Some(ErrorKind::TableNotFound) => {
                    format!("; create it with `globus-tokens --store '{self}' create-table`")
                }
                _ => String::new(),
            };
        }
        OpenError::Store {
            spec: crate::app::describe(self),
            hint,
            source: Box::new(source),
        }
    }

    #[allow(unused_variables)]
    fn open_backend(
        &self,
        namespace: &str,
        mode: OpenMode,
    ) -> Result<Box<dyn TokenStorage>, globus_tokens_core::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            StoreSpec::Sqlite(path) => Ok(Box::new(
                // The check above gives the friendly error; this one closes the window in which
                // the file could vanish or be emptied after it, so a read never creates a schema.
                globus_tokens_sqlite::SqliteAdapter::builder(path)
                    .namespace(namespace)
                    .create_if_missing(mode == OpenMode::Create)
                    .open()?,
            )),
            #[cfg(feature = "sqlite")]
            StoreSpec::GlobusCli(cli) => Ok(Box::new(
                globus_tokens_sqlite::SqliteAdapter::builder(&cli.path)
                    .namespace(namespace)
                    .create_if_missing(false)
                    .open()?,
            )),
            #[cfg(feature = "json")]
            StoreSpec::Json(path) => Ok(Box::new(
                globus_tokens_json::JsonTokenStorage::new(path).with_namespace(namespace),
            )),
            #[cfg(feature = "json")]
            StoreSpec::Json1(path) => Ok(Box::new(globus_tokens_json::SimpleJsonFileAdapter::new(
                path,
            ))),
            #[cfg(feature = "frl")]
            StoreSpec::Frl { path, client_id } => Ok(Box::new(
                globus_native_login::MultiClientTokenStorage::new(path, client_id.as_str()),
            )),
            #[cfg(feature = "dynamodb")]
            StoreSpec::DynamoDb(spec) => Ok(Box::new(dynamodb_builder(spec, namespace).open()?)),
            #[cfg(feature = "app")]
            StoreSpec::App(crate::AppSpec {
                location: Some(file),
                storage,
                ..
            }) => globus_app::open_app_token_file(
                &file.path,
                match storage {
                    crate::AppStorage::Sqlite => globus_app::AppStorageKind::Sqlite,
                    _ => globus_app::AppStorageKind::Json,
                },
                mode == OpenMode::Create,
            ),
            // Unreachable: `open` checked the feature (and that an app spec is located) first.
            #[allow(unreachable_patterns)]
            other => Err(globus_tokens_core::Error::Unsupported {
                backend: "store spec",
                operation: "opening",
                detail: Some(format!("{other}: its cargo feature is not enabled")),
            }),
        }
    }

    /// The DynamoDB storage builder a `dynamodb:` spec describes (not connected yet), for
    /// table administration; `None` for other schemes.
    #[cfg(feature = "dynamodb")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
    pub fn dynamodb_builder(
        &self,
        namespace: &str,
    ) -> Option<globus_tokens_dynamodb::DynamoDbStorageBuilder> {
        match self {
            StoreSpec::DynamoDb(spec) => Some(dynamodb_builder(spec, namespace)),
            _ => None,
        }
    }

    /// [`StoreSpec::open`]'s error for a failure of the store itself, with the same hints
    /// (such as `?region=` for a DynamoDB store without a region).
    pub fn open_error(&self, source: globus_tokens_core::Error) -> OpenError {
        self.store_error(source)
    }
}

#[cfg(feature = "dynamodb")]
fn dynamodb_builder(
    spec: &DynamoDbSpec,
    namespace: &str,
) -> globus_tokens_dynamodb::DynamoDbStorageBuilder {
    let mut builder = globus_tokens_dynamodb::DynamoDbStorage::builder(spec.table.as_str())
        .namespace(namespace)
        .layout(match spec.layout {
            DynamoDbLayout::Composite => globus_tokens_dynamodb::ItemLayout::Composite,
            DynamoDbLayout::Seed => globus_tokens_dynamodb::ItemLayout::Seed,
        });
    if let Some(region) = &spec.region {
        builder = builder.region(region.as_str());
    }
    if let Some(endpoint) = &spec.endpoint {
        builder = builder.endpoint_url(endpoint.as_str());
    }
    match spec.lease {
        DynamoDbLease::Default => builder,
        DynamoDbLease::Off => builder.without_lease(),
        DynamoDbLease::Duration(duration) => {
            builder.lease(globus_tokens_dynamodb::LeaseConfig::default().duration(duration))
        }
    }
}

#[cfg(all(test, any(feature = "sqlite", feature = "json", feature = "app")))]
mod tests {
    use super::*;

    #[cfg(feature = "sqlite")]
    #[test]
    fn existing_mode_never_creates_a_file_and_leaves_an_empty_one_alone() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.db");
        let spec = StoreSpec::Sqlite(missing.clone());
        let err = spec
            .open("DEFAULT", OpenMode::Existing)
            .err()
            .expect("an error");
        assert!(matches!(err, OpenError::NotFound { .. }), "{err}");
        assert!(!missing.exists());
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        let err = StoreSpec::Sqlite(empty.clone())
            .open("DEFAULT", OpenMode::Existing)
            .err()
            .expect("an error");
        assert!(matches!(err, OpenError::Empty { .. }), "{err}");
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
        spec.open("DEFAULT", OpenMode::Create).unwrap();
        assert!(missing.exists());
    }

    #[cfg(feature = "app")]
    #[test]
    fn app_stores_open_once_located_in_namespace_default_only() {
        let dir = tempfile::tempdir().unwrap();
        let spec: StoreSpec = "app:My App".parse().unwrap();
        let err = spec
            .open("DEFAULT", OpenMode::Create)
            .err()
            .expect("an error");
        assert!(
            matches!(err, OpenError::Spec(crate::SpecError::NoAppClientId { .. })),
            "{err}"
        );
        let located = spec
            .resolve_app_in(Some("cid"), "sandbox", dir.path())
            .unwrap();
        let file = dir.path().join("cid/my-app/sandbox-tokens.json");
        assert_eq!(located.file(), Some(file.as_path()));
        let err = located
            .open("DEFAULT", OpenMode::Existing)
            .err()
            .expect("an error");
        assert!(err.is_not_found(), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("app:My App ({})", file.display())),
            "errors name the file: {err}"
        );
        assert!(!dir.path().join("cid").exists(), "a read created nothing");
        let err = located
            .open("userprofile/x", OpenMode::Create)
            .err()
            .expect("an error");
        assert!(matches!(err, OpenError::NoNamespaces { .. }), "{err}");

        let store = located.open("DEFAULT", OpenMode::Create).unwrap();
        let data = globus_tokens_core::TokenData::new("rs", "s", "AT", 2_000_000_000);
        store
            .store_token_data(&[("rs".to_owned(), data)].into())
            .unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(r#""format_version": "2.0""#), "{text}");
        assert!(text.contains(r#"{"DEFAULT": {"rs": "#), "{text}");
        let again = located.open("DEFAULT", OpenMode::Existing).unwrap();
        assert!(again.get_token_data("rs").unwrap().is_some());
    }

    #[cfg(feature = "app")]
    #[test]
    fn sqlite_app_stores_have_sqlite_token_storage_layout() {
        let dir = tempfile::tempdir().unwrap();
        let located = "app:tool?storage=sqlite"
            .parse::<StoreSpec>()
            .unwrap()
            .resolve_app_in(Some("cid"), "production", dir.path())
            .unwrap();
        let file = dir.path().join("cid/tool/tokens.db");
        assert!(located.open("DEFAULT", OpenMode::Existing).is_err());
        assert!(!file.exists());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"").unwrap();
        let err = located
            .open("DEFAULT", OpenMode::Existing)
            .err()
            .expect("an error");
        assert!(matches!(err, OpenError::Empty { .. }), "{err}");
        std::fs::remove_file(&file).unwrap();
        located.open("DEFAULT", OpenMode::Create).unwrap();
        let adapter = globus_tokens_sqlite::SqliteAdapter::open(&file).unwrap();
        assert_eq!(
            adapter.schema_version(),
            globus_tokens_sqlite::SchemaVersion::V2
        );
    }

    #[cfg(feature = "json")]
    #[test]
    fn stores_without_namespaces_refuse_others() {
        let err = StoreSpec::Json1("x.json".into())
            .open("userprofile/a", OpenMode::Create)
            .err()
            .expect("an error");
        assert!(matches!(err, OpenError::NoNamespaces { .. }), "{err}");
    }
}
