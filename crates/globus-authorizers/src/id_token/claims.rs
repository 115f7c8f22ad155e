//! The claims of a verified id_token, and the checks on them (times, issuer, audience), as
//! PyJWT makes them for globus-sdk's `IDTokenDecoder`, with an injected clock.

use serde_json::{Map, Value};

use super::error::{IdTokenError, shorten};

/// One identity of the user's identity set (Globus Auth's `identity_set` claim): the identity
/// that logged in and those linked to it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IdentitySetEntry {
    /// The identity id.
    pub sub: String,
    /// `username`, e.g. `user@globusid.org`.
    pub username: Option<String>,
    /// `name` (may be absent or null).
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `organization`.
    pub organization: Option<String>,
    /// `identity_provider`: the identity provider's id.
    pub identity_provider: Option<String>,
    /// `identity_provider_display_name`.
    pub identity_provider_display_name: Option<String>,
    /// `last_authentication`, seconds since the epoch.
    pub last_authentication: Option<i64>,
}

/// The claims of an id_token that passed every check.
///
/// Typed fields for what programs use; [`IdTokenClaims::raw`] for the rest. Holds no secret
/// (the token itself is not kept), but names and email addresses are personal data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `sub`: the id of the identity that logged in (what globus-sdk stores as `identity_id`).
    pub sub: String,
    /// `iss`.
    pub issuer: String,
    /// `aud`, as a list.
    pub audience: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// `iat`, when present.
    pub issued_at: Option<i64>,
    /// `preferred_username` (with the `profile` scope).
    pub preferred_username: Option<String>,
    /// `name` (with the `profile` scope).
    pub name: Option<String>,
    /// `email` (with the `email` scope).
    pub email: Option<String>,
    /// `organization`.
    pub organization: Option<String>,
    /// `identity_provider`.
    pub identity_provider: Option<String>,
    /// `identity_provider_display_name`.
    pub identity_provider_display_name: Option<String>,
    /// `identity_set`: every identity linked to the user (empty when the claim is absent).
    pub identity_set: Vec<IdentitySetEntry>,
    raw: Map<String, Value>,
}

impl IdTokenClaims {
    /// Every claim, as decoded.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// One claim, as decoded.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }
}

/// What the checks compare against.
pub(super) struct Expected<'a> {
    pub(super) issuer: &'a str,
    pub(super) audience: &'a str,
    pub(super) now: i64,
    pub(super) leeway_seconds: i64,
}

fn text(object: &Map<String, Value>, name: &str) -> Option<String> {
    object.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A numeric date as PyJWT reads it (`int(value)`: floats are truncated); `None` if absent.
fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, IdTokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            // Truncation is what Python's int() does to a float date.
            .or_else(|| number.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| IdTokenError::InvalidClaim {
                claim,
                reason: "is not a usable number".to_owned(),
            }),
        Some(other) => Err(IdTokenError::InvalidClaim {
            claim,
            reason: format!(
                "must be a number of seconds, found {}",
                globus_tokens_core::raw::json_type_name(other)
            ),
        }),
    }
}

