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
//! Before anything is copied or loaded, the library's dynamic section
//! (`elf.rs`) must add no folder to the loader's search: a `DT_RPATH` or
//! `DT_RUNPATH` would have the libraries it needs (unhashed) looked for
//! there, a folder anyone may control; nor may it need or filter through
//! a library by a path or a `$` substitution (opened as is, from a folder
//! keeper does not check); and it must be readable as glibc reads it
//! (`elf.rs` refuses what the loader could read otherwise).
//!
//! What cannot be checked, and is the user's consent
//! (`--i-understand-unsandboxed`): the library runs with keeper's rights,
//! its initialisers run when it is opened, and its functions are trusted
//! to have the ABI's signatures once the version symbol says so. Its
//! initialisers have no time limit: they run inside the dynamic loader,
//! under its lock, which a thread given up on would keep (and exiting
//! takes), so one that never returns hangs keeper in [`loaded`], before
//! the command has written anything.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use zeroize::Zeroizing;

use super::abi::{
    ABI_VERSION, CALL_SYMBOL, FREE_SYMBOL, IMPORT_SYMBOL, IMPORTER_ABI_VERSION, VERSION_SYMBOL,
};
use super::elf;
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
    /// Its dynamic section cannot be read.
    #[error(transparent)]
    Elf(#[from] elf::Malformed),
    /// Its dynamic section adds a folder to the loader's search.
    #[error(
        "its dynamic section sets {tag} \"{value}\": the dynamic loader would look there for \
         the libraries it needs, which keeper does not hash, so keeper refuses a library with \
         DT_RPATH or DT_RUNPATH; relink it without -rpath (or `patchelf --remove-rpath`)"
    )]
    SearchPath {
        /// `DT_RPATH` or `DT_RUNPATH`.
        tag: &'static str,
        /// The folders it names.
        value: String,
    },
    /// It needs (`DT_NEEDED`) or filters through (`DT_AUXILIARY`,
    /// `DT_FILTER`) a library by a path or a `$` substitution.
    #[error(
        "it needs \"{0}\", a path (or a $-substitution) the dynamic loader would open \
         as is, from a folder keeper does not check; relink it against the library's \
         name (its SONAME), found by the system's usual search"
    )]
    NeededByPath(String),
    /// The kernel refused the anonymous file it is loaded from.
    #[error("cannot make the sealed in-memory copy it is loaded from: {0}")]
    Memfd(String),
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
    /// What stays of the private copy it was loaded from ([`Kept`]).
    _copy: Kept,
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
    check_dynamic(bytes)?;
    let (path, copy) = private_copy(bytes, &hash)?;
    // SAFETY: opening runs the library's initialisers with keeper's
    // rights; the user installed it as unsandboxed native code
    // (`--i-understand-unsandboxed`) and allowed native plugins in the
    // configuration, and these are the bytes whose hash matched the one
    // they installed; its dynamic section was checked above.
    let library = unsafe { libloading::Library::new(&path) }.map_err(|e| e.to_string());
    let loaded = Arc::new(Loaded {
        turn: Mutex::new(()),
        library,
        _copy: keep(copy),
    });
    all.insert(hash, loaded.clone());
    Ok(loaded)
}

