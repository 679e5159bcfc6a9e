//! Replays every example command line of Commander's "Configuration and
//! Usage" page (shared/reference/seeds/002_*) as written. Paths the page
//! makes up (`/path/to/some/file.txt`, `/path/to/file.txt`,
//! `/path/to/config.json`) are left as they are: the page uses the first to
//! show a failing batch line, and keeper reports the others clearly.

use std::process::Stdio;

use crate::automation::{keeper, titles, vault, with_stdin};
use crate::support::{Keeper, Run};
use crate::vault::PW;

/// `keeper ARGS` with no password: persistent login has to do.
fn nopw(k: &Keeper, args: &[&str]) -> Run {
    Run(keeper(k, args).output().expect("run keeper"))
}

const TEST_CMD: &str = r#"add --login=user@gmail.com --pass=somemasterpass --url=https://google.com --force "Some Record Title"
upload-attachment --file="/path/to/some/file.txt" "Some Record Title"
share-record --email="user@company.com" --write "Some Record Title"
"#;

const TEST_CMD_AT: &str = r#"add --login=user@gmail.com --pass=somemasterpass --url=https://google.com --force "Some Record Title"
@upload-attachment --file="/path/to/some/file.txt" "Some Record Title"
share-record --email="user@company.com" --write "Some Record Title"
"#;

