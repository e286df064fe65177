//! Memory limits as Kubernetes quantities.

use std::fmt;
use std::str::FromStr;

use crate::digits;

/// A Cloud Run memory limit, held as bytes.
///
/// The syntax is the Kubernetes quantity one, which is what Cloud Run documents for memory
/// (<https://cloud.google.com/run/docs/configuring/services/memory-limits>): a whole or decimal
/// number with an optional suffix, binary `Ki` `Mi` `Gi` `Ti` (powers of 1024) or decimal
/// `k` `M` `G` `T` (powers of 1000). Kubernetes' decimal kilo is a lowercase `k`; `K`, `KB`,
/// `GB` and lowercase `gi` are refused with the fix in the hint, since the suffixes are
/// case-sensitive and have no `B`. A decimal must come to a whole number of bytes
/// (`0.5Gi` = 512Mi, `1.5G`). The range is Cloud Run's: 128 MiB (the first-generation minimum)
/// to 32 GiB; which CPU a size needs is [`crate::check_cpu_memory`]'s business.
///
/// [`Display`](fmt::Display) is canonical: the largest suffix that divides the value exactly,
/// binary before decimal at the same scale (`2048Mi` prints `2Gi`, `0.5Gi` prints `512Mi`,
/// `1G` stays `1G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(u64);

/// Suffixes from the largest unit down; binary first at each scale.
const SUFFIXES: &[(&str, u64)] = &[
    ("Ti", 1 << 40),
    ("T", 1_000_000_000_000),
    ("Gi", 1 << 30),
    ("G", 1_000_000_000),
    ("Mi", 1 << 20),
    ("M", 1_000_000),
    ("Ki", 1 << 10),
    ("k", 1_000),
];

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

impl Memory {
    /// Cloud Run's smallest memory limit (first generation): 128Mi.
    pub const MIN: Memory = Memory(128 * MIB);
    /// Cloud Run's largest memory limit: 32Gi.
    pub const MAX: Memory = Memory(32 * GIB);
    /// Cloud Run's default: 512Mi.
    pub const DEFAULT: Memory = Memory(512 * MIB);

    /// The limit in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// `n` GiB, for tables and tests (not range-checked).
    pub const fn gib(n: u64) -> Memory {
        Memory(n * GIB)
    }

