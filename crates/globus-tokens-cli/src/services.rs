//! The subcommands that ask Globus Auth about stored tokens: `introspect` and `whoami`.

use globus_tokens::OpenMode;
use globus_tokens::authorizers::TokenIntrospection;
use serde_json::json;

use crate::commands::{Context, missing, now, usable_token};
use crate::error::CliError;
use crate::output::{expiry_text, table};

/// The resource server of `whoami`'s token.
const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";

/// `introspect RS`: what Globus Auth says of the stored access token (as stored: an expired
/// token shows as inactive).
pub(crate) fn introspect(ctx: &Context, resource_server: &str) -> Result<(), CliError> {
    let store = ctx.open(OpenMode::Existing)?;
    // globus-cli's templated client is confidential: it introspects globus-cli's own tokens.
    let client = match crate::globus_cli::spec(ctx) {
        Some(cli) => crate::globus_cli::renewal_client(ctx, cli, &store)?,
        None => ctx.auth_client("introspection")?,
    };
    if !client.is_confidential() {
        return Err(CliError::usage(
            "introspection needs a confidential client: give --client-secret (or \
             GLOBUS_CLIENT_SECRET) with --client-id",
        ));
    }
    let data = store
        .get_token_data(resource_server)?
        .ok_or_else(|| missing(ctx, &store, resource_server))?;
    let seen = client.oauth2_token_introspect(&data.access_token, Some("identity_set"))?;
    ctx.out.data(
        || introspection_text(resource_server, &seen),
        || {
            json!({
                "resource_server": resource_server,
                "active": seen.active,
                "sub": seen.sub,
                "username": seen.username,
                "name": seen.name,
                "email": seen.email,
                "client_id": seen.client_id,
                "scope": seen.scope,
                "aud": seen.aud,
                "iss": seen.iss,
                "exp": seen.exp,
                "iat": seen.iat,
                "nbf": seen.nbf,
                "identity_set": seen.identity_set,
            })
        },
    )
}

fn introspection_text(resource_server: &str, seen: &TokenIntrospection) -> String {
    if !seen.active {
        return format!(
            "the token for {resource_server} is not active (expired, revoked or unknown to \
             Globus Auth)"
        );
    }
    let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let identity = match (&seen.sub, &seen.username) {
        (Some(sub), Some(username)) => format!("{username} ({sub})"),
        (sub, username) => text(&sub.clone().or_else(|| username.clone())),
    };
    let rows = vec![
        vec!["active".to_owned(), "yes".to_owned()],
        vec!["identity".to_owned(), identity],
        vec!["client".to_owned(), text(&seen.client_id)],
        vec!["scope".to_owned(), text(&seen.scope)],
        vec!["audience".to_owned(), seen.aud.join(" ")],
        vec![
            "expires".to_owned(),
            seen.exp
                .map_or_else(|| "-".to_owned(), |exp| expiry_text(exp, now())),
        ],
        vec![
            "linked identities".to_owned(),
            seen.identity_set
                .as_ref()
                .map_or_else(|| "-".to_owned(), |set| set.join(" ")),
        ],
    ];
    table(&["field", "value"], &rows)
}

/// `whoami`: the identity the stored `auth.globus.org` token acts for (userinfo), renewing the
/// token first if it is stale.
pub(crate) fn whoami(ctx: &Context) -> Result<(), CliError> {
    let store = ctx.open(OpenMode::Existing)?;
    let data = usable_token(ctx, &store, AUTH_RESOURCE_SERVER)?;
    let client = match ctx.auth_client("whoami") {
        Ok(client) => client,
        // Userinfo needs no client credentials: any client id reaches the right endpoint.
        Err(_) => std::sync::Arc::new(
            globus_tokens::authorizers::AuthClient::builder("globus-tokens").build()?,
        ),
    };
    let info = client.userinfo(&data.access_token)?;
    ctx.out.data(
        || {
            let mut lines = vec![
                info.preferred_username
                    .clone()
                    .unwrap_or_else(|| info.sub.clone()),
            ];
            if let Some(name) = &info.name {
                lines.push(format!("name: {name}"));
            }
            if let Some(email) = &info.email {
                lines.push(format!("email: {email}"));
            }
            lines.push(format!("identity: {}", info.sub));
            if let Some(provider) = info
                .identity_provider_display_name
                .as_ref()
                .or(info.identity_provider.as_ref())
            {
                lines.push(format!("provider: {provider}"));
            }
            lines.join("\n")
        },
        || {
            json!({
                "sub": info.sub,
                "preferred_username": info.preferred_username,
                "name": info.name,
                "email": info.email,
                "identity_provider": info.identity_provider,
                "identity_provider_display_name": info.identity_provider_display_name,
                "organization": info.organization,
                "identity_set": info.identity_set,
            })
        },
    )
}
