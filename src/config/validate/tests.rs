//! Unit tests of the single-value checks in `validate.rs`.

use super::*;

#[test]
fn project_ids() {
    for ok in [
        "acme-sre-staging",
        "abcdef",
        "a23456789012345678901234567890",
    ] {
        assert!(project_id(ok).is_ok(), "{ok}");
    }
    for bad in [
        "short",
        "Acme-sre-prod",
        "1acme-prod",
        "acme-prod-",
        "acme_prod",
        "",
    ] {
        assert!(project_id(bad).is_err(), "{bad}");
    }
    assert!(
        project_id("123456789012")
            .unwrap_err()
            .hint()
            .contains("project number")
    );
}

#[test]
fn regions() {
    for ok in [
        "us-central1",
        "europe-west4",
        "northamerica-northeast1",
        "me-central2",
    ] {
        assert!(region(ok).is_ok(), "{ok}");
    }
    for bad in [
        "us-central",
        "central1",
        "US-CENTRAL1",
        "us-central1-a",
        "global",
    ] {
        assert!(region(bad).is_err(), "{bad}");
    }
    assert!(
        region("us-central1-a")
            .unwrap_err()
            .hint()
            .contains("`us-central1`")
    );
}

#[test]
fn service_names() {
    assert!(service_name("autosre").is_ok());
    assert!(service_name(&format!("a{}", "b".repeat(48))).is_ok());
    assert!(service_name(&format!("a{}", "b".repeat(49))).is_err());
    for bad in ["Autosre", "1sre", "sre-", "auto_sre", ""] {
        assert!(service_name(bad).is_err(), "{bad}");
    }
    assert!(
        service_name("Auto_SRE")
            .unwrap_err()
            .hint()
            .contains("`auto-sre`")
    );
}

#[test]
fn cpu_limits() {
    for ok in [
        "1", "2", "4", "6", "8", "0.5", "0.08", ".25", "1000m", "500m", "1.0", "2000m",
    ] {
        assert!(cpu(ok).is_ok(), "{ok}");
    }
    for bad in [
        "four", "3", "1.5", "16", "0.05", "0.0001", "", "1,5", "2 cpu", "-1",
    ] {
        assert!(cpu(bad).is_err(), "{bad}");
    }
}

#[test]
fn memory_quantities() {
    for ok in [
        "512Mi",
        "16Gi",
        "1G",
        "128Mi",
        "32Gi",
        "0.5Gi",
        "536870912",
        "2048Mi",
    ] {
        assert!(memory(ok).is_ok(), "{ok}");
    }
    for bad in ["16GB", "16gi", "lots", "", "Gi", "64Mi", "33Gi", "1.2.3Gi"] {
        assert!(memory(bad).is_err(), "{bad}");
    }
    assert!(memory("16GB").unwrap_err().hint().contains("`16Gi`"));
}

#[test]
fn timeouts() {
    let seconds = |s: &str| timeout(s).map(|t| t.seconds());
    assert_eq!(seconds("300s"), Ok(300));
    assert_eq!(seconds("5m"), Ok(300));
    assert_eq!(seconds("1h"), Ok(3600));
    assert_eq!(seconds("1m30s"), Ok(90));
    assert!(timeout("300").unwrap_err().hint().contains("`300s`"));
    assert!(timeout("90m").unwrap_err().message().contains("maximum"));
    for bad in ["0s", "s", "5x", "30s1m", "5 m", "", "1h1h", "-5s"] {
        assert!(timeout(bad).is_err(), "{bad}");
    }
}

#[test]
fn env_names() {
    for ok in ["LOG_LEVEL", "_X", "a1"] {
        assert!(env_name(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "A=B",
        "X_GOOGLE_FOO",
        "PORT",
        "K_SERVICE",
        "K_REVISION",
        "K_CONFIGURATION",
        "1A",
        "MY-VAR",
        "MY VAR",
    ] {
        assert!(env_name(bad).is_err(), "{bad}");
    }
    assert!(env_name("MY-VAR").unwrap_err().hint().contains("`MY_VAR`"));
}

#[test]
fn roles() {
    for ok in [
        "roles/cloudtrace.agent",
        "roles/logging.logWriter",
        "roles/viewer",
        "projects/acme-sre-prod/roles/autosreDeployer",
        "organizations/123456/roles/custom.role_1",
    ] {
        assert!(role(ok).is_ok(), "{ok}");
    }
    for bad in [
        "cloudtrace.agent",
        "roles/",
        "roles/a..b",
        "projects/P/roles/x",
        "organizations/abc/roles/name",
        "roles/a/b",
    ] {
        assert!(role(bad).is_err(), "{bad}");
    }
    assert!(
        role("cloudtrace.agent")
            .unwrap_err()
            .hint()
            .contains("`roles/cloudtrace.agent`")
    );
}

#[test]
fn members() {
    for ok in [
        "user:alice@example.com",
        "group:sre@example.com",
        "domain:example.com",
        "serviceAccount:service-{project_number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
        "principal://iam.googleapis.com/projects/1/locations/global/workforcePools/p/subject/s",
        "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*",
    ] {
        assert!(member(ok).is_ok(), "{ok}");
    }
    for bad in [
        "alice@example.com",
        "user:alice",
        "serviceAccount:{project}@x.com",
        "robot:x@y.com",
        "principal://",
    ] {
        assert!(member(bad).is_err(), "{bad}");
    }
    for broad in ["allUsers", "allAuthenticatedUsers", "domain:example.com"] {
        assert!(member(broad).is_ok(), "{broad}");
        assert!(account_user(broad).is_err(), "{broad}");
    }
    assert!(
        account_user("domain:example.com")
            .unwrap_err()
            .message()
            .contains("everyone in `example.com`")
    );
    assert!(account_user("user:alice@example.com").is_ok());
    assert!(
        member("alice@example.com")
            .unwrap_err()
            .hint()
            .contains("`user:alice@example.com`")
    );
}

#[test]
fn service_accounts() {
    assert!(service_account("run@p-123456.iam.gserviceaccount.com", "p-123456").is_ok());
    let e = service_account("autosre-run", "acme-sre-prod").unwrap_err();
    assert!(
        e.hint()
            .contains("`autosre-run@acme-sre-prod.iam.gserviceaccount.com`")
    );
}

#[test]
fn images() {
    for ok in [
        "us-docker.pkg.dev/acme-sre-staging/autosre/autosre:2026.11.28",
        "us-central1-docker.pkg.dev/autosre-example/autosre/autosre:latest",
        "gcr.io/p/i",
        "localhost:5000/x:1",
        "busybox",
        "library/busybox:1.36",
        "europe-docker.pkg.dev/p/r/i@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "us-docker.pkg.dev/p/r/i:v1@sha256:0123456789abcdef0123456789abcdef",
        "us-docker.pkg.dev/p/r/my_image__x.y-z:1",
    ] {
        assert!(image(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        " ",
        "us-docker.pkg.dev/p/r/i:",
        "us-docker.pkg.dev/p/r/i:-x",
        "us-docker.pkg.dev//i",
        "US-docker.pkg.dev/p/r/Image",
        "p/r/i@sha256:xyz",
        "p/r/i:1 2",
        "https://gcr.io/p/i",
        "gcr.io/p/-i",
    ] {
        assert!(image(bad).is_err(), "{bad:?}");
    }
    assert!(
        image("gcr.io/p/Image")
            .unwrap_err()
            .hint()
            .contains("`gcr.io/p/image`")
    );
}
