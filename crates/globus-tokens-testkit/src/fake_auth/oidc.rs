//! The OpenID Connect side of the fake: its two test-only RSA signing keys, the discovery
//! document (`/.well-known/openid-configuration`), the key set (`/jwk.json`) and signed
//! `id_token`s.
//!
//! Tokens look like Globus Auth's: header `{"typ":"JWT","alg":"RS512"}` (plus `kid` unless
//! key ids are turned off, as Globus Auth's own tokens and key set have none), and the claims
//! Globus Auth sends (`sub`, `iss`, `aud`, `exp`, `iat`, `organization`, `name`,
//! `preferred_username`, `email`, `identity_provider`, `identity_provider_display_name`,
//! `last_authentication`, `identity_set`).

use std::str::FromStr as _;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};

use super::{FakeAuthServer, IDENTITY_ID, IDENTITY_USERNAME, now_seconds};

/// The `kid` of the fake's two signing keys (key 1 is current until
/// [`FakeAuthServer::rotate_signing_key`](super::FakeAuthServer::rotate_signing_key)).
pub const SIGNING_KEY_IDS: [&str; 2] = ["fake-globus-auth-key-1", "fake-globus-auth-key-2"];

/// The algorithm the fake signs with and lists in its discovery document, as Globus Auth does.
pub const SIGNING_ALGORITHM: &str = "RS512";

/// `name` in the `id_token`s of the fake's one user (with the `profile` scope).
pub const IDENTITY_NAME: &str = "Test User";
/// `email` in the `id_token`s of the fake's one user (with the `email` scope).
pub const IDENTITY_EMAIL: &str = "tester@example.org";
/// `identity_provider` of the fake's one user (Globus ID's id).
pub const IDENTITY_PROVIDER: &str = "41143743-f3c8-4d60-bbdb-eeecaba85bd9";

/// Test-only keys: see `data/README.md`. Public, so they protect nothing.
const KEY_PEMS: [&str; 2] = [
    include_str!("../../data/test-signing-key-1.pem"),
    include_str!("../../data/test-signing-key-2.pem"),
];

/// A signing key: PKCS#1 DER of the private key, and the public modulus and exponent.
struct SigningKey {
    der: Vec<u8>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

fn signing_keys() -> &'static [SigningKey; 2] {
    static KEYS: OnceLock<[SigningKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| KEY_PEMS.map(parse_key))
}

fn parse_key(pem: &str) -> SigningKey {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD
        .decode(body.trim())
        .expect("test signing key: PEM body is base64");
    let (modulus, exponent) = (DEFAULT_PROVIDER
        .key_utils
        .rsa_pub_components_from_private_key)(&der)
    .expect("test signing key: PKCS#1 RSA private key");
    SigningKey {
        der,
        modulus,
        exponent,
    }
}

/// A fault the fake injects into every `id_token` it issues, until cleared
/// ([`FakeAuthServer::set_id_token_fault`](super::FakeAuthServer::set_id_token_fault)).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdTokenFault {
    /// Signed with the key that is not published, under the published key's `kid`: a forgery.
    Forged,
    /// `aud` is this instead of the client id.
    WrongAudience(String),
    /// `iss` is this instead of the discovery document's issuer.
    WrongIssuer(String),
    /// Signed with this algorithm (e.g. `"RS256"`; `"HS256"` is keyed with the public modulus,
    /// an algorithm-confusion forgery; `"none"` is unsigned) instead of RS512.
    Algorithm(String),
    /// Not a JWT at all: three dot-separated parts whose payload is not JSON.
    Malformed,
}

/// OpenID Connect settings of one server.
pub(super) struct OidcState {
    /// Index into the two keys of the one that signs and is published.
    pub(super) current_key: usize,
    pub(super) key_ids: bool,
    pub(super) issuer: Option<String>,
    pub(super) signing_algs: Vec<String>,
    pub(super) id_token_lifetime: Option<i64>,
    pub(super) fault: Option<IdTokenFault>,
}

