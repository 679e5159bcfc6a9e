//! Choosing and running the right password-change statement for the server
//! flavour/version and for "own account" vs "another account".

use std::io::{Read, Write};

use zeroize::Zeroizing;

use crate::conn::Conn;
use crate::error::MysqlError;
use crate::quote::{check_no_nul, quote_account, quote_string};

/// Server family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Oracle MySQL (and Percona etc.).
    MySql,
    /// MariaDB.
    MariaDb,
}

/// Parsed server version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    /// MySQL or MariaDB.
    pub flavor: Flavor,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl ServerVersion {
    /// Parse a handshake version string such as `8.0.36-0ubuntu0.22.04.1`,
    /// `5.5.5-10.11.19-MariaDB-0+deb12u1` (MariaDB's replication-compat
    /// prefix is stripped) or `11.4.2-MariaDB-log`.
    pub fn parse(s: &str) -> Result<Self, MysqlError> {
        let flavor = if s.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        let mut v = s;
        if flavor == Flavor::MariaDb {
            v = v.strip_prefix("5.5.5-").unwrap_or(v);
        }
        let numeric: &str = v
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .unwrap_or("");
        let mut parts = numeric.split('.').map(|p| p.parse::<u32>());
        let bad = || MysqlError::protocol(format_args!("unparseable server version {s:?}"));
        let major = parts.next().and_then(Result::ok).ok_or_else(bad)?;
        let minor = parts.next().and_then(Result::ok).ok_or_else(bad)?;
        let patch = parts.next().and_then(Result::ok).unwrap_or(0);
        Ok(ServerVersion {
            flavor,
            major,
            minor,
            patch,
        })
    }

    fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }
}

/// Privileges of the session user that influence the statement choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privileges {
    /// Global `CREATE USER` privilege (needed by `ALTER USER` on other
    /// accounts, and on MariaDB 10.4+ even on one's own account).
    pub create_user: bool,
}

/// Which password-change statement shape to use (see [`choose_statement`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// `SET PASSWORD = PASSWORD('pw')` — own account, no privilege needed
    /// (MariaDB, MySQL < 5.7.6).
    SetPasswordSelf,
    /// `SET PASSWORD FOR 'u'@'h' = PASSWORD('pw')` — other account
    /// (MariaDB without CREATE USER / < 10.2, MySQL < 5.7.6); needs UPDATE
    /// on the `mysql` schema.
    SetPasswordFor,
    /// `ALTER USER CURRENT_USER() IDENTIFIED BY 'pw'` — own account, MySQL ≥ 5.7.6.
    AlterCurrentUser,
    /// `ALTER USER 'u'@'h' IDENTIFIED BY 'pw'` — other account, MySQL ≥ 5.7.6
    /// or MariaDB ≥ 10.2 with CREATE USER.
    AlterUser,
}

/// Pure selection rule:
///
/// | server                | own account          | other account                                   |
/// |-----------------------|----------------------|-------------------------------------------------|
/// | MariaDB (any)         | `SetPasswordSelf`    | `AlterUser` if ≥ 10.2 and CREATE USER, else `SetPasswordFor` |
/// | MySQL ≥ 5.7.6         | `AlterCurrentUser`   | `AlterUser`                                     |
/// | MySQL < 5.7.6         | `SetPasswordSelf`    | `SetPasswordFor`                                |
///
/// MariaDB self uses `SET PASSWORD` because 10.4+ requires CREATE USER for
/// `ALTER USER` even on one's own account.
pub fn choose_statement(
    version: &ServerVersion,
    own_account: bool,
    privs: Privileges,
) -> StatementKind {
    match (version.flavor, own_account) {
        (Flavor::MariaDb, true) => StatementKind::SetPasswordSelf,
        (Flavor::MariaDb, false) => {
            if privs.create_user && version.at_least(10, 2, 0) {
                StatementKind::AlterUser
            } else {
                StatementKind::SetPasswordFor
            }
        }
        (Flavor::MySql, own) => match (version.at_least(5, 7, 6), own) {
            (true, true) => StatementKind::AlterCurrentUser,
            (true, false) => StatementKind::AlterUser,
            (false, true) => StatementKind::SetPasswordSelf,
            (false, false) => StatementKind::SetPasswordFor,
        },
    }
}

