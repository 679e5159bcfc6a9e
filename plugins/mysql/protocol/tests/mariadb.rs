//! Integration tests against the real MariaDB on 127.0.0.1:3306 (root, empty
//! password). Every test creates uniquely named accounts and drops them via a
//! guard, even when an assertion fails.
#![allow(clippy::unwrap_used)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpStream;

use keeper_mysql_protocol::{
    Conn, ConnectOptions, MysqlError, change_password, quote_account, quote_string,
};

const ADDR: &str = "127.0.0.1:3306";

fn random_suffix() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xFFFF_FFFF_FFFF)
}

fn login(user: &str, password: &str) -> Result<Conn<TcpStream>, MysqlError> {
    Conn::connect_tcp(ADDR, &ConnectOptions::new(user, password))
}

fn root() -> Conn<TcpStream> {
    login("root", "").expect("root login with empty password (is MariaDB running?)")
}

/// Host part for test accounts: `%`, unless anonymous accounts exist that
/// could shadow `'kp_x'@'%'` for a 127.0.0.1 client; then the more specific
/// `127.0.0.1` is used.
fn test_host(root: &mut Conn<TcpStream>) -> &'static str {
    let r = root
        .query("SELECT COUNT(*) FROM mysql.user WHERE user = ''")
        .unwrap();
    if r.rows[0][0].as_deref() == Some("0") {
        "%"
    } else {
        "127.0.0.1"
    }
}

/// Creates accounts with root and drops them on drop.
struct Users {
    created: Vec<(String, String)>,
}

impl Users {
    fn new() -> Self {
        Users {
            created: Vec::new(),
        }
    }

    /// `CREATE USER` using this crate's own quoting (so hostile names also
    /// exercise quote_account/quote_string).
    fn create(&mut self, root: &mut Conn<TcpStream>, user: &str, host: &str, password: &str) {
        let nbe = root.no_backslash_escapes();
        let sql = format!(
            "CREATE USER {} IDENTIFIED BY {}",
            quote_account(user, host, nbe).unwrap(),
            quote_string(password, nbe)
        );
        self.created.push((user.to_string(), host.to_string()));
        root.execute(&sql).unwrap();
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        if let Ok(mut root) = login("root", "") {
            for (u, h) in &self.created {
                let nbe = root.no_backslash_escapes();
                if let Ok(acct) = quote_account(u, h, nbe) {
                    let _ = root.execute(&format!("DROP USER IF EXISTS {acct}"));
                }
            }
        }
    }
}

