//! CPU and memory limits through Cloud Run's admission path (a `validateOnly` create over
//! HTTP), against the deploy tool's own tables of spellings (`autosre_types::spellings`):
//! whatever the tool accepts in `config/<env>.yaml`, the emulator admits, and what the tool
//! refuses, the emulator refuses too (issue 6: the emulator used to disagree on `0.5Gi`
//! and `1K`).

use autosre_emulator::{Emulator, Options, World};
use autosre_types::spellings::{
    CPU_ACCEPTED, CPU_NOT_A_QUANTITY, CPU_UNSUPPORTED, MEMORY_ACCEPTED, MEMORY_NOT_A_QUANTITY,
    MEMORY_OUT_OF_RANGE,
};
use autosre_types::{Cpu, Memory, memory_range};
use serde_json::{Value, json};

struct Env {
    url: String,
    http: reqwest::Client,
}

impl Env {
    async fn new() -> Env {
        let world = World::builder().project("acme", 123456789012).build();
        let emu = Emulator::new(world, Options::default());
        let server = emu.serve().await.unwrap();
        let url = server.url();
        // The server lives as long as the test's runtime.
        std::mem::forget(server);
        Env {
            url,
            http: reqwest::Client::new(),
        }
    }

    /// A `validateOnly` create of a service with these limits: the status and the body.
    async fn admit(&self, limits: Value) -> (u16, Value) {
        let body = json!({"template": {"containers": [{
            "image": "us-docker.pkg.dev/acme/api:1",
            "resources": {"limits": limits},
        }]}});
        let resp = self
            .http
            .post(format!(
                "{}/v2/projects/acme/locations/us-central1/services?serviceId=api&validateOnly=true",
                self.url
            ))
            .bearer_auth("token")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// The smallest memory Cloud Run's table allows with `cpu`.
fn memory_for(cpu: Cpu) -> Memory {
    memory_range(cpu).0
}

/// The smallest CPU among 1, 2, 4, 6, 8 whose range holds `memory`.
fn cpu_for(memory: Memory) -> Cpu {
    ["1", "2", "4", "6", "8"]
        .into_iter()
        .map(|c| c.parse::<Cpu>().unwrap())
        .find(|cpu| {
            let (min, max) = memory_range(*cpu);
            (min..=max).contains(&memory)
        })
        .unwrap()
}

#[tokio::test]
async fn every_cpu_the_tool_accepts_is_admitted() {
    let env = Env::new().await;
    for &(written, _, _) in CPU_ACCEPTED {
        let memory = memory_for(written.parse().unwrap()).to_string();
        let (status, body) = env.admit(json!({"cpu": written, "memory": memory})).await;
        assert_eq!(status, 200, "cpu {written}, memory {memory}: {body}");
        // As written: the emulator stores what was sent.
        let limits = &body["response"]["template"]["containers"][0]["resources"]["limits"];
        assert_eq!(limits["cpu"], written, "{body}");
    }
}

#[tokio::test]
async fn every_memory_the_tool_accepts_is_admitted() {
    let env = Env::new().await;
    for &(written, _, _) in MEMORY_ACCEPTED {
        let cpu = cpu_for(written.parse().unwrap()).to_string();
        let (status, body) = env.admit(json!({"cpu": cpu, "memory": written})).await;
        assert_eq!(status, 200, "cpu {cpu}, memory {written}: {body}");
    }
}

#[tokio::test]
async fn quantities_the_tool_refuses_are_refused() {
    let env = Env::new().await;
    let refused = CPU_NOT_A_QUANTITY
        .iter()
        .chain(CPU_UNSUPPORTED)
        .map(|cpu| json!({"cpu": cpu, "memory": "512Mi"}))
        .chain(
            MEMORY_NOT_A_QUANTITY
                .iter()
                .chain(MEMORY_OUT_OF_RANGE)
                .map(|memory| json!({"cpu": "1", "memory": memory})),
        );
    for limits in refused {
        let (status, body) = env.admit(limits.clone()).await;
        assert_eq!(status, 400, "{limits}: {body}");
        assert_eq!(
            body["error"]["status"], "INVALID_ARGUMENT",
            "{limits}: {body}"
        );
    }
}

/// Pairs outside Cloud Run's CPU/memory table are refused with Google's message (quoted in
/// `autosre_types::CpuMemoryError`).
#[tokio::test]
async fn the_cpu_memory_table_answers_in_googles_words() {
    let env = Env::new().await;
    for (cpu, memory, message) in [
        (
            "1",
            "16Gi",
            "For 1.0 CPU, memory must be between 128Mi and 4Gi inclusive.",
        ),
        (
            "0.5",
            "2Gi",
            "For 0.5 CPU, memory must be between 128Mi and 1Gi inclusive.",
        ),
        (
            "8",
            "2Gi",
            "For 8.0 CPU, memory must be between 4Gi and 32Gi inclusive.",
        ),
    ] {
        let (status, body) = env.admit(json!({"cpu": cpu, "memory": memory})).await;
        assert_eq!(status, 400, "{cpu} {memory}: {body}");
        assert_eq!(
            body["error"]["message"],
            format!(
                "spec.template.spec.containers[0].resources.limits.memory: Invalid value \
                 specified for memory. {message}"
            ),
            "{body}"
        );
    }
    // No CPU limit means Cloud Run's default of 1.
    let (status, body) = env.admit(json!({"memory": "8Gi"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("For 1.0 CPU"),
        "{body}"
    );
}