impl OidcState {
    pub(super) fn new() -> Self {
        OidcState {
            current_key: 0,
            key_ids: true,
            issuer: None,
            signing_algs: vec![SIGNING_ALGORITHM.to_owned()],
            id_token_lifetime: None,
            fault: None,
        }
    }

    /// The issuer: the override, else the base URL without its trailing `/` (Globus Auth's is
    /// `https://auth.globus.org`).
    pub(super) fn issuer(&self, base_url: &str) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| base_url.trim_end_matches('/').to_owned())
    }

    fn current_kid(&self) -> Option<String> {
        self.key_ids
            .then(|| SIGNING_KEY_IDS[self.current_key].to_owned())
    }

    /// The body of `GET /.well-known/openid-configuration`, shaped like Globus Auth's.
    pub(super) fn configuration(&self, base_url: &str) -> Value {
        json!({
            "issuer": self.issuer(base_url),
            "authorization_endpoint": format!("{base_url}v2/oauth2/authorize"),
            "userinfo_endpoint": format!("{base_url}v2/oauth2/userinfo"),
            "token_endpoint": format!("{base_url}v2/oauth2/token"),
            "revocation_endpoint": format!("{base_url}v2/oauth2/token/revoke"),
            "jwks_uri": format!("{base_url}jwk.json"),
            "response_types_supported": ["code", "token", "token id_token", "id_token"],
            "id_token_signing_alg_values_supported": self.signing_algs,
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "claims_supported": [
                "at_hash", "aud", "email", "exp", "name", "nonce",
                "preferred_username", "iat", "iss", "sub",
            ],
            "subject_types_supported": ["public"],
        })
    }

    /// The body of `GET /jwk.json`: the current key only.
    pub(super) fn jwks(&self) -> Value {
        let key = &signing_keys()[self.current_key];
        let mut jwk = Map::new();
        jwk.insert("alg".into(), SIGNING_ALGORITHM.into());
        jwk.insert("e".into(), URL_SAFE_NO_PAD.encode(&key.exponent).into());
        if let Some(kid) = self.current_kid() {
            jwk.insert("kid".into(), kid.into());
        }
        jwk.insert("kty".into(), "RSA".into());
        jwk.insert("n".into(), URL_SAFE_NO_PAD.encode(&key.modulus).into());
        jwk.insert("use".into(), "sig".into());
        json!({ "keys": [Value::Object(jwk)] })
    }

    /// A builder for a token of the fake's one user, for `client_id`, signed with the current
    /// key, valid from `now` for the id_token lifetime (or `default_lifetime`), with the
    /// claims `scopes` allow (everything when `scopes` is `None`).
    pub(super) fn builder(
        &self,
        base_url: &str,
        client_id: &str,
        scopes: Option<&[String]>,
        default_lifetime: i64,
        now: i64,
    ) -> IdTokenBuilder {
        let has = |scope: &str| scopes.is_none_or(|list| list.iter().any(|s| s == scope));
        let profile = has("profile");
        let email = has("email");
        let mut identity = Map::new();
        identity.insert("sub".into(), IDENTITY_ID.into());
        identity.insert("organization".into(), "Globus Test".into());
        identity.insert("identity_provider".into(), IDENTITY_PROVIDER.into());
        identity.insert("identity_provider_display_name".into(), "Globus ID".into());
        identity.insert("last_authentication".into(), now.into());
        if profile {
            identity.insert("name".into(), IDENTITY_NAME.into());
            identity.insert("username".into(), IDENTITY_USERNAME.into());
        }
        if email {
            identity.insert("email".into(), IDENTITY_EMAIL.into());
        }

        let mut claims = Map::new();
        claims.insert("sub".into(), IDENTITY_ID.into());
        claims.insert("organization".into(), "Globus Test".into());
        if profile {
            claims.insert("name".into(), IDENTITY_NAME.into());
            claims.insert("preferred_username".into(), IDENTITY_USERNAME.into());
        }
        claims.insert("identity_provider".into(), IDENTITY_PROVIDER.into());
        claims.insert("identity_provider_display_name".into(), "Globus ID".into());
        if email {
            claims.insert("email".into(), IDENTITY_EMAIL.into());
        }
        claims.insert("last_authentication".into(), now.into());
        claims.insert(
            "identity_set".into(),
            Value::Array(vec![Value::Object(identity)]),
        );
        claims.insert("iss".into(), self.issuer(base_url).into());
        claims.insert("aud".into(), client_id.into());
        let lifetime = self.id_token_lifetime.unwrap_or(default_lifetime);
        claims.insert("exp".into(), now.saturating_add(lifetime).into());
        claims.insert("iat".into(), now.into());
        IdTokenBuilder {
            algorithm: SIGNING_ALGORITHM.to_owned(),
            key: self.current_key,
            kid: self.current_kid(),
            claims,
        }
    }

    /// What the token endpoint sends: the builder's token with the injected fault, if any.
    pub(super) fn issue(&self, builder: IdTokenBuilder) -> String {
        match &self.fault {
            None => builder.sign(),
            Some(IdTokenFault::Forged) => builder.forged().sign(),
            Some(IdTokenFault::WrongAudience(aud)) => builder.audience(aud).sign(),
            Some(IdTokenFault::WrongIssuer(iss)) => builder.issuer(iss).sign(),
            Some(IdTokenFault::Algorithm(alg)) => builder.algorithm(alg).sign(),
            Some(IdTokenFault::Malformed) => format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"RS512"}"#),
                URL_SAFE_NO_PAD.encode("{not json"),
                URL_SAFE_NO_PAD.encode("not a signature"),
            ),
        }
    }
}

