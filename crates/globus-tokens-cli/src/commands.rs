//! The subcommands that work on stored tokens.

use std::collections::BTreeMap;
use std::sync::Arc;

use globus_tokens::authorizers::{AuthClient, EXPIRES_ADJUST_SECONDS, StoreRenewal};
use globus_tokens::{
    Clock, DEFAULT_NAMESPACE, Error, OpenError, OpenMode, StoreSpec, SystemClock, TokenData,
    TokenStorage,
};
use serde_json::{Value, json};

use crate::cli::{Global, MigrateArgs};
use crate::error::CliError;
use crate::output::{Output, expiry_is_plausible, expiry_text, human_duration, table};

/// What every subcommand gets: the global options and the output.
pub(crate) struct Context {
    pub(crate) global: Global,
    pub(crate) out: Output,
}

impl Context {
    /// The namespace client-credential tokens are kept in by default: apart from the user's,
    /// named after the client, as globus-cli's `clientprofile/...`. `None` without a secret,
    /// and for an app store, where a `ClientApp` keeps its tokens in `DEFAULT`.
    pub(crate) fn client_namespace(&self) -> Option<String> {
        if crate::store::is_app_store(&self.global.store) {
            return None;
        }
        match (&self.global.client_id, &self.global.client_secret) {
            (Some(id), Some(_)) => Some(format!("clientprofile/{id}")),
            _ => None,
        }
    }

    /// The one namespace a command works in: `--namespace`, else globus-cli's login namespace
    /// for the globus-cli store, else the client's own namespace with a client secret, else
    /// `DEFAULT`.
    pub(crate) fn namespace(&self) -> Result<String, CliError> {
        let globus_cli = crate::globus_cli::spec(self).map(|cli| cli.namespace.clone());
        match self.global.namespaces.as_slice() {
            [] if globus_cli.is_some() => Ok(globus_cli.unwrap_or_default()),
            [] => Ok(self
                .client_namespace()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())),
            [one] => Ok(one.clone()),
            _ => Err(CliError::usage("this command takes one --namespace")),
        }
    }

    /// Open the store in the command's namespace.
    pub(crate) fn open(&self, mode: OpenMode) -> Result<Arc<dyn TokenStorage>, CliError> {
        let namespace = self.namespace()?;
        let spec = &self.global.store;
        match (crate::store::is_app_store(spec), spec.file()) {
            (true, Some(file)) => self.out.detail(&format!(
                "store: {spec} ({}, namespace {namespace})",
                file.display()
            )),
            _ => self
                .out
                .detail(&format!("store: {spec} (namespace {namespace})")),
        }
        open(spec, &namespace, mode)
            .map(Arc::from)
            .map_err(|err| self.open_error(err))
    }

    /// An error opening the store, phrased for the command line.
    pub(crate) fn open_error(&self, err: OpenError) -> CliError {
        match err {
            OpenError::NoNamespaces { spec, namespace }
                if self.global.namespaces.is_empty() && self.client_namespace().is_some() =>
            {
                CliError::usage(format!(
                    "{spec} has no namespaces, and client-credential tokens are kept apart from \
                     the user's (in {namespace}): use a store with namespaces, or \
                     --namespace DEFAULT to keep them in this one"
                ))
            }
            err => crate::globus_cli::open_error(&self.global.store, err),
        }
    }

    /// The Globus Auth client from --client-id / --client-secret; `purpose` says what needs it.
    pub(crate) fn auth_client(&self, purpose: &str) -> Result<Arc<AuthClient>, CliError> {
        let Some(client_id) = &self.global.client_id else {
            return Err(CliError::usage(format!(
                "{purpose} needs --client-id (or GLOBUS_CLIENT_ID)"
            )));
        };
        let mut builder = AuthClient::builder(client_id.as_str());
        if let Some(secret) = &self.global.client_secret {
            builder = builder.client_secret(secret.as_str());
        }
        let client = builder.build()?;
        self.out
            .detail(&format!("Globus Auth: {}", client.base_url()));
        Ok(Arc::new(client))
    }
}

