//! The plugin sandbox: every rotation and importer backend is a WebAssembly
//! component run here under a deny-by-default policy.
//!
//! | file | concern |
//! |---|---|
//! | `bindings/` | host bindings per supported WIT version (`since_v1_0_0`, `since_v1_1_0` = `latest`); a plugin's exports called by its version |
//! | `manifest.rs` | `plugin.toml`: name, version, kind, api-version, capabilities, limits, sha256 |
//! | `registry.rs` | built-in, installed and dropped-in plugins; install / remove / package |
//! | `template/` | `plugin new`: a plugin project to start from (the files are `*.tmpl`) |
//! | `fields.rs` | which record fields a rotator sees and may return from `prepare` |
//! | `audit.rs` | exported kind and API version, import audit against the manifest |
//! | `cache.rs` | compiled artifacts keyed by sha256 + engine compatibility hash |
//! | `files.rs` | plugin and cache files: read only when regular, written privately and atomically |
//! | `limits.rs` | memory, CPU (fuel), wall clock, size caps |
//! | `redact.rs` | a call's secrets (and their case variants and encodings) out of plugin text |
//! | `text.rs` | control characters in plugin text escaped before a person sees it |
//! | `error.rs` | [`Error`] (what a load or call can fail with, `#[non_exhaustive]`) and [`PluginError`], the mirror of WIT's `plugin-error` |
//! | `capability/` | the per-call store state (empty WASI plus keeper's gates), and one file per host capability: net, http (+ `origin`, and `http_client`, the shared reqwest client), ssh, process, log, input (the streamed import source) |
//! | `plugin/` | a loaded plugin and its calls (`rotation.rs`, `import.rs`, `native.rs`); traps → typed errors |
//! | `native/` | native (unsandboxed, opt-in) rotators and importers: the C ABI (`abi.rs`, `abi_import.rs`), the library calls and an importer's input (`library.rs`, `input.rs`: unsafe code, as is `cache.rs`'s deserialisation) |
//!
//! A call gets the manifest's capabilities ∩ the user's grant ∩ what the
//! call allows (the record's pinned target, the host-chosen origins), a
//! fresh `Store` (one per record for a rotation's steps), a CPU budget, a
//! memory cap and a wall-clock deadline. A
//! plugin that misbehaves fails that one call with a typed [`Error`]; the
//! host carries on. A native plugin (`native/`) has none of this but the
//! wall-clock limit and the checks on what it returns.

pub mod audit;
pub mod bindings;
pub mod cache;
pub mod capability;
pub mod error;
pub mod fields;
pub(crate) mod files;
pub mod limits;
pub mod manifest;
pub mod native;
pub mod plugin;
pub mod redact;
pub mod registry;
pub mod template;
pub mod text;

use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use cache::ArtifactCache;
pub use capability::http_client::HttpClient;
pub use capability::input::InputSource;
pub use capability::{CallContext, PinnedTarget};
pub use error::{Error, PluginError};
pub use limits::Limits;
pub use manifest::{Capabilities, Kind, Manifest};
pub use plugin::{LoadedPlugin, RotationSession, Step};
pub use registry::{PluginPackage, Source};

use bindings::latest::{importer::ImporterPlugin, rotator::RotatorPlugin};
use bindings::{Api, ImporterPre, RotatorPre};
use capability::PluginState;
use plugin::Pre;

/// How often the epoch advances: the granularity of wall-clock checks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The wasm engine, the linkers for each world and the artifact cache.
pub struct Runtime {
    engine: Engine,
    cache: ArtifactCache,
    allocation: Allocation,
    rotator_linker: Linker<PluginState>,
    importer_linker: Linker<PluginState>,
    http_client: capability::http_client::HttpClient,
    /// Whether native (unsandboxed) plugins may be loaded: the
    /// configuration's `native_plugins`, off unless set.
    native_plugins: bool,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// How plugin sandboxes get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    /// A pool of instances, memories and stacks reserved once: a fresh
    /// sandbox costs microseconds and memory accesses need no bounds checks.
    /// It reserves about [`POOL_ADDRESS_SPACE`] bytes of address space
    /// (virtual only, nothing is committed).
    Pooling,
    /// Memories mapped per sandbox, small reservations and explicit bounds
    /// checks: for processes whose address space is limited (`ulimit -v`).
    OnDemand,
}

