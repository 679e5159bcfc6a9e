//! Plugin files and grants as an attacker leaves them (issue 12 item 6):
//! links, FIFOs and oversized files in a package or the plugin folder,
//! `[limits]` and `[fields]` edited after the grant, and keeper run with a
//! limited address space (`ulimit -v`).

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::plugins;
use crate::support::{Keeper, keeper_bin};
use crate::vault::{PW, add, vault};

/// Runs `cmd`, killing it after `limit`: a hang is a failure, not a stuck test.
fn run_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keeper hung for {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn install(keeper: &Keeper, dir: &Path) -> Output {
    let cmd = keeper.cmd(&["plugin", "install", "--grant", dir.to_str().expect("utf8")]);
    run_within(cmd, Duration::from_secs(60))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// `plugin.wasm` → `/dev/zero` exhausted memory and a FIFO hung the
/// install; a linked folder or manifest was followed. Each is refused by
/// name, at once, for a package and for a folder dropped in.
#[test]
fn install_refuses_links_fifos_and_oversized_files() {
    let keeper = Keeper::new();
    let package = || {
        let dir = tempfile::tempdir().expect("dir");
        plugins::minimal_rotator().package_into(dir.path());
        dir
    };

    let zero = package();
    std::fs::remove_file(zero.path().join("plugin.wasm")).expect("rm");
    symlink("/dev/zero", zero.path().join("plugin.wasm")).expect("link");
    let out = install(&keeper, zero.path());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );

    let fifo = package();
    std::fs::remove_file(fifo.path().join("plugin.wasm")).expect("rm");
    mkfifo(&fifo.path().join("plugin.wasm"));
    let out = install(&keeper, fifo.path());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );

    let manifest = package();
    let real = manifest.path().join("real.toml");
    std::fs::rename(manifest.path().join("plugin.toml"), &real).expect("mv");
    symlink(&real, manifest.path().join("plugin.toml")).expect("link");
    let out = install(&keeper, manifest.path());
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );

    let target = package();
    let linked = tempfile::tempdir().expect("dir");
    let link = linked.path().join("pkg");
    symlink(target.path(), &link).expect("link");
    let out = install(&keeper, &link);
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );

    let big = package();
    let toml = big.path().join("plugin.toml");
    let mut text = std::fs::read_to_string(&toml).expect("read");
    text.push_str(&format!("# {}\n", "x".repeat(70 * 1024)));
    std::fs::write(&toml, text).expect("write");
    let out = install(&keeper, big.path());
    assert!(
        stderr(&out).contains("over the 65536 byte limit"),
        "{}",
        stderr(&out)
    );

    // Dropped into the plugin folder: listed as refused, never followed or
    // waited on.
    let plugins_dir = keeper.data_dir().join("plugins");
    let dropped = plugins_dir.join("fifo-plugin");
    plugins::minimal_rotator().package_into(&dropped);
    std::fs::remove_file(dropped.join("plugin.wasm")).expect("rm");
    mkfifo(&dropped.join("plugin.wasm"));
    symlink(target.path(), plugins_dir.join("linked-plugin")).expect("link");
    let out = run_within(keeper.cmd(&["plugin", "list"]), Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("fifo-plugin") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(
        err.contains("linked-plugin") && err.contains("symbolic link"),
        "{err}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("minimal-rotator"),
        "nothing refused was listed"
    );
}

