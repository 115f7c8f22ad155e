//! Stores as the command uses them: opening errors phrased for the command line, a store that
//! cannot list seen through the resource servers a command knows, and checks made before a
//! login so that no code is exchanged for tokens that could not be kept.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use globus_tokens::app::validating::{
    RootScope, ScopeRequirementsValidator, TokenDataByResourceServer, TokenDataValidator,
    TokenValidationContext, TokenValidationError, UnchangingIdentityIdValidator,
    ValidatingTokenStorage,
};
use globus_tokens::authorizers::SdkEnv;
use globus_tokens::{
    ConfigStorage, EnumerableTokenStorage, OpenError, Result, SpecError, StoreSpec, SwapOutcome,
    TokenData, TokenResponse, TokenStorage, UpdateFn,
};

use crate::cli::{Cli, Command};
use crate::error::{CliError, one_line};

impl From<SpecError> for CliError {
    fn from(err: SpecError) -> Self {
        CliError::usage(one_line(&err.to_string()))
    }
}

/// Locate every `app:` store on the command line (`--store`, `migrate --from/--to`) for
/// `--client-id`, in the environment and home directory globus-sdk would use, so the rest of the
/// command sees ordinary file stores.
pub(crate) fn resolve_app_stores(cli: &mut Cli) -> std::result::Result<(), CliError> {
    let env = SdkEnv::process();
    let client_id = cli.global.client_id.clone();
    let resolve = |spec: &mut StoreSpec| -> std::result::Result<(), CliError> {
        *spec = spec.resolve_app(client_id.as_deref(), &env)?;
        Ok(())
    };
    resolve(&mut cli.global.store)?;
    if let Command::Migrate(args) = &mut cli.command {
        resolve(&mut args.from)?;
        resolve(&mut args.to)?;
    }
    Ok(())
}

/// Whether `spec` is a GlobusApp's store (`app:`).
pub(crate) fn is_app_store(spec: &StoreSpec) -> bool {
    matches!(spec, StoreSpec::App(_))
}

/// `store` as a user app validates it (globus-sdk's `UserApp`): tokens written must name an
/// identity, the same as the stored tokens', and must grant the root scopes the login asked
/// for (by the resource server each scope's text names).
///
/// The scope check runs on writes only: tokens read before a login that do not cover new
/// scopes are what makes the login happen, not an error.
pub(crate) fn user_app_storage(
    store: Arc<dyn TokenStorage>,
    scopes: &[String],
) -> std::result::Result<Arc<dyn TokenStorage>, CliError> {
    let mut requirements: BTreeMap<String, Vec<RootScope>> = BTreeMap::new();
    for scope in scopes {
        if let Some(resource_server) = resource_server_of_scope(scope) {
            let root = scope.split('[').next().unwrap_or(scope).trim();
            requirements
                .entry(resource_server)
                .or_default()
                .push(RootScope::new(root));
        }
    }
    let validating = ValidatingTokenStorage::new(store)
        .map_err(|err| CliError::failure(one_line(&err.to_string())))?
        .with_validator(UnchangingIdentityIdValidator)
        .with_validator(OnWrite(ScopeRequirementsValidator::roots_only(
            requirements,
        )));
    Ok(Arc::new(validating))
}

/// A validator applied to writes only.
#[derive(Debug)]
struct OnWrite<V>(V);

impl<V: TokenDataValidator> TokenDataValidator for OnWrite<V> {
    fn before_store(
        &self,
        token_data: &TokenDataByResourceServer,
        context: &TokenValidationContext,
    ) -> std::result::Result<(), TokenValidationError> {
        self.0.before_store(token_data, context)
    }
}

