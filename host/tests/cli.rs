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