/// Count rows in mysql.user for exactly this user name (binary compare).
fn account_count(root: &mut Conn<TcpStream>, user: &str) -> usize {
    let sql = format!(
        "SELECT COUNT(*) FROM mysql.user WHERE BINARY user = {}",
        root.quote(user)
    );
    root.query(&sql).unwrap().rows[0][0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

fn assert_auth_error(r: Result<Conn<TcpStream>, MysqlError>, secret: &str) {
    match r {
        Err(e @ MysqlError::Auth { .. }) => {
            assert_eq!(e.server_code(), Some(1045));
            if !secret.is_empty() {
                assert!(!e.to_string().contains(secret), "error leaks password: {e}");
            }
        }
        Err(e) => panic!("expected Auth error, got {e:?}"),
        Ok(_) => panic!("login unexpectedly succeeded"),
    }
}

#[test]
fn root_login_with_empty_password() {
    let mut c = root();
    assert!(
        c.server_version().contains("MariaDB"),
        "{}",
        c.server_version()
    );
    assert_eq!(c.auth_plugin(), "mysql_native_password");
    c.ping().unwrap();
    let r = c.query("SELECT CURRENT_USER()").unwrap();
    assert!(r.rows[0][0].as_deref().unwrap().starts_with("root@"));
    c.close().unwrap();
}

#[test]
fn connect_with_database() {
    let mut c = Conn::connect_tcp(ADDR, &ConnectOptions::new("root", "").database("test")).unwrap();
    let r = c.query("SELECT DATABASE()").unwrap();
    assert_eq!(r.rows, vec![vec![Some("test".to_string())]]);
}

#[test]
fn select_returns_rows_and_nulls() {
    let mut c = root();
    let r = c
        .query("SELECT 1 AS a, NULL AS b, 'x' AS c UNION ALL SELECT 2, 'y', NULL")
        .unwrap();
    assert_eq!(r.columns, vec!["a", "b", "c"]);
    assert_eq!(
        r.rows,
        vec![
            vec![Some("1".into()), None, Some("x".into())],
            vec![Some("2".into()), Some("y".into()), None],
        ]
    );
    let empty = c.query("SELECT 1 AS z FROM DUAL WHERE 1 = 0").unwrap();
    assert_eq!(empty.columns, vec!["z"]);
    assert!(empty.rows.is_empty());
    let uni = c.query("SELECT 'żółw 😀' AS u, '' AS e").unwrap();
    assert_eq!(
        uni.rows[0],
        vec![Some("żółw 😀".into()), Some(String::new())]
    );
    // A big row (> 16 KiB read buffer) survives.
    let big = c.query("SELECT REPEAT('ab', 50000)").unwrap();
    assert_eq!(big.rows[0][0].as_deref().unwrap().len(), 100_000);
}

#[test]
fn ok_packet_fields() {
    let mut c = root();
    let t = format!("test.kp_ok_{}", random_suffix());
    c.execute(&format!(
        "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, v INT)"
    ))
    .unwrap();
    let ok = c
        .execute(&format!("INSERT INTO {t} (v) VALUES (1),(2),(3)"))
        .unwrap();
    assert_eq!(ok.affected_rows, 3);
    assert_eq!(ok.last_insert_id, 1);
    assert!(ok.info.contains("Records: 3"), "{}", ok.info);
    c.execute(&format!("DROP TABLE {t}")).unwrap();
}

#[test]
fn server_error_is_typed_and_connection_survives() {
    let mut c = root();
    match c.query("SELEC 1") {
        Err(MysqlError::Server {
            code,
            sql_state,
            message,
        }) => {
            assert_eq!(code, 1064);
            assert_eq!(sql_state, "42000");
            assert!(message.contains("syntax"), "{message}");
        }
        other => panic!("expected syntax error, got {other:?}"),
    }
    match c.query("SELECT * FROM test.kp_no_such_table_xyz") {
        Err(MysqlError::Server {
            code,
            sql_state,
            message,
        }) => {
            assert_eq!((code, sql_state.as_str()), (1146, "42S02"));
            assert!(message.contains("kp_no_such_table_xyz"));
        }
        other => panic!("expected missing-table error, got {other:?}"),
    }
    // Multi-statements are not enabled: a piggy-backed statement is a syntax error.
    assert!(matches!(
        c.query("SELECT 1; SELECT 2"),
        Err(MysqlError::Server { code: 1064, .. })
    ));
    c.ping().unwrap();
    assert_eq!(
        c.query("SELECT 7").unwrap().rows[0][0].as_deref(),
        Some("7")
    );
}

#[test]
fn wrong_password_is_auth_error() {
    let mut r = root();
    let host = test_host(&mut r);
    let mut users = Users::new();
    let u = format!("kp_{}", random_suffix());
    users.create(&mut r, &u, host, "right-pw");
    assert_auth_error(login(&u, "wrong-pw-123"), "wrong-pw-123");
    assert_auth_error(login(&u, ""), "");
    login(&u, "right-pw").unwrap();
}

#[test]
fn unprivileged_user_changes_own_password() {
    let mut r = root();
    let host = test_host(&mut r);
    let mut users = Users::new();
    let u = format!("kp_{}", random_suffix());
    users.create(&mut r, &u, host, "old");
    // No grants at all: only USAGE.
    let grants = r
        .query(&format!(
            "SHOW GRANTS FOR {}",
            quote_account(&u, host, false).unwrap()
        ))
        .unwrap();
    assert_eq!(grants.rows.len(), 1);
    assert!(
        grants.rows[0][0]
            .as_deref()
            .unwrap()
            .starts_with("GRANT USAGE")
    );

    let mut c = login(&u, "old").unwrap();
    let cu = c.query("SELECT CURRENT_USER()").unwrap();
    assert_eq!(
        cu.rows[0][0].as_deref(),
        Some(format!("{u}@{host}").as_str()),
        "anonymous account shadowing?"
    );
    change_password(&mut c, &u, Some(host), "new").unwrap();
    c.close().unwrap();

    login(&u, "new").unwrap().close().unwrap();
    assert_auth_error(login(&u, "old"), "old");
}

#[test]
fn unprivileged_user_cannot_change_someone_else() {
    let mut r = root();
    let host = test_host(&mut r);
    let mut users = Users::new();
    let (a, b) = (
        format!("kp_{}", random_suffix()),
        format!("kp_{}", random_suffix()),
    );
    users.create(&mut r, &a, host, "a-pw");
    users.create(&mut r, &b, host, "b-pw");
    let mut c = login(&a, "a-pw").unwrap();
    let err = change_password(&mut c, &b, Some(host), "stolen").unwrap_err();
    assert!(err.server_code().is_some(), "{err:?}");
    assert!(!err.to_string().contains("stolen"));
    login(&b, "b-pw").unwrap();
    assert_auth_error(login(&b, "stolen"), "stolen");
}

#[test]
fn admin_changes_another_account() {
    let mut r = root();
    let host = test_host(&mut r);
    let mut users = Users::new();
    let u = format!("kp_{}", random_suffix());
    users.create(&mut r, &u, host, "before");
    change_password(&mut r, &u, Some(host), "after 'x' \\ \"y\"").unwrap();
    login(&u, "after 'x' \\ \"y\"").unwrap();
    assert_auth_error(login(&u, "before"), "before");
}

const HOSTILE_PASSWORDS: &[&str] = &[
    "'; DROP TABLE kp_canary; --",
    "x' OR '1'='1",
    "back\\slash\\'",
    "\\",
    "\"double\" `tick` ; -- # /* */",
    "  spaces  around  ",
    "tab\tnew\nline\rcr\x1asub",
    "żółć ünïcødé 😀 密码",
    "''",
    "%_*?",
];

fn hostile_logins(tag: &str) -> Vec<String> {
    let s = random_suffix();
    let s = &s[..8];
    vec![
        format!("kp{s}{tag}x' OR '1'='1"),
        format!("kp{s}{tag}\"; --"),
        format!("kp{s}{tag}\\bs"),
        format!("kp{s}{tag} sp `bt`"),
        format!("kp{s}{tag}żółw"),
    ]
}

/// Rotate hostile passwords for hostile logins, each account changing its
/// own password; optionally with NO_BACKSLASH_ESCAPES on the session.
fn hostile_rotation(no_backslash_escapes: bool) {
    let mut r = root();
    let host = test_host(&mut r);
    let canary = format!("test.kp_canary_{}", random_suffix());
    r.execute(&format!("CREATE TABLE {canary} (id INT)"))
        .unwrap();
    r.execute(&format!("INSERT INTO {canary} VALUES (42)"))
        .unwrap();
    let mut users = Users::new();
    let tag = if no_backslash_escapes { "n" } else { "b" };

    for (i, u) in hostile_logins(tag).iter().enumerate() {
        let old = HOSTILE_PASSWORDS[i % HOSTILE_PASSWORDS.len()];
        let new = HOSTILE_PASSWORDS[(i + 3) % HOSTILE_PASSWORDS.len()];
        users.create(&mut r, u, host, old);
        assert_eq!(
            account_count(&mut r, u),
            1,
            "account {u:?} not created exactly once"
        );

        let mut c = login(u, old).unwrap();
        if no_backslash_escapes {
            c.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
                .unwrap();
            assert!(c.no_backslash_escapes(), "status flag not picked up");
        } else {
            assert!(!c.no_backslash_escapes());
        }
        change_password(&mut c, u, Some(host), new).unwrap();
        c.close().unwrap();

        let mut c2 = login(u, new).unwrap_or_else(|e| panic!("login {u:?} with new pw: {e}"));
        let cu = c2.query("SELECT CURRENT_USER()").unwrap();
        assert_eq!(
            cu.rows[0][0].as_deref(),
            Some(format!("{u}@{host}").as_str())
        );
        c2.close().unwrap();
        if old != new {
            assert_auth_error(login(u, old), old);
        }
        assert_eq!(account_count(&mut r, u), 1);
    }
    // Nothing was injected: canary intact, no stray accounts for the prefix.
    let rows = r.query(&format!("SELECT id FROM {canary}")).unwrap().rows;
    assert_eq!(rows, vec![vec![Some("42".to_string())]]);
    r.execute(&format!("DROP TABLE {canary}")).unwrap();
}

#[test]
fn hostile_logins_and_passwords_rotate_exactly() {
    hostile_rotation(false);
}

#[test]
fn hostile_rotation_with_no_backslash_escapes() {
    hostile_rotation(true);
}

#[test]
fn quoting_roundtrips_in_both_sql_modes() {
    let mut c = root();
    let check = |c: &mut Conn<TcpStream>| {
        for s in HOSTILE_PASSWORDS
            .iter()
            .copied()
            .chain(["\0nul", "a\\0b", "\\'\\''"])
        {
            let nbe = c.no_backslash_escapes();
            let r = c
                .query(&format!("SELECT {}", quote_string(s, nbe)))
                .unwrap();
            assert_eq!(r.rows[0][0].as_deref(), Some(s), "mode nbe={nbe}");
        }
    };
    check(&mut c);
    c.execute("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
        .unwrap();
    assert!(c.no_backslash_escapes());
    check(&mut c);
    c.execute("SET SESSION sql_mode = ''").unwrap();
    assert!(!c.no_backslash_escapes());
    check(&mut c);
}

#[test]
fn nul_in_login_is_rejected() {
    let mut r = root();
    let err = change_password(&mut r, "kp\0x", None, "pw").unwrap_err();
    assert!(matches!(err, MysqlError::InvalidInput(_)));
    assert!(matches!(
        login("kp\0x", "pw"),
        Err(MysqlError::InvalidInput(_))
    ));
}

#[test]
fn connection_refused_is_io_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // listener dropped: port closed
    match Conn::connect_tcp(("127.0.0.1", port), &ConnectOptions::new("root", "")) {
        Err(MysqlError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("expected Io error, got {other:?}"),
    }
}
