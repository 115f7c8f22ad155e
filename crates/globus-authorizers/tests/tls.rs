//! TLS verification from globus-sdk's environment variables, against a real TLS server on
//! loopback whose certificate comes from a throwaway CA.

mod common;
use common::both_clients::{BuildFor, Client, Kind};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;

use globus_authorizers::{AuthClient, AuthError, RetryPolicy, SdkEnv, TransportErrorKind};
use globus_tokens_core::Secret;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tracing::Level;

/// A CA, and a TLS server for 127.0.0.1 with a certificate it signed, answering every request
/// with Globus Auth's revoke answer.
struct TlsServer {
    addr: SocketAddr,
    ca_pem: String,
}

fn start_tls_server() -> TlsServer {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "globus-authorizers test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let Ok(connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                // A client that rejects the certificate ends the handshake: just drop it.
                let _ = serve(rustls::StreamOwned::new(connection, stream));
            });
        }
    });
    TlsServer {
        addr,
        ca_pem: ca_cert.pem(),
    }
}

fn serve(stream: impl Read + Write) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let answer = br#"{"active": false}"#;
    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    )?;
    stream.write_all(answer)?;
    stream.flush()
}

fn client(server: &TlsServer, env: &[(&str, &str)], kind: Kind) -> Result<Client, AuthError> {
    AuthClient::builder("native-client")
        .base_url(format!("https://127.0.0.1:{}/", server.addr.port()))
        .retry(RetryPolicy::none())
        .env(SdkEnv::from_pairs(env.iter().copied()))
        .try_build_for(kind)
}

fn revoke(client: &Client) -> Result<(), AuthError> {
    client.oauth2_revoke_token(&Secret::new("AT-sekrit"))
}

fn write_bundle(dir: &Path, pem: &str) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_owned()
}

fn without_a_bundle_the_certificate_is_not_trusted(kind: Kind) {
    let server = start_tls_server();
    let err = revoke(&client(&server, &[], kind).unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Transport {
                kind: TransportErrorKind::Tls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        !err.is_temporary(),
        "an untrusted certificate stays untrusted"
    );
    assert!(err.to_string().contains(&server.addr.to_string()), "{err}");
}

fn a_ca_bundle_from_any_of_the_variables_is_trusted(kind: Kind) {
    let server = start_tls_server();
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path(), &server.ca_pem);
    for variable in [
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "GLOBUS_SDK_VERIFY_SSL",
    ] {
        let client = client(&server, &[(variable, &bundle)], kind).unwrap();
        revoke(&client).unwrap_or_else(|err| panic!("{variable}: {err}"));
    }
    // A bundle holding another CA does not help.
    let other = start_tls_server();
    let client = client(
        &server,
        &[(
            "REQUESTS_CA_BUNDLE",
            &write_bundle(dir.path(), &other.ca_pem),
        )],
        kind,
    )
    .unwrap();
    assert!(matches!(
        revoke(&client),
        Err(AuthError::Transport {
            kind: TransportErrorKind::Tls,
            ..
        })
    ));
}

#[test]
fn authorized_agent_reads_the_same_variables() {
    use globus_authorizers::{AuthorizedAgent, NullAuthorizer};
    let server = start_tls_server();
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_bundle(dir.path(), &server.ca_pem);
    let url = format!("https://127.0.0.1:{}/v2/anything", server.addr.port());
    let trusting = AuthorizedAgent::from_env(
        NullAuthorizer,
        &SdkEnv::from_pairs([("SSL_CERT_FILE", &bundle)]),
    )
    .unwrap();
    assert_eq!(trusting.get(&url).unwrap().status, 200);
    let plain =
        AuthorizedAgent::from_env(NullAuthorizer, &SdkEnv::from_pairs([("X", "")])).unwrap();
    assert!(matches!(
        plain.get(&url),
        Err(AuthError::Transport {
            kind: TransportErrorKind::Tls,
            ..
        })
    ));
}

fn verification_off_works_and_warns(kind: Kind) {
    let server = start_tls_server();
    let (client, events) =
        common::record(|| client(&server, &[("GLOBUS_SDK_VERIFY_SSL", "false")], kind));
    revoke(&client.unwrap()).unwrap();
    let warnings: Vec<_> = events.iter().filter(|e| e.level == Level::WARN).collect();
    assert_eq!(warnings.len(), 1, "{events:#?}");
    assert!(warnings[0].message().contains("verification is off"));
}

fn a_bad_bundle_is_a_clear_error(kind: Kind) {
    let server = start_tls_server();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = client(
        &server,
        &[("SSL_CERT_FILE", missing.to_str().unwrap())],
        kind,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("missing.pem") && text.contains("SSL_CERT_FILE"),
        "{text}"
    );
    let junk = write_bundle(dir.path(), "not a certificate\n");
    let err = client(&server, &[("REQUESTS_CA_BUNDLE", &junk)], kind).unwrap_err();
    assert!(err.to_string().contains("no PEM certificates"), "{err}");
    let err = client(&server, &[("GLOBUS_SDK_VERIFY_SSL", "maybe")], kind).unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::InvalidEnvVar {
                variable: "GLOBUS_SDK_VERIFY_SSL",
                ..
            }
        ),
        "{err:?}"
    );
}

common::both_clients::tests_for_both_clients!(
    without_a_bundle_the_certificate_is_not_trusted,
    a_ca_bundle_from_any_of_the_variables_is_trusted,
    verification_off_works_and_warns,
    a_bad_bundle_is_a_clear_error,
);
