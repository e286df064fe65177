//! Cloud Run's request timeout.

use std::fmt;
use std::str::FromStr;

use crate::duration::{Bare, DurationError, parse_duration};

/// A request timeout in whole seconds, 1 to 3600
/// (<https://cloud.google.com/run/docs/configuring/request-timeout>: at most 60 minutes).
///
/// Written with units, gcloud's duration syntax as [`parse_duration`] reads it: `300s`,
/// `5m`, `1h`, `1m30s` (each unit at most once, largest first; whole seconds). A bare `300` is refused: gcloud reads it as seconds, but a
/// reader of the file cannot tell, so the hint gives the exact fix. [`Display`](fmt::Display)
/// is the protobuf `Duration` JSON form Cloud Run uses, `300s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout(u32);

impl Timeout {
    /// Cloud Run's default, 300 seconds.
    pub const DEFAULT: Timeout = Timeout(300);
    /// Cloud Run's maximum, 60 minutes.
    pub const MAX: Timeout = Timeout(3600);

    pub fn seconds(self) -> u32 {
        self.0
    }

    /// A timeout from seconds, if within Cloud Run's range.
    pub fn from_seconds(seconds: u32) -> Option<Timeout> {
        (1..=3600).contains(&seconds).then_some(Timeout(seconds))
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

/// Why a timeout was refused. Display is the message; [`TimeoutError::hint`] says what to
/// write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutError {
    #[error("timeout `{written}` has no unit")]
    NoUnit { written: String },
    #[error("invalid timeout `{written}`")]
    Syntax { written: String },
    #[error("timeout `{written}` is zero")]
    Zero { written: String },
    #[error("timeout `{written}` is above Cloud Run's maximum of 60 minutes")]
    AboveMaximum { written: String },
}

impl TimeoutError {
    pub fn hint(&self) -> String {
        match self {
            TimeoutError::NoUnit { written } => {
                format!("write `{written}s` for seconds (or use `m` for minutes, e.g. `5m`)")
            }
            TimeoutError::Syntax { .. } => {
                "write a duration such as `300s`, `5m`, `1h` or `1m30s`".to_owned()
            }
            TimeoutError::Zero { .. } => {
                "write at least `1s`; Cloud Run's default is `300s`".to_owned()
            }
            TimeoutError::AboveMaximum { .. } => "write at most `3600s` (`60m`)".to_owned(),
        }
    }
}

impl FromStr for Timeout {
    type Err = TimeoutError;

    fn from_str(s: &str) -> Result<Timeout, TimeoutError> {
        let written = || s.to_owned();
        let d = parse_duration(s, Bare::Refused).map_err(|e| match e {
            DurationError::NoUnit { written } => TimeoutError::NoUnit { written },
            DurationError::Syntax { written } => TimeoutError::Syntax { written },
            DurationError::Zero { written } => TimeoutError::Zero { written },
        })?;
        // Whole seconds: a request timeout is a number of seconds to Cloud Run.
        if d.subsec_nanos() != 0 {
            return Err(TimeoutError::Syntax { written: written() });
        }
        match u32::try_from(d.as_secs()) {
            Ok(secs @ 1..=3600) => Ok(Timeout(secs)),
            _ => Err(TimeoutError::AboveMaximum { written: written() }),
        }
    }
}

impl serde::Serialize for Timeout {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_spellings() {
        for (written, seconds) in [
            ("300s", 300),
            ("5m", 300),
            ("1h", 3600),
            ("1m30s", 90),
            ("1h0m0s", 3600),
            ("60m", 3600),
            ("1s", 1),
            ("3600s", 3600),
        ] {
            let t: Timeout = written.parse().unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(t.seconds(), seconds, "{written}");
            assert_eq!(t.to_string(), format!("{seconds}s"));
        }
    }

    #[test]
    fn refused_spellings() {
        assert!(matches!(
            "300".parse::<Timeout>(),
            Err(TimeoutError::NoUnit { .. })
        ));
        assert!(
            "300"
                .parse::<Timeout>()
                .unwrap_err()
                .hint()
                .contains("`300s`")
        );
        assert!(matches!(
            "0s".parse::<Timeout>(),
            Err(TimeoutError::Zero { .. })
        ));
        assert!(matches!(
            "90m".parse::<Timeout>(),
            Err(TimeoutError::AboveMaximum { .. })
        ));
        for bad in ["s", "5x", "30s1m", "5 m", "", "1h1h", "-5s", "1.5m"] {
            assert!(
                matches!(bad.parse::<Timeout>(), Err(TimeoutError::Syntax { .. })),
                "{bad}"
            );
        }
    }
}
