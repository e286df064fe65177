//! CPU limits in Kubernetes CPU units.

use std::fmt;
use std::str::FromStr;

use crate::digits;

/// A Cloud Run CPU limit, held as millicpu: `"2"` is 2000, `"0.5"` and `"500m"` are 500.
///
/// Parsing accepts Kubernetes CPU spellings (a whole or decimal number of CPUs with at most 3
/// decimals, or a whole number of millicpu with the suffix `m`) and only the values Cloud Run
/// supports: 1, 2, 4, 6 or 8 CPUs, or a fraction from 0.08 to 1 in steps of 0.001
/// (<https://cloud.google.com/run/docs/configuring/services/cpu>, "CPU and memory table").
/// [`Display`](fmt::Display) is canonical: whole CPUs as a number (`4`), fractions in
/// millicpu (`500m`), the spelling Kubernetes itself prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(u32);

/// The whole CPU counts Cloud Run takes above 1.
const WHOLE: [u32; 4] = [2000, 4000, 6000, 8000];

impl Cpu {
    /// Cloud Run's default, 1 CPU.
    pub const DEFAULT: Cpu = Cpu(1000);

    /// The limit in millicpu.
    pub fn millis(self) -> u32 {
        self.0
    }

    /// A limit from millicpu, if Cloud Run supports it.
    pub fn from_millis(millis: u32) -> Option<Cpu> {
        ((80..=1000).contains(&millis) || WHOLE.contains(&millis)).then_some(Cpu(millis))
    }

    /// The number of CPUs as Google's error messages print it: `1.0`, `4.0`, `0.5`, `0.333`.
    pub fn cores_text(self) -> String {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            format!("{whole}.0")
        } else {
            let frac = format!("{frac:03}");
            format!("{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}", self.0 / 1000)
        } else {
            write!(f, "{}m", self.0)
        }
    }
}

/// Why a CPU limit was refused. Display is the message; [`CpuError::hint`] says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuError {
    /// Not a CPU quantity at all (`four`, `1,5`, `2 cpu`).
    #[error("invalid CPU limit `{written}`")]
    Syntax { written: String },
    /// A quantity Cloud Run does not offer (`3`, `1.5`, `0.05`, `16`).
    #[error("unsupported CPU limit `{written}`: {}", why(*millis))]
    Unsupported { written: String, millis: u64 },
}

fn why(millis: u64) -> &'static str {
    if millis < 80 {
        "below Cloud Run's minimum of 0.08"
    } else if millis > 8000 {
        "above Cloud Run's maximum of 8"
    } else {
        "above 1 CPU Cloud Run takes only 2, 4, 6 or 8"
    }
}

impl CpuError {
    /// What to write instead.
    pub fn hint(&self) -> &'static str {
        "write the number of CPUs as `\"1\"`, `\"2\"`, `\"4\"`, `\"6\"` or `\"8\"`, or a \
         fraction between 0.08 and 1 such as `\"0.5\"` or `\"500m\"`"
    }
}

impl FromStr for Cpu {
    type Err = CpuError;

    fn from_str(s: &str) -> Result<Cpu, CpuError> {
        let millis = parse_millis(s).ok_or_else(|| CpuError::Syntax {
            written: s.to_owned(),
        })?;
        u32::try_from(millis)
            .ok()
            .and_then(Cpu::from_millis)
            .ok_or_else(|| CpuError::Unsupported {
                written: s.to_owned(),
                millis,
            })
    }
}

/// `"2"` -> 2000, `"0.5"` -> 500, `".25"` -> 250, `"500m"` -> 500; at most 3 decimals.
fn parse_millis(s: &str) -> Option<u64> {
    if let Some(m) = s.strip_suffix('m') {
        return digits(m)?.parse().ok();
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 3 {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        digits(whole)?.parse().ok()?
    };
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        format!("{:0<3}", digits(frac)?).parse().ok()?
    };
    whole.checked_mul(1000)?.checked_add(frac)
}

crate::serde_via_text!(Cpu, "a CPU limit such as \"1\", \"0.5\" or \"500m\"");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spellings::{CPU_ACCEPTED, CPU_NOT_A_QUANTITY, CPU_UNSUPPORTED};

    /// Every accepted spelling and the value it means.
    #[test]
    fn accepted_spellings() {
        for &(written, millis, canonical) in CPU_ACCEPTED {
            let cpu: Cpu = written.parse().unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(cpu.millis(), millis, "{written}");
            assert_eq!(cpu.to_string(), canonical, "{written}");
            assert_eq!(canonical.parse::<Cpu>(), Ok(cpu), "{canonical} round-trips");
        }
    }

    #[test]
    fn refused_spellings() {
        for &bad in CPU_NOT_A_QUANTITY {
            assert!(
                matches!(bad.parse::<Cpu>(), Err(CpuError::Syntax { .. })),
                "{bad}"
            );
        }
        for &unsupported in CPU_UNSUPPORTED {
            assert!(
                matches!(
                    unsupported.parse::<Cpu>(),
                    Err(CpuError::Unsupported { .. })
                ),
                "{unsupported}"
            );
        }
        assert_eq!(
            "3".parse::<Cpu>().unwrap_err().to_string(),
            "unsupported CPU limit `3`: above 1 CPU Cloud Run takes only 2, 4, 6 or 8"
        );
        assert!(
            "four"
                .parse::<Cpu>()
                .unwrap_err()
                .hint()
                .contains("`\"2\"`")
        );
    }

    #[test]
    fn compares_by_value() {
        assert_eq!("1000m".parse::<Cpu>(), "1".parse::<Cpu>());
        assert_eq!("0.5".parse::<Cpu>(), "500m".parse::<Cpu>());
    }

    #[test]
    fn cores_text_matches_googles_messages() {
        let text = |s: &str| s.parse::<Cpu>().unwrap().cores_text();
        assert_eq!(text("1"), "1.0");
        assert_eq!(text("4"), "4.0");
        assert_eq!(text("0.5"), "0.5");
        assert_eq!(text("333m"), "0.333");
    }

    #[test]
    fn serde_reads_text_and_numbers() {
        let cpu: Cpu = serde_json::from_str("\"500m\"").unwrap();
        assert_eq!(cpu.millis(), 500);
        let cpu: Cpu = serde_json::from_str("4").unwrap();
        assert_eq!(cpu.millis(), 4000);
        let cpu: Cpu = serde_json::from_str("0.5").unwrap();
        assert_eq!(cpu.millis(), 500);
        assert_eq!(serde_json::to_string(&cpu).unwrap(), "\"500m\"");
    }
}
