//! `keeper rotate` end to end with the `ssh` and `pspasswd` plugins (the
//! real wasm32-wasip2 components embedded in the binary).
//!
//! - **ssh**: against a private OpenSSH server on a loopback port with
//!   throw-away local accounts ([`crate::sshd`]); logins are checked with
//!   keeper's own SSH client (`keeper::ssh`), pinned to the server's host
//!   key. Skipped loudly when `/usr/sbin/sshd` is absent.
//! - **pspasswd**: the real Sysinternals tool only runs on Windows, so these
//!   tests point the plugin (`cmdr:pspasswd_path`) at the stand-in script
//!   `tests/fixtures/pspasswd`, copied into each test's temp dir, which
//!   records its exact argv beside itself and "sets" passwords in files.

use std::path::{Path, PathBuf};
use std::process::Command;

use keeper::testing::ssh::Credential;

use crate::crash::crash_at_every_stage;
use crate::sshd::{Account, SshBox, Sshd, can_login, free_port, keygen, logs_in, public_key};
use crate::support::Keeper;
use crate::vault::{add, crash_at, kp, vault, vault_password};

/// A serverCredentials record rotated by the ssh plugin.
fn ssh_record(
    k: &Keeper,
    sshd: &Sshd,
    account: &Account,
    password: &str,
    extra: &[&str],
) -> String {
    let host = format!("host=127.0.0.1:{}", sshd.addr.port());
    let login = format!("login={}", account.name);
    let password = format!("password={password}");
    let mut args = vec![
        "-t",
        "ssh box",
        "--rt",
        "serverCredentials",
        &host,
        &login,
        &password,
        "c.text.cmdr:plugin=ssh",
    ];
    args.extend_from_slice(extra);
    add(k, &args)
}

fn no_pending(k: &Keeper) -> bool {
    kp(k, &["rotate", "--resume"]).ok().contains("No pending")
}

/// stdout and stderr of a failed run.
fn failure(run: &crate::support::Run) -> String {
    assert!(
        !run.0.status.success(),
        "expected a failure: {}",
        run.stdout()
    );
    run.stdout() + &run.stderr()
}

#[test]
fn ssh_rotation_needs_a_trusted_host_key_then_only_the_new_password_logs_in() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let k = vault();
    let uid = ssh_record(&k, &sshd, &account, &account.password, &[]);

    // Unknown host: refused before anything is sent; nothing changes.
    let run = kp(&k, &["rotate", &uid]);
    let err = failure(&run);
    assert!(
        err.contains("host key") && err.contains("--accept-host-key"),
        "{err}"
    );
    assert_eq!(vault_password(&k, &uid), account.password);
    assert!(can_login(&sshd, &account.name, &account.password));
    assert!(no_pending(&k));

    // Accepted: rotated; the vault's new password logs in, the old does not.
    let run = kp(&k, &["rotate", &uid, "--accept-host-key"]);
    let out = run.ok();
    assert!(out.contains("rotated"), "{out}\nsshd log:\n{}", sshd.log());
    let new = vault_password(&k, &uid);
    assert_ne!(new, account.password);
    assert!(
        can_login(&sshd, &account.name, &new),
        "the vault's password logs in"
    );
    assert!(
        !can_login(&sshd, &account.name, &account.password),
        "the old password no longer logs in"
    );
    assert!(!out.contains(&new) && !run.stderr().contains(&new));
    let known = std::fs::read_to_string(k.data_dir().join("known_hosts")).expect("known_hosts");
    assert!(known.contains(&sshd.host_key), "{known}");
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]).json();
    assert!(
        audit
            .as_array()
            .expect("audit rows")
            .iter()
            .any(|row| row["outcome"] == "rotated" && row["plugin"] == "ssh"),
        "{audit}"
    );

    // Known now: no flag needed. A password full of glob and subshell
    // characters (allowed: none is in the plugin's disallowed set) is typed
    // literally into passwd.
    let hostile = "N3w!(x)#{y}*?~[a]=+";
    kp(&k, &["rotate", &uid, "--password", hostile]).ok();
    assert_eq!(vault_password(&k, &uid), hostile);
    assert!(can_login(&sshd, &account.name, hostile));
    assert!(!can_login(&sshd, &account.name, &new));
}

