//! `--sandbox`: the whole release path against an in-process emulator.
//!
//! A newcomer sees the tool work with no Google project: the emulator is
//! seeded from the config (the project, the runtime service account, and one
//! enabled version of every referenced secret, with random payloads that are
//! never printed) or from a world file, and the run ends with the number of
//! requests the emulator served.

use autosre_emulator::{Emulator, Options, Server, VersionState, World};

use crate::config::Environment;
use crate::error::Error;
use crate::settings::Sandbox;

/// The bearer token the sandbox expects, so that auth is exercised too.
pub(crate) const TOKEN: &str = "sandbox-token";
/// The sandbox's project number (any will do; fixed so output is stable).
const PROJECT_NUMBER: u64 = 123_456_789_012;

pub(crate) struct Running {
    emulator: Emulator,
    server: Server,
}

impl Running {
    pub(crate) fn url(&self) -> String {
        self.server.url()
    }

    /// The sandbox world's caller, whom the sandbox token acts as.
    pub(crate) fn caller(&self) -> String {
        self.emulator.caller()
    }

    /// `sandbox: 17 requests (5 writes) served by the in-process emulator`.
    pub(crate) fn summary(&self) -> String {
        let journal = self.emulator.journal();
        let writes = journal.iter().filter(|e| e.write).count();
        format!(
            "sandbox: {} requests ({writes} writes) served by the in-process emulator at {}",
            journal.len(),
            self.server.url()
        )
    }

    pub(crate) async fn stop(self) {
        self.server.shutdown().await;
    }
}

pub(crate) async fn start(env: &Environment, how: &Sandbox) -> Result<Running, Error> {
    let world_error = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |cause| Error::SandboxWorld { path, cause }
    };
    let (world, path) = match how {
        Sandbox::FromConfig => (world_for(env), None),
        Sandbox::World(path) => {
            let text = std::fs::read_to_string(path).map_err(|cause| Error::SandboxWorldRead {
                path: path.clone(),
                cause,
            })?;
            (
                World::from_yaml(&text).map_err(world_error(path))?,
                Some(path),
            )
        }
    };
    let options = Options {
        token: Some(TOKEN.to_string()),
        ..Options::default()
    };
    // A world the emulator cannot build is the user's file to fix (exit 2),
    // never a crash.
    let emulator = Emulator::try_new(world, options).map_err(|cause| match path {
        Some(p) => world_error(p)(cause),
        None => unreachable!("a world built from a valid config is consistent: {cause}"),
    })?;
    let server = emulator.serve().await.map_err(Error::SandboxStart)?;
    Ok(Running { emulator, server })
}

/// A world in which deploying `env` succeeds.
fn world_for(env: &Environment) -> World {
    let mut b = World::builder().project(&env.project, PROJECT_NUMBER);
    let account = env
        .service
        .service_account
        .clone()
        .unwrap_or_else(|| format!("{PROJECT_NUMBER}-compute@developer.gserviceaccount.com"));
    b = b.service_account(&account);
    // Several env vars may read one secret: seed each secret once.
    let secrets: std::collections::BTreeSet<(String, String)> = env
        .service
        .secrets
        .values()
        .map(|r| {
            (
                r.project.clone().unwrap_or_else(|| env.project.to_string()),
                r.secret.clone(),
            )
        })
        .collect();
    let mut projects = std::collections::BTreeSet::from([env.project.to_string()]);
    for (project, secret) in &secrets {
        if projects.insert(project.clone()) {
            b = b.project(project, PROJECT_NUMBER + projects.len() as u64);
        }
        // The encryption key is a Fernet key, as the preflight checks.
        let payload = match *project == *env.project && *secret == env.encryption_key.secret {
            true => crate::key::generate()
                .map(String::into_bytes)
                .unwrap_or_default(),
            false => rand::random::<[u8; 32]>().to_vec(),
        };
        b = b.secret(project, secret).secret_version(
            project,
            secret,
            VersionState::Enabled,
            &payload,
        );
    }
    // The image the config names, pushed (one outside Artifact Registry is
    // deployed by its tag and needs nothing).
    if let Some(image) = env.service.image.as_deref()
        && matches!(
            crate::plan::image::parse(image),
            crate::plan::image::Reference::Registry(_)
        )
    {
        b = b.image(image, None);
    }
    b.build()
}
