//! keeper's SSH client (`keeper::ssh`) against a real OpenSSH server.
//!
//! Every test starts its own sshd on its own loopback port and creates its
//! own throw-away account (see [`crate::sshd`]), so they run in parallel.
//! Timeouts below only bound how long a broken test can hang; nothing
//! asserts on durations except the one test whose command must time out.

use std::path::Path;
use std::time::Duration;

use keeper::testing::ssh::{
    Credential, HostKeyPolicy, OUTPUT_CAP, PinnedHostKey, Pty, Session, SshClient, SshError,
};

use crate::sshd::{SshBox, Sshd, free_port, keygen, public_key, trusting};

/// Generous bound for one operation on loopback.
const T: Duration = Duration::from_secs(30);

fn password(pw: &str) -> Credential {
    Credential::Password(pw.to_string().into())
}

async fn login(
    sshd: &Sshd,
    user: &str,
    credential: &Credential,
    policy: &HostKeyPolicy,
) -> Result<Session, SshError> {
    SshClient::connect(sshd.addr, "127.0.0.1", user, credential, policy, T).await
}

#[track_caller]
fn expect_ok<V>(result: Result<V, SshError>, sshd: &Sshd) -> V {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{e:?}\nsshd log:\n{}", sshd.log()),
    }
}

#[tokio::test]
async fn password_login_and_exec() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let session = expect_ok(
        login(
            &sshd,
            &account.name,
            &password(&account.password),
            &trusting(&sshd),
        )
        .await,
        &sshd,
    );

    let out = expect_ok(session.exec("echo hi", &[], T).await, &sshd);
    assert_eq!(out.stdout, b"hi\n");
    assert_eq!(out.stderr, b"");
    assert_eq!(out.exit_status, Some(0));

    let out = expect_ok(
        session.exec("echo out; echo err >&2; exit 3", &[], T).await,
        &sshd,
    );
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.exit_status, Some(3));

    let out = expect_ok(session.exec("whoami", &[], T).await, &sshd);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), account.name);

    // stdin is piped through and closed, so `cat` ends.
    let out = expect_ok(session.exec("cat", b"line 1\nline 2\n", T).await, &sshd);
    assert_eq!(out.stdout, b"line 1\nline 2\n");
    assert_eq!(out.exit_status, Some(0));

    // Bigger than the channel windows in both directions at once.
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let out = expect_ok(session.exec("cat", &big, T).await, &sshd);
    assert_eq!(out.stdout.len(), OUTPUT_CAP, "stdout is capped");
    assert_eq!(out.stdout[..], big[..OUTPUT_CAP]);
    assert_eq!(out.exit_status, Some(0));

    // A command that ignores its (large) stdin still finishes.
    let out = expect_ok(session.exec("exit 7", &big, T).await, &sshd);
    assert_eq!(out.exit_status, Some(7));

    session.close(T).await;
}

#[tokio::test]
async fn wrong_password_is_auth_failed_without_the_password() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let wrong = "Wrong-Pass-Phrase-123";
    let err = login(&sshd, &account.name, &password(wrong), &trusting(&sshd))
        .await
        .expect_err("wrong password must fail");
    let SshError::AuthFailed(msg) = &err else {
        panic!("expected AuthFailed, got {err:?}")
    };
    assert!(!msg.contains(wrong), "{msg}");
    assert!(!format!("{err:?}").contains(wrong));
    let err = login(
        &sshd,
        "kp_nobody_here",
        &password(&account.password),
        &trusting(&sshd),
    )
    .await
    .expect_err("unknown user must fail");
    assert!(matches!(err, SshError::AuthFailed(_)), "{err:?}");
}

/// Generates a key of `kind` (extra ssh-keygen args), authorizes it, logs in.
async fn key_login(kind: &str, passphrase: &str, extra: &[&str]) {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let key = sshd.dir().join(format!("id_{kind}"));
    keygen(&key, kind, passphrase, extra);
    account.authorize(&public_key(&key));
    let pem = std::fs::read_to_string(&key).expect("read private key");
    let credential = Credential::PrivateKey {
        pem: pem.clone().into(),
        passphrase: (!passphrase.is_empty()).then(|| passphrase.to_string().into()),
    };
    let session = expect_ok(
        login(&sshd, &account.name, &credential, &trusting(&sshd)).await,
        &sshd,
    );
    let out = expect_ok(session.exec("echo key-ok", &[], T).await, &sshd);
    assert_eq!(out.stdout, b"key-ok\n");

    if !passphrase.is_empty() {
        let bad = Credential::PrivateKey {
            pem: pem.into(),
            passphrase: Some("not-the-passphrase".to_string().into()),
        };
        let err = login(&sshd, &account.name, &bad, &trusting(&sshd))
            .await
            .expect_err("wrong passphrase");
        assert!(
            matches!(&err, SshError::AuthFailed(m) if !m.contains("not-the-passphrase")),
            "{err:?}"
        );
    }
    // A key the server does not know is refused.
    let other = sshd.dir().join("id_other");
    keygen(&other, "ed25519", "", &[]);
    let stranger = Credential::PrivateKey {
        pem: std::fs::read_to_string(&other).expect("read").into(),
        passphrase: None,
    };
    let err = login(&sshd, &account.name, &stranger, &trusting(&sshd))
        .await
        .expect_err("unknown key");
    assert!(matches!(err, SshError::AuthFailed(_)), "{err:?}");
}

