//! `--store` specifications: which backend, where, and opening it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use globus_tokens::{JsonTokenStorage, SimpleJsonFileAdapter, SqliteAdapter, TokenStorage};

use crate::error::CliError;

/// The store used when `--store` is not given.
pub(crate) const DEFAULT_STORE: &str = "sqlite:~/.globus/tokens.db";

/// A parsed `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreSpec {
    /// `sqlite:PATH`: globus-sdk's SQLite format.
    Sqlite(PathBuf),
    /// `json:PATH`: globus-sdk's JSON format 2.0 (namespaced).
    Json(PathBuf),
    /// `json1:PATH`: globus-sdk's JSON format 1.0 (`SimpleJSONFileAdapter`, no namespaces).
    Json1(PathBuf),
    /// `frl:PATH#CLIENT_ID`: fair-research-login's INI file, one section per client id.
    Frl { path: PathBuf, client_id: String },
    /// `dynamodb:TABLE[?region=..&endpoint=..&layout=seed|composite]`.
    DynamoDb {
        table: String,
        region: Option<String>,
        endpoint: Option<String>,
        layout: Option<String>,
    },
}

impl FromStr for StoreSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((scheme, rest)) = text.split_once(':') else {
            return Err(format!(
                "store {text:?} has no scheme; use sqlite:PATH, json:PATH, json1:PATH, frl:PATH#CLIENT_ID or dynamodb:TABLE"
            ));
        };
        let path = |rest: &str| -> Result<PathBuf, String> {
            if rest.is_empty() {
                return Err(format!("store {text:?} has no path"));
            }
            Ok(expand_home(rest))
        };
        match scheme {
            "sqlite" => Ok(StoreSpec::Sqlite(path(rest)?)),
            "json" => Ok(StoreSpec::Json(path(rest)?)),
            "json1" => Ok(StoreSpec::Json1(path(rest)?)),
            "frl" => {
                let (file, client_id) = rest
                    .rsplit_once('#')
                    .filter(|(_, id)| !id.is_empty())
                    .ok_or_else(|| format!("store {text:?}: frl stores are frl:PATH#CLIENT_ID"))?;
                Ok(StoreSpec::Frl {
                    path: path(file)?,
                    client_id: client_id.to_owned(),
                })
            }
            "dynamodb" => parse_dynamodb(text, rest),
            other => Err(format!(
                "unknown store scheme {other:?} in {text:?}; use sqlite, json, json1, frl or dynamodb"
            )),
        }
    }
}

fn parse_dynamodb(text: &str, rest: &str) -> Result<StoreSpec, String> {
    let (table, query) = rest.split_once('?').unwrap_or((rest, ""));
    if table.is_empty() {
        return Err(format!("store {text:?} has no table name"));
    }
    let (mut region, mut endpoint, mut layout) = (None, None, None);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "region" => &mut region,
            "endpoint" => &mut endpoint,
            "layout" => &mut layout,
            other => {
                return Err(format!(
                    "store {text:?}: unknown option {other:?} (region, endpoint, layout)"
                ));
            }
        };
        *slot = Some(value.into_owned());
    }
    if let Some(layout) = &layout
        && layout != "seed"
        && layout != "composite"
    {
        return Err(format!(
            "store {text:?}: layout must be seed or composite, not {layout:?}"
        ));
    }
    Ok(StoreSpec::DynamoDb {
        table: table.to_owned(),
        region,
        endpoint,
        layout,
    })
}

/// `~` and `~/...` mean the home directory, as in a shell.
fn expand_home(path: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    match path.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from(path)),
        Some(rest) if rest.starts_with('/') => match home() {
            Some(home) => home.join(&rest[1..]),
            None => PathBuf::from(path),
        },
        _ => PathBuf::from(path),
    }
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreSpec::Json(path) => write!(f, "json:{}", path.display()),
            StoreSpec::Json1(path) => write!(f, "json1:{}", path.display()),
            StoreSpec::Frl { path, client_id } => write!(f, "frl:{}#{client_id}", path.display()),
            StoreSpec::DynamoDb { table, .. } => write!(f, "dynamodb:{table}"),
        }
    }
}

/// Whether opening may create the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read or update existing tokens: a missing store means there are none.
    Existing,
    /// Write new tokens (login, migrate destination): create the store if needed.
    Create,
}

impl StoreSpec {
    /// The file this store lives in, for file-based stores.
    pub(crate) fn file(&self) -> Option<&Path> {
        match self {
            StoreSpec::Sqlite(path) | StoreSpec::Json(path) | StoreSpec::Json1(path) => Some(path),
            StoreSpec::Frl { path, .. } => Some(path),
            StoreSpec::DynamoDb { .. } => None,
        }
    }

    /// Whether the format keeps namespaces apart.
    pub(crate) fn has_namespaces(&self) -> bool {
        !matches!(self, StoreSpec::Json1(_) | StoreSpec::Frl { .. })
    }

    /// Open the store, bound to `namespace`.
    pub(crate) fn open(
        &self,
        namespace: &str,
        access: Access,
    ) -> Result<Box<dyn TokenStorage>, CliError> {
        if access == Access::Existing
            && let Some(file) = self.file()
            && !file.exists()
        {
            return Err(CliError::login_required(format!(
                "no tokens: {self} does not exist; run `globus-tokens login`"
            )));
        }
        if !self.has_namespaces() && namespace != globus_tokens::DEFAULT_NAMESPACE {
            return Err(CliError::usage(format!(
                "{self} has no namespaces; --namespace must be DEFAULT"
            )));
        }
        Ok(match self {
            StoreSpec::Sqlite(path) => {
                Box::new(SqliteAdapter::builder(path).namespace(namespace).open()?)
            }
            StoreSpec::Json(path) => {
                Box::new(JsonTokenStorage::new(path).with_namespace(namespace))
            }
            StoreSpec::Json1(path) => Box::new(SimpleJsonFileAdapter::new(path)),
            StoreSpec::Frl { .. } | StoreSpec::DynamoDb { .. } => {
                return crate::external::open(self, namespace);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        assert_eq!(
            "sqlite:/t/x.db".parse(),
            Ok(StoreSpec::Sqlite("/t/x.db".into()))
        );
        assert_eq!(
            "json:rel.json".parse(),
            Ok(StoreSpec::Json("rel.json".into()))
        );
        assert_eq!(
            "json1:/a:b.json".parse(),
            Ok(StoreSpec::Json1("/a:b.json".into()))
        );
        assert_eq!(
            "frl:/h/.globus-native-apps.cfg#abc".parse(),
            Ok(StoreSpec::Frl {
                path: "/h/.globus-native-apps.cfg".into(),
                client_id: "abc".into()
            })
        );
        assert_eq!(
            "dynamodb:tokens?region=us-east-1&endpoint=http%3A%2F%2F127.0.0.1%3A9&layout=composite"
                .parse(),
            Ok(StoreSpec::DynamoDb {
                table: "tokens".into(),
                region: Some("us-east-1".into()),
                endpoint: Some("http://127.0.0.1:9".into()),
                layout: Some("composite".into())
            })
        );
    }

    #[test]
    fn rejects_bad_specs_with_reasons() {
        for bad in [
            "tokens.db",
            "mysql:x",
            "sqlite:",
            "frl:/x",
            "frl:/x#",
            "dynamodb:",
            "dynamodb:t?foo=1",
            "dynamodb:t?layout=wide",
        ] {
            let err = bad.parse::<StoreSpec>().unwrap_err();
            assert!(
                err.contains(bad.split('?').next().unwrap_or(bad)) || err.contains("layout"),
                "{bad}: {err}"
            );
        }
    }
}
