//! keeper's first-party PostgreSQL rotator.
//!
//! Speaks the PostgreSQL protocol itself (`keeper-postgres-protocol`) over
//! the one TCP connection the sandbox allows: to the record's pinned target.
//!
//! - **rotate**: log in as the record's login with the old password
//!   (SCRAM-SHA-256 or md5, as the server asks) and run
//!   `ALTER ROLE "<login>" PASSWORD '<verifier>'`. The verifier is computed
//!   in the sandbox (SCRAM-SHA-256 with a fresh salt; md5 for servers
//!   before 10, or with `cmdr:password_encryption=md5`), so the password
//!   itself never reaches the server: not its statement log, not
//!   `pg_stat_activity`. A role may always change its own password; no
//!   privilege is needed. The login is always a quoted identifier, taken
//!   exactly (Commander's plugin case-folds it and can be injected).
//! - **verify**: a fresh login with the new password and `SELECT 1`. If the
//!   server asked for no password (`trust`), the login proves nothing: the
//!   plugin says so in the log.
//! - **revert**: log in with the new password and set the old one back.
//!
//! Parameters: `host`, `login`, `password` (required); `cmdr:db` (the
//! database to connect to, default `postgres`, as Commander);
//! `cmdr:password_encryption` (`scram-sha-256` or `md5`);
//! `cmdr:allow_cleartext_password=true` to answer a server that asks for
//! the password in clear text (pg_hba method `password`; off by default,
//! since the connection has no TLS). No TLS: servers that require it
//! (`hostssl` only) are refused by the server.
//!
//! Every character is safe in a password (it is hashed, never quoted into
//! SQL) except NUL, which the protocol cannot carry and which is refused.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-postgresql`.

use keeper_plugin_sdk::net::TargetStream;
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, log};
use keeper_postgres_protocol::{
    AuthMethod, Conn, ConnectOptions, Encryption, PgError, change_password,
};

/// The PostgreSQL rotator.
pub struct Postgresql;

/// The database connected to when the record names none (Commander's default).
pub const DEFAULT_DATABASE: &str = "postgres";

impl Rotator for Postgresql {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "postgresql",
            "Rotates PostgreSQL role passwords (sent pre-hashed as SCRAM-SHA-256)",
        )
        .default_port(5432)
        .required_params(["host", "login", "password"])
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        set(
            req,
            req.old_password().expose(),
            req.new_password().expose(),
        )
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let mut conn = connect(req, req.new_password().expose())?;
        if conn.auth_method() == AuthMethod::Trust {
            log::warn(&format!(
                "the server let {} in without asking for a password (trust): \
                 this login does not prove the new password",
                req.login()
            ));
        }
        conn.query("SELECT 1").map_err(map_error)?;
        conn.close().map_err(map_error)
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        set(
            req,
            req.new_password().expose(),
            req.old_password().expose(),
        )
    }
}

/// Logs in with `from` and sets the login's password to `to`.
fn set(req: &Rotation, from: &str, to: &str) -> Result<(), PluginError> {
    let encryption = match req
        .param("password_encryption")
        .filter(|p| !p.trim().is_empty())
    {
        None => None,
        Some(text) => Some(Encryption::parse(text).ok_or_else(|| {
            PluginError::InvalidConfig(format!(
                "cmdr:password_encryption {text:?} is neither scram-sha-256 nor md5"
            ))
        })?),
    };
    let mut conn = connect(req, from)?;
    // Once the statement is sent, a lost connection may or may not have
    // changed the password: the host must check rather than assume.
    change_password(&mut conn, req.login(), to, encryption).map_err(|e| match e {
        PgError::InvalidInput(_) => map_error(e),
        other => map_error(other).target_may_have_changed(),
    })?;
    conn.close()
        .map_err(|e| map_error(e).target_may_have_changed())
}

/// Logs in as the record's login with `password` at the pinned target.
fn connect(req: &Rotation, password: &str) -> Result<Conn<TargetStream>, PluginError> {
    let database = req
        .param("db")
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(DEFAULT_DATABASE);
    let allow_cleartext = req
        .param("allow_cleartext_password")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let options = ConnectOptions::new(req.login(), password)
        .database(database)
        .allow_cleartext(allow_cleartext);
    let stream = TargetStream::connect(req.target()?)?;
    Conn::connect(stream, &options).map_err(map_error)
}

/// Maps protocol errors to plugin errors, keeping the server's message.
fn map_error(error: PgError) -> PluginError {
    match error {
        PgError::Auth { code, message } => {
            PluginError::AuthFailed(format!("PostgreSQL {code}: {message}"))
        }
        PgError::Server { code, message } => {
            PluginError::Rejected(format!("PostgreSQL {code}: {message}"))
        }
        PgError::Io(e) => {
            PluginError::Unreachable(format!("connection to the PostgreSQL server failed: {e}"))
        }
        PgError::Unsupported(m) => PluginError::Unsupported(m),
        PgError::InvalidInput(m) => PluginError::InvalidConfig(m),
        other => PluginError::Internal(other.to_string()),
    }
}

keeper_plugin_sdk::register_rotator!(Postgresql);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_postgresql() {
        let info = Postgresql::describe();
        assert_eq!(info.name, "postgresql");
        assert_eq!(info.default_port, Some(5432));
        assert_eq!(info.required_params, ["host", "login", "password"]);
        assert!(
            info.disallowed_chars.is_empty(),
            "the password is hashed, never quoted: every character is safe"
        );
    }

    #[test]
    fn errors_keep_the_server_message_and_category() {
        let e = map_error(PgError::Auth {
            code: "28P01".into(),
            message: "password authentication failed for user \"a\"".into(),
        });
        assert!(matches!(e, PluginError::AuthFailed(m) if m.contains("28P01")));
        let e = map_error(PgError::Server {
            code: "42501".into(),
            message: "permission denied".into(),
        });
        assert!(matches!(e, PluginError::Rejected(m) if m.contains("permission denied")));
        let e = map_error(PgError::Io(std::io::ErrorKind::ConnectionRefused.into()));
        assert!(matches!(e, PluginError::Unreachable(_)));
        let e = map_error(PgError::InvalidInput("NUL".into()));
        assert!(matches!(e, PluginError::InvalidConfig(_)));
    }

    #[test]
    fn a_missing_target_or_bad_encryption_is_a_configuration_error() {
        let req = Rotation::new("app", "old", "new");
        assert!(matches!(
            Postgresql::verify(&req),
            Err(PluginError::InvalidConfig(_))
        ));
        let req = Rotation::new("app", "old", "new").with_param("password_encryption", "rot13");
        assert!(matches!(
            Postgresql::rotate(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("rot13")
        ));
    }
}