impl Runtime {
    /// An engine with fuel metering, epoch interruption and a 1 MiB wasm
    /// stack, and linkers providing WASI (empty), wasi:http (gated) and
    /// keeper's host interfaces. Sandboxes come from a reserved pool
    /// ([`Allocation::Pooling`]) unless the process's address space is
    /// limited to less than twice [`POOL_ADDRESS_SPACE`] or the pool cannot
    /// be reserved; then they are allocated on demand, and a warning says so.
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] if wasmtime rejects the configuration.
    pub fn new(cache: ArtifactCache) -> Result<Self, Error> {
        if let Some(limit) = address_space_limit().filter(|l| *l / 2 < POOL_ADDRESS_SPACE) {
            warn_on_demand(&format!(
                "the address space is limited to {} MiB (ulimit -v)",
                limit / (1024 * 1024)
            ));
            return Self::with_allocation(cache, Allocation::OnDemand);
        }
        match Self::with_allocation(cache.clone(), Allocation::Pooling) {
            Ok(runtime) => Ok(runtime),
            Err(e) => {
                warn_on_demand(&format!("the sandbox pool cannot be reserved ({e})"));
                Self::with_allocation(cache, Allocation::OnDemand)
            }
        }
    }

    /// As [`Runtime::new`], with the allocation chosen by the caller
    /// (tests and benchmarks compare the two).
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] if wasmtime rejects the configuration or cannot
    /// reserve the pool.
    pub fn with_allocation(cache: ArtifactCache, allocation: Allocation) -> Result<Self, Error> {
        let engine_error = |e: wasmtime::Error| Error::Engine(format!("{e:#}"));
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(1024 * 1024);
        match allocation {
            Allocation::Pooling => {
                config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool()));
            }
            Allocation::OnDemand => {
                // A plugin at the default cap never moves; a bigger one is
                // moved as it grows. Each memory reserves 64 MiB plus the
                // guards instead of 4 GiB.
                config
                    .allocation_strategy(InstanceAllocationStrategy::OnDemand)
                    .memory_reservation(ON_DEMAND_RESERVATION)
                    .memory_reservation_for_growth(ON_DEMAND_RESERVATION);
            }
        }
        let engine = Engine::new(&config).map_err(engine_error)?;
        start_epoch_ticker(&engine);

        let mut rotator_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut rotator_linker).map_err(engine_error)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut rotator_linker)
            .map_err(engine_error)?;
        RotatorPlugin::add_to_linker::<_, HasSelf<_>>(&mut rotator_linker, |s| s)
            .map_err(engine_error)?;

        let mut importer_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut importer_linker).map_err(engine_error)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut importer_linker)
            .map_err(engine_error)?;
        ImporterPlugin::add_to_linker::<_, HasSelf<_>>(&mut importer_linker, |s| s)
            .map_err(engine_error)?;

        Ok(Self {
            engine,
            cache,
            allocation,
            rotator_linker,
            importer_linker,
            http_client: capability::http_client::HttpClient::for_process(),
            native_plugins: false,
        })
    }

    /// The same runtime loading native (unsandboxed) plugins or not (the
    /// default: they are refused with [`Error::NativeDisabled`]).
    #[must_use]
    pub fn with_native_plugins(mut self, allowed: bool) -> Self {
        self.native_plugins = allowed;
        self
    }

    /// The same runtime sending its plugins' HTTP requests with `client`
    /// (by default the process's, [`HttpClient::for_process`]); plugins
    /// loaded afterwards use it.
    ///
    /// [`HttpClient::for_process`]: capability::http_client::HttpClient::for_process
    #[must_use]
    pub fn with_http_client(mut self, client: capability::http_client::HttpClient) -> Self {
        self.http_client = client;
        self
    }

    /// How this runtime's sandboxes get their memory.
    pub fn allocation(&self) -> Allocation {
        self.allocation
    }

    /// The engine (for benchmarks and cache inspection).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The artifact cache.
    pub fn cache(&self) -> &ArtifactCache {
        &self.cache
    }

    /// Loads a plugin: checks its API version, compiles it (or loads the
    /// cached artifact), audits its exports and imports against its
    /// manifest, and pre-links it.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedApiVersion`], [`Error::InvalidComponent`],
    /// [`Error::WrongKind`], [`Error::ApiVersionMismatch`],
    /// [`Error::UndeclaredImport`], [`Error::UnknownImport`]; for a native
    /// plugin [`Error::NativeDisabled`], [`Error::NativeNotInstalled`],
    /// [`Error::NativeLibrary`].
    pub fn load(&self, package: &PluginPackage) -> Result<LoadedPlugin, Error> {
        self.load_traced(package).map(|(plugin, _)| plugin)
    }

    /// As [`Runtime::load`], also saying whether the cache was used.
    ///
    /// # Errors
    ///
    /// As [`Runtime::load`].
    pub fn load_traced(
        &self,
        package: &PluginPackage,
    ) -> Result<(LoadedPlugin, cache::Origin), Error> {
        let manifest = &package.manifest;
        audit::check_manifest_version(manifest)?;
        if manifest.native {
            return self
                .load_native(package)
                .map(|plugin| (plugin, cache::Origin::Native));
        }
        let (component, origin) =
            self.cache
                .load(&self.engine, &manifest.id(), &package.wasm, &package.sha256)?;
        let exported = audit::check_component(&self.engine, &component, manifest)?;
        let api = Api::of(&exported.api_version);
        let link_error = |e: wasmtime::Error| Error::InvalidComponent {
            plugin: manifest.id(),
            detail: format!("{e:#}"),
        };
        let pre = match manifest.kind {
            Kind::Rotator => {
                let pre = self
                    .rotator_linker
                    .instantiate_pre(&component)
                    .map_err(link_error)?;
                Pre::Rotator(RotatorPre::new(pre, api).map_err(link_error)?)
            }
            Kind::Importer => {
                let pre = self
                    .importer_linker
                    .instantiate_pre(&component)
                    .map_err(link_error)?;
                Pre::Importer(ImporterPre::new(pre, api).map_err(link_error)?)
            }
        };
        // What the user granted: capabilities ∩ the manifest's, and the
        // fields and limits as granted (`registry`).
        let effective = manifest.capabilities.intersect(&package.granted);
        let limits = Limits::for_request(&package.granted_limits);
        Ok((
            LoadedPlugin::new(
                manifest.clone(),
                effective,
                package.granted_fields.clone(),
                limits,
                self.engine.clone(),
                pre,
                self.http_client.clone(),
            ),
            origin,
        ))
    }
}

