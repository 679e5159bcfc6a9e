//! `msp-legacy-report`: the ledger's licence adjustments in a time range,
//! one row per event, with Commander's columns (`id, time, company_id,
//! company_name, status, number_of_allocations, plan, transaction_notes,
//! price_estimate`).
//!
//! Ranges are whole UTC days ending today (the clock's): `today`,
//! `yesterday`, `last_7_days` (today and the 6 days before),
//! `last_30_days` (the default: today and the 29 before),
//! `month_to_date`, `last_month`, `year_to_date`, `last_year`. `--from` /
//! `--to` take an ISO date (`--to`'s day ends at 23:59:59, not at
//! Commander's 11:59:59) or a unix timestamp in seconds (that second).

use std::collections::HashMap;

use super::billing::Month;
use super::model::{self, seats_text};
use super::pricing::{Category, PriceTable, money};
use crate::vault::model::fields::{format_date, format_time, parse_date};
use crate::vault::store::enterprise::BillingEventRow;

const DAY_MS: i64 = 86_400_000;

/// The ranges, as `--range` takes them.
pub(crate) const RANGES: [&str; 8] = [
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "month_to_date",
    "last_month",
    "year_to_date",
    "last_year",
];

/// A time range: `from <= at < to`, epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// First millisecond.
    pub from: i64,
    /// The millisecond after the last.
    pub to: i64,
}

/// The span of a named range as of `now_ms`.
///
/// # Errors
///
/// An unknown name, with the known ones.
pub(crate) fn range(name: &str, now_ms: i64) -> Result<Span, String> {
    let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
    let tomorrow = today + DAY_MS;
    let ymd = format_date(now_ms);
    let year = |y: &str| parse_date(&format!("{y}-01-01")).unwrap_or(0);
    let this_year = &ymd[..4];
    let span = match name {
        "today" => (today, tomorrow),
        "yesterday" => (today - DAY_MS, today),
        "last_7_days" => (today - 6 * DAY_MS, tomorrow),
        "last_30_days" => (today - 29 * DAY_MS, tomorrow),
        "month_to_date" => (
            parse_date(&format!("{}-01", &ymd[..7])).unwrap_or(0),
            tomorrow,
        ),
        "last_month" => {
            let m = Month::previous(now_ms);
            (m.start(), m.end())
        }
        "year_to_date" => (year(this_year), tomorrow),
        "last_year" => {
            let last = this_year.parse::<i64>().unwrap_or(1970) - 1;
            (year(&last.to_string()), year(this_year))
        }
        other => {
            return Err(format!(
                "Invalid range \"{other}\": use one of {}",
                RANGES.join(", ")
            ));
        }
    };
    Ok(Span {
        from: span.0,
        to: span.1,
    })
}

