//! The `globus-cli` store: globus-cli's own login, read and renewed with globus-cli's client,
//! never logged into or out of here.

use std::sync::Arc;

use globus_tokens::authorizers::AuthClient;
use globus_tokens::spec::GlobusCliSpec;
use globus_tokens::{OpenError, StoreSpec, TokenStorage};

use crate::commands::Context;
use crate::error::CliError;

/// The `globus-cli` spec of the command's store, if it is one.
pub(crate) fn spec(ctx: &Context) -> Option<&GlobusCliSpec> {
    match &ctx.global.store {
        StoreSpec::GlobusCli(cli) => Some(cli),
        _ => None,
    }
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The client that renews globus-cli's tokens: its templated client from the storage, or the
/// client login of `GLOBUS_CLI_CLIENT_ID`/`GLOBUS_CLI_CLIENT_SECRET`.
pub(crate) fn renewal_client(
    ctx: &Context,
    cli: &GlobusCliSpec,
    store: &Arc<dyn TokenStorage>,
) -> Result<Arc<AuthClient>, CliError> {
    let Some(client) = cli.client(&**store, &env_lookup)? else {
        return Err(CliError::login_required(format!(
            "{} holds no globus-cli client for namespace {}; {}",
            cli.path.display(),
            cli.namespace,
            cli.login_hint()
        )));
    };
    let built = AuthClient::builder(client.client_id.as_str())
        .client_secret(client.client_secret.clone())
        .build()?;
    ctx.out.detail(&format!(
        "renewing with globus-cli's client {} ({:?}) at {}",
        client.client_id,
        client.kind,
        built.base_url()
    ));
    Ok(Arc::new(built))
}

/// No token for `resource_server` in globus-cli's login: say which logins the file does hold
/// (another profile or environment) and what to run.
pub(crate) fn missing_login(
    cli: &GlobusCliSpec,
    store: &Arc<dyn TokenStorage>,
    resource_server: &str,
) -> CliError {
    let others: Vec<String> = store
        .as_enumerable()
        .and_then(|listing| listing.namespaces().ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|ns| *ns != cli.namespace && ns.starts_with("userprofile/"))
        .map(|ns| describe_namespace(&ns))
        .collect();
    let elsewhere = if others.is_empty() {
        String::new()
    } else {
        format!(" (it has logins for {})", others.join(", "))
    };
    CliError::login_required(format!(
        "globus-cli has no login for {resource_server} in {} (namespace {}){elsewhere}; {}",
        cli.path.display(),
        cli.namespace,
        cli.login_hint()
    ))
}

/// `userprofile/ENV[/PROFILE]` as the variables that select it.
fn describe_namespace(namespace: &str) -> String {
    let mut parts = namespace.trim_start_matches("userprofile/").splitn(2, '/');
    let environment = parts.next().unwrap_or_default();
    match parts.next() {
        Some(profile) => format!("GLOBUS_SDK_ENVIRONMENT={environment} GLOBUS_PROFILE={profile}"),
        None => format!("GLOBUS_SDK_ENVIRONMENT={environment}"),
    }
}

/// An error opening `spec`: for globus-cli's storage, a missing file means no `globus login`.
pub(crate) fn open_error(spec: &StoreSpec, err: OpenError) -> CliError {
    match (spec, err) {
        (StoreSpec::GlobusCli(cli), OpenError::NotFound { .. } | OpenError::Empty { .. }) => {
            CliError::login_required(format!(
                "no globus-cli login: {} does not exist; {}",
                cli.path.display(),
                cli.login_hint()
            ))
        }
        (_, err) => err.into(),
    }
}

/// Commands that would change globus-cli's login are refused: the login is globus-cli's.
pub(crate) fn refuse(ctx: &Context, command: &str, instead: &str) -> Result<(), CliError> {
    match spec(ctx) {
        Some(_) => Err(CliError::usage(format!(
            "the globus-cli store holds globus-cli's own login, which `globus-tokens {command}` \
             does not change; run `{instead}`"
        ))),
        None => Ok(()),
    }
}
