use std::fmt::Debug;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types;
use rustls::{
    crypto::CryptoProvider, CertificateError, DigitallySignedStruct, Error as TlsError, OtherError,
    SignatureScheme,
};

use super::log_server_cert;

/// A TLS certificate verifier that uses the system's root store and WebPKI.
#[derive(Debug)]
pub struct Verifier {
    // Changed from the published crate: a verifier of the system's roots alone is built
    // without them, and gets them (the process's one root store, see `system_roots`) when
    // it first verifies a certificate, a round trip after its connection's first bytes
    // left; with extra roots (or a test root), as published: when built.
    inner: std::sync::OnceLock<Result<Arc<WebPkiServerVerifier>, TlsError>>,
    crypto_provider: Arc<CryptoProvider>,
}

impl Verifier {
    /// Creates a new verifier whose certificate validation is provided by
    /// WebPKI, using root certificates provided by the platform.
    #[cfg_attr(docsrs, doc(cfg(all())))]
    pub fn new(crypto_provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        Self::new_inner([], None, crypto_provider)
    }

    /// Creates a new verifier whose certificate validation is provided by
    /// WebPKI, using root certificates provided by the platform and augmented by
    /// the provided extra root certificates.
    #[cfg_attr(docsrs, doc(cfg(not(target_os = "android"))))]
    pub fn new_with_extra_roots(
        extra_roots: impl IntoIterator<Item = pki_types::CertificateDer<'static>>,
        crypto_provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        Self::new_inner(extra_roots, None, crypto_provider)
    }

    /// Creates a test-only TLS certificate verifier which trusts our fake root CA cert.
    #[cfg(any(test, feature = "ffi-testing", feature = "dbg"))]
    pub(crate) fn new_with_fake_root(
        root: pki_types::CertificateDer<'static>,
        crypto_provider: Arc<CryptoProvider>,
    ) -> Self {
        Self::new_inner([], Some(root), crypto_provider)
            .expect("failed to create verifier with fake root")
    }