/// Editing `[limits]` (or `[fields]`) of an installed plugin took effect
/// without a new grant. Now the plugin is refused until installed again.
#[test]
fn limits_and_fields_are_part_of_the_grant() {
    let keeper = Keeper::new();
    let pkg = tempfile::tempdir().expect("dir");
    plugins::hostile_rotator().package_into(pkg.path());
    assert!(install(&keeper, pkg.path()).status.success());
    let info = keeper
        .run(&["plugin", "info", "hostile-rotator", "--format", "json"])
        .json();
    assert_eq!(info["memory_mib"], 64);
    assert_eq!(info["timeout_secs"], 10);

    let installed = keeper
        .data_dir()
        .join("plugins/hostile-rotator/plugin.toml");
    let granted = std::fs::read_to_string(&installed).expect("read");
    for (edit, section) in [
        (
            granted.replace("memory-mib = 64", "memory-mib = 512"),
            "[limits]",
        ),
        (
            granted.replace("timeout-secs = 10", "timeout-secs = 600"),
            "[limits]",
        ),
        (
            granted.replace("\"text:passphrase\"", "\"text:passphrase\", \"secret\""),
            "[fields]",
        ),
    ] {
        assert_ne!(edit, granted, "{section}: the edit applies");
        std::fs::write(&installed, edit).expect("edit");
        let err = keeper.run(&["plugin", "info", "hostile-rotator"]).fails();
        assert!(
            err.contains(&format!("its {section} changed since they were granted"))
                && err.contains("reinstall"),
            "{err}"
        );
    }
    std::fs::write(&installed, &granted).expect("restore");
    keeper.run(&["plugin", "info", "hostile-rotator"]).ok();

    // Granted again, the new limits apply.
    let text = std::fs::read_to_string(pkg.path().join("plugin.toml")).expect("read");
    std::fs::write(
        pkg.path().join("plugin.toml"),
        text.replace("memory-mib = 64", "memory-mib = 128"),
    )
    .expect("edit");
    let out = keeper.run(&[
        "plugin",
        "install",
        "--grant",
        "--force",
        pkg.path().to_str().expect("utf8"),
    ]);
    assert!(
        out.ok()
            .contains("limits: 128 MiB memory, 10 s and 1e10 fuel (CPU) per call"),
        "{}",
        out.stdout()
    );
    let info = keeper
        .run(&["plugin", "info", "hostile-rotator", "--format", "json"])
        .json();
    assert_eq!(info["memory_mib"], 128);
}

/// With `ulimit -v 4000000` every plugin failed: the sandbox pool reserves
/// about 520 GiB of address space. Under `ulimit -v 8000000` keeper now
/// says it allocates sandboxes on demand, and plugins work, several at once.
#[test]
fn keeper_runs_plugins_under_an_address_space_limit() {
    let k = vault();
    plugins::hostile_rotator().package_into(&k.data_dir().join("plugins/hostile-rotator"));
    for i in 0..6 {
        add(
            &k,
            &[
                "-t",
                &format!("limited {i}"),
                "login=app",
                "password=Old-pass-1",
                "c.text.cmdr:plugin=hostile-rotator",
                "c.text.cmdr:attack=same-sandbox",
            ],
        );
    }
    let csv = k.data_dir().join("one.csv");
    std::fs::write(&csv, ",Imported,user,pw-1,https://x.example,,\n").expect("write");
    for args in [
        vec!["plugin", "info", "mysql"],
        vec!["import", "--format", "csv", csv.to_str().expect("utf8")],
        vec![
            "rotate",
            "--match",
            "^limited",
            "--force",
            "--parallel",
            "6",
            "--format",
            "json",
        ],
    ] {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("ulimit -v 8000000 && exec \"$0\" \"$@\"")
            .arg(keeper_bin())
            .args(&args)
            .env("KEEPER_DATA_DIR", k.data_dir())
            .env("KEEPER_PASSWORD", PW)
            .env("KEEPER_TEST_FAST_KDF", "1")
            .env_remove("KEEPER_CONFIG_FILE")
            .env_remove("KEEPER_LOG");
        k.apply_store(&mut cmd);
        let out = run_within(cmd, Duration::from_secs(120));
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "{args:?} under ulimit -v 8000000:\n{stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("address space is limited") && stderr.contains("on demand"),
            "{args:?}: the fallback is announced: {stderr}"
        );
        if args[0] == "rotate" {
            let reports: serde_json::Value = serde_json::from_str(&stdout).expect("json");
            let rotated = reports
                .as_array()
                .expect("reports")
                .iter()
                .filter(|r| r["outcome"] == "rotated")
                .count();
            assert_eq!(rotated, 6, "{stdout}");
        }
    }
}
