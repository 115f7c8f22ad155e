//! `login` and `create-table`.

use std::collections::BTreeMap;
use std::sync::Arc;

use globus_tokens::authorizers::AuthClient;
use globus_tokens::dynamodb::{Billing, CreateTableOptions, ErrorKind, error_kind};
use globus_tokens::login::{LoginError, LoginOptions, NativeClient, TokenStorageAdapter};
use globus_tokens::{OpenMode, TokenData, TokenStorage};

use crate::cli::LoginArgs;
use crate::commands::{Context, now};
use crate::error::CliError;
use crate::output::expiry_text;
use crate::store::{
    KnownResourceServers, check_creatable, check_writable, is_app_store, resource_server_of_scope,
    user_app_storage, validation_refusal,
};

/// Scopes asked for when `login` is given none.
const DEFAULT_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "urn:globus:auth:scope:transfer.api.globus.org:all",
];

/// `login`
pub(crate) fn login(ctx: &Context, args: &LoginArgs) -> Result<(), CliError> {
    let mut scopes: Vec<String> = if args.scopes.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect()
    };
    let client = ctx.auth_client("login")?;
    if is_app_store(&ctx.global.store)
        && !client.is_confidential()
        && !scopes.iter().any(|s| s == "openid")
    {
        // A user app's tokens are kept for one identity, which only the id_token tells: as
        // GlobusApp, always ask for openid.
        ctx.out
            .detail("adding the openid scope: an app store keeps one identity's tokens");
        scopes.insert(0, "openid".to_owned());
    }
    // Everything that could stop the tokens from being kept is checked before any request.
    let existing = check_store(ctx, &scopes)?;
    let (tokens, already) = if client.is_confidential() {
        // A confidential app logs in as itself, into its own namespace (see `Context::namespace`).
        let response = client.oauth2_client_credentials_tokens(&scopes.join(" "))?;
        let store = match existing {
            Some(store) => store,
            None => ctx.open(OpenMode::Create)?,
        };
        store.store(&response)?;
        (response.by_resource_server(), false)
    } else {
        native_login(ctx, args, &scopes, client, existing)?
    };
    let now = now();
    for data in tokens.values() {
        let expires = expiry_text(data.expires_at_seconds, now);
        ctx.out.status(&if already {
            format!(
                "already logged in to {} (expires in {expires}); use --force to log in again",
                data.resource_server
            )
        } else {
            format!(
                "logged in to {} (expires in {expires})",
                data.resource_server
            )
        });
    }
    if ctx.out.format == crate::cli::Format::Json {
        ctx.out.data(String::new, || {
            serde_json::json!({
                "logged_in": tokens.keys().collect::<Vec<_>>(),
                "already_logged_in": already,
            })
        })?;
    }
    Ok(())
}

/// Open the store and prove it can be read and written, before a login sends anything:
/// `None` when the store does not exist yet and can be created (it is created only once there
/// are tokens to keep, so a cancelled login leaves nothing behind).
fn check_store(
    ctx: &Context,
    scopes: &[String],
) -> Result<Option<Arc<dyn TokenStorage>>, CliError> {
    let spec = &ctx.global.store;
    let namespace = ctx.namespace()?;
    let store = match crate::commands::open(spec, &namespace, OpenMode::Existing) {
        Ok(store) => Arc::from(store),
        Err(err) if err.is_not_found() => {
            if let Some(file) = spec.file() {
                check_creatable(file, &spec.to_string())?;
            }
            return Ok(None);
        }
        Err(err) => return Err(ctx.open_error(err)),
    };
    // A store that cannot list is seen as the resource servers the scopes belong to.
    let store = KnownResourceServers::wrap(
        store,
        scopes.iter().filter_map(|s| resource_server_of_scope(s)),
    );
    if let Some(listing) = store.as_enumerable() {
        listing.get_by_resource_server()?;
    }
    if let Some(file) = spec.file() {
        check_writable(file, &spec.to_string())?;
    }
    Ok(Some(store))
}

