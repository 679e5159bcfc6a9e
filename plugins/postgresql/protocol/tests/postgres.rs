//! Against real PostgreSQL servers:
//!
//! - the shared server on 127.0.0.1:5432 (trust: no password is checked
//!   there, so these tests read `pg_authid` to see what was stored);
//! - a private cluster per test ([`Cluster`]: initdb into a temp dir, md5
//!   and SCRAM-SHA-256 password authentication, every statement logged),
//!   where logins really check the password.
//!
//! Every role has a random name and is dropped by a guard.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpStream};

use keeper_postgres_protocol::testkit::Cluster;
use keeper_postgres_protocol::{
    AuthMethod, Conn, ConnectOptions, Encryption, PgError, change_password, quote_ident,
    quote_literal, verifier_matches,
};

const SHARED: &str = "127.0.0.1:5432";

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{:010x}", h.finish() & 0xff_ffff_ffff)
}

fn shared_admin() -> Conn<TcpStream> {
    Conn::connect_tcp(
        SHARED,
        &ConnectOptions::new("postgres", "").database("postgres"),
    )
    .expect("superuser login to PostgreSQL on 127.0.0.1:5432 (scripts/lib.sh starts it)")
}

/// A login role, dropped at the end.
struct Role<'a> {
    name: String,
    admin: &'a dyn Fn() -> Conn<TcpStream>,
}

impl<'a> Role<'a> {
    /// `CREATE ROLE` with this crate's quoting; the password hashed by the
    /// server (`password_encryption` = `encryption`).
    fn create(
        admin: &'a dyn Fn() -> Conn<TcpStream>,
        prefix: &str,
        password: &str,
        encryption: &str,
    ) -> Self {
        let name = format!("{prefix}{}", random_suffix());
        let mut conn = admin();
        conn.query(&format!(
            "SET password_encryption = '{encryption}'; CREATE ROLE {} LOGIN PASSWORD {}",
            quote_ident(&name).unwrap(),
            quote_literal(password).unwrap()
        ))
        .unwrap();
        Self { name, admin }
    }

    fn stored(&self) -> String {
        let mut conn = (self.admin)();
        let r = conn
            .query(&format!(
                "SELECT rolpassword FROM pg_authid WHERE rolname = {}",
                quote_literal(&self.name).unwrap()
            ))
            .unwrap();
        r.rows[0][0].clone().unwrap_or_default()
    }
}

impl Drop for Role<'_> {
    fn drop(&mut self) {
        if let Ok(q) = quote_ident(&self.name) {
            let _ = (self.admin)().query(&format!("DROP ROLE IF EXISTS {q}"));
        }
    }
}

fn login(addr: SocketAddr, user: &str, password: &str) -> Result<Conn<TcpStream>, PgError> {
    Conn::connect_tcp(
        addr,
        &ConnectOptions::new(user, password).database("postgres"),
    )
}

#[test]
fn shared_server_an_unprivileged_role_changes_its_own_password_pre_hashed() {
    let admin = shared_admin;
    let role = Role::create(&admin, "kp_pg_", "Old-pw-1", "scram-sha-256");
    let mut conn = Conn::connect_tcp(
        SHARED,
        &ConnectOptions::new(role.name.as_str(), "ignored by trust").database("postgres"),
    )
    .unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::Trust);
    assert!(conn.server_version_num().unwrap() >= 100_000);
    change_password(&mut conn, &role.name, "New'pw\\1;--", None).unwrap();
    conn.close().unwrap();
    let stored = role.stored();
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
    assert!(verifier_matches(&stored, &role.name, "New'pw\\1;--"));
    assert!(!verifier_matches(&stored, &role.name, "Old-pw-1"));
}

#[test]
fn shared_server_hostile_role_names_are_taken_exactly_and_cannot_inject() {
    let admin = shared_admin;
    let canary = Role::create(&admin, "kp_canary_", "x", "scram-sha-256");
    // A name that would end the identifier and drop the canary if it were
    // not quoted; upper case that unquoted SQL would fold.
    let hostile = format!("Kp\"; DROP ROLE \"{}\"; --'\\", canary.name);
    let name = format!("{hostile}{}", &random_suffix()[..4]);
    assert!(name.len() <= 63);
    admin()
        .query(&format!(
            "CREATE ROLE {} LOGIN",
            quote_ident(&name).unwrap()
        ))
        .unwrap();
    let role = Role {
        name,
        admin: &admin,
    };
    let mut conn = Conn::connect_tcp(
        SHARED,
        &ConnectOptions::new(role.name.as_str(), "").database("postgres"),
    )
    .unwrap();
    change_password(&mut conn, &role.name, "Hostile-pw-2", None).unwrap();
    assert!(verifier_matches(&role.stored(), &role.name, "Hostile-pw-2"));
    let alive = admin()
        .query(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = {}",
            quote_literal(&canary.name).unwrap()
        ))
        .unwrap();
    assert_eq!(
        alive.rows[0][0].as_deref(),
        Some("1"),
        "the canary role survived"
    );
}

