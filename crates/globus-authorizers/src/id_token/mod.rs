//! `IdTokenDecoder`: verify Globus Auth id_tokens as globus-sdk's `IDTokenDecoder` does.
//!
//! The discovery document and the key set it names are fetched once and cached; the key set
//! is fetched again (once per token) when a token's key is not in it, so a rotated key is
//! picked up without a restart. Signatures are checked with jsonwebtoken (RustCrypto), the
//! claims here, against the client's injectable clock.

mod claims;
mod error;
mod jwt;

use std::str::FromStr as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use globus_tokens_core::{Secret, TokenResponse};
use jsonwebtoken::Algorithm;

use crate::client::AuthClient;
use crate::oidc::{JwkSet, OpenIdConfiguration};

pub use self::claims::{IdTokenClaims, IdentitySetEntry};
pub use self::error::IdTokenError;

/// Verifies and decodes id_tokens from Globus Auth, the Rust form of globus-sdk's
/// `IDTokenDecoder`.
///
/// A token is accepted when it is a JWT signed with an algorithm the discovery document lists
/// in `id_token_signing_alg_values_supported` (public-key algorithms only), by a key of the key
/// set at its `jwks_uri`, its `iss` is the document's `issuer`, its `aud` includes the client
/// id, and it is neither expired nor issued in the future, allowing a leeway (globus-sdk's 300
/// seconds by default) measured on the client's [`Clock`](globus_tokens_core::Clock). Anything
/// else is an [`IdTokenError`]. The token never appears in errors, `Debug` output or events.
///
/// The document and key set are fetched on first use and cached, for every thread (`Send +
/// Sync`; one fetch when many threads start at once). When a token names a key id (`kid`) the
/// cached set lacks, or (for tokens without a `kid`, as Globus Auth's are) no cached key
/// verifies it, the key set is fetched again once for that token before it is refused.
///
/// ```no_run
/// use globus_authorizers::{AuthClient, IdTokenDecoder};
/// let client = AuthClient::native("my-client-id")?;
/// let decoder = IdTokenDecoder::new(client);
/// # let response: globus_tokens_core::TokenResponse = unimplemented!();
/// if let Some(claims) = decoder.decode_response(&response)? {
///     println!("logged in as {}", claims.sub);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IdTokenDecoder {
    client: AuthClient,
    audience: String,
    leeway: Duration,
    cache: Mutex<Cache>,
    /// Held while fetching, so concurrent decoders fetch once.
    fetching: Mutex<()>,
}

#[derive(Default)]
struct Cache {
    configuration: Option<Arc<OpenIdConfiguration>>,
    jwks: Option<Arc<JwkSet>>,
    /// Bumped each time a key set is stored, so a thread that found a key missing can tell
    /// whether another thread has fetched the set since.
    jwks_generation: u64,
}

impl std::fmt::Debug for IdTokenDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cache = self.cache();
        f.debug_struct("IdTokenDecoder")
            .field("client", &self.client)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("configuration_cached", &cache.configuration.is_some())
            .field("jwks_cached", &cache.jwks.is_some())
            .finish()
    }
}

/// How a token's signature fared against a key set.
enum Outcome {
    Verified,
    /// No key fits the token (unknown `kid`, or no key of the algorithm's type).
    NoKey,
    /// Keys fit but none verifies; `refetch` when fetching the set again might help (the
    /// token has no `kid`, so a rotated key looks like this).
    BadSignature {
        refetch: bool,
    },
    /// Every key that fits is unusable (a broken set, which a fetch may mend).
    Unusable(IdTokenError),
}

impl IdTokenDecoder {
    /// globus-sdk's default leeway: 300 seconds of clock difference allowed either way.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(300);

    /// A decoder for tokens issued to `client` (the audience is its client id), fetching from
    /// `client`'s Globus Auth, with the default leeway.
    pub fn new(client: AuthClient) -> Self {
        IdTokenDecoder {
            audience: client.client_id().to_owned(),
            client,
            leeway: Self::DEFAULT_LEEWAY,
            cache: Mutex::new(Cache::default()),
            fetching: Mutex::new(()),
        }
    }

