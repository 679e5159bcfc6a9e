//! Minimal, blocking MySQL / MariaDB client protocol for keeper's mysql
//! rotation plugin.
//!
//! Works over any `S: std::io::Read + std::io::Write` (a `TcpStream`
//! natively, the sandbox socket wrapper on wasm32-wasip2). Implements the
//! HandshakeV10 / HandshakeResponse41 exchange, `mysql_native_password` and
//! `caching_sha2_password` (fast path and RSA full authentication without
//! TLS), auth switching, `COM_QUERY` with text result sets, `COM_PING` and
//! `COM_QUIT`, plus injection-proof quoting and password-change statement
//! selection. Every packet is written with a single `write_all`.
//!
//! ```no_run
//! use keeper_mysql_protocol::{change_password, Conn, ConnectOptions};
//! # fn main() -> Result<(), keeper_mysql_protocol::MysqlError> {
//! let tcp = std::net::TcpStream::connect("127.0.0.1:3306")?;
//! tcp.set_nodelay(true)?;
//! let mut conn = Conn::connect(tcp, &ConnectOptions::new("app", "old-secret"))?;
//! let r = conn.query("SELECT CURRENT_USER()")?;
//! println!("{:?} {:?}", r.columns, r.rows);
//! change_password(&mut conn, "app", None, "new-secret")?;
//! conn.close()?;
//! # Ok(())
//! # }
//! ```
//!
//! No TLS: caching_sha2_password full authentication uses the RSA path,
//! which needs a pinned server key or explicit permission to fetch it.

pub mod auth;
mod conn;
mod error;
mod packet;
mod password;
mod quote;

pub use conn::{Conn, ConnectOptions, Handshake, OkPacket, QueryResult, caps, status};
pub use error::{ACCESS_DENIED_CODES, MysqlError};
pub use password::{
    Flavor, Privileges, ServerVersion, StatementKind, build_statement, change_password,
    choose_statement, split_current_user,
};
pub use quote::{check_no_nul, quote_account, quote_string};
