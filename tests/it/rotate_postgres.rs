//! `keeper rotate` end to end with the postgresql plugin (the real
//! wasm32-wasip2 component embedded in keeper) against real PostgreSQL:
//!
//! - a private cluster per test (`keeper_postgres_protocol::testkit`:
//!   initdb into a temp dir, md5 / SCRAM-SHA-256 password authentication,
//!   every statement logged), where logins really check passwords;
//! - the shared server on 127.0.0.1:5432 (trust authentication) for port
//!   inference, where `pg_authid` shows what was stored.
//!
//! Roles have random names and are dropped by guards. No mocks.

use std::net::{SocketAddr, TcpStream};

use keeper_postgres_protocol::auth::scram_verifier;
use keeper_postgres_protocol::testkit::Cluster;
use keeper_postgres_protocol::{
    Conn, ConnectOptions, PgError, quote_ident, quote_literal, verifier_matches,
};

use crate::crash::crash_at_every_stage;
use crate::support::Keeper;
use crate::vault::{add, kp, vault, vault_password};

fn unique() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{:08x}", h.finish() as u32)
}

/// A login role without any privilege, dropped at the end.
struct Role {
    name: String,
    addr: SocketAddr,
    admin: Box<dyn Fn() -> Conn<TcpStream>>,
}

impl Role {
    /// Creates `name` (exactly, any characters) with `password` stored as a
    /// SCRAM verifier computed here (so the statement log never holds the
    /// password) or, with `md5`, hashed by the server as md5.
    fn create(cluster: &Cluster, name: &str, password: &str, md5: bool) -> Self {
        let stored = if md5 {
            format!(
                "SET password_encryption = 'md5'; CREATE ROLE {} LOGIN PASSWORD {}",
                quote_ident(name).expect("name"),
                quote_literal(password).expect("pw")
            )
        } else {
            format!(
                "CREATE ROLE {} LOGIN PASSWORD {}",
                quote_ident(name).expect("name"),
                quote_literal(&scram_verifier(password, b"0123456789abcdef", 4096)).expect("v")
            )
        };
        cluster.admin().query(&stored).expect("create role");
        let addr = cluster.addr;
        Self {
            name: name.to_string(),
            addr,
            admin: Box::new(move || {
                Conn::connect_tcp(
                    addr,
                    &ConnectOptions::new(Cluster::SUPERUSER, "").database("postgres"),
                )
                .expect("superuser")
            }),
        }
    }

    fn random(cluster: &Cluster, prefix: &str, password: &str) -> Self {
        Self::create(cluster, &format!("{prefix}{}", unique()), password, false)
    }

    /// Whether `password` logs in (a fresh connection, password checked).
    fn can_login(&self, password: &str) -> bool {
        match Conn::connect_tcp(
            self.addr,
            &ConnectOptions::new(self.name.as_str(), password).database("postgres"),
        ) {
            Ok(_) => true,
            Err(PgError::Auth { .. }) => false,
            Err(e) => panic!("unexpected login failure: {e}"),
        }
    }

    fn stored(&self) -> String {
        (self.admin)()
            .query(&format!(
                "SELECT rolpassword FROM pg_authid WHERE rolname = {}",
                quote_literal(&self.name).expect("lit")
            ))
            .expect("select")
            .rows[0][0]
            .clone()
            .unwrap_or_default()
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        if let Ok(q) = quote_ident(&self.name) {
            let _ = (self.admin)().query(&format!("DROP ROLE IF EXISTS {q}"));
        }
    }
}

/// A login record rotated by the postgresql plugin through `cmdr:` fields.
fn pg_record(k: &Keeper, title: &str, role: &Role, password: &str, extra: &[&str]) -> String {
    let login = format!("login={}", role.name);
    let password = format!("password={password}");
    let port = format!("c.text.cmdr:port={}", role.addr.port());
    let mut args = vec![
        "-t",
        title,
        "--rt",
        "login",
        &login,
        &password,
        "c.text.cmdr:plugin=postgresql",
        "c.text.cmdr:host=127.0.0.1",
        &port,
    ];
    args.extend_from_slice(extra);
    add(k, &args)
}

fn cluster() -> Cluster {
    Cluster::start().expect("a private PostgreSQL cluster (scripts/lib.sh installs postgresql)")
}

#[test]
fn postgresql_rotates_a_role_and_only_the_new_password_logs_in() {
    let cluster = cluster();
    let old = "Old-pg-pass-1";
    let role = Role::random(&cluster, "kr_pg_", old);
    let k = vault();
    let uid = pg_record(&k, "pg app", &role, old, &[]);

    let run = kp(&k, &["rotate", "pg app"]);
    assert!(run.ok().contains("rotated"), "{}", run.stdout());
    let new = vault_password(&k, &uid);
    assert_ne!(new, old);
    assert!(role.can_login(&new), "the vault's new password logs in");
    assert!(!role.can_login(old), "the old password no longer logs in");
    assert!(role.stored().starts_with("SCRAM-SHA-256$"));
    assert!(!run.stdout().contains(&new) && !run.stderr().contains(&new));
    let log = cluster.log();
    assert!(log.contains("ALTER ROLE"), "{log}");
    assert!(
        !log.contains(&new) && !log.contains(old),
        "no password in the server's statement log:\n{log}"
    );
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]).json();
    assert_eq!(audit[0]["outcome"], "rotated");
    assert_eq!(audit[0]["plugin"], "postgresql");
    assert_eq!(
        audit[0]["target"],
        format!("127.0.0.1:{}", role.addr.port())
    );
}

