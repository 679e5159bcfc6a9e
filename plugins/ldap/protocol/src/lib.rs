//! Minimal, blocking LDAPv3 client (RFC 4511) for keeper's `ldap` rotation
//! plugin.
//!
//! Works over any `S: std::io::Read + std::io::Write` (a `TcpStream`
//! natively, the sandbox's socket on wasm32-wasip2) and carries its own BER
//! codec for the few operations a password change needs: simple bind,
//! the RFC 3062 password-modify extended operation, and unbind.
//! Every request is written with a single `write_all`; every response is
//! read whole, bounded by [`MAX_MESSAGE`], before it is parsed.
//!
//! ```no_run
//! use keeper_ldap_protocol::Conn;
//! # fn main() -> Result<(), keeper_ldap_protocol::LdapError> {
//! let stream = std::net::TcpStream::connect("127.0.0.1:389")?;
//! let mut conn = Conn::new(stream);
//! let dn = "uid=app,ou=people,dc=example,dc=com";
//! conn.simple_bind(dn, b"old-secret")?;
//! conn.password_modify(Some(dn), Some(b"old-secret"), b"new-secret")?;
//! conn.unbind()?;
//! # Ok(())
//! # }
//! ```
//!
//! No TLS (neither LDAPS nor StartTLS): passwords cross the connection in
//! clear text, so callers decide where that is acceptable.

mod ber;
mod conn;
mod error;
#[cfg(not(target_family = "wasm"))]
pub mod testkit;

pub use conn::{Conn, MAX_MESSAGE, PASSWORD_MODIFY_OID};
pub use error::{LdapError, result_name};
