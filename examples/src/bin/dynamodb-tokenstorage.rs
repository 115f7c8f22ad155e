//! List your Globus groups, keeping the tokens in DynamoDB: the Rust version of globus-sdk's
//! `dynamodb_tokenstorage.py` example.
//!
//! ```text
//! dynamodb-tokenstorage --create     # create the table (seed key schema) and wait until ACTIVE
//! dynamodb-tokenstorage              # log in if needed, then print your groups as CSV
//! ```
//!
//! Without stored tokens for `groups.api.globus.org` it runs the native-app login: it prints
//! the authorize URL (to stderr) and reads the code you paste (from stdin). Tokens are stored
//! in the table, and every renewal of the access token is stored again.
//!
//! AWS settings come from the standard AWS environment and config files (`AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `AWS_ENDPOINT_URL_DYNAMODB` for a local server, ...).
//! Globus Auth's URL follows globus-sdk's `GLOBUS_SDK_ENVIRONMENT` / `GLOBUS_SDK_SERVICE_URL_AUTH`,
//! and the Groups API's URL `GLOBUS_SDK_SERVICE_URL_GROUPS`.
//!
//! The CSV is the seed's: `ID,Name,Type,Session Enforcement,Roles`, one line per group,
//! session enforcement `strict` or `not strict`, roles joined by commas (sorted here; the
//! seed's order is a Python set's).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::error::Error;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use globus_tokens::TokenStorage;
use globus_tokens::authorizers::{
    AuthClient, AuthorizeParams, AuthorizedAgent, PkceVerifier, RefreshTokenAuthorizer,
};
use globus_tokens::dynamodb::{Billing, CreateTableOptions, DynamoDbStorage};
use globus_tokens::{Secret, TokenData};
use serde_json::Value;

/// The tutorial client id globus-sdk's examples use.
const TUTORIAL_CLIENT_ID: &str = "61338d24-54d5-408f-a10d-66c06b59f6d2";
const GROUPS_RESOURCE_SERVER: &str = "groups.api.globus.org";
const GROUPS_SCOPE: &str =
    "urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships";
const GROUPS_DEFAULT_URL: &str = "https://groups.api.globus.org/";

#[derive(Parser)]
#[command(about = "List your Globus groups, keeping the tokens in DynamoDB")]
struct Args {
    /// Create the table and wait until it is ACTIVE, then exit.
    #[arg(long)]
    create: bool,
    /// The DynamoDB table.
    #[arg(
        long,
        env = "GLOBUS_TOKENS_DYNAMODB_TABLE",
        default_value = "example-globus-tokenstorage"
    )]
    table: String,
    /// The namespace of the stored tokens.
    #[arg(long, default_value = "DEFAULT")]
    namespace: String,
    /// The native app's client id.
    #[arg(long, env = "GLOBUS_CLIENT_ID", default_value = TUTORIAL_CLIENT_ID)]
    client_id: String,
}

fn main() {
    let args = Args::parse();
    if let Err(err) = run(&args) {
        eprintln!("error: {err}");
        let mut source = err.source();
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let storage = DynamoDbStorage::builder(&args.table)
        .namespace(&args.namespace)
        .build()?;
    if args.create {
        eprintln!("'{}' create in progress.", args.table);
        eprintln!("Waiting for active status...");
        storage.create_table(
            CreateTableOptions::default()
                .billing(Billing::Provisioned { read: 5, write: 5 })
                .wait(Duration::from_secs(300)),
        )?;
        eprintln!("ok");
        return Ok(());
    }
    let storage = Arc::new(storage);
    let client = Arc::new(AuthClient::native(&args.client_id)?);
    let tokens = match storage.get_token_data(GROUPS_RESOURCE_SERVER)? {
        Some(tokens) => tokens,
        None => login(&client, &storage)?,
    };
    let refresh_token = tokens
        .refresh_token
        .clone()
        .ok_or("the stored Groups tokens have no refresh token; remove them and log in again")?;
    let authorizer = RefreshTokenAuthorizer::builder(refresh_token, Arc::clone(&client))
        .resource_server(GROUPS_RESOURCE_SERVER)
        .token_data(&tokens)
        .on_refresh_storage(Arc::clone(&storage))
        .build()?;
    let agent = AuthorizedAgent::new(authorizer);
    let groups_url = std::env::var("GLOBUS_SDK_SERVICE_URL_GROUPS")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| GROUPS_DEFAULT_URL.to_owned());
    let separator = if groups_url.ends_with('/') { "" } else { "/" };
    let reply = agent.get(&format!("{groups_url}{separator}v2/groups/my_groups"))?;
    if reply.status != 200 {
        return Err(format!("Groups API answered HTTP {}", reply.status).into());
    }
    let groups: Value = serde_json::from_slice(&reply.body)?;
    print!("{}", groups_csv(&groups)?);
    Ok(())
}

/// The native-app login: authorize URL to stderr, code from stdin, tokens into the store.
fn login(client: &AuthClient, storage: &DynamoDbStorage) -> Result<TokenData, Box<dyn Error>> {
    let verifier = PkceVerifier::generate()?;
    let params = AuthorizeParams::new(GROUPS_SCOPE, &verifier).refresh_tokens(true);
    eprintln!(
        "Please go to this URL and login:\n\n{}\n",
        client.oauth2_get_authorize_url(&params)
    );
    eprint!("Please enter the code here: ");
    let mut code = String::new();
    std::io::stdin().lock().read_line(&mut code)?;
    let code = Secret::new(code.trim());
    if code.expose().is_empty() {
        return Err("no code entered".into());
    }
    let response = client.oauth2_exchange_code_for_tokens(
        &code,
        &client.default_native_redirect_uri(),
        Some(&verifier),
    )?;
    storage.store(&response)?;
    response
        .by_resource_server()
        .remove(GROUPS_RESOURCE_SERVER)
        .ok_or_else(|| "the login returned no tokens for the Groups API".into())
}

/// The seed's CSV: `ID,Name,Type,Session Enforcement,Roles`.
fn groups_csv(groups: &Value) -> Result<String, Box<dyn Error>> {
    let groups = groups
        .as_array()
        .ok_or("the Groups API's my_groups reply is not a list")?;
    let text = |group: &Value, field: &str| {
        group
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut out = String::from("ID,Name,Type,Session Enforcement,Roles\n");
    for group in groups {
        let enforcement = if group.get("enforce_session").and_then(Value::as_bool) == Some(true) {
            "strict"
        } else {
            "not strict"
        };
        let roles: BTreeSet<&str> = group
            .get("my_memberships")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|membership| membership.get("role").and_then(Value::as_str))
            .collect();
        let roles: Vec<&str> = roles.into_iter().collect();
        out.push_str(
            &[
                text(group, "id"),
                text(group, "name"),
                text(group, "group_type"),
                enforcement.to_owned(),
                roles.join(","),
            ]
            .join(","),
        );
        out.push('\n');
    }
    Ok(out)
}
