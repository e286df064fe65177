//! The file layer: what `config/<env>.yaml` says, before any default is applied.
//!
//! Every field is optional and wrapped in [`Spanned`] so that the resolve step can point at the
//! exact line and column of a bad value. `deny_unknown_fields` everywhere: a typo such as
//! `memroy:` must be an error, not a silently ignored key that leaves the default in place.
//! These types never leave the `config` module; the rest of the program sees only the resolved
//! types in `environment.rs`.

use std::fmt;

use autosre_types::{Cpu, Memory, Timeout};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::Spanned;

use super::defaults;
use super::environment::SecretAccess;
use super::schema;

mod scalars;
pub(super) use scalars::{EnvValue, Flag, SpannedMap, Text};

// The doc comments of these types and fields are the descriptions of the published JSON
// Schema (`schema.rs` derives it with schemars; `#[schemars(with = ..)]` names the type each
// field has in the file, without the `Spanned` wrapper). Notes for readers of the code are
// plain comments.

/// One deploy target of the Auto SRE agent on Cloud Run: config/<env>.yaml.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "autosre-deploy environment")]
pub(super) struct RawFile {
    /// Google Cloud project id: 6-30 lowercase letters, digits or hyphens, starting with a
    /// letter.
    #[schemars(with = "String", regex(pattern = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"))]
    pub(crate) project: Option<Spanned<Text>>,
    /// Cloud Run region.
    #[schemars(
        with = "Option<String>",
        extend("default" = defaults::REGION, "examples" = ["us-central1", "europe-west1"])
    )]
    pub(crate) region: Option<Spanned<Text>>,
    /// Several Cloud Run regions instead of `region`: the same service is deployed to each.
    /// An entry is a region name, or a mapping of one region name to what differs there
    /// (`min_instances`, `env` values); everything else is shared.
    #[schemars(
        with = "Option<Vec<schema::RegionEntry>>",
        extend("examples" = [["us-central1", "europe-west1"]])
    )]
    pub(crate) regions: Option<Spanned<Vec<Spanned<RawRegion>>>>,
    /// A production environment: service.env must set STRICT_EUC_ENFORCEMENT to "true", and
    /// allow_unauthenticated: true needs service.public_ack.
    #[schemars(with = "Option<bool>", extend("default" = defaults::PRODUCTION))]
    pub(crate) production: Option<Spanned<Flag>>,
    /// The Cloud Run service.
    #[schemars(extend("default" = {}))]
    pub(crate) service: Option<RawService>,
    /// The agent's encryption key. service.secrets must map `env` to `secret`, or the deploy
    /// refuses to run.
    #[schemars(extend("default" = {
        "secret": defaults::ENCRYPTION_KEY_SECRET,
        "env": defaults::ENCRYPTION_KEY_ENV
    }))]
    pub(crate) encryption_key: Option<RawEncryptionKey>,
    /// IAM grants made by the deploy.
    #[schemars(extend("default" = {}))]
    pub(crate) iam: Option<RawIam>,
    /// Identity-Aware Proxy in front of the service: turns on Cloud Run's IAP, lets IAP's
    /// service agent invoke the service and grants each member
    /// roles/iap.httpsResourceAccessor on the service's IAP resource. Not with
    /// service.allow_unauthenticated: true.
    pub(crate) iap: Option<RawIap>,
    /// The agent's own settings, set on the service as environment variables:
    /// url as SRE_AGENT_URL and SRE_AGENT_API_URL, id as SRE_AGENT_ID. service.env must not
    /// set those too.
    pub(crate) agent: Option<RawAgent>,
    /// Where and as whom a source deploy (service.source, --source) builds its image.
    #[schemars(extend("default" = {}))]
    pub(crate) build: Option<RawBuild>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    /// The Cloud Build region of a build made through Cloud Build directly (where Cloud
    /// Run's builds:submit is not available, or for a Dockerfile other than the root one).
    /// Default: global, as gcloud builds. Regions with build restrictions refuse builds on
    /// the default pool.
    #[schemars(with = "Option<String>", extend("examples" = ["us-central1"]))]
    pub(crate) region: Option<Spanned<Text>>,
    /// A Cloud Build private pool: projects/PROJECT/locations/REGION/workerPools/POOL. The
    /// build runs in the pool's region.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^projects/[^/]+/locations/[^/]+/workerPools/[^/]+$")
    )]
    pub(crate) worker_pool: Option<Spanned<Text>>,
    /// The service account the build runs as (its email). Default: the project's default
    /// build account, which the plan names. The deployer needs iam.serviceAccounts.actAs on
    /// it.
    #[schemars(with = "Option<String>", email)]
    pub(crate) service_account: Option<Spanned<Text>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIap {
    /// Who may reach the service through IAP (user:EMAIL, group:EMAIL, domain:DOMAIN,
    /// serviceAccount:EMAIL, principal://..., principalSet://...).
    #[schemars(with = "Option<Vec<String>>", extend("default" = []))]
    pub(crate) members: Option<Vec<Spanned<Text>>>,
    /// Remove members no longer listed. Default false: add only, never remove.
    #[schemars(with = "Option<bool>", extend("default" = defaults::IAP_EXCLUSIVE))]
    pub(crate) exclusive: Option<Spanned<Flag>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    /// The agent's URL (SRE_AGENT_URL and SRE_AGENT_API_URL): https, or http for localhost,
    /// 127.0.0.1 or [::1].
    #[schemars(with = "Option<String>", url)]
    pub(crate) url: Option<Spanned<Text>>,
    /// The agent's id (SRE_AGENT_ID).
    #[schemars(with = "Option<String>")]
    pub(crate) id: Option<Spanned<Text>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    /// Service name: lowercase letters, digits, hyphens; starts with a letter; at most 49
    /// characters.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$"),
        extend("default" = defaults::SERVICE_NAME)
    )]
    pub(crate) name: Option<Spanned<Text>>,
    /// Container image. Optional here: the --image flag may supply it.
    #[schemars(with = "Option<String>")]
    pub(crate) image: Option<Spanned<Text>>,
    /// Build the image from this directory (relative to this file's directory) unless
    /// --image is given, as `gcloud run deploy --source` does. Example: `..` when the
    /// config lives in config/ and the Dockerfile at the repository root.
    #[schemars(with = "Option<String>")]
    pub(crate) source: Option<Spanned<Text>>,
    /// The Dockerfile to build with, relative to the source directory. Default: `Dockerfile`
    /// at its root when present, else Google Cloud's buildpacks.
    #[schemars(with = "Option<String>")]
    pub(crate) dockerfile: Option<Spanned<Text>>,
    /// Runtime service account email. Default: Cloud Run's default (the Compute Engine
    /// default service account).
    #[schemars(with = "Option<String>", email)]
    pub(crate) service_account: Option<Spanned<Text>>,
    /// CPU limit: 1, 2, 4, 6 or 8, or a fraction from 0.08 to 1 ("0.5", "500m").
    // Text, not a number: `cpu: 4`, `cpu: "0.5"` and `cpu: 500m` all arrive as written.
    #[schemars(with = "Option<Cpu>", extend("default" = defaults::CPU))]
    pub(crate) cpu: Option<Spanned<String>>,
    /// Memory limit as a Kubernetes quantity, 128Mi to 32Gi ("512Mi", "16Gi", "1G", "0.5Gi");
    /// within Cloud Run's CPU/memory table (more than 4Gi needs 2 CPU, more than 8Gi 4, more
    /// than 16Gi 6, more than 24Gi 8).
    #[schemars(with = "Option<Memory>", extend("default" = defaults::MEMORY))]
    pub(crate) memory: Option<Spanned<Text>>,
    /// Request timeout with a unit, at most 60 minutes ("300s", "5m", "1h", "1m30s").
    // Text: a bare `300` arrives as `"300"` and is then rejected for its missing unit.
    #[schemars(with = "Option<Timeout>", extend("default" = defaults::TIMEOUT))]
    pub(crate) timeout: Option<Spanned<String>>,
    /// Maximum concurrent requests per instance.
    #[schemars(
        with = "Option<u32>",
        range(min = 1, max = 1000),
        extend("default" = defaults::CONCURRENCY)
    )]
    pub(crate) concurrency: Option<Spanned<u32>>,
    /// Minimum instances kept warm (0 scales to zero).
    #[schemars(with = "Option<u32>", extend("default" = defaults::MIN_INSTANCES))]
    pub(crate) min_instances: Option<Spanned<u32>>,
    /// Maximum instances; at least min_instances.
    #[schemars(
        with = "Option<u32>",
        range(min = 1),
        extend("default" = defaults::MAX_INSTANCES)
    )]
    pub(crate) max_instances: Option<Spanned<u32>>,
    /// Grant roles/run.invoker to allUsers (a public endpoint).
    #[schemars(
        with = "Option<bool>",
        extend("default" = defaults::ALLOW_UNAUTHENTICATED)
    )]
    pub(crate) allow_unauthenticated: Option<Spanned<Flag>>,
    /// Why this production service is public; required with production: true and
    /// allow_unauthenticated: true.
    #[schemars(with = "Option<String>")]
    pub(crate) public_ack: Option<Spanned<Text>>,
    /// Plain environment variables. Values must be strings: quote numbers and booleans.
    /// Never the encryption key.
    #[schemars(with = "Option<schema::EnvMap>", extend("default" = {}))]
    pub(crate) env: Option<SpannedMap<EnvValue>>,
    /// Names in env that look like credentials (*_KEY, *_TOKEN, *_SECRET, *PASSWORD*,
    /// *CREDENTIALS*) but are deliberately plain values.
    #[schemars(with = "Option<Vec<schema::EnvName>>", extend("default" = []))]
    pub(crate) plain_env_allow: Option<Vec<Spanned<Text>>>,
    /// Environment variables filled from Secret Manager: ENV_NAME: secret[:version] or
    /// projects/P/secrets/S[:version]; version defaults to latest.
    #[schemars(with = "Option<schema::SecretsMap>", extend("default" = {}))]
    pub(crate) secrets: Option<SpannedMap<Text>>,
    /// Pin each secret read at latest to the version number it resolves to at deploy time.
    #[schemars(
        with = "Option<bool>",
        extend("default" = defaults::PIN_SECRET_VERSIONS)
    )]
    pub(crate) pin_secret_versions: Option<Spanned<Flag>>,
    /// Where each deploy sends traffic: `latest` (all of it to the new revision, restoring
    /// LATEST = 100 when traffic was pinned to named revisions) or `keep` (the live split as
    /// it is; a pinned split gives the new revision none until `promote`).
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^(latest|keep)$"),
        extend("default" = defaults::TRAFFIC)
    )]
    pub(crate) traffic: Option<Spanned<Text>>,
    /// Labels on the service and its revisions, besides the tool's own (`managed-by:
    /// autosre-deploy`, and `commit-sha` from GITHUB_SHA): lowercase letters, digits, `_` and
    /// `-`, at most 63 characters, keys starting with a letter. `false`: none of the tool's
    /// own labels. Labels set by others are kept.
    #[schemars(with = "Option<schema::Labels>", extend("default" = {}))]
    pub(crate) labels: Option<Spanned<RawLabels>>,
}

