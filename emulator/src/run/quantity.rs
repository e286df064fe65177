//! CPU and memory quantities in Cloud Run limits, and Cloud Run's memory/CPU table.

pub(super) fn is_cpu(s: &str) -> bool {
    let num = s.strip_suffix('m').unwrap_or(s);
    !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.parse::<f64>().is_ok_and(|v| v > 0.0)
        && !(s.ends_with('m') && num.contains('.'))
}

pub(super) fn is_memory(s: &str) -> bool {
    // Kubernetes quantity syntax, as Cloud Run documents for --memory ("512Mi", "1Gi").
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    digits_end > 0
        && matches!(
            &s[digits_end..],
            "" | "k" | "K" | "M" | "G" | "T" | "Ki" | "Mi" | "Gi" | "Ti"
        )
}

/// A memory quantity in bytes (binary and decimal suffixes, as Kubernetes).
pub(super) fn memory_bytes(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits_end].parse().ok()?;
    let unit: u64 = match &s[digits_end..] {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// CPUs as a number ("4", "0.5", "1000m").
pub(super) fn cpu_count(s: &str) -> Option<f64> {
    match s.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
        None => s.parse().ok(),
    }
}

/// Cloud Run's "Required minimum CPUs" for a memory limit: more than 4 GiB
/// needs 2, more than 8 GiB 4, more than 16 GiB 6, more than 24 GiB 8; at most
/// 32 GiB (cloud.google.com/run/docs/configuring/services/memory-limits).
/// Returns the largest memory allowed for `cpu`, as Google's message words it.
pub(super) fn memory_ceiling(cpu: f64) -> (u64, &'static str) {
    const GI: u64 = 1 << 30;
    if cpu >= 8.0 {
        (32 * GI, "32Gi")
    } else if cpu >= 6.0 {
        (24 * GI, "24Gi")
    } else if cpu >= 4.0 {
        (16 * GI, "16Gi")
    } else if cpu >= 2.0 {
        (8 * GI, "8Gi")
    } else {
        (4 * GI, "4Gi")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_checked() {
        assert!(is_cpu("1") && is_cpu("1000m") && is_cpu("0.5") && !is_cpu("fast") && !is_cpu(""));
        assert!(is_memory("512Mi") && is_memory("1Gi") && !is_memory("1 GB") && !is_memory("Mi"));
    }

    #[test]
    fn memory_needs_the_documented_minimum_cpus() {
        // cloud.google.com/run/docs/configuring/services/memory-limits
        let gi = 1u64 << 30;
        assert_eq!(memory_bytes("16Gi"), Some(16 * gi));
        assert_eq!(memory_bytes("512Mi"), Some(512 << 20));
        assert_eq!(cpu_count("1000m"), Some(1.0));
        assert_eq!(memory_ceiling(1.0).0, 4 * gi);
        assert_eq!(memory_ceiling(2.0).0, 8 * gi);
        assert_eq!(memory_ceiling(4.0).0, 16 * gi);
        assert_eq!(memory_ceiling(6.0).0, 24 * gi);
        assert_eq!(memory_ceiling(8.0).0, 32 * gi);
    }
}
