//! Globus Auth authorizers and token client, with renewal that never runs twice.
//!
//! The Rust counterpart of `globus_sdk.authorizers` and the OAuth2 parts of
//! `globus_sdk.AuthClient`:
//!
//! - [`AuthClient`]: refresh-token, client-credentials and authorization-code (PKCE S256)
//!   grants, revocation and authorize URLs, over ureq with timeouts and bounded retries; the
//!   OpenID Connect discovery document and key set ([`AuthClient::get_openid_configuration`],
//!   [`AuthClient::get_jwks`]) and a user's consents ([`AuthClient::get_consents`]);
//! - `IdTokenDecoder` (cargo feature `id-token`, off by default because it brings RSA code):
//!   verifies Globus Auth id_tokens as globus-sdk's `IDTokenDecoder` does (signature from the
//!   cached key set, algorithm, issuer, audience, expiry with a leeway on the injected clock);
//! - [`GlobusAuthorizer`] and its kinds: [`NullAuthorizer`], [`BasicAuthorizer`],
//!   [`AccessTokenAuthorizer`], [`RenewingAuthorizer`], [`RefreshTokenAuthorizer`],
//!   [`ClientCredentialsAuthorizer`], and [`StorageAuthorizer`], which renews through a shared
//!   token store so that several processes renew a token once;
//! - with cargo feature `async` (off by default): `AsyncGlobusAuthorizer`, the dyn-compatible
//!   async form of [`GlobusAuthorizer`] (implemented by the authorizers that never renew), and
//!   `AsyncRenewingAuthorizer` over any `AsyncTokenSource`, which renews on the same
//!   single-flight state machine as [`RenewingAuthorizer`] without holding a thread, and is
//!   cancellation-safe;
//! - [`AuthorizedAgent`]: sends requests with an authorizer and retries once after a 401;
//! - [`SdkEnv`]: globus-sdk's environment variables (`GLOBUS_SDK_ENVIRONMENT`,
//!   `GLOBUS_SDK_SERVICE_URL_AUTH`, `GLOBUS_SDK_HTTP_TIMEOUT`, `GLOBUS_SDK_VERIFY_SSL`,
//!   `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`), read through an injectable lookup.
//!
//! Progress is reported as `tracing` events (target `globus_authorizers`): each retry at INFO
//! with its reason and delay, renewals started and finished at INFO, each request at DEBUG, TLS
//! verification turned off at WARN. No event carries a token, secret, code or verifier.
//!
//! All authorizers are `Send + Sync`; renewal is single-flight: when many threads (or tasks)
//! find the token stale, one request is made and every caller gets its result. If the renewing
//! caller goes away first (a panic, or a dropped future), one waiter renews in its place and the
//! others share that result: one more request at most, never a waiter left stuck. Abandoned
//! renewals are WARN events, and a caller given another's result a DEBUG one.
//!
//! ```
//! use globus_authorizers::{GlobusAuthorizer, AccessTokenAuthorizer};
//! let authorizer = AccessTokenAuthorizer::new("AT");
//! assert_eq!(authorizer.get_authorization_header()?.as_deref(), Some("Bearer AT"));
//! # Ok::<(), globus_authorizers::AuthError>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "async")]
mod asynchronous;
mod authorizer;
mod client;
mod consents;
mod dependent;
mod env;
mod error;
mod http;
#[cfg(feature = "id-token")]
mod id_token;
#[cfg(feature = "async")]
mod middleware;
mod oidc;
mod pkce;
mod redact;
mod renewing;
mod storage;
mod store_renewal;
mod transport;

#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use asynchronous::{
    AsyncClientCredentialsAuthorizer, AsyncGlobusAuthorizer, AsyncRefreshTokenAuthorizer,
    AsyncRenewingAuthorizer, AsyncRenewingAuthorizerBuilder, AsyncStorageAuthorizer,
    AsyncTokenSource, BoxFuture,
};
pub use authorizer::{AccessTokenAuthorizer, BasicAuthorizer, GlobusAuthorizer, NullAuthorizer};
#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use client::AsyncAuthClient;
pub use client::{AuthClient, AuthClientBuilder, AuthorizeParams, TokenIntrospection, UserInfo};
pub use consents::Consents;
pub use dependent::{
    DependentTokenAuthorizer, DependentTokens, DependentTokensBuilder, NamespaceStores,
};
pub use env::{
    ENVIRONMENT_VAR, HTTP_TIMEOUT_VAR, KNOWN_ENVIRONMENTS, REQUESTS_CA_BUNDLE_VAR,
    SERVICE_URL_AUTH_VAR, SSL_CERT_FILE_VAR, SdkEnv, TlsVerification, VERIFY_SSL_VAR,
    auth_base_url_for_environment, auth_base_url_from_env,
};
pub use error::{AuthError, Result, TransportErrorKind};
pub use http::{AuthorizedAgent, HttpReply};
#[cfg(feature = "id-token")]
#[cfg_attr(docsrs, doc(cfg(feature = "id-token")))]
pub use id_token::{IdTokenClaims, IdTokenDecoder, IdTokenError, IdentitySetEntry};
#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use middleware::{AuthorizationMiddleware, reqwest_client_builder};
pub use oidc::{InvalidDocument, Jwk, JwkSet, OpenIdConfiguration};
pub use pkce::PkceVerifier;
pub use renewing::{
    ClientCredentialsAuthorizer, ClientCredentialsSource, EXPIRES_ADJUST_SECONDS, OnRefresh,
    RefreshTokenAuthorizer, RefreshTokenSource, RenewingAuthorizer, RenewingAuthorizerBuilder,
    TokenSource,
};
pub use storage::{StorageAuthorizer, StorageTokenSource};
#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use store_renewal::AsyncStoreRenewal;
pub use store_renewal::{RenewalClient, StoreRenewal, merge_renewed};
pub use transport::RetryPolicy;