/// `service.labels`: a mapping of labels, or `false`.
#[derive(Debug)]
pub(super) enum RawLabels {
    Map(Vec<(Spanned<String>, Spanned<EnvValue>)>),
    /// A boolean: `false` turns the tool's labels off (`true` is refused at resolve).
    Flag(bool),
    /// Anything else, by what it is.
    Other(&'static str),
}

impl<'de> Deserialize<'de> for RawLabels {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelsVisitor;

        impl<'de> Visitor<'de> for LabelsVisitor {
            type Value = RawLabels;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of labels, or false")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawLabels, E> {
                Ok(RawLabels::Flag(v))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<RawLabels, E> {
                Ok(RawLabels::Other("a string"))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawLabels, E> {
                Ok(RawLabels::Other("a number"))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawLabels, E> {
                Ok(RawLabels::Other("a number"))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawLabels, E> {
                Ok(RawLabels::Other("a number"))
            }

            fn visit_unit<E: de::Error>(self) -> Result<RawLabels, E> {
                Ok(RawLabels::Map(Vec::new()))
            }

            fn visit_none<E: de::Error>(self) -> Result<RawLabels, E> {
                Ok(RawLabels::Map(Vec::new()))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawLabels, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(RawLabels::Other("a list"))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLabels, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value::<Spanned<EnvValue>>()?));
                }
                Ok(RawLabels::Map(entries))
            }
        }

