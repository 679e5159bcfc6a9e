//! End-to-end tests of the ways to run keeper: batch files, stdin, quoted
//! command lines, `run-batch`, variables, the config's `commands` and
//! `timedelay`, config.json handling and Commander's command-line habits.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Keeper, Run, run_with_input};
use crate::vault::PW;

/// `keeper ARGS` in the data dir (also the working directory, so no stray
/// `./config.json` applies), cheap KDF, the OS keyring unreachable.
pub fn keeper(k: &Keeper, args: &[&str]) -> Command {
    let mut cmd = k.cmd(args);
    cmd.current_dir(k.data_dir())
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/keeper-test-bus",
        )
        .env_remove("KEEPER_USER")
        .env_remove("KEEPER_CONFIG_STORAGE");
    cmd
}

/// Runs `keeper ARGS` with the master password in the environment.
pub fn kp(k: &Keeper, args: &[&str]) -> Run {
    Run(keeper(k, args)
        .env("KEEPER_PASSWORD", PW)
        .output()
        .expect("run keeper"))
}

/// Runs `keeper ARGS` with `input` on stdin (and `password` in the
/// environment when given).
pub fn with_stdin(k: &Keeper, args: &[&str], password: Option<&str>, input: &str) -> Run {
    let mut cmd = keeper(k, args);
    if let Some(p) = password {
        cmd.env("KEEPER_PASSWORD", p);
    }
    run_with_input(cmd, input)
}

/// A vault for alice@example.com.
pub fn vault() -> Keeper {
    let k = Keeper::new();
    kp(&k, &["init", "--user", "alice@example.com"]).ok();
    k
}

