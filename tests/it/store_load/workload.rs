//! The load test's workload, shared with the store benchmark
//! (`tests/benches/store.rs`): a vault with alice, bob and six carols, the
//! shared folder, the seeds and the pool; the processes running their
//! batches at once (some killed with SIGKILL, on request); and reading the
//! vault back (`get` of every record in one batch, SQL on its tables).
// The test and the store benchmark each use part of this module.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::plan::{
    self, ALICE, ALICES, BOB, FOLDER, Known, Op, Outcome, POOL, PROCESSES, Ran, Rng, SEEDS, Step,
    carol, user_of,
};
use crate::support::{Keeper, Run};

/// Alice's master password.
pub const ALICE_PW: &str = "alice's load master password";
/// Bob's master password.
pub const BOB_PW: &str = "bob's own master password";

/// A vault with users, the shared folder, the seeds and the pool.
pub struct Load {
    pub k: Keeper,
    dir: tempfile::TempDir,
    seeds: Vec<String>,
    pool: Vec<String>,
}

/// One process's batch and what became of it.
pub struct ProcessRun {
    pub p: usize,
    pub steps: Vec<Step>,
    pub ran: Vec<Ran>,
    pub killed: bool,
}

impl Load {
    /// The vault, on PostgreSQL or in a SQLite file.
    pub fn new(postgres: bool) -> Self {
        let k = Keeper::with_postgres(postgres);
        let dir = tempfile::tempdir().expect("dir");
        let load = |args: &[&str]| Run(setup(&k, args).output().expect("run keeper")).ok();
        load(&["init", "--user", ALICE]);
        let mut users = vec![(BOB.to_string(), BOB_PW.to_string())];
        users.extend((0..ALICES).map(|p| (carol(p), "carol's master password".to_string())));
        for (email, password) in &users {
            setup(&k, &["user", "add", email])
                .env("KEEPER_NEW_USER_PASSWORD", password)
                .output()
                .map(Run)
                .expect("run keeper")
                .ok();
        }
        load(&["mkdir", "-sf", FOLDER, "-a"]);
        load(&["share-folder", FOLDER, "-e", BOB, "-p", "on"]);
        let mut lines = Vec::new();
        for i in 0..SEEDS {
            lines.push(format!(
                "add -f --folder {FOLDER} -t seed-{i} login=seed{i} password=Seed-pw-{i}"
            ));
        }
        for i in 0..POOL {
            lines.push(format!(
                "add -f --folder {FOLDER} -t pool-{i} login=pool{i} password=Pool-pw-{i}"
            ));
        }
        let uids: Vec<String> = batch(&k, &dir, "setup", ALICE, &lines)
            .ok()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(uids.len(), SEEDS + POOL, "{uids:?}");
        Self {
            k,
            dir,
            seeds: uids[..SEEDS].to_vec(),
            pool: uids[SEEDS..].to_vec(),
        }
    }

    /// A command unlocked as `user`.
    pub fn cmd(&self, user: &str, args: &[&str]) -> Command {
        let mut cmd = self.k.cmd(args);
        cmd.env("KEEPER_TEST_FAST_KDF", "1")
            .env("KEEPER_USER", user)
            .env(
                "KEEPER_PASSWORD",
                if user == BOB { BOB_PW } else { ALICE_PW },
            )
            .env_remove("KEEPER_FAULT")
            .env_remove("KEEPER_HOLD")
            .env_remove("KEEPER_HOLD_FILE");
        cmd
    }

