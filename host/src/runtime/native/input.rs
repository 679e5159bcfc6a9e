//! Unsafe code (as `library.rs`): the import source a native importer
//! reads during a call, handed to it as a table of two C functions
//! (`keeper_input` in `abi_import.rs`). The source is the host's
//! [`InputSource`], the one a WIT importer's `input` reads: the same
//! chunk cap, the same error that holds no source data, the same "failed
//! for good" once a read has failed.

use std::ffi::c_void;
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

use crate::runtime::capability::input::InputSource;

/// `keeper_input`: what the host hands a native importer's call.
#[repr(C)]
pub(crate) struct InputTable {
    ctx: *mut c_void,
    read: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut u8, usize, *mut usize) -> i64,
    size: unsafe extern "C" fn(*mut c_void) -> i64,
}

/// The table over `source`, valid while `source` lives (one call). The
/// lock lets a plugin call back from any thread, one read at a time.
pub(crate) fn table(source: &Mutex<&mut InputSource>) -> InputTable {
    InputTable {
        ctx: std::ptr::from_ref(source).cast_mut().cast(),
        read,
        size,
    }
}

/// `int64_t read(ctx, buf, max, why, why_cap, why_len)`: up to `max`
/// bytes (at most a chunk, `capability::input::MAX_CHUNK`) into `buf`;
/// their count, 0 at the end of the source; -1 when reading failed, with
/// why (no source data) in `why`, cut to `why_cap` bytes, its length in
/// `*why_len`.
///
/// # Safety
///
/// `ctx` is a table's, during its call; `buf` holds `max` writable bytes;
/// `why` holds `why_cap` writable bytes and `why_len` is writable (or
/// either is NULL).
unsafe extern "C" fn read(
    ctx: *mut c_void,
    buf: *mut u8,
    max: usize,
    why: *mut u8,
    why_cap: usize,
    why_len: *mut usize,
) -> i64 {
    if ctx.is_null() || buf.is_null() {
        return -1;
    }
    if max == 0 {
        return 0;
    }
    // SAFETY: `ctx` is the lock `table` was given, alive for the call.
    let source = unsafe { &*ctx.cast_const().cast::<Mutex<&mut InputSource>>() };
    let mut source = source.lock().unwrap_or_else(PoisonError::into_inner);
    let max = u32::try_from(max).unwrap_or(u32::MAX);
    match source.read_chunk(max) {
        Ok(chunk) => {
            let chunk = Zeroizing::new(chunk);
            // SAFETY: `read_chunk` returns at most `max` bytes, and `buf`
            // holds `max` (the ABI); the two do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), buf, chunk.len()) };
            i64::try_from(chunk.len()).unwrap_or(-1)
        }
        Err(text) => {
            if !why.is_null() && !why_len.is_null() {
                let mut cut = text.len().min(why_cap);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                // SAFETY: `why` holds `why_cap` ≥ `cut` writable bytes and
                // `why_len` is writable (the ABI).
                unsafe {
                    std::ptr::copy_nonoverlapping(text.as_ptr(), why, cut);
                    *why_len = cut;
                }
            }
            -1
        }
    }
}

/// `int64_t size(ctx)`: the source's size in bytes, -1 when unknown.
///
/// # Safety
///
/// `ctx` is a table's, during its call.
unsafe extern "C" fn size(ctx: *mut c_void) -> i64 {
    if ctx.is_null() {
        return -1;
    }
    // SAFETY: as in `read`.
    let source = unsafe { &*ctx.cast_const().cast::<Mutex<&mut InputSource>>() };
    let source = source.lock().unwrap_or_else(PoisonError::into_inner);
    source
        .size()
        .and_then(|s| i64::try_from(s).ok())
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `good` bytes, then fails.
    struct Failing(usize);

    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire: é"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    /// Calls the table's `read` as a plugin would.
    fn read_via(input: &InputTable, max: usize, why_cap: usize) -> (i64, Vec<u8>, String) {
        let mut buf = vec![0u8; max];
        let mut why = vec![0u8; why_cap];
        let mut why_len = 0usize;
        // SAFETY: the buffers are as long as said; the table's source
        // lives for the test.
        let n = unsafe {
            (input.read)(
                input.ctx,
                buf.as_mut_ptr(),
                max,
                why.as_mut_ptr(),
                why_cap,
                &mut why_len,
            )
        };
        buf.truncate(usize::try_from(n).unwrap_or(0));
        (
            n,
            buf,
            String::from_utf8(why[..why_len].to_vec()).expect("UTF-8"),
        )
    }

    /// The bytes, then the failure (cut on a character boundary), then
    /// the same failure for good; `max` 0 reads nothing; the size.
    #[test]
    fn reads_come_through_the_table_and_failures_say_why() {
        let mut source = InputSource::new(Failing(5), Some(5));
        let lock = Mutex::new(&mut source);
        let input = table(&lock);
        assert_eq!(read_via(&input, 0, 0).0, 0);
        assert_eq!(read_via(&input, 3, 0), (3, b"xxx".to_vec(), String::new()));
        assert_eq!(read_via(&input, 100, 0), (2, b"xx".to_vec(), String::new()));
        let (n, _, why) = read_via(&input, 100, 200);
        assert_eq!(n, -1);
        assert_eq!(
            why,
            "reading the import source failed after 5 bytes: disk on fire: é"
        );
        // 200 would hold it all; one byte short of the last character cuts it off.
        let (n, _, why) = read_via(&input, 100, why.len() - 1);
        assert_eq!(n, -1);
        assert!(why.ends_with("fire: "), "{why}");
        // SAFETY: the table's own context.
        assert_eq!(unsafe { (input.size)(input.ctx) }, 5);
    }
}