#[tokio::test]
async fn ed25519_key_login() {
    key_login("ed25519", "", &[]).await;
}

#[tokio::test]
async fn ed25519_key_with_passphrase_login() {
    key_login("ed25519", "key pass phrase", &[]).await;
}

#[tokio::test]
async fn rsa_pem_key_login() {
    key_login("rsa", "", &["-b", "2048", "-m", "PEM"]).await;
}

#[tokio::test]
async fn unknown_host_refused_then_accept_new_records_it() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let known_hosts = sshd.dir().join("data").join("known_hosts");
    let strict = HostKeyPolicy {
        known_hosts: Some(known_hosts.clone()),
        ..HostKeyPolicy::default()
    };
    let fp = ssh_fingerprint(&sshd);

    let err = login(&sshd, &account.name, &password(&account.password), &strict)
        .await
        .expect_err("unknown host must be refused");
    let SshError::HostKey(msg) = &err else {
        panic!("expected HostKey, got {err:?}")
    };
    assert!(msg.contains(&fp), "fingerprint {fp} missing: {msg}");
    assert!(
        msg.contains("--accept-host-key") && msg.contains("cmdr:host_key"),
        "{msg}"
    );
    assert!(!known_hosts.exists(), "nothing recorded without accept-new");

    // No known_hosts at all: refused too.
    let err = login(
        &sshd,
        &account.name,
        &password(&account.password),
        &HostKeyPolicy::default(),
    )
    .await
    .expect_err("no known_hosts");
    assert!(matches!(err, SshError::HostKey(_)), "{err:?}");

    let accept_new = HostKeyPolicy {
        accept_new: true,
        ..strict.clone()
    };
    let session = expect_ok(
        login(
            &sshd,
            &account.name,
            &password(&account.password),
            &accept_new,
        )
        .await,
        &sshd,
    );
    session.close(T).await;
    let text = std::fs::read_to_string(&known_hosts).expect("known_hosts written");
    assert_eq!(
        text,
        format!("[127.0.0.1]:{} {}\n", sshd.addr.port(), sshd.host_key)
    );

    // Now known: strict policy connects, and accept-new adds nothing more.
    let session = expect_ok(
        login(&sshd, &account.name, &password(&account.password), &strict).await,
        &sshd,
    );
    let out = expect_ok(session.exec("true", &[], T).await, &sshd);
    assert_eq!(out.exit_status, Some(0));
    let _ = expect_ok(
        login(
            &sshd,
            &account.name,
            &password(&account.password),
            &accept_new,
        )
        .await,
        &sshd,
    );
    assert_eq!(std::fs::read_to_string(&known_hosts).expect("read"), text);
}

#[tokio::test]
async fn changed_host_key_is_refused_loudly_even_with_accept_new() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    // known_hosts remembers a different key for this host and port.
    let old = sshd.dir().join("old_host_key");
    keygen(&old, "ed25519", "", &[]);
    let old_key = public_key(&old);
    let known_hosts = sshd.dir().join("known_hosts");
    let line = format!("[127.0.0.1]:{} {old_key}\n", sshd.addr.port());
    std::fs::write(&known_hosts, &line).expect("write");
    let policy = HostKeyPolicy {
        known_hosts: Some(known_hosts.clone()),
        accept_new: true,
        pinned: None,
    };
    let err = login(&sshd, &account.name, &password(&account.password), &policy)
        .await
        .expect_err("a changed key must be refused");
    let SshError::HostKey(msg) = &err else {
        panic!("expected HostKey, got {err:?}")
    };
    assert!(msg.contains("HAS CHANGED"), "{msg}");
    assert!(
        msg.contains(&ssh_fingerprint(&sshd)),
        "new fingerprint missing: {msg}"
    );
    assert!(
        msg.contains(&fingerprint_of(&old)),
        "old fingerprint missing: {msg}"
    );
    assert_eq!(
        std::fs::read_to_string(&known_hosts).expect("read"),
        line,
        "file untouched"
    );
}

