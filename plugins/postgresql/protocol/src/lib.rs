//! Minimal, blocking PostgreSQL client (frontend/backend protocol 3.0) for
//! keeper's postgresql rotation plugin.
//!
//! Works over any `S: std::io::Read + std::io::Write` (a `TcpStream`
//! natively, the sandbox's socket on wasm32-wasip2). Implements the startup
//! message, SCRAM-SHA-256 (server signature checked), md5 and, when
//! allowed, cleartext password authentication, the simple query protocol,
//! injection-proof quoting, and password changes that send only a verifier
//! computed on the client: `ALTER ROLE "<role>" PASSWORD 'SCRAM-SHA-256$...'`,
//! so the password never reaches the server's statement log. Every message
//! is written with a single `write_all`.
//!
//! ```no_run
//! use keeper_postgres_protocol::{Conn, ConnectOptions, change_password};
//! # fn main() -> Result<(), keeper_postgres_protocol::PgError> {
//! let options = ConnectOptions::new("app", "old-secret").database("postgres");
//! let mut conn = Conn::connect_tcp("127.0.0.1:5432", &options)?;
//! change_password(&mut conn, "app", "new-secret", None)?;
//! conn.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! No TLS: a server that only accepts `hostssl` connections, or offers
//! only `SCRAM-SHA-256-PLUS`, is refused with [`PgError::Unsupported`] or
//! its own error.

pub mod auth;
mod conn;
mod error;
mod message;
mod password;
mod quote;
#[cfg(not(target_family = "wasm"))]
pub mod testkit;

pub use conn::{AuthMethod, Conn, ConnectOptions, QueryResult};
pub use error::{AUTH_SQLSTATES, PgError, check_no_nul};
pub use password::{
    Encryption, MAX_ROLE_NAME, SCRAM_SINCE, change_password, password_statement, verifier_matches,
};
pub use quote::{quote_ident, quote_literal};