        deserializer.deserialize_any(LabelsVisitor)
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEncryptionKey {
    /// Secret Manager secret id holding the key.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^[A-Za-z0-9_-]{1,255}$"),
        extend("default" = defaults::ENCRYPTION_KEY_SECRET)
    )]
    pub(crate) secret: Option<Spanned<Text>>,
    /// Environment variable the agent reads the key from.
    #[schemars(
        with = "Option<schema::EnvName>",
        extend("default" = defaults::ENCRYPTION_KEY_ENV)
    )]
    pub(crate) env: Option<Spanned<Text>>,
    /// Where `key init` replicates a secret it creates (user-managed replication), e.g.
    /// [us-central1, us-east1]; empty or absent: automatic replication.
    #[schemars(with = "Option<Vec<String>>", extend("default" = []))]
    pub(crate) replica_locations: Option<Vec<Spanned<Text>>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIam {
    /// Roles granted to the runtime service account on the project (roles/x.y,
    /// projects/P/roles/N, organizations/N/roles/N).
    #[schemars(with = "Option<Vec<String>>", extend("default" = []))]
    pub(crate) project_roles: Option<Vec<Spanned<Text>>>,
    /// Scope of roles/secretmanager.secretAccessor: per-secret (least privilege) or project.
    #[schemars(with = "Option<SecretAccess>", extend("default" = defaults::SECRET_ACCESS))]
    pub(crate) secret_access: Option<Spanned<SecretAccess>>,
    /// Members granted roles/iam.serviceAccountUser on the runtime account;
    /// `{project_number}` is replaced with the project's number.
    #[schemars(with = "Option<Vec<String>>", extend("default" = []))]
    pub(crate) service_account_users: Option<Vec<Spanned<Text>>>,
}

