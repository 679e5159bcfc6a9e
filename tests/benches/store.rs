//! Store benchmark (issue 15): the vault on PostgreSQL against the SQLite
//! file, through whole `keeper` processes.
//!
//! 1. Throughput: the load test's operation mix (`tests/it/store_load`:
//!    add, edit, share-record, share-folder, rotate with the noop plugin,
//!    rm, on shared records) run by 1, 4 and 8 concurrent processes, each
//!    one `run-batch` file of `KEEPER_BENCH_OPS` operations (default 300),
//!    on a fresh vault of each backend; operations per second over the
//!    wall time of the whole run.
//! 2. `ls` and `search` over `KEEPER_BENCH_RECORDS` records (default
//!    100 000), bulk-loaded by `import --format json` of a generated
//!    Keeper JSON file: each command a whole process (unlock included),
//!    median of 5.
//!
//! The SQLite figures are the baseline of each row, measured in the same
//! run, interleaved with PostgreSQL's. Vaults use the test-only key
//! derivation (`KEEPER_TEST_FAST_KDF`), so unlocking costs no Argon2.
//!
//! Run: `cargo build --release -p keeper && cargo bench -p keeper-tests
//! --bench store` (the release `keeper` next to the bench, or
//! `KEEPER_BIN`), with PostgreSQL at `KEEPER_TEST_PG` (default
//! postgres://postgres@127.0.0.1:5432). Prints Markdown tables for
//! docs/BENCHMARKS.md.

#[path = "../it/store_load/plan.rs"]
mod plan;
#[path = "../it/support.rs"]
mod support;
#[path = "../it/store_load/workload.rs"]
mod workload;

use std::process::Stdio;
use std::time::{Duration, Instant};

use plan::{ALICE, Op, Outcome, Rng};
use support::Keeper;
use workload::{ALICE_PW, Load};

const RUNS: usize = 5;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn backend(postgres: bool) -> &'static str {
    if postgres { "PostgreSQL" } else { "SQLite" }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter is not supported.
    let ops = env_usize("KEEPER_BENCH_OPS", 300);
    let records = env_usize("KEEPER_BENCH_RECORDS", 100_000);
    println!("keeper {}", support::keeper_bin().display());
    throughput(ops);
    listing(records);
}

/// Operations per second of the mix, by backend and number of processes.
fn throughput(ops: usize) {
    println!("\n### Mixed operations, {ops} per process\n");
    println!(
        "| processes | SQLite ops/s | PostgreSQL ops/s | PostgreSQL / SQLite | busy or not found |"
    );
    println!("|---:|---:|---:|---:|---|");
    for clients in [1, 4, 8] {
        let mut rate = [0.0; 2];
        let mut refused = [0usize; 2];
        for postgres in [false, true] {
            let load = Load::new(postgres);
            // The same lines on both backends.
            let mut rng = Rng::from_seed(clients as u64);
            let (runs, elapsed) = load.run(&mut rng, clients, ops, false);
            let mut done = 0;
            for run in &runs {
                for (step, ran) in run.steps.iter().zip(&run.ran) {
                    if step.op == Op::Bind {
                        continue;
                    }
                    match ran.outcome {
                        Outcome::Done => done += 1,
                        Outcome::Failed => refused[usize::from(postgres)] += 1,
                        Outcome::Unknown => {}
                    }
                }
            }
            rate[usize::from(postgres)] = done as f64 / elapsed.as_secs_f64();
        }
        println!(
            "| {clients} | {:.0} | {:.0} | {:.2} | {} / {} |",
            rate[0],
            rate[1],
            rate[1] / rate[0],
            refused[0],
            refused[1]
        );
    }
}

/// `ls` and `search` over `n` imported records on each backend.
fn listing(n: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("records.json");
    let list: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "title": format!("Service {i:06} account"),
                "login": format!("user{i}@example.com"),
                "password": format!("pw-{i:08}-Xy!9zQ"),
                "login_url": format!("https://app{}.example.com/login", i % 5000),
                "notes": format!("Account number {i}; created by the benchmark. Rotate quarterly."),
                "custom_fields": {"department": format!("dept-{}", i % 37)},
            })
        })
        .collect();
    let json = serde_json::json!({ "records": list });
    std::fs::write(&file, serde_json::to_vec(&json).expect("json")).expect("write");
    let vaults: Vec<Keeper> = [false, true]
        .into_iter()
        .map(|postgres| {
            let k = Keeper::with_postgres(postgres);
            run(&k, &["init", "--user", ALICE]);
            let took = run(&k, &["import", "--format", "json", &file.to_string_lossy()]);
            eprintln!("{}: imported {n} records in {took:.1?}", backend(postgres));
            k
        })
        .collect();
    let rare = format!("Service {:06} account", n / 2);
    let cases: [(&str, Vec<&str>); 4] = [
        ("unlock only (`whoami`)", vec!["whoami"]),
        ("`ls` of the root", vec!["ls"]),
        ("`search` rare (1 hit)", vec!["search", &rare]),
        ("`search` common (every record)", vec!["search", "account"]),
    ];
    println!("\n### {n} records\n");
    println!("| command | SQLite (median of {RUNS}) | PostgreSQL | PostgreSQL / SQLite |");
    println!("|---|---:|---:|---:|");
    for (name, args) in &cases {
        let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..RUNS {
            for (i, k) in vaults.iter().enumerate() {
                times[i].push(run(k, args));
            }
        }
        let [sqlite, pg] = times.map(median);
        println!(
            "| {name} | {sqlite:.2?} | {pg:.2?} | {:.2} |",
            pg.as_secs_f64() / sqlite.as_secs_f64()
        );
    }
}

/// Runs `keeper ARGS` unlocked as alice, output discarded; its wall time.
fn run(k: &Keeper, args: &[&str]) -> Duration {
    let mut cmd = k.cmd(args);
    cmd.env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", ALICE)
        .env("KEEPER_PASSWORD", ALICE_PW)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().expect("run keeper");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "keeper {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
