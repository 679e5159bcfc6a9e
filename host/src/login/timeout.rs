//! Session timeouts as Commander writes them: seconds, or a number with
//! `m`, `h` or `d` (`10m`, `1h`, `7d`, `30d`).

use std::time::Duration;

use super::LoginError;

/// The default session length (Commander's default logout timer).
pub const DEFAULT: Duration = Duration::from_secs(3600);
/// The longest session (Commander's maximum for persistent login).
pub const MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses `60`, `60s`, `10m`, `1h`, `7d`, `30d`.
///
/// # Errors
///
/// [`LoginError::BadTimeout`] for anything else, zero, or more than 30 days.
pub fn parse(text: &str) -> Result<Duration, LoginError> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t.as_str(), ""),
    };
    let scale = match unit {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    let n: u64 = digits.parse().unwrap_or(0);
    if scale == 0 || n == 0 {
        return Err(LoginError::BadTimeout(format!(
            "{text:?} is not a timeout; use seconds or a number with m, h or d (10m, 1h, 7d, 30d)"
        )));
    }
    let d = Duration::from_secs(n.saturating_mul(scale));
    if d > MAX {
        return Err(LoginError::BadTimeout(format!(
            "{text:?} is longer than the 30-day maximum"
        )));
    }
    Ok(d)
}

/// `1 hour`, `30 days`, `10 minutes`, `90 seconds`.
pub fn describe(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s.is_multiple_of(86_400) {
        (s / 86_400, "day")
    } else if s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s.is_multiple_of(60) {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commander_spellings() {
        for (text, secs) in [
            ("60", 60),
            ("10m", 600),
            ("1h", 3600),
            ("7d", 604_800),
            ("30d", 2_592_000),
        ] {
            assert_eq!(parse(text).expect(text).as_secs(), secs);
        }
        for bad in ["", "0", "31d", "1y", "h", "-5"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(describe(DEFAULT), "1 hour");
        assert_eq!(describe(MAX), "30 days");
        assert_eq!(describe(Duration::from_secs(90)), "90 seconds");
    }
}
