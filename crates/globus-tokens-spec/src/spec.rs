//! The store spec grammar: parsing, printing, and what a spec says about its store.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::app::{AppSpec, parse_app};
use crate::error::SpecError;

/// The store the `globus-tokens` command uses when none is given.
pub const DEFAULT_STORE: &str = "sqlite:~/.globus/tokens.db";

/// A parsed store spec (see the [crate] documentation for the grammar).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreSpec {
    /// `sqlite:PATH`: globus-sdk's SQLite format.
    Sqlite(PathBuf),
    /// `json:PATH`: globus-sdk's JSON format 2.0 (namespaced).
    Json(PathBuf),
    /// `json1:PATH`: globus-sdk's JSON format 1.0 (`SimpleJSONFileAdapter`, no namespaces).
    Json1(PathBuf),
    /// `frl:PATH#CLIENT_ID`: fair-research-login's INI file, one section per client id.
    Frl {
        /// The INI file.
        path: PathBuf,
        /// The section (the app's client id).
        client_id: String,
    },
    /// `dynamodb:TABLE[?region=..&endpoint=..&layout=seed|composite&lease=SECONDS|off]`.
    DynamoDb(DynamoDbSpec),
    /// `globus-cli[:PROFILE]`: globus-cli's own storage and login namespace.
    GlobusCli(Box<crate::GlobusCliSpec>),
    /// `app:NAME[?storage=json|sqlite]`: a GlobusApp's token file, in namespace `DEFAULT`;
    /// located for a client id by `StoreSpec::resolve_app` (feature `app`) before it opens.
    App(AppSpec),
}

/// The parts of a `dynamodb:` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DynamoDbSpec {
    /// The table name.
    pub table: String,
    /// `region=`: the AWS region (default: the AWS configuration chain).
    pub region: Option<String>,
    /// `endpoint=`: a DynamoDB-compatible endpoint instead of AWS.
    pub endpoint: Option<String>,
    /// `layout=`: the item layout (default seed).
    pub layout: DynamoDbLayout,
    /// `lease=SECONDS|off`: the renewal lease that makes a renewal run once across machines
    /// (default on, 10 s).
    pub lease: DynamoDbLease,
}

/// The renewal lease of a `dynamodb:` store (`lease=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DynamoDbLease {
    /// No `lease=`: the backend's default lease.
    #[default]
    Default,
    /// `lease=off`: no lease (processes on several machines may each renew a stale token).
    Off,
    /// `lease=SECONDS` (decimals allowed): a lease of this duration.
    Duration(std::time::Duration),
}

/// The item layout of a `dynamodb:` store (`layout=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DynamoDbLayout {
    /// `layout=seed` (the default): globus-sdk's example layout; cannot list its contents.
    #[default]
    Seed,
    /// `layout=composite`: partition key namespace, sort key resource server; lists.
    Composite,
}

impl DynamoDbSpec {
    /// A spec for `table` with the defaults.
    pub fn new(table: impl Into<String>) -> Self {
        DynamoDbSpec {
            table: table.into(),
            region: None,
            endpoint: None,
            layout: DynamoDbLayout::Seed,
            lease: DynamoDbLease::Default,
        }
    }
}

impl FromStr for StoreSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        StoreSpec::parse(text)
    }
}

