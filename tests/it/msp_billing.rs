//! MSP billing through the binary, on both stores: a month of msp-add /
//! msp-update / msp-remove scripted at fixed times (`KEEPER_NOW`, which
//! debug builds honour), then `msp-billing-report` (table, JSON, CSV, -d,
//! -c, the default month, --month errors), `msp-legacy-report` (ranges,
//! --from/--to and their errors), the price table (`msp-info -p`,
//! `msp-prices`, none provisioned) and `--output`.

use std::process::Output;

use serde_json::{Value, json};

use crate::automation::{keeper, kp, vault};
use crate::support::{Keeper, Run};
use crate::vault::PW;

/// A pool without restrictions, and a price table.
const LICENCES: &str = r#"
[[pool]]
plan = "business"
total = 100

[[pool]]
plan = "enterprise"
total = 100

[[prices]]
code = "business"
category = "products"
amount = 3.75
currency = "USD"
unit = "user/month"

[[prices]]
code = "enterprise"
category = "products"
amount = "5"
currency = "USD"
unit = "user/month"

[[prices]]
code = "chat"
category = "addons"
amount = 1
currency = "$"
unit = "month"

[[prices]]
code = "connection_manager"
category = "addons"
amount = 2.5
currency = "USD"
unit = "user/month"

[[prices]]
code = "1tb"
category = "file plans"
amount = 10
currency = "USD"
unit = "month"
"#;

/// After the scripted month.
const APRIL_10: &str = "2026-04-10T00:00:00Z";

/// `keeper ARGS` at `now`.
fn at(k: &Keeper, now: &str, args: &[&str]) -> Run {
    let out: Output = keeper(k, args)
        .env("KEEPER_PASSWORD", PW)
        .env("KEEPER_NOW", now)
        .output()
        .expect("run keeper");
    Run(out)
}

/// An MSP made from `licences`.
fn msp(licences: &str) -> Keeper {
    let k = vault();
    let file = k.data_dir().join("licences.toml");
    std::fs::write(&file, licences).expect("licences");
    let path = file.to_str().expect("path");
    at(
        &k,
        "2026-01-01T00:00:00Z",
        &["enterprise-init", "--msp", "My MSP", "--licences", path],
    )
    .ok();
    k
}

/// The scripted timeline (see `billing_tests.rs` in the host for the
/// same month as raw events).
fn scripted() -> Keeper {
    let k = msp(LICENCES);
    for (now, args) in [
        (
            "2026-02-20T10:00:00Z",
            &[
                "msp-add", "Acme", "-p", "business", "-s", "10", "-a", "chat",
            ][..],
        ),
        (
            "2026-03-05T15:00:00Z",
            &[
                "msp-add",
                "Beta",
                "-p",
                "business",
                "-s",
                "4",
                "-f",
                "1tb",
                "-a",
                "connection_manager:5",
            ],
        ),
        ("2026-03-10T12:00:00Z", &["msp-update", "Acme", "-s", "15"]),
        ("2026-03-15T10:00:00Z", &["mu", "Beta", "-f", "10tb"]),
        (
            "2026-03-18T10:00:00Z",
            &["mu", "Beta", "-aa", "connection_manager:10"],
        ),
        ("2026-03-20T09:00:00Z", &["mu", "Acme", "-p", "enterprise"]),
        ("2026-03-22T16:00:00Z", &["msp-remove", "Beta", "-f"]),
        ("2026-03-25T08:00:00Z", &["mu", "Acme", "-ra", "chat"]),
        (
            "2026-03-28T00:00:00Z",
            &["msp-add", "Gamma", "-p", "enterprise", "-s", "-1"],
        ),
        ("2026-04-02T00:00:00Z", &["mu", "Acme", "-s", "20"]),
    ] {
        at(&k, now, args).ok();
    }
    k
}

