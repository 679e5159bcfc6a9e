//! Error type for the LDAP client.

/// Everything that can go wrong talking to an LDAP server.
///
/// No variant ever carries a password: messages are produced by this crate
/// (which never formats secrets) or copied from the server's diagnostic
/// text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LdapError {
    /// The underlying stream failed (connection refused, reset, EOF, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something this client cannot parse or did not expect.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered an operation with a result code other than success.
    #[error("{operation} failed: {} ({code}){}", result_name(*code), diagnostic(message))]
    Result {
        /// The operation, e.g. `bind`.
        operation: &'static str,
        /// The LDAP result code, e.g. 49 (invalidCredentials).
        code: u32,
        /// The server's diagnostic message (may be empty).
        message: String,
    },
    /// The server closed the session with a notice of disconnection.
    #[error("the server ended the session: {0}")]
    Disconnected(String),
    /// A caller-supplied value cannot be used (e.g. an empty password,
    /// which RFC 4513 makes an unauthenticated bind).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl LdapError {
    /// The result code when the server refused an operation.
    pub fn code(&self) -> Option<u32> {
        match self {
            LdapError::Result { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn diagnostic(message: &str) -> String {
    if message.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", message.trim())
    }
}

/// The RFC 4511 name of a result code (`unknown` for others).
pub fn result_name(code: u32) -> &'static str {
    match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        13 => "confidentialityRequired",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        65 => "objectClassViolation",
        80 => "other",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_name_the_operation_code_and_server_text() {
        let e = LdapError::Result {
            operation: "bind",
            code: 49,
            message: "".into(),
        };
        assert_eq!(e.to_string(), "bind failed: invalidCredentials (49)");
        assert_eq!(e.code(), Some(49));
        let e = LdapError::Result {
            operation: "password modify",
            code: 53,
            message: "unwilling to verify old password ".into(),
        };
        assert_eq!(
            e.to_string(),
            "password modify failed: unwillingToPerform (53): unwilling to verify old password"
        );
    }
}
