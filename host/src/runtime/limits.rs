//! Per-call resource limits: memory, CPU, wall clock and sizes.
//!
//! Defaults (a manifest may request other memory, timeout and CPU values
//! within the maxima; the user grants them with the plugin):
//!
//! | limit | default | maximum |
//! |---|---|---|
//! | linear memory | 64 MiB | 512 MiB |
//! | wall clock per call (incl. host I/O) | 60 s | 600 s |
//! | CPU per call, in wasmtime fuel | 10¹⁰ | 2 × 10¹¹ |
//! | wasm stack | 1 MiB | — |
//! | log output per call (per record for a rotation's steps) | 256 KiB | — |
//! | stdout / stderr per call (likewise) | 64 KiB each | — |
//! | arguments per call | 4 MiB | — |
//! | an error message returned | 64 KiB | — |
//! | an import batch | 64 MiB, 10 000 items | — |
//!
//! Fuel counts wasm instructions executed (about one unit each), not
//! machine instructions, so what it buys depends on the code: on the
//! benchmark machine 10¹⁰ is 0.4–0.7 s of CPU for a tight loop, or 1.1
//! million SHA-256 compressions (9 068 fuel each, 0.7 s)
//! (`cargo bench --bench sandbox`, docs/BENCHMARKS.md). A plugin that needs
//! more asks for it: the lastpass plugin's PBKDF2 with LastPass's 600 000
//! iterations alone takes 1.1 × 10¹⁰.

use std::time::Duration;

use wasmtime::ResourceLimiter;

use super::manifest::RequestedLimits;

/// The limits applied to every call of one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory cap in bytes.
    pub memory_bytes: usize,
    /// CPU budget in wasmtime fuel units (≈ wasm instructions).
    pub fuel: u64,
    /// Wall-clock limit for one call, host I/O included.
    pub timeout: Duration,
    /// Log bytes one call may write.
    pub log_bytes: usize,
    /// Bytes one call may write to stdout, and again to stderr.
    pub output_bytes: usize,
    /// Largest argument (serialised request) a call may be given.
    pub argument_bytes: usize,
    /// Largest error message a plugin may return.
    pub message_bytes: usize,
    /// Largest import batch, in bytes of item data.
    pub batch_bytes: usize,
    /// Most items in an import batch.
    pub batch_items: usize,
}

const MIB: usize = 1024 * 1024;
const MAX_MEMORY_MIB: u32 = 512;
/// The largest memory any plugin may be given, in bytes.
pub const MAX_MEMORY_BYTES: usize = MAX_MEMORY_MIB as usize * MIB;
const MAX_TIMEOUT_SECS: u32 = 600;
/// The largest CPU budget a manifest may ask for.
pub const MAX_FUEL: u64 = 200_000_000_000;
/// The smallest (a plugin must be able to start).
const MIN_FUEL: u64 = 100_000_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 * MIB,
            fuel: 10_000_000_000,
            timeout: Duration::from_secs(60),
            log_bytes: 256 * 1024,
            output_bytes: 64 * 1024,
            argument_bytes: 4 * MIB,
            message_bytes: 64 * 1024,
            batch_bytes: 64 * MIB,
            batch_items: 10_000,
        }
    }
}

impl Limits {
    /// The defaults adjusted by a manifest's requests, clamped to the maxima.
    pub fn for_request(requested: &RequestedLimits) -> Self {
        let mut limits = Self::default();
        if let Some(mib) = requested.memory_mib {
            limits.memory_bytes = mib.clamp(1, MAX_MEMORY_MIB) as usize * MIB;
        }
        if let Some(secs) = requested.timeout_secs {
            limits.timeout = Duration::from_secs(u64::from(secs.clamp(1, MAX_TIMEOUT_SECS)));
        }
        if let Some(fuel) = requested.cpu_fuel {
            limits.fuel = fuel.clamp(MIN_FUEL, MAX_FUEL);
        }
        limits
    }

    /// The memory cap in MiB, for messages.
    pub fn memory_mib(&self) -> u64 {
        (self.memory_bytes / MIB) as u64
    }
}

/// Caps a store's memories and tables and remembers whether it had to.
#[derive(Debug)]
pub struct MemoryLimiter {
    max_memory: usize,
    hit: bool,
}

/// Most table elements a plugin may have (function tables of big Rust
/// plugins hold a few thousand).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimiter {
    /// A limiter allowing `max_memory` bytes of linear memory.
    pub fn new(max_memory: usize) -> Self {
        Self {
            max_memory,
            hit: false,
        }
    }

    /// Whether a growth was refused.
    pub fn hit(&self) -> bool {
        self.hit
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            // An error (not `Ok(false)`) traps right at `memory.grow`, so a
            // plugin cannot catch the failure and limp on.
            self.hit = true;
            wasmtime::bail!("memory limit of {} bytes reached", self.max_memory);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_clamped() {
        let l = Limits::for_request(&RequestedLimits {
            memory_mib: Some(100_000),
            timeout_secs: Some(0),
            cpu_fuel: Some(u64::MAX),
        });
        assert_eq!(l.memory_mib(), 512);
        assert_eq!(l.timeout, Duration::from_secs(1));
        assert_eq!(l.fuel, MAX_FUEL);
        let l = Limits::for_request(&RequestedLimits {
            memory_mib: Some(32),
            timeout_secs: Some(10),
            cpu_fuel: Some(1),
        });
        assert_eq!(l.memory_bytes, 32 * MIB);
        assert_eq!(l.timeout, Duration::from_secs(10));
        assert_eq!(l.fuel, MIN_FUEL);
        assert_eq!(
            Limits::for_request(&RequestedLimits::default()),
            Limits::default()
        );
    }

    #[test]
    fn limiter_refuses_growth_past_the_cap() {
        let mut limiter = MemoryLimiter::new(MIB);
        assert!(limiter.memory_growing(0, MIB, None).expect("fits"));
        assert!(limiter.memory_growing(MIB, MIB + 1, None).is_err());
        assert!(limiter.hit());
    }
}