    /// Runs the batches of `clients` processes (of `ops` operations
    /// each) at once; with `kill`, half of the processes are killed with SIGKILL at random points (one of them while it
    /// holds a rotation lock with a pending rotation stored: `KEEPER_HOLD`,
    /// debug builds).
    pub fn run(
        &self,
        rng: &mut Rng,
        clients: usize,
        ops: usize,
        kill: bool,
    ) -> (Vec<ProcessRun>, Duration) {
        assert!(clients <= PROCESSES);
        let known = Known {
            seeds: &self.seeds,
            pool: &self.pool,
        };
        let plans: Vec<Vec<Step>> = (0..clients)
            .map(|p| plan::plan(p, ops, &known, rng))
            .collect();
        let mut victims: Vec<usize> = Vec::new();
        if kill {
            while victims.len() < clients / 2 {
                let v = rng.index(clients);
                if !victims.contains(&v) {
                    victims.push(v);
                }
            }
        }
        let gate = self.dir.path().join("hold");
        std::fs::write(&gate, "").expect("gate");
        let started = Instant::now();
        let mut children: Vec<Running> = plans
            .iter()
            .enumerate()
            .map(|(p, steps)| {
                let path = self.dir.path().join(format!("p{p}.batch"));
                let text: Vec<&str> = steps.iter().map(|s| s.line.as_str()).collect();
                std::fs::write(&path, text.join("\n") + "\n").expect("write batch");
                let log = self.dir.path().join(format!("p{p}.log"));
                let out = File::create(&log).expect("log");
                let mut cmd = self.cmd(user_of(p), &["run-batch", &path.to_string_lossy()]);
                cmd.stdout(out.try_clone().expect("dup")).stderr(out);
                let victim = victims.iter().position(|&v| v == p);
                if victim == Some(0) {
                    cmd.env("KEEPER_HOLD", "after-set")
                        .env("KEEPER_HOLD_FILE", &gate);
                }
                Running {
                    child: Some(cmd.spawn().expect("spawn keeper")),
                    log,
                    kill_after: victim.map(|_| steps.len() / 20 + rng.index(steps.len() * 3 / 4)),
                    hold: victim == Some(0),
                    killed: false,
                }
            })
            .collect();
        let reached = PathBuf::from(format!("{}.reached", gate.display()));
        let mut statuses = vec![None; clients];
        while statuses.iter().any(Option::is_none) {
            for (p, r) in children.iter_mut().enumerate() {
                if statuses[p].is_some() {
                    continue;
                }
                let child = r.child.as_mut().expect("running");
                if let Some(status) = child.try_wait().expect("wait") {
                    statuses[p] = Some(status);
                    continue;
                }
                let due = r.kill_after.is_some_and(|n| echoes(&r.log) >= n)
                    || (r.hold && reached.exists());
                if due {
                    child.kill().expect("kill -9");
                    r.killed = true;
                    statuses[p] = Some(child.wait().expect("reap"));
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "the load ran for 15 minutes"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let elapsed = started.elapsed();
        let _ = std::fs::remove_file(&gate);
        let runs: Vec<ProcessRun> = children
            .into_iter()
            .zip(plans)
            .enumerate()
            .map(|(p, (r, steps))| {
                let log = std::fs::read_to_string(&r.log).expect("read log");
                let ran = plan::read_log(&log, &steps, !r.killed);
                ProcessRun {
                    p,
                    steps,
                    ran,
                    killed: r.killed,
                }
            })
            .collect();
        let done: usize = runs
            .iter()
            .map(|r| {
                r.ran
                    .iter()
                    .zip(&r.steps)
                    .filter(|(ran, s)| ran.outcome != Outcome::Unknown && s.op != Op::Bind)
                    .count()
            })
            .sum();
        eprintln!(
            "{} store: {clients} processes × {ops} operations{}: {done} finished in {elapsed:.1?} \
             ({:.0} operations/s); killed: {:?}",
            if self.k.on_postgres() {
                "PostgreSQL"
            } else {
                "SQLite"
            },
            if kill { " with kills" } else { "" },
            done as f64 / elapsed.as_secs_f64(),
            runs.iter()
                .filter(|r| r.killed)
                .map(|r| r.p)
                .collect::<Vec<_>>(),
        );
        (runs, elapsed)
    }

    /// Runs `keeper ARGS` unlocked as `user`.
    pub fn output(&self, user: &str, args: &[&str]) -> Run {
        Run(self.cmd(user, args).output().expect("run keeper"))
    }

    /// `get UID --format json --unmask` of each uid in one batch as `user`.
    pub fn get_all(&self, user: &str, uids: &[String]) -> Vec<Value> {
        let lines: Vec<String> = uids
            .iter()
            .map(|u| format!("get {u} --format json --unmask"))
            .collect();
        let name = format!("get-{}", user.split('@').next().unwrap_or("user"));
        let text = batch(&self.k, &self.dir, &name, user, &lines).ok();
        serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .map(|v| v.expect("get prints JSON"))
            .collect()
    }
}

/// A `keeper` command unlocked as alice, for setting the vault up.
fn setup(k: &Keeper, args: &[&str]) -> Command {
    let mut cmd = k.cmd(args);
    cmd.env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", ALICE)
        .env("KEEPER_PASSWORD", ALICE_PW);
    cmd
}

/// A process being run.
struct Running {
    child: Option<Child>,
    log: PathBuf,
    /// Kill it once this many lines have started.
    kill_after: Option<usize>,
    /// Kill it when it holds a rotation at `after-set`.
    hold: bool,
    killed: bool,
}

/// How many lines a run-batch log shows started.
fn echoes(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|t| t.lines().filter(|l| l.starts_with("> ")).count())
        .unwrap_or(0)
}

/// Runs `lines` as one batch file (`keeper FILE`: stops at the first
/// failure) unlocked as `user`.
fn batch(k: &Keeper, dir: &tempfile::TempDir, name: &str, user: &str, lines: &[String]) -> Run {
    let path = dir.path().join(format!("{name}.batch"));
    std::fs::write(&path, lines.join("\n") + "\n").expect("write batch");
    let mut cmd = k.cmd(&[&path.to_string_lossy()]);
    cmd.env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_USER", user)
        .env(
            "KEEPER_PASSWORD",
            if user == BOB { BOB_PW } else { ALICE_PW },
        );
    Run(cmd.output().expect("run keeper"))
}

/// The rows of `query` on the vault's own tables (PostgreSQL through
/// `psql`, SQLite through rusqlite), each value as text; also runs
/// statements that change rows (what another machine would have written).
pub fn sql(k: &Keeper, query: &str) -> Vec<Vec<String>> {
    if k.on_postgres() {
        return k
            .sql_rows(&format!("SET search_path = keeper; {query}"))
            .iter()
            .map(|l| l.split('|').map(str::to_string).collect())
            .collect();
    }
    let db = rusqlite::Connection::open(k.data_dir().join("vault.db")).expect("open vault.db");
    let mut stmt = db.prepare(query).expect("prepare");
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
            })
            .collect()
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}