    /// `n` MiB, for tables and tests (not range-checked).
    pub const fn mib(n: u64) -> Memory {
        Memory(n * MIB)
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match SUFFIXES
            .iter()
            .find(|(_, unit)| self.0 != 0 && self.0.is_multiple_of(*unit))
        {
            Some((suffix, unit)) => write!(f, "{}{suffix}", self.0 / unit),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Why a memory limit was refused. Display is the message; [`MemoryError::hint`] says what
/// to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    /// Not a Kubernetes quantity (`16GB`, `lots`, `Gi`).
    #[error("invalid memory quantity `{written}`")]
    Syntax {
        written: String,
        /// The spelling most likely meant, when there is one: `16Gi` for `16GB`.
        suggestion: Option<String>,
    },
    #[error("memory `{written}` is below Cloud Run's minimum of 128Mi")]
    BelowMinimum { written: String },
    #[error("memory `{written}` is above Cloud Run's maximum of 32Gi")]
    AboveMaximum { written: String },
}

impl MemoryError {
    /// What to write instead.
    pub fn hint(&self) -> String {
        match self {
            MemoryError::Syntax {
                suggestion: Some(fixed),
                written,
            } => {
                let decimal = fixed.trim_end_matches('i');
                if decimal.len() < fixed.len() && !written.ends_with(['K', 'k']) {
                    format!(
                        "Kubernetes quantities have no `B` and are case-sensitive: write \
                         `{fixed}` (or `{decimal}` for powers of 1000)"
                    )
                } else {
                    format!(
                        "Kubernetes quantities have no `B` and are case-sensitive: write \
                         `{fixed}` (or `{}k` for powers of 1000)",
                        fixed.trim_end_matches("Ki")
                    )
                }
            }
            MemoryError::Syntax { .. } => {
                "write a Kubernetes quantity such as `512Mi`, `2Gi` or `16Gi`".to_owned()
            }
            MemoryError::BelowMinimum { .. } => {
                "write at least `512Mi` (the second-generation minimum and Cloud Run's default)"
                    .to_owned()
            }
            MemoryError::AboveMaximum { .. } => "write at most `32Gi`".to_owned(),
        }
    }
}

impl FromStr for Memory {
    type Err = MemoryError;

    fn from_str(s: &str) -> Result<Memory, MemoryError> {
        let memory = parse_bytes(s)
            .map(Memory)
            .ok_or_else(|| MemoryError::Syntax {
                written: s.to_owned(),
                suggestion: suggest(s),
            })?;
        if memory < Memory::MIN {
            Err(MemoryError::BelowMinimum {
                written: s.to_owned(),
            })
        } else if memory > Memory::MAX {
            Err(MemoryError::AboveMaximum {
                written: s.to_owned(),
            })
        } else {
            Ok(memory)
        }
    }
}

fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Bytes, if `s` is a quantity that comes to a whole number of them.
fn parse_bytes(s: &str) -> Option<u64> {
    let (number, suffix) = split_number(s);
    let unit = if suffix.is_empty() {
        1
    } else {
        SUFFIXES.iter().find(|(name, _)| *name == suffix)?.1
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u64 = if whole.is_empty() && !frac.is_empty() {
        0
    } else {
        digits(whole)?.parse().ok()?
    };
    let mut bytes = whole.checked_mul(unit)?;
    if number.contains('.') {
        let frac_digits = digits(frac)?;
        let scale = 10u128.pow(u32::try_from(frac_digits.len()).ok()?);
        let scaled = frac_digits.parse::<u128>().ok()? * u128::from(unit);
        if !scaled.is_multiple_of(scale) {
            return None;
        }
        bytes = bytes.checked_add(u64::try_from(scaled / scale).ok()?)?;
    }
    Some(bytes)
}

/// The quantity probably meant by a common mistake: `16GB` -> `16Gi`, `1K` -> `1Ki`.
fn suggest(s: &str) -> Option<String> {
    let (number, suffix) = split_number(s);
    let unit = match suffix {
        "GB" | "gb" | "Gb" | "gi" | "GiB" | "g" | "gB" => "Gi",
        "MB" | "mb" | "Mb" | "mi" | "MiB" | "mB" => "Mi",
        "KB" | "kb" | "Kb" | "ki" | "KiB" | "K" | "kB" => "Ki",
        "TB" | "tb" | "Tb" | "ti" | "TiB" | "t" => "Ti",
        _ => return None,
    };
    let fixed = format!("{number}{unit}");
    parse_bytes(&fixed).is_some().then_some(fixed)
}

crate::serde_via_text!(Memory, "a memory quantity such as \"512Mi\" or \"16Gi\"");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spellings::{MEMORY_ACCEPTED, MEMORY_NOT_A_QUANTITY, MEMORY_OUT_OF_RANGE};

    /// Every accepted spelling, its value in bytes and its canonical spelling.
    #[test]
    fn accepted_spellings() {
        for &(written, bytes, canonical) in MEMORY_ACCEPTED {
            let m: Memory = written.parse().unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(m.bytes(), bytes, "{written}");
            assert_eq!(m.to_string(), canonical, "{written}");
            assert_eq!(
                canonical.parse::<Memory>(),
                Ok(m),
                "{canonical} round-trips"
            );
        }
    }

    #[test]
    fn refused_spellings() {
        for &bad in MEMORY_NOT_A_QUANTITY {
            assert!(
                matches!(bad.parse::<Memory>(), Err(MemoryError::Syntax { .. })),
                "{bad}"
            );
        }
        for &out in MEMORY_OUT_OF_RANGE {
            assert!(
                matches!(
                    out.parse::<Memory>(),
                    Err(MemoryError::BelowMinimum { .. } | MemoryError::AboveMaximum { .. })
                ),
                "{out}"
            );
        }
        assert!(matches!(
            "64Mi".parse::<Memory>(),
            Err(MemoryError::BelowMinimum { .. })
        ));
        assert!(matches!(
            "33Gi".parse::<Memory>(),
            Err(MemoryError::AboveMaximum { .. })
        ));
    }

    #[test]
    fn common_mistakes_get_the_fix() {
        let hint = |s: &str| s.parse::<Memory>().unwrap_err().hint();
        assert!(hint("16GB").contains("`16Gi`"), "{}", hint("16GB"));
        assert!(hint("16GB").contains("`16G`"), "{}", hint("16GB"));
        assert!(hint("512mb").contains("`512Mi`"));
        assert!(hint("2048K").contains("`2048Ki`"), "{}", hint("2048K"));
        assert!(hint("lots").contains("`512Mi`"));
        let Err(MemoryError::Syntax { suggestion, .. }) = "0.5GB".parse::<Memory>() else {
            panic!()
        };
        assert_eq!(suggestion.as_deref(), Some("0.5Gi"));
    }

    #[test]
    fn compares_by_value() {
        assert_eq!("0.5Gi".parse::<Memory>(), "512Mi".parse::<Memory>());
        assert_eq!("1Gi".parse::<Memory>(), "1024Mi".parse::<Memory>());
        assert_ne!("1G".parse::<Memory>(), "1Gi".parse::<Memory>());
    }
}