/// One entry of `regions:`: `europe-west1`, or `europe-west1: {min_instances: 1, env: {...}}`.
#[derive(Debug)]
pub(super) struct RawRegion {
    /// The region's name as written (a mapping's key, or the entry itself).
    pub(crate) name: Text,
    /// What differs in this region; `None` for a bare name.
    pub(crate) overrides: Option<RawRegionOverrides>,
    /// A mapping with other than one key (how many), reported by the resolve step.
    pub(crate) keys: usize,
}

/// What one region changes from the shared `service:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegionOverrides {
    pub(crate) min_instances: Option<Spanned<u32>>,
    pub(crate) env: Option<SpannedMap<EnvValue>>,
}

impl<'de> Deserialize<'de> for RawRegion {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RegionVisitor;

        impl<'de> Visitor<'de> for RegionVisitor {
            type Value = RawRegion;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a region name, or `REGION: {min_instances, env}`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRegion, E> {
                Ok(RawRegion {
                    name: Text(Ok(v.to_owned())),
                    overrides: None,
                    keys: 1,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRegion, A::Error> {
                let mut first: Option<(String, RawRegionOverrides)> = None;
                let mut keys = 0;
                while let Some(name) = map.next_key::<String>()? {
                    keys += 1;
                    let overrides = map
                        .next_value::<Option<RawRegionOverrides>>()?
                        .unwrap_or_default();
                    first.get_or_insert((name, overrides));
                }
                let (name, overrides) = first.unwrap_or_default();
                Ok(RawRegion {
                    name: Text(Ok(name)),
                    overrides: Some(overrides),
                    keys,
                })
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawRegion, E> {
                Ok(RawRegion::not_text("the boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawRegion, E> {
                Ok(RawRegion::not_text("the number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawRegion, E> {
                Ok(RawRegion::not_text("the number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawRegion, E> {
                Ok(RawRegion::not_text("the number"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawRegion, E> {
                Ok(RawRegion::not_text("an empty value"))
            }
            fn visit_none<E: de::Error>(self) -> Result<RawRegion, E> {
                Ok(RawRegion::not_text("an empty value"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawRegion, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(RawRegion::not_text("a list"))
            }
        }

        deserializer.deserialize_any(RegionVisitor)
    }
}

impl RawRegion {
    fn not_text(kind: &'static str) -> RawRegion {
        RawRegion {
            name: Text(Err(kind)),
            overrides: None,
            keys: 1,
        }
    }
}
