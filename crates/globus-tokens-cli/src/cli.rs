//! The command line, as clap sees it.

use clap::{Args, Parser, Subcommand, ValueEnum};

use globus_tokens::StoreSpec;
use globus_tokens::spec::DEFAULT_STORE;

const AFTER_HELP: &str = "\
Stores (--store):
  sqlite:PATH            globus-sdk's SQLite format (default: sqlite:~/.globus/tokens.db)
  json:PATH              globus-sdk's JSON format 2.0 (JSONTokenStorage), namespaced
  json1:PATH             globus-sdk's JSON format 1.0 (SimpleJSONFileAdapter)
  frl:PATH#CLIENT_ID     fair-research-login's ~/.globus-native-apps.cfg, section CLIENT_ID
  dynamodb:TABLE[?region=R&endpoint=URL&layout=seed|composite]
                         the seed layout (default) cannot list: name the
                         resource servers to list, refresh or log out of
  app:NAME[?storage=json|sqlite]
                         the token file of globus-sdk's GlobusApp NAME for
                         --client-id: ~/.globus/app/CLIENT_ID/NAME/tokens.json
                         (.db); namespace DEFAULT; logins keep one identity

Client credentials (--client-secret) keep their tokens in namespace
clientprofile/CLIENT_ID, apart from the user's tokens, unless --namespace is given
(app: stores keep everything in DEFAULT, as GlobusApp does).

Exit codes: 0 ok, 1 error, 2 usage, 3 login required.
Globus Auth is found as globus-sdk finds it: GLOBUS_SDK_ENVIRONMENT, GLOBUS_SDK_SERVICE_URL_AUTH.

Examples:
  globus-tokens login \\
      --scope urn:globus:auth:scope:transfer.api.globus.org:all
  TOKEN=$(globus-tokens token transfer.api.globus.org)
  curl -H \"Authorization: Bearer $TOKEN\" \\
      https://transfer.api.globus.org/v0.10/task_list
  globus-tokens --format json list";

/// Store, inspect and renew Globus Auth tokens.
#[derive(Debug, Parser)]
#[command(name = "globus-tokens", version, about, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Where tokens are kept: sqlite:PATH, json:PATH, json1:PATH, frl:PATH#CLIENT_ID,
    /// dynamodb:TABLE[?region=R&endpoint=URL&layout=seed|composite] or
    /// app:NAME[?storage=json|sqlite] (see `globus-tokens --help`).
    #[arg(long, global = true, env = "GLOBUS_TOKENS_STORE", default_value = DEFAULT_STORE, value_parser = clap::value_parser!(StoreSpec))]
    pub(crate) store: StoreSpec,

    /// Namespace within the store (default DEFAULT, or clientprofile/CLIENT_ID with
    /// --client-secret; `list` shows every namespace unless given; `list` and `migrate` take
    /// several).
    #[arg(long = "namespace", global = true, value_name = "NAMESPACE")]
    pub(crate) namespaces: Vec<String>,

    /// The Globus app's client id (a native app unless --client-secret is given).
    #[arg(long, global = true, env = "GLOBUS_CLIENT_ID")]
    pub(crate) client_id: Option<String>,

    /// Client secret of a confidential app: logs in with client credentials.
    #[arg(
        long,
        global = true,
        env = "GLOBUS_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub(crate) client_secret: Option<String>,

    /// Output format for data printed on standard output.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// Print no progress or status lines on standard error.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,

    /// Print more about what is being done: -v progress, -vv debugging detail.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people: aligned columns and sentences.
    Text,
    /// For scripts: one JSON document, stable field names (see docs/cli.md).
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Log in to Globus and store the tokens.
    #[command(after_help = "\
Native apps (no --client-secret) log in in a browser with PKCE: a local server on 127.0.0.1 receives
the code, or, with --no-local-server or over SSH, you paste the code shown by Globus. With
--client-secret, the app itself gets tokens with the client credentials grant, kept in namespace
clientprofile/CLIENT_ID unless --namespace is given. Stores: see `globus-tokens --help`.

Examples:
  globus-tokens --client-id $APP login --scope openid \\
      --scope urn:globus:auth:scope:transfer.api.globus.org:all
  globus-tokens --client-id $APP login --no-local-server --no-browser
  GLOBUS_CLIENT_SECRET=... globus-tokens --client-id $APP login \\
      --scope urn:globus:auth:scope:transfer.api.globus.org:all")]
    Login(LoginArgs),

    /// List stored tokens: namespace, resource server, scopes, expiry, refresh token (no secrets).
    #[command(after_help = "\
A store that cannot list its contents (dynamodb: with the seed layout) lists the resource servers
named on the command line. Stores: see `globus-tokens --help`.

Examples:
  globus-tokens list
  globus-tokens --store json:tokens.json --format json list
  globus-tokens --store dynamodb:tokens list transfer.api.globus.org")]
    List {
        /// Only these resource servers (needed for stores that cannot list).
        resource_servers: Vec<String>,
    },

    /// Show one resource server's tokens (secrets redacted unless --show-secrets).
    #[command(
        after_help = "Examples:\n  globus-tokens show transfer.api.globus.org\n  globus-tokens --format json show auth.globus.org --show-secrets\n\nStores: see `globus-tokens --help`."
    )]
    Show {
        /// The resource server, e.g. transfer.api.globus.org.
        resource_server: String,
        /// Print the access and refresh tokens themselves.
        #[arg(long)]
        show_secrets: bool,
    },

    /// Print a valid access token, renewing (and saving) it first if it is stale.
    #[command(after_help = "\
