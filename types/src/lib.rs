//! Cloud Run quantities shared by autosre-deploy and its emulator, each parsed once.
//!
//! The tool reads them from `config/<env>.yaml`, compares them with what Cloud Run reports, and
//! sends them; the emulator admits them the way Cloud Run does. One parser means the two cannot
//! disagree about a spelling (`0.5Gi`, `500m`) or about Cloud Run's CPU/memory table.
//!
//! - [`Cpu`]: Kubernetes CPU units, held as millicpu (`"4"`, `"0.5"`, `"500m"`).
//! - [`Memory`]: a Kubernetes memory quantity, held as bytes (`"512Mi"`, `"16Gi"`, `"1G"`).
//! - [`Timeout`]: Cloud Run's request timeout, held as whole seconds (`"300s"`, `"5m"`).
//! - [`parse_duration`]: the one duration syntax (`90s`, `7m`, `1h30m`, `250ms`), for every
//!   duration flag and environment variable of the tool and for [`Timeout`].
//! - [`check_cpu_memory`]: Cloud Run's documented CPU/memory table, with Google's wording.
//! - [`spellings`]: the spellings accepted and refused, as tables other crates test against.
//! - [`roles`]: the permissions of Google's predefined IAM roles, from a vendored snapshot.
//!
//! Values compare by value (`"1000m" == "1"`, `"0.5Gi" == "512Mi"`) and display in one
//! canonical spelling. Parse errors are typed; each carries a `hint()` saying what to write.
//! No dependency beyond serde and thiserror: the emulator links this crate too. The `schemars`
//! feature adds `JsonSchema` (the config file's published schema).

mod cpu;
mod duration;
mod memory;
pub mod roles;
#[cfg(feature = "schemars")]
mod schema;
pub mod spellings;
mod table;
mod timeout;

pub use cpu::{Cpu, CpuError};
pub use duration::{Bare, DurationError, parse_duration};
pub use memory::{Memory, MemoryError};
pub use table::{CpuMemoryError, check_cpu_memory, memory_range};
pub use timeout::{Timeout, TimeoutError};

/// `s` if it is 1 to 12 ASCII digits (enough for any quantity here, small enough never to
/// overflow the arithmetic below).
fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Serde support shared by the quantities: serialize as the canonical text; deserialize from
/// text or (for the number-like ones) from a YAML/JSON number.
macro_rules! serde_via_text {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$ty, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$ty, E> {
                        self.visit_str(&v.to_string())
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}
pub(crate) use serde_via_text;
