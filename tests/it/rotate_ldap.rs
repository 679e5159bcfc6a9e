//! `keeper rotate` end to end with the ldap plugin (the real wasm32-wasip2
//! component embedded in keeper) against a real OpenLDAP `slapd` started
//! per test on a loopback port (`keeper_ldap_protocol::testkit`). The
//! directory is checked with OpenLDAP's own tools (`ldapwhoami`,
//! `ldapsearch`), never with the plugin's client. No mocks.

use keeper_ldap_protocol::testkit::Slapd;

use crate::crash::crash_at_every_stage;
use crate::support::Keeper;
use crate::vault::{add, kp, vault, vault_password};

/// Runs `keeper rotate uid`, asserts it fails, returns what it printed.
fn failure(k: &Keeper, uid: &str) -> String {
    let run = kp(k, &["rotate", uid]);
    run.fails();
    run.stdout() + &run.stderr()
}

fn slapd() -> Slapd {
    Slapd::start().expect("a private slapd (scripts/lib.sh installs slapd and ldap-utils)")
}

/// A login record rotated by the ldap plugin, its DN as the login.
fn ldap_record(k: &Keeper, title: &str, server: &Slapd, dn: &str, password: &str) -> String {
    ldap_record_with(k, title, server, dn, password, &[])
}

/// [`ldap_record`] with more fields.
fn ldap_record_with(
    k: &Keeper,
    title: &str,
    server: &Slapd,
    dn: &str,
    password: &str,
    extra: &[&str],
) -> String {
    let login = format!("login={dn}");
    let password = format!("password={password}");
    let port = format!("c.text.cmdr:port={}", server.addr.port());
    let mut args = vec![
        "-t",
        title,
        "--rt",
        "login",
        &login,
        &password,
        "c.text.cmdr:plugin=ldap",
        "c.text.cmdr:host=127.0.0.1",
        &port,
    ];
    args.extend_from_slice(extra);
    add(k, &args)
}

#[test]
fn ldap_rotates_a_password_and_only_the_new_one_binds() {
    let server = slapd();
    let old = "Old-ldap-pass-1";
    let dn = server.add_person("app", old).expect("add");
    let k = vault();
    let uid = ldap_record(&k, "ldap app", &server, &dn, old);

    let run = kp(&k, &["rotate", "ldap app"]);
    assert!(run.ok().contains("rotated"), "{}", run.stdout());
    let new = vault_password(&k, &uid);
    assert_ne!(new, old);
    assert!(server.can_bind(&dn, &new), "the vault's new password binds");
    assert!(
        !server.can_bind(&dn, old),
        "the old password no longer binds"
    );
    assert!(
        server.stored_password(&dn).starts_with("userPassword:: "),
        "the server stored it (hashed under its own policy)"
    );
    assert!(!run.stdout().contains(&new) && !run.stderr().contains(&new));
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]).json();
    assert_eq!(audit[0]["outcome"], "rotated");
    assert_eq!(audit[0]["plugin"], "ldap");
    assert_eq!(
        audit[0]["target"],
        format!("127.0.0.1:{}", server.addr.port())
    );
}

#[test]
fn ldap_a_wrong_current_password_fails_clearly_and_changes_nothing() {
    let server = slapd();
    let dn = server.add_person("stale", "Real-ldap-2").expect("add");
    let before = server.stored_password(&dn);
    let k = vault();
    let uid = ldap_record(&k, "stale", &server, &dn, "Stale-ldap-2");
    let run = kp(&k, &["rotate", &uid]);
    let err = run.stdout() + &run.stderr();
    assert!(!run.0.status.success());
    assert!(
        err.contains("authentication failed") && err.contains("invalidCredentials (49)"),
        "{err}"
    );
    assert_eq!(vault_password(&k, &uid), "Stale-ldap-2", "vault unchanged");
    assert_eq!(server.stored_password(&dn), before, "directory unchanged");
    assert!(server.can_bind(&dn, "Real-ldap-2"));
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn ldap_hostile_dns_and_passwords_pass_intact() {
    let server = slapd();
    let canary = server.add_person("canary", "Canary-pw-3").expect("canary");
    // A DN with escaped specials, set through cmdr:userdn (Commander's field).
    let old = "x'; \"--\\ ,=+<>#";
    let dn = server.add_person("O'Brien, \"Jr\"; --x", old).expect("add");
    let k = vault();
    let userdn = format!("c.text.cmdr:userdn={dn}");
    let uid = ldap_record_with(&k, "hostile", &server, "obrien", old, &[&userdn]);
    let new = "N'e\"w\\p;a--s s`1$$ é✓";
    kp(&k, &["rotate", &uid, "--password", new]).ok();
    assert_eq!(vault_password(&k, &uid), new);
    assert!(
        server.can_bind(&dn, new),
        "the exact hostile password binds"
    );
    assert!(!server.can_bind(&dn, old));
    assert!(server.can_bind(&canary, "Canary-pw-3"), "canary untouched");

    // A login that is no DN, without cmdr:userdn, is a clear error.
    let uid = ldap_record(&k, "no dn", &server, "obrien", new);
    let err = failure(&k, &uid);
    assert!(err.contains("cmdr:userdn"), "{err}");
    assert!(server.can_bind(&dn, new), "untouched");
}

#[test]
fn ldap_refuses_cleartext_off_loopback_and_tls_it_cannot_speak() {
    let server = slapd();
    let dn = server.add_person("tls", "Tls-pw-4").expect("add");
    let k = vault();
    let uid = ldap_record_with(
        &k,
        "wants tls",
        &server,
        &dn,
        "Tls-pw-4",
        &["c.text.cmdr:start_tls=true"],
    );
    let err = failure(&k, &uid);
    assert!(err.contains("StartTLS"), "{err}");
    assert!(server.can_bind(&dn, "Tls-pw-4"), "untouched");
    assert_eq!(vault_password(&k, &uid), "Tls-pw-4");

    // 192.0.2.0/24 is TEST-NET-1: refused before any connection is tried.
    let remote = add(
        &k,
        &[
            "-t",
            "remote",
            "--rt",
            "login",
            "login=uid=x,dc=example,dc=com",
            "password=Remote-pw-4",
            "c.text.cmdr:plugin=ldap",
            "c.text.cmdr:host=192.0.2.7",
        ],
    );
    let err = failure(&k, &remote);
    assert!(
        err.contains("clear text") && err.contains("allow_cleartext"),
        "{err}"
    );
}

#[test]
fn ldap_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    let server = slapd();
    let mut n = 0;
    crash_at_every_stage(
        |_| {
            n += 1;
            let dn = server
                .add_person(&format!("crashy{n}"), "Crash-ldap-5")
                .expect("add");
            let k = vault();
            let uid = ldap_record(&k, "crashy", &server, &dn, "Crash-ldap-5");
            (k, uid, dn)
        },
        |dn, password| server.can_bind(dn, password),
    );
}