/// Check `claims` of a token whose signature verified; the typed claims.
///
/// As PyJWT: expired when `exp <= now - leeway`, not yet valid when `iat` or `nbf` is greater
/// than `now + leeway`, `aud` a string or a list of strings that must include the client id.
/// Stricter than globus-sdk (which passes no issuer to PyJWT and requires no claim): `iss` must
/// be the discovery document's issuer, and `exp`, `iss`, `aud` and `sub` must be present.
pub(super) fn check(
    claims: Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    let Expected {
        issuer,
        audience,
        now,
        leeway_seconds,
    } = *expected;
    let expires_at =
        numeric_date(&claims, "exp")?.ok_or(IdTokenError::MissingClaim { claim: "exp" })?;
    if expires_at <= now.saturating_sub(leeway_seconds) {
        return Err(IdTokenError::Expired {
            expires_at,
            now,
            leeway_seconds,
        });
    }
    let issued_at = numeric_date(&claims, "iat")?;
    for (claim, value) in [("iat", issued_at), ("nbf", numeric_date(&claims, "nbf")?)] {
        if let Some(value) = value
            && value > now.saturating_add(leeway_seconds)
        {
            return Err(IdTokenError::NotYetValid {
                claim,
                value,
                now,
                leeway_seconds,
            });
        }
    }

    let found_issuer = match claims.get("iss") {
        None | Some(Value::Null) => return Err(IdTokenError::MissingClaim { claim: "iss" }),
        Some(Value::String(iss)) => iss.clone(),
        Some(_) => {
            return Err(IdTokenError::InvalidClaim {
                claim: "iss",
                reason: "must be a string".to_owned(),
            });
        }
    };
    if found_issuer != issuer {
        return Err(IdTokenError::WrongIssuer {
            expected: issuer.to_owned(),
            found: shorten(&found_issuer),
        });
    }

    let audiences = match claims.get("aud") {
        None | Some(Value::Null) => return Err(IdTokenError::MissingClaim { claim: "aud" }),
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| IdTokenError::InvalidClaim {
                claim: "aud",
                reason: "must be a string or a list of strings".to_owned(),
            })?,
        Some(_) => {
            return Err(IdTokenError::InvalidClaim {
                claim: "aud",
                reason: "must be a string or a list of strings".to_owned(),
            });
        }
    };
    if !audiences.iter().any(|aud| aud == audience) {
        return Err(IdTokenError::WrongAudience {
            expected: audience.to_owned(),
            found: audiences.iter().take(10).map(|aud| shorten(aud)).collect(),
        });
    }

    let sub = match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
        None | Some(Value::Null) => return Err(IdTokenError::MissingClaim { claim: "sub" }),
        Some(_) => {
            return Err(IdTokenError::InvalidClaim {
                claim: "sub",
                reason: "must be a non-empty string".to_owned(),
            });
        }
    };
    let identity_set = identity_set(&claims)?;
    Ok(IdTokenClaims {
        sub,
        issuer: found_issuer,
        audience: audiences,
        expires_at,
        issued_at,
        preferred_username: text(&claims, "preferred_username"),
        name: text(&claims, "name"),
        email: text(&claims, "email"),
        organization: text(&claims, "organization"),
        identity_provider: text(&claims, "identity_provider"),
        identity_provider_display_name: text(&claims, "identity_provider_display_name"),
        identity_set,
        raw: claims,
    })
}

