//! MSP benchmark (issue 16): `msp-billing-report` over 1 000 managed
//! companies × one year of daily ledger events (365 000 events; goal:
//! under 1 s), `msp-legacy-report` over a month of them, and `msp-down` /
//! `msp-info` with 1 000 companies, each a whole `keeper` process, median
//! of 5. The baseline, measured in the same run, is `whoami` on the same
//! vault: process start, opening the vault and unlocking it, which every
//! command pays.
//!
//! The 1 000 companies are made by `enterprise-init` from a licences file
//! (as `msp-add` makes them); the year of events (each company's seats
//! changed once a day through 2025) is written straight into the SQLite
//! ledger in one transaction, rows as `msp-update` writes them, because
//! 365 000 `msp-update` processes would take hours and measure nothing
//! the report does. The vault uses the test-only key derivation
//! (`KEEPER_TEST_FAST_KDF`), so unlocking costs no Argon2.
//!
//! Run: `cargo test --workspace --no-run` (builds the debug `keeper`),
//! then `cargo test --workspace --bench msp` (debug), or with
//! `KEEPER_BIN` pointing at a release `keeper`. Prints a Markdown table
//! for docs/BENCHMARKS.md.

#[path = "../it/support.rs"]
#[allow(dead_code)]
mod support;

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{Processes, median_time, timed};

const PASSWORD: &str = "benchmark master password";
const COMPANIES: usize = 1000;
const DAYS: i64 = 365;
const RUNS: usize = 5;
/// 2025-01-01 00:00 UTC.
const YEAR_START_MS: i64 = 1_735_689_600_000;
const DAY_MS: i64 = 86_400_000;

/// `keeper` as whole processes on the benchmark's vault, unlocked with
/// [`PASSWORD`] by the test-only key derivation.
struct Bench(Processes);

impl Bench {
    /// Runs and checks `keeper ARGS`: wall time and stdout size.
    fn run(&self, args: &[&str]) -> (Duration, usize) {
        let mut cmd = self.0.cmd(args);
        cmd.env("KEEPER_PASSWORD", PASSWORD)
            .env("KEEPER_TEST_FAST_KDF", "1")
            .stdout(Stdio::piped());
        let (elapsed, out) = timed(&mut cmd);
        (elapsed, out.stdout.len())
    }

    /// Median wall time of [`RUNS`] runs, and the output's size.
    fn median(&self, args: &[&str]) -> (Duration, usize) {
        let mut size = 0;
        let time = median_time(RUNS, || {
            let (t, n) = self.run(args);
            size = n;
            t
        });
        (time, size)
    }
}

/// The licences file: a pool big enough for every company.
fn licences(path: &Path) {
    let mut text = String::from("[[pool]]\nplan = \"business\"\ntotal = 100000000\n\n[[prices]]\n");
    text.push_str(
        "code = \"business\"\ncategory = \"products\"\namount = 3.75\ncurrency = \"USD\"\n\
         unit = \"user/month\"\n\n",
    );
    for i in 0..COMPANIES {
        let _ = write!(
            text,
            "[[companies]]\nname = \"Company {i:04}\"\nplan = \"business\"\nseats = 10\n\n"
        );
    }
    std::fs::write(path, text).expect("licences file");
}

/// One `seats` event per company per day of 2025, at a time of day that
/// differs by company.
fn ledger(vault: &Path) -> usize {
    let mut conn = rusqlite::Connection::open(vault).expect("open the vault file");
    let tx = conn.transaction().expect("transaction");
    let msp: String = tx
        .query_row(
            "SELECT tenant_uid FROM enterprises WHERE kind = 'msp'",
            [],
            |r| r.get(0),
        )
        .expect("the MSP");
    let mut companies: Vec<(i64, String)> = tx
        .prepare(
            "SELECT e.enterprise_id, t.name FROM enterprises e JOIN tenants t \
             ON t.uid = e.tenant_uid WHERE e.kind = 'mc'",
        )
        .expect("companies")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("companies")
        .map(|r| r.expect("row"))
        .collect();
    companies.sort();
    assert_eq!(companies.len(), COMPANIES);
    let mut n = 0;
    {
        let mut st = tx
            .prepare(
                "INSERT INTO billing_events (msp_uid, mc_id, at, change, product, licences, company) \
                 VALUES (?1, ?2, ?3, 'seats', 'business', ?4, ?5)",
            )
            .expect("insert");
        for day in 0..DAYS {
            for (i, (id, name)) in companies.iter().enumerate() {
                let i = i64::try_from(i).expect("index");
                let at = YEAR_START_MS + day * DAY_MS + (i * 86_399) % DAY_MS;
                let seats = 10 + (day + i) % 7;
                st.execute(rusqlite::params![msp, id, at, seats, name])
                    .expect("event");
                n += 1;
            }
        }
    }
    tx.commit().expect("commit");
    n
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let bench = Bench(Processes::new(support::keeper_bin()));
    println!("keeper {}", bench.0.bin.display());
    bench.run(&["init", "--user", "bench@example.com"]);
    let file = bench.0.dir.path().join("licences.toml");
    licences(&file);
    let (t_init, _) = bench.run(&[
        "enterprise-init",
        "--msp",
        "Bench MSP",
        "--licences",
        file.to_str().expect("path"),
    ]);
    let events = ledger(&bench.0.dir.path().join("vault.db"));
    println!(
        "{COMPANIES} companies (enterprise-init: {}), {events} ledger events\n",
        ms(t_init)
    );

    let cases: [(&str, &[&str]); 8] = [
        ("baseline: `whoami` (start, open, unlock)", &["whoami"]),
        (
            "`msp-billing-report --month 2025-12` (the whole year read)",
            &["msp-billing-report", "--month", "2025-12"],
        ),
        (
            "`msp-billing-report --month 2025-12 --format json`",
            &[
                "msp-billing-report",
                "--month",
                "2025-12",
                "--format",
                "json",
            ],
        ),
        (
            "`msp-billing-report --month 2025-12 -c` (1 000 rows)",
            &["msp-billing-report", "--month", "2025-12", "-c"],
        ),
        (
            "`msp-billing-report --month 2025-12 -d -c --format csv` (31 000 rows)",
            &[
                "msp-billing-report",
                "--month",
                "2025-12",
                "-d",
                "-c",
                "--format",
                "csv",
            ],
        ),
        (
            "`msp-legacy-report --from 2025-12-01 --to 2025-12-31 --format csv` (31 000 rows)",
            &[
                "msp-legacy-report",
                "--from",
                "2025-12-01",
                "--to",
                "2025-12-31",
                "--format",
                "csv",
            ],
        ),
        ("`msp-down`", &["msp-down"]),
        ("`msp-info` (1 000 companies)", &["msp-info"]),
    ];
    let mut results = Vec::new();
    for (name, args) in cases {
        results.push((name, bench.median(args)));
    }
    let (t_json, _) = bench.median(&["msp-info", "--format", "json"]);
    let base = results[0].1.0.as_secs_f64();
    println!("| command | median of {RUNS} | output | ratio to baseline |");
    println!("|---|---|---|---|");
    for (name, (t, size)) in &results {
        println!(
            "| {name} | {} | {} KB | {:.1} |",
            ms(*t),
            size / 1024,
            t.as_secs_f64() / base
        );
    }
    println!(
        "| `msp-info --format json` | {} | — | {:.1} |",
        ms(t_json),
        t_json.as_secs_f64() / base
    );
}