impl Runtime {
    /// A native plugin: allowed by the configuration, installed as one,
    /// its library's ABI version checked before anything else is called.
    fn load_native(&self, package: &PluginPackage) -> Result<LoadedPlugin, Error> {
        let manifest = &package.manifest;
        let plugin = manifest.id();
        if !self.native_plugins {
            return Err(Error::NativeDisabled { plugin });
        }
        let files = match &package.native {
            Some(files) if files.consented => files,
            _ => return Err(Error::NativeNotInstalled { plugin }),
        };
        let role = match manifest.kind {
            Kind::Rotator => native::Role::Rotator,
            Kind::Importer => native::Role::Importer,
        };
        // The bytes whose hash was checked (`registry::read_dir`), loaded
        // from a private copy: never the file in the folder, which may
        // have been swapped since.
        let library = native::NativePlugin::open(&package.wasm, role).map_err(|detail| {
            Error::NativeLibrary {
                plugin,
                // The file name and dlerror's words are the plugin's text.
                library: text::escaped(&files.library.display().to_string()),
                detail: text::escaped(&detail),
            }
        })?;
        Ok(LoadedPlugin::new(
            manifest.clone(),
            Capabilities::default(),
            package.granted_fields.clone(),
            Limits::for_request(&package.granted_limits),
            self.engine.clone(),
            Pre::Native(library),
            self.http_client.clone(),
        ))
    }
}

/// Most plugin sandboxes alive at once (beyond it instantiation fails with a
/// clear error); bulk rotation and imports stay far below it.
const POOL_SLOTS: u32 = 64;

/// Address space the pool reserves, about: each of its `2 × POOL_SLOTS`
/// memories takes wasmtime's 4 GiB reservation plus a 32 MiB guard before
/// and after it (about 520 GiB in all; stacks and tables are small beside
/// it). Virtual only: nothing is committed until a plugin touches it.
pub const POOL_ADDRESS_SPACE: u64 = (POOL_SLOTS as u64 * 2) * ((4 << 30) + (64 << 20));

/// What one memory reserves when sandboxes are allocated on demand.
const ON_DEMAND_RESERVATION: u64 = 64 << 20;

/// The soft address-space limit (`ulimit -v`), if any.
fn address_space_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::As).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Says, once per process, that sandboxes are allocated on demand.
fn warn_on_demand(why: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "{why}: plugin sandboxes are allocated on demand instead of from a reserved pool \
             (each call maps its memory; somewhat slower, same limits)"
        );
    });
}

/// The pooling allocator: instances, memories and fiber stacks are reserved
/// once and reused, so a fresh sandbox per call costs microseconds instead
/// of fresh mappings. Memories are bounded by the largest cap a manifest may
/// ask for (`limits.rs`); each call's own cap is enforced by its limiter.
fn pool() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_SLOTS)
        .total_core_instances(POOL_SLOTS * 8)
        .total_memories(POOL_SLOTS * 2)
        .total_tables(POOL_SLOTS * 8)
        .total_stacks(POOL_SLOTS)
        .max_core_instances_per_component(16)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_memory_size(limits::MAX_MEMORY_BYTES);
    pool
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("keeper-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        // Without the ticker, fuel still bounds CPU and the tokio timeout
        // still bounds calls that wait on the host.
        tracing::warn!("cannot start the epoch ticker: {e}");
    }
}
