//! `msp-billing-report`: daily licence counts per company and product for
//! one calendar month (UTC), computed from the billing ledger in one pass.
//!
//! The ledger holds, per company and product, the licences held from each
//! event on. A day's count for a company and product is the most it held
//! at any moment of that day (its holding when the day began, raised by
//! any event of the day): a company removed on the 15th is billed for the
//! 15th, one added and removed within a day is billed for that day, and a
//! plan changed during a day bills both plans that day. Units, as
//! Commander's snapshot counts them:
//!
//! - a plan counts its seats;
//! - a file plan (only one above the plan's own is stored) counts 1 per
//!   company;
//! - an add-on counts its seats when it has any, else 1 per company.
//!
//! **Unlimited seats** (2147483647, plan or add-on) are not a count: each
//! day a company holds them is 1 on a row of its own, `<Product>
//! (Unlimited)`, which is not priced (rate `-`): unlimited is billed by
//! agreement, never as two billion seats.
//!
//! The report's days are the month's, up to today (the clock's) for the
//! current month; `licenses` is the sum of the daily counts
//! (licence-days), `avg_per_day` that sum over the days, `initial` /
//! `final` the first and last day's counts and `max` the largest.

use std::collections::{BTreeMap, HashMap};

use super::model::UNLIMITED;
use super::pricing::{Category, PriceTable};
use crate::vault::model::fields::{format_date, parse_date};
use crate::vault::store::enterprise::BillingEventRow;

const DAY_MS: i64 = 86_400_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Month {
    /// Year.
    pub year: i64,
    /// 1 to 12.
    pub month: i64,
}

impl Month {
    /// Parses `--month YYYY-MM`.
    ///
    /// # Errors
    ///
    /// A message saying what is expected.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("Invalid month \"{text}\": expected YYYY-MM, e.g. 2022-02");
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i64 = y.parse().map_err(|_| bad())?;
        let month: i64 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || year < 1970 {
            return Err(bad());
        }
        Ok(Self { year, month })
    }

    /// The calendar month before the one `now_ms` falls in.
    pub(crate) fn previous(now_ms: i64) -> Self {
        let today = format_date(now_ms);
        let this = Self::parse(&today[..7]).unwrap_or(Self {
            year: 1970,
            month: 1,
        });
        if this.month == 1 {
            Self {
                year: this.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: this.year,
                month: this.month - 1,
            }
        }
    }

    /// Its first moment, epoch ms.
    pub(crate) fn start(self) -> i64 {
        parse_date(&format!("{:04}-{:02}-01", self.year, self.month)).unwrap_or(0)
    }

    /// The first moment of the next month.
    pub(crate) fn end(self) -> i64 {
        let (y, m) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        Self { year: y, month: m }.start()
    }

    /// `March 2026`.
    pub(crate) fn name(self) -> String {
        let m = usize::try_from(self.month - 1).unwrap_or(0);
        format!("{} {}", MONTHS[m % 12], self.year)
    }
}

/// A row's product: a known code, unlimited or counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Product {
    /// Listing order (products, add-ons, file plans).
    order: (usize, usize),
    code: &'static str,
    unlimited: bool,
}

impl Product {
    /// The product of a ledger code (`None`: not a plan, add-on or file
    /// plan, which the ledger never holds).
    fn of(code: &str) -> Option<Self> {
        let (category, code, _, at) = Category::of_code(code)?;
        Some(Self {
            order: (category as usize, at),
            code,
            unlimited: false,
        })
    }

    fn name(self) -> String {
        let name = Category::of_code(self.code).map_or(self.code, |(_, _, n, _)| n);
        if self.unlimited {
            format!("{name} (Unlimited)")
        } else {
            name.to_string()
        }
    }
}

/// What one event leaves a company holding of its product: the row it
/// bills on and its units, or nothing.
fn holding(e: &BillingEventRow, product: Product) -> Option<(Product, i64)> {
    let units = match product.order.0 {
        0 => e.licences,
        1 if matches!(e.change.as_str(), "removed" | "addon_disabled") => 0,
        1 => e.licences.max(1),
        // File plans: 1 while held.
        _ => e.licences,
    };
    if units <= 0 {
        return None;
    }
    Some(if e.licences >= UNLIMITED {
        (
            Product {
                unlimited: true,
                ..product
            },
            1,
        )
    } else {
        (product, units)
    })
}

/// How the report breaks down.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Breakdown {
    /// A row per day (`-d`).
    pub by_date: bool,
    /// A row per company (`-c`).
    pub by_company: bool,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Line {
    /// `YYYY-MM-DD` (`-d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Company name (`-c`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Company id (`-c`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    /// Product display name.
    pub product: String,
    /// Licence-days (the day's count with `-d`).
    pub licenses: i64,
    /// The price table's rate, `-` when it has none.
    pub rate: String,
    /// Licence-days per day (without `-d`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_per_day: Option<f64>,
    /// The first day's count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_licenses: Option<i64>,
    /// The last day's count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_licenses: Option<i64>,
    /// The largest daily count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_licenses: Option<i64>,
}

/// The report.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// `Consumption Billing Statement: March 2026`.
    pub title: String,
    /// Rows: by date, company name, company id, product order.
    pub lines: Vec<Line>,
}