#[test]
fn ssh_wrong_current_password_fails_clearly_and_changes_nothing() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let k = vault();
    let uid = ssh_record(&k, &sshd, &account, "Stale-pass-1", &[]);
    let run = kp(&k, &["rotate", &uid, "--accept-host-key"]);
    let err = failure(&run);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("Stale-pass-1"), "no secret in the message");
    assert_eq!(vault_password(&k, &uid), "Stale-pass-1", "vault unchanged");
    assert!(
        can_login(&sshd, &account.name, &account.password),
        "target unchanged"
    );
    assert!(no_pending(&k));
}

#[test]
fn ssh_a_password_passwd_refuses_fails_with_its_message_and_changes_nothing() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let k = vault();
    let uid = ssh_record(&k, &sshd, &account, &account.password, &[]);
    // Allowed by keeper, refused by PAM: the account's password may not
    // change again for a week (`chage -m 7`; it was just set).
    let aged = Command::new("chage")
        .args(["-m", "7", &account.name])
        .status()
        .expect("run chage");
    assert!(aged.success(), "chage -m 7");
    let refused = "Refused-by-pam-1";
    let err = failure(&kp(
        &k,
        &["rotate", &uid, "--accept-host-key", "--password", refused],
    ));
    assert!(err.contains("passwd refused the change"), "{err}");
    assert!(!err.contains(&account.password), "{err}");
    assert_eq!(
        vault_password(&k, &uid),
        account.password,
        "vault unchanged"
    );
    assert!(can_login(&sshd, &account.name, &account.password));
    assert!(!can_login(&sshd, &account.name, refused));
    assert!(no_pending(&k));
}

#[test]
fn ssh_changed_host_key_is_refused_loudly() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let k = vault();
    let uid = ssh_record(&k, &sshd, &account, &account.password, &[]);
    // keeper remembers another key for this host and port: to the client
    // that is exactly a server whose host key changed.
    let other = sshd.dir().join("other_host_key");
    keygen(&other, "ed25519", "", &[]);
    std::fs::write(
        k.data_dir().join("known_hosts"),
        format!("[127.0.0.1]:{} {}\n", sshd.addr.port(), public_key(&other)),
    )
    .expect("write known_hosts");
    for flags in [&[][..], &["--accept-host-key"][..]] {
        let mut args = vec!["rotate", uid.as_str()];
        args.extend_from_slice(flags);
        let err = failure(&kp(&k, &args));
        assert!(err.contains("HAS CHANGED"), "{flags:?}: {err}");
        assert_eq!(vault_password(&k, &uid), account.password);
        assert!(can_login(&sshd, &account.name, &account.password));
        assert!(no_pending(&k));
    }
}

#[test]
fn ssh_pinned_host_key_must_match() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let k = vault();
    let other = sshd.dir().join("other_host_key");
    keygen(&other, "ed25519", "", &[]);
    let wrong_pin = format!("c.text.cmdr:host_key={}", public_key(&other));
    let uid = ssh_record(&k, &sshd, &account, &account.password, &[&wrong_pin]);
    let err = failure(&kp(&k, &["rotate", &uid, "--accept-host-key"]));
    assert!(err.contains("MISMATCH"), "{err}");
    assert_eq!(vault_password(&k, &uid), account.password);
    assert!(can_login(&sshd, &account.name, &account.password));
}

#[test]
fn ssh_unreachable_target_fails_and_changes_nothing() {
    let k = vault();
    let port = free_port();
    let uid = add(
        &k,
        &[
            "-t",
            "down",
            "--rt",
            "serverCredentials",
            &format!("host=127.0.0.1:{port}"),
            "login=nobody",
            "password=Pw-4",
            "c.text.cmdr:plugin=ssh",
        ],
    );
    let err = failure(&kp(&k, &["rotate", &uid, "--accept-host-key"]));
    assert!(err.contains("unreachable"), "{err}");
    assert_eq!(vault_password(&k, &uid), "Pw-4");
    assert!(no_pending(&k));
}

