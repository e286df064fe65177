//! The TLS verifier every Google API client builds (rustls-platform-verifier, patched in
//! vendor/): built without reading the system's roots, it reads them (once per process)
//! when it first verifies a server certificate, and they decide as before. The published
//! crate reads and parses them when each verifier is built, which held back each client's
//! first request.
//!
//! A test binary of its own, with this one test: the roots are process-wide state, and
//! the test points `SSL_CERT_FILE` at files of its own (tests/fixtures/tls: a root, a
//! server certificate it issued for `autosre.test`, and one another root issued).

#![cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, Error};

fn certificate(name: &str) -> CertificateDer<'static> {
    let path = format!(
        "{}/tests/fixtures/tls/{name}.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    CertificateDer::from_pem_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn verify(verifier: &impl ServerCertVerifier, name: &str) -> Result<(), Error> {
    // 2030-01-01: inside the fixtures' hundred years, whatever the machine's clock says.
    let at = UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000));
    let server = ServerName::try_from("autosre.test").unwrap();
    verifier
        .verify_server_cert(&certificate(name), &[], &server, &[], at)
        .map(|_| ())
}

#[test]
#[expect(
    unsafe_code,
    reason = "the verifier reads its roots' file name from the environment only"
)]
fn roots_are_read_when_the_first_certificate_is_verified_and_decide_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    // SAFETY: the only test of this binary, and nothing else runs yet: no other thread
    // reads the environment while it changes.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &roots);
        std::env::remove_var("SSL_CERT_DIR");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());

    // No roots on disk yet: the published crate refuses to build the verifier; this one
    // has not looked.
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .expect("a verifier is built without reading the roots");
    let signatures = verifier.supported_verify_schemes();
    assert!(!signatures.is_empty(), "the first flight needs no roots");

    // The roots appear before the first certificate arrives, and decide: the server's
    // certificate of the root is accepted, another root's refused.
    std::fs::copy(
        format!("{}/tests/fixtures/tls/ca.pem", env!("CARGO_MANIFEST_DIR")),
        &roots,
    )
    .unwrap();
    verify(&verifier, "leaf").expect("a certificate of a system root is accepted");
    assert_eq!(
        verify(&verifier, "stranger"),
        Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
    );

    // Read once per process: a verifier built after the file is gone still has them.
    std::fs::remove_file(&roots).unwrap();
    let later = rustls_platform_verifier::Verifier::new(provider).unwrap();
    verify(&later, "leaf").expect("the process's roots, read once");
    assert_eq!(later.supported_verify_schemes(), signatures);
}
