//! Automation benchmark: a 1 000-line batch file (`get UID` of 100 records) run
//! by one `keeper` process (one unlock) against the same 1 000 commands as
//! separate invocations with persistent login, the per-command cost of a one-shot
//! command with persistent login and with the master password, and the
//! bare process start as the floor.
//!
//! Run: `cargo bench -p keeper-tests --bench automation` (whole processes:
//! the `keeper` binary next to this bench, or `KEEPER_BIN`). The vault uses
//! real Argon2id parameters (calibrated to ~0.75 s), as a user's would.
//! Prints a Markdown table for docs/BENCHMARKS.md with ratios against the
//! batch file measured in the same run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../it/support.rs"]
mod support;

mod common;

use common::{Processes, timed};
use support::keeper_bin;

const PASSWORD: &str = "benchmark master password";
const LINES: usize = 1000;
const ONE_SHOT_RUNS: usize = 200;
const PASSWORD_RUNS: usize = 10;

/// `keeper` as whole processes on the benchmark's vault.
struct Bench(Processes);

impl Bench {
    fn cmd(&self, args: &[&str]) -> Command {
        self.0.cmd(args)
    }

    /// Runs and checks `keeper ARGS`, returning its wall time.
    fn run(&self, args: &[&str], password: bool) -> Duration {
        let mut cmd = self.cmd(args);
        if password {
            cmd.env("KEEPER_PASSWORD", PASSWORD);
        }
        timed(&mut cmd).0
    }
}

/// The i-th of the benchmark's commands: a read of one of the 100 seeded
/// records by uid (writes would measure the disk's fsync, a title lookup
/// the decryption of every record, not the cost of running a command). No
/// word needs quoting, so a batch line is the words joined by spaces.
fn words(uids: &[String], i: usize) -> Vec<String> {
    [
        "get".to_string(),
        uids[i % uids.len()].clone(),
        "--format".into(),
        "json".into(),
    ]
    .to_vec()
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    let p95 = samples[(samples.len() * 95 / 100).min(samples.len() - 1)];
    (mean, p95)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let bench = Bench(Processes::new(keeper_bin()));
    bench.run(&["init", "--user", "bench@example.com"], true);
    // Some content: 100 records.
    let seed: String = (0..100)
        .map(|i| format!("add -t Seed{i} login=s{i}\n"))
        .collect();
    std::fs::write(bench.0.dir.path().join("seed.cmd"), seed).expect("seed");
    bench.run(&["seed.cmd"], true);

    // 1. The batch file: one process, one unlock (Argon2 once).
    let listed = bench
        .cmd(&["search", "^Seed", "--format", "json"])
        .env("KEEPER_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .output()
        .expect("search");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("search JSON");
    let uids: Vec<String> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["uid"].as_str().map(str::to_string))
        .collect();
    assert_eq!(uids.len(), 100);
    let batch: String = (0..LINES)
        .map(|i| words(&uids, i).join(" ") + "\n")
        .collect();
    std::fs::write(bench.0.dir.path().join("batch.cmd"), batch).expect("batch");
    let t_batch = bench.run(&["batch.cmd"], true);

    // 2. Persistent login on, then the same commands as 1 000 processes.
    bench.run(&["this-device", "persistent-login", "on"], true);
    bench.run(&["this-device", "timeout", "1h"], true);
    let start = Instant::now();
    for i in 0..LINES {
        let words = words(&uids, i);
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        bench.run(&args, false);
    }
    let t_separate = start.elapsed();

    // 3. One-shot commands: persistent login, the process-start floor, and
    //    the master password (Argon2 per process).
    let get_pl = stats(
        (0..ONE_SHOT_RUNS)
            .map(|_| bench.run(&["get", "Seed7"], false))
            .collect(),
    );
    let found = bench
        .cmd(&["search", "^Seed7$", "--format", "json"])
        .stdout(Stdio::piped())
        .output()
        .expect("search");
    let found: serde_json::Value = serde_json::from_slice(&found.stdout).expect("search JSON");
    let uid = found[0]["uid"].as_str().expect("uid").to_string();
    let get_uid = stats(
        (0..ONE_SHOT_RUNS)
            .map(|_| bench.run(&["get", &uid], false))
            .collect(),
    );
    let version = stats(
        (0..ONE_SHOT_RUNS)
            .map(|_| bench.run(&["--version"], false))
            .collect(),
    );
    let get_pw = stats(
        (0..PASSWORD_RUNS)
            .map(|_| bench.run(&["--new-login", "get", "Seed7"], true))
            .collect(),
    );

    let per_batch = t_batch / LINES as u32;
    let per_separate = t_separate / LINES as u32;
    println!("| run | wall time | per command | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| batch file, {LINES} lines, one process (one Argon2 unlock) | {} | {} | 1.00 (baseline) |",
        ms(t_batch),
        ms(per_batch)
    );
    println!(
        "| the same {LINES} commands as separate processes, persistent login | {} | {} | {:.1}× |",
        ms(t_separate),
        ms(per_separate),
        t_separate.as_secs_f64() / t_batch.as_secs_f64()
    );
    println!(
        "| one-shot `keeper get TITLE`, persistent login ({ONE_SHOT_RUNS} runs) | — | {} (p95 {}) | {:.1}× a batch line |",
        ms(get_pl.0),
        ms(get_pl.1),
        get_pl.0.as_secs_f64() / per_batch.as_secs_f64()
    );
    println!(
        "| one-shot `keeper get UID`, persistent login ({ONE_SHOT_RUNS} runs) | — | {} (p95 {}) | {:.1}× a batch line |",
        ms(get_uid.0),
        ms(get_uid.1),
        get_uid.0.as_secs_f64() / per_batch.as_secs_f64()
    );
    println!(
        "| one-shot `keeper get`, master password ({PASSWORD_RUNS} runs) | — | {} (p95 {}) | {:.0}× a batch line |",
        ms(get_pw.0),
        ms(get_pw.1),
        get_pw.0.as_secs_f64() / per_batch.as_secs_f64()
    );
    println!(
        "| floor: `keeper --version` (process start, {ONE_SHOT_RUNS} runs) | — | {} (p95 {}) | — |",
        ms(version.0),
        ms(version.1)
    );
    println!(
        "\nprojected: {LINES} separate invocations with the master password ≈ {:.0} s",
        get_pw.0.as_secs_f64() * LINES as f64
    );
}
