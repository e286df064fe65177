//! The end-to-end tests: one binary (as ripgrep, just and uv have), one module per area.
//!
//! Most tests call the tool in-process against an in-process emulator through
//! [`harness::Harness`]; a few spawn the built binary where only a real process will do.
//! Tests that need the gcloud CLI are compiled only with the `gcloud-tests` feature.

#[macro_use]
mod harness;

mod agent;
mod ci;
mod cli;
mod config_errors;
mod contract;
mod deadlines;
mod deploy;
mod digest;
mod docs;
mod example;
mod faults;
mod google;
mod iap;
mod identity;
mod key;
mod labels;
mod latency;
mod leaks;
mod permissions;
mod pinning;
mod pipelines;
mod plan;
mod release;
#[cfg(feature = "gcloud-tests")]
mod scripts;
mod secrets;
mod signals;
mod source;
mod staging;
mod targets;
#[cfg(feature = "gcloud-tests")]
mod versus_scripts;

// The pure part of `cargo bench --bench deploy` (its figures and tables), tested here with
// the rest; the benchmark alone times anything.
#[path = "../../benches/deploy/report.rs"]
mod bench_report;
