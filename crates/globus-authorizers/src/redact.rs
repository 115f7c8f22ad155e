//! Keeping our own credentials out of text a server sends back.
//!
//! A misbehaving or hostile auth server may echo the request form in `error_description`;
//! that text goes into errors and from there to terminals and logs. Before it does, the exact
//! values we sent (refresh token, code, PKCE verifier, client secret, token being revoked, in
//! raw and form-encoded spelling), the values of credential-named fields (`refresh_token=...`,
//! `"access_token": "..."`), and anything shaped like a token are replaced by [`REDACTED`].

/// What replaces a redacted value.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Field names whose values are credentials, wherever they appear in server text.
const SECRET_FIELDS: [&str; 9] = [
    "access_token",
    "refresh_token",
    "id_token",
    "code_verifier",
    "client_secret",
    "password",
    "token",
    "code",
    "authorization",
];

/// Runs shorter than this are never taken for tokens (resource server names, UUIDs, words).
const TOKEN_MIN_CHARS: usize = 24;

/// Redacts the credentials of one request from server text.
#[derive(Default)]
pub(crate) struct Redactor {
    /// Exact values to remove, longest first so a value containing another goes whole.
    values: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values (empty ones are ignored).
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values = Vec::new();
        for secret in secrets {
            if secret.is_empty() {
                continue;
            }
            values.push(secret.to_owned());
            let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            if encoded != secret {
                values.push(encoded);
            }
        }
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        Redactor { values }
    }

    /// `text` without our secrets, credential-field values or token-shaped strings.
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for value in &self.values {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), REDACTED);
            }
        }
        let text = redact_fields(&text);
        redact_token_shaped(&text)
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=' | '%')
}

/// Values after `name=` or `"name": "` for credential field names.
fn redact_fields(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for field in SECRET_FIELDS {
            if let Some(after) = strip_prefix_ignore_case(rest, field) {
                let preceded_by_word = out
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                if !preceded_by_word && let Some((separator, value_len)) = field_value(after) {
                    out.push_str(&rest[..field.len()]);
                    out.push_str(separator);
                    out.push_str(REDACTED);
                    rest = &after[separator.len() + value_len..];
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// After a field name: the separator (`=`, `": "`, `: `, ...) and the length of the value,
/// if a non-empty value follows.
fn field_value(after: &str) -> Option<(&str, usize)> {
    let separator_len = after
        .char_indices()
        .find(|&(_, c)| !matches!(c, '=' | ':' | '"' | '\'' | ' '))
        .map_or(after.len(), |(i, _)| i);
    let separator = &after[..separator_len];
    // `name=value` (forms, queries) or `"name": "value"` (JSON); not prose like `code: expired`.
    let quoted_colon = separator.starts_with(['"', '\'']) && separator.contains(':');
    if !(separator.contains('=') || quoted_colon) {
        return None;
    }
    let value = &after[separator_len..];
    let value_len = value
        .char_indices()
        .find(|&(_, c)| !is_token_char(c))
        .map_or(value.len(), |(i, _)| i);
    (value_len > 0 && &value[..value_len] != REDACTED).then_some((separator, value_len))
}

/// Runs of token characters at least [`TOKEN_MIN_CHARS`] long with both letters and digits;
/// UUIDs and dotted names without digits (resource servers) stay.
fn redact_token_shaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run_start = None;
    let flush = |out: &mut String, run: &str| {
        if looks_like_token(run) {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
    };
    for (i, c) in text.char_indices() {
        if is_token_char(c) {
            run_start.get_or_insert(i);
        } else {
            if let Some(start) = run_start.take() {
                flush(&mut out, &text[start..i]);
            }
            out.push(c);
        }
    }
    if let Some(start) = run_start {
        flush(&mut out, &text[start..]);
    }
    out
}

fn looks_like_token(run: &str) -> bool {
    run.len() >= TOKEN_MIN_CHARS
        && run.chars().any(|c| c.is_ascii_digit())
        && run.chars().any(|c| c.is_ascii_alphabetic())
        && !is_uuid(run)
}

fn is_uuid(run: &str) -> bool {
    let groups: Vec<&str> = run.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_values_go_in_both_spellings() {
        let redactor = Redactor::new(["s3cr3t+/=", "RT"]);
        assert_eq!(
            redactor.clean("got s3cr3t+/= and s3cr3t%2B%2F%3D and RT"),
            "got [REDACTED] and [REDACTED] and [REDACTED]"
        );
    }

    #[test]
    fn credential_fields_are_emptied_wherever_they_appear() {
        let redactor = Redactor::default();
        assert_eq!(
            redactor.clean("bad form: grant_type=refresh_token&refresh_token=abc&client_id=x"),
            "bad form: grant_type=refresh_token&refresh_token=[REDACTED]&client_id=x"
        );
        assert_eq!(
            redactor.clean(r#"echo {"code": "xyz", "code_verifier": "v"} token=t"#),
            r#"echo {"code": "[REDACTED]", "code_verifier": "[REDACTED]"} token=[REDACTED]"#
        );
        // Names inside other words, and names without a value, stay.
        assert_eq!(
            redactor.clean("invalid_grant: refresh token expired; error_code=7 token_type"),
            "invalid_grant: refresh token expired; error_code=7 token_type"
        );
    }

    #[test]
    fn token_shaped_strings_go_but_names_and_uuids_stay() {
        let redactor = Redactor::default();
        let text = "AgXz9Vq3Bn0pM1jK7Lr2Ts5Wy8 for transfer.api.globus.org by client 8f7e9c1a-3b5d-4e2f-9a6b-0c1d2e3f4a5b";
        assert_eq!(
            redactor.clean(text),
            "[REDACTED] for transfer.api.globus.org by client 8f7e9c1a-3b5d-4e2f-9a6b-0c1d2e3f4a5b"
        );
        assert_eq!(
            redactor.clean("Basic Y2xpZW50OnNlY3JldC12YWx1ZS1sb25nZXI="),
            "Basic [REDACTED]"
        );
        for prose in [
            "refresh token is invalid, expired or revoked",
            "authorization code: expired",
        ] {
            assert_eq!(redactor.clean(prose), prose);
        }
    }
}
