//! `keeper rotate` end to end against the real MariaDB on 127.0.0.1:3306
//! (root, empty password; `scripts/test` starts it): real accounts, the real
//! mysql plugin (wasm32-wasip2, embedded in the binary), logins checked with
//! the `mariadb` client. No mocks.

use std::process::Command;

use serde_json::Value;

use crate::crash::crash_at_every_stage;
use crate::support::Keeper;
use crate::vault::{add, crash_at, kp, vault, vault_password};

/// Runs SQL as root.
pub(crate) fn sql(query: &str) -> String {
    let out = Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", "-P3306", "-N", "-B", "-e", query])
        .output()
        .expect("run the mariadb client (is MariaDB installed?)");
    assert!(
        out.status.success(),
        "SQL failed: {query}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `'text'` as a MariaDB string literal (default SQL mode).
fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// Whether `user` can log in with `password` (given through MYSQL_PWD, so
/// no shell or argv quoting is involved).
pub(crate) fn can_login(user: &str, password: &str) -> bool {
    Command::new("mariadb")
        .args(["-h127.0.0.1", "-P3306", "-u", user, "-N", "-e", "SELECT 1"])
        .env("MYSQL_PWD", password)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A throw-away MariaDB account without any privileges, dropped at the end.
pub(crate) struct Account {
    pub(crate) name: String,
}

impl Account {
    pub(crate) fn new(prefix: &str, password: &str) -> Self {
        let name = format!("{prefix}{:08x}", rand_u32());
        sql(&format!(
            "CREATE USER {}@'%' IDENTIFIED BY {}",
            lit(&name),
            lit(password)
        ));
        assert!(can_login(&name, password), "fresh account cannot log in");
        Self { name }
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args([
                "-uroot",
                "-h127.0.0.1",
                "-P3306",
                "-e",
                &format!("DROP USER IF EXISTS {}@'%'", lit(&self.name)),
            ])
            .output();
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u32
}

/// A login record rotated by the mysql plugin through `cmdr:` fields.
pub(crate) fn mysql_record(k: &Keeper, title: &str, account: &Account, password: &str) -> String {
    add(
        k,
        &[
            "-t",
            title,
            "--rt",
            "login",
            &format!("login={}", account.name),
            &format!("password={password}"),
            "c.text.cmdr:plugin=mysql",
            "c.text.cmdr:host=127.0.0.1",
            "c.text.cmdr:port=3306",
        ],
    )
}

#[test]
fn rotates_a_mysql_account_and_only_the_new_password_logs_in() {
    let old = "Old-pass-1";
    let account = Account::new("kr_", old);
    let k = vault();
    let uid = mysql_record(&k, "db app", &account, old);

    let run = kp(&k, &["rotate", "db app"]);
    let out = run.ok();
    assert!(out.contains("rotated"), "{out}");
    let new = vault_password(&k, &uid);
    assert_ne!(new, old);
    assert_eq!(new.len(), 20);
    assert!(
        can_login(&account.name, &new),
        "the vault's new password logs in"
    );
    assert!(
        !can_login(&account.name, old),
        "the old password no longer logs in"
    );
    assert!(
        !run.stdout().contains(&new) && !run.stderr().contains(&new),
        "no --print, no password"
    );

    let history = kp(
        &k,
        &[
            "history", &uid, "-a", "password", "--unmask", "--format", "json",
        ],
    )
    .stdout();
    assert!(
        history.contains(old),
        "the old password is in the history: {history}"
    );
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]).json();
    assert_eq!(audit[0]["outcome"], "rotated");
    assert_eq!(audit[0]["plugin"], "mysql");
    assert_eq!(audit[0]["target"], "127.0.0.1:3306");
    let audit_text = audit.to_string();
    assert!(
        !audit_text.contains(&new) && !audit_text.contains(old),
        "no secret in the audit log"
    );

    // --print shows the new one; rules and length apply.
    let printed = kp(
        &k,
        &[
            "rotate",
            &uid,
            "--print",
            "--rules",
            "24,2,2,2,0",
            "--format",
            "json",
        ],
    )
    .json();
    let third = printed[0]["password"]
        .as_str()
        .expect("printed")
        .to_string();
    assert_eq!(third.len(), 24);
    assert!(
        third.chars().all(|c| c.is_ascii_alphanumeric()),
        "0 symbols: {third}"
    );
    assert_eq!(vault_password(&k, &uid), third);
    assert!(can_login(&account.name, &third));
}

#[test]
fn a_database_record_with_a_host_field_on_3306_infers_mysql() {
    let old = "Old-pass-2";
    let account = Account::new("kr_", old);
    let k = vault();
    let uid = add(
        &k,
        &[
            "-t",
            "inferred",
            "--rt",
            "databaseCredentials",
            "host=127.0.0.1:3306",
            &format!("login={}", account.name),
            &format!("password={old}"),
        ],
    );
    let plan = kp(&k, &["rotate", &uid, "--dry-run", "--format", "json"]).json();
    assert_eq!(plan[0]["plugin"], "mysql");
    assert_eq!(plan[0]["status"], "ready");
    assert_eq!(vault_password(&k, &uid), old, "dry run touches nothing");
    assert!(can_login(&account.name, old));

    kp(&k, &["rotate", &uid]).ok();
    let new = vault_password(&k, &uid);
    assert!(can_login(&account.name, &new) && !can_login(&account.name, old));
}

#[test]
fn hostile_logins_and_passwords_neither_break_nor_inject() {
    sql("CREATE TABLE IF NOT EXISTS test.kr_canary (id INT)");
    let old = "x'; DROP TABLE test.kr_canary; --";
    let account = Account::new("kr_q'\"\\;-- ", old);
    let k = vault();
    let uid = mysql_record(&k, "hostile", &account, old);
    let new = "N'e\"w\\p;a--s s`1";
    kp(&k, &["rotate", &uid, "--password", new]).ok();
    assert_eq!(vault_password(&k, &uid), new);
    assert!(
        can_login(&account.name, new),
        "the exact hostile password logs in"
    );
    assert!(!can_login(&account.name, old));
    assert_eq!(sql("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='test' AND table_name='kr_canary'").trim(), "1");
}

#[test]
fn a_wrong_current_password_fails_clearly_and_changes_nothing() {
    let account = Account::new("kr_", "Real-pass-3");
    let k = vault();
    let uid = mysql_record(&k, "stale", &account, "Stale-pass-3");
    let run = kp(&k, &["rotate", &uid]);
    let err = run.stdout() + &run.stderr();
    assert!(!run.0.status.success());
    assert!(
        err.contains("authentication failed") && err.contains("1045"),
        "{err}"
    );
    assert_eq!(vault_password(&k, &uid), "Stale-pass-3", "vault unchanged");
    assert!(can_login(&account.name, "Real-pass-3"), "target unchanged");
    assert!(
        kp(&k, &["rotate", "--resume"]).ok().contains("No pending"),
        "nothing left pending"
    );
}

#[test]
fn an_unreachable_target_fails_and_changes_nothing() {
    let k = vault();
    let uid = add(
        &k,
        &[
            "-t",
            "down",
            "--rt",
            "login",
            "login=nobody",
            "password=Pw-4",
            "c.text.cmdr:plugin=mysql",
            "c.text.cmdr:host=127.0.0.1",
            "c.text.cmdr:port=1",
        ],
    );
    let run = kp(&k, &["rotate", &uid]);
    assert!(!run.0.status.success());
    assert!(run.stdout().contains("unreachable"), "{}", run.stdout());
    assert_eq!(vault_password(&k, &uid), "Pw-4");
}

#[test]
fn no_argument_lists_endpoints_and_missing_parameters_are_listed() {
    let k = vault();
    add(
        &k,
        &[
            "-t",
            "ep",
            "--rt",
            "login",
            "login=a",
            "password=b",
            "c.text.cmdr:plugin:db=mysql",
        ],
    );
    let list = kp(&k, &["rotate", "--format", "json"]).json();
    assert_eq!(list[0]["name"], "db");
    assert_eq!(list[0]["plugin"], "mysql");
    let run = kp(&k, &["rotate", "db"]);
    assert!(
        run.stdout().contains("host ("),
        "the missing host is named: {}",
        run.stdout()
    );
    let run = kp(&k, &["rotate", "nothing-named-so"]);
    assert!(run.fails().contains("no record, endpoint or folder"));
}

/// Crash safety: abort the process at every stage; resuming must always
/// leave a vault password that logs in. Zero lock-outs.
#[test]
fn a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    crash_at_every_stage(
        |_| {
            let old = "Crash-old-5";
            let account = Account::new("kr_", old);
            let k = vault();
            let uid = mysql_record(&k, "crashy", &account, old);
            (k, uid, account)
        },
        |account, password| can_login(&account.name, password),
    );
}

/// A bulk run stages records a little ahead of the one being rotated; a
/// crash in the middle leaves those staged ones pending, untouched, and
/// `--resume` rolls them back (or finishes the one that had changed):
/// nobody is locked out and nothing stays pending.
#[test]
fn a_crash_in_a_bulk_run_leaves_staged_records_resolvable() {
    let k = vault();
    let mut accounts = Vec::new();
    for i in 0..6 {
        let pw = format!("Staged-old-{i}");
        let account = Account::new("ks_", &pw);
        let uid = mysql_record(&k, &format!("staged {i}"), &account, &pw);
        accounts.push((account, uid));
    }
    let crashed = crash_at(
        &k,
        &[
            "rotate",
            "--match",
            "^staged ",
            "--force",
            "--parallel",
            "1",
        ],
        "after-set",
    );
    assert!(
        !crashed.status.success(),
        "the injected fault kills the run"
    );
    let resumed = kp(&k, &["rotate", "--resume", "--format", "json"]);
    assert!(
        resumed.0.status.success(),
        "{}{}",
        resumed.stdout(),
        resumed.stderr()
    );
    let reports: Value = serde_json::from_str(&resumed.stdout()).expect("json");
    let outcomes: Vec<&str> = reports
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert!(
        outcomes.contains(&"completed"),
        "the record whose target changed is finished: {outcomes:?}"
    );
    assert!(
        (1..=3).contains(&outcomes.len()),
        "at most the crashed record and two staged ahead: {outcomes:?}"
    );
    for (i, (account, uid)) in accounts.iter().enumerate() {
        assert!(
            can_login(&account.name, &vault_password(&k, uid)),
            "LOCK-OUT on record {i}"
        );
    }
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn bulk_rotation_isolates_one_broken_record() {
    let k = vault();
    let mut accounts = Vec::new();
    for i in 0..50 {
        let pw = format!("Bulk-old-{i}");
        let account = Account::new("kb_", &pw);
        // Record 17 holds a wrong password: its rotation must fail alone.
        let stored = if i == 17 {
            "Wrong-pass".to_string()
        } else {
            pw.clone()
        };
        let uid = mysql_record(&k, &format!("bulk {i:02}"), &account, &stored);
        accounts.push((account, uid));
    }
    let run = kp(
        &k,
        &[
            "rotate",
            "--match",
            "^bulk ",
            "--force",
            "--parallel",
            "4",
            "--format",
            "json",
        ],
    );
    assert!(!run.0.status.success(), "one failure means a non-zero exit");
    let reports: Value = serde_json::from_str(&run.stdout()).expect("json");
    let reports = reports.as_array().expect("array");
    assert_eq!(reports.len(), 50);
    let failed: Vec<&Value> = reports
        .iter()
        .filter(|r| r["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["title"], "bulk 17");
    assert_eq!(
        reports.iter().filter(|r| r["outcome"] == "rotated").count(),
        49
    );
    for (i, (account, uid)) in accounts.iter().enumerate() {
        if i != 17 {
            assert!(
                can_login(&account.name, &vault_password(&k, uid)),
                "record {i}"
            );
        }
    }
    // Every attempt is audited with how long it took on its target: 49
    // logins, changes and verifying logins cannot all take under 1 ms.
    let audit = kp(&k, &["audit-log", "--format", "json"]).json();
    let audit = audit.as_array().expect("array");
    assert_eq!(audit.len(), 50, "one entry per record");
    let total: i64 = audit
        .iter()
        .map(|e| e["duration_ms"].as_i64().expect("duration_ms"))
        .sum();
    assert!(total > 0, "durations are measured: {audit:?}");
}
