//! Changing a role's password without the password ever reaching the
//! server in clear: `ALTER ROLE "<role>" PASSWORD '<verifier>'`, the
//! verifier computed here.

use std::io::{Read, Write};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::auth::{DEFAULT_ITERATIONS, SALT_LEN, md5_verifier, random_bytes, scram_verifier};
use crate::conn::Conn;
use crate::error::{PgError, check_no_nul};
use crate::quote::{quote_ident, quote_literal};

/// The first server version that stores SCRAM-SHA-256 verifiers (10).
pub const SCRAM_SINCE: u32 = 100_000;

/// How the new password is stored on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encryption {
    /// A SCRAM-SHA-256 verifier (PostgreSQL 10 and later).
    ScramSha256,
    /// An md5 hash (what servers before 10 store; weaker).
    Md5,
}

impl Encryption {
    /// Parses `scram-sha-256` or `md5` (PostgreSQL's `password_encryption`
    /// spellings, any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "scram-sha-256" | "scram" => Some(Self::ScramSha256),
            "md5" => Some(Self::Md5),
            _ => None,
        }
    }

    /// SCRAM from version 10 on, md5 before (or when the version is unknown
    /// and old servers must keep working: unknown means SCRAM).
    pub fn for_server(version_num: Option<u32>) -> Self {
        match version_num {
            Some(v) if v < SCRAM_SINCE => Self::Md5,
            _ => Self::ScramSha256,
        }
    }
}

/// The longest role name PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer
/// names are silently truncated by the server, so they are refused here.
pub const MAX_ROLE_NAME: usize = 63;

/// The statement that sets `role`'s password to `password`, stored as
/// `encryption` (a new random salt for SCRAM).
///
/// Fails with [`PgError::InvalidInput`] for a NUL in either, an empty role
/// name or one longer than [`MAX_ROLE_NAME`] bytes.
pub fn password_statement(
    role: &str,
    password: &str,
    encryption: Encryption,
) -> Result<Zeroizing<String>, PgError> {
    check_no_nul("the role name", role)?;
    check_no_nul("the password", password)?;
    if role.is_empty() || role.len() > MAX_ROLE_NAME {
        return Err(PgError::InvalidInput(format!(
            "a role name must be 1 to {MAX_ROLE_NAME} bytes long (this one is {})",
            role.len()
        )));
    }
    let verifier = match encryption {
        Encryption::ScramSha256 => {
            scram_verifier(password, &random_bytes(SALT_LEN)?, DEFAULT_ITERATIONS)
        }
        Encryption::Md5 => md5_verifier(password, role),
    };
    Ok(Zeroizing::new(format!(
        "ALTER ROLE {} PASSWORD {}",
        quote_ident(role)?,
        quote_literal(&verifier)?
    )))
}

/// Sets `role`'s password to `new_password` over a logged-in connection:
/// a role can always change its own; changing another's needs CREATEROLE.
/// `encryption` `None` picks [`Encryption::for_server`].
///
/// Fails with [`PgError::Server`] if the server refuses (e.g. SQLSTATE
/// 42501 without the privilege), or as [`password_statement`] does.
pub fn change_password<S: Read + Write>(
    conn: &mut Conn<S>,
    role: &str,
    new_password: &str,
    encryption: Option<Encryption>,
) -> Result<(), PgError> {
    let encryption =
        encryption.unwrap_or_else(|| Encryption::for_server(conn.server_version_num()));
    let sql = password_statement(role, new_password, encryption)?;
    conn.query(&sql)?;
    Ok(())
}

/// Whether `verifier` (a `pg_authid.rolpassword` value) is what `password`
/// hashes to: its own salt and iterations for SCRAM, `role` for md5.
/// For tests and diagnostics.
pub fn verifier_matches(verifier: &str, role: &str, password: &str) -> bool {
    if verifier.starts_with("md5") {
        return md5_verifier(password, role).as_str() == verifier;
    }
    let Some(rest) = verifier.strip_prefix("SCRAM-SHA-256$") else {
        return false;
    };
    let Some((iter_salt, _keys)) = rest.split_once('$') else {
        return false;
    };
    let Some((iterations, salt)) = iter_salt.split_once(':') else {
        return false;
    };
    let (Ok(iterations), Ok(salt)) = (
        iterations.parse::<u32>(),
        base64::engine::general_purpose::STANDARD.decode(salt),
    ) else {
        return false;
    };
    scram_verifier(password, &salt, iterations).as_str() == verifier
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn statement_quotes_the_role_and_never_holds_the_password() {
        let pw = "p'a\"s\\s;--";
        let sql = password_statement("Ro\"le; DROP", pw, Encryption::ScramSha256).unwrap();
        assert!(sql.starts_with("ALTER ROLE \"Ro\"\"le; DROP\" PASSWORD 'SCRAM-SHA-256$4096:"));
        assert!(!sql.contains(pw));
        let verifier = sql.split('\'').nth(1).unwrap();
        assert!(verifier_matches(verifier, "Ro\"le; DROP", pw));
        assert!(!verifier_matches(verifier, "Ro\"le; DROP", "other"));
        let md5 = password_statement("app", pw, Encryption::Md5).unwrap();
        assert_eq!(
            md5.as_str(),
            format!(
                "ALTER ROLE \"app\" PASSWORD '{}'",
                md5_verifier(pw, "app").as_str()
            )
        );
    }

    #[test]
    fn every_statement_gets_a_fresh_salt() {
        let a = password_statement("app", "pw", Encryption::ScramSha256).unwrap();
        let b = password_statement("app", "pw", Encryption::ScramSha256).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn bad_names_and_passwords_are_refused() {
        for (role, pw) in [("a\0b", "pw"), ("app", "p\0w"), ("", "pw")] {
            assert!(matches!(
                password_statement(role, pw, Encryption::ScramSha256),
                Err(PgError::InvalidInput(_))
            ));
        }
        let long = "r".repeat(64);
        assert!(password_statement(&long, "pw", Encryption::Md5).is_err());
        assert!(password_statement(&"r".repeat(63), "pw", Encryption::Md5).is_ok());
    }

    #[test]
    fn encryption_by_version_and_name() {
        assert_eq!(Encryption::for_server(Some(90624)), Encryption::Md5);
        assert_eq!(
            Encryption::for_server(Some(100000)),
            Encryption::ScramSha256
        );
        assert_eq!(Encryption::for_server(None), Encryption::ScramSha256);
        assert_eq!(
            Encryption::parse("SCRAM-SHA-256"),
            Some(Encryption::ScramSha256)
        );
        assert_eq!(Encryption::parse(" md5 "), Some(Encryption::Md5));
        assert_eq!(Encryption::parse("plain"), None);
    }
}
