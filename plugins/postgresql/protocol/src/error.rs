//! Error type for the PostgreSQL protocol client.

/// SQLSTATEs that mean "these credentials were refused" and are reported as
/// [`PgError::Auth`] rather than [`PgError::Server`].
pub const AUTH_SQLSTATES: [&str; 2] = [
    "28P01", // invalid_password
    "28000", // invalid_authorization_specification (no pg_hba entry, no such role...)
];

/// Everything that can go wrong talking to a PostgreSQL server.
///
/// No variant ever carries a password: messages are either produced by this
/// crate (which never formats secrets) or copied from the server, which is
/// never sent one in a statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The underlying stream failed (connection refused, reset, EOF, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something this client cannot parse or did not expect.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server refused the credentials (SQLSTATE 28P01 or 28000), or
    /// could not prove during SCRAM that it knows them.
    #[error("authentication failed ({code}): {message}")]
    Auth {
        /// SQLSTATE, e.g. `28P01`.
        code: String,
        /// Server message (never contains the password).
        message: String,
    },
    /// The server answered a statement with an ErrorResponse.
    #[error("server error {code}: {message}")]
    Server {
        /// Five-character SQLSTATE, e.g. `42601` for a syntax error.
        code: String,
        /// Human-readable server message.
        message: String,
    },
    /// The server asked for something this client does not implement (an
    /// authentication method such as GSSAPI, SCRAM with channel binding only).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A caller-supplied value cannot be used safely (e.g. contains a NUL byte).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl PgError {
    /// Builds the error for a server ErrorResponse, mapping the
    /// authentication SQLSTATEs to [`PgError::Auth`].
    pub fn from_server(code: String, message: String) -> Self {
        if AUTH_SQLSTATES.contains(&code.as_str()) {
            PgError::Auth { code, message }
        } else {
            PgError::Server { code, message }
        }
    }

    /// The SQLSTATE, if this error came from the server.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            PgError::Auth { code, .. } | PgError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn protocol(what: impl std::fmt::Display) -> Self {
        PgError::Protocol(what.to_string())
    }
}

/// Refuses values that must not contain NUL bytes (role names, passwords,
/// database names: the protocol carries them as C strings). `what` names
/// the value; the value itself is never echoed.
pub fn check_no_nul(what: &str, value: &str) -> Result<(), PgError> {
    if value.contains('\0') {
        Err(PgError::InvalidInput(format!("{what} contains a NUL byte")))
    } else {
        Ok(())
    }
}
