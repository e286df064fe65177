//! Cloud Run's CPU and memory table: which memory limits each CPU limit allows.
//!
//! Sources, both read on 2025 versions of the pages:
//! - <https://cloud.google.com/run/docs/configuring/services/cpu>, "CPU and memory table":
//!   0.08 CPU up to 512 MiB, 0.5 CPU up to 1 GiB, 1 CPU up to 4 GiB, 2 CPU up to 8 GiB,
//!   4 CPU 2 to 16 GiB, 6 CPU 4 to 24 GiB, 8 CPU 4 to 32 GiB ("A minimum of 0.5 CPU is needed
//!   to set a memory limit greater than 512MiB. A minimum of 1 CPU is needed to set a memory
//!   limit greater than 1GiB.");
//! - <https://cloud.google.com/run/docs/configuring/services/memory-limits>, "Required minimum
//!   CPUs": more than 4 GiB needs 2, more than 8 GiB 4, more than 16 GiB 6, more than 24 GiB 8;
//!   at most 32 GiB; at least 128 MiB (first generation) or 512 MiB (second generation).
//!
//! The lower bound used below 4 CPUs is the first-generation 128 MiB, since the execution
//! environment is not part of the tool's config. The error text is Google's, as the Admin
//! API returns it (quoted in public deploy logs: "For 1.0 CPU, memory must be between 128Mi
//! and 4Gi inclusive.", "For 8.0 CPU, memory must be between 4Gi and 32Gi inclusive.",
//! "For 0.333 CPU, memory must be between 128Mi and 512Mi inclusive.").

use crate::{Cpu, Memory};

/// A CPU/memory pair outside Cloud Run's table. Display is Google's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Invalid value specified for memory. For {} CPU, memory must be between {min} and {max} \
     inclusive.",
    cpu.cores_text()
)]
pub struct CpuMemoryError {
    pub cpu: Cpu,
    pub memory: Memory,
    /// The smallest memory this CPU limit allows.
    pub min: Memory,
    /// The largest memory this CPU limit allows.
    pub max: Memory,
}

impl CpuMemoryError {
    /// What to change, naming the nearest combination that works.
    pub fn hint(&self) -> String {
        if self.memory > self.max {
            match min_cpu_for(self.memory) {
                Some(cpu) => format!(
                    "{} of memory needs at least {cpu} CPU: raise `cpu` to `\"{cpu}\"`, or lower \
                     `memory` to at most `{}`",
                    self.memory, self.max
                ),
                None => format!("lower `memory` to at most `{}`", self.max),
            }
        } else {
            format!(
                "{} CPU needs at least {} of memory: raise `memory` to `{}`, or lower `cpu`",
                self.cpu, self.min, self.min
            )
        }
    }
}

/// The memory range Cloud Run allows for `cpu`, inclusive.
pub fn memory_range(cpu: Cpu) -> (Memory, Memory) {
    let m = cpu.millis();
    if m >= 8000 {
        (Memory::gib(4), Memory::gib(32))
    } else if m >= 6000 {
        (Memory::gib(4), Memory::gib(24))
    } else if m >= 4000 {
        (Memory::gib(2), Memory::gib(16))
    } else if m >= 2000 {
        (Memory::MIN, Memory::gib(8))
    } else if m >= 1000 {
        (Memory::MIN, Memory::gib(4))
    } else if m >= 500 {
        (Memory::MIN, Memory::gib(1))
    } else {
        (Memory::MIN, Memory::mib(512))
    }
}

/// The smallest whole CPU count whose range holds `memory`.
fn min_cpu_for(memory: Memory) -> Option<Cpu> {
    [1000, 2000, 4000, 6000, 8000]
        .into_iter()
        .filter_map(Cpu::from_millis)
        .find(|cpu| {
            let (min, max) = memory_range(*cpu);
            (min..=max).contains(&memory)
        })
}

/// Whether Cloud Run accepts `memory` with `cpu` (the table above).
pub fn check_cpu_memory(cpu: Cpu, memory: Memory) -> Result<(), CpuMemoryError> {
    let (min, max) = memory_range(cpu);
    if (min..=max).contains(&memory) {
        Ok(())
    } else {
        Err(CpuMemoryError {
            cpu,
            memory,
            min,
            max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cpu: &str, memory: &str) -> Result<(), CpuMemoryError> {
        check_cpu_memory(cpu.parse().unwrap(), memory.parse().unwrap())
    }

    #[test]
    fn the_documented_table() {
        // (cpu, largest memory allowed, next size up refused)
        for (cpu, max, over) in [
            ("0.08", "512Mi", "513Mi"),
            ("0.499", "512Mi", "1Gi"),
            ("0.5", "1Gi", "1025Mi"),
            ("1", "4Gi", "4097Mi"),
            ("2", "8Gi", "9Gi"),
            ("4", "16Gi", "17Gi"),
            ("6", "24Gi", "25Gi"),
            ("8", "32Gi", "32Gi"),
        ] {
            assert_eq!(check(cpu, max), Ok(()), "{cpu} CPU, {max}");
            if cpu != "8" {
                assert!(check(cpu, over).is_err(), "{cpu} CPU, {over}");
            }
        }
        assert_eq!(check("1", "128Mi"), Ok(()));
        assert!(check("4", "1Gi").is_err());
        assert_eq!(check("4", "2Gi"), Ok(()));
        assert!(check("6", "2Gi").is_err());
        assert!(check("8", "3Gi").is_err());
        assert_eq!(check("8", "4Gi"), Ok(()));
    }

    #[test]
    fn errors_use_googles_wording_and_name_the_fix() {
        let e = check("1", "16Gi").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value specified for memory. For 1.0 CPU, memory must be between 128Mi \
             and 4Gi inclusive."
        );
        assert!(e.hint().contains("at least 4 CPU"), "{}", e.hint());
        let e = check("8", "2Gi").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid value specified for memory. For 8.0 CPU, memory must be between 4Gi and \
             32Gi inclusive."
        );
        assert!(e.hint().contains("`4Gi`"), "{}", e.hint());
        let e = check("333m", "1Gi").unwrap_err();
        assert!(e.to_string().contains("For 0.333 CPU"), "{e}");
    }
}
