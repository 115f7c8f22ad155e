//! Taking a JWT apart and checking its signature with a key from the key set.
//!
//! The token is split and its header and payload parsed here (so that errors say what is
//! wrong without quoting the token); the signature is checked by jsonwebtoken with its
//! RustCrypto provider, named explicitly so no process-wide provider has to be installed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::{Map, Value};

use super::error::IdTokenError;
use crate::oidc::Jwk;

/// Public-key algorithms an id_token may use (when the discovery document lists them).
/// Symmetric ones (`HS*`, keyed with something public) and `none` never are.
pub(super) const PUBLIC_KEY_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// A token taken apart; the signature is not checked yet.
pub(super) struct Parsed<'a> {
    /// The header's `alg`.
    pub(super) alg: String,
    /// The header's `kid`.
    pub(super) kid: Option<String>,
    pub(super) claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

fn malformed(reason: impl Into<String>) -> IdTokenError {
    IdTokenError::Malformed {
        reason: reason.into(),
    }
}

fn decode_part(part: &str, name: &str) -> Result<Map<String, Value>, IdTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| malformed(format!("the {name} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(malformed(format!("the {name} is not a JSON object"))),
        Err(_) => Err(malformed(format!("the {name} is not JSON"))),
    }
}

/// Split `header.payload.signature` and parse the header and payload.
pub(super) fn parse(token: &str) -> Result<Parsed<'_>, IdTokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(malformed(format!(
            "expected three dot-separated parts, found {}",
            parts.len()
        )));
    };
    let header_fields = decode_part(header, "header")?;
    let claims = decode_part(payload, "payload")?;
    let alg = match header_fields.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        _ => return Err(malformed("the header has no string alg")),
    };
    let kid = match header_fields.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(malformed("the header's kid is not a string")),
    };
    if header_fields.contains_key("crit") {
        // RFC 7515 4.1.11: extensions we do not understand must make the token invalid.
        return Err(malformed("the header has critical extensions (crit)"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| malformed("the signature is not base64url"))?;
    let signing_input_len = header.len() + 1 + payload.len();
    Ok(Parsed {
        alg,
        kid,
        claims,
        signing_input: &token[..signing_input_len],
        signature,
    })
}

/// The key type (`kty`) an algorithm's keys have.
fn key_type(algorithm: Algorithm) -> Option<&'static str> {
    match algorithm.family() {
        AlgorithmFamily::Rsa => Some("RSA"),
        AlgorithmFamily::Ec => Some("EC"),
        AlgorithmFamily::Ed => Some("OKP"),
        _ => None,
    }
}

/// Whether `key` may check a signature made with `algorithm` (named `alg`): right key type,
/// for signing (or unspecified), and for this algorithm (or unspecified).
pub(super) fn fits(key: &Jwk, algorithm: Algorithm, alg: &str) -> bool {
    key_type(algorithm) == Some(key.kty.as_str())
        && key.key_use.as_deref().is_none_or(|u| u == "sig")
        && key.alg.as_deref().is_none_or(|a| a == alg)
}

fn component<'a>(key: &'a Jwk, name: &str) -> Result<&'a str, IdTokenError> {
    key.raw()
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| IdTokenError::InvalidKey {
            kid: key.kid.clone(),
            reason: format!("{name} is missing or not a string"),
        })
}

/// Whether the token's signature verifies with `key` (which [`fits`] the algorithm).
pub(super) fn verifies(
    parsed: &Parsed<'_>,
    algorithm: Algorithm,
    key: &Jwk,
) -> Result<bool, IdTokenError> {
    let invalid_key = |reason: String| IdTokenError::InvalidKey {
        kid: key.kid.clone(),
        reason,
    };
    let decoding_key = match key.kty.as_str() {
        "RSA" => DecodingKey::from_rsa_components(component(key, "n")?, component(key, "e")?),
        "EC" => DecodingKey::from_ec_components(component(key, "x")?, component(key, "y")?),
        "OKP" => DecodingKey::from_ed_components(component(key, "x")?),
        other => return Err(invalid_key(format!("key type {other:?} is not supported"))),
    }
    .map_err(|err| invalid_key(err.to_string()))?;
    let verifier = (DEFAULT_PROVIDER.verifier_factory)(&algorithm, &decoding_key)
        .map_err(|err| invalid_key(err.to_string()))?;
    Ok(verifier
        .verify(parsed.signing_input.as_bytes(), &parsed.signature)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    fn reason(token: &str) -> String {
        match parse(token) {
            Err(IdTokenError::Malformed { reason }) => reason,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("parsed"),
        }
    }

    #[test]
    fn malformed_tokens_are_described_without_their_content() {
        let header = b64(r#"{"alg":"RS512"}"#);
        let payload = b64(r#"{"sub":"SECRET-SUB"}"#);
        assert_eq!(reason("a.b"), "expected three dot-separated parts, found 2");
        assert_eq!(
            reason("a.b.c.d"),
            "expected three dot-separated parts, found 4"
        );
        assert_eq!(
            reason(&format!("%%.{payload}.")),
            "the header is not base64url"
        );
        assert_eq!(
            reason(&format!("{}.{payload}.", b64("[1]"))),
            "the header is not a JSON object"
        );
        assert_eq!(
            reason(&format!("{}.{payload}.", b64("{x"))),
            "the header is not JSON"
        );
        assert_eq!(
            reason(&format!("{header}.{}.", b64("{x"))),
            "the payload is not JSON"
        );
        assert_eq!(
            reason(&format!("{}.{payload}.", b64(r#"{"alg":5}"#))),
            "the header has no string alg"
        );
        assert_eq!(
            reason(&format!("{}.{payload}.", b64(r#"{"alg":"RS512","kid":1}"#))),
            "the header's kid is not a string"
        );
        assert_eq!(
            reason(&format!(
                "{}.{payload}.",
                b64(r#"{"alg":"RS512","crit":["x"]}"#)
            )),
            "the header has critical extensions (crit)"
        );
        assert_eq!(
            reason(&format!("{header}.{payload}.*")),
            "the signature is not base64url"
        );

        let token = format!("{header}.{payload}.{}", b64("sig"));
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.alg, "RS512");
        assert_eq!(parsed.kid, None);
        assert_eq!(parsed.claims["sub"], "SECRET-SUB");
        assert_eq!(parsed.signing_input, format!("{header}.{payload}"));
        assert_eq!(parsed.signature, b"sig");
    }

    #[test]
    fn keys_fit_by_type_use_and_algorithm() {
        let key = |value: Value| {
            crate::oidc::JwkSet::from_value(serde_json::json!({ "keys": [value] }))
                .unwrap()
                .keys
                .remove(0)
        };
        let rsa = key(serde_json::json!({"kty": "RSA", "alg": "RS512", "use": "sig"}));
        assert!(fits(&rsa, Algorithm::RS512, "RS512"));
        assert!(
            !fits(&rsa, Algorithm::RS256, "RS256"),
            "alg pinned by the key"
        );
        assert!(!fits(&rsa, Algorithm::ES256, "ES256"));
        let bare = key(serde_json::json!({"kty": "RSA"}));
        assert!(fits(&bare, Algorithm::PS256, "PS256"));
        let encryption = key(serde_json::json!({"kty": "RSA", "use": "enc"}));
        assert!(!fits(&encryption, Algorithm::RS512, "RS512"));
        let hmac = key(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}));
        assert!(!fits(&hmac, Algorithm::HS256, "HS256"));
    }
}
