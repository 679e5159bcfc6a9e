//! Tests of `billing.rs`: a scripted March 2026 whose figures are worked
//! out by hand in the comments.

use super::*;
use crate::enterprise::model::UNLIMITED;

/// An event at `YYYY-MM-DD HH:00` UTC.
fn ev(
    date: &str,
    hour: i64,
    mc: i64,
    change: &str,
    product: &str,
    licences: i64,
) -> BillingEventRow {
    BillingEventRow {
        id: 0,
        msp_uid: "msp".into(),
        mc_id: mc,
        at: parse_date(date).expect("date") + hour * 3_600_000,
        change: change.into(),
        product: product.into(),
        licences,
        company: match mc {
            1 => "Acme",
            2 => "Beta",
            _ => "Gamma",
        }
        .into(),
    }
}

/// Acme: business 10 + chat from February; 15 seats on the 10th; plan
/// enterprise on the 20th; chat off on the 25th; 20 seats in April.
/// Beta: business 4, 1TB, KCM 5 seats on the 5th; 10TB on the 15th; KCM
/// 10 seats on the 18th; removed on the 22nd. Gamma: enterprise unlimited
/// on the 28th.
fn ledger() -> Vec<BillingEventRow> {
    vec![
        ev("2026-02-20", 10, 1, "added", "business", 10),
        ev("2026-02-20", 10, 1, "added", "chat", 0),
        ev("2026-03-05", 15, 2, "added", "STORAGE_1TB", 1),
        ev("2026-03-05", 15, 2, "added", "business", 4),
        ev("2026-03-05", 15, 2, "added", "connection_manager", 5),
        ev("2026-03-10", 12, 1, "seats", "business", 15),
        ev("2026-03-15", 10, 2, "file_plan", "STORAGE_10TB", 1),
        ev("2026-03-15", 10, 2, "file_plan", "STORAGE_1TB", 0),
        ev("2026-03-18", 10, 2, "addon_seats", "connection_manager", 10),
        ev("2026-03-20", 9, 1, "plan", "business", 0),
        ev("2026-03-20", 9, 1, "plan", "enterprise", 15),
        ev("2026-03-22", 16, 2, "removed", "STORAGE_10TB", 0),
        ev("2026-03-22", 16, 2, "removed", "business", 0),
        ev("2026-03-22", 16, 2, "removed", "connection_manager", 0),
        ev("2026-03-25", 8, 1, "addon_disabled", "chat", 0),
        ev("2026-03-28", 0, 3, "added", "enterprise", UNLIMITED),
        ev("2026-04-02", 0, 1, "seats", "enterprise", 20),
    ]
}

const APRIL_10: i64 = 1_775_779_200_000;
const MARCH: Month = Month {
    year: 2026,
    month: 3,
};

fn run(breakdown: Breakdown) -> Report {
    report(&ledger(), MARCH, APRIL_10, breakdown, None, &HashMap::new()).expect("report")
}

fn summary(l: &Line) -> String {
    format!(
        "{}{} {} avg={} initial={} final={} max={}",
        l.company
            .as_ref()
            .map_or(String::new(), |c| format!("{c} ")),
        l.product,
        l.licenses,
        l.avg_per_day.unwrap_or(-1.0),
        l.initial_licenses.unwrap_or(-1),
        l.final_licenses.unwrap_or(-1),
        l.max_licenses.unwrap_or(-1)
    )
}