#[test]
fn shared_server_changing_another_roles_password_needs_the_privilege() {
    let admin = shared_admin;
    let victim = Role::create(&admin, "kp_victim_", "Victim-pw", "scram-sha-256");
    let other = Role::create(&admin, "kp_other_", "Other-pw", "scram-sha-256");
    let before = victim.stored();
    let mut conn = Conn::connect_tcp(
        SHARED,
        &ConnectOptions::new(other.name.as_str(), "").database("postgres"),
    )
    .unwrap();
    let err = change_password(&mut conn, &victim.name, "Taken-over", None).unwrap_err();
    assert!(
        matches!(&err, PgError::Server { code, .. } if code == "42501"),
        "{err}"
    );
    assert_eq!(victim.stored(), before);
}

#[test]
fn private_cluster_scram_rotation_old_fails_new_works_and_the_log_never_sees_it() {
    let cluster = Cluster::start().unwrap();
    let admin = || cluster.admin();
    let role = Role::create(&admin, "kp_scram_", "Old-pw-3", "scram-sha-256");
    // The server's own verifier and ours agree on the algorithm.
    assert!(verifier_matches(&role.stored(), &role.name, "Old-pw-3"));

    let err = login(cluster.addr, &role.name, "Wrong-pw").unwrap_err();
    assert!(
        matches!(&err, PgError::Auth { code, .. } if code == "28P01"),
        "{err}"
    );

    let new = "N3w'pw\"\\;-- x";
    let mut conn = login(cluster.addr, &role.name, "Old-pw-3").unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::ScramSha256);
    change_password(&mut conn, &role.name, new, None).unwrap();
    conn.close().unwrap();

    assert!(matches!(
        login(cluster.addr, &role.name, "Old-pw-3"),
        Err(PgError::Auth { .. })
    ));
    let conn = login(cluster.addr, &role.name, new).unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::ScramSha256);
    let log = cluster.log();
    assert!(log.contains("ALTER ROLE"), "statements are logged:\n{log}");
    assert!(
        log.contains("SCRAM-SHA-256$4096:"),
        "the verifier is what is logged"
    );
    assert!(
        !log.contains(new),
        "the new password is not in the log:\n{log}"
    );
    // For contrast: the test's own CREATE ROLE let the server hash the
    // password, and there it is in the log.
    assert_eq!(log.matches("Old-pw-3").count(), 1, "{log}");
}

#[test]
fn private_cluster_md5_roles_log_in_with_md5_and_move_to_scram_unless_told() {
    let cluster = Cluster::start().unwrap();
    let admin = || cluster.admin();
    let role = Role::create(&admin, "kp_md5_", "Old-pw-4", "md5");
    assert!(role.stored().starts_with("md5"));
    let mut conn = login(cluster.addr, &role.name, "Old-pw-4").unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::Md5);
    // Keep md5 when asked to.
    change_password(&mut conn, &role.name, "Md5-pw-5", Some(Encryption::Md5)).unwrap();
    conn.close().unwrap();
    assert!(verifier_matches(&role.stored(), &role.name, "Md5-pw-5"));
    let mut conn = login(cluster.addr, &role.name, "Md5-pw-5").unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::Md5);
    assert!(login(cluster.addr, &role.name, "Old-pw-4").is_err());
    // By default the new password is stored as SCRAM, and the server then
    // authenticates with SCRAM even though pg_hba says md5.
    change_password(&mut conn, &role.name, "Scram-pw-6", None).unwrap();
    conn.close().unwrap();
    assert!(role.stored().starts_with("SCRAM-SHA-256$"));
    let conn = login(cluster.addr, &role.name, "Scram-pw-6").unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::ScramSha256);
}

#[test]
fn private_cluster_non_ascii_passwords_are_normalised_like_the_server() {
    let cluster = Cluster::start().unwrap();
    let admin = || cluster.admin();
    // NFKC (Ⅸ → IX), a no-break space (→ space), a soft hyphen (→ nothing),
    // and one SASLprep refuses (a control character: used raw).
    for (i, pw) in ["p\u{2168}ss\u{00A0}w\u{00AD}örd", "ctl\u{0007}é"]
        .iter()
        .enumerate()
    {
        let role = Role::create(&admin, &format!("kp_utf{i}_"), pw, "scram-sha-256");
        assert!(verifier_matches(&role.stored(), &role.name, pw), "{pw:?}");
        login(cluster.addr, &role.name, pw).unwrap();
        let mut conn = login(cluster.addr, &role.name, pw).unwrap();
        let new = format!("{pw}-2");
        change_password(&mut conn, &role.name, &new, None).unwrap();
        login(cluster.addr, &role.name, &new).unwrap();
    }
}

#[test]
fn private_cluster_cleartext_is_refused_by_default() {
    let cluster = Cluster::start().unwrap();
    let admin = || cluster.admin();
    let role = Role::create(&admin, "kp_clear_", "Clear-pw-7", "scram-sha-256");
    cluster.admin().query("CREATE DATABASE cleartext").unwrap();
    let options = ConnectOptions::new(role.name.as_str(), "Clear-pw-7").database("cleartext");
    let err = Conn::connect_tcp(cluster.addr, &options).unwrap_err();
    assert!(matches!(err, PgError::Unsupported(_)), "{err}");
    let conn = Conn::connect_tcp(cluster.addr, &options.allow_cleartext(true)).unwrap();
    assert_eq!(conn.auth_method(), AuthMethod::Cleartext);
}