impl StoreSpec {
    /// Parse a spec; the same as `text.parse()`.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let spec = || text.to_owned();
        if text == "globus-cli" {
            return StoreSpec::globus_cli(text, None);
        }
        let Some((scheme, rest)) = text.split_once(':') else {
            return Err(SpecError::NoScheme { spec: spec() });
        };
        let path = |rest: &str| -> Result<PathBuf, SpecError> {
            if rest.is_empty() {
                return Err(SpecError::NoPath { spec: spec() });
            }
            Ok(expand_home(rest))
        };
        let parsed = match scheme {
            "sqlite" => StoreSpec::Sqlite(path(rest)?),
            "json" => StoreSpec::Json(path(rest)?),
            "json1" => StoreSpec::Json1(path(rest)?),
            "frl" => {
                let (file, client_id) = rest
                    .rsplit_once('#')
                    .filter(|(_, id)| !id.is_empty())
                    .ok_or_else(|| SpecError::NoClientId { spec: spec() })?;
                StoreSpec::Frl {
                    path: path(file)?,
                    client_id: client_id.to_owned(),
                }
            }
            "dynamodb" => StoreSpec::DynamoDb(parse_dynamodb(text, rest)?),
            "app" => StoreSpec::App(parse_app(text, rest)?),
            "globus-cli" if rest.is_empty() => {
                return Err(SpecError::GlobusCli {
                    spec: spec(),
                    reason: "no profile after globus-cli: (use globus-cli for the default \
                             profile)"
                        .to_owned(),
                });
            }
            "globus-cli" => return StoreSpec::globus_cli(text, Some(rest.to_owned())),
            other => {
                return Err(SpecError::UnknownScheme {
                    scheme: other.to_owned(),
                    spec: spec(),
                });
            }
        };
        match parsed.disabled_feature() {
            Some(feature) => Err(SpecError::SchemeDisabled {
                scheme: parsed.scheme(),
                feature,
                spec: spec(),
            }),
            None => Ok(parsed),
        }
    }

    /// A `globus-cli` spec located from the process environment.
    fn globus_cli(text: &str, profile: Option<String>) -> Result<Self, SpecError> {
        let lookup = |name: &str| std::env::var(name).ok();
        let parsed = StoreSpec::GlobusCli(Box::new(crate::GlobusCliSpec::resolve(
            text, profile, &lookup,
        )?));
        match parsed.disabled_feature() {
            Some(feature) => Err(SpecError::SchemeDisabled {
                scheme: parsed.scheme(),
                feature,
                spec: text.to_owned(),
            }),
            None => Ok(parsed),
        }
    }

    /// The scheme: `sqlite`, `json`, `json1`, `frl`, `dynamodb`, `app` or `globus-cli`.
    pub fn scheme(&self) -> &'static str {
        match self {
            StoreSpec::GlobusCli(_) => "globus-cli",
            StoreSpec::Sqlite(_) => "sqlite",
            StoreSpec::Json(_) => "json",
            StoreSpec::Json1(_) => "json1",
            StoreSpec::Frl { .. } => "frl",
            StoreSpec::DynamoDb(_) => "dynamodb",
            StoreSpec::App(_) => "app",
        }
    }

    /// The cargo feature this spec's scheme needs, if this build does not enable it.
    pub(crate) fn disabled_feature(&self) -> Option<&'static str> {
        let (feature, enabled) = match self {
            StoreSpec::Sqlite(_) => ("sqlite", cfg!(feature = "sqlite")),
            StoreSpec::Json(_) | StoreSpec::Json1(_) => ("json", cfg!(feature = "json")),
            StoreSpec::Frl { .. } => ("frl", cfg!(feature = "frl")),
            StoreSpec::DynamoDb(_) => ("dynamodb", cfg!(feature = "dynamodb")),
            StoreSpec::App(_) => ("app", cfg!(feature = "app")),
            StoreSpec::GlobusCli(_) => ("sqlite", cfg!(feature = "sqlite")),
        };
        (!enabled).then_some(feature)
    }

    /// The file the store lives in, for file stores (for `app:`, once located).
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoreSpec::Sqlite(path) | StoreSpec::Json(path) | StoreSpec::Json1(path) => Some(path),
            StoreSpec::Frl { path, .. } => Some(path),
            StoreSpec::DynamoDb(_) => None,
            StoreSpec::App(app) => app.location.as_ref().map(|file| file.path.as_path()),
            StoreSpec::GlobusCli(cli) => Some(&cli.path),
        }
    }

    /// Whether the store keeps namespaces apart: `json1:` and `frl:` do not, and an `app:`
    /// store is used in namespace `DEFAULT` only, as globus-sdk's `GlobusApp` uses it.
    pub fn has_namespaces(&self) -> bool {
        !matches!(
            self,
            StoreSpec::Json1(_) | StoreSpec::Frl { .. } | StoreSpec::App(_)
        )
    }

    /// Whether the store can list its contents (every store but DynamoDB's seed layout, which
    /// can only be read by naming the resource server).
    pub fn can_list(&self) -> bool {
        !matches!(
            self,
            StoreSpec::DynamoDb(DynamoDbSpec {
                layout: DynamoDbLayout::Seed,
                ..
            })
        )
    }

    /// Whether `self` and `other` are the same store, however spelled: file stores compare
    /// canonical paths (`./x.json` and `x.json`, a symlink and its target, and `json:` and
    /// `json1:` on one file are the same store; `frl:` sections of one file are not), DynamoDB
    /// stores compare table, region and endpoint.
    pub fn same_store(&self, other: &StoreSpec) -> bool {
        match (self, other) {
            (
                StoreSpec::Frl {
                    path: a,
                    client_id: ca,
                },
                StoreSpec::Frl {
                    path: b,
                    client_id: cb,
                },
            ) => ca == cb && canonical_file(a) == canonical_file(b),
            (StoreSpec::DynamoDb(a), StoreSpec::DynamoDb(b)) => {
                a.table == b.table && a.region == b.region && a.endpoint == b.endpoint
            }
            _ => match (self.file(), other.file()) {
                (Some(a), Some(b)) => canonical_file(a) == canonical_file(b),
                _ => false,
            },
        }
    }
}

