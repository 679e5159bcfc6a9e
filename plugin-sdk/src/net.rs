//! TCP to the record's pinned target (capability `tcp`).
//!
//! The host resolved the record's host and pinned one address; the sandbox
//! lets a plugin connect to that address and nowhere else, and name lookup
//! is off. [`TargetStream::connect`] connects to it.
//!
//! **Send each protocol message with one [`TargetStream::send`] call.**
//! The sandbox's sockets never set `TCP_NODELAY`, so a request written in
//! several small writes is held back by Nagle's algorithm until the peer's
//! delayed ACK arrives: about 40 ms per round trip. Build the whole message
//! in a buffer, then send it once.
//!
//! ```no_run
//! use std::io::Read;
//! use keeper_plugin_sdk::{net::TargetStream, PluginError, Rotation};
//!
//! fn ping(req: &Rotation) -> Result<(), PluginError> {
//!     let mut stream = TargetStream::connect(req.target()?)?;
//!     stream.send(b"PING\r\n")?;
//!     let mut reply = [0u8; 4];
//!     stream.read_exact(&mut reply).map_err(|e| stream.error("reading the reply", e))?;
//!     Ok(())
//! }
//! ```

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::{PluginError, Target};

/// A TCP connection to the pinned target.
#[derive(Debug)]
pub struct TargetStream {
    stream: TcpStream,
    host: String,
}

impl TargetStream {
    /// Connects to `target.address` (never resolving `target.host`).
    ///
    /// Fails with [`PluginError::InvalidConfig`] if the address is not an
    /// `ip:port` socket address and with [`PluginError::Unreachable`] if the
    /// connection fails or the sandbox denies it.
    pub fn connect(target: &Target) -> Result<Self, PluginError> {
        let addr = target.socket_addr()?;
        let stream = TcpStream::connect(addr).map_err(|e| {
            PluginError::Unreachable(format!(
                "connecting to {} ({}): {e}",
                target.host, target.address
            ))
        })?;
        Ok(Self {
            stream,
            host: target.host.clone(),
        })
    }

    /// Sends one whole protocol message, handing all of it to the socket in
    /// a single write (see the module documentation for why).
    ///
    /// Fails with [`PluginError::Unreachable`] if the connection breaks.
    pub fn send(&mut self, message: &[u8]) -> Result<(), PluginError> {
        let mut rest = message;
        while !rest.is_empty() {
            match self.stream.write(rest) {
                Ok(0) => {
                    return Err(self.error("sending", io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error("sending", e)),
            }
        }
        Ok(())
    }

    /// Reads exactly `n` bytes.
    ///
    /// Fails with [`PluginError::Unreachable`] if the connection breaks or
    /// closes first.
    pub fn recv_exact(&mut self, n: usize) -> Result<Vec<u8>, PluginError> {
        let mut buf = vec![0; n];
        self.stream
            .read_exact(&mut buf)
            .map_err(|e| self.error("receiving", e))?;
        Ok(buf)
    }

    /// Sets how long a read may wait (`None`: forever, bounded by the call's
    /// time limit). Errors if the sandbox does not support read timeouts.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }

    /// A [`PluginError::Unreachable`] saying what failed while doing `what`.
    pub fn error(&self, what: &str, err: io::Error) -> PluginError {
        PluginError::Unreachable(format!("{what} ({}): {err}", self.host))
    }

    /// The underlying socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl Read for TargetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

/// Prefer [`TargetStream::send`]: every `write` may become its own TCP segment.
impl Write for TargetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
