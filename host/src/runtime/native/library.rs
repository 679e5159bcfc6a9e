//! Unsafe code (with `runtime/cache.rs`'s deserialisation, the host's
//! only): opening a native plugin's library and calling its C functions
//! (`abi.rs`), and the input functions an importer calls back
//! (`input.rs`). Everything it hands back is a copy, checked by the
//! caller like a sandboxed plugin's answer.
//!
//! The library opened is exactly the bytes whose hash was checked: they
//! were read once, through one descriptor (`registry::read_dir`), and are
//! loaded from a sealed anonymous file holding that copy
//! ([`private_copy`]), never from the plugin's folder by path, so a file
//! swapped in there after the hash cannot be what runs.
//!
//! Each library is loaded once per process ([`loaded`]: keyed by the
//! SHA-256 of its bytes), and its copy stays open for the life of the
//! process, whether the load succeeded or not: the loader knows a library
//! by its path (`/proc/self/fd/N`) and may keep one loaded after it is
//! closed (`-z nodelete`, a constructor pinning it), so a descriptor
//! number closed and reused would make a later `dlopen` of another
//! library return the old one. One load per library also means one lock
//! serialising its calls, however many plugins or imports use it, and no
//! copy, descriptor or initialiser run per use in a batch or a shell.
//!
//! What cannot be checked, and is the user's consent
//! (`--i-understand-unsandboxed`): the library runs with keeper's rights,
//! its initialisers run when it is opened, and its functions are trusted
//! to have the ABI's signatures once the version symbol says so.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use zeroize::Zeroizing;

use super::abi::{
    ABI_VERSION, CALL_SYMBOL, FREE_SYMBOL, IMPORT_SYMBOL, IMPORTER_ABI_VERSION, VERSION_SYMBOL,
};
use super::input::{InputTable, table};
use crate::runtime::capability::input::InputSource;

type VersionFn = unsafe extern "C" fn() -> u32;
type CallFn = unsafe extern "C" fn(*const u8, usize, *const u8, usize, *mut usize) -> *mut u8;
type ImportFn = unsafe extern "C" fn(
    *const u8,
    usize,
    *const u8,
    usize,
    *const InputTable,
    *mut usize,
) -> *mut u8;
type FreeFn = unsafe extern "C" fn(*mut u8, usize);

/// What a library is opened as (its manifest's kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `keeper_native_call`, ABI 1 or 2.
    Rotator,
    /// `keeper_native_import`, ABI 2.
    Importer,
}