#[tokio::test]
async fn pinned_host_key_is_enough_and_must_match() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    for pin in [sshd.host_key.clone(), ssh_fingerprint(&sshd)] {
        let policy = HostKeyPolicy {
            known_hosts: None,
            accept_new: false,
            pinned: Some(PinnedHostKey::parse(&pin).expect("pin")),
        };
        let session = expect_ok(
            login(&sshd, &account.name, &password(&account.password), &policy).await,
            &sshd,
        );
        session.close(T).await;
    }
    let other = sshd.dir().join("other_host_key");
    keygen(&other, "ed25519", "", &[]);
    let policy = HostKeyPolicy {
        known_hosts: None,
        accept_new: true,
        pinned: Some(PinnedHostKey::parse(&public_key(&other)).expect("pin")),
    };
    let err = login(&sshd, &account.name, &password(&account.password), &policy)
        .await
        .expect_err("pin mismatch");
    assert!(
        matches!(&err, SshError::HostKey(m) if m.contains("MISMATCH")),
        "{err:?}"
    );
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let addr = ([127, 0, 0, 1], free_port()).into();
    let err = SshClient::connect(
        addr,
        "127.0.0.1",
        "nobody",
        &password("x"),
        &HostKeyPolicy::default(),
        T,
    )
    .await
    .expect_err("nothing listens there");
    assert!(matches!(err, SshError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn command_over_its_time_is_a_timeout() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let session = expect_ok(
        login(
            &sshd,
            &account.name,
            &password(&account.password),
            &trusting(&sshd),
        )
        .await,
        &sshd,
    );
    let err = session
        .exec("sleep 60", &[], Duration::from_millis(300))
        .await
        .expect_err("must time out");
    assert_eq!(err, SshError::Timeout);
    // The session is still usable.
    let out = expect_ok(session.exec("echo still", &[], T).await, &sshd);
    assert_eq!(out.stdout, b"still\n");

    let mut pty = expect_ok(session.open_pty("sleep 60", T).await, &sshd);
    assert_eq!(
        pty.wait(Duration::from_millis(300)).await,
        Err(SshError::Timeout)
    );
    assert_eq!(
        expect_ok(pty.read(Duration::from_millis(100)).await, &sshd),
        b""
    );
    pty.close(T).await;
}

/// Reads until the lowercased output contains `needle`; returns what was read.
async fn expect(pty: &mut Pty, needle: &str, sshd: &Sshd) -> String {
    let mut seen = String::new();
    for _ in 0..60 {
        let chunk = expect_ok(pty.read(Duration::from_millis(500)).await, sshd);
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.to_lowercase().contains(needle) {
            return seen;
        }
    }
    panic!(
        "never saw {needle:?}; got {seen:?}\nsshd log:\n{}",
        sshd.log()
    );
}

#[tokio::test]
async fn passwd_on_a_pty_changes_the_password() {
    let Some(SshBox { sshd, account }) = SshBox::start() else {
        return;
    };
    let policy = trusting(&sshd);
    let session = expect_ok(
        login(&sshd, &account.name, &password(&account.password), &policy).await,
        &sshd,
    );
    let new_password = format!("Nw7!{}-qZ", account.password.len() * 7919);
    let mut pty = expect_ok(session.open_pty("passwd", T).await, &sshd);
    // Debian: "Current password:", "New password:", "Retype new password:".
    expect(&mut pty, "current password", &sshd).await;
    expect_ok(
        pty.write(format!("{}\n", account.password).as_bytes(), T)
            .await,
        &sshd,
    );
    expect(&mut pty, "new password", &sshd).await;
    expect_ok(
        pty.write(format!("{new_password}\n").as_bytes(), T).await,
        &sshd,
    );
    expect(&mut pty, "new password", &sshd).await;
    expect_ok(
        pty.write(format!("{new_password}\n").as_bytes(), T).await,
        &sshd,
    );
    let status = expect_ok(pty.wait(T).await, &sshd);
    let rest =
        String::from_utf8_lossy(&expect_ok(pty.read(Duration::ZERO).await, &sshd)).into_owned();
    assert_eq!(status, Some(0), "passwd failed: {rest}");
    pty.close(T).await;
    session.close(T).await;

    // The new password works, the old one no longer does.
    let session = expect_ok(
        login(&sshd, &account.name, &password(&new_password), &policy).await,
        &sshd,
    );
    let out = expect_ok(session.exec("echo rotated", &[], T).await, &sshd);
    assert_eq!(out.stdout, b"rotated\n");
    let err = login(&sshd, &account.name, &password(&account.password), &policy)
        .await
        .expect_err("old password must fail");
    assert!(matches!(err, SshError::AuthFailed(_)), "{err:?}");
}

/// The server's SHA-256 host-key fingerprint as `ssh-keygen -l` prints it.
fn ssh_fingerprint(sshd: &Sshd) -> String {
    fingerprint_of(&sshd.dir().join("host_ed25519"))
}

fn fingerprint_of(key: &Path) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(format!("{}.pub", key.display()))
        .output()
        .expect("ssh-keygen -l");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string()
}
