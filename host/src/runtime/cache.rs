//! Compiled-artifact cache: compile a component once, load it in microseconds.
//!
//! Artifacts live in `<data dir>/cache/<sha256 of component>-<engine
//! compatibility hash>.cwasm`, each with a `.sum` file holding the sha256 of
//! the artifact itself. Loading an artifact runs native code, so it is done
//! only when the checksum matches; a corrupted, truncated or foreign artifact
//! is discarded and the component recompiled. (The cache is as trusted as
//! the data directory: someone who can write both can also replace keeper's
//! vault. The checksum is there to catch corruption and stale files.)

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::Error;
use super::files::{read_regular, write_private};

/// Largest compiled artifact read (a component at the 64 MiB install cap
/// compiles to a few times its size).
const MAX_ARTIFACT_BYTES: u64 = 1024 * 1024 * 1024;

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Loaded from a valid cached artifact.
    Cached,
    /// Compiled now (no artifact yet).
    Compiled,
    /// Compiled now because the artifact was corrupt or unreadable.
    Recompiled,
    /// Not compiled at all: a native plugin's library was opened.
    Native,
}

/// The on-disk artifact cache.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: Option<PathBuf>,
}

impl ArtifactCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir: Some(dir) }
    }

    /// No cache: always compile (benchmarks' baseline).
    pub fn disabled() -> Self {
        Self { dir: None }
    }

    /// The artifact path for a component with `sha256`.
    pub fn artifact_path(&self, engine: &Engine, sha256: &str) -> Option<PathBuf> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish())))
    }

    /// Loads the compiled component for `wasm` (whose sha256 is `sha256`),
    /// compiling and caching it when needed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidComponent`] when `wasm` does not compile. A cache that
    /// cannot be written is only logged.
    pub fn load(
        &self,
        engine: &Engine,
        plugin: &str,
        wasm: &[u8],
        sha256: &str,
    ) -> Result<(Component, Origin), Error> {
        let Some(path) = self.artifact_path(engine, sha256) else {
            return Ok((compile(engine, plugin, wasm)?, Origin::Compiled));
        };
        let origin = match read_verified(&path) {
            Ok(Some(bytes)) => match deserialize(engine, &bytes) {
                Ok(component) => return Ok((component, Origin::Cached)),
                Err(e) => {
                    tracing::warn!(
                        "discarding unusable compiled artifact {}: {e}",
                        path.display()
                    );
                    Origin::Recompiled
                }
            },
            Ok(None) => Origin::Compiled,
            Err(reason) => {
                tracing::warn!("discarding compiled artifact {}: {reason}", path.display());
                Origin::Recompiled
            }
        };
        let component = compile(engine, plugin, wasm)?;
        if let Err(e) = store(&path, &component) {
            tracing::warn!("cannot write compiled artifact {}: {e}", path.display());
        }
        Ok((component, origin))
    }
}

fn compile(engine: &Engine, plugin: &str, wasm: &[u8]) -> Result<Component, Error> {
    Component::new(engine, wasm).map_err(|e| Error::InvalidComponent {
        plugin: plugin.to_string(),
        detail: format!("{e:#}"),
    })
}

fn sum_path(artifact: &Path) -> PathBuf {
    artifact.with_extension("sum")
}

/// The artifact's bytes if it exists and matches its checksum; `Ok(None)`
/// if there is none; `Err` with the reason if it is unusable.
/// Read like plugin files: regular files only, never through a link or
/// from a FIFO, and at most [`MAX_ARTIFACT_BYTES`].
fn read_verified(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
        Ok(_) => {}
    }
    let bytes = read_regular(path, MAX_ARTIFACT_BYTES).map_err(|e| e.to_string())?;
    let expected = read_regular(&sum_path(path), 1024).map_err(|e| format!("no checksum: {e}"))?;
    if hex::encode(Sha256::digest(&bytes)) != String::from_utf8_lossy(&expected).trim() {
        return Err("checksum mismatch (corrupted or tampered)".to_string());
    }
    Ok(Some(bytes))
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `bytes` were produced by `Component::serialize` in this cache
    // (their checksum, written alongside, matched just now) and the file
    // name carries the engine's compatibility hash; wasmtime additionally
    // checks the artifact header against this engine's configuration.
    unsafe { Component::deserialize(engine, bytes) }
}

fn store(path: &Path, component: &Component) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    write_private(
        &sum_path(path),
        hex::encode(Sha256::digest(&bytes)).as_bytes(),
    )?;
    write_private(path, &bytes)
}
