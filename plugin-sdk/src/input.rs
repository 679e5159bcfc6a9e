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
//!
//! With API 1.0 a source that cannot be read (a broken pipe, a failing
//! disk) stops the plugin, and the import fails with keeper's message. A
//! plugin registered for API 1.1 (feature `v1_1`) reads with
//! `Input::checked` instead: such a failure is an [`io::Error`] it can
//! report with its own context (e.g. the line it was reading).
//!
//! A parser that reads rows (CSV records, lines) should bound the bytes one
//! row may hold, so that a quote never closed cannot pull the whole source
//! into the plugin's capped memory: wrap the source in a [`RowLimit`] and
//! mark each complete row with its [`RowMark`].

use std::cell::Cell;
use std::io;
use std::rc::Rc;

use crate::bindings::importer::keeper::plugin::input;
#[cfg(feature = "v1_1")]
use crate::bindings::importer_v1_1::keeper::plugin::input as input_v1_1;

/// The most bytes asked of the host per call.
const CHUNK: usize = 64 * 1024;

/// The streamed import source. Reading returns `Ok(0)` at its end.
#[derive(Debug)]
pub struct Input {
    /// Bytes the host returned beyond what the caller's buffer could hold.
    pending: Vec<u8>,
    /// How much of `pending` has been handed out.
    offset: usize,
    /// The host call that reads: only the one a constructor names is
    /// linked, so a 1.0 plugin never imports 1.1's `try-read`.
    source: fn(u32) -> io::Result<Vec<u8>>,
}

impl Default for Input {
    fn default() -> Self {
        Self::new()
    }
}

impl Input {
    /// The source of the current import run, read with 1.0's `read`: a
    /// failed read stops the plugin.
    pub fn new() -> Self {
        Self::reading(|max| Ok(input::read(max)))
    }

    /// The source of the current import run, read with 1.1's `try-read`: a
    /// failed read is an [`io::Error`] (kind `Other`, keeper's message). The
    /// component then imports `keeper:plugin/input@1.1.0`, so register it
    /// with [`v1_1::register_importer!`](crate::v1_1::register_importer)
    /// (feature `v1_1`).
    #[cfg(feature = "v1_1")]
    pub fn checked() -> Self {
        Self::reading(|max| {
            input_v1_1::try_read(max)
                .map_err(|input_v1_1::InputError::Failed(why)| io::Error::other(why))
        })
    }

    fn reading(source: fn(u32) -> io::Result<Vec<u8>>) -> Self {
        Self {
            pending: Vec::new(),
            offset: 0,
            source,
        }
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
            self.pending = (self.source)(u32::try_from(want).unwrap_or(u32::MAX))?;
            self.offset = 0;
        }
        let available = &self.pending[self.offset..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.offset += n;
        Ok(n)
    }
}

/// The most bytes one row of a source may hold by default (8 MiB).
pub const MAX_ROW_BYTES: usize = 8 * 1024 * 1024;

/// A reader that fails with [`RowTooLarge`] once more than its limit is
/// read without the parser marking a complete row ([`RowMark::row_done`]),
/// so an unclosed quote cannot pull the whole source into memory.
///
/// ```
/// use std::io::Read as _;
/// use keeper_plugin_sdk::input::{RowLimit, RowTooLarge};
///
/// let (mut source, mark) = RowLimit::new(&b"0123456789"[..], 4);
/// let mut buf = [0u8; 3];
/// source.read(&mut buf).expect("3 bytes fit");
/// mark.row_done();
/// source.read(&mut buf).expect("3 more fit in the next row");
/// let err = source.read(&mut buf).expect_err("6 bytes without a row end");
/// assert!(RowTooLarge::find(&err).is_some());
/// ```
#[derive(Debug)]
pub struct RowLimit<R> {
    inner: R,
    row_bytes: Rc<Cell<usize>>,
    limit: usize,
}

/// Marks row boundaries for its [`RowLimit`] (the parser keeps it while the
/// limited reader is inside the parser).
#[derive(Debug, Clone)]
pub struct RowMark(Rc<Cell<usize>>);

impl<R> RowLimit<R> {
    /// Limits `inner` to `limit` bytes per row; returns the reader and the
    /// mark the parser calls after each complete row.
    pub fn new(inner: R, limit: usize) -> (Self, RowMark) {
        let row_bytes = Rc::new(Cell::new(0));
        let mark = RowMark(Rc::clone(&row_bytes));
        (
            Self {
                inner,
                row_bytes,
                limit,
            },
            mark,
        )
    }
}

impl RowMark {
    /// A row is complete: the next one starts counting from zero.
    pub fn row_done(&self) {
        self.0.set(0);
    }
}

impl<R: io::Read> io::Read for RowLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.row_bytes.get().saturating_add(n);
        if total > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                RowTooLarge { limit: self.limit },
            ));
        }
        self.row_bytes.set(total);
        Ok(n)
    }
}

/// The error of a [`RowLimit`]: a row larger than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

impl RowTooLarge {
    /// The `RowTooLarge` inside an I/O error (as a parser hands it back).
    pub fn find(err: &io::Error) -> Option<&Self> {
        err.get_ref().and_then(|inner| inner.downcast_ref::<Self>())
    }
}

impl std::fmt::Display for RowTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a row is larger than {} MiB; is a quote never closed?",
            self.limit >> 20
        )
    }
}

impl std::error::Error for RowTooLarge {}
