//! `keeper:plugin/ssh`: SSH sessions to the record's pinned target.
//!
//! The gate is enforced here: without the granted `ssh` capability, or
//! without a pinned target for the call, every session is refused. A
//! granted session goes only to the pinned address, its host key is
//! checked by [`crate::ssh::HostKeyPolicy`] built from the call's
//! [`SshSettings`], and every operation is bounded by the call's remaining
//! time (plus the plugin's own, shorter, timeouts for PTY reads and waits).

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::component::Resource;
use zeroize::Zeroizing;

use super::PluginState;
use crate::runtime::bindings::latest::rotator::keeper::plugin::ssh::{
    Credential, ExecOutput, Host, HostPty, HostSession, SshError,
};
use crate::ssh::{self as client, HostKeyPolicy, PinnedHostKey, SshClient};

/// How long a goodbye to the server may take when a resource is dropped.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// Host side of an SSH session resource.
#[derive(Debug)]
pub struct SshSession {
    session: client::Session,
}

/// Host side of a PTY channel resource.
#[derive(Debug)]
pub struct SshPty {
    pty: client::Pty,
}

/// The call's host-key settings for SSH sessions.
///
/// The default has no `known_hosts` file, accepts no new key and pins
/// none: every host is unknown and refused.
#[derive(Debug, Clone, Default)]
pub struct SshSettings {
    /// The user's known hosts (`<data dir>/known_hosts`).
    pub known_hosts: Option<PathBuf>,
    /// `--accept-host-key`: accept and record a host not listed yet
    /// (a changed key is refused regardless).
    pub accept_new_host_key: bool,
    /// The record's `cmdr:host_key`: `ssh-ed25519 AAAA...` or `SHA256:...`.
    /// When set it alone decides.
    pub pinned_host_key: Option<String>,
}

/// Whether a call may open SSH sessions, to where, and which host keys it
/// trusts.
#[derive(Debug, Clone, Default)]
pub struct SshGate {
    granted: bool,
    target: Option<std::net::SocketAddr>,
    host_name: Option<String>,
    settings: SshSettings,
}

impl SshGate {
    /// A gate for a call.
    pub fn new(granted: bool, target: Option<std::net::SocketAddr>) -> Self {
        Self {
            granted,
            target,
            host_name: None,
            settings: SshSettings::default(),
        }
    }

    /// The same gate checking host keys for `host_name` (the target as the
    /// record writes it; the address's IP when `None`) under `settings`.
    pub fn with_host_keys(mut self, host_name: Option<String>, settings: SshSettings) -> Self {
        self.host_name = host_name;
        self.settings = settings;
        self
    }

    /// The address a session may go to.
    ///
    /// # Errors
    ///
    /// `denied` when not granted or the call has no target.
    pub fn admit(&self) -> Result<std::net::SocketAddr, SshError> {
        if !self.granted {
            return Err(SshError::Denied(
                "the ssh capability is not granted to this plugin".into(),
            ));
        }
        self.target.ok_or_else(|| {
            SshError::Denied("this call has no target to open an SSH session to".into())
        })
    }

    /// The name host keys are recorded under for `addr`.
    fn host_name(&self, addr: std::net::SocketAddr) -> String {
        self.host_name
            .clone()
            .unwrap_or_else(|| addr.ip().to_string())
    }

    /// The host-key policy of this call.
    ///
    /// # Errors
    ///
    /// [`client::SshError::HostKey`] when the pinned key cannot be parsed.
    fn policy(&self) -> Result<HostKeyPolicy, client::SshError> {
        Ok(HostKeyPolicy {
            known_hosts: self.settings.known_hosts.clone(),
            accept_new: self.settings.accept_new_host_key,
            pinned: self
                .settings
                .pinned_host_key
                .as_deref()
                .map(PinnedHostKey::parse)
                .transpose()?,
        })
    }
}

/// The WIT error for a client error.
fn to_wit(err: client::SshError) -> SshError {
    match err {
        client::SshError::Unreachable(m) => SshError::Unreachable(m),
        client::SshError::HostKey(m) => SshError::HostKey(m),
        client::SshError::AuthFailed(m) => SshError::AuthFailed(m),
        client::SshError::Timeout => SshError::Timeout,
        other => SshError::Channel(other.to_string()),
    }
}

/// A WIT credential, with its secrets moved into zeroizing strings.
fn credential(credential: Credential) -> client::Credential {
    match credential {
        Credential::Password(password) => client::Credential::Password(Zeroizing::new(password)),
        Credential::PrivateKey(key) => client::Credential::PrivateKey {
            pem: Zeroizing::new(key.private_key),
            passphrase: key.passphrase.map(Zeroizing::new),
        },
    }
}

impl PluginState {
    /// `requested` bounded by the call's remaining time; `None` when the
    /// call is out of time.
    fn ssh_budget(&self, requested: Option<Duration>) -> Option<Duration> {
        let remaining = self.remaining();
        let budget = requested.map_or(remaining, |r| r.min(remaining));
        (!remaining.is_zero()).then_some(budget)
    }
}

impl Host for PluginState {}