#[test]
fn every_example_command_line_runs_as_written() {
    let k = vault();
    let dir = k.data_dir();
    // $ keeper shell --config /path/to/config.json
    let run = with_stdin(
        &k,
        &["shell", "--config", "/path/to/config.json"],
        Some(PW),
        "whoami\nquit\n",
    );
    assert!(run.ok().contains("/path/to/config.json"));

    // My Vault> this-device register / persistent-login on / ip-auto-approve on /
    // timeout 30d / quit  (in a shell on my_config.json)
    let session = "this-device register\n\
                   this-device persistent-login on\n\
                   this-device ip-auto-approve on\n\
                   this-device timeout 30d\n\
                   quit\n";
    with_stdin(&k, &["--config=my_config.json", "shell"], Some(PW), session).ok();
    let my_config = std::fs::read_to_string(dir.join("my_config.json")).expect("my_config.json");
    for key in ["device_token", "clone_code", "user", "persistent_login"] {
        assert!(my_config.contains(key), "{key} in {my_config}");
    }

    // $ keeper --config=my_config.json shell    (no login prompt)
    let out = with_stdin(
        &k,
        &["--config=my_config.json", "shell"],
        None,
        "whoami\nquit\n",
    )
    .ok();
    assert!(out.contains("alice@example.com"), "{out}");

    // $ keeper --config=config_demo.json "add --login myuser -g --url https://google.com -t 'Google'"
    std::fs::copy(dir.join("my_config.json"), dir.join("config_demo.json")).expect("copy");
    nopw(
        &k,
        &[
            "--config=config_demo.json",
            "add --login myuser -g --url https://google.com -t 'Google'",
        ],
    )
    .ok();
    assert!(titles(&k).contains(&"Google".to_string()));

    // The share-record lines (below) need the recipient in the vault.
    let mut add_user = keeper(&k, &["user", "add", "user@company.com"]);
    add_user
        .env("KEEPER_PASSWORD", PW)
        .env("KEEPER_NEW_USER_PASSWORD", "their own master password");
    Run(add_user.output().expect("run")).ok();

    // ./config.json with the persistent session for the batch examples.
    std::fs::copy(dir.join("my_config.json"), dir.join("config.json")).expect("copy");
    std::fs::write(dir.join("test.cmd"), TEST_CMD).expect("test.cmd");

    // $ cat test.cmd | keeper --batch-mode -    -> aborted at the failing upload
    let run = Run(k
        .apply_store(&mut std::process::Command::new("sh"))
        .arg("-c")
        .arg("cat test.cmd | keeper --batch-mode -")
        .current_dir(dir)
        .env("PATH", path_with_keeper())
        .env("KEEPER_DATA_DIR", dir)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keeper-test-bus",
        )
        .env_remove("KEEPER_PASSWORD")
        .env_remove("KEEPER_CONFIG_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("sh"));
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(
        run.stderr().contains("/path/to/some/file.txt"),
        "{}",
        run.stderr()
    );
    assert!(!shared_with_user(&k), "share-record ran after the failure");

    // $ keeper test.cmd    -> the same
    assert_eq!(nopw(&k, &["test.cmd"]).code(), Some(1));
    assert!(!shared_with_user(&k));

    // Start the "@" replay from one record, so share-record's title is unique.
    let found = nopw(&k, &["search", "Some Record Title", "--format", "json"]).json();
    for r in found.as_array().expect("array") {
        nopw(&k, &["rm", "--force", r["uid"].as_str().expect("uid")]).ok();
    }
    // With "@" in front of upload-attachment, the batch goes on.
    std::fs::write(dir.join("test.cmd"), TEST_CMD_AT).expect("test.cmd");
    nopw(&k, &["test.cmd"]).ok();
    assert!(shared_with_user(&k), "share-record ran");
    let records = titles(&k);
    assert_eq!(
        records.iter().filter(|t| *t == "Some Record Title").count(),
        1
    );

    // (echo ls -l && echo whoami && echo tree) | keeper --batch-mode -
    let run = Run(k
        .apply_store(&mut std::process::Command::new("sh"))
        .arg("-c")
        .arg("(echo ls -l && echo whoami && echo tree) | keeper --batch-mode -")
        .current_dir(dir)
        .env("PATH", path_with_keeper())
        .env("KEEPER_DATA_DIR", dir)
        .env_remove("KEEPER_PASSWORD")
        .env_remove("KEEPER_CONFIG_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("sh"));
    let out = run.ok();
    assert!(
        out.contains("Google") && out.contains("alice@example.com"),
        "{out}"
    );

    // $ keeper --config=my_config.json bunch_of_commands.cmd
    std::fs::write(
        dir.join("bunch_of_commands.cmd"),
        "ls\nadd -t Bunch login=b\nget Bunch\n",
    )
    .expect("cmd");
    assert!(
        nopw(&k, &["--config=my_config.json", "bunch_of_commands.cmd"])
            .ok()
            .contains("Bunch")
    );

    // My Vault> run-batch -d 10 "C:\My Drive\Keeper\commands.txt"
    // My Vault> run-batch -d 5 "/path/to/file.txt"
    std::fs::write(
        dir.join(r"C:\My Drive\Keeper\commands.txt"),
        "add -t FromWindowsPath login=w\n",
    )
    .expect("file");
    let shell = "run-batch -d 10 \"C:\\My Drive\\Keeper\\commands.txt\"\n\
                 run-batch -d 5 \"/path/to/file.txt\"\n\
                 quit\n";
    let run = with_stdin(&k, &["shell"], None, shell);
    assert!(
        run.stderr().contains("no file matches /path/to/file.txt"),
        "{}",
        run.stderr()
    );
    run.ok();
    assert!(titles(&k).contains(&"FromWindowsPath".to_string()));
}

/// Whether user@company.com can open "Some Record Title".
fn shared_with_user(k: &Keeper) -> bool {
    let mut cmd = keeper(k, &["get", "Some Record Title"]);
    cmd.env("KEEPER_PASSWORD", "their own master password")
        .env("KEEPER_USER", "user@company.com")
        .env("KEEPER_CONFIG_FILE", k.data_dir().join("none.json"));
    Run(cmd.output().expect("run")).0.status.success()
}

/// PATH with the directory of the keeper binary first.
fn path_with_keeper() -> std::ffi::OsString {
    let bin = crate::support::keeper_bin();
    let mut paths = vec![bin.parent().expect("bin dir").to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).expect("PATH")
}
