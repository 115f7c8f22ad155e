//! Running one client test with the blocking `AuthClient` and with `AsyncAuthClient` (driven on
//! a tokio runtime), so both are held to the same behaviour.

#![allow(unused_macros, unused_imports)]

use globus_authorizers::{AuthClient, AuthClientBuilder, AuthorizeParams, PkceVerifier, Result};
use globus_tokens_core::{Secret, TokenResponse};

/// Which client a test runs with.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Blocking,
    #[cfg(feature = "async")]
    Async,
}

/// Either client, with the blocking client's method names.
pub enum Client {
    Blocking(AuthClient),
    #[cfg(feature = "async")]
    Async(globus_authorizers::AsyncAuthClient, tokio::runtime::Runtime),
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Client::Blocking(client) => client.fmt(f),
            #[cfg(feature = "async")]
            Client::Async(client, _) => client.fmt(f),
        }
    }
}

pub trait BuildFor {
    fn try_build_for(self, kind: Kind) -> Result<Client>;

    fn build_for(self, kind: Kind) -> Client
    where
        Self: Sized,
    {
        self.try_build_for(kind).unwrap()
    }
}

impl BuildFor for AuthClientBuilder {
    fn try_build_for(self, kind: Kind) -> Result<Client> {
        match kind {
            Kind::Blocking => self.build().map(Client::Blocking),
            #[cfg(feature = "async")]
            Kind::Async => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                // reqwest's client must be built inside the runtime that drives it.
                let client = runtime.block_on(async { self.build_async() })?;
                Ok(Client::Async(client, runtime))
            }
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $client:ident => $call:expr) => {
        match $self {
            Client::Blocking($client) => $call,
            #[cfg(feature = "async")]
            Client::Async($client, runtime) => runtime.block_on(async { $call.await }),
        }
    };
}

impl Client {
    pub fn oauth2_refresh_token(&self, refresh_token: &Secret) -> Result<TokenResponse> {
        dispatch!(self, client => client.oauth2_refresh_token(refresh_token))
    }

    pub fn oauth2_client_credentials_tokens(&self, scopes: &str) -> Result<TokenResponse> {
        dispatch!(self, client => client.oauth2_client_credentials_tokens(scopes))
    }

    pub fn oauth2_exchange_code_for_tokens(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: Option<&PkceVerifier>,
    ) -> Result<TokenResponse> {
        dispatch!(self, client => client.oauth2_exchange_code_for_tokens(code, redirect_uri, verifier))
    }

    pub fn oauth2_revoke_token(&self, token: &Secret) -> Result<()> {
        dispatch!(self, client => client.oauth2_revoke_token(token))
    }

    pub fn oauth2_get_dependent_tokens(
        &self,
        token: &Secret,
        refresh_tokens: bool,
        scope: Option<&str>,
    ) -> Result<TokenResponse> {
        dispatch!(self, client => client.oauth2_get_dependent_tokens(token, refresh_tokens, scope))
    }

    pub fn oauth2_token_introspect(
        &self,
        token: &Secret,
        include: Option<&str>,
    ) -> Result<globus_authorizers::TokenIntrospection> {
        dispatch!(self, client => client.oauth2_token_introspect(token, include))
    }

    pub fn userinfo(&self, access_token: &Secret) -> Result<globus_authorizers::UserInfo> {
        dispatch!(self, client => client.userinfo(access_token))
    }

    pub fn oauth2_get_authorize_url(&self, params: &AuthorizeParams) -> String {
        match self {
            Client::Blocking(client) => client.oauth2_get_authorize_url(params),
            #[cfg(feature = "async")]
            Client::Async(client, _) => client.oauth2_get_authorize_url(params),
        }
    }
}

/// `#[test]`s running each named `fn name(kind: Kind)` once per client: `blocking::name` and,
/// with the `async` feature, `nonblocking::name`.
macro_rules! tests_for_both_clients {
    ($($name:ident),* $(,)?) => {
        mod blocking {
            $(#[test] fn $name() { super::$name(super::Kind::Blocking) })*
        }
        #[cfg(feature = "async")]
        mod nonblocking {
            $(#[test] fn $name() { super::$name(super::Kind::Async) })*
        }
    };
}
pub(crate) use tests_for_both_clients;