#[test]
fn a_scripted_month_bills_what_was_held_each_day() {
    let r = run(Breakdown::default());
    assert_eq!(r.title, "Consumption Billing Statement: March 2026");
    let lines: Vec<String> = r.lines.iter().map(summary).collect();
    assert_eq!(
        lines,
        [
            // Business, daily: 1-4: 10; 5-9: 10 + 4 = 14; 10-20: 15 + 4 = 19
            // (the 10th at its peak, the 20th held when the day began);
            // 21-22: Beta's 4; then 0. 40 + 70 + 11 × 19 + 8 = 327;
            // 327 / 31 = 10.548.
            "Business 327 avg=10.55 initial=10 final=0 max=19",
            // Enterprise: Acme's 15 from the 20th: 12 days × 15 = 180.
            "Enterprise 180 avg=5.81 initial=0 final=15 max=15",
            // Gamma, unlimited, the 28th to the 31st: 4 company-days.
            "Enterprise (Unlimited) 4 avg=0.13 initial=0 final=1 max=1",
            // Chat, 1 per company: the 1st to the 25th (off that day).
            "KeeperChat 25 avg=0.81 initial=1 final=0 max=1",
            // KCM seats: 5 on the 5th-17th (13 × 5 = 65), 10 on the
            // 18th-22nd (5 × 10 = 50): 115.
            "Keeper Connection Manager (KCM) 115 avg=3.71 initial=0 final=0 max=10",
            // 1TB the 5th to the 15th (11 days), 10TB the 15th to the 22nd (8).
            "1TB 11 avg=0.35 initial=0 final=0 max=1",
            "10TB 8 avg=0.26 initial=0 final=0 max=1",
        ]
    );
}

#[test]
fn by_company_and_by_date() {
    let r = run(Breakdown {
        by_date: false,
        by_company: true,
    });
    let lines: Vec<String> = r.lines.iter().map(summary).collect();
    // Acme's business: 9 × 10 + 11 × 15 = 255.
    assert_eq!(
        lines[0],
        "Acme Business 255 avg=8.23 initial=10 final=0 max=15"
    );
    assert_eq!(
        lines[3],
        "Beta Business 72 avg=2.32 initial=0 final=0 max=4"
    );
    assert_eq!(r.lines[3].company_id, Some(2));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Gamma Enterprise (Unlimited) 4 avg=0.13 initial=0 final=1 max=1")
    );

    let r = run(Breakdown {
        by_date: true,
        by_company: false,
    });
    let day = |d: &str| -> Vec<String> {
        r.lines
            .iter()
            .filter(|l| l.date.as_deref() == Some(d))
            .map(|l| format!("{} {}", l.product, l.licenses))
            .collect()
    };
    assert_eq!(day("2026-03-01"), ["Business 10", "KeeperChat 1"]);
    assert_eq!(
        day("2026-03-15"),
        [
            "Business 19",
            "KeeperChat 1",
            "Keeper Connection Manager (KCM) 5",
            "1TB 1",
            "10TB 1"
        ]
    );
    assert_eq!(
        day("2026-03-20"),
        [
            "Business 19",
            "Enterprise 15",
            "KeeperChat 1",
            "Keeper Connection Manager (KCM) 10",
            "10TB 1"
        ]
    );
    assert_eq!(
        day("2026-03-31"),
        ["Enterprise 15", "Enterprise (Unlimited) 1"]
    );
    assert!(r.lines.iter().all(|l| l.avg_per_day.is_none()));
}

#[test]
fn months_parse_default_to_the_previous_one_and_stop_at_today() {
    assert_eq!(Month::previous(APRIL_10), MARCH);
    assert_eq!(
        Month::previous(parse_date("2026-01-15").expect("date")),
        Month {
            year: 2025,
            month: 12
        }
    );
    for bad in ["2026-13", "2026-3", "March", "2026-03-01", ""] {
        assert!(
            Month::parse(bad).expect_err(bad).contains("YYYY-MM"),
            "{bad}"
        );
    }
    // The current month is reported up to today: April 1st to 10th.
    let april = Month::parse("2026-04").expect("april");
    let r = report(
        &ledger(),
        april,
        APRIL_10,
        Breakdown::default(),
        None,
        &HashMap::new(),
    )
    .expect("report");
    // Enterprise: 15 on the 1st, 20 from the 2nd: 15 + 9 × 20 = 195.
    assert_eq!(
        summary(&r.lines[0]),
        "Enterprise 195 avg=19.5 initial=15 final=20 max=20"
    );
    let may = Month::parse("2026-05").expect("may");
    let err = report(
        &ledger(),
        may,
        APRIL_10,
        Breakdown::default(),
        None,
        &HashMap::new(),
    )
    .expect_err("future");
    assert!(err.contains("has not begun"), "{err}");
}