/// An `id_token` to sign with the fake's keys, for tests that need tokens the token endpoint
/// would not issue. Start from [`FakeAuthServer::id_token`](super::FakeAuthServer::id_token),
/// which fills in the claims of the fake's one user.
///
/// ```
/// use globus_tokens_testkit::fake_auth::FakeAuthServer;
///
/// let server = FakeAuthServer::start();
/// let expired = server.id_token("my-client").expires_at(1_000).sign();
/// assert_eq!(expired.split('.').count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct IdTokenBuilder {
    algorithm: String,
    key: usize,
    kid: Option<String>,
    claims: Map<String, Value>,
}

impl IdTokenBuilder {
    /// Set a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Remove a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// `aud`.
    pub fn audience(self, audience: &str) -> Self {
        self.claim("aud", audience)
    }

    /// `iss`.
    pub fn issuer(self, issuer: &str) -> Self {
        self.claim("iss", issuer)
    }

    /// `iat` (seconds since the epoch).
    pub fn issued_at(self, seconds: i64) -> Self {
        self.claim("iat", seconds)
    }

    /// `exp` (seconds since the epoch).
    pub fn expires_at(self, seconds: i64) -> Self {
        self.claim("exp", seconds)
    }

    /// `nbf` (seconds since the epoch).
    pub fn not_before(self, seconds: i64) -> Self {
        self.claim("nbf", seconds)
    }

    /// Sign with `algorithm` (`RS256`, `RS384`, `RS512`, `PS256`, ...) instead of RS512.
    /// `HS256`/`HS384`/`HS512` are keyed with the public modulus (an algorithm-confusion
    /// forgery); `none` leaves the signature empty; a name jsonwebtoken does not know is
    /// written to the header over an RS512 signature.
    pub fn algorithm(mut self, algorithm: &str) -> Self {
        algorithm.clone_into(&mut self.algorithm);
        self
    }

    /// Sign with the fake's other key, which it does not publish, keeping the `kid` of the
    /// published one: a forgery.
    pub fn forged(mut self) -> Self {
        self.key = 1 - self.key;
        self
    }

    /// The header's `kid` (`None` leaves it out).
    pub fn kid(mut self, kid: Option<&str>) -> Self {
        self.kid = kid.map(str::to_owned);
        self
    }

