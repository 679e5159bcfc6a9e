//! Test fixtures: a throw-away data directory and a way to run `keeper` in it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A `keeper` installation in a temporary data directory; with
/// `KEEPER_TEST_STORE=postgres`, its vault is in a fresh PostgreSQL
/// database instead of `vault.db` (the test matrix: `scripts/test` runs
/// the suite both ways).
pub struct Keeper {
    dir: tempfile::TempDir,
    store: Option<TestDb>,
}

impl Keeper {
    /// A fresh, empty data directory (and database, on PostgreSQL).
    pub fn new() -> Self {
        Self::with_postgres(on_postgres())
    }

    /// A fresh, empty data directory whose vault is in a fresh PostgreSQL
    /// database (`true`) or a SQLite file, whatever the matrix says (for
    /// benchmarks that compare the two).
    pub fn with_postgres(postgres: bool) -> Self {
        Self {
            dir: tempfile::tempdir().expect("create temp dir"),
            store: postgres.then(TestDb::new),
        }
    }

    /// Whether this run keeps vaults on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.store.is_some()
    }

    /// The vault's store URL on PostgreSQL.
    pub fn store_url(&self) -> Option<String> {
        self.store.as_ref().map(|db| db.url.to_url_string())
    }

    /// On PostgreSQL: the first row of `query` through `psql`, columns
    /// joined by `|` (`None` without a row).
    pub fn sql(&self, query: &str) -> Option<String> {
        self.sql_rows(query).into_iter().next()
    }

    /// On PostgreSQL: every row of `query` through `psql`, columns joined
    /// by `|`.
    pub fn sql_rows(&self, query: &str) -> Vec<String> {
        let url = self.store_url().expect("sql() is for the PostgreSQL store");
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &url,
                "-c",
                query,
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// `false` (and a note) on PostgreSQL: for tests of the SQLite file
    /// itself, which the SQLite pass of the matrix runs.
    pub fn has_vault_file(&self) -> bool {
        if self.on_postgres() {
            eprintln!("not on PostgreSQL: this test reads or damages the SQLite file");
        }
        !self.on_postgres()
    }

    /// Points `cmd` at this fixture's store (`KEEPER_STORE`), for
    /// commands not made by [`Keeper::cmd`].
    pub fn apply_store<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        match self.store_url() {
            Some(url) => cmd.env("KEEPER_STORE", url),
            None => cmd.env_remove("KEEPER_STORE"),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `keeper` command with `--data-dir` pointing here and no inherited
    /// keeper configuration from the environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(keeper_bin());
        cmd.env_remove("KEEPER_PASSWORD")
            .env_remove("KEEPER_CONFIG_FILE")
            .env_remove("KEEPER_LOG")
            .env("KEEPER_DATA_DIR", self.dir.path())
            .args(args)
            .stdin(Stdio::null());
        self.apply_store(&mut cmd);
        cmd
    }

    /// Runs `keeper args...` and returns its output.
    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.cmd(args).output().expect("run keeper"))
    }

    /// Runs `keeper args...` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        run_with_input(self.cmd(args), input)
    }
}

/// Runs `cmd` with `input` on stdin and returns its output.
pub fn run_with_input(mut cmd: Command, input: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keeper");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    Run(child.wait_with_output().expect("wait keeper"))
}

/// The output of one `keeper` run.
pub struct Run(pub Output);

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> String {
        assert!(
            self.0.status.success(),
            "keeper failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }
    /// Asserts failure and returns stderr.
    #[track_caller]
    pub fn fails(&self) -> String {
        assert!(
            !self.0.status.success(),
            "keeper unexpectedly succeeded\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self.stderr()
    }
    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }
}

/// Path of the `keeper` binary: `KEEPER_BIN` when set (e.g. a release
/// build), else the one built alongside this test (same target dir).
pub fn keeper_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("KEEPER_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join(format!("keeper{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} not found: build it first (cargo build -p keeper)",
        bin.display()
    );
    bin
}

/// Whether `KEEPER_TEST_STORE=postgres` asks for vaults on PostgreSQL.
pub fn on_postgres() -> bool {
    match std::env::var("KEEPER_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("" | "sqlite") | Err(_) => false,
        Ok(other) => panic!("KEEPER_TEST_STORE={other:?}: use postgres or sqlite"),
    }
}

/// A fresh database `keeper_test_<random>` on the test server
/// (`KEEPER_TEST_PG`, default postgres://postgres@127.0.0.1:5432),
/// dropped with the fixture.
pub struct TestDb {
    pub url: keeper::testing::vault::store::postgres::PgUrl,
}

impl TestDb {
    pub fn new() -> Self {
        use keeper::testing::vault::store::postgres::{PgUrl, create_database};
        let server = std::env::var("KEEPER_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut random = [0u8; 8];
        keeper::testing::vault::crypto::fill_random(&mut random);
        let name = format!("keeper_test_{}", hex::encode(random));
        let url = PgUrl::parse(&server)
            .expect("KEEPER_TEST_PG")
            .with_dbname(&name);
        create_database(&url).expect("create a test database (is PostgreSQL running?)");
        Self { url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = keeper::testing::vault::store::postgres::drop_database(&self.url);
    }
}

/// A small seeded random generator (splitmix64) for tests that must be
/// able to replay a failing run: the seed is printed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from the environment variable `env` when set, else the clock.
    pub fn seeded(env: &str) -> Self {
        let seed = std::env::var(env)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("random seed: {env}={seed}");
        Self::from_seed(seed)
    }

    /// The same numbers for the same seed.
    pub fn from_seed(seed: u64) -> Self {
        Self(seed)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }

    /// An index in `0..n` (`n` > 0).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}
