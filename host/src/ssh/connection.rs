//! The connection both a [`Session`](super::Session) and a
//! [`Pty`](super::Pty) hold: the russh handler that checks the server's host
//! key, and the shared handle that keeps the connection open while either
//! lives.

use std::sync::Arc;

use russh::client;
use russh::keys::PublicKeyOrCertificate;

use super::SshError;
use super::known_hosts::{HostKeyPolicy, fingerprint, host_pattern};

/// The most bytes kept of a command's stdout, and separately of its stderr;
/// the rest is read and dropped.
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// The russh handler: checks the host key against the policy.
pub(super) struct Checker {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) policy: HostKeyPolicy,
}

/// Errors the handler can end a handshake with.
#[derive(Debug)]
pub(super) enum HandshakeError {
    Russh(russh::Error),
    HostKey(SshError),
}

impl From<russh::Error> for HandshakeError {
    fn from(e: russh::Error) -> Self {
        Self::Russh(e)
    }
}

impl client::Handler for Checker {
    type Error = HandshakeError;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                return Err(HandshakeError::HostKey(SshError::HostKey(format!(
                    "{} presented a host certificate; keeper checks plain host keys only",
                    host_pattern(&self.host, self.port)
                ))));
            }
        };
        let verdict = self
            .policy
            .check(&self.host, self.port, key)
            .map_err(HandshakeError::HostKey)?;
        tracing::debug!(
            target: "keeper::ssh",
            "host key {} of {} accepted ({verdict:?})",
            fingerprint(key),
            host_pattern(&self.host, self.port)
        );
        Ok(true)
    }
}

/// Appends `data` to `buf` up to [`OUTPUT_CAP`] bytes.
pub(super) fn push_capped(buf: &mut Vec<u8>, data: &[u8]) {
    let room = OUTPUT_CAP.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

/// Keeps the connection alive for a [`Pty`](super::Pty) that outlives its
/// session resource.
pub(super) type SharedHandle = Arc<client::Handle<Checker>>;