    /// Creates a new verifier whose certificate validation is provided by
    /// WebPKI, using root certificates provided by the platform and augmented by
    /// the provided extra root certificates.
    fn new_inner(
        extra_roots: impl IntoIterator<Item = pki_types::CertificateDer<'static>>,
        #[allow(unused)] // test_root is only used in tests
        test_root: Option<pki_types::CertificateDer<'static>>,
        crypto_provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let mut root_store = rustls::RootCertStore::empty();

        // For testing only: load fake root cert, instead of native/WebPKI roots
        #[cfg(any(test, feature = "ffi-testing", feature = "dbg"))]
        {
            if let Some(test_root) = test_root {
                root_store.add(test_root)?;
                return Self::built(root_store, crypto_provider);
            }
        }

        let extra_roots: Vec<_> = extra_roots.into_iter().collect();

        // The change from the published crate: without extra roots, the system's roots are
        // read when the first certificate is verified (see `Verifier::webpki`).
        #[cfg(all(
            unix,
            not(target_os = "android"),
            not(target_vendor = "apple"),
            not(target_arch = "wasm32"),
        ))]
        if extra_roots.is_empty() {
            return Ok(Self {
                inner: std::sync::OnceLock::new(),
                crypto_provider,
            });
        }

        // While we ignore invalid certificates from the system, we forward errors from
        // parsing the extra roots to the caller.
        for cert in extra_roots {
            root_store.add(cert)?;
        }

        #[cfg(all(
            unix,
            not(target_os = "android"),
            not(target_vendor = "apple"),
            not(target_arch = "wasm32"),
        ))]
        {
            add_system_roots(&mut root_store);

            // Don't return an error if this fails when other roots have already been loaded via
            // `new_with_extra_roots`. It leads to extra failure cases where connections would otherwise still work.
            if root_store.is_empty() {
                return Err(rustls::Error::General(
                    "No CA certificates were loaded from the system".to_owned(),
                ));
            }
        }

        #[cfg(target_arch = "wasm32")]
        {
            root_store.add_parsable_certificates(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
            );
        };

        Self::built(root_store, crypto_provider)
    }

    /// A verifier of `root_store`, built now (as every verifier of the published crate).
    fn built(
        root_store: rustls::RootCertStore,
        crypto_provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let inner = std::sync::OnceLock::new();
        let webpki = webpki_verifier(Arc::new(root_store), crypto_provider.clone())?;
        let _ = inner.set(Ok(webpki));
        Ok(Self {
            inner,
            crypto_provider,
        })
    }

    /// The WebPKI verifier: built now from the process's system root store when this
    /// verifier was made without one (an error, such as no roots on the system, is kept
    /// and answered to every verification, as `new` answered it in the published crate).
    fn webpki(&self) -> Result<&Arc<WebPkiServerVerifier>, TlsError> {
        self.inner
            .get_or_init(|| {
                #[cfg(all(
                    unix,
                    not(target_os = "android"),
                    not(target_vendor = "apple"),
                    not(target_arch = "wasm32"),
                ))]
                return webpki_verifier(system_roots()?, self.crypto_provider.clone());
                #[allow(unreachable_code)]
                Err(TlsError::General("no root store".to_owned()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn webpki_verifier(
    roots: Arc<rustls::RootCertStore>,
    crypto_provider: Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    WebPkiServerVerifier::builder_with_provider(roots, crypto_provider)
        .build()
        .map_err(|e| TlsError::Other(OtherError(Arc::new(e))))
}

/// The system's root certificates as one root store, parsed once per process and shared
/// by every verifier built without extra roots (the one change from the published crate).
///
/// Each HTTP client builds its own verifier, and a program that makes several clients
/// (one per Google Cloud API, say) parsed the ~150 roots of a Linux system into trust
/// anchors once per client before its first request. A store that came out empty is not
/// kept: each verifier built reports it, as before.
#[cfg(all(
    unix,
    not(target_os = "android"),
    not(target_vendor = "apple"),
    not(target_arch = "wasm32"),
))]
fn system_roots() -> Result<Arc<rustls::RootCertStore>, TlsError> {
    static KEPT: std::sync::Mutex<Option<Arc<rustls::RootCertStore>>> =
        std::sync::Mutex::new(None);
    // Held while parsing, so that verifiers built at once wait for one parse.
    let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(roots) = kept.as_ref() {
        return Ok(roots.clone());
    }
    let mut root_store = rustls::RootCertStore::empty();
    add_system_roots(&mut root_store);
    if root_store.is_empty() {
        return Err(rustls::Error::General(
            "No CA certificates were loaded from the system".to_owned(),
        ));
    }
    let roots = Arc::new(root_store);
    *kept = Some(roots.clone());
    Ok(roots)
}

/// The published crate's loading of the system's roots into `root_store`, as it was.
#[cfg(all(
    unix,
    not(target_os = "android"),
    not(target_vendor = "apple"),
    not(target_arch = "wasm32"),
))]
fn add_system_roots(root_store: &mut rustls::RootCertStore) {
    let result = rustls_native_certs::load_native_certs();
    let (added, ignored) = root_store.add_parsable_certificates(result.certs);
    if ignored > 0 {
        log::warn!("{ignored} platform CA root certificates were ignored due to errors");
    }

    for error in result.errors {
        log::warn!("Error loading CA root certificate: {error}");
    }

    if !root_store.is_empty() {
        log::debug!("Loaded {added} CA root certificates from the system");
    }
}

#[cfg_attr(docsrs, doc(cfg(all())))]
impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &pki_types::CertificateDer<'_>,
        intermediates: &[pki_types::CertificateDer<'_>],
        server_name: &pki_types::ServerName,
        ocsp_response: &[u8],
        now: pki_types::UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        log_server_cert(end_entity);

        self.webpki()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(map_webpki_errors)
            // This only contains information from the system or other public
            // bits of the TLS handshake, so it can't leak anything.
            .map_err(|e| {
                log::error!("failed to verify TLS certificate: {}", e);
                e
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &pki_types::CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        // What WebPkiServerVerifier does, which needs no roots.
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.crypto_provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &pki_types::CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.crypto_provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // Asked for the first flight (signature_algorithms): from the provider, as
        // WebPkiServerVerifier answers it, without the roots.
        self.crypto_provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn map_webpki_errors(err: TlsError) -> TlsError {
    match &err {
        TlsError::InvalidCertificate(CertificateError::InvalidPurpose)
        | TlsError::InvalidCertificate(CertificateError::InvalidPurposeContext { .. }) => {
            TlsError::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                super::EkuError,
            ))))
        }
        _ => err,
    }
}
