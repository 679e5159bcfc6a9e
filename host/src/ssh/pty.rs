//! A command on a pseudo-terminal: keystrokes in, terminal output out.

use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf};
use tokio::time::Instant;

use super::SshError;
use super::connection::{SharedHandle, push_capped};

/// A command running on a pseudo-terminal.
///
/// Output is buffered until [`read`](Self::read) takes it (at most
/// [`OUTPUT_CAP`](super::OUTPUT_CAP) bytes are held). The connection stays
/// open while the `Pty` lives, even if its [`Session`](super::Session) is
/// dropped.
pub struct Pty {
    _connection: SharedHandle,
    reader: ChannelReadHalf,
    writer: ChannelWriteHalf<Msg>,
    /// Output received but not read yet.
    pending: Vec<u8>,
    /// The exit status, once the server sent it.
    exit_status: Option<u32>,
    /// The command exited (exit status, EOF-and-close, or signal).
    exited: bool,
    /// The channel is closed: nothing more will arrive.
    closed: bool,
    /// `read` already reported the end once.
    end_reported: bool,
}

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pty")
            .field("pending", &self.pending.len())
            .field("exit_status", &self.exit_status)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Pty {
    /// Requests a terminal on `channel` and starts `command`, waiting for
    /// the server to accept both.
    pub(super) async fn start(
        connection: SharedHandle,
        channel: Channel<Msg>,
        command: &str,
        deadline: Instant,
    ) -> Result<Self, SshError> {
        let (reader, writer) = channel.split();
        let mut pty = Self {
            _connection: connection,
            reader,
            writer,
            pending: Vec::new(),
            exit_status: None,
            exited: false,
            closed: false,
            end_reported: false,
        };
        let start = async {
            pty.writer
                .request_pty(true, "xterm", 80, 24, 0, 0, &[])
                .await
                .map_err(|e| SshError::channel("cannot request a terminal", &e))?;
            pty.writer
                .exec(true, command)
                .await
                .map_err(|e| SshError::channel("cannot start the command", &e))?;
            // One reply per request, in order.
            for what in ["the terminal", "the command"] {
                loop {
                    match pty.reader.wait().await {
                        Some(ChannelMsg::Success) => break,
                        Some(ChannelMsg::Failure) => {
                            return Err(SshError::Channel(format!("the server refused {what}")));
                        }
                        Some(msg) => pty.absorb(msg),
                        None => {
                            return Err(SshError::Channel(format!(
                                "the channel closed before the server accepted {what}"
                            )));
                        }
                    }
                }
            }
            Ok(())
        };
        match tokio::time::timeout_at(deadline, start).await {
            Ok(Ok(())) => Ok(pty),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SshError::Timeout),
        }
    }

    /// Records one channel message.
    fn absorb(&mut self, msg: ChannelMsg) {
        match msg {
            ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => {
                push_capped(&mut self.pending, &data);
            }
            ChannelMsg::ExitStatus { exit_status } => {
                self.exit_status = Some(exit_status);
                self.exited = true;
            }
            ChannelMsg::ExitSignal { .. } => self.exited = true,
            ChannelMsg::Close => {
                self.exited = true;
                self.closed = true;
            }
            _ => {}
        }
    }

    /// Waits for the next message until `deadline`; false on timeout.
    async fn next(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        match tokio::time::timeout_at(deadline, self.reader.wait()).await {
            Ok(Some(msg)) => {
                self.absorb(msg);
                true
            }
            Ok(None) => {
                self.exited = true;
                self.closed = true;
                true
            }
            Err(_) => false,
        }
    }

    /// Sends keystrokes (e.g. a password followed by `\n`).
    ///
    /// # Errors
    ///
    /// [`SshError::Channel`] when the channel is closed;
    /// [`SshError::Timeout`] when the server does not take the data in
    /// time.
    pub async fn write(&mut self, data: &[u8], timeout: Duration) -> Result<(), SshError> {
        if self.closed {
            return Err(SshError::Channel("the program has exited".into()));
        }
        tokio::time::timeout(timeout, self.writer.data(data))
            .await
            .map_err(|_| SshError::Timeout)?
            .map_err(|e| SshError::channel("cannot write to the terminal", &e))
    }

    /// Returns what the command printed since the last read, waiting up to
    /// `timeout` for something to arrive. Empty means nothing arrived in
    /// time; the command may still be running.
    ///
    /// # Errors
    ///
    /// [`SshError::Channel`] once the channel is closed and everything it
    /// printed has been returned (so a read loop cannot spin forever).
    pub async fn read(&mut self, timeout: Duration) -> Result<Vec<u8>, SshError> {
        let deadline = Instant::now() + timeout;
        while self.pending.is_empty() && !self.closed {
            if !self.next(deadline).await {
                break;
            }
        }
        // Take whatever else is already there without waiting.
        while !self.closed && self.next(Instant::now()).await {}
        if self.pending.is_empty() && self.closed {
            if self.end_reported {
                return Err(SshError::Channel(
                    "the program has exited and all its output was read".into(),
                ));
            }
            self.end_reported = true;
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// Waits up to `timeout` for the command to exit; returns its exit
    /// status (none if the server did not send one). Output arriving
    /// meanwhile stays available to [`read`](Self::read).
    ///
    /// # Errors
    ///
    /// [`SshError::Timeout`] when the command is still running.
    pub async fn wait(&mut self, timeout: Duration) -> Result<Option<u32>, SshError> {
        let deadline = Instant::now() + timeout;
        while !self.exited {
            if !self.next(deadline).await {
                return Err(SshError::Timeout);
            }
        }
        Ok(self.exit_status)
    }

    /// Closes the channel (best effort, bounded by `timeout`); the remote
    /// command gets a hang-up.
    pub async fn close(self, timeout: Duration) {
        if !self.closed {
            let _ = tokio::time::timeout(timeout, self.writer.close()).await;
        }
    }
}