/// Render the statement chosen by [`choose_statement`].
///
/// The returned SQL contains the quoted password: treat it as a secret (it is
/// zeroed on drop) and never log it. NUL bytes in user, host or password are
/// rejected with [`MysqlError::InvalidInput`].
pub fn build_statement(
    kind: StatementKind,
    user: &str,
    host: &str,
    new_password: &str,
    no_backslash_escapes: bool,
) -> Result<Zeroizing<String>, MysqlError> {
    check_no_nul("new password", new_password)?;
    let pw = Zeroizing::new(quote_string(new_password, no_backslash_escapes));
    let sql = match kind {
        StatementKind::SetPasswordSelf => format!("SET PASSWORD = PASSWORD({})", *pw),
        StatementKind::AlterCurrentUser => {
            format!("ALTER USER CURRENT_USER() IDENTIFIED BY {}", *pw)
        }
        StatementKind::SetPasswordFor => format!(
            "SET PASSWORD FOR {} = PASSWORD({})",
            quote_account(user, host, no_backslash_escapes)?,
            *pw
        ),
        StatementKind::AlterUser => format!(
            "ALTER USER {} IDENTIFIED BY {}",
            quote_account(user, host, no_backslash_escapes)?,
            *pw
        ),
    };
    Ok(Zeroizing::new(sql))
}

/// Split `CURRENT_USER()` output (`user@host`) at the last `@`.
pub fn split_current_user(s: &str) -> Option<(&str, &str)> {
    s.rsplit_once('@')
}

/// Character sets for which backslash escaping of UTF-8 input is safe.
fn charset_is_safe(cs: &str) -> bool {
    matches!(
        cs.to_ascii_lowercase().as_str(),
        "utf8mb4" | "utf8" | "utf8mb3" | "latin1" | "ascii" | "binary"
    )
}

