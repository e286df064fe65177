//! The spellings the tool accepts and refuses, as tables.
//!
//! One list serves three checks: this crate's tests parse each entry, and the emulator's tests
//! send each through Cloud Run's admission path (a `validateOnly` create), so a spelling the
//! tool writes into `config/<env>.yaml` can never be one the emulator refuses, and the other
//! way round. Add a case here and all of them check it.

/// CPU limits the tool accepts: `(written, millicpu, canonical spelling)`.
pub const CPU_ACCEPTED: &[(&str, u32, &str)] = &[
    ("1", 1000, "1"),
    ("2", 2000, "2"),
    ("4", 4000, "4"),
    ("6", 6000, "6"),
    ("8", 8000, "8"),
    ("1.0", 1000, "1"),
    ("4.000", 4000, "4"),
    ("0.5", 500, "500m"),
    (".25", 250, "250m"),
    ("0.08", 80, "80m"),
    ("0.333", 333, "333m"),
    ("500m", 500, "500m"),
    ("80m", 80, "80m"),
    ("1000m", 1000, "1"),
    ("2000m", 2000, "2"),
    ("8000m", 8000, "8"),
];

/// Text that is not a CPU quantity at all.
pub const CPU_NOT_A_QUANTITY: &[&str] = &[
    "four", "", "1,5", "2 cpu", "-1", "1.2345", "0.0001", "m", "0.5m", "1e3", " 1",
];

/// CPU quantities Cloud Run does not offer (between 1 and 8 only whole 2, 4, 6, 8; nothing
/// below 0.08).
pub const CPU_UNSUPPORTED: &[&str] = &["3", "1.5", "16", "0.05", "0", "79m", "1001m"];

/// Memory limits the tool accepts: `(written, bytes, canonical spelling)`.
pub const MEMORY_ACCEPTED: &[(&str, u64, &str)] = &[
    ("512Mi", 512 * MIB, "512Mi"),
    ("16Gi", 16 * GIB, "16Gi"),
    ("32Gi", 32 * GIB, "32Gi"),
    ("128Mi", 128 * MIB, "128Mi"),
    ("2048Mi", 2 * GIB, "2Gi"),
    ("0.5Gi", 512 * MIB, "512Mi"),
    (".5Gi", 512 * MIB, "512Mi"),
    ("1.5Gi", 1536 * MIB, "1536Mi"),
    ("1G", 1_000_000_000, "1G"),
    ("1.5G", 1_500_000_000, "1500M"),
    ("512M", 512_000_000, "512M"),
    ("524288Ki", 512 * MIB, "512Mi"),
    ("1000000k", 1_000_000_000, "1G"),
    ("536870912", 512 * MIB, "512Mi"),
];

/// Text that is not a Kubernetes memory quantity (`K` and `B` suffixes, wrong case, spaces).
pub const MEMORY_NOT_A_QUANTITY: &[&str] = &[
    "16GB", "16gi", "lots", "", "Gi", "1.2.3Gi", "1K", "1 Gi", "-1Gi", "0.3Ki1", "1e9",
];

/// Memory quantities outside Cloud Run's 128Mi to 32Gi.
pub const MEMORY_OUT_OF_RANGE: &[&str] = &["64Mi", "33Gi"];

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