/// `--from` / `--to`: an ISO date (the day's start, or for `--to` its
/// end) or a unix timestamp in seconds.
///
/// # Errors
///
/// What is wrong: a value that is neither, or `from` after `to`.
pub(crate) fn between(from: &str, to: &str) -> Result<Span, String> {
    let read = |flag: &str, text: &str, end_of_day: bool| -> Result<i64, String> {
        let t = text.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            let secs: i64 = t
                .parse()
                .map_err(|_| format!("{flag} \"{text}\": too large a timestamp"))?;
            return Ok(secs.saturating_mul(1000) + if end_of_day { 1000 } else { 0 });
        }
        let day = (t.len() == 10)
            .then(|| parse_date(t))
            .flatten()
            .filter(|d| format_date(*d) == t)
            .ok_or_else(|| {
                format!("{flag} \"{text}\": expected a date YYYY-MM-DD or a unix timestamp")
            })?;
        Ok(if end_of_day { day + DAY_MS } else { day })
    };
    let span = Span {
        from: read("--from", from, false)?,
        to: read("--to", to, true)?,
    };
    if span.from >= span.to {
        return Err(format!("--from \"{from}\" is after --to \"{to}\""));
    }
    Ok(span)
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Adjustment {
    /// The ledger's sequence number.
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS` (UTC).
    pub time: String,
    /// Company id.
    pub company_id: i64,
    /// Company name then.
    pub company_name: String,
    /// What changed: `added`, `removed`, `seats`, `plan`, `file_plan`,
    /// `addon_enabled`, `addon_disabled`, `addon_seats`.
    pub status: String,
    /// Licences held from then on (seats; 1 for a file plan).
    pub number_of_allocations: i64,
    /// The plan, file plan or add-on, by name.
    pub plan: String,
    /// The change in words.
    pub transaction_notes: String,
    /// What the holding costs a month at the price table's rate (`-`:
    /// no price, or unlimited).
    pub price_estimate: String,
}

/// The events of `ledger` (read for the span), as rows. `names` gives the
/// current names of companies whose events carry none.
pub(crate) fn adjustments(
    ledger: &[BillingEventRow],
    prices: Option<&PriceTable>,
    names: &HashMap<i64, String>,
) -> Vec<Adjustment> {
    let mut events: Vec<&BillingEventRow> = ledger.iter().collect();
    events.sort_by_key(|e| (e.at, e.id));
    events
        .into_iter()
        .map(|e| {
            let name = Category::of_code(&e.product).map_or(e.product.as_str(), |(_, _, n, _)| n);
            let held = if model::file_plan(&e.product).is_some() {
                if e.licences > 0 { "held" } else { "none" }.to_string()
            } else {
                format!("{} licences", seats_text(e.licences))
            };
            let notes = match e.change.as_str() {
                "added" => format!("company added with {name}: {held}"),
                "removed" => format!("company removed: {name} ends"),
                "addon_enabled" => format!("{name} enabled: {held}"),
                "addon_disabled" => format!("{name} disabled"),
                "plan" if e.licences == 0 => format!("plan changed from {name}"),
                "plan" => format!("plan changed to {name}: {held}"),
                _ => format!("{name}: {held}"),
            };
            let ends = matches!(e.change.as_str(), "removed" | "addon_disabled");
            let estimate = prices
                .and_then(|p| p.get(&e.product))
                .filter(|_| e.licences < model::UNLIMITED)
                .map_or_else(
                    || "-".to_string(),
                    |p| {
                        let units = if ends {
                            0
                        } else if p.per_user() {
                            e.licences
                        } else {
                            1
                        };
                        format!(
                            "{}/month",
                            money(&p.currency, p.amount_e4.saturating_mul(units))
                        )
                    },
                );
            Adjustment {
                id: e.id,
                time: format_time(e.at),
                company_id: e.mc_id,
                company_name: if e.company.is_empty() {
                    names.get(&e.mc_id).cloned().unwrap_or_default()
                } else {
                    e.company.clone()
                },
                status: e.change.clone(),
                number_of_allocations: e.licences,
                plan: name.to_string(),
                transaction_notes: notes,
                price_estimate: estimate,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_772_541_296_000; // 2026-03-03 12:34:56 UTC

    fn day(d: &str) -> i64 {
        parse_date(d).expect("date")
    }

    #[test]
    fn ranges_are_whole_days_ending_today() {
        let r = |n: &str| range(n, NOW).expect("range");
        assert_eq!(
            r("today"),
            Span {
                from: day("2026-03-03"),
                to: day("2026-03-04")
            }
        );
        assert_eq!(
            r("yesterday"),
            Span {
                from: day("2026-03-02"),
                to: day("2026-03-03")
            }
        );
        assert_eq!(r("last_7_days").from, day("2026-02-25"));
        assert_eq!(r("last_30_days").from, day("2026-02-02"));
        assert_eq!(r("month_to_date").from, day("2026-03-01"));
        assert_eq!(
            r("last_month"),
            Span {
                from: day("2026-02-01"),
                to: day("2026-03-01")
            }
        );
        assert_eq!(r("year_to_date").from, day("2026-01-01"));
        assert_eq!(
            r("last_year"),
            Span {
                from: day("2025-01-01"),
                to: day("2026-01-01")
            }
        );
        assert!(
            range("last_week", NOW)
                .expect_err("unknown")
                .contains("last_30_days")
        );
    }

    #[test]
    fn from_and_to_take_dates_and_timestamps_and_end_at_midnight() {
        let s = between("2026-02-01", "2026-02-28").expect("span");
        // The last millisecond is 23:59:59.999 of the 28th.
        assert_eq!(s.to - 1, day("2026-03-01") - 1);
        assert_eq!(format_time(s.to - 1), "2026-02-28 23:59:59");
        let t = between("1772323200", "1772326800").expect("timestamps");
        assert_eq!((t.from, t.to), (1_772_323_200_000, 1_772_326_801_000));
        assert!(
            between("2026-02-30", "2026-03-01")
                .expect_err("no such day")
                .contains("--from")
        );
        assert!(
            between("2026-03-02", "2026-03-01")
                .expect_err("reversed")
                .contains("after")
        );
        assert!(
            between("2026-03-01", "soon")
                .expect_err("bad")
                .contains("--to")
        );
    }
}
