//! SSH sessions to the record's pinned target (capability `ssh`).
//!
//! The host runs the SSH client: it connects only to the target of the
//! record being processed, checks the server's host key against the user's
//! known hosts (or the key pinned in the record), and enforces the call's
//! time limit on every operation.
//!
//! ```no_run
//! use std::time::Duration;
//! use keeper_plugin_sdk::ssh::{Credential, Session};
//! use keeper_plugin_sdk::{PluginError, Rotation};
//!
//! fn change(req: &Rotation) -> Result<(), PluginError> {
//!     let session = Session::connect(req.login(), Credential::password(req.old_password().clone()))?;
//!     let pty = session.open_pty("passwd")?;
//!     pty.read_until("password:", Duration::from_secs(10))?;
//!     let mut line = req.old_password().expose().as_bytes().to_vec();
//!     line.push(b'\n');
//!     pty.write(&line)?;
//!     // ... answer the new-password prompts the same way
//!     match pty.wait(Duration::from_secs(10))? {
//!         Some(0) => Ok(()),
//!         status => Err(PluginError::Rejected(format!("passwd exited with {status:?}"))),
//!     }
//! }
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use zeroize::Zeroize;

use crate::bindings::rotator::keeper::plugin::ssh as wit;
use crate::{PluginError, Secret};

/// Why an SSH operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SshError {
    /// The capability is not granted or the call has no target.
    Denied(String),
    /// The target could not be reached.
    Unreachable(String),
    /// The server's host key is unknown or has changed; the session was refused.
    HostKey(String),
    /// The server refused the credentials.
    AuthFailed(String),
    /// The session or channel failed after login.
    Channel(String),
    /// The operation did not finish in time.
    Timeout,
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "ssh denied: {m}"),
            Self::Unreachable(m) => write!(f, "ssh target unreachable: {m}"),
            Self::HostKey(m) => write!(f, "ssh host key refused: {m}"),
            Self::AuthFailed(m) => write!(f, "ssh authentication failed: {m}"),
            Self::Channel(m) => write!(f, "ssh channel failed: {m}"),
            Self::Timeout => f.write_str("ssh operation timed out"),
        }
    }
}

impl std::error::Error for SshError {}

impl From<wit::SshError> for SshError {
    fn from(err: wit::SshError) -> Self {
        match err {
            wit::SshError::Denied(m) => Self::Denied(m),
            wit::SshError::Unreachable(m) => Self::Unreachable(m),
            wit::SshError::HostKey(m) => Self::HostKey(m),
            wit::SshError::AuthFailed(m) => Self::AuthFailed(m),
            wit::SshError::Channel(m) => Self::Channel(m),
            wit::SshError::Timeout => Self::Timeout,
        }
    }
}

/// Maps SSH failures onto the plugin error the host shows: denied →
/// invalid configuration, unreachable and timeout → unreachable, host key
/// and channel failures → rejected, refused credentials → auth failed.
impl From<SshError> for PluginError {
    fn from(err: SshError) -> Self {
        let text = err.to_string();
        match err {
            SshError::Denied(_) => Self::InvalidConfig(text),
            SshError::Unreachable(_) | SshError::Timeout => Self::Unreachable(text),
            // An untrusted host key is the user's to settle, never a
            // target refusing the change.
            SshError::HostKey(_) => Self::InvalidConfig(text),
            SshError::Channel(_) => Self::Rejected(text),
            SshError::AuthFailed(_) => Self::AuthFailed(text),
        }
    }
}

/// How to authenticate.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Password authentication.
    Password(Secret),
    /// Public-key authentication with an OpenSSH or PEM private key.
    PrivateKey {
        /// The private key in OpenSSH or PEM form.
        key: Secret,
        /// The key's passphrase, if it is encrypted.
        passphrase: Option<Secret>,
    },
}

impl Credential {
    /// Password authentication.
    pub fn password(password: impl Into<Secret>) -> Self {
        Self::Password(password.into())
    }

    /// Public-key authentication.
    pub fn private_key(key: impl Into<Secret>, passphrase: Option<Secret>) -> Self {
        Self::PrivateKey {
            key: key.into(),
            passphrase,
        }
    }

    fn to_wit(&self) -> wit::Credential {
        match self {
            Self::Password(p) => wit::Credential::Password(p.expose().to_owned()),
            Self::PrivateKey { key, passphrase } => {
                wit::Credential::PrivateKey(wit::KeyCredential {
                    private_key: key.expose().to_owned(),
                    passphrase: passphrase.as_ref().map(|p| p.expose().to_owned()),
                })
            }
        }
    }
}

/// Overwrites the secret copies made for the host call.
fn wipe(credential: &mut wit::Credential) {
    match credential {
        wit::Credential::Password(p) => p.zeroize(),
        wit::Credential::PrivateKey(k) => {
            k.private_key.zeroize();
            if let Some(p) = k.passphrase.as_mut() {
                p.zeroize();
            }
        }
    }
}

/// What a finished remote command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status, if the server reported one.
    pub exit_status: Option<u32>,
    /// Standard output (capped by the host).
    pub stdout: Vec<u8>,
    /// Standard error (capped by the host).
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// True if the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }
}

