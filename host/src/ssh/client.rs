//! Connecting, authenticating and running commands over SSH.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::ChannelMsg;
use russh::client::{self, AuthResult};
use russh::keys::PrivateKeyWithHashAlg;
use tokio::net::TcpStream;
use zeroize::Zeroizing;

use super::SshError;
use super::connection::{Checker, HandshakeError, SharedHandle, push_capped};
use super::known_hosts::{HostKeyPolicy, host_pattern};
use super::pty::Pty;

/// How to log in.
///
/// Never `Debug`-printed with its contents.
pub enum Credential {
    /// Password authentication.
    Password(Zeroizing<String>),
    /// Public-key authentication with an OpenSSH (`BEGIN OPENSSH PRIVATE
    /// KEY`) or PEM private key, encrypted with `passphrase` if given.
    PrivateKey {
        /// The private key text.
        pem: Zeroizing<String>,
        /// Its passphrase, if it is encrypted.
        passphrase: Option<Zeroizing<String>>,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password([redacted])"),
            Self::PrivateKey { passphrase, .. } => write!(
                f,
                "PrivateKey([redacted], passphrase: {})",
                if passphrase.is_some() {
                    "[redacted]"
                } else {
                    "none"
                }
            ),
        }
    }
}

/// What a finished command produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit status, if the server sent one (none when the command was
    /// killed by a signal).
    pub exit_status: Option<u32>,
    /// Standard output, at most [`OUTPUT_CAP`](super::OUTPUT_CAP) bytes.
    pub stdout: Vec<u8>,
    /// Standard error, at most [`OUTPUT_CAP`](super::OUTPUT_CAP) bytes.
    pub stderr: Vec<u8>,
}

/// Opens SSH sessions.
#[derive(Debug)]
pub struct SshClient;

/// An authenticated SSH connection.
pub struct Session {
    handle: SharedHandle,
    target: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl SshClient {
    /// Connects to `addr`, checks its host key as `host_name` under
    /// `policy`, and logs in as `user`, all within `timeout`.
    ///
    /// `host_name` is the target as the user wrote it (what `known_hosts`
    /// lines and messages name); `addr` is where it was resolved to.
    ///
    /// # Errors
    ///
    /// - [`SshError::Unreachable`]: no TCP connection, or the peer is not
    ///   an SSH server / the handshake failed;
    /// - [`SshError::HostKey`]: the host key is refused (see
    ///   [`HostKeyPolicy::check`]);
    /// - [`SshError::AuthFailed`]: the server refused the credentials, or
    ///   the private key cannot be read (wrong passphrase, bad format);
    /// - [`SshError::Timeout`]: `timeout` elapsed.
    pub async fn connect(
        addr: SocketAddr,
        host_name: &str,
        user: &str,
        credential: &Credential,
        policy: &HostKeyPolicy,
        timeout: Duration,
    ) -> Result<Session, SshError> {
        let target = format!("{user}@{}", host_pattern(host_name, addr.port()));
        let attempt = async {
            let tcp = TcpStream::connect(addr).await.map_err(|e| {
                SshError::Unreachable(format!("cannot connect to {host_name} ({addr}): {e}"))
            })?;
            // Ignore failure: only latency depends on it.
            let _ = tcp.set_nodelay(true);
            let config = Arc::new(client::Config {
                inactivity_timeout: None,
                ..Default::default()
            });
            let checker = Checker {
                host: host_name.to_string(),
                port: addr.port(),
                policy: policy.clone(),
            };
            let mut handle =
                client::connect_stream(config, tcp, checker)
                    .await
                    .map_err(|e| match e {
                        HandshakeError::HostKey(e) => e,
                        HandshakeError::Russh(e) => SshError::Unreachable(format!(
                            "SSH handshake with {host_name} ({addr}) failed: {e}"
                        )),
                    })?;
            let auth = match credential {
                Credential::Password(password) => {
                    handle.authenticate_password(user, password.as_str()).await
                }
                Credential::PrivateKey { pem, passphrase } => {
                    let key = russh::keys::decode_secret_key(
                        pem,
                        passphrase.as_ref().map(|p| p.as_str()),
                    )
                    .map_err(|e| {
                        SshError::AuthFailed(format!(
                            "the private key for {target} cannot be used (wrong passphrase \
                             or unsupported format): {e}"
                        ))
                    })?;
                    let hash = handle
                        .best_supported_rsa_hash()
                        .await
                        .map_err(|e| SshError::channel("cannot negotiate the RSA hash", &e))?
                        .flatten();
                    handle
                        .authenticate_publickey(
                            user,
                            PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                        )
                        .await
                }
            };
            match auth {
                Ok(AuthResult::Success) => Ok(handle),
                Ok(AuthResult::Failure { .. }) => Err(SshError::AuthFailed(format!(
                    "{target}: the server refused the {}",
                    match credential {
                        Credential::Password(_) => "password",
                        Credential::PrivateKey { .. } => "private key",
                    }
                ))),
                Err(e) => Err(SshError::AuthFailed(format!(
                    "{target}: authentication failed: {e}"
                ))),
            }
        };
        let handle = tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| SshError::Timeout)??;
        tracing::debug!(target: "keeper::ssh", "logged in as {target}");
        Ok(Session {
            handle: Arc::new(handle),
            target,
        })
    }
}