/// Change the password of account `login`@`user_host` (host defaults to `%`)
/// to `new_password` on an authenticated connection.
///
/// The account is "own" when `SELECT CURRENT_USER()` returns exactly
/// `login`@`user_host`; then a statement needing no privileges is used.
/// Otherwise the session user's global CREATE USER privilege is looked up in
/// `information_schema.USER_PRIVILEGES` and [`choose_statement`] decides.
/// Errors never contain the password.
pub fn change_password<S: Read + Write>(
    conn: &mut Conn<S>,
    login: &str,
    user_host: Option<&str>,
    new_password: &str,
) -> Result<(), MysqlError> {
    let host = user_host.unwrap_or("%");
    check_no_nul("user name", login)?;
    check_no_nul("host", host)?;
    check_no_nul("new password", new_password)?;
    let version = ServerVersion::parse(conn.server_version())?;

    let r = conn.query("SELECT CURRENT_USER(), @@session.character_set_client")?;
    let row = r
        .rows
        .first()
        .ok_or_else(|| MysqlError::protocol("SELECT CURRENT_USER() returned no row"))?;
    let current = row
        .first()
        .cloned()
        .flatten()
        .ok_or_else(|| MysqlError::protocol("CURRENT_USER() is NULL"))?;
    let charset = row.get(1).cloned().flatten().unwrap_or_default();
    if !charset_is_safe(&charset) {
        // e.g. the server ignored the handshake charset: make escaping sound.
        conn.execute("SET NAMES utf8mb4")?;
    }
    let (cur_user, cur_host) = split_current_user(&current)
        .ok_or_else(|| MysqlError::protocol("CURRENT_USER() has no '@'"))?;
    let own = cur_user == login && cur_host == host;

    let privs = if own || version.flavor == Flavor::MySql {
        Privileges::default()
    } else {
        let grantee = quote_account(cur_user, cur_host, false)?;
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES \
             WHERE PRIVILEGE_TYPE = 'CREATE USER' AND GRANTEE = {}",
            conn.quote(&grantee)
        );
        let r = conn.query(&sql)?;
        let n = r
            .rows
            .first()
            .and_then(|row| row.first().cloned().flatten())
            .unwrap_or_default();
        Privileges {
            create_user: n.trim() != "0" && !n.is_empty(),
        }
    };

    let kind = choose_statement(&version, own, privs);
    let sql = build_statement(kind, login, host, new_password, conn.no_backslash_escapes())?;
    conn.execute(&sql)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn v(s: &str) -> ServerVersion {
        ServerVersion::parse(s).unwrap()
    }

    #[test]
    fn version_parsing() {
        assert_eq!(
            v("5.5.5-10.11.19-MariaDB-0+deb12u1"),
            ServerVersion {
                flavor: Flavor::MariaDb,
                major: 10,
                minor: 11,
                patch: 19
            }
        );
        assert_eq!(
            v("11.4.2-MariaDB-log"),
            ServerVersion {
                flavor: Flavor::MariaDb,
                major: 11,
                minor: 4,
                patch: 2
            }
        );
        assert_eq!(
            v("8.0.36-0ubuntu0.22.04.1"),
            ServerVersion {
                flavor: Flavor::MySql,
                major: 8,
                minor: 0,
                patch: 36
            }
        );
        assert_eq!(
            v("5.7.44-log"),
            ServerVersion {
                flavor: Flavor::MySql,
                major: 5,
                minor: 7,
                patch: 44
            }
        );
        assert_eq!(v("9.1").patch, 0);
        assert!(ServerVersion::parse("garbage").is_err());
    }

    #[test]
    fn mariadb_self_uses_set_password_regardless_of_privileges() {
        for ver in [
            "5.5.5-10.11.19-MariaDB",
            "10.1.48-MariaDB",
            "11.4.2-MariaDB",
        ] {
            for cu in [false, true] {
                assert_eq!(
                    choose_statement(&v(ver), true, Privileges { create_user: cu }),
                    StatementKind::SetPasswordSelf
                );
            }
        }
    }

    #[test]
    fn mariadb_other_account() {
        let cu = Privileges { create_user: true };
        let none = Privileges::default();
        assert_eq!(
            choose_statement(&v("10.11.19-MariaDB"), false, cu),
            StatementKind::AlterUser
        );
        assert_eq!(
            choose_statement(&v("10.2.0-MariaDB"), false, cu),
            StatementKind::AlterUser
        );
        assert_eq!(
            choose_statement(&v("10.11.19-MariaDB"), false, none),
            StatementKind::SetPasswordFor
        );
        assert_eq!(
            choose_statement(&v("10.1.48-MariaDB"), false, cu),
            StatementKind::SetPasswordFor
        );
    }

    #[test]
    fn mysql_branches() {
        let p = Privileges::default();
        assert_eq!(
            choose_statement(&v("8.0.36"), true, p),
            StatementKind::AlterCurrentUser
        );
        assert_eq!(
            choose_statement(&v("5.7.6"), true, p),
            StatementKind::AlterCurrentUser
        );
        assert_eq!(
            choose_statement(&v("8.4.0"), false, p),
            StatementKind::AlterUser
        );
        assert_eq!(
            choose_statement(&v("5.7.5"), true, p),
            StatementKind::SetPasswordSelf
        );
        assert_eq!(
            choose_statement(&v("5.6.51-log"), false, p),
            StatementKind::SetPasswordFor
        );
    }

    #[test]
    fn statements_render_and_quote() {
        let s = |k, nbe| {
            build_statement(k, "o'k", "%", "p'w\\", nbe)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            s(StatementKind::SetPasswordSelf, false),
            r"SET PASSWORD = PASSWORD('p\'w\\')"
        );
        assert_eq!(
            s(StatementKind::SetPasswordSelf, true),
            r"SET PASSWORD = PASSWORD('p''w\')"
        );
        assert_eq!(
            s(StatementKind::AlterCurrentUser, false),
            r"ALTER USER CURRENT_USER() IDENTIFIED BY 'p\'w\\'"
        );
        assert_eq!(
            s(StatementKind::SetPasswordFor, false),
            r"SET PASSWORD FOR 'o\'k'@'%' = PASSWORD('p\'w\\')"
        );
        assert_eq!(
            s(StatementKind::AlterUser, true),
            r"ALTER USER 'o''k'@'%' IDENTIFIED BY 'p''w\'"
        );
    }

    #[test]
    fn nul_bytes_are_rejected_without_echoing_the_password() {
        let e = build_statement(StatementKind::AlterUser, "u", "%", "sec\0ret", false).unwrap_err();
        assert!(matches!(e, MysqlError::InvalidInput(_)));
        assert!(!e.to_string().contains("sec"));
        assert!(build_statement(StatementKind::AlterUser, "u\0", "%", "x", false).is_err());
    }

    #[test]
    fn current_user_split() {
        assert_eq!(
            split_current_user("root@localhost"),
            Some(("root", "localhost"))
        );
        assert_eq!(split_current_user("a@b@%"), Some(("a@b", "%")));
        assert_eq!(split_current_user("@localhost"), Some(("", "localhost")));
        assert_eq!(split_current_user("nope"), None);
    }
}