/// The March figures, worked out by hand.
fn march() -> Value {
    json!([
        // Business, daily: the 1st-4th Acme's 10; 5th-9th + Beta's 4 = 14;
        // 10th-20th 15 + 4 = 19 (the 10th at its peak, the 20th as held
        // when the day began; the plan changed at 09:00); 21st-22nd Beta's
        // 4 (removed at 16:00 on the 22nd); then none.
        // 4×10 + 5×14 + 11×19 + 2×4 = 40 + 70 + 209 + 8 = 327; 327/31 = 10.55.
        {"product": "Business", "licenses": 327, "rate": "$3.75/user/month",
         "avg_per_day": 10.55, "initial_licenses": 10, "final_licenses": 0, "max_licenses": 19},
        // Acme's 15 on enterprise from the 20th: 12 days × 15 = 180; 5.81.
        {"product": "Enterprise", "licenses": 180, "rate": "$5.00/user/month",
         "avg_per_day": 5.81, "initial_licenses": 0, "final_licenses": 15, "max_licenses": 15},
        // Gamma's unlimited seats, the 28th-31st: 4 company-days, not priced.
        {"product": "Enterprise (Unlimited)", "licenses": 4, "rate": "-",
         "avg_per_day": 0.13, "initial_licenses": 0, "final_licenses": 1, "max_licenses": 1},
        // Chat, 1 per company, the 1st-25th (turned off at 08:00 on the 25th).
        {"product": "KeeperChat", "licenses": 25, "rate": "$1.00/month",
         "avg_per_day": 0.81, "initial_licenses": 1, "final_licenses": 0, "max_licenses": 1},
        // KCM seats: 5 the 5th-17th (65), 10 the 18th-22nd (50): 115; 3.71.
        {"product": "Keeper Connection Manager (KCM)", "licenses": 115, "rate": "$2.50/user/month",
         "avg_per_day": 3.71, "initial_licenses": 0, "final_licenses": 0, "max_licenses": 10},
        // 1TB the 5th-15th (11 days), 10TB the 15th-22nd (8; no price).
        {"product": "1TB", "licenses": 11, "rate": "$10.00/month",
         "avg_per_day": 0.35, "initial_licenses": 0, "final_licenses": 0, "max_licenses": 1},
        {"product": "10TB", "licenses": 8, "rate": "-",
         "avg_per_day": 0.26, "initial_licenses": 0, "final_licenses": 0, "max_licenses": 1},
    ])
}

#[test]
fn a_scripted_month_is_billed_as_computed_by_hand() {
    let k = scripted();
    let report = at(
        &k,
        APRIL_10,
        &["mbr", "--month", "2026-03", "--format", "json"],
    )
    .json();
    assert_eq!(report, march());

    // The default month is the previous one: March, on April 10th.
    let table = at(&k, APRIL_10, &["msp-billing-report"]).ok();
    assert!(
        table.starts_with("Consumption Billing Statement: March 2026\n"),
        "{table}"
    );
    for header in [
        "Product",
        "Licenses",
        "Rate",
        "Avg Per Day",
        "Initial Licenses",
        "Final Licenses",
        "Max Licenses",
    ] {
        assert!(table.contains(header), "{header} in {table}");
    }
    let business = table
        .lines()
        .find(|l| l.contains("Business"))
        .expect("a Business row");
    let cells: Vec<&str> = business
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        [
            "Business",
            "327",
            "$3.75/user/month",
            "10.55",
            "10",
            "0",
            "19"
        ]
    );
    assert!(!table.contains('#'), "no row numbers: {table}");

    let csv = at(
        &k,
        APRIL_10,
        &["mbr", "--month", "2026-03", "--format", "csv"],
    )
    .ok();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "product,licenses,rate,avg_per_day,initial_licenses,final_licenses,max_licenses",
            "Business,327,$3.75/user/month,10.55,10,0,19",
            "Enterprise,180,$5.00/user/month,5.81,0,15,15",
        ]
    );
    assert_eq!(lines.len(), 8, "{csv}");

    // February: Acme's 10 business seats and chat from the 20th, 9 days.
    let feb = at(
        &k,
        APRIL_10,
        &["mbr", "--month", "2026-02", "--format", "json"],
    )
    .json();
    assert_eq!(feb[0]["licenses"], 90);
    assert_eq!(feb[0]["initial_licenses"], 0);
    assert_eq!(feb[1]["product"], "KeeperChat");
    assert_eq!(feb[1]["licenses"], 9);
}