impl Session {
    /// `user@host` (or `user@[host]:port`), for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs `command` (interpreted by the remote user's shell), writes
    /// `stdin` to it, closes its stdin and waits for it to exit.
    ///
    /// Output beyond [`OUTPUT_CAP`](super::OUTPUT_CAP) per stream is dropped. On timeout the
    /// command is sent `KILL` (if the server supports signals) and its
    /// channel closed.
    ///
    /// # Errors
    ///
    /// [`SshError::Channel`] when the channel cannot be opened, the server
    /// refuses to run the command or the connection drops;
    /// [`SshError::Timeout`] when `timeout` elapses first.
    pub async fn exec(
        &self,
        command: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecOutput, SshError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let channel = tokio::time::timeout_at(deadline, self.handle.channel_open_session())
            .await
            .map_err(|_| SshError::Timeout)?
            .map_err(|e| SshError::channel("cannot open a channel", &e))?;
        let (mut reader, writer) = channel.split();

        let send = async {
            writer
                .exec(true, command)
                .await
                .map_err(|e| SshError::channel("cannot start the command", &e))?;
            if !stdin.is_empty() {
                writer
                    .data(stdin)
                    .await
                    .map_err(|e| SshError::channel("cannot write the command's stdin", &e))?;
            }
            writer
                .eof()
                .await
                .map_err(|e| SshError::channel("cannot close the command's stdin", &e))
        };
        let receive = async {
            let mut out = ExecOutput::default();
            while let Some(msg) = reader.wait().await {
                match msg {
                    ChannelMsg::Data { data } => push_capped(&mut out.stdout, &data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        push_capped(&mut out.stderr, &data);
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.exit_status = Some(exit_status),
                    ChannelMsg::Failure => {
                        return Err(SshError::Channel(format!(
                            "{}: the server refused to run the command",
                            self.target
                        )));
                    }
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            Ok(out)
        };
        // Once the command has ended, stop feeding it: a command that exits
        // without reading all of its stdin must not leave us waiting for
        // window space that never comes.
        let ended = tokio::sync::Notify::new();
        let both = async {
            let (sent, received) = tokio::join!(
                async {
                    tokio::select! {
                        sent = send => Some(sent),
                        () = ended.notified() => None,
                    }
                },
                async {
                    let received = receive.await;
                    ended.notify_one();
                    received
                }
            );
            // The command's own outcome decides: a refused command also fails
            // the stdin write, and one that exits early need not read it all.
            let out = received?;
            if let Some(Err(e)) = sent {
                tracing::debug!(target: "keeper::ssh", "{}: stdin not fully sent: {e}", self.target);
            }
            Ok(out)
        };
        match tokio::time::timeout_at(deadline, both).await {
            Ok(result) => result,
            Err(_) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let _ = writer.signal(russh::Sig::KILL).await;
                    let _ = writer.close().await;
                })
                .await;
                Err(SshError::Timeout)
            }
        }
    }

    /// Starts `command` on a pseudo-terminal (`xterm`, 80×24).
    ///
    /// # Errors
    ///
    /// [`SshError::Channel`] when the channel, the terminal or the command
    /// is refused; [`SshError::Timeout`] when `timeout` elapses first.
    pub async fn open_pty(&self, command: &str, timeout: Duration) -> Result<Pty, SshError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let channel = tokio::time::timeout_at(deadline, self.handle.channel_open_session())
            .await
            .map_err(|_| SshError::Timeout)?
            .map_err(|e| SshError::channel("cannot open a channel", &e))?;
        Pty::start(Arc::clone(&self.handle), channel, command, deadline).await
    }

    /// Says goodbye to the server (best effort, bounded by `timeout`).
    pub async fn close(self, timeout: Duration) {
        let _ = tokio::time::timeout(
            timeout,
            self.handle
                .disconnect(russh::Disconnect::ByApplication, "", "en"),
        )
        .await;
    }
}
