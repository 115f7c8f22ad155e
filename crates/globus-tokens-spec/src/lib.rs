//! Store specifications: one string names a token store, and opening it gives a
//! [`TokenStorage`](globus_tokens_core::TokenStorage).
//!
//! The grammar is the `globus-tokens` command's `--store` (object_store's `parse_url` is the
//! model): a program opens any store from a string exactly as the command does, with the same
//! errors.
//!
//! | spec | store | cargo feature |
//! |---|---|---|
//! | `sqlite:PATH` | globus-sdk's SQLite format (`SQLiteAdapter`), namespaced | `sqlite` |
//! | `json:PATH` | globus-sdk's JSON format 2.0 (`JSONTokenStorage`), namespaced | `json` |
//! | `json1:PATH` | globus-sdk's JSON format 1.0 (`SimpleJSONFileAdapter`), no namespaces | `json` |
//! | `frl:PATH#CLIENT_ID` | fair-research-login's INI file, section `CLIENT_ID`, no namespaces | `frl` |
//! | `dynamodb:TABLE[?region=R&endpoint=URL&layout=seed\|composite&lease=SECONDS\|off]` | a DynamoDB table | `dynamodb` |
//! | `globus-cli[:PROFILE]` | globus-cli's own login: `~/.globus/cli/storage.db`, namespace `userprofile/{env}[/{profile}]` or `clientprofile/{env}/{client_id}`, as globus-cli resolves them ([`GlobusCliSpec`]); never created | `sqlite` |
//! | `app:NAME[?storage=json\|sqlite]` | globus-sdk's `GlobusApp` file for app `NAME`, `~/.globus/app/{client_id}/{app}/[{env}-]tokens.{json,db}`, namespace `DEFAULT` | `app` |
//!
//! An `app:` spec names the app, not the file: the file also depends on the app's client id and
//! the Globus environment (`GLOBUS_SDK_ENVIRONMENT`). `StoreSpec::resolve_app(client_id, env)`
//! locates it (other specs pass through unchanged), after which [`StoreSpec::file`],
//! [`StoreSpec::same_store`] and [`StoreSpec::open`] work as for any file store; opening an
//! app spec that was not located is [`OpenError::Spec`] ([`SpecError::NoAppClientId`]). App
//! names are checked when parsed, as globus-sdk checks them (no empty or reserved names).
//!
//! A `PATH` of `~` or `~/...` starts in the home directory (`HOME`). A scheme whose feature is
//! off parses to [`SpecError::SchemeDisabled`], naming the feature.
//!
//! ```
//! use globus_tokens_spec::{OpenMode, SpecError, StoreSpec};
//!
//! assert!(matches!("mysql:x".parse::<StoreSpec>(), Err(SpecError::UnknownScheme { .. })));
//! # #[cfg(feature = "json")] {
//! let spec: StoreSpec = "json1:/tmp/tokens.json".parse()?;
//! assert_eq!(spec.to_string(), "json1:/tmp/tokens.json");
//! assert!(!spec.has_namespaces());
//! # }
//! # #[cfg(feature = "sqlite")] {
//! let dir = tempfile::tempdir()?;
//! let spec: StoreSpec = format!("sqlite:{}", dir.path().join("t.db").display()).parse()?;
//! let store = spec.open("DEFAULT", OpenMode::Create)?;
//! assert_eq!(store.get_token_data("transfer.api.globus.org")?, None);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod app;
mod error;
mod globus_cli;
mod open;
mod spec;

pub use app::{AppFile, AppSpec, AppStorage};
pub use error::{OpenError, SpecError};
pub use globus_cli::{
    GLOBUS_CLI_CLIENT_CONFIG, GlobusCliClient, GlobusCliClientKind, GlobusCliSpec,
};
pub use open::OpenMode;
pub use spec::{DEFAULT_STORE, DynamoDbLayout, DynamoDbLease, DynamoDbSpec, StoreSpec};