    /// The claims so far.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The signed token, `header.payload.signature`.
    pub fn sign(&self) -> String {
        let mut header = Map::new();
        header.insert("typ".into(), "JWT".into());
        header.insert("alg".into(), self.algorithm.clone().into());
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), kid.clone().into());
        }
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(self.claims.clone()).to_string()),
        );
        let key = &signing_keys()[self.key];
        let signature = match Algorithm::from_str(&self.algorithm) {
            Err(_) if self.algorithm == "none" => Vec::new(),
            Err(_) => sign(
                Algorithm::RS512,
                &EncodingKey::from_rsa_der(&key.der),
                &message,
            ),
            Ok(alg @ (Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)) => {
                let secret = EncodingKey::from_secret(&key.modulus).expect("HMAC key");
                sign(alg, &secret, &message)
            }
            Ok(alg) => sign(alg, &EncodingKey::from_rsa_der(&key.der), &message),
        };
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The OpenID Connect side of the server.
impl FakeAuthServer {
    /// `base_url() + ".well-known/openid-configuration"`.
    pub fn openid_configuration_url(&self) -> String {
        format!("{}.well-known/openid-configuration", self.base_url)
    }

    /// `base_url() + "jwk.json"`: the discovery document's `jwks_uri`.
    pub fn jwks_url(&self) -> String {
        format!("{}jwk.json", self.base_url)
    }

    /// The `issuer` of the discovery document and of issued `id_token`s.
    pub fn issuer(&self) -> String {
        self.state().oidc.issuer(&self.base_url)
    }

    /// Use this issuer (e.g. `https://auth.globus.org`) instead of the base URL without its
    /// trailing `/`; `None` restores the default.
    pub fn set_issuer(&self, issuer: Option<&str>) {
        self.state().oidc.issuer = issuer.map(str::to_owned);
    }

    /// `id_token_signing_alg_values_supported` of the discovery document (default `["RS512"]`;
    /// tokens are still signed with RS512 unless a fault or builder says otherwise).
    pub fn set_id_token_signing_algs(&self, algorithms: &[&str]) {
        self.state().oidc.signing_algs = algorithms.iter().map(|a| (*a).to_owned()).collect();
    }

    /// Switch to the other test key: tokens are signed with it from now on, and `/jwk.json`
    /// publishes it alone, so tokens signed before no longer verify. Calling it twice returns
    /// to the first key.
    pub fn rotate_signing_key(&self) {
        let mut state = self.state();
        state.oidc.current_key = 1 - state.oidc.current_key;
    }

    /// The `kid` of the current signing key ([`SIGNING_KEY_IDS`]).
    pub fn signing_key_id(&self) -> &'static str {
        SIGNING_KEY_IDS[self.state().oidc.current_key]
    }

    /// Whether the key set and the tokens' headers carry a `kid` (default `true`). Globus
    /// Auth's own have none; `false` imitates that.
    pub fn set_key_ids(&self, key_ids: bool) {
        self.state().oidc.key_ids = key_ids;
    }

    /// `exp - iat` of issued `id_token`s; `None` (the default) follows
    /// [`FakeAuthServer::set_expires_in`]. Zero or negative issues expired tokens.
    pub fn set_id_token_lifetime(&self, seconds: Option<i64>) {
        self.state().oidc.id_token_lifetime = seconds;
    }

    /// Spoil every `id_token` the token endpoint issues from now on in this way; `None`
    /// restores proper tokens.
    pub fn set_id_token_fault(&self, fault: Option<IdTokenFault>) {
        self.state().oidc.fault = fault;
    }

    /// A token for `client_id` as the code grant would issue it now (all claims, current key,
    /// current lifetime, no fault), to change and [`IdTokenBuilder::sign`].
    pub fn id_token(&self, client_id: &str) -> IdTokenBuilder {
        let state = self.state();
        state.oidc.builder(
            &state.base_url,
            client_id,
            None,
            state.expires_in,
            now_seconds(),
        )
    }
}

/// Sign with the RustCrypto provider directly, so no process-wide provider is needed.
fn sign(algorithm: Algorithm, key: &EncodingKey, message: &str) -> Vec<u8> {
    (DEFAULT_PROVIDER.signer_factory)(&algorithm, key)
        .expect("test signing key fits the algorithm")
        .try_sign(message.as_bytes())
        .expect("signing with a test key")
}