/// The canonical path of a file that may not exist yet: the canonical directory it would be
/// in, joined with its name; falls back to the absolute path.
fn canonical_file(path: &Path) -> PathBuf {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return canonical;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|dir| dir.join(name))
            .unwrap_or(absolute.clone()),
        _ => absolute,
    }
}

fn parse_dynamodb(text: &str, rest: &str) -> Result<DynamoDbSpec, SpecError> {
    let (table, query) = rest.split_once('?').unwrap_or((rest, ""));
    if table.is_empty() {
        return Err(SpecError::NoTable {
            spec: text.to_owned(),
        });
    }
    let mut spec = DynamoDbSpec::new(table);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "region" => spec.region = Some(value.into_owned()),
            "endpoint" => spec.endpoint = Some(value.into_owned()),
            "layout" => {
                spec.layout = match value.as_ref() {
                    "seed" => DynamoDbLayout::Seed,
                    "composite" => DynamoDbLayout::Composite,
                    other => {
                        return Err(SpecError::BadLayout {
                            layout: other.to_owned(),
                            spec: text.to_owned(),
                        });
                    }
                }
            }
            "lease" => {
                spec.lease = match value.as_ref() {
                    "off" => DynamoDbLease::Off,
                    seconds => match seconds.parse::<f64>().ok().and_then(|seconds| {
                        std::time::Duration::try_from_secs_f64(seconds)
                            .ok()
                            .filter(|duration| *duration >= std::time::Duration::from_millis(100))
                    }) {
                        Some(duration) => DynamoDbLease::Duration(duration),
                        None => {
                            return Err(SpecError::BadLease {
                                lease: seconds.to_owned(),
                                spec: text.to_owned(),
                            });
                        }
                    },
                }
            }
            other => {
                return Err(SpecError::UnknownOption {
                    option: other.to_owned(),
                    spec: text.to_owned(),
                });
            }
        }
    }
    Ok(spec)
}

