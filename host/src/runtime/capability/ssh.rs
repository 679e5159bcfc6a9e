//! `keeper:plugin/ssh`: SSH sessions to the record's pinned target.
//!
//! The gate is enforced here: without the granted `ssh` capability, or
//! without a pinned target for the call, every session is refused. The SSH
//! client itself (host-key checking against the data dir's known_hosts,
//! password and key authentication, exec and PTY channels) is the ssh
//! plugin's issue; until it lands a granted session reports that it is not
//! available rather than pretending to connect.

use wasmtime::component::Resource;

use crate::runtime::bindings::latest::rotator::keeper::plugin::ssh::{
    Credential, ExecOutput, Host, HostPty, HostSession, SshError,
};
use crate::runtime::state::PluginState;

/// Host side of an SSH session resource.
#[derive(Debug)]
pub struct SshSession {
    _private: (),
}

/// Host side of a PTY channel resource.
#[derive(Debug)]
pub struct SshPty {
    _private: (),
}

/// Whether a call may open SSH sessions, and to where.
#[derive(Debug, Clone, Default)]
pub struct SshGate {
    granted: bool,
    target: Option<std::net::SocketAddr>,
}

impl SshGate {
    /// A gate for a call.
    pub fn new(granted: bool, target: Option<std::net::SocketAddr>) -> Self {
        Self { granted, target }
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
}

impl Host for PluginState {}

impl HostSession for PluginState {
    async fn connect(
        &mut self,
        _user: String,
        _credential: Credential,
    ) -> wasmtime::Result<Result<Resource<SshSession>, SshError>> {
        Ok(match self.ssh.admit() {
            Err(e) => {
                tracing::warn!(target: "keeper::sandbox", "denied plugin SSH session");
                Err(e)
            }
            Ok(addr) => Err(SshError::Unreachable(format!(
                "SSH sessions to {addr} are not available in this keeper version yet"
            ))),
        })
    }

    async fn exec(
        &mut self,
        _self_: Resource<SshSession>,
        _command: String,
        _stdin: Vec<u8>,
    ) -> wasmtime::Result<Result<ExecOutput, SshError>> {
        Ok(Err(SshError::Channel("no session".into())))
    }

    async fn open_pty(
        &mut self,
        _self_: Resource<SshSession>,
        _command: String,
    ) -> wasmtime::Result<Result<Resource<SshPty>, SshError>> {
        Ok(Err(SshError::Channel("no session".into())))
    }

    async fn drop(&mut self, rep: Resource<SshSession>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}

impl HostPty for PluginState {
    async fn write(
        &mut self,
        _self_: Resource<SshPty>,
        _data: Vec<u8>,
    ) -> wasmtime::Result<Result<(), SshError>> {
        Ok(Err(SshError::Channel("no session".into())))
    }

    async fn read(
        &mut self,
        _self_: Resource<SshPty>,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, SshError>> {
        Ok(Err(SshError::Channel("no session".into())))
    }

    async fn wait(
        &mut self,
        _self_: Resource<SshPty>,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<Option<u32>, SshError>> {
        Ok(Err(SshError::Channel("no session".into())))
    }

    async fn drop(&mut self, rep: Resource<SshPty>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
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
}
