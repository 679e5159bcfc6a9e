//! Test fixtures: a throw-away data directory and a way to run `keeper` in it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A `keeper` installation in a temporary data directory.
pub struct Keeper {
    dir: tempfile::TempDir,
}

impl Keeper {
    /// A fresh, empty data directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create temp dir"),
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