#[test]
fn by_company_and_by_date_shapes() {
    let k = scripted();
    let by_company = at(
        &k,
        APRIL_10,
        &["mbr", "--month", "2026-03", "-c", "--format", "json"],
    )
    .json();
    // Acme's business: 9 days × 10 + 11 days × 15 = 255.
    assert_eq!(
        by_company[0],
        json!({"company": "Acme", "company_id": by_company[0]["company_id"].clone(),
               "product": "Business", "licenses": 255, "rate": "$3.75/user/month",
               "avg_per_day": 8.23, "initial_licenses": 10, "final_licenses": 0,
               "max_licenses": 15})
    );
    // The removed company keeps its name: Beta's 4 seats for 18 days.
    let beta: Vec<&Value> = by_company
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["company"] == "Beta")
        .collect();
    assert_eq!(beta.len(), 4, "business, KCM, 1TB, 10TB: {beta:?}");
    assert_eq!(beta[0]["licenses"], 72);

    let dated = at(
        &k,
        APRIL_10,
        &[
            "mbr",
            "--month",
            "2026-03",
            "--show-date",
            "--format",
            "json",
        ],
    )
    .json();
    let day = |d: &str| -> Vec<String> {
        dated
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["date"] == d)
            .map(|r| {
                format!(
                    "{} {}",
                    r["product"].as_str().expect("product"),
                    r["licenses"]
                )
            })
            .collect()
    };
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
    assert!(dated[0].get("avg_per_day").is_none(), "{}", dated[0]);

    let csv = at(
        &k,
        APRIL_10,
        &["mbr", "--month", "2026-03", "-d", "-c", "--format", "csv"],
    )
    .ok();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("date,company,company_id,product,licenses,rate")
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("2026-03-01,Acme,")
                && l.ends_with(",Business,10,$3.75/user/month")),
        "{csv}"
    );
    let table = at(&k, APRIL_10, &["mbr", "--month", "2026-03", "-d", "-c"]).ok();
    for header in [
        "Date",
        "Company",
        "Company ID",
        "Product",
        "Licenses",
        "Rate",
    ] {
        assert!(table.contains(header), "{header} in {table}");
    }
    assert!(!table.contains("Avg Per Day"), "{table}");
}

#[test]
fn month_validation_and_the_current_month() {
    let k = scripted();
    for bad in ["2026-13", "2026-3", "March", "2026-03-01"] {
        let err = at(&k, APRIL_10, &["mbr", "--month", bad]).fails();
        assert!(
            err.contains(&format!("Invalid month \"{bad}\": expected YYYY-MM")),
            "{err}"
        );
    }
    let err = at(&k, APRIL_10, &["mbr", "--month", "2026-05"]).fails();
    assert!(err.contains("May 2026 has not begun"), "{err}");
    // April so far: 10 days; Acme's enterprise 15 on the 1st, 20 from
    // the 2nd: 15 + 9 × 20 = 195.
    let april = at(
        &k,
        APRIL_10,
        &["mbr", "--month", "2026-04", "--format", "json"],
    )
    .json();
    assert_eq!(april[0]["product"], "Enterprise");
    assert_eq!(april[0]["licenses"], 195);
    assert_eq!(april[0]["avg_per_day"], 19.5);
}

