//! The `keeper` binary starts and describes itself. Having an integration
//! test here also makes `cargo test --workspace` build the binary that the
//! end-to-end tests in `tests/` run.

use std::process::Command;

#[test]
fn version_and_help_name_the_command_groups() {
    let bin = env!("CARGO_BIN_EXE_keeper");
    let version = Command::new(bin)
        .arg("--version")
        .output()
        .expect("run keeper");
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("keeper "));
    let help = Command::new(bin)
        .arg("--help")
        .output()
        .expect("run keeper");
    let help = String::from_utf8_lossy(&help.stdout);
    for group in ["rotate", "plugin", "import", "audit-log", "init"] {
        assert!(
            help.contains(group),
            "`keeper --help` lacks {group}:\n{help}"
        );
    }
}

#[test]
fn an_unknown_command_fails_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_keeper"))
        .arg("frobnicate")
        .output()
        .expect("run keeper");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}

/// `--parallel` is bounded (each record in flight holds a plugin sandbox
/// from a bounded pool): out of range is a usage error before anything runs.
#[test]
fn rotate_parallel_out_of_range_is_a_usage_error() {
    for n in ["0", "17", "many"] {
        let out = Command::new(env!("CARGO_BIN_EXE_keeper"))
            .args(["rotate", "--match", ".", "--parallel", n])
            .output()
            .expect("run keeper");
        assert_eq!(out.status.code(), Some(2), "--parallel {n}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("expected a number from 1 to 16"),
            "--parallel {n}: {stderr}"
        );
    }
    // The bounds themselves are accepted (the command then fails for want
    // of a vault, not of usage).
    for n in ["1", "16"] {
        let home = tempfile::tempdir().expect("dir");
        let out = Command::new(env!("CARGO_BIN_EXE_keeper"))
            .args(["rotate", "--match", ".", "--force", "--parallel", n])
            .arg("--data-dir")
            .arg(home.path())
            .env_remove("KEEPER_CONFIG_FILE")
            .output()
            .expect("run keeper");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(2), "--parallel {n}: {stderr}");
        assert!(!stderr.contains("expected a number"), "--parallel {n}");
    }
}
