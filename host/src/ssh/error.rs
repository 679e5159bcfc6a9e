//! Why an SSH operation failed, one variant per WIT `ssh-error` case.

/// Why an SSH operation failed.
///
/// Messages name the target and what went wrong, never a password or a
/// private key. The variants map one to one onto the WIT `ssh-error`
/// (`denied` is decided by the capability gate before a client is used).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SshError {
    /// The target could not be reached, or it does not speak SSH.
    #[error("{0}")]
    Unreachable(String),
    /// The server's host key is unknown, changed, or does not match the
    /// key pinned in the record; the session was refused.
    #[error("{0}")]
    HostKey(String),
    /// The server refused the credentials (or the private key could not be
    /// read).
    #[error("{0}")]
    AuthFailed(String),
    /// The session or a channel failed after login.
    #[error("{0}")]
    Channel(String),
    /// The operation did not finish in time.
    #[error("the SSH operation timed out")]
    Timeout,
}

impl SshError {
    /// A channel error from a russh error, with what we were doing.
    pub(crate) fn channel(doing: &str, err: &russh::Error) -> Self {
        SshError::Channel(format!("{doing}: {err}"))
    }
}
