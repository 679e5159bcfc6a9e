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