/// Why a library cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// No private copy could be made to load.
    #[error("cannot copy it to load: {0}")]
    Copy(String),
    /// The dynamic loader refused it.
    #[error("cannot load it: {0}")]
    Load(String),
    /// A symbol of the ABI is missing.
    #[error("it does not export `{0}`; is it a keeper native plugin of that kind?")]
    Missing(&'static str),
    /// The version symbol says an ABI keeper does not speak (for this kind).
    #[error(
        "it speaks native plugin ABI version {found}, keeper speaks version {rotator} or {importer} for a rotator and {importer} for an importer; rebuild it against this keeper's ABI",
        rotator = ABI_VERSION,
        importer = IMPORTER_ABI_VERSION
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

/// The library's entry point.
#[derive(Clone, Copy)]
enum Entry {
    Call(CallFn),
    Import(ImportFn),
}

/// A library loaded into this process, kept for the life of the process
/// (in [`LOADED`], never removed).
struct Loaded {
    /// Taken for the whole of each call: calls into one library are
    /// serialised (a plugin need not be thread-safe), so a call that
    /// overran its limit keeps later ones waiting until it returns.
    turn: Mutex<()>,
    /// The open library (never closed: an abandoned call may still be
    /// running in it, and its threads or destructors may outlive any
    /// use), or why the loader refused it.
    library: Result<libloading::Library, String>,
    /// The private copy it was loaded from, open for good: the loader
    /// knows the library by that path (`/proc/self/fd/N`), which must
    /// never name another file in this process.
    _copy: Copy,
}

/// Every library loaded in this process, by the SHA-256 of its bytes.
static LOADED: LazyLock<Mutex<HashMap<[u8; 32], Arc<Loaded>>>> = LazyLock::new(Default::default);

/// `bytes` loaded once per process: the library loaded earlier from the
/// same bytes, else a new private copy handed to the loader (and kept,
/// with the loader's answer, whatever it is).
fn loaded(bytes: &[u8]) -> Result<Arc<Loaded>, OpenError> {
    let hash: [u8; 32] = Sha256::digest(bytes).into();
    // Held while loading: the same bytes are never loaded twice at once.
    let mut all = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(loaded) = all.get(&hash) {
        return Ok(loaded.clone());
    }
    let (path, copy) = private_copy(bytes, &hash).map_err(|e| OpenError::Copy(e.to_string()))?;
    // SAFETY: opening runs the library's initialisers with keeper's
    // rights; the user installed it as unsandboxed native code
    // (`--i-understand-unsandboxed`) and allowed native plugins in the
    // configuration, and these are the bytes whose hash matched the one
    // they installed.
    let library = unsafe { libloading::Library::new(&path) }.map_err(|e| e.to_string());
    let loaded = Arc::new(Loaded {
        turn: Mutex::new(()),
        library,
        _copy: copy,
    });
    all.insert(hash, loaded.clone());
    Ok(loaded)
}

/// An open native plugin library whose ABI version was checked, as a
/// `Role`'s entry point.
pub(crate) struct Library {
    /// The library, loaded once in this process and never closed, so the
    /// pointers below stay valid.
    loaded: Arc<Loaded>,
    entry: Entry,
    free: FreeFn,
}

impl Library {
    /// Loads `bytes` (a library whose hash the caller checked) from a
    /// private copy, or finds it loaded already; checks its ABI version
    /// before looking up anything else, then finds the entry point of its
    /// `role` and the free function.
    pub(crate) fn open(bytes: &[u8], role: Role) -> Result<Self, OpenError> {
        let loaded = loaded(bytes)?;
        let library = loaded
            .library
            .as_ref()
            .map_err(|e| OpenError::Load(e.clone()))?;
        // SAFETY: the ABI declares the symbol with this signature; the
        // library is never closed (`Loaded`), so the pointer stays valid.
        let version: VersionFn = unsafe { library.get::<VersionFn>(VERSION_SYMBOL.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|_| OpenError::Missing(VERSION_SYMBOL))?;
        // SAFETY: takes no argument and returns a u32 by the ABI.
        let found = unsafe { version() };
        let spoken = match role {
            Role::Rotator => found == ABI_VERSION || found == IMPORTER_ABI_VERSION,
            Role::Importer => found == IMPORTER_ABI_VERSION,
        };
        if !spoken {
            return Err(OpenError::Version { found });
        }
        // SAFETY: the ABI version checked above declares these signatures;
        // the library they point into is never closed.
        let entry = match role {
            Role::Rotator => unsafe { library.get::<CallFn>(CALL_SYMBOL.as_bytes()) }
                .map(|symbol| Entry::Call(*symbol))
                .map_err(|_| OpenError::Missing(CALL_SYMBOL))?,
            // SAFETY: as above.
            Role::Importer => unsafe { library.get::<ImportFn>(IMPORT_SYMBOL.as_bytes()) }
                .map(|symbol| Entry::Import(*symbol))
                .map_err(|_| OpenError::Missing(IMPORT_SYMBOL))?,
        };
        // SAFETY: as above.
        let free: FreeFn = unsafe { library.get::<FreeFn>(FREE_SYMBOL.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|_| OpenError::Missing(FREE_SYMBOL))?;
        Ok(Self {
            loaded: loaded.clone(),
            entry,
            free,
        })
    }

    /// Waits for its turn (calls are serialised), then, unless `abandoned`
    /// says the caller stopped waiting meanwhile, calls `method` with
    /// `request` (an importer with `input`, or an empty source); copies
    /// the answer (at most `max` bytes) into keeper's memory and hands the
    /// plugin's buffer back to its free function.
    pub(crate) fn call(
        &self,
        method: &str,
        request: &[u8],
        input: Option<&mut InputSource>,
        max: usize,
        abandoned: &AtomicBool,
    ) -> Result<Zeroizing<Vec<u8>>, CallError> {
        let _turn = self
            .loaded
            .turn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if abandoned.load(Ordering::SeqCst) {
            // Its caller timed out while an earlier call ran: a late
            // call (a revert after a rotate) must not run at all.
            return Err(CallError::Abandoned);
        }
        let mut len: usize = 0;
        let answer = match self.entry {
            // SAFETY: both input buffers are valid for their lengths for
            // the whole call and not kept by the plugin (the ABI says so);
            // `len` is a valid place for the answer's length.
            Entry::Call(call) => unsafe {
                call(
                    method.as_ptr(),
                    method.len(),
                    request.as_ptr(),
                    request.len(),
                    &mut len,
                )
            },
            Entry::Import(import) => {
                let mut empty = InputSource::new(std::io::empty(), Some(0));
                let source = Mutex::new(input.unwrap_or(&mut empty));
                let input = table(&source);
                // SAFETY: as above; `input` and the source it points to
                // outlive the call (the ABI: valid during the call only).
                unsafe {
                    import(
                        method.as_ptr(),
                        method.len(),
                        request.as_ptr(),
                        request.len(),
                        &input,
                        &mut len,
                    )
                }
            }
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

/// A private copy of a library, alive as long as the library is loaded.
#[cfg(target_os = "linux")]
type Copy = std::fs::File;
/// A private copy of a library, alive as long as the library is loaded.
#[cfg(not(target_os = "linux"))]
type Copy = tempfile::TempDir;

/// The name of a library's private copy: its hash's first 8 bytes.
fn copy_name(hash: &[u8; 32]) -> String {
    format!("keeper-native-{}", hex::encode(&hash[..8]))
}

/// `bytes` in an anonymous memory file no one else can open for writing,
/// sealed against any change (grow, shrink, write) before it is loaded;
/// its path is `/proc/self/fd/N`, valid while the file stays open.
#[cfg(target_os = "linux")]
fn private_copy(bytes: &[u8], hash: &[u8; 32]) -> std::io::Result<(PathBuf, Copy)> {
    use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, memfd_create};
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let fd = memfd_create(
        copy_name(hash),
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    fcntl_add_seals(
        &file,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )?;
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    Ok((path, file))
}

/// `bytes` in a file of a fresh folder only keeper's user can enter
/// (mode 0700), loaded from there.
#[cfg(not(target_os = "linux"))]
fn private_copy(bytes: &[u8], hash: &[u8; 32]) -> std::io::Result<(PathBuf, Copy)> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{}-", copy_name(hash)))
        .tempdir()?;
    let path = dir
        .path()
        .join(format!("plugin{}", std::env::consts::DLL_SUFFIX));
    std::fs::write(&path, bytes)?;
    Ok((path, dir))
}
