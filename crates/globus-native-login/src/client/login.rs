//! The login flow (PKCE through the code handlers) and logout.

use globus_authorizers::{AuthorizeParams, PkceVerifier};
use globus_tokens_core::Secret;

use super::{LoginOptions, NativeClient, TokensByResourceServer, scope_set};
use crate::error::{LoginError, Result, RevocationFailure, TokenKind};
use crate::handlers::{CodeOutcome, HandlerContext};
use crate::storage::login_group;

/// A random `state` for the authorize URL: 32 bytes, hex.
fn random_state() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| {
        LoginError::InvalidConfig(format!(
            "the operating system's random source failed: {err}"
        ))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl NativeClient {
    /// Log in, or return saved tokens that already do.
    ///
    /// Unless `force`, first tries [`NativeClient::load_tokens`] for the requested scopes (or
    /// the default scopes) and returns its tokens without any request; any of its load errors
    /// (no tokens, scopes missing, expired) starts a flow, other errors are returned. The flow:
    /// a PKCE verifier and random `state`, each code handler in turn (skipping unavailable ones
    /// and moving on when one is cancelled), the authorize URL with the handler's redirect URI,
    /// the grant name `"{app_name} Login"` unless given, `access_type=offline` when
    /// `refresh_tokens`, and the extra query parameters; then the code is exchanged, the tokens
    /// are merged into storage (when there is storage) and returned by resource server, with
    /// `identity_id` (from the `id_token`, when `openid` was asked for) kept wherever the
    /// storage can hold it.
    pub fn login(&self, options: &LoginOptions) -> Result<TokensByResourceServer> {
        let scopes: Vec<String> = match &options.requested_scopes {
            Some(scopes) if !scopes.is_empty() => scopes.clone(),
            _ => self.default_scopes.clone(),
        };
        if !options.force {
            match self.load_tokens(&scopes) {
                Ok(tokens) => return Ok(tokens),
                Err(err) if err.is_load_error() => {}
                Err(err) => return Err(err),
            }
        }
        let scope_list: Vec<String> = scope_set(&scopes).into_iter().collect();
        if scope_list.is_empty() {
            return Err(LoginError::InvalidConfig(
                "no scopes to log in with: give requested scopes or default scopes".to_owned(),
            ));
        }
        // Keep the caller's order in the URL.
        let mut ordered: Vec<String> = Vec::new();
        for scope in scopes.iter().flat_map(|s| s.split_whitespace()) {
            if !ordered.iter().any(|s| s == scope) {
                ordered.push(scope.to_owned());
            }
        }
        let verifier = PkceVerifier::generate()?;
        let state = random_state()?;
        let grant_name = options
            .prefill_named_grant
            .clone()
            .unwrap_or_else(|| format!("{} Login", self.app_name));
        let context = HandlerContext::new(&self.app_name)
            .no_local_server(options.no_local_server)
            .no_browser(options.no_browser);
        let mut tried = Vec::new();
        for handler in &self.code_handlers {
            if !handler.is_available(&context) {
                continue;
            }
            tried.push(handler.name().to_owned());
            let session = handler.start(&context)?;
            let redirect_uri = session
                .redirect_uri()
                .unwrap_or_else(|| self.auth_client.default_native_redirect_uri());
            let mut params = AuthorizeParams::new(ordered.join(" "), &verifier)
                .redirect_uri(redirect_uri.clone())
                .state(state.clone())
                .refresh_tokens(options.refresh_tokens)
                .prefill_named_grant(grant_name.clone());
            for (name, value) in &options.query_params {
                params = params.query_param(name.clone(), value.clone());
            }
            let url = self.auth_client.oauth2_get_authorize_url(&params);
            match session.authenticate(&url, &state)? {
                CodeOutcome::Code(code) => {
                    return self.finish_login(&code, &redirect_uri, &verifier);
                }
                CodeOutcome::Cancelled => {}
            }
        }
        Err(LoginError::NoAuthorizationCode { tried })
    }

    fn finish_login(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokensByResourceServer> {
        let response =
            self.auth_client
                .oauth2_exchange_code_for_tokens(code, redirect_uri, Some(verifier))?;
        let tokens: TokensByResourceServer = response
            .by_resource_server()
            .iter()
            .map(|(rs, data)| (rs.clone(), login_group(data)))
            .collect();
        match self.save_tokens(&tokens) {
            Ok(()) | Err(LoginError::StorageDisabled) => Ok(tokens),
            Err(err) => Err(err),
        }
    }

    /// Revoke the saved tokens, then clear storage. If any revocation fails, storage is left
    /// untouched and [`LoginError::Revocation`] lists what failed.
    pub fn logout(&self) -> Result<()> {
        let storage = self.storage()?;
        let tokens = storage.read_tokens()?;
        self.revoke_token_set(&tokens)?;
        storage.clear_tokens()?;
        Ok(())
    }

    /// Revoke every access token and refresh token in `tokens` (never a missing or empty one).
    /// Every token is tried; failures are collected into [`LoginError::Revocation`].
    pub fn revoke_token_set(&self, tokens: &TokensByResourceServer) -> Result<()> {
        let mut failures = Vec::new();
        for (rs, group) in tokens {
            let candidates = [
                (TokenKind::Access, Some(&group.access_token)),
                (TokenKind::Refresh, group.refresh_token.as_ref()),
            ];
            for (kind, token) in candidates {
                let Some(token) = token.filter(|t| !t.expose().is_empty()) else {
                    continue;
                };
                if let Err(error) = self.auth_client.oauth2_revoke_token(token) {
                    failures.push(RevocationFailure {
                        resource_server: rs.clone(),
                        kind,
                        error,
                    });
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(LoginError::Revocation { failures })
        }
    }
}