/// Open `spec` in `namespace` (every command opens stores through here, for `-vv`).
pub(crate) fn open(
    spec: &StoreSpec,
    namespace: &str,
    mode: OpenMode,
) -> Result<Box<dyn TokenStorage>, OpenError> {
    tracing::debug!(store = %spec, namespace, ?mode, "opening the store");
    spec.open(namespace, mode)
}

pub(crate) fn now() -> i64 {
    SystemClock.now_seconds()
}

/// No tokens for `resource_server` in the store: what to run.
pub(crate) fn missing(
    ctx: &Context,
    store: &Arc<dyn TokenStorage>,
    resource_server: &str,
) -> CliError {
    match crate::globus_cli::spec(ctx) {
        Some(cli) => crate::globus_cli::missing_login(cli, store, resource_server),
        None => no_tokens(ctx, resource_server),
    }
}

pub(crate) fn no_tokens(ctx: &Context, resource_server: &str) -> CliError {
    let namespace = ctx
        .namespace()
        .unwrap_or_else(|_| DEFAULT_NAMESPACE.to_owned());
    CliError::login_required(format!(
        "no tokens for {resource_server} in {} (namespace {namespace}); run `globus-tokens login`",
        ctx.global.store
    ))
}

/// A store that cannot list was asked for a list: say what to name instead.
fn cannot_list(spec: &StoreSpec, command: &str) -> CliError {
    CliError::usage(format!(
        "{spec} (DynamoDB seed layout) cannot list its contents: name the resource servers, \
         as in `globus-tokens {command} RESOURCE_SERVER...`"
    ))
}

fn entry_json(namespace: &str, data: &TokenData, now: i64) -> Value {
    json!({
        "namespace": namespace,
        "resource_server": data.resource_server,
        "scopes": data.scopes().collect::<Vec<_>>(),
        "expires_at_seconds": data.expires_at_seconds,
        "expires_in_seconds": data.expires_in_seconds_at(now),
        "expiry_valid": expiry_is_plausible(data.expires_at_seconds),
        "expired": data.is_expired_at(now, 0),
        "has_refresh_token": data.refresh_token.is_some(),
        "token_type": data.token_type,
        "identity_id": data.identity_id,
    })
}

/// Every namespace holding tokens in `spec` (just `DEFAULT` for formats without namespaces).
fn all_namespaces(spec: &StoreSpec, command: &str) -> Result<Vec<String>, CliError> {
    if !spec.has_namespaces() {
        return Ok(vec![DEFAULT_NAMESPACE.to_owned()]);
    }
    if !spec.can_list() {
        return Err(cannot_list(spec, command));
    }
    let store = open(spec, DEFAULT_NAMESPACE, OpenMode::Existing)
        .map_err(|err| crate::globus_cli::open_error(spec, err))?;
    let listing = store
        .as_enumerable()
        .ok_or_else(|| cannot_list(spec, command))?;
    Ok(listing.namespaces()?)
}