/// Refuses logins other than `[A-Za-z0-9._-]+` not starting with `-`: a
/// Unix user name that is safe on a remote command line and as an argument.
pub fn check_unix_login(login: &str) -> Result<(), PluginError> {
    let ok = !login.is_empty()
        && !login.starts_with('-')
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(PluginError::InvalidConfig(format!(
            "login {login:?} is not a Unix user name (only letters, digits, `.`, `_` and `-` are allowed)"
        )))
    }
}

/// An authenticated SSH connection to the record's target.
#[derive(Debug)]
pub struct Session(wit::Session);

impl Session {
    /// Connects to the record's pinned target and logs in as `user`.
    ///
    /// Fails if the capability is not granted, the target is unreachable,
    /// its host key is not trusted or the credentials are refused.
    pub fn connect(user: &str, credential: Credential) -> Result<Session, SshError> {
        let mut wit_credential = credential.to_wit();
        let result = wit::Session::connect(user, &wit_credential);
        wipe(&mut wit_credential);
        Ok(Session(result?))
    }

    /// [`Session::connect`] for a rotation step: every failure means the
    /// target was not touched, and maps to the plugin error saying so (a
    /// channel failing while the session is set up is
    /// [`PluginError::Unreachable`], not a rejected change).
    pub fn login(user: &str, credential: Credential) -> Result<Session, PluginError> {
        Self::connect(user, credential).map_err(|e| match e {
            SshError::Channel(_) => PluginError::Unreachable(e.to_string()),
            other => other.into(),
        })
    }

    /// Runs `command` (interpreted by the remote user's shell), writes
    /// `stdin` to it, closes stdin and waits for it to exit. Pass secrets
    /// through `stdin`, never in `command`.
    pub fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, SshError> {
        let out = self.0.exec(command, stdin)?;
        Ok(ExecOutput {
            exit_status: out.exit_status,
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    /// Starts `command` on a pseudo-terminal, for programs such as `passwd`
    /// that insist on a terminal.
    pub fn open_pty(&self, command: &str) -> Result<Pty, SshError> {
        Ok(Pty(self.0.open_pty(command)?))
    }
}

/// A command running on a pseudo-terminal.
#[derive(Debug)]
pub struct Pty(wit::Pty);

/// A duration in whole milliseconds, saturating at `u32::MAX`.
fn millis(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}

impl Pty {
    /// Sends keystrokes (e.g. a password followed by `\n`).
    pub fn write(&self, data: &[u8]) -> Result<(), SshError> {
        Ok(self.0.write(data)?)
    }

    /// What the command printed since the last read, waiting up to
    /// `timeout` for something to arrive. Empty means nothing arrived in
    /// time; the command may still be running.
    pub fn read(&self, timeout: Duration) -> Result<Vec<u8>, SshError> {
        Ok(self.0.read(millis(timeout))?)
    }

    /// Reads until the output contains `needle` (e.g. a `password:` prompt,
    /// compared case-insensitively) and returns everything read.
    ///
    /// Fails with [`SshError::Timeout`] if `needle` did not appear within
    /// `timeout`.
    pub fn read_until(&self, needle: &str, timeout: Duration) -> Result<Vec<u8>, SshError> {
        let needle = needle.to_ascii_lowercase();
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SshError::Timeout);
            }
            seen.extend(self.read(left)?);
            if String::from_utf8_lossy(&seen)
                .to_ascii_lowercase()
                .contains(&needle)
            {
                return Ok(seen);
            }
        }
    }

    /// Waits up to `timeout` for the command to exit and returns its exit
    /// status (`None` if the server did not send one).
    pub fn wait(&self, timeout: Duration) -> Result<Option<u32>, SshError> {
        Ok(self.0.wait(millis(timeout))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_plugin_errors() {
        assert!(matches!(
            PluginError::from(SshError::AuthFailed("no".into())),
            PluginError::AuthFailed(m) if m.contains("no")
        ));
        assert!(matches!(
            PluginError::from(SshError::Timeout),
            PluginError::Unreachable(_)
        ));
        assert!(matches!(
            PluginError::from(SshError::HostKey("changed".into())),
            PluginError::InvalidConfig(m) if m.contains("changed")
        ));
        assert!(matches!(
            PluginError::from(SshError::Channel("closed".into())),
            PluginError::Rejected(_)
        ));
        assert!(matches!(
            PluginError::from(SshError::Denied("x".into())),
            PluginError::InvalidConfig(_)
        ));
    }

    #[test]
    fn unix_logins_are_checked() {
        for ok in ["app", "svc.user", "a_b-c1"] {
            assert!(check_unix_login(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-oProxyCommand=x",
            "a:b",
            "a b",
            "a;rm",
            "a'b",
            "a\nb",
            "$(id)",
            "DOM\\user",
        ] {
            assert!(
                matches!(check_unix_login(bad), Err(PluginError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn wipe_clears_the_copied_secret() {
        let mut c = Credential::private_key("KEY", Some(Secret::new("PASS"))).to_wit();
        wipe(&mut c);
        let wit::Credential::PrivateKey(k) = c else {
            panic!("a private key credential must stay one");
        };
        assert!(k.private_key.is_empty());
        assert_eq!(k.passphrase.as_deref(), Some(""));
    }

    #[test]
    fn millis_saturates() {
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u32::MAX);
    }
}