#[test]
fn ssh_bad_login_is_refused_by_the_plugin() {
    let Some(sshd) = Sshd::start() else { return };
    let k = vault();
    let uid = add(
        &k,
        &[
            "-t",
            "bad login",
            "--rt",
            "serverCredentials",
            &format!("host=127.0.0.1:{}", sshd.addr.port()),
            "login=root:x",
            "password=Pw-5",
            "c.text.cmdr:plugin=ssh",
        ],
    );
    let err = failure(&kp(&k, &["rotate", &uid, "--accept-host-key"]));
    assert!(err.contains("not a Unix user name"), "{err}");
    assert_eq!(vault_password(&k, &uid), "Pw-5");
}

/// Crash safety: abort the process at every stage; resuming must always
/// leave a vault password that logs in. The host key is pinned in the
/// record, so resumption needs no `--accept-host-key`.
#[test]
fn ssh_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    let Some(sshd) = Sshd::start() else { return };
    crash_at_every_stage(
        |_| {
            let account = Account::create();
            let k = vault();
            let pin = format!("c.text.cmdr:host_key={}", sshd.host_key);
            let password = account.password.clone();
            let uid = ssh_record(&k, &sshd, &account, &password, &[&pin]);
            (k, uid, account)
        },
        |account, password| can_login(&sshd, &account.name, password),
    );
}

/// A sudoers rule letting an account run chpasswd as root, removed on drop.
struct SudoRule(PathBuf);

impl SudoRule {
    /// Allows `account` to run chpasswd (`nopasswd`: without its password),
    /// or `None` (after a loud message) when sudo is not installed.
    fn new(account: &Account, nopasswd: bool) -> Option<Self> {
        if !Path::new("/usr/bin/sudo").exists() {
            eprintln!(
                "\n*** SKIPPING CHPASSWD TEST: sudo is not installed (apt-get install sudo) ***\n"
            );
            return None;
        }
        let tag = if nopasswd { "NOPASSWD: " } else { "" };
        let path = PathBuf::from(format!("/etc/sudoers.d/{}", account.name));
        std::fs::write(
            &path,
            format!("{} ALL=(root) {tag}/usr/sbin/chpasswd\n", account.name),
        )
        .expect("write sudoers rule");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o440))
            .expect("chmod sudoers rule");
        Some(Self(path))
    }
}

