//! The import source, streamed by the host (importer plugins only).
//!
//! The user names the source (a file, or `-` for stdin); the host opens it
//! and hands its bytes to the plugin through [`Input`], which implements
//! [`std::io::Read`]. Wrap it in a [`std::io::BufReader`] to read lines.
//!
//! ```no_run
//! use std::io::{BufRead, BufReader};
//! use keeper_plugin_sdk::input::Input;
//!
//! for line in BufReader::new(Input::new()).lines() {
//!     let line = line.expect("input is readable");
//!     // parse the line
//! }
//! ```

use std::io;

use crate::bindings::importer::keeper::plugin::input;

/// The most bytes asked of the host per call.
const CHUNK: usize = 64 * 1024;

/// The streamed import source. Reading returns `Ok(0)` at its end.
#[derive(Debug, Default)]
pub struct Input {
    /// Bytes the host returned beyond what the caller's buffer could hold.
    pending: Vec<u8>,
    /// How much of `pending` has been handed out.
    offset: usize,
}

impl Input {
    /// The source of the current import run.
    pub fn new() -> Self {
        Self::default()
    }

    /// The source's total size in bytes, when the host knows it (for
    /// progress only; do not rely on it).
    pub fn size(&self) -> Option<u64> {
        input::size()
    }

    /// Reads the whole source. Prefer streaming: the plugin's memory is capped.
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        io::Read::read_to_end(self, &mut all)?;
        Ok(all)
    }
}

impl io::Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.offset >= self.pending.len() {
            let want = buf.len().min(CHUNK);
            // `want` is at most CHUNK, which fits in a u32.
            self.pending = input::read(u32::try_from(want).unwrap_or(u32::MAX));
            self.offset = 0;
        }
        let available = &self.pending[self.offset..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.offset += n;
        Ok(n)
    }
}
