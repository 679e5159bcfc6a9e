//! A loaded plugin and its calls: a fresh sandbox per call (or per record's
//! rotation steps, [`RotationSession`]), limits on everything, traps turned
//! into typed errors.
//!
//! This file: the plugin, its sandboxes (store, budgets, the guard that
//! classifies failures) and `describe`; `rotation.rs`: the rotator's steps
//! and [`RotationSession`]; `import.rs`: the importer's [`ImportSession`]
//! and the checks of its batches; `native.rs`: the same calls into a
//! native (unsandboxed) rotator or importer.

mod import;
mod import_secrets;
mod native;
mod rotation;

pub use rotation::{RotationSession, Step};

use std::time::Instant;

use wasmtime::{Store, Trap};

use super::bindings::latest::rotator::exports::keeper::plugin::rotator as wit_rotator;
use super::bindings::latest::rotator::keeper::plugin::types as wit;
use super::bindings::{Api, ImporterPre, RotatorPre};
use super::capability::http_client::HttpClient;
use super::capability::input::InputSource;
use super::capability::{CallContext, PluginState};
use super::error::{Error, PluginError};
use super::fields::FieldAccess;
use super::limits::Limits;
use super::manifest::{Capabilities, Kind, Manifest};
use super::native::NativePlugin;
use super::redact::Redactor;
use super::text::{escape_in_place, escaped};

pub use super::bindings::latest::importer::exports::keeper::plugin::importer::{
    Attachment, ImportItem, ImportRecord, ImporterInfo, Location, Permission, SharedFolder,
};
pub use wit::{Field, RecordView, Target};
pub use wit_rotator::{PluginInfo, Rotation};

/// How a plugin is instantiated: pre-linked once, instantiated per call
/// (per record for a rotation's steps).
#[derive(Clone)]
pub(crate) enum Pre {
    Rotator(RotatorPre),
    Importer(ImporterPre),
    /// A native rotator's or importer's library: no sandbox, called
    /// directly.
    Native(NativePlugin),
}

/// A plugin ready to be called: compiled, audited and pre-linked.
#[derive(Clone)]
pub struct LoadedPlugin {
    manifest: Manifest,
    effective: Capabilities,
    fields: FieldAccess,
    limits: Limits,
    engine: wasmtime::Engine,
    pre: Pre,
    http_client: HttpClient,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("plugin", &self.manifest.id())
            .field("effective", &self.effective)
            .finish()
    }
}

impl LoadedPlugin {
    pub(crate) fn new(
        manifest: Manifest,
        effective: Capabilities,
        fields: FieldAccess,
        limits: Limits,
        engine: wasmtime::Engine,
        pre: Pre,
        http_client: HttpClient,
    ) -> Self {
        Self {
            manifest,
            effective,
            fields,
            limits,
            engine,
            pre,
            http_client,
        }
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// What the plugin may do: its manifest ∩ the user's grant.
    pub fn effective_capabilities(&self) -> &Capabilities {
        &self.effective
    }

    /// The record fields it is shown and may return, as granted.
    pub fn fields(&self) -> &FieldAccess {
        &self.fields
    }

    /// Whether this is a native plugin: unsandboxed, not WebAssembly.
    pub fn is_native(&self) -> bool {
        matches!(self.pre, Pre::Native(_))
    }

    /// The limits applied to each call.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The same plugin with other limits (tests, benchmarks, tuning).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    fn id(&self) -> String {
        self.manifest.id()
    }

    fn store(
        &self,
        call: CallContext,
        input: Option<InputSource>,
    ) -> Result<Store<PluginState>, Error> {
        let state = PluginState::new(
            &self.id(),
            &self.effective,
            &self.limits,
            call,
            input,
            &self.http_client,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        self.arm(&mut store)?;
        Ok(store)
    }

    /// (Re)sets the CPU budget and deadline before a call.
    fn arm(&self, store: &mut Store<PluginState>) -> Result<(), Error> {
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| Error::Engine(e.to_string()))?;
        // Yield to the async runtime on every epoch tick so the wall-clock
        // timeout below can stop a plugin that never calls the host.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        store.data_mut().deadline = Instant::now() + self.limits.timeout;
        // The request cap and the refusals an error names are per call (an
        // importer or rotation session makes several).
        store.data_mut().http.new_call();
        store.data().tcp.new_call();
        Ok(())
    }

