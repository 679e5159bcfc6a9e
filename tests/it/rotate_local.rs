//! `keeper rotate` end to end with the plugins that change passwords on the
//! machine keeper runs on, through the `process` capability (the real
//! wasm32-wasip2 components embedded in keeper):
//!
//! - **unixpasswd**: real throw-away local accounts (`useradd`, needs
//!   root), real `chpasswd` / `passwd`, checked with PAM's real
//!   `unix_chkpwd`. The `passwd` method runs keeper as the account itself.
//! - **windows**: `net.exe` only runs on Windows, so these tests point the
//!   plugin (`cmdr:net_path`) at the **stand-in** script
//!   `tests/fixtures/net`, copied into each test's temp dir, which answers
//!   `net user` and `net use` with net.exe's messages and exit codes, keeps
//!   "accounts" in files beside itself and records its exact argv.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::crash::crash_at_every_stage;
use crate::sshd::{ACCOUNTS, Account};
use crate::support::{Keeper, Run, keeper_bin};
use crate::vault::{PW, add, kp, vault, vault_password};

/// Whether `password` is `user`'s password, by PAM's own checker.
fn unix_password_is(user: &str, password: &str) -> bool {
    let mut child = Command::new("unix_chkpwd")
        .args([user, "nonull"])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run unix_chkpwd (libpam-modules-bin)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(password.as_bytes()).expect("write");
    stdin.write_all(b"\0").expect("write");
    drop(stdin);
    child.wait().expect("wait").success()
}

/// A login record rotated by the unixpasswd plugin.
fn unix_record(k: &Keeper, account: &Account, password: &str, extra: &[&str]) -> String {
    let login = format!("login={}", account.name);
    let password = format!("password={password}");
    let mut args = vec![
        "-t",
        "local account",
        "--rt",
        "login",
        &login,
        &password,
        "c.text.cmdr:plugin=unixpasswd",
    ];
    args.extend_from_slice(extra);
    add(k, &args)
}

/// `keeper args` as root, holding the lock the account fixtures take
/// (useradd, chpasswd and keeper's chpasswd all lock /etc/shadow).
fn kp_locked(k: &Keeper, args: &[&str]) -> Run {
    let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
    kp(k, args)
}

#[test]
fn unixpasswd_chpasswd_as_root_rotates_and_only_the_new_password_works() {
    let account = Account::create();
    let k = vault();
    let uid = unix_record(
        &k,
        &account,
        &account.password,
        &["c.text.cmdr:method=chpasswd"],
    );
    let run = kp_locked(&k, &["rotate", &uid]);
    assert!(run.ok().contains("rotated"), "{}", run.stdout());
    let new = vault_password(&k, &uid);
    assert_ne!(new, account.password);
    assert!(unix_password_is(&account.name, &new));
    assert!(!unix_password_is(&account.name, &account.password));
    assert!(!run.stdout().contains(&new) && !run.stderr().contains(&new));

    // Hostile characters go through standard input untouched.
    let hostile = "N'e\"w\\p;a--s s`1$(id):x";
    kp_locked(&k, &["rotate", &uid, "--password", hostile]).ok();
    assert!(unix_password_is(&account.name, hostile));
    assert!(!unix_password_is(&account.name, &new));
}

