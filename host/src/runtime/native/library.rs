//! Unsafe code (with `runtime/cache.rs`'s deserialisation, the host's
//! only): opening a native plugin's library and
//! calling its three C functions (`abi.rs`). Everything it hands back is
//! a copy, checked by the caller like a sandboxed plugin's answer.
//!
//! What cannot be checked, and is the user's consent
//! (`--i-understand-unsandboxed`): the library runs with keeper's rights,
//! its initialisers run when it is opened, and its functions are trusted
//! to have the ABI's signatures once the version symbol says so.

use std::mem::ManuallyDrop;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

use super::abi::{ABI_VERSION, CALL_SYMBOL, FREE_SYMBOL, VERSION_SYMBOL};

type VersionFn = unsafe extern "C" fn() -> u32;
type CallFn = unsafe extern "C" fn(*const u8, usize, *const u8, usize, *mut usize) -> *mut u8;
type FreeFn = unsafe extern "C" fn(*mut u8, usize);

/// Why a library cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// The dynamic loader refused it.
    #[error("cannot load it: {0}")]
    Load(String),
    /// A symbol of the ABI is missing.
    #[error("it does not export `{0}`; is it a keeper native plugin?")]
    Missing(&'static str),
    /// The version symbol says another ABI.
    #[error(
        "it speaks native plugin ABI version {found}, keeper speaks version {keeper}; rebuild it against this keeper's ABI",
        keeper = ABI_VERSION
    )]
    Version {
        /// What `keeper_native_abi_version` returned.
        found: u32,
    },
}

/// Why a call gave no usable answer.
#[derive(Debug)]
pub(crate) enum CallError {
    /// It returned NULL.
    NoAnswer,
    /// Its answer was over the limit (not copied).
    TooLarge(usize),
    /// Not made: its caller had stopped waiting for its turn.
    Abandoned,
}

/// An open native plugin library whose ABI version was checked.
pub(crate) struct Library {
    /// Taken for the whole of each call: calls into one library are
    /// serialised (a plugin need not be thread-safe), so a call that
    /// overran its limit keeps later ones waiting until it returns.
    turn: Mutex<()>,
    call: CallFn,
    free: FreeFn,
    /// Never closed (no `dlclose`): an abandoned call may still be running
    /// in it, and a library's threads or destructors may outlive `Self`.
    _library: ManuallyDrop<libloading::Library>,
}

impl Library {
    /// Opens `path`, checks its ABI version before looking up anything
    /// else, then finds the call and free functions.
    pub(crate) fn open(path: &Path) -> Result<Self, OpenError> {
        // SAFETY: opening runs the library's initialisers with keeper's
        // rights; the user installed it as unsandboxed native code
        // (`--i-understand-unsandboxed`) and allowed native plugins in the
        // configuration, and its hash matched the one they installed.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| OpenError::Load(e.to_string()))?;
        // SAFETY: the ABI declares the symbol with this signature; the
        // pointer is used only while `library` is open (it is dropped here
        // on every early return, and kept in `Self` otherwise).
        let version: VersionFn = unsafe { library.get::<VersionFn>(VERSION_SYMBOL.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|_| OpenError::Missing(VERSION_SYMBOL))?;
        // SAFETY: takes no argument and returns a u32 by the ABI.
        let found = unsafe { version() };
        if found != ABI_VERSION {
            return Err(OpenError::Version { found });
        }
        // SAFETY: version 1 of the ABI declares these signatures; both
        // pointers live in `Self` beside the open library.
        let call: CallFn = unsafe { library.get::<CallFn>(CALL_SYMBOL.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|_| OpenError::Missing(CALL_SYMBOL))?;
        // SAFETY: as above.
        let free: FreeFn = unsafe { library.get::<FreeFn>(FREE_SYMBOL.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|_| OpenError::Missing(FREE_SYMBOL))?;
        Ok(Self {
            turn: Mutex::new(()),
            call,
            free,
            _library: ManuallyDrop::new(library),
        })
    }

    /// Waits for its turn (calls are serialised), then, unless `abandoned`
    /// says the caller stopped waiting meanwhile, calls `method` with
    /// `request`; copies the answer (at most `max` bytes) into keeper's
    /// memory and hands the plugin's buffer back to its free function.
    pub(crate) fn call(
        &self,
        method: &str,
        request: &[u8],
        max: usize,
        abandoned: &AtomicBool,
    ) -> Result<Zeroizing<Vec<u8>>, CallError> {
        let _turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        if abandoned.load(Ordering::SeqCst) {
            // Its caller timed out while an earlier call ran: a late
            // call (a revert after a rotate) must not run at all.
            return Err(CallError::Abandoned);
        }
        let mut len: usize = 0;
        // SAFETY: both input buffers are valid for their lengths for the
        // whole call and not kept by the plugin (the ABI says so); `len`
        // is a valid place for the answer's length.
        let answer = unsafe {
            (self.call)(
                method.as_ptr(),
                method.len(),
                request.as_ptr(),
                request.len(),
                &mut len,
            )
        };
        if answer.is_null() {
            return Err(CallError::NoAnswer);
        }
        let copied = if len > max {
            Err(CallError::TooLarge(len))
        } else {
            // SAFETY: the ABI says a non-NULL answer is `len` readable
            // bytes owned by the plugin until it is freed below.
            Ok(Zeroizing::new(
                unsafe { std::slice::from_raw_parts(answer, len) }.to_vec(),
            ))
        };
        // SAFETY: the pointer and length the plugin returned, freed once,
        // and not read after this.
        unsafe { (self.free)(answer, len) };
        copied
    }
}
