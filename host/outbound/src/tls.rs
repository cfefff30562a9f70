//! TLS for outbound requests: rustls with the aws-lc-rs provider (the TLS stack the S3 client
//! already uses), trusting the system's root certificates and the operator's extra ones.
//!
//! The system store is read at run time (rustls-native-certs: the platform's store, or the
//! files `SSL_CERT_FILE` / `SSL_CERT_DIR` name), once per process. Extra roots — a studio's
//! private CA in front of its GPU machines — come from PEM files ([`super::HttpSettings`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use super::HttpSetupError;

/// The system's root certificates, read once.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for err in &found.errors {
            tracing::debug!(%err, "a system root certificate could not be read");
        }
        found.certs
    })
}

/// The certificates of a PEM file; an error when it holds none or one is malformed.
fn pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, HttpSetupError> {
    let fail = |reason: String| HttpSetupError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| fail(format!("not PEM certificates: {err}")))?;
    if certs.is_empty() {
        return Err(fail("it holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// A client configuration trusting the system's roots and those in `extra_roots`.
pub fn client_config(extra_roots: &[PathBuf]) -> Result<ClientConfig, HttpSetupError> {
    let mut roots = RootCertStore::empty();
    // The system store often holds a few certificates rustls cannot use; skip those.
    let (_, unusable) = roots.add_parsable_certificates(system_roots().iter().cloned());
    if unusable > 0 {
        tracing::debug!(unusable, "system root certificates skipped");
    }
    for path in extra_roots {
        for cert in pem_certificates(path)? {
            roots.add(cert).map_err(|err| HttpSetupError::CaFile {
                path: path.clone(),
                reason: err.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The client speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The TLS reason a request failed, when it failed in TLS: a sentence naming the certificate
/// problem (and how to trust a private CA), or the TLS error.
pub fn failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(current) = next {
        match current.downcast_ref::<rustls::Error>() {
            Some(rustls::Error::InvalidCertificate(why)) => {
                return Some(format!(
                    "the server's TLS certificate is not trusted ({why:?}); a private CA can be \
                     trusted with {}",
                    super::CA_FILE_SETTING
                ));
            }
            Some(other) => return Some(format!("TLS failed: {other}")),
            None => {}
        }
        // An I/O error's `source` skips the error it wraps; look inside it instead.
        next = match current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}
