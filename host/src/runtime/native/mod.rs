//! Native plugins: an opt-in, **unsandboxed** escape hatch for rotators
//! and importers that cannot be WebAssembly (a vendor's C library). A
//! native plugin is a shared library (cdylib) with a small C ABI
//! (`abi.rs`, importers `abi_import.rs`), loaded with `libloading`
//! (`library.rs` and the importer's input functions `input.rs`, unsafe
//! code; the host's other is `cache.rs`'s deserialisation).
//!
//! It runs with keeper's own rights: no capability, memory or CPU limit
//! applies, so it exists only when the configuration says
//! `"native_plugins": true` and the user installed it with
//! `--i-understand-unsandboxed`, and keeper labels it "native,
//! unsandboxed" wherever it shows a plugin. What keeper can still do, it
//! does: the library loaded is the copy whose hash was checked (never
//! the file by path, `library.rs`; only that file: the libraries it
//! needs, its `DT_NEEDED` entries, are found and loaded by the dynamic
//! loader's usual search, by path and unhashed, so a library whose
//! dynamic section adds to that search, `DT_RPATH` or `DT_RUNPATH`, is
//! refused, `elf.rs`),
//! loaded once per process (by its sha256), the ABI version is checked before
//! anything else is called, each call has the plugin's wall-clock limit
//! (a call that overruns is abandoned, not stopped: its thread runs on,
//! so its outcome is unknown and the engine neither reverts nor rolls
//! back after it), calls into one library are serialised (one at a time,
//! in its own lock, so a late call never overlaps an abandoned one),
//! answers are size-capped and parsed strictly, and what they hold is
//! checked like a sandboxed plugin's (fields it may return, text escaped
//! and redacted, an import batch's size; see `plugin/native.rs` and
//! `plugin/import.rs`). An importer reads its source only through what
//! keeper hands each call (`input.rs`), as a WIT importer does.

pub mod abi;
pub mod abi_import;
mod elf;
#[allow(unsafe_code)]
mod input;
#[allow(unsafe_code)]
mod library;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use self::abi::Response;
use self::library::{CallError, Library};
use crate::runtime::capability::input::InputSource;

pub(crate) use self::library::Role;

/// A native plugin's library, open and version-checked.
#[derive(Clone)]
pub(crate) struct NativePlugin {
    library: Arc<Library>,
}

/// How a native call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The plugin's own error (`kind`, `message`), still to be checked.
    Plugin(abi::ErrorJson),
    /// It overran its wall-clock limit (or waited that long for its turn)
    /// and was abandoned: whether it changed anything is unknown.
    Timeout,
    /// It answered nothing usable.
    Malformed(String),
    /// Its answer was over the limit.
    TooLarge(usize),
}

impl NativePlugin {
    /// Loads `bytes`, a library whose hash the caller checked, as a
    /// `role`, and checks its ABI version.
    ///
    /// # Errors
    ///
    /// What is wrong with it, in words for the user.
    pub(crate) fn open(bytes: &[u8], role: Role) -> Result<Self, String> {
        Library::open(bytes, role)
            .map(|library| Self {
                library: Arc::new(library),
            })
            .map_err(|e| e.to_string())
    }

