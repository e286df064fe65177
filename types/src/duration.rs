//! Durations as written by a user: every duration flag and environment variable of the tool,
//! and (through [`Timeout`](crate::Timeout)) the config's request timeout.
//!
//! gcloud's duration syntax (`gcloud topic datetimes`): whole numbers each with a unit, `h`,
//! `m`, `s` or `ms`, largest unit first and each at most once: `90s`, `7m`, `1h30m`, `250ms`.
//! What a bare number means is the caller's to say ([`Bare`]): a flag that has always taken
//! seconds keeps taking them, one named in milliseconds keeps taking those, and elsewhere a bare
//! number is refused with a hint, since a reader cannot tell its unit.

use std::time::Duration;

use crate::digits;

/// What a number without a unit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    /// Refused: a unit is required.
    Refused,
    /// Seconds (`420` is `420s`).
    Seconds,
    /// Milliseconds (`20` is `20ms`).
    Millis,
}

/// Why a duration was refused. Display is the message; [`DurationError::hint`] says what to
/// write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("duration `{written}` has no unit")]
    NoUnit { written: String },
    #[error("`{written}` is not a duration")]
    Syntax { written: String },
    #[error("duration `{written}` is zero")]
    Zero { written: String },
}

impl DurationError {
    pub fn hint(&self) -> String {
        match self {
            DurationError::NoUnit { written } => {
                format!("write `{written}s` for seconds (or use `m` for minutes, e.g. `5m`)")
            }
            DurationError::Syntax { .. } => {
                "write a duration such as `90s`, `15m` or `1h30m` (units h, m, s, ms, largest first)"
                    .to_owned()
            }
            DurationError::Zero { .. } => "write a duration of at least `1ms`".to_owned(),
        }
    }

    /// What was written.
    pub fn written(&self) -> &str {
        match self {
            DurationError::NoUnit { written }
            | DurationError::Syntax { written }
            | DurationError::Zero { written } => written,
        }
    }
}

/// Parses `text` (no surrounding blanks) as a non-zero duration; `bare` says what a number
/// without a unit means.
pub fn parse_duration(text: &str, bare: Bare) -> Result<Duration, DurationError> {
    let written = || text.to_owned();
    let bad = || DurationError::Syntax { written: written() };
    let nonzero = |d: Duration| match d.is_zero() {
        true => Err(DurationError::Zero { written: written() }),
        false => Ok(d),
    };
    if let Some(n) = digits(text) {
        let n: u64 = n.parse().map_err(|_| bad())?;
        return match bare {
            Bare::Refused => Err(DurationError::NoUnit { written: written() }),
            Bare::Seconds => nonzero(Duration::from_secs(n)),
            Bare::Millis => nonzero(Duration::from_millis(n)),
        };
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    // Units by rank, largest first: h, m, s, ms.
    let mut last_rank = 0;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, tail) = rest.split_at(split);
        let n: u64 = digits(number).ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let (rank, unit_ms, len) = match tail {
            t if t.starts_with("ms") => (4, 1, 2),
            t if t.starts_with('h') => (1, 3_600_000, 1),
            t if t.starts_with('m') => (2, 60_000, 1),
            t if t.starts_with('s') => (3, 1_000, 1),
            _ => return Err(bad()),
        };
        if rank <= last_rank {
            return Err(bad());
        }
        last_rank = rank;
        total_ms = n
            .checked_mul(unit_ms)
            .and_then(|v| v.checked_add(total_ms))
            .ok_or_else(bad)?;
        rest = &tail[len..];
    }
    if last_rank == 0 {
        return Err(bad());
    }
    nonzero(Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_combine_largest_first() {
        for (written, ms) in [
            ("90s", 90_000),
            ("7m", 420_000),
            ("420s", 420_000),
            ("15m", 900_000),
            ("1h30m", 5_400_000),
            ("1h0m0s", 3_600_000),
            ("1m30s", 90_000),
            ("250ms", 250),
            ("1s500ms", 1_500),
        ] {
            for bare in [Bare::Refused, Bare::Seconds, Bare::Millis] {
                assert_eq!(
                    parse_duration(written, bare),
                    Ok(Duration::from_millis(ms)),
                    "{written}"
                );
            }
        }
    }

    #[test]
    fn a_bare_number_means_what_the_caller_says() {
        assert_eq!(
            parse_duration("420", Bare::Seconds),
            Ok(Duration::from_secs(420))
        );
        assert_eq!(
            parse_duration("20", Bare::Millis),
            Ok(Duration::from_millis(20))
        );
        let refused = parse_duration("420", Bare::Refused).unwrap_err();
        assert!(matches!(refused, DurationError::NoUnit { .. }));
        assert!(refused.hint().contains("`420s`"), "{}", refused.hint());
        for bare in [Bare::Refused, Bare::Seconds, Bare::Millis] {
            assert!(matches!(
                parse_duration("0", bare),
                Err(DurationError::Zero { .. } | DurationError::NoUnit { .. })
            ));
        }
    }

    #[test]
    fn the_rest_is_refused() {
        assert!(matches!(
            parse_duration("0s", Bare::Seconds),
            Err(DurationError::Zero { .. })
        ));
        for bad in [
            "",
            "m",
            "1x",
            "1.5s",
            "-1s",
            "5 m",
            " 5m",
            "30s1m",
            "1h1h",
            "1ms1s",
            "s5",
            "9999999999999s",
        ] {
            assert!(
                matches!(
                    parse_duration(bad, Bare::Seconds),
                    Err(DurationError::Syntax { .. })
                ),
                "{bad}"
            );
        }
    }
}