Renewal uses the stored refresh token and needs --client-id (or GLOBUS_CLIENT_ID); with a client
secret and no refresh token, the client credentials grant is used. Processes sharing a store
renew once. Stores: see `globus-tokens --help`.

Examples:
  globus-tokens token transfer.api.globus.org
  TOKEN=$(globus-tokens token groups.api.globus.org)
  curl -H \"Authorization: Bearer $TOKEN\" \\
      https://groups.api.globus.org/v2/groups/my_groups")]
    Token {
        /// The resource server, e.g. transfer.api.globus.org.
        resource_server: String,
    },

    /// Ask Globus Auth about the stored access token of a resource server (introspection).
    #[command(after_help = "\
Needs a confidential client (--client-id and GLOBUS_CLIENT_SECRET or --client-secret): Globus
Auth only lets clients introspect. With a secret the namespace defaults to the client's own
(clientprofile/CLIENT_ID); --namespace DEFAULT introspects the user's tokens. The stored token is
sent as it is, not renewed: an expired or revoked one shows as not active. Stores: see
`globus-tokens --help`.

Examples:
  GLOBUS_CLIENT_SECRET=... globus-tokens --client-id $APP \\
      introspect transfer.api.globus.org
  GLOBUS_CLIENT_SECRET=... globus-tokens --client-id $APP --namespace DEFAULT \\
      --format json introspect auth.globus.org")]
    Introspect {
        /// The resource server, e.g. transfer.api.globus.org.
        resource_server: String,
    },

    /// Show who the stored login is (Globus Auth's userinfo for the auth.globus.org token).
    #[command(after_help = "\
Uses the stored auth.globus.org token (log in with --scope openid --scope profile --scope email),
renewing it first if it is stale (which needs --client-id). Stores: see `globus-tokens --help`.

Examples:
  globus-tokens whoami
  globus-tokens --format json whoami")]
    Whoami,

    /// Renew tokens now, whether or not they are stale (all resource servers if none given).
    #[command(
        after_help = "Examples:\n  globus-tokens refresh\n  globus-tokens refresh transfer.api.globus.org groups.api.globus.org\n\nStores: see `globus-tokens --help`."
    )]
    Refresh {
        /// Resource servers to renew.
        resource_servers: Vec<String>,
    },

    /// Revoke tokens with Globus Auth, then remove them from the store (all if none given).
    #[command(
        visible_alias = "revoke",
        after_help = "\
A token whose revocation fails stays in the store, and the command fails.
Stores: see `globus-tokens --help`.

Examples:
  globus-tokens logout
  globus-tokens revoke transfer.api.globus.org"
    )]
    Logout {
        /// Resource servers to log out of.
        resource_servers: Vec<String>,
    },

    /// Copy tokens (and config, where both stores have it) from one store to another.
    #[command(after_help = "\
Refuses, changing nothing, when the destination holds a newer token (later expiry) for any
resource server, unless --force. The source is never modified. Without --namespace every
namespace of the source is copied. Stores: see `globus-tokens --help`.

Examples:
  globus-tokens migrate --from json1:~/.globus/tokens.json \\
      --to sqlite:~/.globus/tokens.db
  globus-tokens migrate --from sqlite:old.db --to json:new.json \\
      --namespace DEFAULT --namespace userprofile/alice")]
    Migrate(MigrateArgs),

    /// Create the DynamoDB table of a dynamodb: store and wait until it is active.
    #[command(
        name = "create-table",
        after_help = "\
Stores: see `globus-tokens --help`.

Examples:
  globus-tokens --store 'dynamodb:globus-tokens?region=us-east-1' create-table
  globus-tokens create-table --provisioned 5 \\
      --store 'dynamodb:tokens?endpoint=http://127.0.0.1:8000&layout=composite'"
    )]
    CreateTable {
        /// Provisioned read and write capacity units instead of on-demand billing.
        #[arg(long, value_name = "UNITS")]
        provisioned: Option<i64>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// A scope to request (repeat for more; default: openid profile email + transfer).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub(crate) scopes: Vec<String>,
    /// Ask for refresh tokens (the default).
    #[arg(long, overrides_with = "no_refresh_tokens")]
    pub(crate) refresh_tokens: bool,
    /// Do not ask for refresh tokens: tokens expire after 48 hours.
    #[arg(long)]
    pub(crate) no_refresh_tokens: bool,
    /// Do not start a local server for the redirect; paste the code instead.
    #[arg(long)]
    pub(crate) no_local_server: bool,
    /// Do not open a browser; print the URL.
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Log in even if stored tokens already cover the scopes.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The store to copy from (read only).
    #[arg(long, value_parser = clap::value_parser!(StoreSpec))]
    pub(crate) from: StoreSpec,
    /// The store to copy to (created if missing).
    #[arg(long, value_parser = clap::value_parser!(StoreSpec))]
    pub(crate) to: StoreSpec,
    /// Overwrite newer tokens in the destination.
    #[arg(long)]
    pub(crate) force: bool,
}