    /// Calls `method` with a JSON `request` (zeroized after), an
    /// importer's with its `input`, on a blocking thread, within `timeout`
    /// (counting the wait for its turn: calls are serialised); parses the
    /// answer as `T`. A call still waiting for its turn when `timeout`
    /// passes is never made.
    pub(crate) async fn call<T: DeserializeOwned + Send + 'static>(
        &self,
        method: &'static str,
        request: Zeroizing<Vec<u8>>,
        input: Option<Arc<Mutex<InputSource>>>,
        timeout: Duration,
        max_answer: usize,
    ) -> Result<T, Failure> {
        let library = self.library.clone();
        let abandoned = Arc::new(AtomicBool::new(false));
        let gave_up = abandoned.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut source = input
                .as_ref()
                .map(|i| i.lock().unwrap_or_else(PoisonError::into_inner));
            let answer = library.call(
                method,
                &request,
                source.as_deref_mut(),
                max_answer,
                &abandoned,
            );
            drop(source);
            drop(request);
            match answer {
                // serde's message may quote the answer (a secret): only
                // what kind of error, and where, or keeper's own words.
                Ok(bytes) => serde_json::from_slice::<Response<T>>(&bytes).map_err(|e| {
                    let own = Zeroizing::new(e.to_string()).starts_with(abi_import::NOT_BASE64);
                    Failure::Malformed(format!(
                        "its answer is not valid JSON of the expected shape ({:?} error at line {}, column {}{})",
                        e.classify(),
                        e.line(),
                        e.column(),
                        if own { format!(": {}", abi_import::NOT_BASE64) } else { String::new() }
                    ))
                }),
                Err(CallError::NoAnswer) => {
                    Err(Failure::Malformed("it returned no answer (NULL)".into()))
                }
                Err(CallError::TooLarge(bytes)) => Err(Failure::TooLarge(bytes)),
                Err(CallError::Abandoned) => Err(Failure::Timeout),
            }
        });
        match tokio::time::timeout(timeout, task).await {
            Err(_) => {
                gave_up.store(true, Ordering::SeqCst);
                Err(Failure::Timeout)
            }
            Ok(Err(join)) => Err(Failure::Malformed(format!("the call failed: {join}"))),
            Ok(Ok(Err(failure))) => Err(failure),
            Ok(Ok(Ok(Response::Ok(value)))) => Ok(value),
            Ok(Ok(Ok(Response::Error(error)))) => Err(Failure::Plugin(error)),
        }
    }
}

/// The libraries a native library has the dynamic loader load with it
/// (its ELF `DT_NEEDED`, `DT_AUXILIARY` and `DT_FILTER` names, which
/// keeper does not hash), or why keeper cannot say.
///
/// # Errors
///
/// [`UnknownNeeds`]: the bytes are not ELF, or their dynamic section
/// cannot be read as the loader reads it (loading it is refused too).
pub(crate) fn needed_libraries(bytes: &[u8]) -> Result<Vec<String>, UnknownNeeds> {
    match elf::dynamic(bytes) {
        Ok(Some(dynamic)) => Ok(dynamic.needed),
        Ok(None) => Err(UnknownNeeds::NotElf),
        Err(e) => Err(UnknownNeeds::Unreadable(e)),
    }
}

/// Why keeper cannot list the libraries a native library needs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum UnknownNeeds {
    /// Not ELF (a Mach-O or DLL is not read; it needs libraries too).
    #[error("unknown (not an ELF library)")]
    NotElf,
    /// ELF whose dynamic section keeper cannot read as the loader would.
    #[error("unreadable: {0}")]
    Unreadable(elf::Malformed),
}

/// Serialises `value` into a buffer that is zeroized when dropped.
pub(crate) fn request<T: serde::Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    // Sized exactly first, so the buffer never reallocates and leaves a
    // copy of a password in freed memory.
    let mut counter = ByteCount(0);
    // Writing JSON cannot fail for these plain types.
    let _ = serde_json::to_writer(&mut counter, value);
    let mut buffer = Zeroizing::new(Vec::with_capacity(counter.0));
    let _ = serde_json::to_writer(&mut *buffer, value);
    buffer
}

