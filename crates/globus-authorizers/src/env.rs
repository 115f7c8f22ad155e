//! globus-sdk's environment variables: which Globus Auth, HTTP timeout, TLS verification.
//!
//! Read as globus-sdk 3.65 reads them (`globus_sdk/config/env_vars.py` and `environments.py`),
//! with one difference: an empty value always counts as unset (globus-sdk rejects an empty
//! `GLOBUS_SDK_ENVIRONMENT` or `GLOBUS_SDK_VERIFY_SSL`). The lookup is injectable
//! ([`SdkEnv::from_lookup`]) so that tests never change the process environment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{AuthError, Result};

/// `GLOBUS_SDK_ENVIRONMENT`: the Globus environment (`production` unless set).
pub const ENVIRONMENT_VAR: &str = "GLOBUS_SDK_ENVIRONMENT";
/// `GLOBUS_SDK_SERVICE_URL_AUTH`: the Globus Auth base URL, overriding the environment.
pub const SERVICE_URL_AUTH_VAR: &str = "GLOBUS_SDK_SERVICE_URL_AUTH";
/// `GLOBUS_SDK_HTTP_TIMEOUT`: seconds (a float); `-1` means no timeout.
pub const HTTP_TIMEOUT_VAR: &str = "GLOBUS_SDK_HTTP_TIMEOUT";
/// `GLOBUS_SDK_VERIFY_SSL`: a boolean word, or the path of a CA bundle.
pub const VERIFY_SSL_VAR: &str = "GLOBUS_SDK_VERIFY_SSL";
/// `REQUESTS_CA_BUNDLE`: a CA bundle, as Python's requests reads it.
pub const REQUESTS_CA_BUNDLE_VAR: &str = "REQUESTS_CA_BUNDLE";
/// `SSL_CERT_FILE`: a CA bundle, as OpenSSL reads it.
pub const SSL_CERT_FILE_VAR: &str = "SSL_CERT_FILE";

/// The environments globus-sdk knows, in its order.
pub const KNOWN_ENVIRONMENTS: [&str; 6] = [
    "production",
    "preview",
    "sandbox",
    "integration",
    "test",
    "staging",
];

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where environment variables are read from: the process environment, or any lookup.
///
/// ```
/// use globus_authorizers::SdkEnv;
/// let env = SdkEnv::from_pairs([("GLOBUS_SDK_ENVIRONMENT", "preview"), ("GLOBUS_SDK_HTTP_TIMEOUT", "")]);
/// assert_eq!(env.auth_base_url()?, "https://auth.preview.globus.org/");
/// assert_eq!(env.http_timeout()?, None); // empty counts as unset
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
#[derive(Clone)]
pub struct SdkEnv {
    lookup: Arc<Lookup>,
}

impl std::fmt::Debug for SdkEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkEnv").finish_non_exhaustive()
    }
}

impl Default for SdkEnv {
    fn default() -> Self {
        Self::process()
    }
}

/// How server certificates are checked, from `GLOBUS_SDK_VERIFY_SSL` and the CA-bundle variables.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsVerification {
    /// Against the built-in Mozilla roots (webpki-roots).
    Default,
    /// Against the certificates in a PEM bundle only (as Python's requests does with a bundle).
    CaBundle {
        /// The bundle.
        path: PathBuf,
        /// The variable that named it, if it came from the environment.
        variable: Option<&'static str>,
    },
    /// Not at all (`GLOBUS_SDK_VERIFY_SSL=false`): anyone on the path can read and change traffic.
    Off,
}

