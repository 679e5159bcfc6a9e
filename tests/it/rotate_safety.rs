//! Rotation under concurrency, and its honest outcomes, end to end: real
//! `keeper` processes racing on one record, held at a known stage
//! (`KEEPER_HOLD`, debug builds) or killed with SIGKILL, against the real
//! MariaDB; plus the minimum length and a failing `rotate` through the
//! hostile rotator. The promise checked everywhere: the vault's password
//! (after `rotate --resume` when something was left pending) logs in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::rotate::{Account, can_login, mysql_record};
use crate::support::{Keeper, Rng};
use crate::vault::{PW, add, crash_at, kp, vault, vault_password};

/// A `keeper` command, unlocked, with the fault hooks unset.
fn keeper(k: &Keeper, args: &[&str]) -> Command {
    let mut cmd = k.cmd(args);
    cmd.env("KEEPER_PASSWORD", PW)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env_remove("KEEPER_FAULT")
        .env_remove("KEEPER_HOLD")
        .env_remove("KEEPER_HOLD_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A `keeper rotate` held at a protocol point, holding the record's lock.
struct Held {
    child: Option<Child>,
    gate: PathBuf,
    _dir: tempfile::TempDir,
}

impl Held {
    /// Starts `keeper ARGS` and waits until it reaches `point`.
    fn start(k: &Keeper, args: &[&str], point: &str) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let gate = dir.path().join("hold");
        std::fs::write(&gate, "").expect("gate");
        let child = keeper(k, args)
            .env("KEEPER_HOLD", point)
            .env("KEEPER_HOLD_FILE", &gate)
            .spawn()
            .expect("spawn keeper");
        let mut held = Self {
            child: Some(child),
            gate,
            _dir: dir,
        };
        let reached = reached(&held.gate);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !reached.exists() {
            if let Some(status) = held.child_mut().try_wait().expect("wait") {
                let out = held.child.take().expect("child").wait_with_output();
                panic!("keeper ended ({status}) before {point}: {out:?}");
            }
            assert!(Instant::now() < deadline, "keeper never reached {point}");
            std::thread::sleep(Duration::from_millis(10));
        }
        held
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("running")
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Lets it go on and waits for it.
    fn release(mut self) -> Output {
        std::fs::remove_file(&self.gate).expect("open the gate");
        self.child
            .take()
            .expect("running")
            .wait_with_output()
            .expect("wait")
    }

    /// SIGKILL; the process is left unreaped (a zombie) until `reap`.
    fn kill(&mut self) {
        self.child_mut().kill().expect("kill -9");
        let pid = self.pid();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !zombie(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn reap(mut self) {
        let _ = self.child.take().expect("running").wait();
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn reached(gate: &Path) -> PathBuf {
    let mut path = gate.as_os_str().to_owned();
    path.push(".reached");
    PathBuf::from(path)
}

/// Whether `pid` is a zombie (exited, not reaped).
fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The record's rotation lock row, read straight from the vault file (or
/// the database):
/// `(pid, heartbeat)`.
fn lock_row(k: &Keeper, uid: &str) -> Option<(i64, i64)> {
    if k.on_postgres() {
        let row = k.sql(&format!(
            "SELECT pid, heartbeat FROM keeper.rotation_locks WHERE record_uid = '{uid}'"
        ))?;
        let (pid, heartbeat) = row.split_once('|')?;
        return Some((pid.parse().ok()?, heartbeat.parse().ok()?));
    }
    let conn = rusqlite::Connection::open_with_flags(
        k.data_dir().join("vault.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the vault file");
    conn.query_row(
        "SELECT pid, heartbeat FROM rotation_locks WHERE record_uid = ?1",
        [uid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

/// Whether `rotate`'s endpoint listing shows the record pending.
fn pending(k: &Keeper, uid: &str) -> bool {
    kp(k, &["rotate", "--format", "json"])
        .json()
        .as_array()
        .expect("array")
        .iter()
        .any(|e| e["record_uid"] == uid && e["pending"] == true)
}

fn audit_len(k: &Keeper) -> usize {
    kp(k, &["audit-log", "--format", "json"])
        .json()
        .as_array()
        .map_or(0, Vec::len)
}

/// A second `rotate` of a record another process is rotating says who
/// (pid, host, time), fails, and touches nothing: not the target, not the
/// holder's pending state, not the audit log; so do `--resume`, `rm` and
/// `rmdir`.
/// The holder, stopped (SIGSTOP, so its heartbeat stops too) or not, is
/// never taken over, and finishes normally.
#[test]
fn a_busy_record_is_refused_naming_its_holder_and_nothing_is_touched() {
    let old = "Busy-old-pass-1";
    let account = Account::new("kl_", old);
    let k = vault();
    let uid = mysql_record(&k, "busy", &account, old);
    kp(&k, &["mkdir", "lockdir"]).ok();
    kp(&k, &["mv", &uid, "lockdir"]).ok();
    let held = Held::start(&k, &["rotate", &uid], "after-pending");
    assert!(pending(&k, &uid), "the holder's pending state is stored");
    let audit = audit_len(&k);

    let second = keeper(&k, &["rotate", &uid, "--format", "json"])
        .output()
        .expect("run");
    assert!(!second.status.success(), "{}", text(&second));
    let report: Value = serde_json::from_slice(&second.stdout).expect("json");
    assert_eq!(report[0]["outcome"], "busy", "{report}");
    let message = report[0]["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("being rotated by pid {} on ", held.pid()))
            && message.contains(" since ")
            && message.contains("nothing was changed"),
        "{message}"
    );

    // Stopped, the holder's heartbeat stops too; on its machine it is
    // still alive, so neither a resume nor a bulk run takes it over.
    let pid = held.pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let resume = keeper(&k, &["rotate", "--resume", "--format", "json"])
        .output()
        .expect("run");
    assert!(!resume.status.success(), "{}", text(&resume));
    assert!(
        text(&resume).contains("being rotated by pid"),
        "{}",
        text(&resume)
    );
    for args in [["rm", &uid, "--force"], ["rmdir", "lockdir", "--force"]] {
        let rm = keeper(&k, &args).output().expect("run");
        assert!(!rm.status.success(), "{args:?}");
        assert!(
            text(&rm).contains("being rotated by pid"),
            "{args:?}: {}",
            text(&rm)
        );
    }
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .expect("kill")
            .success()
    );

    assert_eq!(audit_len(&k), audit, "no audit entry from the refused runs");
    assert_eq!(vault_password(&k, &uid), old, "the vault is untouched");
    assert!(can_login(&account.name, old), "the target is untouched");
    assert!(
        pending(&k, &uid),
        "the holder's pending state is still there"
    );

    let done = held.release();
    assert!(done.status.success(), "{}", text(&done));
    assert!(text(&done).contains("rotated"), "{}", text(&done));
    let new = vault_password(&k, &uid);
    assert_ne!(new, old);
    assert!(can_login(&account.name, &new));
    assert!(!pending(&k, &uid));
    assert_eq!(lock_row(&k, &uid), None, "the lock was let go");
}

/// A bulk run skips a busy record with the message and a failure exit
/// code, rotates the others, and never reverts the holder's work.
#[test]
fn bulk_rotation_skips_a_busy_record_and_never_reverts_its_work() {
    let k = vault();
    let mut records = Vec::new();
    for i in 0..3 {
        let old = format!("Bulk-lock-old-{i}");
        let account = Account::new("kl_", &old);
        let uid = mysql_record(&k, &format!("locked {i}"), &account, &old);
        records.push((account, uid, old));
    }
    // Held after its target changed: a revert by anyone else would lock
    // the holder out.
    let held = Held::start(&k, &["rotate", &records[0].1], "after-set");
    let bulk = keeper(
        &k,
        &[
            "rotate", "--match", "^locked ", "--force", "--format", "json",
        ],
    )
    .output()
    .expect("run");
    assert!(!bulk.status.success(), "a busy record fails the run");
    let reports: Value = serde_json::from_slice(&bulk.stdout).expect("json");
    for report in reports.as_array().expect("array") {
        let expected = if report["uid"] == records[0].1.as_str() {
            "busy"
        } else {
            "rotated"
        };
        assert_eq!(report["outcome"], expected, "{report}");
    }
    let done = held.release();
    assert!(done.status.success(), "{}", text(&done));
    for (account, uid, old) in &records {
        let now = vault_password(&k, uid);
        assert_ne!(&now, old);
        assert!(can_login(&account.name, &now), "{uid}");
    }
}

/// A holder killed with SIGKILL after changing the target: its heartbeat
/// had been moving while it was blocked; once it is dead (even before
/// its parent reaps it) the next `rotate --resume` takes its lock over and
/// completes its rotation.
#[test]
fn a_killed_holders_lock_is_taken_over_and_its_rotation_resolved() {
    let old = "Killed-old-pass-1";
    let account = Account::new("kl_", old);
    let k = vault();
    let uid = mysql_record(&k, "killed", &account, old);
    let mut held = Held::start(&k, &["rotate", &uid], "after-set");
    let (pid, first) = lock_row(&k, &uid).expect("a lock row");
    assert_eq!(pid, i64::from(held.pid()));
    std::thread::sleep(Duration::from_millis(5_600));
    let (_, later) = lock_row(&k, &uid).expect("a lock row");
    assert!(
        later > first,
        "the heartbeat moved while the holder was blocked"
    );
    assert!(
        !can_login(&account.name, old),
        "the target has the new password"
    );

    held.kill();
    let resumed = keeper(&k, &["rotate", "--resume", "--format", "json"])
        .output()
        .expect("run");
    held.reap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    let reports: Value = serde_json::from_slice(&resumed.stdout).expect("json");
    assert_eq!(reports[0]["outcome"], "completed", "{reports}");
    assert!(can_login(&account.name, &vault_password(&k, &uid)));
    assert!(!pending(&k, &uid));
}

/// An `edit` of the record while its rotation is between verify and
/// finish (the target already has the new password) is neither lost nor
/// able to make the finish fail: the finish applies the new password to
/// the edited revision, and a password typed in meanwhile goes to the
/// history.
#[test]
fn an_edit_during_a_rotation_merges_with_its_finish() {
    let old = "Edited-old-pass-1";
    let account = Account::new("kl_", old);
    let k = vault();
    let uid = mysql_record(&k, "edited", &account, old);
    let held = Held::start(&k, &["rotate", &uid], "after-verify");
    kp(
        &k,
        &[
            "edit",
            "-r",
            &uid,
            "-n",
            "edited meanwhile",
            "password=Typed-in-pass-1",
        ],
    )
    .ok();
    let done = held.release();
    assert!(done.status.success(), "{}", text(&done));
    assert!(text(&done).contains("rotated"), "{}", text(&done));
    let new = vault_password(&k, &uid);
    assert!(
        can_login(&account.name, &new),
        "the vault has the working one"
    );
    let record = kp(&k, &["get", &uid, "--format", "json"]).json();
    assert_eq!(record["notes"], "edited meanwhile", "{record}");
    let history = kp(
        &k,
        &[
            "history", &uid, "-a", "password", "--unmask", "--format", "json",
        ],
    )
    .stdout();
    assert!(history.contains("Typed-in-pass-1"), "{history}");
}

/// Issue 12's stress test: 8 processes × 25 rounds rotating one MariaDB
/// account, started at random moments, some killed with SIGKILL at random
/// moments. Every process that finishes either rotated (or completed a
/// pending rotation) or was refused as busy, nothing else; after every
/// round, `rotate --resume` resolves what the killed ones left and the
/// vault's password logs in.
#[test]
fn eight_racing_processes_some_killed_never_lose_the_password() {
    const PROCESSES: usize = 8;
    const ROUNDS: usize = 25;
    let mut rng = Rng::seeded("KEEPER_STRESS_SEED");
    let account = Account::new("kl_", "Stress-old-pass-1");
    let k = vault();
    let uid = mysql_record(&k, "stress", &account, "Stress-old-pass-1");
    let started = Instant::now();
    let (mut rotated, mut busy, mut killed, mut resolved) = (0, 0, 0, 0);
    for round in 0..ROUNDS {
        let mut children: Vec<(Child, Option<Duration>)> = Vec::new();
        let round_start = Instant::now();
        for _ in 0..PROCESSES {
            std::thread::sleep(Duration::from_millis(rng.below(15)));
            // A third are killed, within the first 150 ms of their lives
            // (a rotation takes some 50-100 ms here).
            let kill_at = (rng.below(3) == 0)
                .then(|| round_start.elapsed() + Duration::from_millis(rng.below(150)));
            let child = keeper(&k, &["rotate", &uid, "--format", "json"])
                .spawn()
                .expect("spawn");
            children.push((child, kill_at));
        }
        // Kill the chosen ones at their moments (if still running).
        let mut victims: Vec<(usize, Duration)> = children
            .iter()
            .enumerate()
            .filter_map(|(i, (_, at))| at.map(|at| (i, at)))
            .collect();
        victims.sort_by_key(|&(_, at)| at);
        for (i, at) in victims {
            if let Some(wait) = at.checked_sub(round_start.elapsed()) {
                std::thread::sleep(wait);
            }
            let _ = children[i].0.kill();
        }
        for (child, kill_at) in children {
            let out = child.wait_with_output().expect("wait");
            if out.status.code().is_none() {
                killed += 1;
                continue;
            }
            let reports: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("round {round}: not JSON ({e}): {}", text(&out)));
            let outcome = reports[0]["outcome"].as_str().unwrap_or_default();
            match outcome {
                "rotated" | "completed" if out.status.success() => rotated += 1,
                "busy" if !out.status.success() => busy += 1,
                _ => panic!(
                    "round {round}: unexpected outcome (killed later: {}): {}",
                    kill_at.is_some(),
                    text(&out)
                ),
            }
        }
        let resumed = keeper(&k, &["rotate", "--resume", "--format", "json"])
            .output()
            .expect("run");
        let resolved_text = text(&resumed);
        if resolved_text.contains("completed") || resolved_text.contains("rolled-back") {
            resolved += 1;
        }
        let resolved = resolved_text;
        assert!(
            resumed.status.success(),
            "round {round}: resume failed: {resolved}"
        );
        assert!(
            !resolved.contains("needs-attention"),
            "round {round}: {resolved}"
        );
        let password = vault_password(&k, &uid);
        assert!(
            can_login(&account.name, &password),
            "round {round}: LOST: the vault's password does not log in ({resolved})"
        );
    }
    eprintln!(
        "{ROUNDS} rounds × {PROCESSES}: {rotated} rotated, {busy} busy, {killed} killed; \
         {resolved} rounds left a rotation for --resume; {:.1?}",
        started.elapsed()
    );
    assert!(rotated >= ROUNDS / 2, "the rotations mostly got through");
}

/// A new password under the minimum (12 unless configured) is refused
/// before anything is touched, naming the limit and how to change it; the
/// configuration file and `--min-length` move it.
#[test]
fn a_password_under_the_minimum_length_is_refused_untouched() {
    let old = "Short-old-pass-1";
    let account = Account::new("kl_", old);
    let k = vault();
    let uid = mysql_record(&k, "short", &account, old);
    for args in [
        vec!["rotate", uid.as_str(), "--length", "4"],
        vec!["rotate", uid.as_str(), "--rules", "8,1,1,1,1"],
        vec!["rotate", uid.as_str(), "--password", "Sh0rt-pw!"],
        vec!["rotate", uid.as_str(), "--min-length", "30"],
    ] {
        let run = kp(&k, &args);
        let out = run.stdout() + &run.stderr();
        assert!(!run.0.status.success(), "{args:?}: {out}");
        assert!(
            out.contains("shorter than the minimum of")
                && out.contains("--min-length")
                && out.contains("rotation_min_length"),
            "{args:?}: {out}"
        );
        assert_eq!(vault_password(&k, &uid), old, "{args:?}: vault untouched");
        assert!(can_login(&account.name, old), "{args:?}: target untouched");
        assert!(!pending(&k, &uid), "{args:?}: nothing pending");
    }
    let plan = kp(
        &k,
        &[
            "rotate",
            &uid,
            "--length",
            "4",
            "--dry-run",
            "--format",
            "json",
        ],
    )
    .json();
    assert!(
        plan[0]["status"]
            .as_str()
            .is_some_and(|s| s.contains("minimum of 12")),
        "{plan}"
    );

    std::fs::write(
        k.data_dir().join("config.json"),
        r#"{"rotation_min_length": 4}"#,
    )
    .expect("config");
    kp(&k, &["rotate", &uid, "--length", "4"]).ok();
    let four = vault_password(&k, &uid);
    assert_eq!(four.chars().count(), 4);
    assert!(can_login(&account.name, &four));
    let run = kp(&k, &["rotate", &uid, "--length", "4", "--min-length", "5"]);
    assert!(!run.0.status.success(), "the flag overrides the file");
}

/// A plugin whose `rotate` fails while its `verify` passes is never
/// reported rotated: the vault keeps the old password when it still logs
/// in; when only the new one does, it is stored but reported as a failure.
#[tokio::test]
async fn a_failed_rotate_is_never_reported_rotated() {
    use keeper::testing::rotation::{Engine, Options, Outcome};
    use keeper::testing::vault::Vault;
    use keeper::testing::vault::crypto::KdfParams;
    use keeper::testing::vault::model::RecordData;
    use serde_json::json;

    let dir = tempfile::tempdir().expect("dir");
    let plugin_dir = dir.path().join("plugins");
    crate::plugins::hostile_rotator().package_into(&plugin_dir.join("hostile-rotator"));
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "a@example.com",
        &secrecy::SecretString::from("master password"),
        &KdfParams::insecure_fast(),
    )
    .expect("vault");
    let record = |vault: &mut Vault, title: &str, accepts: Option<&str>| {
        let mut data = RecordData::new("login", title);
        data.set_field(false, "password", None, vec![json!("Old-pass-1")], 0);
        data.set_field(
            true,
            "text",
            Some("cmdr:plugin"),
            vec![json!("hostile-rotator")],
            0,
        );
        data.set_field(
            true,
            "text",
            Some("cmdr:attack"),
            vec![json!("fail-rotate")],
            0,
        );
        if let Some(n) = accepts {
            data.set_field(true, "text", Some("cmdr:accepts_length"), vec![json!(n)], 0);
        }
        vault.add_record(data, None).expect("record")
    };
    // Its verify passes for any password: the old one still "works".
    let lying = record(&mut vault, "lying verify", None);
    // Its verify passes only for the new (20-character) password.
    let changed = record(&mut vault, "changed anyway", Some("20"));
    let engine = Engine::new(
        vault,
        plugin_dir,
        dir.path().join("cache"),
        dir.path().join("known_hosts"),
    )
    .expect("engine");
    let password = |uid: &str| {
        engine
            .with_vault(|v| v.record(uid))
            .expect("record")
            .data
            .password()
            .unwrap_or_default()
            .to_string()
    };

    let report = engine.rotate(&lying, None, &Options::default()).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(report.outcome.is_failure());
    assert_eq!(
        password(&lying),
        "Old-pass-1",
        "the vault keeps the old one"
    );

    let report = engine.rotate(&changed, None, &Options::default()).await;
    assert_eq!(report.outcome, Outcome::Recovered, "{report:?}");
    assert!(report.outcome.is_failure(), "a failure for the exit code");
    assert!(
        report
            .message
            .as_deref()
            .is_some_and(|m| m.contains("fail-rotate") && m.contains("check the target")),
        "{report:?}"
    );
    assert_eq!(
        password(&changed).len(),
        20,
        "the working new one is stored"
    );
    for uid in [&lying, &changed] {
        assert!(
            engine
                .with_vault(|v| v.pending_rotation(uid))
                .expect("read")
                .is_none(),
            "nothing left pending"
        );
    }
}

/// A rotation started with `--plugin` (the record names none) and killed
/// after its pending state was stored resumes with that plugin: the
/// pending state names it, so `rotate --resume` needs no `--plugin`
/// (found by the load test, `store_load`).
#[test]
fn a_killed_rotate_with_plugin_resumes_without_naming_it_again() {
    let k = vault();
    let uid = add(
        &k,
        &["-t", "plain", "login=me", "password=Plain-old-pass-1"],
    );
    let out = crash_at(&k, &["rotate", &uid, "--plugin", "noop"], "after-pending");
    assert!(!out.status.success(), "the fault fired");
    let json = kp(&k, &["rotate", "--resume", "--format", "json"]).json();
    assert_eq!(json[0]["outcome"], "completed", "{json}");
    assert_eq!(json[0]["plugin"], "noop", "{json}");
    assert_ne!(vault_password(&k, &uid), "Plain-old-pass-1");
}
