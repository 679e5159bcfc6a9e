//! Error type for the MySQL protocol client.

use std::fmt;

/// MySQL/MariaDB server error codes that mean "access denied" and are
/// reported as [`MysqlError::Auth`] rather than [`MysqlError::Server`].
pub const ACCESS_DENIED_CODES: [u16; 3] = [
    1044, // ER_DBACCESS_DENIED_ERROR
    1045, // ER_ACCESS_DENIED_ERROR
    1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
];

/// Everything that can go wrong talking to a MySQL-compatible server.
///
/// No variant ever carries a password: messages are either produced by this
/// crate (which never formats secrets) or copied from the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MysqlError {
    /// The underlying stream failed (connection refused, reset, EOF, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something this client cannot parse or did not expect.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server rejected the credentials (codes 1044, 1045, 1698).
    #[error("authentication failed (error {code}): {message}")]
    Auth {
        /// Server error code.
        code: u16,
        /// Server message (never contains the password).
        message: String,
    },
    /// The server answered a command with an ERR packet.
    #[error("server error {code} ({sql_state}): {message}")]
    Server {
        /// Server error code, e.g. 1064 for a syntax error.
        code: u16,
        /// Five-character SQLSTATE, e.g. `42000`; empty if the server sent none.
        sql_state: String,
        /// Human-readable server message.
        message: String,
    },
    /// The server asked for something this client does not implement
    /// (an unknown auth plugin, a protocol version other than 10, ...).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A caller-supplied value cannot be used safely (e.g. contains a NUL byte).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl MysqlError {
    /// Build the error for a server ERR packet, mapping access-denied codes to
    /// [`MysqlError::Auth`].
    pub fn from_server(code: u16, sql_state: String, message: String) -> Self {
        if ACCESS_DENIED_CODES.contains(&code) {
            MysqlError::Auth { code, message }
        } else {
            MysqlError::Server {
                code,
                sql_state,
                message,
            }
        }
    }

    /// The server error code, if this error came from an ERR packet.
    pub fn server_code(&self) -> Option<u16> {
        match self {
            MysqlError::Auth { code, .. } | MysqlError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn protocol(what: impl fmt::Display) -> Self {
        MysqlError::Protocol(what.to_string())
    }
}