impl SdkEnv {
    /// The process environment.
    pub fn process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Any lookup, e.g. a map in a test.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        SdkEnv {
            lookup: Arc::new(lookup),
        }
    }

    /// Fixed variables; everything else is unset.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let map: std::collections::HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::from_lookup(move |name| map.get(name).cloned())
    }

    /// A variable's value; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.is_empty())
    }

    /// The Globus Auth base URL: `GLOBUS_SDK_SERVICE_URL_AUTH` if set (it must be an http(s)
    /// URL), else that of `GLOBUS_SDK_ENVIRONMENT` (`production` by default), ending in `/`.
    pub fn auth_base_url(&self) -> Result<String> {
        if let Some(url) = self.var(SERVICE_URL_AUTH_VAR) {
            check_service_url(SERVICE_URL_AUTH_VAR, &url)?;
            return Ok(url);
        }
        match self.var(ENVIRONMENT_VAR) {
            None => auth_base_url_for_environment("production"),
            Some(environment) => {
                auth_base_url_for_environment(&environment).map_err(|_| AuthError::InvalidEnvVar {
                    variable: ENVIRONMENT_VAR,
                    value: environment,
                    reason: format!(
                        "unrecognized environment; known: {}",
                        KNOWN_ENVIRONMENTS.join(", ")
                    ),
                })
            }
        }
    }

    /// `GLOBUS_SDK_HTTP_TIMEOUT`: `None` when unset, `Some(None)` for `-1` (no timeout), else
    /// `Some(Some(seconds))`. Like globus-sdk it is a float; other values are errors (globus-sdk
    /// passes zero and negative values on, and requests then rejects them).
    pub fn http_timeout(&self) -> Result<Option<Option<Duration>>> {
        let Some(value) = self.var(HTTP_TIMEOUT_VAR) else {
            return Ok(None);
        };
        let bad = |reason: &str| AuthError::InvalidEnvVar {
            variable: HTTP_TIMEOUT_VAR,
            value: value.clone(),
            reason: reason.to_owned(),
        };
        let seconds: f64 = value
            .trim()
            .parse()
            .map_err(|_| bad("not a number of seconds"))?;
        if seconds == -1.0 {
            return Ok(Some(None));
        }
        if !seconds.is_finite() || seconds <= 0.0 {
            return Err(bad("must be a positive number of seconds, or -1 for none"));
        }
        Duration::try_from_secs_f64(seconds)
            .map(|timeout| Some(Some(timeout)))
            .map_err(|_| bad("too large"))
    }

    /// TLS verification: `GLOBUS_SDK_VERIFY_SSL` (globus-sdk's words `y yes t true on 1` and
    /// `n no f false off 0`, any case, or the path of an existing file); when it is true or unset,
    /// a CA bundle from `REQUESTS_CA_BUNDLE` or else `SSL_CERT_FILE`; else the built-in roots.
    pub fn tls_verification(&self) -> Result<TlsVerification> {
        if let Some(value) = self.var(VERIFY_SSL_VAR) {
            match value.to_lowercase().as_str() {
                "y" | "yes" | "t" | "true" | "on" | "1" => {}
                "n" | "no" | "f" | "false" | "off" | "0" => return Ok(TlsVerification::Off),
                _ if std::path::Path::new(&value).is_file() => {
                    return Ok(TlsVerification::CaBundle {
                        path: PathBuf::from(value),
                        variable: Some(VERIFY_SSL_VAR),
                    });
                }
                _ => {
                    return Err(AuthError::InvalidEnvVar {
                        variable: VERIFY_SSL_VAR,
                        value,
                        reason: "must be a boolean word (true/false, yes/no, on/off, 1/0) or the path of an existing CA bundle".to_owned(),
                    });
                }
            }
        }
        for variable in [REQUESTS_CA_BUNDLE_VAR, SSL_CERT_FILE_VAR] {
            if let Some(path) = self.var(variable) {
                return Ok(TlsVerification::CaBundle {
                    path: PathBuf::from(path),
                    variable: Some(variable),
                });
            }
        }
        Ok(TlsVerification::Default)
    }
}

fn check_service_url(variable: &'static str, url: &str) -> Result<()> {
    let bad = |reason: String| AuthError::InvalidEnvVar {
        variable,
        value: url.to_owned(),
        reason,
    };
    let parsed = url::Url::parse(url).map_err(|err| bad(format!("not a URL: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!(
            "the scheme must be http or https, not {:?}",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host".to_owned()));
    }
    Ok(())
}

/// The Globus Auth base URL the way globus-sdk chooses it, from the process environment:
/// `GLOBUS_SDK_SERVICE_URL_AUTH` if set, else by `GLOBUS_SDK_ENVIRONMENT` (`production` by
/// default). Empty values count as unset. See [`SdkEnv::auth_base_url`].
///
/// ```
/// // With neither variable set:
/// # if std::env::var_os("GLOBUS_SDK_SERVICE_URL_AUTH").is_none() && std::env::var_os("GLOBUS_SDK_ENVIRONMENT").is_none() {
/// assert_eq!(globus_authorizers::auth_base_url_from_env()?, "https://auth.globus.org/");
/// # }
/// # Ok::<(), globus_authorizers::AuthError>(())
/// ```
pub fn auth_base_url_from_env() -> Result<String> {
    SdkEnv::process().auth_base_url()
}

/// The Globus Auth base URL of a named Globus environment, as in globus-sdk's config (names are
/// case-sensitive; [`KNOWN_ENVIRONMENTS`] lists them).
pub fn auth_base_url_for_environment(environment: &str) -> Result<String> {
    match environment {
        "production" => Ok("https://auth.globus.org/".to_owned()),
        "preview" => Ok("https://auth.preview.globus.org/".to_owned()),
        "sandbox" | "integration" | "test" | "staging" => {
            Ok(format!("https://auth.{environment}.globuscs.info/"))
        }
        other => Err(AuthError::InvalidConfig(format!(
            "unknown Globus environment {other:?}; known: {}",
            KNOWN_ENVIRONMENTS.join(", ")
        ))),
    }
}

/// The ureq TLS settings for `verification`; warns (a `tracing` event) when it is off.
pub(crate) fn tls_config(verification: &TlsVerification) -> Result<ureq::tls::TlsConfig> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    match verification {
        TlsVerification::Default => Ok(TlsConfig::default()),
        TlsVerification::Off => {
            warn_tls_off();
            Ok(TlsConfig::builder().disable_verification(true).build())
        }
        TlsVerification::CaBundle { path, variable } => {
            let certs: Vec<_> = read_ca_bundle(path, *variable)?
                .iter()
                .map(|der| Certificate::from_der(der).to_owned())
                .collect();
            Ok(TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&certs))
                .build())
        }
    }
}