/// A writer that only counts bytes.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that is not a library, and a library without the ABI, are
    /// refused with words that say so.
    #[test]
    fn what_is_not_a_native_plugin_is_refused() {
        let error = NativePlugin::open(b"not a library", Role::Rotator)
            .err()
            .expect("refused");
        assert!(error.starts_with("cannot load it"), "{error}");
        // The maths library is a real shared object without keeper's ABI
        // (loaded from a private copy: a second copy of it in the process,
        // harmless, unlike a second C library).
        match libm() {
            Some(libm) => {
                let bytes = std::fs::read(libm).expect("read libm");
                for role in [Role::Rotator, Role::Importer] {
                    let error = NativePlugin::open(&bytes, role).err().expect("refused");
                    assert!(error.contains("keeper_native_abi_version"), "{error}");
                }
            }
            // On Linux the test must not pass without checking anything.
            None if cfg!(target_os = "linux") => panic!("no libm.so.6 found to open"),
            None => {}
        }
    }

    /// The system's maths library, if found where distributions put it.
    pub(super) fn libm() -> Option<&'static std::path::Path> {
        [
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/lib/aarch64-linux-gnu/libm.so.6",
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
            "/usr/lib/aarch64-linux-gnu/libm.so.6",
            "/lib64/libm.so.6",
            "/usr/lib64/libm.so.6",
            "/usr/lib/libm.so.6",
        ]
        .into_iter()
        .map(std::path::Path::new)
        .find(|p| p.exists())
    }

    /// Builds `keeper_native_abi_version` returning `version` (and `more`
    /// C code) into a shared library with the system's C compiler (with
    /// `flags`).
    #[cfg(target_os = "linux")]
    pub(super) fn c_library(
        dir: &std::path::Path,
        name: &str,
        version: u32,
        more: &str,
        flags: &[&str],
    ) -> Vec<u8> {
        let source = dir.join(format!("{name}.c"));
        std::fs::write(
            &source,
            format!(
                "#include <stddef.h>\n#include <stdint.h>\n#include <stdlib.h>\n\
                 unsigned keeper_native_abi_version(void) {{ return {version}; }}\n{more}\n"
            ),
        )
        .expect("write the C source");
        let library = dir.join(format!("{name}.so"));
        let status =
            std::process::Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
                .args(["-shared", "-fPIC", "-o"])
                .arg(&library)
                .arg(&source)
                .args(flags)
                .status()
                .expect("run the C compiler");
        assert!(status.success(), "cc failed");
        std::fs::read(&library).expect("read the library")
    }

    /// How many of this process's descriptors are the private copy of
    /// `bytes` (named by its hash).
    #[cfg(target_os = "linux")]
    fn copies_of(bytes: &[u8]) -> usize {
        use sha2::Digest as _;
        let name = format!(
            "keeper-native-{}",
            hex::encode(&sha2::Sha256::digest(bytes)[..8])
        );
        std::fs::read_dir("/proc/self/fd")
            .expect("list descriptors")
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().contains(&name))
            .count()
    }

    /// A library that stays loaded after it was refused (`-z nodelete`)
    /// is never what a later open of other bytes returns: the copy it was
    /// loaded from stays open, so the next library's copy cannot reuse its
    /// descriptor number (`/proc/self/fd/N`, the name the loader knows it
    /// by). Opening the same bytes again loads nothing new: one copy per
    /// library for the life of the process.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_refused_library_kept_loaded_is_never_returned_for_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pinned = c_library(dir.path(), "pinned", 7, "", &["-Wl,-z,nodelete"]);
        for round in 0..3 {
            let error = NativePlugin::open(&pinned, Role::Importer)
                .err()
                .expect("refused");
            assert!(error.contains("version 7"), "{error}");
            assert_eq!(copies_of(&pinned), 1, "round {round}: one copy, kept open");
            let other = c_library(dir.path(), &format!("other{round}"), 100 + round, "", &[]);
            let error = NativePlugin::open(&other, Role::Importer)
                .err()
                .expect("refused");
            assert!(
                error.contains(&format!("version {}", 100 + round)),
                "round {round}: another library's bytes were not what loaded: {error}"
            );
            assert_eq!(copies_of(&other), 1);
        }
    }

    /// A library whose dynamic section adds a folder to the loader's
    /// search (`DT_RUNPATH`, `DT_RPATH`) or needs a library by a path,
    /// relative or absolute, or through a `$` substitution, as `DT_NEEDED`,
    /// `DT_AUXILIARY` or `DT_FILTER`, is refused before it is copied or loaded: its initialiser
    /// never runs. The same code linked without them is a rotator (and
    /// its initialiser runs, so the test can see one).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_library_that_searches_folders_or_needs_a_relative_path_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("initialised");
        let code = format!(
            "#include <stdio.h>\n\
             __attribute__((constructor)) static void initialised(void) \
             {{ FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f); }}\n\
             void keeper_native_free(uint8_t *b, size_t n) {{ (void)n; free(b); }}\n\
             uint8_t *keeper_native_call(const uint8_t *m, size_t ml, \
             const uint8_t *r, size_t rl, size_t *n) {{ *n = 0; return NULL; }}",
            marker.display()
        );
        let dependency = dir.path().join("dependency.so");
        c_library(
            dir.path(),
            "dependency",
            1,
            "",
            &["-Wl,-soname,./dependency.so"],
        );
        let dependency = dependency.to_str().expect("UTF-8");
        // No SONAME: linked by its full path, it is needed by that path.
        let unnamed = dir.path().join("unnamed.so");
        c_library(dir.path(), "unnamed", 1, "", &[]);
        let unnamed = unnamed.to_str().expect("UTF-8");
        let auxiliary = format!("-Wl,-f,{dependency}");
        let by_path = format!("it needs \"{unnamed}\", a path");
        let filtered = format!("it needs \"{dependency}\", a path");
        for (name, flags, refusal) in [
            (
                "runpath",
                &["-Wl,--enable-new-dtags,-rpath,$ORIGIN/vendor"][..],
                "its dynamic section sets DT_RUNPATH \"$ORIGIN/vendor\"",
            ),
            (
                "rpath",
                &["-Wl,--disable-new-dtags,-rpath,/tmp/vendor"][..],
                "its dynamic section sets DT_RPATH \"/tmp/vendor\"",
            ),
            (
                "relative",
                &["-Wl,--no-as-needed", dependency][..],
                "it needs \"./dependency.so\", a path",
            ),
            (
                "auxiliary",
                &["-Wl,-f,./dependency.so"][..],
                "it needs \"./dependency.so\", a path",
            ),
            (
                "filter",
                &[auxiliary.replace("-f,", "-F,").as_str()][..],
                filtered.as_str(),
            ),
            (
                "absolute",
                &["-Wl,--no-as-needed", unnamed][..],
                by_path.as_str(),
            ),
            (
                "substitution",
                &["-Wl,-f,$ORIGIN/dependency.so"][..],
                "it needs \"$ORIGIN/dependency.so\", a path",
            ),
        ] {
            let bytes = c_library(dir.path(), name, 1, &code, flags);
            let error = NativePlugin::open(&bytes, Role::Rotator)
                .err()
                .expect("refused");
            assert!(error.contains(refusal), "{name}: {error}");
            assert!(!marker.exists(), "{name}: its initialiser ran");
            assert_eq!(copies_of(&bytes), 0, "{name}: copied to load");
        }
        // A filter library by bare name goes through the usual search (a
        // missing auxiliary one is ignored by the loader) and is listed.
        let filtered = c_library(
            dir.path(),
            "filtered",
            1,
            &code,
            &["-Wl,-f,libkeeper-aux.so.1"],
        );
        assert!(
            needed_libraries(&filtered)
                .expect("ELF")
                .iter()
                .any(|n| n == "libkeeper-aux.so.1")
        );
        assert!(NativePlugin::open(&filtered, Role::Rotator).is_ok());
        std::fs::remove_file(&marker).expect("initialised");
        let plain = c_library(dir.path(), "plain", 1, &code, &[]);
        assert!(NativePlugin::open(&plain, Role::Rotator).is_ok());
        assert!(marker.exists(), "a library loaded runs its initialiser");
        assert!(
            needed_libraries(&plain)
                .expect("ELF")
                .iter()
                .any(|n| n.starts_with("libc.so"))
        );
    }

    /// The ABI versions each kind may declare: a rotator 1 or 2 (2 is 1
    /// plus importers), an importer only 2, even with every symbol an
    /// importer needs.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_rotator_may_declare_abi_2_and_an_importer_not_abi_1() {
        let dir = tempfile::tempdir().expect("tempdir");
        let free = "void keeper_native_free(uint8_t *b, size_t n) { (void)n; free(b); }";
        let call = "uint8_t *keeper_native_call(const uint8_t *m, size_t ml, \
                    const uint8_t *r, size_t rl, size_t *n) { *n = 0; return NULL; }";
        let import = "uint8_t *keeper_native_import(const uint8_t *m, size_t ml, \
                      const uint8_t *r, size_t rl, const void *i, size_t *n) \
                      { *n = 0; return NULL; }";
        let rotator = c_library(dir.path(), "rotator2", 2, &format!("{free}\n{call}"), &[]);
        assert!(NativePlugin::open(&rotator, Role::Rotator).is_ok());
        let importer = c_library(
            dir.path(),
            "importer1",
            1,
            &format!("{free}\n{import}"),
            &[],
        );
        let error = NativePlugin::open(&importer, Role::Importer)
            .err()
            .expect("refused");
        assert!(error.contains("ABI version 1, keeper speaks"), "{error}");
        assert!(error.contains("2 for an importer"), "{error}");
        // The same bytes as version 2 are an importer.
        let importer = c_library(
            dir.path(),
            "importer2",
            2,
            &format!("{free}\n{import}"),
            &[],
        );
        assert!(NativePlugin::open(&importer, Role::Importer).is_ok());
    }
}