fn identity_set(claims: &Map<String, Value>) -> Result<Vec<IdentitySetEntry>, IdTokenError> {
    let invalid = |reason: String| IdTokenError::InvalidClaim {
        claim: "identity_set",
        reason,
    };
    let items = match claims.get("identity_set") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("must be a list".to_owned())),
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let Value::Object(entry) = item else {
                return Err(invalid(format!("entry {index} is not an object")));
            };
            let sub = text(entry, "sub")
                .filter(|sub| !sub.is_empty())
                .ok_or_else(|| invalid(format!("entry {index} has no string sub")))?;
            Ok(IdentitySetEntry {
                sub,
                username: text(entry, "username"),
                name: text(entry, "name"),
                email: text(entry, "email"),
                organization: text(entry, "organization"),
                identity_provider: text(entry, "identity_provider"),
                identity_provider_display_name: text(entry, "identity_provider_display_name"),
                last_authentication: entry.get("last_authentication").and_then(Value::as_i64),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://auth.globus.org",
            audience: "client",
            now: NOW,
            leeway_seconds: 300,
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({
            "sub": "id-1", "iss": "https://auth.globus.org", "aud": "client",
            "exp": NOW + 60, "iat": NOW,
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.as_object().unwrap().clone()
    }

    fn error(extra: Value) -> IdTokenError {
        check(claims(extra), &expected()).unwrap_err()
    }

    #[test]
    fn leeway_follows_pyjwt_at_the_boundaries() {
        // Expired exactly when exp <= now - leeway.
        assert!(check(claims(json!({"exp": NOW - 299})), &expected()).is_ok());
        assert!(matches!(
            error(json!({"exp": NOW - 300})),
            IdTokenError::Expired { expires_at, now: NOW, leeway_seconds: 300 } if expires_at == NOW - 300
        ));
        // Not yet valid when iat or nbf > now + leeway.
        assert!(
            check(
                claims(json!({"iat": NOW + 300, "nbf": NOW + 300})),
                &expected()
            )
            .is_ok()
        );
        assert!(matches!(
            error(json!({"iat": NOW + 301})),
            IdTokenError::NotYetValid { claim: "iat", .. }
        ));
        assert!(matches!(
            error(json!({"nbf": NOW + 301})),
            IdTokenError::NotYetValid { claim: "nbf", .. }
        ));
        // Floats are truncated, as Python's int() does.
        assert!(
            check(
                claims(json!({"exp": (NOW - 299) as f64 + 0.9})),
                &expected()
            )
            .is_ok()
        );
    }

    #[test]
    fn claims_have_to_be_there_and_well_typed() {
        for claim in ["exp", "iss", "aud", "sub"] {
            let err = error(json!({ claim: null }));
            assert!(
                matches!(err, IdTokenError::MissingClaim { claim: c } if c == claim),
                "{claim}: {err}"
            );
        }
        assert!(matches!(
            error(json!({"exp": "never"})),
            IdTokenError::InvalidClaim { claim: "exp", .. }
        ));
        assert!(matches!(
            error(json!({"nbf": "later"})),
            IdTokenError::InvalidClaim { claim: "nbf", .. }
        ));
        assert!(matches!(
            error(json!({"aud": 5})),
            IdTokenError::InvalidClaim { claim: "aud", .. }
        ));
        assert!(matches!(
            error(json!({"aud": ["client", 5]})),
            IdTokenError::InvalidClaim { claim: "aud", .. }
        ));
        assert!(matches!(
            error(json!({"sub": ""})),
            IdTokenError::InvalidClaim { claim: "sub", .. }
        ));
        assert!(matches!(
            error(json!({"iss": 1})),
            IdTokenError::InvalidClaim { claim: "iss", .. }
        ));
        assert!(matches!(
            error(json!({"identity_set": [{"username": "x"}]})),
            IdTokenError::InvalidClaim {
                claim: "identity_set",
                ..
            }
        ));
        assert!(matches!(
            error(json!({"identity_set": {}})),
            IdTokenError::InvalidClaim {
                claim: "identity_set",
                ..
            }
        ));
    }

    #[test]
    fn audience_and_issuer_must_match() {
        let ok = check(claims(json!({"aud": ["other", "client"]})), &expected()).unwrap();
        assert_eq!(ok.audience, ["other", "client"]);
        match error(json!({"aud": "other"})) {
            IdTokenError::WrongAudience { expected, found } => {
                assert_eq!(
                    (expected.as_str(), found),
                    ("client", vec!["other".to_owned()])
                );
            }
            other => panic!("{other}"),
        }
        let long = "x".repeat(1_000);
        match error(json!({"iss": long})) {
            IdTokenError::WrongIssuer { found, .. } => assert!(found.chars().count() <= 201),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn typed_claims_and_identity_set() {
        let decoded = check(
            claims(json!({
                "preferred_username": "u@globusid.org", "email": "u@example.org", "name": null,
                "identity_set": [
                    {"sub": "id-1", "username": "u@globusid.org", "name": null,
                     "last_authentication": NOW},
                    {"sub": "id-2", "email": "v@example.org", "last_authentication": null},
                ],
                "custom": [1, 2],
            })),
            &expected(),
        )
        .unwrap();
        assert_eq!(decoded.sub, "id-1");
        assert_eq!(
            decoded.preferred_username.as_deref(),
            Some("u@globusid.org")
        );
        assert_eq!(decoded.name, None);
        assert_eq!(decoded.issued_at, Some(NOW));
        assert_eq!(decoded.identity_set.len(), 2);
        assert_eq!(decoded.identity_set[0].last_authentication, Some(NOW));
        assert_eq!(
            decoded.identity_set[1].email.as_deref(),
            Some("v@example.org")
        );
        assert_eq!(decoded.get("custom"), Some(&json!([1, 2])));
        assert!(decoded.raw().contains_key("iat"));
    }
}
