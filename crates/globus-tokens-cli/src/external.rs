//! `login`, `create-table`, and the stores that come from the login and DynamoDB crates.

use std::sync::Arc;

use globus_tokens::TokenStorage;
use globus_tokens::dynamodb::{
    Billing, CreateTableOptions, DynamoDbStorage, DynamoDbStorageBuilder, ItemLayout,
};
use globus_tokens::login::{
    LoginError, LoginOptions, MultiClientTokenStorage, NativeClient, TokenStorageAdapter,
};

use crate::cli::LoginArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::output::human_duration;
use crate::store::{Access, StoreSpec};

/// Scopes asked for when `login` is given none.
const DEFAULT_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "urn:globus:auth:scope:transfer.api.globus.org:all",
];

/// Open an `frl:` or `dynamodb:` store.
pub(crate) fn open(spec: &StoreSpec, namespace: &str) -> Result<Box<dyn TokenStorage>, CliError> {
    match spec {
        StoreSpec::Frl { path, client_id } => Ok(Box::new(MultiClientTokenStorage::new(
            path,
            client_id.as_str(),
        ))),
        StoreSpec::DynamoDb { .. } => Ok(Box::new(dynamodb(spec, namespace)?.open()?)),
        other => Err(CliError::failure(format!(
            "{other} is not an frl: or dynamodb: store"
        ))),
    }
}

/// The DynamoDB store a `dynamodb:TABLE?...` spec names, not yet connected.
fn dynamodb(spec: &StoreSpec, namespace: &str) -> Result<DynamoDbStorageBuilder, CliError> {
    let StoreSpec::DynamoDb {
        table,
        region,
        endpoint,
        layout,
    } = spec
    else {
        return Err(CliError::usage(format!("{spec} is not a dynamodb: store")));
    };
    let mut builder = DynamoDbStorage::builder(table.as_str())
        .namespace(namespace)
        .layout(match layout.as_deref() {
            Some("composite") => ItemLayout::Composite,
            _ => ItemLayout::Seed,
        });
    if let Some(region) = region {
        builder = builder.region(region.as_str());
    }
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint.as_str());
    }
    Ok(builder)
}

/// `login`
pub(crate) fn login(ctx: &Context, args: &LoginArgs) -> Result<(), CliError> {
    let scopes: Vec<String> = if args.scopes.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect()
    };
    let client = ctx.auth_client("login")?;
    let store = ctx.open(Access::Create)?;
    let tokens = if client.is_confidential() {
        // A confidential app logs in as itself.
        let response = client.oauth2_client_credentials_tokens(&scopes.join(" "))?;
        store.store(&response)?;
        response.by_resource_server()
    } else {
        native_login(ctx, args, &scopes, client, store)?
    };
    let now = globus_tokens::Clock::now_seconds(&globus_tokens::SystemClock);
    for data in tokens.values() {
        ctx.out.status(&format!(
            "logged in to {} (expires in {})",
            data.resource_server,
            human_duration(data.expires_at_seconds - now)
        ));
    }
    if ctx.out.format == crate::cli::Format::Json {
        ctx.out.data(
            String::new,
            || serde_json::json!({"logged_in": tokens.keys().collect::<Vec<_>>()}),
        );
    }
    Ok(())
}

/// A native app's browser login (PKCE), through the local redirect server or a pasted code.
fn native_login(
    ctx: &Context,
    args: &LoginArgs,
    scopes: &[String],
    client: Arc<globus_tokens::authorizers::AuthClient>,
    store: Arc<dyn TokenStorage>,
) -> Result<std::collections::BTreeMap<String, globus_tokens::TokenData>, CliError> {
    let native = NativeClient::builder(client.client_id())
        .app_name("globus-tokens")
        .default_scopes(scopes.iter().cloned())
        .token_storage(TokenStorageAdapter::new(store))
        .auth_client(client)
        .build()
        .map_err(login_error)?;
    let options = LoginOptions::new()
        .requested_scopes(scopes.iter().cloned())
        .refresh_tokens(!args.no_refresh_tokens)
        .force(args.force)
        .no_local_server(args.no_local_server)
        .no_browser(args.no_browser);
    ctx.out
        .detail(&format!("requesting scopes: {}", scopes.join(" ")));
    native.login(&options).map_err(login_error)
}

fn login_error(err: LoginError) -> CliError {
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
    if !matches!(spec, StoreSpec::DynamoDb { .. }) {
        return Err(CliError::usage(format!(
            "create-table needs a dynamodb: store, not {spec}"
        )));
    }
    let storage = dynamodb(spec, ctx.namespace()?)?.build()?;
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
    ctx.out
        .status(&format!("creating {spec} and waiting until it is active"));
    storage.create_table(CreateTableOptions::default().billing(billing))?;
    ctx.out.status(&format!("created {spec}"));
    if ctx.out.format == crate::cli::Format::Json {
        ctx.out.data(
            String::new,
            || serde_json::json!({"created": spec.to_string()}),
        );
    }
    Ok(())
}
