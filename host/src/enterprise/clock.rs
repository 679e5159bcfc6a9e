//! The one clock of the MSP commands: ledger times, the billing report's
//! default month, the legacy report's ranges.
//!
//! `KEEPER_NOW` (`2026-03-01T00:00:00Z`, any form `--expire-at` takes, or
//! epoch seconds) sets it, **in debug builds only**, so that the tests can
//! script a timeline of msp-add / msp-update / msp-remove at fixed times
//! and ask for "last month" on a known day. Release builds ignore it:
//! nobody backdates a real ledger by setting a variable.

use crate::vault::model::fields::parse_date_time;

/// The variable debug builds read.
pub(crate) const NOW_ENV: &str = "KEEPER_NOW";

/// Now, in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    if cfg!(debug_assertions)
        && let Ok(text) = std::env::var(NOW_ENV)
    {
        return parse(&text).unwrap_or_else(|| {
            panic!("{NOW_ENV}={text:?} is neither an ISO date and time nor epoch seconds")
        });
    }
    crate::vault::now_ms()
}

/// `KEEPER_NOW`'s value as epoch milliseconds.
fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    parse_date_time(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn takes_iso_times_and_epoch_seconds() {
        assert_eq!(super::parse("1772323200"), Some(1_772_323_200_000));
        assert_eq!(
            super::parse("2026-03-01T00:00:00Z"),
            Some(1_772_323_200_000)
        );
        assert_eq!(super::parse("2026-03-01 01:00"), Some(1_772_326_800_000));
        assert_eq!(super::parse("March"), None);
    }
}