    /// Runs `f` under the call's wall-clock limit and classifies failures.
    async fn guarded<R>(
        &self,
        store: &mut Store<PluginState>,
        f: impl AsyncFnOnce(&mut Store<PluginState>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let outcome = tokio::time::timeout(self.limits.timeout, f(store)).await;
        let state = store.data();
        for denial in state.http.denials() {
            let denial = escaped(&state.redactor.redact(&denial));
            tracing::warn!(target: "keeper::sandbox", "denied plugin HTTP request: {denial}");
        }
        for failure in state.http.failures() {
            let failure = escaped(&state.redactor.redact(&failure));
            tracing::warn!(target: "keeper::sandbox", "plugin HTTP request failed: {failure}");
        }
        match outcome {
            Err(_) => Err(Error::Timeout {
                plugin: self.id(),
                secs: self.limits.timeout.as_secs(),
            }),
            Ok(Err(e)) => Err(self.classify(&e, store.data())),
            // A plugin that filled its stdout or stderr sees a closed pipe and
            // may carry on; the call still fails for flooding.
            Ok(Ok(value)) => match self.flooded_output(store.data()) {
                Some(error) => Err(error),
                None => Ok(value),
            },
        }
    }

    fn flooded_output(&self, state: &PluginState) -> Option<Error> {
        [("stdout", &state.stdout), ("stderr", &state.stderr)]
            .into_iter()
            .find_map(|(stream, pipe)| {
                (pipe.contents().len() >= self.limits.output_bytes).then(|| Error::OutputLimit {
                    plugin: self.id(),
                    stream,
                    limit_kib: self.limits.output_bytes / 1024,
                })
            })
    }

    /// Turns a trap or host-side abort into a typed error.
    fn classify(&self, error: &wasmtime::Error, state: &PluginState) -> Error {
        let plugin = self.id();
        if state.limiter.hit() {
            return Error::MemoryLimit {
                plugin,
                mib: self.limits.memory_mib(),
            };
        }
        if state.log.exceeded() {
            return Error::OutputLimit {
                plugin,
                stream: "log",
                limit_kib: state.log.limit() / 1024,
            };
        }
        if let Some(error) = self.flooded_output(state) {
            return error;
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => Error::CpuLimit { plugin },
            Some(Trap::Interrupt) => Error::Timeout {
                plugin,
                secs: self.limits.timeout.as_secs(),
            },
            Some(Trap::StackOverflow) => Error::StackOverflow { plugin },
            // Rust keeps a shadow stack in linear memory; overflowing it
            // runs below address 0.
            Some(Trap::MemoryOutOfBounds) => Error::Crashed {
                plugin,
                detail: self.crash_detail(
                    "out-of-bounds memory access (its stack may have overflowed)".into(),
                    state,
                ),
            },
            Some(trap) => Error::Crashed {
                plugin,
                detail: self.crash_detail(trap.to_string(), state),
            },
            // A host call that failed (a 1.0 importer's unreadable source):
            // its own message, not the wasm backtrace wrapped around it.
            None => Error::Crashed {
                plugin,
                detail: self.crash_detail(error.root_cause().to_string(), state),
            },
        }
    }

    /// The trap, plus the panic message the plugin printed on stderr, if any.
    fn crash_detail(&self, trap: String, state: &PluginState) -> String {
        let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
        let panic = state.log.panic_message().map(str::to_string).or_else(|| {
            let mut lines = stderr.lines().skip_while(|l| !l.contains("panicked"));
            let first = lines.next()?;
            Some(format!(
                "{} {}",
                first.trim(),
                lines.next().unwrap_or("").trim()
            ))
        });
        let detail = match panic {
            Some(panic) => format!("{} ({trap})", state.redactor.redact(&panic)),
            None => trap,
        };
        super::capability::truncate(&escaped(&detail), 1024)
    }

    fn plugin_error(&self, error: wit::PluginError, state: &PluginState) -> Error {
        // What the sandbox refused during the call is often why it failed.
        let denied: Vec<String> = state
            .tcp
            .denials()
            .iter()
            .map(|d| format!("TCP {} to {}", d.action, d.address))
            .chain(state.http.denials())
            .collect();
        // So is an HTTP request keeper could not send (a proxy that is down).
        let failed = state.http.failures();
        self.plugin_error_with(error, &state.redactor, &denied, &failed)
    }

    /// The plugin's own error, size-checked, with what keeper `denied` and
    /// could not send (`failed`) added, redacted and escaped.
    fn plugin_error_with(
        &self,
        error: wit::PluginError,
        redactor: &Redactor,
        denied: &[String],
        failed: &[String],
    ) -> Error {
        let (make, message): (fn(String) -> PluginError, String) = match error {
            wit::PluginError::InvalidConfig(m) => (PluginError::InvalidConfig, m),
            wit::PluginError::Unreachable(m) => (PluginError::Unreachable, m),
            wit::PluginError::AuthFailed(m) => (PluginError::AuthFailed, m),
            wit::PluginError::Rejected(m) => (PluginError::Rejected, m),
            wit::PluginError::Unsupported(m) => (PluginError::Unsupported, m),
            wit::PluginError::MalformedInput(m) => (PluginError::MalformedInput, m),
            wit::PluginError::Internal(m) => (PluginError::Internal, m),
        };
        if message.len() > self.limits.message_bytes {
            return Error::ResultTooLarge {
                plugin: self.id(),
                what: "an error message",
                bytes: message.len(),
                limit: self.limits.message_bytes,
            };
        }
        let mut message = message;
        if !denied.is_empty() {
            message = format!("{message} (keeper denied: {})", denied.join("; "));
        }
        if !failed.is_empty() {
            message = format!("{message} (keeper could not send: {})", failed.join("; "));
        }
        // The refused origins are the plugin's text too (a secret can be a
        // host name): redacted and escaped with the rest.
        let message = escaped(&redactor.redact(&message));
        Error::Plugin {
            plugin: self.id(),
            error: make(message),
        }
    }

    fn rotator_pre(&self) -> Result<&RotatorPre, Error> {
        match &self.pre {
            Pre::Rotator(pre) => Ok(pre),
            Pre::Importer(_) | Pre::Native(_) => Err(self.kind_mismatch(Kind::Rotator)),
        }
    }

    fn importer_pre(&self) -> Result<&ImporterPre, Error> {
        match &self.pre {
            Pre::Importer(pre) => Ok(pre),
            Pre::Rotator(_) | Pre::Native(_) => Err(self.kind_mismatch(Kind::Importer)),
        }
    }

    fn kind_mismatch(&self, expected: Kind) -> Error {
        Error::KindMismatch {
            plugin: self.id(),
            expected: expected.to_string(),
            found: self.manifest.kind.to_string(),
        }
    }

    /// Instantiates the plugin in a fresh sandbox without calling it: proves
    /// it links and starts within its limits (and measures instantiation).
    ///
    /// # Errors
    ///
    /// Any [`Error`] instantiation can produce.
    pub async fn instantiate_only(&self) -> Result<(), Error> {
        if let Pre::Native(_) = &self.pre {
            // Nothing to instantiate: the library was opened at load.
            return Ok(());
        }
        let mut store = self.store(CallContext::default(), None)?;
        match &self.pre {
            Pre::Rotator(pre) => {
                self.guarded(&mut store, async |store| {
                    pre.instantiate(store).await.map(drop)
                })
                .await
            }
            Pre::Importer(pre) => {
                self.guarded(&mut store, async |store| {
                    pre.instantiate(store).await.map(drop)
                })
                .await
            }
            Pre::Native(_) => Ok(()),
        }
    }

    /// Calls `describe` of a rotator.
    ///
    /// # Errors
    ///
    /// Any [`Error`] a call can produce.
    pub async fn describe_rotator(&self) -> Result<PluginInfo, Error> {
        let info = match &self.pre {
            Pre::Native(library) if self.manifest.kind == Kind::Rotator => {
                self.describe_native(library).await?
            }
            _ => {
                let pre = self.rotator_pre()?;
                let mut store = self.store(CallContext::default(), None)?;
                self.guarded(&mut store, async |store| {
                    let instance = pre.instantiate(store).await?;
                    instance.describe(store).await
                })
                .await?
            }
        };
        self.check_description(
            info.name.len()
                + info.summary.len()
                + info.disallowed_chars.len()
                + info
                    .required_params
                    .iter()
                    .chain(&info.needs)
                    .chain(&info.owns)
                    .map(String::len)
                    .sum::<usize>(),
        )?;
        let mut info = self.declared(info)?;
        for text in [&mut info.name, &mut info.summary]
            .into_iter()
            .chain(info.required_params.iter_mut())
        {
            escape_in_place(text);
        }
        Ok(info)
    }

    /// A 1.1 rotator's declarations (fields, checking passwords), refused
    /// unless they agree with its manifest; a 1.0 rotator, which declares
    /// none, described by its manifest.
    fn declared(&self, mut info: PluginInfo) -> Result<PluginInfo, Error> {
        let manifest = &self.manifest;
        if Api::of(&manifest.api_version) == Api::V1_0 {
            let rules = |rules: &[super::fields::FieldRule]| {
                rules.iter().map(ToString::to_string).collect()
            };
            info.needs = rules(&manifest.fields.needs);
            info.owns = rules(&manifest.fields.owns);
            info.checks_passwords = manifest.checks_passwords;
            return Ok(info);
        }
        let mut detail = manifest.fields.disagreement(&info.needs, &info.owns);
        if info.checks_passwords != manifest.checks_passwords {
            let checks = format!(
                "it says checks-passwords = {} but its manifest says {}",
                info.checks_passwords, manifest.checks_passwords
            );
            detail = Some(detail.map_or(checks.clone(), |d| format!("{d}; {checks}")));
        }
        match detail {
            None => Ok(info),
            Some(detail) => Err(Error::DescriptionDisagrees {
                plugin: self.id(),
                detail: escaped(&detail),
            }),
        }
    }

    /// Refuses a description of `size` bytes over the message limit.
    fn check_description(&self, size: usize) -> Result<(), Error> {
        if size > self.limits.message_bytes {
            return Err(Error::ResultTooLarge {
                plugin: self.id(),
                what: "a description",
                bytes: size,
                limit: self.limits.message_bytes,
            });
        }
        Ok(())
    }

    /// Calls `describe` of an importer.
    ///
    /// # Errors
    ///
    /// Any [`Error`] a call can produce.
    pub async fn describe_importer(&self) -> Result<ImporterInfo, Error> {
        let mut info = match &self.pre {
            Pre::Native(library) if self.manifest.kind == Kind::Importer => {
                self.describe_native_importer(library).await?
            }
            _ => {
                let pre = self.importer_pre()?;
                let mut store = self.store(CallContext::default(), None)?;
                self.guarded(&mut store, async |store| {
                    let instance = pre.instantiate(store).await?;
                    instance.describe(store).await
                })
                .await?
            }
        };
        self.check_description(info.name.len() + info.summary.len())?;
        escape_in_place(&mut info.name);
        escape_in_place(&mut info.summary);
        Ok(info)
    }
}

fn field_size(field: &wit::Field) -> usize {
    field.kind.len()
        + field.label.as_ref().map_or(0, String::len)
        + field.values.iter().map(String::len).sum::<usize>()
}
