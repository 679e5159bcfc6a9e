//! TLS for the PostgreSQL store (rustls with ring), by the URL's `sslmode`
//! with libpq's meaning:
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` (default) | no | — |
//! | `prefer` | if the server offers it | no |
//! | `require` | yes | only against `sslrootcert` when given |
//! | `verify-ca` | yes | chain (roots: `sslrootcert`, else the public web roots), not the name |
//! | `verify-full` | yes | chain and host name |
//!
//! Whatever the mode, the handshake's signatures are verified; "not
//! checked" means only that the certificate's issuer and name are not.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::url::{PgUrl, SslMode};
use crate::vault::error::{Result, VaultError};

/// The rustls configuration for `url`, or `None` for plain TCP.
///
/// # Errors
///
/// [`VaultError::Invalid`] when `sslrootcert` cannot be read or holds no
/// certificate.
pub(super) fn client_config(url: &PgUrl) -> Result<Option<ClientConfig>> {
    if url.sslmode == SslMode::Disable {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &url.sslrootcert {
        Some(path) => {
            let mut store = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| VaultError::Invalid(format!("sslrootcert {}: {e}", path.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    VaultError::Invalid(format!("sslrootcert {}: {e}", path.display()))
                })?;
                store.add(cert).map_err(|e| {
                    VaultError::Invalid(format!("sslrootcert {}: {e}", path.display()))
                })?;
            }
            if store.is_empty() {
                return Err(VaultError::Invalid(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                )));
            }
            Some(store)
        }
        None => None,
    };
    let check = match (url.sslmode, roots) {
        (SslMode::Prefer | SslMode::Require, None) => Check::Nothing,
        (SslMode::VerifyFull, roots) => Check::Full(roots.unwrap_or_else(web_roots)),
        (_, roots) => Check::ChainOnly(roots.unwrap_or_else(web_roots)),
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| VaultError::Storage(format!("TLS setup: {e}")))?;
    let config = match check {
        Check::Full(roots) => builder.with_root_certificates(roots).with_no_client_auth(),
        Check::ChainOnly(roots) => {
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| VaultError::Storage(format!("TLS setup: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                .with_no_client_auth()
        }
        Check::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth(),
    };
    Ok(Some(config))
}

enum Check {
    Nothing,
    ChainOnly(RootCertStore),
    Full(RootCertStore),
}

fn web_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name may differ.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` / `prefer` without roots: encrypted, the certificate not
/// checked (libpq's meaning); handshake signatures still are.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
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
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