/// Record titles in the root folder.
pub fn titles(k: &Keeper) -> Vec<String> {
    let v = kp(k, &["ls", "--format", "json"]).json();
    let mut t: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| r.get("kind").is_none_or(|k| k == "record"))
        .filter_map(|r| {
            r.get("title")
                .or(r.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    t.sort();
    t
}

fn write(k: &Keeper, name: &str, text: &str) -> String {
    let path = k.data_dir().join(name);
    std::fs::write(&path, text).expect("write file");
    path.display().to_string()
}

#[test]
fn a_batch_file_stops_at_the_first_failure_unless_at() {
    let k = vault();
    let file = write(
        &k,
        "stop.cmd",
        "add -t A login=a\nget \"No Such Record\"\nadd -t B login=b\n",
    );
    let run = kp(&k, &[&file]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr());
    assert!(run.stderr().contains("No Such Record"), "{}", run.stderr());
    assert_eq!(titles(&k), ["A"]);
    let file = write(
        &k,
        "go.cmd",
        "@get \"No Such Record\"\nadd -t B login=b\nq\nadd -t C login=c\n",
    );
    kp(&k, &[&file]).ok();
    assert_eq!(titles(&k), ["A", "B"], "q ends the batch");
    // The failing line is named without the password on it.
    let file = write(&k, "secret.cmd", "add -t A --pass=hunter2-secret\n");
    let run = kp(&k, &[&file]);
    assert_eq!(run.code(), Some(1));
    assert!(run.stderr().contains("--pass=****"), "{}", run.stderr());
    assert!(!run.stderr().contains("hunter2"), "{}", run.stderr());
}

#[test]
fn the_vault_is_unlocked_once_per_batch() {
    // The password comes from stdin, one line: a second unlock would find
    // nothing to read and fail.
    let k = vault();
    let lines: String = (0..20)
        .map(|i| format!("add -t R{i:02} login=u{i}\n"))
        .collect();
    let file = write(&k, "many.cmd", &format!("{lines}ls\n"));
    let run = with_stdin(&k, &[&file], None, &format!("{PW}\n"));
    run.ok();
    assert_eq!(titles(&k).len(), 20);
}

#[test]
fn stdin_batches_and_refused_lines() {
    let k = vault();
    let out = with_stdin(
        &k,
        &["--batch-mode", "-"],
        Some(PW),
        "add -t One login=x\nls\ntree\n",
    )
    .ok();
    assert!(out.contains("One"), "{out}");
    with_stdin(&k, &["-"], Some(PW), "add -t Two login=y\n").ok();
    assert_eq!(titles(&k), ["One", "Two"]);
    // A NUL inside a line is refused and stops the batch.
    let run = with_stdin(
        &k,
        &["-"],
        Some(PW),
        "add -t Three\0 login=z\nadd -t Four login=w\n",
    );
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("control character"),
        "{}",
        run.stderr()
    );
    assert_eq!(titles(&k), ["One", "Two"]);
    // Commands come from stdin, so the password is never read from it.
    let run = with_stdin(&k, &["-"], None, &format!("ls\n{PW}\n"));
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("stdin carries the commands"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_quoted_command_line_and_commander_add_options() {
    let k = vault();
    kp(
        &k,
        &["add --login myuser -g --url https://google.com -t 'Google'"],
    )
    .ok();
    kp(
        &k,
        &[
            "add",
            "--login=user@gmail.com",
            "--pass=somemasterpass",
            "--url=https://google.com",
            "--force",
            "Some Record Title",
        ],
    )
    .ok();
    let g = kp(&k, &["get", "Google", "--format", "json", "--unmask"]).json();
    let fields = g["fields"].as_array().expect("fields");
    let value = |kind: &str| {
        fields
            .iter()
            .find(|f| f["type"] == kind)
            .and_then(|f| f["value"][0].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(value("login"), "myuser");
    assert_eq!(value("url"), "https://google.com");
    assert!(value("password").len() >= 16, "a generated password");
    let s = kp(
        &k,
        &[
            "get",
            "Some Record Title",
            "--format",
            "json",
            "--unmask-all",
        ],
    )
    .json();
    assert!(s.to_string().contains("somemasterpass"), "{s}");
    // Two-letter options as Commander spells them.
    kp(
        &k,
        &["add", "-rt", "serverCredentials", "-t", "Box", "host=h:22"],
    )
    .ok();
    let b = kp(&k, &["get", "Box", "--format", "json"]).json();
    assert_eq!(b["type"], "serverCredentials");
    let sf = kp(&k, &["mkdir", "-sf", "Team"]).ok();
    let folders = kp(&k, &["ls", "--format", "json"]).json();
    assert!(folders.to_string().contains(sf.trim()), "{folders}");
}

#[test]
fn typos_get_the_right_suggestion() {
    let k = vault();
    let run = kp(&k, &["run-bach", "x"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr().contains("'run-batch'"), "{}", run.stderr());
    assert!(!run.stderr().contains("'r'"), "{}", run.stderr());
    let run = with_stdin(&k, &["-"], Some(PW), "thisdevice\n");
    assert!(run.stderr().contains("'this-device'"), "{}", run.stderr());
}

#[test]
fn run_batch_comments_sleep_delay_dry_run_and_globs() {
    let k = vault();
    write(
        &k,
        "a.cmd",
        "# a comment\nadd -t First login=a\nget \"Missing\"\nsleep 1\nadd -t Second login=b\n",
    );
    write(&k, "b.cmd", "add -t Third login=c\n");
    let dir = k.data_dir().display().to_string();
    // -n prints the commands and runs nothing.
    let out = kp(&k, &["run-batch", "-n", &format!("{dir}/*.cmd")]).ok();
    assert!(
        out.contains("add -t First login=a") && out.contains("add -t Third"),
        "{out}"
    );
    assert!(!out.contains("# a comment"), "{out}");
    assert!(titles(&k).is_empty());
    // Errors do not stop it, `sleep` pauses; the exit code says one failed.
    let started = Instant::now();
    let run = kp(&k, &["run", &format!("{dir}/*.cmd")]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("1 command(s) in the batch failed"),
        "{}",
        run.stderr()
    );
    assert_eq!(titles(&k), ["First", "Second", "Third"]);
    // -d waits between commands (two commands: one wait).
    write(&k, "c.txt", "ls\nls\n");
    let started = Instant::now();
    kp(&k, &["run-batch", "-q", "-d", "1", &format!("{dir}/c.txt")]).ok();
    assert!(started.elapsed() >= Duration::from_secs(1));
    let err = kp(&k, &["run-batch", &format!("{dir}/none*.cmd")]).fails();
    assert!(err.contains("no file matches"), "{err}");
}

#[test]
fn variables_and_last_uids() {
    let k = vault();
    let file = write(
        &k,
        "vars.cmd",
        "add -t Web login=me\n\
         set copy ${last_record_uid}\n\
         get ${copy} --format json\n\
         mkdir Plain\n\
         mkdir -sf Shared\n\
         set name \"Second Record\"\n\
         add -t ${name} login=x\n\
         set\n",
    );
    let out = kp(&k, &[&file]).ok();
    let uid = out.lines().next().expect("uid").trim().to_string();
    assert!(out.contains("\"title\": \"Web\""), "{out}");
    assert!(out.contains(&format!("copy={uid}")), "{out}");
    assert!(
        out.contains("last_folder_uid=") && out.contains("last_shared_folder_uid="),
        "{out}"
    );
    assert_eq!(titles(&k), ["Second Record", "Web"]);
    let run = with_stdin(&k, &["-"], Some(PW), "get ${nope}\n");
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr().contains("${nope} is not set"),
        "{}",
        run.stderr()
    );
}

#[test]
fn config_commands_run_first_and_timedelay_repeats_them() {
    let k = vault();
    let config = k.data_dir().join("config.json");
    std::fs::write(&config, r#"{"commands": ["add -t Start login=s --force"]}"#).expect("config");
    // The config's commands run before the command line's own: ls sees Start.
    assert!(kp(&k, &["ls"]).ok().contains("Start"));
    // commands + timedelay: the list again every second; failures are
    // logged and the loop goes on. The test stops it after ~3.5 s.
    std::fs::write(
        &config,
        r#"{"commands": ["add -t Tick login=t --force", "get Missing"], "timedelay": 1}"#,
    )
    .expect("config");
    let mut child = keeper(&k, &[])
        .env("KEEPER_PASSWORD", PW)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(3500));
    child.kill().expect("kill");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("command failed: get Missing"), "{stderr}");
    std::fs::write(&config, "{}").expect("config");
    let ticks = titles(&k).iter().filter(|t| *t == "Tick").count();
    assert!((2..=5).contains(&ticks), "{ticks} rounds in 3.5 s");
}

#[test]
fn config_files_warn_on_unknown_keys_and_bad_ones_are_left_alone() {
    let k = vault();
    let config = k.data_dir().join("config.json");
    std::fs::write(
        &config,
        r#"{"user": "alice@example.com", "colour": "blue", "server": "keepersecurity.eu"}"#,
    )
    .expect("config");
    let run = kp(&k, &["ls"]);
    run.ok();
    assert!(
        run.stderr().contains("unknown key \"colour\""),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("server"), "{}", run.stderr());
    for bad in [
        "{\"user\": ",
        "{\"timedelay\": \"often\"}",
        "{\"proxy\": \"ftp://h:1\"}",
    ] {
        std::fs::write(&config, bad).expect("config");
        let err = kp(&k, &["this-device", "register"]).fails();
        assert!(err.contains("config.json"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&config).expect("read"),
            bad,
            "never rewritten"
        );
    }
    // ./config.json in the working directory comes before the data dir's.
    std::fs::write(&config, "{}").expect("config");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::fs::write(elsewhere.path().join("config.json"), r#"{"bogus_key": 1}"#).expect("config");
    let run = Run(keeper(&k, &["ls"])
        .current_dir(elsewhere.path())
        .env("KEEPER_PASSWORD", PW)
        .output()
        .expect("run"));
    assert!(run.stderr().contains("bogus_key"), "{}", run.stderr());
    // --config wins over both.
    let explicit = write(&k, "mine.json", r#"{"other_key": 1}"#);
    let run = kp(&k, &["--config", &explicit, "ls"]);
    assert!(
        run.stderr().contains("other_key") && !run.stderr().contains("bogus"),
        "{}",
        run.stderr()
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&explicit).expect("read")).expect("json");
    assert_eq!(json["other_key"], 1);
}