impl HostSession for PluginState {
    async fn connect(
        &mut self,
        user: String,
        credential_in: Credential,
    ) -> wasmtime::Result<Result<Resource<SshSession>, SshError>> {
        let credential = credential(credential_in);
        let addr = match self.ssh.admit() {
            Ok(addr) => addr,
            Err(e) => {
                tracing::warn!(target: "keeper::sandbox", "denied plugin SSH session");
                return Ok(Err(e));
            }
        };
        let policy = match self.ssh.policy() {
            Ok(policy) => policy,
            Err(e) => return Ok(Err(to_wit(e))),
        };
        let Some(budget) = self.ssh_budget(None) else {
            return Ok(Err(SshError::Timeout));
        };
        let host_name = self.ssh.host_name(addr);
        let session =
            match SshClient::connect(addr, &host_name, &user, &credential, &policy, budget).await {
                Ok(session) => session,
                Err(e) => {
                    tracing::info!(target: "keeper::ssh", "SSH session to {addr} failed: {e}");
                    return Ok(Err(to_wit(e)));
                }
            };
        Ok(Ok(self.table.push(SshSession { session })?))
    }

    async fn exec(
        &mut self,
        self_: Resource<SshSession>,
        command: String,
        stdin: Vec<u8>,
    ) -> wasmtime::Result<Result<ExecOutput, SshError>> {
        let Some(budget) = self.ssh_budget(None) else {
            return Ok(Err(SshError::Timeout));
        };
        let stdin = Zeroizing::new(stdin);
        let session = &self.table.get(&self_)?.session;
        Ok(session
            .exec(&command, &stdin, budget)
            .await
            .map(|out| ExecOutput {
                exit_status: out.exit_status,
                stdout: out.stdout,
                stderr: out.stderr,
            })
            .map_err(to_wit))
    }

    async fn open_pty(
        &mut self,
        self_: Resource<SshSession>,
        command: String,
    ) -> wasmtime::Result<Result<Resource<SshPty>, SshError>> {
        let Some(budget) = self.ssh_budget(None) else {
            return Ok(Err(SshError::Timeout));
        };
        let session = &self.table.get(&self_)?.session;
        let pty = match session.open_pty(&command, budget).await {
            Ok(pty) => pty,
            Err(e) => return Ok(Err(to_wit(e))),
        };
        Ok(Ok(self.table.push(SshPty { pty })?))
    }

    async fn drop(&mut self, rep: Resource<SshSession>) -> wasmtime::Result<()> {
        let session = self.table.delete(rep)?.session;
        if let Some(grace) = self.ssh_budget(Some(CLOSE_GRACE)) {
            session.close(grace).await;
        }
        Ok(())
    }
}

impl HostPty for PluginState {
    async fn write(
        &mut self,
        self_: Resource<SshPty>,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), SshError>> {
        // Keystrokes are usually passwords.
        let data = Zeroizing::new(data);
        let Some(budget) = self.ssh_budget(None) else {
            return Ok(Err(SshError::Timeout));
        };
        let pty = &mut self.table.get_mut(&self_)?.pty;
        Ok(pty.write(&data, budget).await.map_err(to_wit))
    }

    async fn read(
        &mut self,
        self_: Resource<SshPty>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, SshError>> {
        let requested = Duration::from_millis(u64::from(timeout_ms));
        let Some(budget) = self.ssh_budget(Some(requested)) else {
            return Ok(Err(SshError::Timeout));
        };
        let pty = &mut self.table.get_mut(&self_)?.pty;
        Ok(pty.read(budget).await.map_err(to_wit))
    }

    async fn wait(
        &mut self,
        self_: Resource<SshPty>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Option<u32>, SshError>> {
        let requested = Duration::from_millis(u64::from(timeout_ms));
        let Some(budget) = self.ssh_budget(Some(requested)) else {
            return Ok(Err(SshError::Timeout));
        };
        let pty = &mut self.table.get_mut(&self_)?.pty;
        Ok(pty.wait(budget).await.map_err(to_wit))
    }

    async fn drop(&mut self, rep: Resource<SshPty>) -> wasmtime::Result<()> {
        let pty = self.table.delete(rep)?.pty;
        if let Some(grace) = self.ssh_budget(Some(CLOSE_GRACE)) {
            pty.close(grace).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_need_the_grant_and_a_target() {
        let target = Some("127.0.0.1:22".parse().expect("addr"));
        assert!(matches!(
            SshGate::new(false, target).admit(),
            Err(SshError::Denied(_))
        ));
        assert!(matches!(
            SshGate::new(true, None).admit(),
            Err(SshError::Denied(_))
        ));
        assert_eq!(SshGate::new(true, target).admit().ok(), target);
    }

    #[test]
    fn host_keys_default_to_refusing_and_pins_are_parsed() {
        let addr = "127.0.0.1:2222".parse().expect("addr");
        let gate = SshGate::new(true, Some(addr));
        assert_eq!(gate.host_name(addr), "127.0.0.1");
        let policy = gate.policy().expect("policy");
        assert!(policy.known_hosts.is_none() && !policy.accept_new && policy.pinned.is_none());

        let bad = SshGate::new(true, Some(addr)).with_host_keys(
            Some("db.example".into()),
            SshSettings {
                pinned_host_key: Some("not a key".into()),
                ..SshSettings::default()
            },
        );
        assert_eq!(bad.host_name(addr), "db.example");
        assert!(matches!(
            bad.policy().map_err(to_wit),
            Err(SshError::HostKey(_))
        ));
    }
}