#[test]
fn postgresql_hostile_role_names_and_passwords_neither_break_nor_inject() {
    let cluster = cluster();
    let canary = Role::random(&cluster, "kr_canary_", "Canary-pw");
    let old = format!("x'; DROP ROLE \"{}\"; --\\", canary.name);
    let old = old.as_str();
    let name = format!("Kr_q'\"\\;-- {}", unique());
    let role = Role::create(&cluster, &name, old, false);
    let k = vault();
    let uid = pg_record(&k, "hostile", &role, old, &[]);
    let new = "N'e\"w\\p;a--s s`1$$";
    kp(&k, &["rotate", &uid, "--password", new]).ok();
    assert_eq!(vault_password(&k, &uid), new);
    assert!(role.can_login(new), "the exact hostile password logs in");
    assert!(!role.can_login(old));
    assert!(
        canary.can_login("Canary-pw"),
        "the canary role is untouched"
    );
}

#[test]
fn postgresql_a_wrong_current_password_fails_clearly_and_changes_nothing() {
    let cluster = cluster();
    let role = Role::random(&cluster, "kr_pg_", "Real-pg-3");
    let before = role.stored();
    let k = vault();
    let uid = pg_record(&k, "stale", &role, "Stale-pg-3", &[]);
    let run = kp(&k, &["rotate", &uid]);
    let err = run.stdout() + &run.stderr();
    assert!(!run.0.status.success());
    assert!(
        err.contains("authentication failed") && err.contains("28P01"),
        "{err}"
    );
    assert_eq!(vault_password(&k, &uid), "Stale-pg-3", "vault unchanged");
    assert_eq!(role.stored(), before, "target unchanged");
    assert!(role.can_login("Real-pg-3"));
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn postgresql_md5_roles_rotate_and_can_stay_md5() {
    let cluster = cluster();
    let role = Role::create(&cluster, &format!("kr_md5_{}", unique()), "Md5-old-4", true);
    assert!(role.stored().starts_with("md5"));
    let k = vault();
    let uid = pg_record(
        &k,
        "md5 kept",
        &role,
        "Md5-old-4",
        &["c.text.cmdr:password_encryption=md5"],
    );
    kp(&k, &["rotate", &uid]).ok();
    let new = vault_password(&k, &uid);
    assert!(role.stored().starts_with("md5"), "kept md5 as asked");
    assert!(verifier_matches(&role.stored(), &role.name, &new));
    assert!(role.can_login(&new) && !role.can_login("Md5-old-4"));
    // Without the parameter a rotation moves it to SCRAM.
    let uid = pg_record(&k, "md5 to scram", &role, &new, &[]);
    kp(&k, &["rotate", &uid]).ok();
    assert!(role.stored().starts_with("SCRAM-SHA-256$"));
    assert!(role.can_login(&vault_password(&k, &uid)));
}

#[test]
fn postgresql_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    let cluster = cluster();
    crash_at_every_stage(
        |_| {
            let role = Role::random(&cluster, "kr_crash_", "Crash-pg-5");
            let k = vault();
            let uid = pg_record(&k, "crashy", &role, "Crash-pg-5", &[]);
            (k, uid, role)
        },
        |role, password| role.can_login(password),
    );
}

/// Port 5432 infers the plugin (the shared server trusts local logins, so
/// `pg_authid` shows that the vault's new password is what was stored);
/// ports of products keeper has no plugin for say so.
#[test]
fn postgresql_is_inferred_from_port_5432_and_1433_names_no_missing_plugin() {
    let name = format!("kr_infer_{}", unique());
    let shared = || {
        Conn::connect_tcp(
            "127.0.0.1:5432",
            &ConnectOptions::new("postgres", "").database("postgres"),
        )
        .expect("the shared PostgreSQL on 127.0.0.1:5432 (scripts/lib.sh starts it)")
    };
    shared()
        .query(&format!(
            "CREATE ROLE {} LOGIN",
            quote_ident(&name).expect("name")
        ))
        .expect("create role");
    struct Drop5432(String);
    impl Drop for Drop5432 {
        fn drop(&mut self) {
            if let Ok(mut c) = Conn::connect_tcp(
                "127.0.0.1:5432",
                &ConnectOptions::new("postgres", "").database("postgres"),
            ) {
                let _ = c.query(&format!("DROP ROLE IF EXISTS \"{}\"", self.0));
            }
        }
    }
    let _guard = Drop5432(name.clone());
    let k = vault();
    let uid = add(
        &k,
        &[
            "-t",
            "inferred",
            "--rt",
            "databaseCredentials",
            "host=127.0.0.1:5432",
            &format!("login={name}"),
            "password=Trust-pw-6",
        ],
    );
    let plan = kp(&k, &["rotate", &uid, "--dry-run", "--format", "json"]).json();
    assert_eq!(plan[0]["plugin"], "postgresql");
    kp(&k, &["rotate", &uid]).ok();
    let stored = shared()
        .query(&format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = '{name}'"
        ))
        .expect("select")
        .rows[0][0]
        .clone()
        .unwrap_or_default();
    assert!(
        verifier_matches(&stored, &name, &vault_password(&k, &uid)),
        "{stored}"
    );

    for (port, product) in [
        ("1433", "Microsoft SQL Server"),
        ("1521", "Oracle Database"),
    ] {
        let uid = add(
            &k,
            &[
                "-t",
                &format!("no plugin {port}"),
                "--rt",
                "databaseCredentials",
                &format!("host=127.0.0.1:{port}"),
                "login=sa",
                "password=Pw-7",
            ],
        );
        let run = kp(&k, &["rotate", &uid]);
        let text = run.stdout() + &run.stderr();
        assert!(!run.0.status.success());
        assert!(
            text.contains(product) && !text.contains("no plugin named"),
            "{port}: {text}"
        );
    }
}
