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
use std::net::SocketAddr;
use std::time::Duration;

use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::TcpSocket;

use crate::{PluginError, Target};

/// A TCP connection to the pinned target.
///
/// Built on `wasi:sockets` directly rather than `std::net::TcpStream`: a
/// read that has to wait is one `blocking-read` call to the host instead of
/// wasi-libc's read, poll and read again (fewer host calls per network
/// round trip).
pub struct TargetStream {
    // Dropped in this order: the streams are the socket's children.
    input: InputStream,
    output: OutputStream,
    _socket: TcpSocket,
    host: String,
    read_timeout: Option<Duration>,
}

impl std::fmt::Debug for TargetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetStream")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl TargetStream {
    /// Connects to `target.address` (never resolving `target.host`).
    ///
    /// Fails with [`PluginError::InvalidConfig`] if the address is not an
    /// `ip:port` socket address and with [`PluginError::Unreachable`] if the
    /// connection fails or the sandbox denies it.
    pub fn connect(target: &Target) -> Result<Self, PluginError> {
        let addr = target.socket_addr()?;
        let unreachable = |e: ErrorCode| {
            PluginError::Unreachable(format!(
                "connecting to {} ({}): {}",
                target.host,
                target.address,
                e.message()
            ))
        };
        let (family, remote) = wasi_address(addr);
        let socket =
            wasip2::sockets::tcp_create_socket::create_tcp_socket(family).map_err(unreachable)?;
        let network = wasip2::sockets::instance_network::instance_network();
        socket
            .start_connect(&network, remote)
            .map_err(unreachable)?;
        let ready = socket.subscribe();
        let (input, output) = loop {
            match socket.finish_connect() {
                Ok(streams) => break streams,
                Err(ErrorCode::WouldBlock) => ready.block(),
                Err(e) => return Err(unreachable(e)),
            }
        };
        drop(ready);
        Ok(Self {
            input,
            output,
            _socket: socket,
            host: target.host.clone(),
            read_timeout: None,
        })
    }

    /// Sends one whole protocol message, handing it to the socket in as few
    /// writes as it accepts: one, for a message up to the host's write
    /// permit (64 KiB). See the module documentation for why.
    ///
    /// Fails with [`PluginError::Unreachable`] if the connection breaks.
    pub fn send(&mut self, message: &[u8]) -> Result<(), PluginError> {
        let mut rest = message;
        while !rest.is_empty() {
            match Write::write(self, rest) {
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
        self.read_exact(&mut buf)
            .map_err(|e| self.error("receiving", e))?;
        Ok(buf)
    }

    /// Sets how long a read may wait for data (`None`: until the call's
    /// time limit). A read that waits longer fails with
    /// [`io::ErrorKind::TimedOut`].
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// A [`PluginError::Unreachable`] saying what failed while doing `what`.
    pub fn error(&self, what: &str, err: io::Error) -> PluginError {
        PluginError::Unreachable(format!("{what} ({}): {err}", self.host))
    }
}

impl Read for TargetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len() as u64;
        let read = match self.read_timeout {
            None => self.input.blocking_read(len),
            Some(timeout) => {
                let readable = self.input.subscribe();
                let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
                let timer = wasip2::clocks::monotonic_clock::subscribe_duration(nanos);
                if !wasip2::io::poll::poll(&[&readable, &timer]).contains(&0) {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no data from {} within {timeout:?}", self.host),
                    ));
                }
                drop(readable);
                // Ready now, so this does not wait (and, unlike `read`,
                // never returns nothing, which would read as the end).
                self.input.blocking_read(len)
            }
        };
        match read {
            Ok(bytes) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            Err(StreamError::Closed) => Ok(0),
            Err(StreamError::LastOperationFailed(e)) => Err(io::Error::other(e.to_debug_string())),
        }
    }
}

/// Prefer [`TargetStream::send`]: every `write` may become its own TCP segment.
impl Write for TargetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let stream_error = |e: StreamError| match e {
            StreamError::Closed => io::Error::from(io::ErrorKind::BrokenPipe),
            StreamError::LastOperationFailed(e) => io::Error::other(e.to_debug_string()),
        };
        let mut ready: Option<Pollable> = None;
        loop {
            let permit = self.output.check_write().map_err(stream_error)?;
            if permit > 0 {
                let n = buf.len().min(usize::try_from(permit).unwrap_or(usize::MAX));
                self.output.write(&buf[..n]).map_err(stream_error)?;
                return Ok(n);
            }
            ready.get_or_insert_with(|| self.output.subscribe()).block();
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Writes go to the socket as they are made; nothing is buffered here.
        Ok(())
    }
}

/// The `wasi:sockets` form of a socket address.
fn wasi_address(addr: SocketAddr) -> (IpAddressFamily, IpSocketAddress) {
    match addr {
        SocketAddr::V4(a) => {
            let o = a.ip().octets();
            (
                IpAddressFamily::Ipv4,
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port: a.port(),
                    address: (o[0], o[1], o[2], o[3]),
                }),
            )
        }
        SocketAddr::V6(a) => {
            let s = a.ip().segments();
            (
                IpAddressFamily::Ipv6,
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port: a.port(),
                    flow_info: a.flowinfo(),
                    address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                    scope_id: a.scope_id(),
                }),
            )
        }
    }
}
