//! keeper's SSH client: the engine behind the `keeper:plugin/ssh` capability.
//!
//! Pure Rust (russh with `ring` crypto, no OpenSSL), async on tokio:
//!
//! - [`SshClient::connect`] opens a TCP connection to an already resolved
//!   address, checks the server's host key against a [`HostKeyPolicy`]
//!   (the data dir's `known_hosts`, a key pinned in the record, or
//!   accept-new) and logs in with a [`Credential`];
//! - [`Session::exec`] runs a command and collects its output (capped at
//!   [`OUTPUT_CAP`] per stream);
//! - [`Session::open_pty`] starts a command on a pseudo-terminal ([`Pty`])
//!   for programs such as `passwd` that insist on a terminal.
//!
//! Every operation takes a timeout; nothing here ever logs or formats a
//! password or a private key.

mod client;
mod connection;
mod error;
pub mod known_hosts;
mod pty;

pub use client::{Credential, Session, SshClient};
pub use connection::OUTPUT_CAP;
pub use error::SshError;
pub use known_hosts::{HostKeyPolicy, PinnedHostKey};
pub use pty::Pty;
