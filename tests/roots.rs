//! The system's CA certificates are read once per process (vendor/rustls-native-certs, the
//! one change from the published crate): every Google API client builds its own TLS
//! verifier, and each used to read the whole store again before its first request.
//!
//! A test binary of its own, with this one test: the store is process-wide state, which
//! the integration tests' runs load from the system's files first, and the test points
//! `SSL_CERT_FILE` at a file of its own.

#![cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]

use rustls_native_certs::load_native_certs;

/// A PEM certificate block (the loader decodes PEM; it does not parse the certificate).
const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";

#[test]
#[expect(
    unsafe_code,
    reason = "the loader reads its file's name from the environment only"
)]
fn the_store_is_read_once_and_a_failed_read_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roots.pem");
    // SAFETY: the only test of this binary, and nothing else runs yet: no other thread
    // reads the environment while it changes.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &file);
        std::env::remove_var("SSL_CERT_DIR");
    }

    // No file yet: an error, reported again by the next load rather than kept.
    let missing = load_native_certs();
    assert!(missing.certs.is_empty() && !missing.errors.is_empty());

    std::fs::write(&file, PEM).unwrap();
    let first = load_native_certs();
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.certs.len(), 1);

    // Gone from disk: the second load answers what the first read, without reading.
    std::fs::remove_file(&file).unwrap();
    let second = load_native_certs();
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    assert_eq!(second.certs, first.certs);
}
