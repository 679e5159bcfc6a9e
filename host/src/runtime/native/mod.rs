//! Native plugins: an opt-in, **unsandboxed** escape hatch for rotators
//! that cannot be WebAssembly (a vendor's C library). A native plugin is a
//! shared library (cdylib) with a small C ABI (`abi.rs`), loaded with
//! `libloading` (`library.rs`, the host's only unsafe code).
//!
//! It runs with keeper's own rights: no capability, memory or CPU limit
//! applies, so it exists only when the configuration says
//! `"native_plugins": true` and the user installed it with
//! `--i-understand-unsandboxed`, and keeper labels it "native,
//! unsandboxed" wherever it shows a plugin. What keeper can still do, it
//! does: the ABI version is checked before anything else is called, each
//! call has the plugin's wall-clock limit (a call that overruns is
//! abandoned, not stopped: its thread runs on), answers are size-capped
//! and parsed strictly, and what they hold is checked like a sandboxed
//! plugin's (fields it may return, text escaped and redacted; see
//! `plugin/native.rs`). Rotators only: native importers are not offered.

pub mod abi;
#[allow(unsafe_code)]
mod library;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use self::abi::{Method, Response};
use self::library::{CallError, Library};

/// A native rotator's library, open and version-checked.
#[derive(Clone)]
pub(crate) struct NativeRotator {
    library: Arc<Library>,
}

/// How a native call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The plugin's own error (`kind`, `message`), still to be checked.
    Plugin(abi::ErrorJson),
    /// It overran its wall-clock limit and was abandoned.
    Timeout,
    /// It answered nothing usable.
    Malformed(String),
    /// Its answer was over the limit.
    TooLarge(usize),
}

impl NativeRotator {
    /// Opens the library at `path` and checks its ABI version.
    ///
    /// # Errors
    ///
    /// What is wrong with it, in words for the user.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        Library::open(path)
            .map(|library| Self {
                library: Arc::new(library),
            })
            .map_err(|e| e.to_string())
    }

    /// Calls `method` with a JSON `request` (zeroized after), on a blocking
    /// thread, within `timeout`; parses the answer as `T`.
    pub(crate) async fn call<T: DeserializeOwned + Send + 'static>(
        &self,
        method: Method,
        request: Zeroizing<Vec<u8>>,
        timeout: Duration,
        max_answer: usize,
    ) -> Result<T, Failure> {
        let library = self.library.clone();
        let task = tokio::task::spawn_blocking(move || {
            let answer = library.call(method.name(), &request, max_answer);
            drop(request);
            match answer {
                Ok(bytes) => serde_json::from_slice::<Response<T>>(&bytes)
                    .map_err(|e| Failure::Malformed(format!("its answer is not valid: {e}"))),
                Err(CallError::NoAnswer) => {
                    Err(Failure::Malformed("it returned no answer (NULL)".into()))
                }
                Err(CallError::TooLarge(bytes)) => Err(Failure::TooLarge(bytes)),
            }
        });
        match tokio::time::timeout(timeout, task).await {
            Err(_) => Err(Failure::Timeout),
            Ok(Err(join)) => Err(Failure::Malformed(format!("the call failed: {join}"))),
            Ok(Ok(Err(failure))) => Err(failure),
            Ok(Ok(Ok(Response::Ok(value)))) => Ok(value),
            Ok(Ok(Ok(Response::Error(error)))) => Err(Failure::Plugin(error)),
        }
    }
}

/// Serialises `value` into a buffer that is zeroized when dropped.
pub(crate) fn request<T: serde::Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(4096));
    // Writing JSON into memory cannot fail for these plain types.
    let _ = serde_json::to_writer(&mut *buffer, value);
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that is not a library, and a library without the ABI, are
    /// refused with words that say so.
    #[test]
    fn what_is_not_a_native_plugin_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("libnot.so");
        std::fs::write(&file, b"not a library").expect("write");
        let error = NativeRotator::open(&file).err().expect("refused");
        assert!(error.starts_with("cannot load it"), "{error}");
        // The C library is a real shared object without keeper's ABI.
        let libc = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
        ]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
        if let Some(libc) = libc {
            let error = NativeRotator::open(libc).err().expect("refused");
            assert!(error.contains("keeper_native_abi_version"), "{error}");
        }
    }
}