/// `list [RS]...`
pub(crate) fn list(ctx: &Context, named: &[String]) -> Result<(), CliError> {
    let spec = &ctx.global.store;
    let namespaces = if !ctx.global.namespaces.is_empty() {
        ctx.global.namespaces.clone()
    } else if !named.is_empty() && !spec.can_list() {
        vec![ctx.namespace()?]
    } else {
        all_namespaces(spec, "list")?
    };
    let now = now();
    let mut entries = Vec::new();
    for namespace in &namespaces {
        let store = open(spec, namespace, OpenMode::Existing)
            .map_err(|err| crate::globus_cli::open_error(spec, err))?;
        if named.is_empty() {
            let listing = store
                .as_enumerable()
                .ok_or_else(|| cannot_list(spec, "list"))?;
            for data in listing.get_by_resource_server()?.into_values() {
                entries.push((namespace.clone(), data));
            }
        } else {
            for resource_server in named {
                if let Some(data) = store.get_token_data(resource_server)? {
                    entries.push((namespace.clone(), data));
                }
            }
        }
    }
    ctx.out.data(
        || {
            if entries.is_empty() {
                return format!("no tokens in {spec}");
            }
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|(namespace, data)| {
                    vec![
                        namespace.clone(),
                        data.resource_server.clone(),
                        data.scope.clone(),
                        expiry_text(data.expires_at_seconds, now),
                        if data.refresh_token.is_some() { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            table(&["NAMESPACE", "RESOURCE SERVER", "SCOPES", "EXPIRES IN", "REFRESH TOKEN"], &rows)
        },
        || json!({"store": spec.to_string(), "tokens": entries.iter().map(|(ns, d)| entry_json(ns, d, now)).collect::<Vec<_>>()}),
    )
}

/// `show RS`
pub(crate) fn show(
    ctx: &Context,
    resource_server: &str,
    show_secrets: bool,
) -> Result<(), CliError> {
    let store = ctx.open(OpenMode::Existing)?;
    let data = store
        .get_token_data(resource_server)?
        .ok_or_else(|| missing(ctx, &store, resource_server))?;
    let namespace = ctx.namespace()?;
    let now = now();
    let secret = |value: &globus_tokens::Secret| {
        if show_secrets {
            value.expose().to_owned()
        } else {
            format!("sha256:{} (use --show-secrets)", value.fingerprint())
        }
    };
    let access_token = secret(&data.access_token);
    let refresh_token = data.refresh_token.as_ref().map(secret);
    ctx.out.data(
        || {
            let mut lines = vec![
                format!("namespace:       {namespace}"),
                format!("resource server: {}", data.resource_server),
                format!("scopes:          {}", data.scope),
                format!(
                    "expires at:      {} ({})",
                    data.expires_at_seconds,
                    expiry_text(data.expires_at_seconds, now)
                ),
                format!(
                    "token type:      {}",
                    data.token_type.as_deref().unwrap_or("-")
                ),
                format!(
                    "identity:        {}",
                    data.identity_id.as_deref().unwrap_or("-")
                ),
                format!("access token:    {access_token}"),
                format!(
                    "refresh token:   {}",
                    refresh_token.as_deref().unwrap_or("none")
                ),
            ];
            if !data.extra.is_empty() {
                let names: Vec<&str> = data.extra.keys().map(String::as_str).collect();
                lines.push(format!("other fields:    {}", names.join(", ")));
            }
            lines.join("\n")
        },
        || {
            let mut value = entry_json(&namespace, &data, now);
            if show_secrets {
                value["access_token"] = json!(data.access_token.expose());
                value["refresh_token"] = json!(data.refresh_token.as_ref().map(|t| t.expose()));
            } else {
                value["access_token_sha256"] = json!(data.access_token.fingerprint());
                value["refresh_token_sha256"] =
                    json!(data.refresh_token.as_ref().map(|t| t.fingerprint()));
            }
            value
        },
    )
}

/// Renew `current` in the store and return what is stored afterwards. `force` renews even a
/// fresh token (but never one another process renewed meanwhile).
fn renew(
    ctx: &Context,
    store: &Arc<dyn TokenStorage>,
    current: &TokenData,
    force: bool,
) -> Result<TokenData, CliError> {
    let resource_server = current.resource_server.as_str();
    let client = match crate::globus_cli::spec(ctx) {
        Some(cli) => crate::globus_cli::renewal_client(ctx, cli, store)?,
        None => ctx.auth_client(&format!("renewing the token for {resource_server}"))?,
    };
    if current.refresh_token.is_none() && !client.is_confidential() {
        return Err(CliError::login_required(format!(
            "the token for {resource_server} {} and there is no refresh token; run `globus-tokens login`",
            if current.is_expired_at(now(), 0) {
                "has expired"
            } else {
                "needs renewing"
            }
        )));
    }
    // Forcing marks exactly this token as rejected: if another process renewed it meanwhile,
    // its token is taken instead of renewing again.
    let rejected = force.then_some(&current.access_token);
    Ok(StoreRenewal::new(client).renew(&**store, resource_server, rejected)?)
}

/// The stored token for `resource_server`, renewed (and saved) first if it is stale.
pub(crate) fn usable_token(
    ctx: &Context,
    store: &Arc<dyn TokenStorage>,
    resource_server: &str,
) -> Result<TokenData, CliError> {
    let current = store
        .get_token_data(resource_server)?
        .ok_or_else(|| missing(ctx, store, resource_server))?;
    if current.is_expired_at(now(), EXPIRES_ADJUST_SECONDS) {
        ctx.out
            .detail(&format!("renewing the token for {resource_server}"));
        renew(ctx, store, &current, false)
    } else {
        Ok(current)
    }
}

/// `token RS`
pub(crate) fn token(ctx: &Context, resource_server: &str) -> Result<(), CliError> {
    let store = ctx.open(OpenMode::Existing)?;
    let data = usable_token(ctx, &store, resource_server)?;
    ctx.out.data(
        || data.access_token.expose().to_owned(),
        || {
            json!({
                "resource_server": data.resource_server,
                "access_token": data.access_token.expose(),
                "expires_at_seconds": data.expires_at_seconds,
            })
        },
    )
}

/// The resource servers a command applies to: the named ones, or everything in the namespace.
fn targets(
    ctx: &Context,
    store: &Arc<dyn TokenStorage>,
    named: &[String],
    command: &str,
) -> Result<Vec<String>, CliError> {
    if !named.is_empty() {
        return Ok(named.to_vec());
    }
    let listing = store
        .as_enumerable()
        .ok_or_else(|| cannot_list(&ctx.global.store, command))?;
    let all: Vec<String> = listing.get_by_resource_server()?.into_keys().collect();
    if all.is_empty() {
        return Err(CliError::login_required(format!(
            "no tokens in {} (namespace {}); run `globus-tokens login`",
            ctx.global.store,
            ctx.namespace()?
        )));
    }
    Ok(all)
}

/// Run `each` for every target, reporting failures one line each; fail with the first error.
fn for_each_target(
    ctx: &Context,
    targets: &[String],
    mut each: impl FnMut(&str) -> Result<Value, CliError>,
) -> Result<Vec<Value>, CliError> {
    let mut done = Vec::new();
    let mut first_error: Option<CliError> = None;
    for resource_server in targets {
        match each(resource_server) {
            Ok(value) => done.push(value),
            Err(err) => {
                if first_error.is_some() || targets.len() > 1 {
                    ctx.out.status(&format!(
                        "globus-tokens: {resource_server}: {}",
                        err.message
                    ));
                }
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) if targets.len() > 1 => Err(CliError {
            code: err.code,
            message: format!("{} of {} failed", targets.len() - done.len(), targets.len()),
        }),
        Some(err) => Err(err),
        None => Ok(done),
    }
}

/// `refresh [RS]...`
pub(crate) fn refresh(ctx: &Context, named: &[String]) -> Result<(), CliError> {
    let store = ctx.open(OpenMode::Existing)?;
    let targets = targets(ctx, &store, named, "refresh")?;
    let renewed = for_each_target(ctx, &targets, |resource_server| {
        let current = store
            .get_token_data(resource_server)?
            .ok_or_else(|| missing(ctx, &store, resource_server))?;
        let data = renew(ctx, &store, &current, true)?;
        ctx.out.status(&format!(
            "renewed {resource_server}: expires in {}",
            human_duration(data.expires_in_seconds_at(now()))
        ));
        Ok(
            json!({"resource_server": resource_server, "expires_at_seconds": data.expires_at_seconds}),
        )
    });
    let renewed = renewed?;
    if ctx.out.format == crate::cli::Format::Json {
        ctx.out.data(String::new, || json!({"renewed": renewed}))?;
    }
    Ok(())
}

/// `logout [RS]...`
pub(crate) fn logout(ctx: &Context, named: &[String]) -> Result<(), CliError> {
    let store = ctx.open(OpenMode::Existing)?;
    let targets = targets(ctx, &store, named, "logout")?;
    let client = ctx.auth_client("revoking tokens")?;
    let removed = for_each_target(ctx, &targets, |resource_server| {
        let data = store
            .get_token_data(resource_server)?
            .ok_or_else(|| no_tokens(ctx, resource_server))?;
        // Revoke first; the entry is removed only when every token in it is revoked.
        client.oauth2_revoke_token(&data.access_token)?;
        if let Some(refresh_token) = &data.refresh_token {
            client.oauth2_revoke_token(refresh_token)?;
        }
        store.remove_token_data(resource_server)?;
        ctx.out.status(&format!("logged out of {resource_server}"));
        Ok(json!(resource_server))
    })?;
    if ctx.out.format == crate::cli::Format::Json {
        ctx.out
            .data(String::new, || json!({"logged_out": removed}))?;
    }
    Ok(())
}

/// One namespace's part of a migration, read before anything is written.
struct NamespaceCopy {
    namespace: String,
    entries: BTreeMap<String, TokenData>,
    source: Arc<dyn TokenStorage>,
    /// `None` while the destination does not exist: it is created only to write.
    destination: Option<Arc<dyn TokenStorage>>,
}

/// What the destination holds for `entries`' resource servers: one read of the whole
/// namespace when the store lists, else one read per entry.
fn destination_entries(
    destination: &dyn TokenStorage,
    entries: &BTreeMap<String, TokenData>,
) -> Result<BTreeMap<String, TokenData>, CliError> {
    if let Some(listing) = destination.as_enumerable() {
        return Ok(listing.get_by_resource_server()?);
    }
    let mut found = BTreeMap::new();
    for resource_server in entries.keys() {
        if let Some(data) = destination.get_token_data(resource_server)? {
            found.insert(resource_server.clone(), data);
        }
    }
    Ok(found)
}

/// `migrate --from --to`
pub(crate) fn migrate(ctx: &Context, args: &MigrateArgs) -> Result<(), CliError> {
    if let StoreSpec::GlobusCli(_) = args.to {
        return Err(CliError::usage(
            "the globus-cli store holds globus-cli's own login: migrate from it, not into it \
             (log in with `globus login`)",
        ));
    }
    if args.from.same_store(&args.to) {
        return Err(CliError::usage(format!(
            "--from {} and --to {} are the same store",
            args.from, args.to
        )));
    }
    let namespaces = if ctx.global.namespaces.is_empty() {
        all_namespaces(&args.from, "migrate")?
    } else {
        ctx.global.namespaces.clone()
    };
    // Read everything and check for newer destination tokens before writing anything.
    let mut plan: Vec<NamespaceCopy> = Vec::new();
    let mut conflicts = Vec::new();
    for namespace in &namespaces {
        if !args.to.has_namespaces() && namespace != DEFAULT_NAMESPACE {
            return Err(CliError::usage(format!(
                "{} has no namespaces; migrate only DEFAULT into it (--namespace DEFAULT)",
                args.to
            )));
        }
        let source: Arc<dyn TokenStorage> =
            Arc::from(open(&args.from, namespace, OpenMode::Existing)?);
        let entries = source
            .as_enumerable()
            .ok_or_else(|| {
                CliError::failure(format!(
                    "{} cannot list its contents, so it cannot be migrated from",
                    args.from
                ))
            })?
            .get_by_resource_server()?;
        let destination: Option<Arc<dyn TokenStorage>> =
            match open(&args.to, namespace, OpenMode::Existing) {
                Ok(store) => Some(Arc::from(store)),
                Err(err) if err.is_not_found() => None,
                Err(err) => return Err(err.into()),
            };
        if let Some(destination) = &destination {
            let existing = destination_entries(destination.as_ref(), &entries)?;
            for (resource_server, data) in &entries {
                if let Some(existing) = existing.get(resource_server)
                    && existing.expires_at_seconds > data.expires_at_seconds
                    && !existing.same_tokens(data)
                {
                    conflicts.push(format!("{namespace}/{resource_server}"));
                }
            }
        }
        plan.push(NamespaceCopy {
            namespace: namespace.clone(),
            entries,
            source,
            destination,
        });
    }
    if !conflicts.is_empty() && !args.force {
        return Err(CliError::failure(format!(
            "{} holds newer tokens for {} (e.g. {}); nothing copied; use --force to overwrite",
            args.to,
            conflicts.len(),
            conflicts[..conflicts.len().min(3)].join(", ")
        )));
    }
    let mut copied = Vec::new();
    let mut configs = Vec::new();
    for NamespaceCopy {
        namespace,
        entries,
        source,
        destination,
    } in plan
    {
        let destination = match destination {
            Some(destination) => destination,
            None => Arc::from(open(&args.to, &namespace, OpenMode::Create)?),
        };
        destination.store_token_data(&entries)?;
        copied.extend(
            entries
                .keys()
                .map(|rs| json!({"namespace": namespace, "resource_server": rs})),
        );
        if let (Some(from), Some(to)) =
            (source.as_config_storage(), destination.as_config_storage())
        {
            let names = match from.config_names() {
                Ok(names) => names,
                Err(Error::Unsupported { .. }) => Vec::new(),
                Err(err) => return Err(err.into()),
            };
            for name in names {
                let Some(config) = from.read_config(&name)? else {
                    continue;
                };
                match to.store_config(&name, &config) {
                    Ok(()) => configs.push(json!({"namespace": namespace, "config_name": name})),
                    Err(Error::Unsupported { .. }) => {
                        ctx.out.status(&format!(
                            "{}: no config storage, skipped config {name:?}",
                            args.to
                        ));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        }
    }
    ctx.out.status(&format!(
        "copied {} tokens and {} config objects in {} namespaces from {} to {}",
        copied.len(),
        configs.len(),
        namespaces.len(),
        args.from,
        args.to
    ));
    if ctx.out.format == crate::cli::Format::Json {
        ctx.out
            .data(String::new, || json!({"copied": copied, "config": configs}))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use globus_tokens::{EnumerableTokenStorage, MemoryTokenStorage, SwapOutcome};

    use super::*;

    /// A listing store that counts its reads.
    struct Counting {
        inner: MemoryTokenStorage,
        gets: AtomicUsize,
        lists: AtomicUsize,
    }

    impl TokenStorage for Counting {
        fn namespace(&self) -> &str {
            self.inner.namespace()
        }
        fn store_token_data(
            &self,
            data: &BTreeMap<String, TokenData>,
        ) -> globus_tokens::Result<()> {
            self.inner.store_token_data(data)
        }
        fn get_token_data(&self, rs: &str) -> globus_tokens::Result<Option<TokenData>> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get_token_data(rs)
        }
        fn remove_token_data(&self, rs: &str) -> globus_tokens::Result<bool> {
            self.inner.remove_token_data(rs)
        }
        fn compare_and_swap(
            &self,
            expected: Option<&TokenData>,
            new: &TokenData,
        ) -> globus_tokens::Result<SwapOutcome> {
            self.inner.compare_and_swap(expected, new)
        }
        fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
            Some(self)
        }
    }

    impl EnumerableTokenStorage for Counting {
        fn get_by_resource_server(&self) -> globus_tokens::Result<BTreeMap<String, TokenData>> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.inner.get_by_resource_server()
        }
        fn namespaces(&self) -> globus_tokens::Result<Vec<String>> {
            self.inner.namespaces()
        }
    }

    /// Issue 10 item 14: the destination of a migration is read once, not once per entry.
    #[test]
    fn a_listing_destination_is_read_once_for_any_number_of_entries() {
        let entries: BTreeMap<String, TokenData> = (0..2_000)
            .map(|i| {
                let rs = format!("rs{i}.example.org");
                (rs.clone(), TokenData::new(rs, "s", "AT", 2_000_000_000))
            })
            .collect();
        let destination = Counting {
            inner: MemoryTokenStorage::new(),
            gets: AtomicUsize::new(0),
            lists: AtomicUsize::new(0),
        };
        destination.store_token_data(&entries).unwrap();
        let found = destination_entries(&destination, &entries).unwrap();
        assert_eq!(found.len(), 2_000);
        assert_eq!(destination.lists.load(Ordering::SeqCst), 1);
        assert_eq!(destination.gets.load(Ordering::SeqCst), 0);
    }
}
