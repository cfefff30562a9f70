//! The HTTP client behind granted plugin requests, against a local HTTPS server whose
//! certificate a private CA (made here) issued: trusted when the operator adds the CA,
//! refused with a sentence about the certificate when not. And what no plugin may send.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mdc_outbound::{HttpClient, HttpSettings};
use mdc_runtime::plugin::types::{HttpError, HttpRequest};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::PrivateKeyDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A studio's private CA and an HTTPS server on 127.0.0.1 with a certificate it issued.
struct Studio {
    ca_file: PathBuf,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Studio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Answers every request on every connection with `200 hello`, then closes it.
async fn studio(dir: &Path) -> Studio {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Studio render farm CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let ca_file = dir.join("studio-ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/status", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0_u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let answer =
                    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello";
                let _ = tls.write_all(answer).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Studio {
        ca_file,
        url,
        server,
    }
}

fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: vec![],
        timeout_ms: 10_000,
    }
}

fn settings() -> HttpSettings {
    HttpSettings::new(Duration::from_secs(10), 1 << 20)
}

#[tokio::test]
async fn https_works_when_the_operator_trusts_the_studio_ca() {
    let dir = tempfile::tempdir().unwrap();
    let studio = studio(dir.path()).await;
    let client = HttpClient::new(&HttpSettings {
        extra_roots: vec![studio.ca_file.clone()],
        ..settings()
    })
    .unwrap();
    let response = client.fetch(get(&studio.url)).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello");
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_with_a_sentence_about_it() {
    let dir = tempfile::tempdir().unwrap();
    let studio = studio(dir.path()).await;
    let client = HttpClient::new(&settings()).unwrap();
    match client.fetch(get(&studio.url)).await {
        Err(HttpError::Unreachable(why)) => {
            assert!(
                why.starts_with("the server's TLS certificate is not trusted")
                    && why.contains("MDC_HTTP_CA_FILE"),
                "{why}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_ca_file_that_cannot_be_used_is_a_setup_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    for (file, reason) in [
        (dir.path().join("missing.pem"), "No such file"),
        (empty, "holds no PEM certificate"),
    ] {
        let err = HttpClient::new(&HttpSettings {
            extra_roots: vec![file.clone()],
            ..settings()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(&format!("the CA file {} cannot be used", file.display()))
                && err.contains(reason),
            "{err}"
        );
    }
}

#[tokio::test]
async fn headers_and_methods_that_steer_the_connection_are_refused_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let studio = studio(dir.path()).await;
    let client = HttpClient::new(&HttpSettings {
        extra_roots: vec![studio.ca_file.clone()],
        ..settings()
    })
    .unwrap();
    for header in [
        "Host",
        "Transfer-Encoding",
        "Proxy-Authorization",
        "X-Forwarded-For",
    ] {
        let mut request = get(&studio.url);
        request.headers.push((header.into(), "198.51.100.7".into()));
        match client.fetch(request).await {
            Err(HttpError::InvalidRequest(why)) => assert!(why.contains(header), "{why}"),
            other => panic!("{header}: {other:?}"),
        }
    }
    for method in ["CONNECT", "TRACE"] {
        let mut request = get(&studio.url);
        request.method = method.into();
        assert!(
            matches!(client.fetch(request).await, Err(HttpError::InvalidRequest(why)) if why.contains(method))
        );
    }
    // The same client still serves an ordinary request.
    assert_eq!(client.fetch(get(&studio.url)).await.unwrap().status, 200);
}