/// The message for a write the app's validation refused, if `err` is one.
pub(crate) fn validation_refusal(
    err: &(dyn std::error::Error + 'static),
    spec: &StoreSpec,
) -> Option<CliError> {
    TokenValidationError::find_in(err).map(|refusal| {
        CliError::failure(one_line(&format!(
            "{spec} did not keep the new tokens: {refusal}"
        )))
    })
}

impl From<OpenError> for CliError {
    fn from(err: OpenError) -> Self {
        let message = one_line(&err.to_string());
        match err {
            OpenError::NotFound { .. } | OpenError::Empty { .. } => {
                CliError::login_required(format!("{message}; run `globus-tokens login`"))
            }
            OpenError::NoNamespaces { .. }
            | OpenError::SchemeDisabled { .. }
            | OpenError::Spec(_) => CliError::usage(message),
            _ => CliError::failure(message),
        }
    }
}

/// The resource server a scope belongs to, when the scope's text says so: `openid`, `profile`,
/// `email` and `urn:globus:auth:scope:RS:NAME` name it; `https://auth.globus.org/scopes/RS/NAME`
/// names the resource server's client id. Dependent scopes (`[...]`) are ignored.
pub(crate) fn resource_server_of_scope(scope: &str) -> Option<String> {
    let scope = scope.split('[').next().unwrap_or(scope);
    match scope {
        "openid" | "profile" | "email" => return Some("auth.globus.org".to_owned()),
        _ => {}
    }
    if let Some(rest) = scope.strip_prefix("urn:globus:auth:scope:") {
        return rest
            .split(':')
            .next()
            .filter(|rs| !rs.is_empty())
            .map(str::to_owned);
    }
    if let Some(rest) = scope.strip_prefix("https://auth.globus.org/scopes/") {
        return rest
            .split('/')
            .next()
            .filter(|rs| !rs.is_empty())
            .map(str::to_owned);
    }
    None
}

/// A store that cannot list its contents (DynamoDB's seed layout), listed as the resource
/// servers a command knows about: those a login asks for, or those the user names.
pub(crate) struct KnownResourceServers {
    inner: Arc<dyn TokenStorage>,
    resource_servers: Vec<String>,
}

impl KnownResourceServers {
    /// `inner` itself if it lists; otherwise `inner` listed as `resource_servers`.
    pub(crate) fn wrap(
        inner: Arc<dyn TokenStorage>,
        resource_servers: impl IntoIterator<Item = String>,
    ) -> Arc<dyn TokenStorage> {
        if inner.as_enumerable().is_some() {
            return inner;
        }
        let mut resource_servers: Vec<String> = resource_servers.into_iter().collect();
        resource_servers.sort();
        resource_servers.dedup();
        Arc::new(KnownResourceServers {
            inner,
            resource_servers,
        })
    }
}

impl TokenStorage for KnownResourceServers {
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }
    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        self.inner.store_token_data(token_data)
    }
    fn store(&self, response: &TokenResponse) -> Result<()> {
        self.inner.store(response)
    }
    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        self.inner.get_token_data(resource_server)
    }
    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        self.inner.remove_token_data(resource_server)
    }
    fn on_refresh(&self, response: &TokenResponse) -> Result<()> {
        self.inner.on_refresh(response)
    }
    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        self.inner.compare_and_swap(expected, new)
    }
    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        self.inner.update_token_data(resource_server, update)
    }
    fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
        Some(self)
    }
    fn as_config_storage(&self) -> Option<&dyn ConfigStorage> {
        self.inner.as_config_storage()
    }
}

impl EnumerableTokenStorage for KnownResourceServers {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        let mut found = BTreeMap::new();
        for rs in &self.resource_servers {
            if let Some(data) = self.inner.get_token_data(rs)? {
                found.insert(rs.clone(), data);
            }
        }
        Ok(found)
    }

    fn namespaces(&self) -> Result<Vec<String>> {
        Ok(vec![self.inner.namespace().to_owned()])
    }
}

/// Whether a new file could be created at `path`: its nearest existing ancestor directory
/// accepts a new file (tried with a probe file that is removed at once), so that a login does
/// not exchange a code for tokens it cannot write. Creates nothing that stays.
pub(crate) fn check_creatable(path: &Path, spec: &str) -> std::result::Result<(), CliError> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut dir = absolute.parent();
    while let Some(candidate) = dir {
        if candidate.exists() {
            break;
        }
        dir = candidate.parent();
    }
    let Some(dir) = dir else {
        return Err(CliError::failure(format!(
            "cannot create {spec}: no existing directory above it"
        )));
    };
    if !dir.is_dir() {
        return Err(CliError::failure(format!(
            "cannot create {spec}: {} is not a directory",
            dir.display()
        )));
    }
    let probe = dir.join(format!(".globus-tokens-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(err) => Err(CliError::failure(format!(
            "cannot create {spec}: {} is not writable ({err})",
            dir.display()
        ))),
    }
}

/// Whether the existing file at `path` can be written (opened for writing without changing it).
pub(crate) fn check_writable(path: &Path, spec: &str) -> std::result::Result<(), CliError> {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|err| CliError::failure(format!("cannot write {spec}: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_their_resource_servers() {
        for (scope, rs) in [
            ("openid", Some("auth.globus.org")),
            ("email", Some("auth.globus.org")),
            (
                "urn:globus:auth:scope:transfer.api.globus.org:all",
                Some("transfer.api.globus.org"),
            ),
            (
                "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/x/data_access]",
                Some("transfer.api.globus.org"),
            ),
            (
                "https://auth.globus.org/scopes/5f1d2c3e/https",
                Some("5f1d2c3e"),
            ),
            ("weird", None),
            ("urn:globus:auth:scope:", None),
        ] {
            assert_eq!(resource_server_of_scope(scope).as_deref(), rs, "{scope}");
        }
    }
}