#[test]
fn legacy_report_ranges_and_dates() {
    let k = scripted();
    let rows = |now: &str, args: &[&str]| -> Vec<Value> {
        let mut all = vec!["mlr", "--format", "json"];
        all.extend_from_slice(args);
        at(&k, now, &all).json().as_array().expect("rows").clone()
    };
    // Every March event: Beta's add (3), Acme's seats (1), Beta's file
    // plan (2), KCM seats (1), Acme's plan (2), Beta's removal (3), chat
    // off (1), Gamma's add (1).
    let march = rows(APRIL_10, &["--range", "last_month"]);
    assert_eq!(march.len(), 14);
    let acme_first = rows("2026-02-20T12:00:00Z", &["--range", "today"]);
    assert_eq!(acme_first.len(), 2, "{acme_first:?}");
    assert_eq!(
        acme_first[0],
        json!({"id": acme_first[0]["id"].clone(), "time": "2026-02-20 10:00:00",
               "company_id": acme_first[0]["company_id"].clone(), "company_name": "Acme",
               "status": "added", "number_of_allocations": 10, "plan": "Business",
               "transaction_notes": "company added with Business: 10 licences",
               "price_estimate": "$37.50/month"})
    );
    assert!(rows("2026-02-21T12:00:00Z", &["--range", "today"]).is_empty());
    assert_eq!(
        rows("2026-02-21T12:00:00Z", &["--range", "yesterday"]).len(),
        2
    );
    // The default is the last 30 days: on April 10th, March 12th on.
    assert_eq!(rows(APRIL_10, &[]).len(), 11);
    assert_eq!(rows(APRIL_10, &["--range", "month_to_date"]).len(), 1);
    assert_eq!(rows(APRIL_10, &["--range", "year_to_date"]).len(), 17);
    assert!(rows(APRIL_10, &["--range", "last_year"]).is_empty());
    assert_eq!(
        rows("2026-03-24T00:00:00Z", &["--range", "last_7_days"]).len(),
        6
    );

    // Beta was removed at 16:00: the day given to --to runs to 23:59:59.
    let removal = rows(APRIL_10, &["--from", "2026-03-22", "--to", "2026-03-22"]);
    assert_eq!(removal.len(), 3, "{removal:?}");
    assert!(
        removal
            .iter()
            .all(|r| r["status"] == "removed" && r["company_name"] == "Beta")
    );
    // Unix timestamps: that second (2026-03-22 16:00:00).
    assert_eq!(
        rows(APRIL_10, &["--from", "1774195200", "--to", "1774195200"]).len(),
        3
    );
    let err = at(
        &k,
        APRIL_10,
        &["mlr", "--from", "2026-03-22", "--to", "soon"],
    )
    .fails();
    assert!(
        err.contains("--to \"soon\": expected a date YYYY-MM-DD or a unix timestamp"),
        "{err}"
    );
    let err = at(
        &k,
        APRIL_10,
        &["mlr", "--from", "2026-03-23", "--to", "2026-03-22"],
    )
    .fails();
    assert!(err.contains("is after --to"), "{err}");
    let err = at(&k, APRIL_10, &["mlr", "--range", "last_week"]).fails();
    assert!(err.contains("Invalid range \"last_week\""), "{err}");
    let err = at(&k, APRIL_10, &["mlr", "--from", "2026-03-22"]).fails();
    assert!(err.contains("--to"), "--from needs --to: {err}");
    let err = at(
        &k,
        APRIL_10,
        &["mlr", "--range", "today", "--from", "1", "--to", "2"],
    )
    .fails();
    assert!(err.contains("cannot be used with"), "{err}");
    let table = at(
        &k,
        APRIL_10,
        &["msp-legacy-report", "--range", "last_month"],
    )
    .ok();
    for header in [
        "ID",
        "Time",
        "Company Name",
        "Status",
        "Number Of Allocations",
        "Transaction Notes",
        "Price Estimate",
    ] {
        assert!(table.contains(header), "{header} in {table}");
    }
}