/// Refuses a library whose dynamic section (ELF; other formats are left
/// to the loader) cannot be read as the loader reads it, adds a folder to
/// the loader's search, or needs (or filters through) a library by a path,
/// absolute or relative, or by a `$` substitution: only bare names, found
/// by the system's usual search, are let through.
fn check_dynamic(bytes: &[u8]) -> Result<(), OpenError> {
    let Some(dynamic) = elf::dynamic(bytes)? else {
        return Ok(());
    };
    if let Some((tag, value)) = dynamic.search.into_iter().next() {
        return Err(OpenError::SearchPath { tag, value });
    }
    match dynamic
        .needed
        .into_iter()
        .find(|name| name.contains(['/', '$']))
    {
        Some(name) => Err(OpenError::NeededByPath(name)),
        None => Ok(()),
    }
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

/// A private copy of a library, as made for the loader.
#[cfg(target_os = "linux")]
type Copy = std::fs::File;
/// A private copy of a library, as made for the loader.
#[cfg(not(target_os = "linux"))]
type Copy = tempfile::TempDir;

/// What stays of a private copy once the loader has opened it. On
/// Linux, the anonymous file, open for good: the loader knows the
/// library by its path (`/proc/self/fd/N`), which must never name another
/// file in this process.
#[cfg(target_os = "linux")]
type Kept = std::fs::File;
/// What stays of a private copy once the loader has opened it. Off
/// Linux, nothing: the loader has mapped the file, so the copy and its
/// folder are removed at once ([`LOADED`] is never dropped, so a copy
/// kept there would outlive the process); the folder's random name, which
/// starts with the library's hash, is never another library's.
#[cfg(not(target_os = "linux"))]
type Kept = ();

#[cfg(target_os = "linux")]
fn keep(copy: Copy) -> Kept {
    copy
}

#[cfg(not(target_os = "linux"))]
fn keep(copy: Copy) -> Kept {
    drop(copy);
}

/// The name of a library's private copy: its hash's first 8 bytes.
fn copy_name(hash: &[u8; 32]) -> String {
    format!("keeper-native-{}", hex::encode(&hash[..8]))
}

/// `bytes` in an anonymous memory file no one else can open for writing,
/// sealed against any change (grow, shrink, write) before it is loaded;
/// its path is `/proc/self/fd/N`, valid while the file stays open.
#[cfg(target_os = "linux")]
fn private_copy(bytes: &[u8], hash: &[u8; 32]) -> Result<(PathBuf, Copy), OpenError> {
    use rustix::fs::{SealFlags, fcntl_add_seals};
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let fd = memfd(&copy_name(hash)).map_err(|errno| {
        let noexec = std::fs::read_to_string("/proc/sys/vm/memfd_noexec").ok();
        OpenError::Memfd(memfd_refused(errno, noexec.as_deref().map(str::trim)))
    })?;
    let mut file = std::fs::File::from(fd);
    let copied = file.write_all(bytes).and_then(|()| {
        fcntl_add_seals(
            &file,
            SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
        )
        .map_err(Into::into)
    });
    copied.map_err(|e| OpenError::Copy(e.to_string()))?;
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    Ok((path, file))
}

/// An anonymous memory file named `name`, executable: `MFD_EXEC` (Linux
/// 6.3 and later), without which `vm.memfd_noexec = 1` would seal it
/// against execution and the loader could not map it; without the flag
/// on a kernel that does not know it (`EINVAL`).
#[cfg(target_os = "linux")]
fn memfd(name: &str) -> rustix::io::Result<std::os::fd::OwnedFd> {
    use rustix::fs::{MemfdFlags, memfd_create};
    #[cfg(test)]
    if let Some(errno) = tests::REFUSE_MEMFD.get() {
        return Err(errno);
    }
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    match memfd_create(name, flags | MemfdFlags::EXEC) {
        Err(rustix::io::Errno::INVAL) => memfd_create(name, flags),
        made => made,
    }
}

/// Why `memfd_create` failed with `errno`, in words naming the likely
/// cause; `noexec` is the `vm.memfd_noexec` setting, when readable.
#[cfg(target_os = "linux")]
fn memfd_refused(errno: rustix::io::Errno, noexec: Option<&str>) -> String {
    use rustix::io::Errno;
    let name = match errno {
        Errno::ACCESS => "EACCES",
        Errno::PERM => "EPERM",
        Errno::NOSYS => "ENOSYS",
        Errno::INVAL => "EINVAL",
        Errno::MFILE => "EMFILE",
        Errno::NFILE => "ENFILE",
        Errno::NOMEM => "ENOMEM",
        _ => "errno",
    };
    let cause = match errno {
        Errno::ACCESS | Errno::PERM if noexec == Some("2") => {
            "this system forbids executable memory files (the sysctl vm.memfd_noexec is 2)"
        }
        Errno::ACCESS | Errno::PERM => {
            "a seccomp filter or a security module forbids it (a container's or a service's \
             sandbox, such as systemd's SystemCallFilter= or MemoryDenyWriteExecute=)"
        }
        Errno::NOSYS => {
            "this kernel has no memfd_create (Linux 3.17 and later have it), or a seccomp \
             filter hides it"
        }
        Errno::MFILE | Errno::NFILE => "too many files are open",
        Errno::NOMEM => "out of memory",
        _ => "an unexpected failure",
    };
    format!(
        "memfd_create was refused ({name}: {}): {cause}. keeper loads a native library only \
         from a sealed in-memory copy of the bytes it hashed, so native plugins cannot run \
         where that is refused",
        std::io::Error::from(errno)
    )
}

/// `bytes` in a file of a fresh folder only keeper's user can enter
/// (mode 0700), loaded from there; the folder goes when the returned
/// guard is dropped ([`keep`]). The copy off Linux; compiled everywhere
/// so that Linux builds check it and its tests run it.
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))]
fn temp_copy(bytes: &[u8], hash: &[u8; 32]) -> std::io::Result<(PathBuf, tempfile::TempDir)> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{}-", copy_name(hash)))
        .tempdir()?;
    let path = dir
        .path()
        .join(format!("plugin{}", std::env::consts::DLL_SUFFIX));
    std::fs::write(&path, bytes)?;
    Ok((path, dir))
}