#[test]
fn unixpasswd_a_wrong_current_password_changes_nothing() {
    let account = Account::create();
    let k = vault();
    let uid = unix_record(
        &k,
        &account,
        "Stale-unix-1",
        &["c.text.cmdr:method=chpasswd"],
    );
    let run = kp_locked(&k, &["rotate", &uid]);
    let err = run.stdout() + &run.stderr();
    assert!(!run.0.status.success());
    assert!(
        err.contains("authentication failed") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(vault_password(&k, &uid), "Stale-unix-1");
    assert!(
        unix_password_is(&account.name, &account.password),
        "target unchanged"
    );
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn unixpasswd_passwd_as_root_fails_with_a_hint_and_changes_nothing() {
    let account = Account::create();
    let k = vault();
    let uid = unix_record(&k, &account, &account.password, &[]);
    let run = kp_locked(&k, &["rotate", &uid]);
    let err = run.stdout() + &run.stderr();
    assert!(!run.0.status.success());
    assert!(err.contains("cmdr:method=chpasswd"), "{err}");
    assert_eq!(vault_password(&k, &uid), account.password);
    assert!(unix_password_is(&account.name, &account.password));
}

/// Commander's case: the account changes its own password with `passwd`,
/// keeper running as that account (no privilege at all).
#[test]
fn unixpasswd_passwd_as_the_account_itself() {
    let account = Account::create();
    let k = vault();
    let uid = unix_record(&k, &account, &account.password, &[]);
    // The account needs its own data dir and a keeper it may execute.
    let bin_dir = tempfile::tempdir().expect("dir");
    let bin = bin_dir.path().join("keeper");
    if std::fs::hard_link(keeper_bin(), &bin).is_err() {
        std::fs::copy(keeper_bin(), &bin).expect("copy keeper");
    }
    let owner = format!("{0}:{0}", account.name);
    for path in [bin_dir.path(), k.data_dir()] {
        let ok = Command::new("chown")
            .args(["-R", &owner])
            .arg(path)
            .status()
            .expect("chown");
        assert!(ok.success());
    }
    let as_account = |args: &[&str]| {
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        Run(Command::new("setpriv")
            .args([
                "--reuid",
                &account.name,
                "--regid",
                &account.name,
                "--clear-groups",
                "--",
            ])
            .arg(&bin)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", &account.home)
            .env("KEEPER_DATA_DIR", k.data_dir())
            .envs(k.store_url().map(|url| ("KEEPER_STORE", url)))
            .env("KEEPER_PASSWORD", PW)
            .env("KEEPER_TEST_FAST_KDF", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run keeper as the account"))
    };
    let run = as_account(&["rotate", &uid, "--format", "json"]);
    assert!(
        run.ok().contains("rotated"),
        "{}{}",
        run.stdout(),
        run.stderr()
    );
    let shown = as_account(&["get", &uid, "--format", "json", "--unmask"]).json();
    let new = shown["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["type"] == "password"))
        .and_then(|f| f["value"][0].as_str())
        .expect("password field")
        .to_string();
    assert!(unix_password_is(&account.name, &new));
    assert!(!unix_password_is(&account.name, &account.password));
}

#[test]
fn unixpasswd_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    crash_at_every_stage(
        |_| {
            let account = Account::create();
            let k = vault();
            let uid = unix_record(
                &k,
                &account,
                &account.password,
                &["c.text.cmdr:method=chpasswd"],
            );
            (k, uid, account)
        },
        |account, password| unix_password_is(&account.name, password),
    );
}

/// A private copy of the net.exe stand-in with the accounts `(name, password)`.
fn net_stand_in(accounts: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("net");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/net"),
        &copy,
    )
    .expect("copy the net stand-in");
    for (name, password) in accounts {
        std::fs::write(dir.path().join(format!("{name}.pw")), password).expect("account");
    }
    (dir, copy)
}

fn net_password(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.pw"))).expect("account file")
}

/// The stand-in's recorded invocations, arguments split.
fn net_calls(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("argv.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('\0').map(str::to_string).collect())
        .collect()
}

fn windows_record(k: &Keeper, title: &str, net: &Path, login: &str, password: &str) -> String {
    add(
        k,
        &[
            "-t",
            title,
            "--rt",
            "login",
            &format!("login={login}"),
            &format!("password={password}"),
            "c.text.cmdr:plugin=windows",
            &format!("c.text.cmdr:net_path={}", net.display()),
        ],
    )
}

#[test]
fn windows_stand_in_checks_the_old_password_sets_and_verifies_the_new() {
    let (dir, net) = net_stand_in(&[("svc_app", "Old-win-1")]);
    let k = vault();
    let uid = windows_record(&k, "win 1", &net, "svc_app", "Old-win-1");
    let run = kp(&k, &["rotate", &uid]);
    assert!(run.ok().contains("rotated"), "{}", run.stdout());
    let new = vault_password(&k, &uid);
    assert_eq!(net_password(dir.path(), "svc_app"), new);
    let ipc = "\\\\127.0.0.1\\IPC$";
    let calls = net_calls(dir.path());
    let expected: Vec<Vec<String>> = [
        vec!["use", ipc, "Old-win-1", "/user:svc_app"],
        vec!["use", ipc, "/delete", "/y"],
        vec!["user", "svc_app", &new],
        vec!["use", ipc, &new, "/user:svc_app"],
        vec!["use", ipc, "/delete", "/y"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(calls, expected);

    // A domain login: `net user <name> ... /domain`; hostile but allowed characters.
    let (dir, net) = net_stand_in(&[("svc", "Old-win-2")]);
    let uid = windows_record(&k, "win 2", &net, "CORP\\svc", "Old-win-2");
    let hostile = "N'e;w\\p--a`1$(id)";
    kp(&k, &["rotate", &uid, "--password", hostile]).ok();
    assert_eq!(net_password(dir.path(), "svc"), hostile);
    let calls = net_calls(dir.path());
    assert_eq!(calls[0][3], "/user:CORP\\svc");
    assert_eq!(calls[2], ["user", "svc", hostile, "/domain"]);
}

#[test]
fn windows_stand_in_wrong_old_password_or_policy_refusal_changes_nothing() {
    let (dir, net) = net_stand_in(&[("svc_app", "Real-win-3")]);
    let k = vault();
    let uid = windows_record(&k, "stale", &net, "svc_app", "Stale-win-3");
    let run = kp(&k, &["rotate", &uid]);
    let err = run.stdout() + &run.stderr();
    assert!(!run.0.status.success());
    assert!(
        err.contains("authentication failed") && err.contains("nothing was changed"),
        "{err}"
    );
    let calls = net_calls(dir.path());
    assert!(
        calls
            .iter()
            .all(|c| c[0] == "use" && c.get(2).map(String::as_str) != Some("/delete")),
        "only failed login checks ran, never `net user`: {calls:?}"
    );
    assert_eq!(net_password(dir.path(), "svc_app"), "Real-win-3");
    assert_eq!(vault_password(&k, &uid), "Stale-win-3");

    let uid = windows_record(&k, "policy", &net, "svc_app", "Real-win-3");
    let run = kp(&k, &["rotate", &uid, "--password", "weak-password-4"]);
    let err = run.stdout() + &run.stderr();
    assert!(!run.0.status.success());
    assert!(err.contains("password policy"), "{err}");
    assert_eq!(net_password(dir.path(), "svc_app"), "Real-win-3");
    assert_eq!(vault_password(&k, &uid), "Real-win-3");
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));

    // Characters net.exe would re-parse never reach it.
    let before = net_calls(dir.path()).len();
    for bad in [
        "Long-pass\"word-1",
        "Long-%PATH%-word-1",
        "Long-pass|word-1",
    ] {
        let run = kp(&k, &["rotate", &uid, "--password", bad]);
        assert!(!run.0.status.success(), "{bad}");
        let err = run.stdout() + &run.stderr();
        assert!(
            !err.contains("minimum of 12"),
            "refused for its characters, not its length: {err}"
        );
    }
    assert_eq!(net_calls(dir.path()).len(), before, "net never ran");
    assert_eq!(net_password(dir.path(), "svc_app"), "Real-win-3");
}

#[test]
fn windows_stand_in_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    crash_at_every_stage(
        |_| {
            let (dir, net) = net_stand_in(&[("svc_app", "Crash-win-5")]);
            let k = vault();
            let uid = windows_record(&k, "crashy", &net, "svc_app", "Crash-win-5");
            (k, uid, dir)
        },
        |dir, password| net_password(dir.path(), "svc_app") == password,
    );
}