/// Per group, over the days.
#[derive(Debug, Default)]
struct Totals {
    sum: i64,
    initial: i64,
    last: i64,
    last_day: i64,
    max: i64,
}

type Group = (Option<i64>, Product);
/// What each company holds of each product code now.
type Holdings = HashMap<(i64, &'static str), (Product, i64)>;

/// Applies one event: the company's holding of its product (and its name)
/// from then on; returns the holding.
fn apply(
    current: &mut Holdings,
    names: &mut HashMap<i64, String>,
    e: &BillingEventRow,
) -> Option<(Product, i64)> {
    if !e.company.is_empty() && names.get(&e.mc_id) != Some(&e.company) {
        names.insert(e.mc_id, e.company.clone());
    }
    let product = Product::of(&e.product)?;
    let key = (e.mc_id, product.code);
    let h = holding(e, product);
    match &h {
        Some(h) => current.insert(key, h.clone()),
        None => current.remove(&key),
    };
    h
}

/// Computes the report for `month` from `ledger` (every event before the
/// month's end, in the order written), as of `now_ms`. `names` gives the
/// current name of companies whose events carry none.
///
/// # Errors
///
/// A month that has not begun.
pub(crate) fn report(
    ledger: &[BillingEventRow],
    month: Month,
    now_ms: i64,
    breakdown: Breakdown,
    prices: Option<&PriceTable>,
    names: &HashMap<i64, String>,
) -> Result<Report, String> {
    let start = month.start();
    let end = month.end().min(now_ms.div_euclid(DAY_MS) * DAY_MS + DAY_MS);
    if end <= start {
        return Err(format!(
            "{} has not begun: there is nothing to bill yet",
            month.name()
        ));
    }
    let days = (end - start) / DAY_MS;
    let mut order: Vec<&BillingEventRow> = ledger.iter().filter(|e| e.at < end).collect();
    order.sort_by_key(|e| e.at);
    let mut names = names.clone();
    let mut current: Holdings = HashMap::new();
    let mut events = order.into_iter().peekable();
    while let Some(e) = events.next_if(|e| e.at < start) {
        apply(&mut current, &mut names, e);
    }
    let mut totals: BTreeMap<Group, Totals> = BTreeMap::new();
    let mut dated: Vec<(i64, Group, i64)> = Vec::new();
    for day in 0..days {
        let day_end = start + (day + 1) * DAY_MS;
        // Each company's most of each product this day.
        let mut peak: HashMap<(i64, Product), i64> = HashMap::new();
        let mut raise = |mc: i64, (product, units): (Product, i64)| {
            let v = peak.entry((mc, product)).or_insert(0);
            *v = (*v).max(units);
        };
        for ((mc, _), h) in &current {
            raise(*mc, *h);
        }
        while let Some(e) = events.next_if(|e| e.at < day_end) {
            if let Some(h) = apply(&mut current, &mut names, e) {
                raise(e.mc_id, h);
            }
        }
        let mut daily: BTreeMap<Group, i64> = BTreeMap::new();
        for ((mc, product), units) in peak {
            let company = breakdown.by_company.then_some(mc);
            *daily.entry((company, product)).or_insert(0) += units;
        }
        for (group, units) in &daily {
            let t = totals.entry(*group).or_default();
            if day == 0 {
                t.initial = *units;
            }
            t.sum += units;
            t.last = *units;
            t.last_day = day;
            t.max = t.max.max(*units);
            if breakdown.by_date {
                dated.push((day, *group, *units));
            }
        }
    }
    let line = |group: &Group, licenses: i64| {
        let (mc, product) = group;
        let rate = prices
            .and_then(|p| p.get(product.code))
            .filter(|_| !product.unlimited)
            .map_or_else(|| "-".to_string(), |p| p.text());
        Line {
            date: None,
            company: mc.map(|id| names.get(&id).cloned().unwrap_or_default()),
            company_id: *mc,
            product: product.name(),
            licenses,
            rate,
            avg_per_day: None,
            initial_licenses: None,
            final_licenses: None,
            max_licenses: None,
        }
    };
    let mut lines: Vec<Line> = if breakdown.by_date {
        dated
            .iter()
            .map(|(day, group, units)| Line {
                date: Some(format_date(start + day * DAY_MS)),
                ..line(group, *units)
            })
            .collect()
    } else {
        totals
            .iter()
            .map(|(group, t)| Line {
                avg_per_day: Some(round2(t.sum as f64 / days as f64)),
                initial_licenses: Some(t.initial),
                final_licenses: Some(if t.last_day == days - 1 { t.last } else { 0 }),
                max_licenses: Some(t.max),
                ..line(group, t.sum)
            })
            .collect()
    };
    // Dates, then companies by name (then id), then products in order
    // (the groups are in id and product order already; the sort is stable).
    lines.sort_by(|a, b| {
        (&a.date, a.company.as_ref().map(|c| c.to_lowercase()))
            .cmp(&(&b.date, b.company.as_ref().map(|c| c.to_lowercase())))
    });
    Ok(Report {
        title: format!("Consumption Billing Statement: {}", month.name()),
        lines,
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
#[path = "billing_tests.rs"]
mod tests;