/// `~` and `~/...` mean the home directory, as in a shell.
fn expand_home(path: &str) -> PathBuf {
    let home = || {
        std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
    };
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
            StoreSpec::DynamoDb(spec) => write!(f, "dynamodb:{}", spec.table),
            StoreSpec::App(app) => app.fmt(f),
            StoreSpec::GlobusCli(cli) => cli.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_features() -> bool {
        cfg!(all(
            feature = "json",
            feature = "sqlite",
            feature = "frl",
            feature = "dynamodb",
            feature = "app"
        ))
    }

    #[test]
    fn parses_every_scheme() {
        if !all_features() {
            return;
        }
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
            Ok(StoreSpec::DynamoDb(DynamoDbSpec {
                table: "tokens".into(),
                region: Some("us-east-1".into()),
                endpoint: Some("http://127.0.0.1:9".into()),
                layout: DynamoDbLayout::Composite,
                lease: DynamoDbLease::Default,
            }))
        );
        let spec: StoreSpec = "dynamodb:t?lease=2.5".parse().unwrap();
        assert!(matches!(
            spec,
            StoreSpec::DynamoDb(DynamoDbSpec { lease: DynamoDbLease::Duration(d), .. })
                if d == std::time::Duration::from_millis(2_500)
        ));
        let spec: StoreSpec = "dynamodb:t?lease=off".parse().unwrap();
        assert!(matches!(
            spec,
            StoreSpec::DynamoDb(DynamoDbSpec {
                lease: DynamoDbLease::Off,
                ..
            })
        ));
        for bad in ["soon", "0", "-1", "0.05", "NaN"] {
            let err = format!("dynamodb:t?lease={bad}")
                .parse::<StoreSpec>()
                .unwrap_err();
            assert!(matches!(err, SpecError::BadLease { .. }), "{bad}: {err}");
            assert!(err.to_string().contains("lease must be"), "{err}");
        }
    }

    #[test]
    fn rejects_bad_specs_with_typed_reasons() {
        type Check = fn(&SpecError) -> bool;
        let cases: [(&str, Check); 8] = [
            ("tokens.db", |e| matches!(e, SpecError::NoScheme { .. })),
            (
                "mysql:x",
                |e| matches!(e, SpecError::UnknownScheme { scheme, .. } if scheme == "mysql"),
            ),
            ("sqlite:", |e| matches!(e, SpecError::NoPath { .. })),
            ("frl:/x", |e| matches!(e, SpecError::NoClientId { .. })),
            ("frl:/x#", |e| matches!(e, SpecError::NoClientId { .. })),
            ("dynamodb:", |e| matches!(e, SpecError::NoTable { .. })),
            (
                "dynamodb:t?foo=1",
                |e| matches!(e, SpecError::UnknownOption { option, .. } if option == "foo"),
            ),
            (
                "dynamodb:t?layout=wide",
                |e| matches!(e, SpecError::BadLayout { layout, .. } if layout == "wide"),
            ),
        ];
        for (bad, check) in cases {
            let err = bad.parse::<StoreSpec>().unwrap_err();
            if matches!(err, SpecError::SchemeDisabled { .. }) {
                continue;
            }
            assert!(check(&err), "{bad}: {err:?}");
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn a_disabled_scheme_names_its_feature() {
        for (text, feature) in [
            ("sqlite:x.db", "sqlite"),
            ("json:x.json", "json"),
            ("json1:x.json", "json"),
            ("frl:x.cfg#id", "frl"),
            ("dynamodb:t", "dynamodb"),
            ("app:x", "app"),
        ] {
            let parsed = text.parse::<StoreSpec>();
            let enabled = match feature {
                "sqlite" => cfg!(feature = "sqlite"),
                "json" => cfg!(feature = "json"),
                "frl" => cfg!(feature = "frl"),
                "app" => cfg!(feature = "app"),
                _ => cfg!(feature = "dynamodb"),
            };
            match parsed {
                Ok(_) => assert!(enabled, "{text}"),
                Err(SpecError::SchemeDisabled { feature: f, .. }) => {
                    assert!(!enabled);
                    assert_eq!(f, feature);
                }
                Err(other) => panic!("{text}: {other}"),
            }
        }
    }

    #[test]
    fn home_is_expanded() {
        let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
            return;
        };
        assert_eq!(expand_home("~/a/b"), PathBuf::from(&home).join("a/b"));
        assert_eq!(expand_home("~"), PathBuf::from(&home));
        assert_eq!(expand_home("~x/a"), PathBuf::from("~x/a"));
    }

    #[test]
    fn same_store_sees_through_spellings_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("x.json");
        std::fs::write(&real, "{}").unwrap();
        let dotted = dir.path().join(".").join("x.json");
        let link = dir.path().join("link.json");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let a = StoreSpec::Json(real.clone());
        assert!(a.same_store(&StoreSpec::Json(dotted)));
        assert!(a.same_store(&StoreSpec::Json1(real.clone())));
        #[cfg(unix)]
        assert!(a.same_store(&StoreSpec::Json(link)));
        assert!(!a.same_store(&StoreSpec::Json(dir.path().join("y.json"))));
        // A file not created yet: compared through its directory.
        let missing = dir.path().join("new.db");
        assert!(
            StoreSpec::Sqlite(missing)
                .same_store(&StoreSpec::Sqlite(dir.path().join(".").join("new.db")))
        );
        let frl = |id: &str| StoreSpec::Frl {
            path: real.clone(),
            client_id: id.into(),
        };
        assert!(frl("a").same_store(&frl("a")));
        assert!(!frl("a").same_store(&frl("b")));
    }
}