impl Drop for SudoRule {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn ssh_chpasswd_method_sets_the_password_through_sudo_stdin() {
    let Some(sshd) = Sshd::start() else { return };
    for nopasswd in [false, true] {
        let account = Account::create();
        let Some(_rule) = SudoRule::new(&account, nopasswd) else {
            return;
        };
        let k = vault();
        let uid = ssh_record(
            &k,
            &sshd,
            &account,
            &account.password,
            &["c.text.cmdr:method=chpasswd"],
        );
        let run = kp(&k, &["rotate", &uid, "--accept-host-key"]);
        let out = run.ok();
        assert!(out.contains("rotated"), "nopasswd={nopasswd}: {out}");
        let new = vault_password(&k, &uid);
        assert!(can_login(&sshd, &account.name, &new), "nopasswd={nopasswd}");
        assert!(!can_login(&sshd, &account.name, &account.password));
        // Glob and subshell characters go through stdin verbatim.
        let hostile = "C!(h)#{p}*?~[w]=+";
        kp(&k, &["rotate", &uid, "--password", hostile]).ok();
        assert!(
            can_login(&sshd, &account.name, hostile),
            "nopasswd={nopasswd}"
        );
    }
    // Without any sudo rule: refused, and nothing changes.
    let account = Account::create();
    let k = vault();
    let uid = ssh_record(
        &k,
        &sshd,
        &account,
        &account.password,
        &["c.text.cmdr:method=chpasswd"],
    );
    let err = failure(&kp(&k, &["rotate", &uid, "--accept-host-key"]));
    assert!(err.contains("sudo chpasswd exited"), "{err}");
    assert!(!err.contains(&account.password), "{err}");
    assert_eq!(vault_password(&k, &uid), account.password);
    assert!(can_login(&sshd, &account.name, &account.password));
    assert!(no_pending(&k));
}

/// Logs in with an unencrypted private key; false when the server refuses it.
fn key_logs_in(sshd: &Sshd, user: &str, private_key: &str) -> bool {
    key_logs_in_with(sshd, user, private_key, None)
}

/// Logs in with a private key decrypted with `passphrase`; false when the
/// server refuses it.
fn key_logs_in_with(sshd: &Sshd, user: &str, private_key: &str, passphrase: Option<&str>) -> bool {
    let credential = Credential::PrivateKey {
        pem: private_key.to_string().into(),
        passphrase: passphrase.map(|p| p.to_string().into()),
    };
    logs_in(sshd, user, &credential)
}

/// The record's keyPair as (private, public).
fn vault_key_pair(k: &Keeper, uid: &str) -> (String, String) {
    let json = kp(k, &["get", uid, "--format", "json", "--unmask"]).json();
    let pair = json["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["type"] == "keyPair")
        .map(|f| f["value"][0].clone())
        .expect("a keyPair field");
    (
        pair["privateKey"].as_str().expect("privateKey").to_string(),
        pair["publicKey"].as_str().expect("publicKey").to_string(),
    )
}

/// An sshKeys record holding the key pair at `key` (ssh-keygen files).
fn sshkey_record(k: &Keeper, sshd: &Sshd, account: &Account, key: &Path, extra: &[&str]) -> String {
    let pair = serde_json::json!({
        "privateKey": std::fs::read_to_string(key).expect("read private key"),
        "publicKey": public_key(key),
    });
    let mut args = vec![
        "-t".to_string(),
        "ssh key".into(),
        "--rt".into(),
        "sshKeys".into(),
        format!("login={}", account.name),
        format!("host=127.0.0.1:{}", sshd.addr.port()),
        format!("keyPair=$JSON:{pair}"),
        "c.text.cmdr:plugin=sshkey".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    add(k, &refs)
}

#[test]
fn sshkey_rotation_swaps_the_authorized_key_and_stores_the_new_pair() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let old = sshd.dir().join("id_old");
    keygen(&old, "ed25519", "", &[]);
    let other = sshd.dir().join("id_other");
    keygen(&other, "ed25519", "", &[]);
    account.authorize(&format!("{} other-key", public_key(&other)));
    account.authorize(&public_key(&old));
    let old_private = std::fs::read_to_string(&old).expect("read");
    assert!(key_logs_in(&sshd, &account.name, &old_private));

    let k = vault();
    let uid = sshkey_record(&k, &sshd, &account, &old, &[]);
    let out = kp(&k, &["rotate", &uid, "--accept-host-key"]).ok();
    assert!(out.contains("rotated"), "{out}\nsshd log:\n{}", sshd.log());

    let (private, public) = vault_key_pair(&k, &uid);
    assert_ne!(private, old_private);
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    assert!(
        key_logs_in(&sshd, &account.name, &private),
        "the vault's new key logs in"
    );
    assert!(
        !key_logs_in(&sshd, &account.name, &old_private),
        "the old key is removed"
    );
    let authorized =
        std::fs::read_to_string(account.home.join(".ssh/authorized_keys")).expect("read");
    assert!(
        authorized.contains("other-key"),
        "other keys stay: {authorized}"
    );
    assert!(!authorized.contains(&public_key(&old)), "{authorized}");
    assert_eq!(authorized.matches("ssh-ed25519").count(), 2, "{authorized}");

    // And again, from the key keeper generated itself.
    kp(&k, &["rotate", &uid]).ok();
    let (third, _) = vault_key_pair(&k, &uid);
    assert_ne!(third, private);
    assert!(key_logs_in(&sshd, &account.name, &third));
    assert!(!key_logs_in(&sshd, &account.name, &private));
}

/// An encrypted key: the password field is its passphrase (Commander's
/// convention) and is rotated with it; the new key is encrypted with the
/// new password. A `passphrase` field instead is kept and reused.
#[test]
fn sshkey_encrypted_keys_stay_encrypted_with_the_records_passphrase() {
    let Some(sshd) = Sshd::start() else { return };
    let pin = format!("c.text.cmdr:host_key={}", sshd.host_key);

    // An account whose only key is `id_<name>`, encrypted with `phrase`,
    // and a vault with an sshKeys record for it.
    let setup = |name: &str, phrase: &str, field: &str| {
        let account = Account::create();
        let old = sshd.dir().join(format!("id_{name}"));
        keygen(&old, "ed25519", phrase, &[]);
        account.authorize(&public_key(&old));
        let k = vault();
        let uid = sshkey_record(&k, &sshd, &account, &old, &[&pin, field]);
        (account, old, k, uid)
    };

    // 1. Passphrase in the password field.
    let (account, old, k, uid) = setup("encrypted", "old pass phrase", "password=old pass phrase");
    let out = kp(&k, &["rotate", &uid, "--format", "json"]);
    assert!(
        out.0.status.success(),
        "{}{}\nsshd log:\n{}",
        out.stdout(),
        out.stderr(),
        sshd.log()
    );
    let (private, _) = vault_key_pair(&k, &uid);
    let new_password = vault_password(&k, &uid);
    assert_ne!(new_password, "old pass phrase");
    assert!(
        !key_logs_in_with(&sshd, &account.name, &private, Some("old pass phrase")),
        "the new key is not encrypted with the old passphrase"
    );
    assert!(
        key_logs_in_with(&sshd, &account.name, &private, Some(&new_password)),
        "the new key, decrypted with the new password, logs in"
    );
    let old_private = std::fs::read_to_string(&old).expect("read");
    assert!(!key_logs_in_with(
        &sshd,
        &account.name,
        &old_private,
        Some("old pass phrase")
    ));
    // OpenSSH agrees the stored key needs the passphrase.
    let file = sshd.dir().join("id_from_vault");
    std::fs::write(&file, &private).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let read = |pass: &str| {
        std::process::Command::new("ssh-keygen")
            .args(["-y", "-P", pass, "-f"])
            .arg(&file)
            .output()
            .expect("ssh-keygen")
            .status
            .success()
    };
    assert!(!read(""), "the stored key is encrypted");
    assert!(read(&new_password));

    // 2. A `passphrase` field: kept, and the key rotates again under it.
    let (account, _, k, uid) = setup("field", "field phrase", "text.passphrase=field phrase");
    kp(&k, &["rotate", &uid]).ok();
    let (first, _) = vault_key_pair(&k, &uid);
    assert!(key_logs_in_with(
        &sshd,
        &account.name,
        &first,
        Some("field phrase")
    ));
    assert!(!key_logs_in_with(&sshd, &account.name, &first, None));
    kp(&k, &["rotate", &uid]).ok();
    let (second, _) = vault_key_pair(&k, &uid);
    assert_ne!(first, second);
    assert!(key_logs_in_with(
        &sshd,
        &account.name,
        &second,
        Some("field phrase")
    ));
    assert!(!key_logs_in_with(
        &sshd,
        &account.name,
        &first,
        Some("field phrase")
    ));
    assert!(no_pending(&k));
}

/// Crash safety for keys: the new pair is durable in the pending state and
/// written into the record when resumption finishes; never a lock-out. The
/// keys are encrypted with the password field, so the passphrase rotates
/// with them and must stay in step through the crash.
#[test]
fn sshkey_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    let Some(sshd) = Sshd::start() else { return };
    for point in ["after-pending", "after-set", "after-verify", "after-finish"] {
        let account = Account::create();
        let old = sshd.dir().join(format!("id_{point}"));
        keygen(&old, "ed25519", "crash phrase", &[]);
        account.authorize(&public_key(&old));
        let k = vault();
        let pin = format!("c.text.cmdr:host_key={}", sshd.host_key);
        let uid = sshkey_record(&k, &sshd, &account, &old, &[&pin, "password=crash phrase"]);
        let crashed = crash_at(&k, &["rotate", &uid], point);
        assert!(!crashed.status.success(), "{point}");
        let resumed = kp(&k, &["rotate", "--resume", "--format", "json"]);
        assert!(
            resumed.0.status.success(),
            "{point}: resume failed: {}{}",
            resumed.stdout(),
            resumed.stderr()
        );
        let (private, _) = vault_key_pair(&k, &uid);
        let passphrase = vault_password(&k, &uid);
        assert!(
            key_logs_in_with(&sshd, &account.name, &private, Some(&passphrase)),
            "{point}: LOCK-OUT: the vault's key does not log in"
        );
        assert!(no_pending(&k), "{point}: still pending");
    }
}

/// A private copy of the pspasswd stand-in in `dir`.
fn stand_in(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pspasswd");
    let copy = dir.join("pspasswd");
    std::fs::copy(&source, &copy).expect("copy the pspasswd stand-in");
    copy
}

/// The argument lists the stand-in was called with, oldest first.
fn calls(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("argv.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('\0').map(String::from).collect())
        .collect()
}

/// A login record rotated by the pspasswd plugin through the stand-in.
fn pspasswd_record(k: &Keeper, tool: &Path, login: &str, password: &str) -> String {
    add(
        k,
        &[
            "-t",
            &format!("windows {login}"),
            "--rt",
            "login",
            &format!("login={login}"),
            &format!("password={password}"),
            "c.text.cmdr:plugin=pspasswd",
            &format!("c.text.cmdr:pspasswd_path={}", tool.display()),
        ],
    )
}

#[test]
fn pspasswd_rotation_passes_the_exact_arguments_without_a_shell() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tool = stand_in(dir.path());
    let k = vault();
    let uid = pspasswd_record(&k, &tool, "svc_app", "Old-pw-1");

    kp(&k, &["rotate", &uid]).ok();
    let new = vault_password(&k, &uid);
    assert_ne!(new, "Old-pw-1");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("svc_app.pw")).expect("password set"),
        new
    );
    let expected = vec!["-accepteula".to_string(), "svc_app".into(), new.clone()];
    let seen = calls(dir.path());
    // rotate, then verify (which re-applies the same password).
    assert_eq!(
        seen,
        vec![expected.clone(), expected],
        "argv recorded exactly"
    );

    // Shell syntax in an allowed password is passed through verbatim and
    // never interpreted (no file named `pwned` appears).
    let hostile = "N3w$(touch${IFS}pwned);`touch${IFS}pwned2`'x'!";
    kp(&k, &["rotate", &uid, "--password", hostile]).ok();
    assert_eq!(vault_password(&k, &uid), hostile);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("svc_app.pw")).expect("password set"),
        hostile
    );
    let last = calls(dir.path()).pop().expect("a call");
    assert_eq!(last, ["-accepteula", "svc_app", hostile]);
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
    for cwd_file in ["pwned", "pwned2"] {
        assert!(!k.data_dir().join(cwd_file).exists());
    }
}