/// [`temp_copy`], off Linux.
#[cfg(not(target_os = "linux"))]
fn private_copy(bytes: &[u8], hash: &[u8; 32]) -> Result<(PathBuf, Copy), OpenError> {
    temp_copy(bytes, hash).map_err(|e| OpenError::Copy(e.to_string()))
}

/// Linux only: the memfd hook, and a temporary copy loaded where it can
/// be checked.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::cell::Cell;

    use rustix::io::Errno;

    use super::*;

    thread_local! {
        /// The testing hook: while set, `memfd_create` fails on this
        /// thread with this errno (as under a seccomp filter or
        /// `vm.memfd_noexec = 2`).
        pub(super) static REFUSE_MEMFD: Cell<Option<Errno>> = const { Cell::new(None) };
    }

    /// `memfd_create` refused: the load fails with words naming the
    /// call, the errno and its likely cause (the sysctl when it says 2),
    /// loads nothing and remembers nothing (a later load may succeed).
    #[test]
    fn a_refused_memfd_create_is_named_with_its_cause() {
        let bytes = b"bytes no other test loads: memfd refused".as_slice();
        for errno in [Errno::ACCESS, Errno::PERM] {
            REFUSE_MEMFD.set(Some(errno));
            let error = Library::open(bytes, Role::Rotator)
                .err()
                .expect("refused")
                .to_string();
            REFUSE_MEMFD.set(None);
            assert!(
                error.starts_with("cannot make the sealed in-memory copy it is loaded from: memfd_create was refused (E"),
                "{error}"
            );
            assert!(
                error.contains("Permission denied") || error.contains("not permitted"),
                "{error}"
            );
            assert!(error.contains("seccomp"), "{error}");
        }
        REFUSE_MEMFD.set(Some(Errno::NOSYS));
        let error = Library::open(bytes, Role::Rotator)
            .err()
            .expect("refused")
            .to_string();
        REFUSE_MEMFD.set(None);
        assert!(error.contains("(ENOSYS: "), "{error}");
        assert!(
            memfd_refused(Errno::ACCESS, Some("2")).contains("vm.memfd_noexec is 2"),
            "the sysctl named"
        );
        // Unhooked, the same bytes reach the loader (which refuses them).
        let error = Library::open(bytes, Role::Rotator)
            .err()
            .expect("refused")
            .to_string();
        assert!(error.starts_with("cannot load it"), "{error}");
    }

    /// The copy made off Linux (run here too): the library loaded from
    /// it keeps working once its folder is removed, as it is when
    /// [`keep`] drops it there.
    #[test]
    fn a_temporary_copy_is_removed_once_loaded() {
        let libm = crate::runtime::native::tests::libm().expect("a libm.so.6 to copy");
        let bytes = std::fs::read(libm).expect("read libm");
        let hash: [u8; 32] = <Sha256 as sha2::Digest>::digest(&bytes).into();
        let (path, copy) = temp_copy(&bytes, &hash).expect("copied");
        let folder = copy.path().to_path_buf();
        assert!(path.starts_with(&folder) && path.exists());
        // SAFETY: the C library's maths library, whose initialisers are
        // the system's.
        let library = unsafe { libloading::Library::new(&path) }.expect("loaded");
        drop(copy);
        assert!(!folder.exists(), "the temporary copy is left behind");
        // SAFETY: `cos` has this signature in libm.
        let cos = unsafe { library.get::<unsafe extern "C" fn(f64) -> f64>(b"cos") }.expect("cos");
        // SAFETY: as above.
        assert_eq!(unsafe { (*cos)(0.0) }, 1.0);
    }
}