/// The rustls configuration of the async client for `verification`: the same roots as the
/// blocking client (webpki's, or the CA bundle's certificates), ring's crypto, no
/// verification at all when verification is off.
#[cfg(feature = "async")]
pub(crate) fn rustls_client_config(verification: &TlsVerification) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|err| AuthError::InvalidConfig(format!("TLS configuration: {err}")))?;
    let mut roots = rustls::RootCertStore::empty();
    let config = match verification {
        TlsVerification::Default => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsVerification::Off => {
            warn_tls_off();
            builder
                .dangerous()
                .with_custom_certificate_verifier(std::sync::Arc::new(NoVerification(provider)))
                .with_no_client_auth()
        }
        TlsVerification::CaBundle { path, variable } => {
            for der in read_ca_bundle(path, *variable)? {
                roots.add(CertificateDer::from(der)).map_err(|err| {
                    AuthError::InvalidConfig(format!(
                        "{}: a certificate cannot be used: {err}",
                        describe_bundle(path, *variable)
                    ))
                })?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(config)
}

/// What `GLOBUS_SDK_VERIFY_SSL=false` asks for: accept any certificate (signatures on the
/// handshake are still checked, so the connection is at least to whoever holds the key).
#[cfg(feature = "async")]
#[derive(Debug)]
struct NoVerification(std::sync::Arc<rustls::crypto::CryptoProvider>);

#[cfg(feature = "async")]
impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn warn_tls_off() {
    tracing::warn!(
        variable = VERIFY_SSL_VAR,
        "TLS certificate verification is off: connections to Globus Auth can be read and changed by anyone on the network path"
    );
}

fn describe_bundle(path: &std::path::Path, variable: Option<&'static str>) -> String {
    match variable {
        Some(variable) => format!("CA bundle {} (from {variable})", path.display()),
        None => format!("CA bundle {}", path.display()),
    }
}

/// The certificates (DER) of a PEM CA bundle; an unreadable file, a file that is not PEM, or
/// one without certificates is an error naming the bundle (and the variable that named it).
fn read_ca_bundle(path: &std::path::Path, variable: Option<&'static str>) -> Result<Vec<Vec<u8>>> {
    use ureq::tls::PemItem;
    let named = || describe_bundle(path, variable);
    let pem = std::fs::read(path)
        .map_err(|err| AuthError::InvalidConfig(format!("reading {}: {err}", named())))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert.der().to_vec()),
            Ok(_) => {}
            Err(err) => {
                return Err(AuthError::InvalidConfig(format!(
                    "{} is not a PEM file: {err}",
                    named()
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(AuthError::InvalidConfig(format!(
            "{} holds no PEM certificates",
            named()
        )));
    }
    tracing::debug!(bundle = %path.display(), certificates = certs.len(), "using a CA bundle");
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_map_like_globus_sdk() {
        let url = |name: &str| auth_base_url_for_environment(name).unwrap();
        assert_eq!(url("production"), "https://auth.globus.org/");
        assert_eq!(url("preview"), "https://auth.preview.globus.org/");
        assert_eq!(url("sandbox"), "https://auth.sandbox.globuscs.info/");
        assert_eq!(url("staging"), "https://auth.staging.globuscs.info/");
        for bad in ["nowhere", "default", "Production", " production"] {
            assert!(auth_base_url_for_environment(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_environment_names_the_variable_and_value() {
        let err = SdkEnv::from_pairs([(ENVIRONMENT_VAR, "prod")])
            .auth_base_url()
            .unwrap_err();
        assert!(matches!(
            &err,
            AuthError::InvalidEnvVar { variable: ENVIRONMENT_VAR, value, .. } if value == "prod"
        ));
        let text = err.to_string();
        assert!(
            text.contains("GLOBUS_SDK_ENVIRONMENT") && text.contains("\"prod\""),
            "{text}"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = SdkEnv::from_pairs([
            (ENVIRONMENT_VAR, ""),
            (SERVICE_URL_AUTH_VAR, ""),
            (HTTP_TIMEOUT_VAR, ""),
            (VERIFY_SSL_VAR, ""),
            (REQUESTS_CA_BUNDLE_VAR, ""),
            (SSL_CERT_FILE_VAR, ""),
        ]);
        assert_eq!(env.auth_base_url().unwrap(), "https://auth.globus.org/");
        assert_eq!(env.http_timeout().unwrap(), None);
        assert_eq!(env.tls_verification().unwrap(), TlsVerification::Default);
    }

    #[test]
    fn service_url_wins_and_is_checked() {
        let env = SdkEnv::from_pairs([
            (ENVIRONMENT_VAR, "preview"),
            (SERVICE_URL_AUTH_VAR, "http://127.0.0.1:1234/"),
        ]);
        assert_eq!(env.auth_base_url().unwrap(), "http://127.0.0.1:1234/");
        for bad in [
            "127.0.0.1:1234",
            "ftp://example.org/",
            "not a url",
            "http://",
        ] {
            let err = SdkEnv::from_pairs([(SERVICE_URL_AUTH_VAR, bad)])
                .auth_base_url()
                .unwrap_err();
            assert!(
                err.to_string().contains("GLOBUS_SDK_SERVICE_URL_AUTH"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn http_timeout_like_globus_sdk() {
        let timeout = |value: &str| SdkEnv::from_pairs([(HTTP_TIMEOUT_VAR, value)]).http_timeout();
        assert_eq!(timeout("30").unwrap(), Some(Some(Duration::from_secs(30))));
        assert_eq!(
            timeout(" 2.5 ").unwrap(),
            Some(Some(Duration::from_millis(2_500)))
        );
        assert_eq!(timeout("-1").unwrap(), Some(None));
        assert_eq!(timeout("-1.0").unwrap(), Some(None));
        for bad in ["abc", "0", "-2", "nan", "inf", "1e300"] {
            let err = timeout(bad).unwrap_err();
            assert!(
                matches!(&err, AuthError::InvalidEnvVar { variable: HTTP_TIMEOUT_VAR, value, .. } if value == bad),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn verify_ssl_words_paths_and_bundles() {
        let verify =
            |pairs: &[(&str, &str)]| SdkEnv::from_pairs(pairs.iter().copied()).tls_verification();
        for word in ["n", "NO", "f", "False", "off", "0"] {
            assert_eq!(
                verify(&[(VERIFY_SSL_VAR, word)]).unwrap(),
                TlsVerification::Off,
                "{word}"
            );
        }
        for word in ["y", "Yes", "t", "TRUE", "on", "1"] {
            assert_eq!(
                verify(&[(VERIFY_SSL_VAR, word)]).unwrap(),
                TlsVerification::Default,
                "{word}"
            );
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path().to_str().unwrap();
        assert_eq!(
            verify(&[(VERIFY_SSL_VAR, path)]).unwrap(),
            TlsVerification::CaBundle {
                path: path.into(),
                variable: Some(VERIFY_SSL_VAR)
            }
        );
        let err = verify(&[(VERIFY_SSL_VAR, "/no/such/bundle.pem")]).unwrap_err();
        assert!(err.to_string().contains("GLOBUS_SDK_VERIFY_SSL"), "{err}");
        assert_eq!(
            verify(&[
                (REQUESTS_CA_BUNDLE_VAR, "/a.pem"),
                (SSL_CERT_FILE_VAR, "/b.pem")
            ])
            .unwrap(),
            TlsVerification::CaBundle {
                path: "/a.pem".into(),
                variable: Some(REQUESTS_CA_BUNDLE_VAR)
            }
        );
        assert_eq!(
            verify(&[(SSL_CERT_FILE_VAR, "/b.pem"), (VERIFY_SSL_VAR, "true")]).unwrap(),
            TlsVerification::CaBundle {
                path: "/b.pem".into(),
                variable: Some(SSL_CERT_FILE_VAR)
            }
        );
        // Off wins over bundles, as `verify=False` does in requests.
        assert_eq!(
            verify(&[(SSL_CERT_FILE_VAR, "/b.pem"), (VERIFY_SSL_VAR, "false")]).unwrap(),
            TlsVerification::Off
        );
    }
}
