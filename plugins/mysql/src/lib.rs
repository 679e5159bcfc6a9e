//! keeper's first-party MySQL/MariaDB rotator.
//!
//! Speaks the MySQL client protocol itself (`keeper-mysql-protocol`) over
//! the one TCP connection the sandbox allows: to the record's pinned target.
//!
//! - **rotate**: log in as the record's login with the old password and
//!   change the password with the statement the server and the account's
//!   privileges call for: on MariaDB an ordinary account changes its own
//!   password with `SET PASSWORD = PASSWORD(...)` (MariaDB's `ALTER USER`
//!   needs the CREATE USER privilege even for oneself, which is where
//!   Commander's plugin fails); on MySQL ≥ 5.7.6 `ALTER USER ... IDENTIFIED
//!   BY`. The account host is `cmdr:user_host` (default `%`).
//! - **verify**: a fresh login with the new password and `SELECT 1`.
//! - **revert**: log in with the new password and set the old one back.
//!
//! Passwords and logins are sent as properly escaped SQL string literals
//! (following the session's `NO_BACKSLASH_ESCAPES` mode), so quotes,
//! backslashes, `;` and `--` are safe and need not be disallowed. Each
//! protocol packet goes out in one write (no Nagle stalls in the sandbox).
//!
//! `caching_sha2_password` accounts (MySQL 8) whose password the server has
//! not cached need the server's RSA key over plain TCP: pin it with
//! `cmdr:server_public_key` (PEM), or allow fetching it from the server with
//! `cmdr:allow_public_key_retrieval=true` (open to a man in the middle).
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-mysql`.

use keeper_mysql_protocol::{Conn, ConnectOptions, MysqlError, change_password};
use keeper_plugin_sdk::net::TargetStream;
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator};

/// The MySQL rotator.
pub struct Mysql;

impl Rotator for Mysql {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "mysql",
            "Rotates MySQL and MariaDB passwords over the MySQL protocol",
        )
        .default_port(3306)
        .required_params(["host", "login", "password"])
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let mut conn = connect(req, req.old_password().expose())?;
        change_password(
            &mut conn,
            req.login(),
            req.param("user_host"),
            req.new_password().expose(),
        )
        .map_err(map_error)?;
        conn.close().map_err(map_error)
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let mut conn = connect(req, req.new_password().expose())?;
        conn.query("SELECT 1").map_err(map_error)?;
        conn.close().map_err(map_error)
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        let mut conn = connect(req, req.new_password().expose())?;
        change_password(
            &mut conn,
            req.login(),
            req.param("user_host"),
            req.old_password().expose(),
        )
        .map_err(map_error)?;
        conn.close().map_err(map_error)
    }
}

/// Logs in as the record's login with `password` at the pinned target.
fn connect(req: &Rotation, password: &str) -> Result<Conn<TargetStream>, PluginError> {
    let stream = TargetStream::connect(req.target()?)?;
    let mut options = ConnectOptions::new(req.login(), password);
    if let Some(pem) = req
        .param("server_public_key")
        .filter(|p| !p.trim().is_empty())
    {
        options = options.server_public_key_pem(pem);
    }
    if req
        .param("allow_public_key_retrieval")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        options = options.allow_public_key_retrieval(true);
    }
    Conn::connect(stream, &options).map_err(map_error)
}

/// Maps protocol errors to plugin errors, keeping the server's message.
fn map_error(error: MysqlError) -> PluginError {
    match error {
        MysqlError::Auth { code, message } => {
            PluginError::AuthFailed(format!("MySQL error {code}: {message}"))
        }
        MysqlError::Server {
            code,
            sql_state,
            message,
        } => PluginError::Rejected(format!("MySQL error {code} ({sql_state}): {message}")),
        MysqlError::Io(e) => {
            PluginError::Unreachable(format!("connection to the MySQL server failed: {e}"))
        }
        MysqlError::Unsupported(m) => PluginError::Unsupported(m),
        MysqlError::InvalidInput(m) => PluginError::InvalidConfig(m),
        other => PluginError::Internal(other.to_string()),
    }
}

keeper_plugin_sdk::register_rotator!(Mysql);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_mysql() {
        let info = Mysql::describe();
        assert_eq!(info.name, "mysql");
        assert_eq!(info.default_port, Some(3306));
        assert_eq!(info.required_params, ["host", "login", "password"]);
        assert!(
            info.disallowed_chars.is_empty(),
            "quoting makes every character safe"
        );
    }

    #[test]
    fn errors_keep_the_server_message_and_category() {
        let e = map_error(MysqlError::Auth {
            code: 1045,
            message: "Access denied for user 'a'".into(),
        });
        assert!(
            matches!(e, PluginError::AuthFailed(m) if m.contains("1045") && m.contains("Access denied"))
        );
        let e = map_error(MysqlError::Server {
            code: 1227,
            sql_state: "42000".into(),
            message: "need CREATE USER".into(),
        });
        assert!(matches!(e, PluginError::Rejected(m) if m.contains("need CREATE USER")));
        let e = map_error(MysqlError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert!(matches!(e, PluginError::Unreachable(_)));
    }

    #[test]
    fn a_missing_target_is_a_configuration_error() {
        let req = Rotation::new("app", "old", "new");
        assert!(matches!(
            Mysql::verify(&req),
            Err(PluginError::InvalidConfig(_))
        ));
    }
}