    /// Allow this much clock difference when checking `exp`, `iat` and `nbf`.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Expect this audience instead of the client id (globus-sdk's `get_jwt_audience`).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The audience tokens must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The leeway.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The client used to fetch, whose clock the expiry checks use.
    pub fn client(&self) -> &AuthClient {
        &self.client
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fetch_guard(&self) -> MutexGuard<'_, ()> {
        self.fetching.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Use this discovery document instead of fetching it (globus-sdk's
    /// `store_openid_configuration`).
    pub fn store_openid_configuration(&self, configuration: OpenIdConfiguration) {
        self.cache().configuration = Some(Arc::new(configuration));
    }

    /// Use this key set until a token needs another (globus-sdk's `store_jwk`).
    pub fn store_jwks(&self, jwks: JwkSet) {
        let mut cache = self.cache();
        cache.jwks = Some(Arc::new(jwks));
        cache.jwks_generation += 1;
    }

    /// The discovery document: cached, or fetched now and cached.
    pub fn openid_configuration(&self) -> Result<Arc<OpenIdConfiguration>, IdTokenError> {
        if let Some(configuration) = self.cache().configuration.clone() {
            return Ok(configuration);
        }
        let _fetching = self.fetch_guard();
        if let Some(configuration) = self.cache().configuration.clone() {
            return Ok(configuration);
        }
        let configuration = Arc::new(self.client.get_openid_configuration().map_err(|source| {
            IdTokenError::Fetch {
                what: "OpenID configuration",
                source,
            }
        })?);
        self.cache().configuration = Some(Arc::clone(&configuration));
        Ok(configuration)
    }

    /// The key set: cached, or fetched now (with the discovery document if needed) and cached.
    pub fn jwks(&self) -> Result<Arc<JwkSet>, IdTokenError> {
        let configuration = self.openid_configuration()?;
        self.cached_jwks(&configuration).map(|(jwks, _)| jwks)
    }

    fn cached_jwks(
        &self,
        configuration: &OpenIdConfiguration,
    ) -> Result<(Arc<JwkSet>, u64), IdTokenError> {
        {
            let cache = self.cache();
            if let Some(jwks) = &cache.jwks {
                return Ok((Arc::clone(jwks), cache.jwks_generation));
            }
        }
        self.fetch_jwks(configuration, None)
    }

    /// Fetch the key set unless another thread stored one since generation `seen` (or, for
    /// `None`, since nothing was cached).
    fn fetch_jwks(
        &self,
        configuration: &OpenIdConfiguration,
        seen: Option<u64>,
    ) -> Result<(Arc<JwkSet>, u64), IdTokenError> {
        let _fetching = self.fetch_guard();
        {
            let cache = self.cache();
            if let Some(jwks) = &cache.jwks
                && seen != Some(cache.jwks_generation)
            {
                return Ok((Arc::clone(jwks), cache.jwks_generation));
            }
        }
        let jwks = Arc::new(
            self.client
                .get_jwks(Some(configuration))
                .map_err(|source| IdTokenError::Fetch {
                    what: "JWK set",
                    source,
                })?,
        );
        let mut cache = self.cache();
        cache.jwks = Some(Arc::clone(&jwks));
        cache.jwks_generation += 1;
        Ok((jwks, cache.jwks_generation))
    }

    /// Verify `id_token` and return its claims.
    pub fn decode(&self, id_token: &Secret) -> Result<IdTokenClaims, IdTokenError> {
        let parsed = jwt::parse(id_token.expose())?;
        let configuration = self.openid_configuration()?;
        let accepted: Vec<String> = configuration
            .id_token_signing_alg_values_supported
            .iter()
            .filter(|alg| jwt::PUBLIC_KEY_ALGORITHMS.contains(&alg.as_str()))
            .cloned()
            .collect();
        let algorithm = match Algorithm::from_str(&parsed.alg) {
            Ok(algorithm) if accepted.contains(&parsed.alg) => algorithm,
            _ => {
                return Err(IdTokenError::UnsupportedAlgorithm {
                    algorithm: error::shorten(&parsed.alg),
                    accepted,
                });
            }
        };

        let (jwks, generation) = self.cached_jwks(&configuration)?;
        let outcome = match check_signature(&parsed, algorithm, &jwks) {
            Outcome::NoKey | Outcome::BadSignature { refetch: true } | Outcome::Unusable(_) => {
                tracing::info!(
                    kid = parsed.kid.as_deref().unwrap_or(""),
                    jwks_uri = %configuration.jwks_uri,
                    "no cached key verifies the id_token; fetching the JWK set again"
                );
                let (jwks, _) = self.fetch_jwks(&configuration, Some(generation))?;
                check_signature(&parsed, algorithm, &jwks)
            }
            outcome => outcome,
        };
        match outcome {
            Outcome::Verified => {}
            Outcome::NoKey => {
                return Err(IdTokenError::UnknownKey {
                    kid: parsed.kid.as_deref().map(error::shorten),
                    jwks_uri: configuration.jwks_uri.clone(),
                });
            }
            Outcome::BadSignature { .. } => {
                return Err(IdTokenError::InvalidSignature {
                    jwks_uri: configuration.jwks_uri.clone(),
                });
            }
            Outcome::Unusable(err) => return Err(err),
        }

        let leeway_seconds = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        let claims = claims::check(
            parsed.claims,
            &claims::Expected {
                issuer: &configuration.issuer,
                audience: &self.audience,
                now: self.client.clock().now_seconds(),
                leeway_seconds,
            },
        )?;
        tracing::debug!(alg = %parsed.alg, "id_token verified");
        Ok(claims)
    }

    /// Verify the id_token of a token response: `Ok(None)` when it has none (refresh and
    /// client-credentials responses), the claims when it verifies, an error otherwise (never
    /// a silent `None` for a bad token).
    pub fn decode_response(
        &self,
        response: &TokenResponse,
    ) -> Result<Option<IdTokenClaims>, IdTokenError> {
        response
            .id_token_secret()
            .map(|id_token| self.decode(id_token))
            .transpose()
    }
}

/// Check the signature against the keys of `jwks` that fit the token.
fn check_signature(parsed: &jwt::Parsed<'_>, algorithm: Algorithm, jwks: &JwkSet) -> Outcome {
    let candidates: Vec<_> = jwks
        .keys
        .iter()
        .filter(|key| jwt::fits(key, algorithm, &parsed.alg))
        .filter(|key| parsed.kid.is_none() || key.kid == parsed.kid)
        .collect();
    if candidates.is_empty() {
        return Outcome::NoKey;
    }
    // A key that cannot be used is reported only when no other key could be tried.
    let mut unusable = None;
    let mut tried = 0;
    for key in candidates {
        match jwt::verifies(parsed, algorithm, key) {
            Ok(true) => return Outcome::Verified,
            Ok(false) => tried += 1,
            Err(err) => unusable = unusable.or(Some(err)),
        }
    }
    match unusable {
        Some(err) if tried == 0 => Outcome::Unusable(err),
        _ => Outcome::BadSignature {
            refetch: parsed.kid.is_none(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<IdTokenDecoder>();
        assert_send_sync::<IdTokenError>();
        assert_send_sync::<IdTokenClaims>();
    }
}
