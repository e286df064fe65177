//! The request journal: one entry per HTTP request the emulator answered.
//!
//! Performance and reliability tests are built on it (how many writes a deploy made, in
//! which order, how long each took), so it records the matched discovery method id, whether
//! the route mutates state, and timings relative to the emulator's creation. It deliberately
//! holds no bodies: secret payloads must never reach it.

use serde::Serialize;
use std::time::Duration;

/// Which Google API a request belonged to. Cloud Run operations count as `Run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Api {
    Run,
    SecretManager,
    Iam,
    ResourceManager,
    /// Identity-Aware Proxy v1 (IAM policies of `iap_web` resources).
    Iap,
    /// IAM Service Account Credentials (impersonation).
    IamCredentials,
    /// Cloud Storage JSON API v1 (buckets, objects, media uploads and downloads).
    Storage,
    /// Cloud Build v1 (builds and their operations).
    CloudBuild,
    /// Artifact Registry v1 (repositories and their operations).
    ArtifactRegistry,
    /// A request that matched no route (answered 404) or the emulator's own endpoints.
    Unknown,
}

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Position in arrival order, from 1.
    pub seq: u64,
    pub api: Api,
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Decoded request path, e.g. `/v1/projects/acme/secrets/db:getIamPolicy`.
    pub path: String,
    /// Raw query string, without the `?`.
    pub query: String,
    /// Discovery method id, e.g. `run.projects.locations.services.patch`; empty if no route.
    pub rpc: String,
    /// The route mutates state and the request was not `validateOnly`.
    pub write: bool,
    pub validate_only: bool,
    /// HTTP status of the answer; 0 for a request held by a `Hang` fault (never answered).
    pub status: u16,
    /// An injected [`crate::Fault`] shaped the answer.
    pub faulted: bool,
    /// The account the request was made as: the service account of a token
    /// `generateAccessToken` issued, else the world's caller.
    pub principal: String,
    /// When the request arrived, since the emulator was created.
    pub started: Duration,
    /// When the answer was ready, since the emulator was created.
    pub ended: Duration,
}