/// A native app's browser login (PKCE), through the local redirect server or a pasted code.
/// Returns the tokens and whether they were already there (no login was needed).
fn native_login(
    ctx: &Context,
    args: &LoginArgs,
    scopes: &[String],
    client: Arc<AuthClient>,
    existing: Option<Arc<dyn TokenStorage>>,
) -> Result<(BTreeMap<String, TokenData>, bool), CliError> {
    let spec = &ctx.global.store;
    // An app store validates as globus-sdk's UserApp: the login's identity must be the stored
    // tokens' identity (checked as they are written, before anything is changed).
    let app = is_app_store(spec);
    let existing = match existing {
        Some(store) if app => Some(user_app_storage(store, scopes)?),
        other => other,
    };
    let mut builder = NativeClient::builder(client.client_id())
        .app_name("globus-tokens")
        .default_scopes(scopes.iter().cloned())
        .auth_client(client);
    builder = match &existing {
        Some(store) => builder.token_storage(TokenStorageAdapter::new(Arc::clone(store))),
        None => builder.no_token_storage(),
    };
    let native = builder.build().map_err(|err| login_error(err, spec))?;
    if !args.force && existing.is_some() {
        match native.load_tokens(scopes) {
            Ok(tokens) => return Ok((tokens, true)),
            Err(err) if err.is_load_error() => {}
            Err(err) => return Err(login_error(err, spec)),
        }
    }
    let options = LoginOptions::new()
        .requested_scopes(scopes.iter().cloned())
        .refresh_tokens(!args.no_refresh_tokens)
        .force(true)
        .no_local_server(args.no_local_server)
        .no_browser(args.no_browser);
    ctx.out
        .detail(&format!("requesting scopes: {}", scopes.join(" ")));
    let tokens = native
        .login(&options)
        .map_err(|err| login_error(err, spec))?;
    if existing.is_none() {
        let mut store = ctx.open(OpenMode::Create)?;
        if app {
            store = user_app_storage(store, scopes)?;
        }
        store
            .store_token_data(&tokens)
            .map_err(|err| validation_refusal(&err, spec).unwrap_or_else(|| err.into()))?;
    }
    Ok((tokens, false))
}

fn login_error(err: LoginError, spec: &globus_tokens::StoreSpec) -> CliError {
    if let Some(refusal) = validation_refusal(&err, spec) {
        return refusal;
    }
    let message = crate::error::one_line(&err.to_string());
    if err.is_login_required() {
        CliError::login_required(message)
    } else {
        CliError::failure(message)
    }
}

/// `create-table`
pub(crate) fn create_table(ctx: &Context, provisioned: Option<i64>) -> Result<(), CliError> {
    let spec = &ctx.global.store;
    let Some(builder) = spec.dynamodb_builder(&ctx.namespace()?) else {
        return Err(CliError::usage(format!(
            "create-table needs a dynamodb: store, not {spec}"
        )));
    };
    let billing = match provisioned {
        Some(units) if units > 0 => Billing::Provisioned {
            read: units,
            write: units,
        },
        Some(_) => {
            return Err(CliError::usage(
                "--provisioned takes a positive number of capacity units",
            ));
        }
        None => Billing::OnDemand,
    };
    let storage = builder.build().map_err(|err| spec.open_error(err))?;
    ctx.out
        .status(&format!("creating {spec} and waiting until it is active"));
    match storage.create_table(CreateTableOptions::default().billing(billing)) {
        Ok(()) => {}
        Err(err) if error_kind(&err) == Some(ErrorKind::TableAlreadyExists) => {
            return Err(CliError::failure(format!(
                "{spec}: the table already exists"
            )));
        }
        Err(err) => return Err(spec.open_error(err).into()),
    }
    ctx.out.status(&format!("created {spec}"));
    if ctx.out.format == crate::cli::Format::Json {
        ctx.out.data(
            String::new,
            || serde_json::json!({"created": spec.to_string()}),
        )?;
    }
    Ok(())
}