#[test]
fn pspasswd_access_denied_fails_cleanly_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tool = stand_in(dir.path());
    let k = vault();
    let uid = pspasswd_record(&k, &tool, "denied", "Old-pw-2");
    let err = failure(&kp(&k, &["rotate", &uid]));
    assert!(
        err.contains("authentication failed") && err.contains("Access is denied"),
        "{err}"
    );
    assert_eq!(vault_password(&k, &uid), "Old-pw-2", "vault unchanged");
    assert!(no_pending(&k));
    // Only the rotation itself ran: a failed verify-by-reset is not retried
    // into a "success".
    assert!(
        calls(dir.path())
            .iter()
            .all(|c| c.len() == 3 && c[1] == "denied"),
        "{:?}",
        calls(dir.path())
    );

    let uid = pspasswd_record(&k, &tool, "nohost", "Old-pw-3");
    let err = failure(&kp(&k, &["rotate", &uid]));
    assert!(err.contains("unreachable"), "{err}");
    assert_eq!(vault_password(&k, &uid), "Old-pw-3");

    // A password the computer's policy refuses: the old one is put back
    // (revert) and stays in the vault.
    let uid = pspasswd_record(&k, &tool, "svc_policy", "Old-pw-4");
    let err = failure(&kp(&k, &["rotate", &uid, "--password", "weak-password-1"]));
    assert!(err.contains("password policy"), "{err}");
    assert_eq!(vault_password(&k, &uid), "Old-pw-4");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("svc_policy.pw")).expect("reverted"),
        "Old-pw-4"
    );
    assert!(no_pending(&k));
}

#[test]
fn pspasswd_refuses_unsafe_logins_before_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tool = stand_in(dir.path());
    let k = vault();
    let uid = pspasswd_record(&k, &tool, "svc&calc", "Old-pw-5");
    let err = failure(&kp(&k, &["rotate", &uid]));
    assert!(err.contains("cannot take safely"), "{err}");
    assert_eq!(vault_password(&k, &uid), "Old-pw-5");
    assert!(calls(dir.path()).is_empty(), "the tool never ran");
}
