//! `keeper:plugin/input`: the import source, streamed to importer plugins.
//!
//! The host opens the source the user named (a file, or stdin) and the
//! plugin pulls it in chunks of at most [`MAX_CHUNK`] bytes, so a 1 GB export
//! never has to fit in the plugin's memory.

use std::io::Read;

use super::PluginState;
use crate::runtime::bindings::latest::importer::keeper::plugin::input::{Host, InputError};

/// Largest chunk handed to a plugin in one `read`.
pub const MAX_CHUNK: u32 = 1024 * 1024;

/// A readable import source.
pub struct InputSource {
    reader: Box<dyn Read + Send>,
    size: Option<u64>,
    read: u64,
    /// Why the source failed, once it has: every later read fails alike.
    failed: Option<String>,
}

impl InputSource {
    /// Wraps a reader; `size` is its length when known (for progress).
    pub fn new(reader: impl Read + Send + 'static, size: Option<u64>) -> Self {
        Self {
            reader: Box::new(reader),
            size,
            read: 0,
            failed: None,
        }
    }

    /// Bytes handed to the plugin so far.
    pub fn position(&self) -> u64 {
        self.read
    }

    /// Its size in bytes, when known.
    pub(crate) fn size(&self) -> Option<u64> {
        self.size
    }

    /// Reads up to `max` bytes (at most [`MAX_CHUNK`]), filling the buffer
    /// unless the source ends. A read that fails after some bytes returns
    /// them, and the next one fails; the error says why, with no source
    /// data in it. (A WIT importer's `input`, and a native one's, `native/input.rs`.)
    pub(crate) fn read_chunk(&mut self, max: u32) -> Result<Vec<u8>, String> {
        if let Some(why) = &self.failed {
            return Err(why.clone());
        }
        let max = max.clamp(1, MAX_CHUNK) as usize;
        let mut buf = vec![0; max];
        let mut filled = 0;
        while filled < max {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let why = format!(
                        "reading the import source failed after {} bytes: {e}",
                        self.read + filled as u64
                    );
                    self.failed = Some(why.clone());
                    if filled == 0 {
                        return Err(why);
                    }
                    break;
                }
            }
        }
        buf.truncate(filled);
        self.read += filled as u64;
        Ok(buf)
    }
}

impl std::fmt::Debug for InputSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputSource")
            .field("size", &self.size)
            .field("read", &self.read)
            .finish()
    }
}

impl Host for PluginState {
    async fn read(&mut self, max: u32) -> wasmtime::Result<Vec<u8>> {
        match self.input.as_mut() {
            None => Ok(Vec::new()),
            // 1.0's `read` has no error: a source that cannot be read ends
            // the import with that error.
            Some(input) => input
                .read_chunk(max)
                .map_err(|e| wasmtime::format_err!("{e}")),
        }
    }

    async fn try_read(&mut self, max: u32) -> wasmtime::Result<Result<Vec<u8>, InputError>> {
        Ok(match self.input.as_mut() {
            None => Ok(Vec::new()),
            Some(input) => input.read_chunk(max).map_err(InputError::Failed),
        })
    }

    async fn size(&mut self) -> wasmtime::Result<Option<u64>> {
        Ok(self.input.as_ref().and_then(|i| i.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_capped_and_filled() {
        let data = vec![7u8; 3 * MAX_CHUNK as usize + 5];
        let mut input = InputSource::new(std::io::Cursor::new(data), None);
        assert_eq!(
            input.read_chunk(u32::MAX).expect("read").len(),
            MAX_CHUNK as usize
        );
        assert_eq!(input.read_chunk(10).expect("read").len(), 10);
        let mut total = MAX_CHUNK as usize + 10;
        loop {
            let chunk = input.read_chunk(MAX_CHUNK).expect("read");
            if chunk.is_empty() {
                break;
            }
            total += chunk.len();
        }
        assert_eq!(total, 3 * MAX_CHUNK as usize + 5);
        assert_eq!(input.position(), total as u64);
    }

    /// A reader that hands out `good` bytes, then fails.
    struct Failing {
        good: usize,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.good == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.good).min(3);
            buf[..n].fill(b'x');
            self.good -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_failed_read_returns_what_came_before_then_fails_for_good() {
        let mut input = InputSource::new(Failing { good: 5 }, None);
        assert_eq!(input.read_chunk(100).expect("the 5 good bytes"), b"xxxxx");
        let why = input.read_chunk(100).expect_err("then the failure");
        assert_eq!(
            why,
            "reading the import source failed after 5 bytes: disk on fire"
        );
        assert_eq!(input.read_chunk(100), Err(why), "and again");
        assert_eq!(input.position(), 5);
    }
}