#[test]
fn pricing_is_shown_replaced_and_missing() {
    let k = msp(LICENCES);
    let table = kp(&k, &["msp-info", "-p"]).ok();
    for text in [
        "Category",
        "Name",
        "Code",
        "Price",
        "Products",
        "Business",
        "business",
        "$3.75/user/month",
        "File Plans",
        "STORAGE_1TB",
        "$10.00/month",
        "KeeperChat",
    ] {
        assert!(table.contains(text), "{text} in {table}");
    }
    let json = kp(&k, &["mi", "--pricing", "--format", "json"]).json();
    assert_eq!(
        json[0],
        json!({"category": "Products", "name": "Business", "code": "business", "price": "$3.75/user/month"})
    );
    assert_eq!(json.as_array().map(Vec::len), Some(5));
    let csv = kp(&k, &["mi", "-p", "--format", "csv"]).ok();
    assert!(
        csv.starts_with("category,name,code,price\nProducts,Business,business,$3.75/user/month\n"),
        "{csv}"
    );

    let file = k.data_dir().join("prices.toml");
    std::fs::write(
        &file,
        "[[prices]]\ncode = \"businessPlus\"\ncategory = \"products\"\namount = 4.5\ncurrency = \"EUR\"\nunit = \"user/month\"\n",
    )
    .expect("prices");
    let out = kp(&k, &["msp-prices", file.to_str().expect("path")]).ok();
    assert!(out.contains("price table replaced (1 prices)"), "{out}");
    let json = kp(&k, &["mi", "-p", "--format", "json"]).json();
    assert_eq!(
        json,
        json!([{"category": "Products", "name": "Business Plus", "code": "businessPlus", "price": "€4.50/user/month"}])
    );
    std::fs::write(&file, "[[prices]]\ncode = \"gold\"\ncategory = \"products\"\namount = 1\ncurrency = \"USD\"\nunit = \"month\"\n").expect("prices");
    let err = kp(&k, &["msp-prices", file.to_str().expect("path")]).fails();
    assert!(
        err.contains("not a plan, add-on or file plan code"),
        "{err}"
    );
    assert_eq!(
        kp(&k, &["mi", "-p", "--format", "json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(1),
        "unchanged"
    );

    let bare = msp("[[pool]]\nplan = \"business\"\ntotal = 5\n");
    let err = kp(&bare, &["msp-info", "-p"]).fails();
    assert!(err.contains("MSP \"My MSP\" has no price table"), "{err}");
    // Without prices the report has no rates, and invents none.
    at(
        &bare,
        "2026-03-01T00:00:00Z",
        &["ma", "Solo", "-p", "business", "-s", "2"],
    )
    .ok();
    let report = at(&bare, APRIL_10, &["mbr", "--format", "json"]).json();
    assert_eq!(report[0]["rate"], "-");
    assert_eq!(report[0]["licenses"], 62);
}

#[test]
fn output_writes_the_file_and_nothing_on_stdout() {
    let k = scripted();
    let file = k.data_dir().join("march.csv");
    let path = file.to_str().expect("path");
    let run = at(&k, APRIL_10, &["mbr", "--format", "csv", "--output", path]);
    assert_eq!(run.ok(), "", "nothing on stdout");
    let printed = at(&k, APRIL_10, &["mbr", "--format", "csv"]).ok();
    assert_eq!(std::fs::read_to_string(&file).expect("written"), printed);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let legacy = k.data_dir().join("legacy.json");
    let run = at(
        &k,
        APRIL_10,
        &[
            "mlr",
            "--range",
            "last_month",
            "--format",
            "json",
            "--output",
            legacy.to_str().expect("path"),
        ],
    );
    assert_eq!(run.ok(), "");
    let rows: Value =
        serde_json::from_str(&std::fs::read_to_string(&legacy).expect("written")).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(14));

    // msp-info --output; its CSV has no row-number column.
    let info = k.data_dir().join("info.csv");
    let run = kp(
        &k,
        &[
            "msp-info",
            "--format",
            "csv",
            "--output",
            info.to_str().expect("path"),
        ],
    );
    assert_eq!(run.ok(), "");
    let text = std::fs::read_to_string(&info).expect("written");
    assert!(
        text.starts_with("company_id,company_name,node,plan,storage,addons,allocated,active\n"),
        "{text}"
    );
    assert!(text.contains(",Acme,"), "{text}");
    let table = kp(&k, &["msp-info"]).ok();
    assert!(table.contains('#'), "tables number their rows: {table}");
}
