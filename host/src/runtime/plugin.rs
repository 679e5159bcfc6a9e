//! A loaded plugin and its calls: a fresh sandbox per call (or per record's
//! rotation steps, [`RotationSession`]), limits on everything, traps turned
//! into typed errors.

use std::time::Instant;

use wasmtime::component::ResourceAny;
use wasmtime::{Store, Trap};

use super::bindings::latest::importer::{self as importer_world, ImporterPluginPre};
use super::bindings::latest::rotator::exports::keeper::plugin::rotator as wit_rotator;
use super::bindings::latest::rotator::keeper::plugin::types as wit;
use super::bindings::latest::rotator::{RotatorPlugin, RotatorPluginPre};
use super::capability::CallContext;
use super::capability::http_client::HttpClient;
use super::error::{Error, PluginError};
use super::fields::FieldAccess;
use super::input::InputSource;
use super::limits::Limits;
use super::manifest::{Capabilities, Kind, Manifest};
use super::state::PluginState;
use super::text::{escape_in_place, escaped};

pub use super::bindings::latest::importer::exports::keeper::plugin::importer::{
    Attachment, ImportItem, ImportRecord, ImporterInfo, Location,
};
pub use wit::{Field, RecordView, Target};
pub use wit_rotator::{PluginInfo, Rotation};

/// How a plugin is instantiated: pre-linked once, instantiated per call
/// (per record for a rotation's steps).
#[derive(Clone)]
pub(crate) enum Pre {
    Rotator(RotatorPluginPre<PluginState>),
    Importer(ImporterPluginPre<PluginState>),
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
            None => Error::Crashed {
                plugin,
                detail: self.crash_detail(format!("{error:#}"), state),
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
        // What the sandbox refused during the call is often why it failed.
        let denied: Vec<String> = state
            .tcp
            .denials()
            .iter()
            .map(|d| format!("TCP {} to {}", d.action, d.address))
            .chain(state.http.denials())
            .collect();
        if !denied.is_empty() {
            message = format!("{message} (keeper denied: {})", denied.join("; "));
        }
        // So is an HTTP request keeper could not send (a proxy that is down).
        let failed = state.http.failures();
        if !failed.is_empty() {
            message = format!("{message} (keeper could not send: {})", failed.join("; "));
        }
        // The refused origins are the plugin's text too (a secret can be a
        // host name): redacted and escaped with the rest.
        let message = escaped(&state.redactor.redact(&message));
        Error::Plugin {
            plugin: self.id(),
            error: make(message),
        }
    }

    fn rotator_pre(&self) -> Result<&RotatorPluginPre<PluginState>, Error> {
        match &self.pre {
            Pre::Rotator(pre) => Ok(pre),
            Pre::Importer(_) => Err(self.kind_mismatch(Kind::Rotator)),
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
        let mut store = self.store(CallContext::default(), None)?;
        match &self.pre {
            Pre::Rotator(pre) => {
                self.guarded(&mut store, async |store| {
                    pre.instantiate_async(store).await.map(drop)
                })
                .await
            }
            Pre::Importer(pre) => {
                self.guarded(&mut store, async |store| {
                    pre.instantiate_async(store).await.map(drop)
                })
                .await
            }
        }
    }

    /// Calls `describe` of a rotator.
    ///
    /// # Errors
    ///
    /// Any [`Error`] a call can produce.
    pub async fn describe_rotator(&self) -> Result<PluginInfo, Error> {
        let pre = self.rotator_pre()?;
        let mut store = self.store(CallContext::default(), None)?;
        let info = self
            .guarded(&mut store, async |store| {
                let instance = pre.instantiate_async(&mut *store).await?;
                instance
                    .keeper_plugin_rotator()
                    .call_describe(&mut *store)
                    .await
            })
            .await?;
        self.check_description(
            info.name.len()
                + info.summary.len()
                + info.disallowed_chars.len()
                + info.required_params.iter().map(String::len).sum::<usize>(),
        )?;
        let mut info = info;
        for text in [&mut info.name, &mut info.summary]
            .into_iter()
            .chain(info.required_params.iter_mut())
        {
            escape_in_place(text);
        }
        Ok(info)
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

    /// Calls one rotation step in a fresh sandbox (`prepare` is separate,
    /// it returns fields).
    ///
    /// # Errors
    ///
    /// [`Error::Plugin`] with the plugin's own (redacted) error, or any
    /// sandbox error (timeout, limits, crash).
    pub async fn rotation_step(
        &self,
        step: Step,
        call: CallContext,
        request: &Rotation,
    ) -> Result<(), Error> {
        // Checked before instantiating too: an oversized request costs no sandbox.
        self.check_argument(request)?;
        self.rotation_session(call).await?.step(step, request).await
    }

    /// Calls `prepare` in a fresh sandbox: the credential material the
    /// plugin generates itself.
    ///
    /// # Errors
    ///
    /// As [`LoadedPlugin::rotation_step`], plus [`Error::ResultTooLarge`].
    pub async fn prepare(
        &self,
        call: CallContext,
        request: &Rotation,
    ) -> Result<Vec<Field>, Error> {
        self.check_argument(request)?;
        self.rotation_session(call).await?.prepare(request).await
    }

    /// Starts a sandbox for the steps of one record's rotation, with
    /// `call`'s capabilities (see [`RotationSession`]).
    ///
    /// # Errors
    ///
    /// Any [`Error`] instantiation can produce.
    pub async fn rotation_session(&self, call: CallContext) -> Result<RotationSession, Error> {
        let pre = self.rotator_pre()?;
        let mut store = self.store(call, None)?;
        let instance = self
            .guarded(&mut store, async |store| pre.instantiate_async(store).await)
            .await?;
        Ok(RotationSession {
            plugin: self.clone(),
            store,
            instance,
            poisoned: false,
        })
    }

    fn check_argument(&self, request: &Rotation) -> Result<(), Error> {
        let record = &request.record;
        let size = record.uid.len()
            + record.title.len()
            + record
                .fields
                .iter()
                .chain(&record.custom)
                .chain(&request.prepared)
                .map(field_size)
                .sum::<usize>()
            + record.notes.as_ref().map_or(0, String::len)
            + request
                .params
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
            + request.login.len()
            + request.old_password.len()
            + request.new_password.len();
        if size > self.limits.argument_bytes {
            return Err(Error::ArgumentTooLarge {
                what: "the rotation request",
                bytes: size,
                limit: self.limits.argument_bytes,
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
        let pre = self.importer_pre()?;
        let mut store = self.store(CallContext::default(), None)?;
        let mut info = self
            .guarded(&mut store, async |store| {
                let instance = pre.instantiate_async(&mut *store).await?;
                instance
                    .keeper_plugin_importer()
                    .call_describe(&mut *store)
                    .await
            })
            .await?;
        self.check_description(info.name.len() + info.summary.len())?;
        escape_in_place(&mut info.name);
        escape_in_place(&mut info.summary);
        Ok(info)
    }

    fn importer_pre(&self) -> Result<&ImporterPluginPre<PluginState>, Error> {
        match &self.pre {
            Pre::Importer(pre) => Ok(pre),
            Pre::Rotator(_) => Err(self.kind_mismatch(Kind::Importer)),
        }
    }

    /// Starts an import session reading `input`, with the user's `options`.
    ///
    /// # Errors
    ///
    /// Any [`Error`] a call can produce.
    pub async fn start_import(
        &self,
        call: CallContext,
        input: InputSource,
        options: &[(String, String)],
    ) -> Result<ImportSession, Error> {
        let pre = self.importer_pre()?.clone();
        let mut store = self.store(call, Some(input))?;
        let (instance, session) = self
            .guarded(&mut store, async |store| {
                let instance = pre.instantiate_async(&mut *store).await?;
                let session = instance
                    .keeper_plugin_importer()
                    .session()
                    .call_constructor(&mut *store, options)
                    .await?;
                Ok((instance, session))
            })
            .await?;
        Ok(ImportSession {
            plugin: self.clone(),
            store,
            instance,
            session,
        })
    }
}

/// The steps of one record's rotation (`prepare`, `rotate`, `verify`) in
/// one sandbox, instead of a fresh one per step: instantiating and tearing
/// down a sandbox was most of a step's cost in the host. Every step sees the
/// same record and both of its passwords, so sharing the sandbox between
/// them shows the plugin nothing more; a session is never shared between
/// records. The CPU budget, deadline, HTTP request cap and the refusals an
/// error names are per step; output and log caps are shared by the steps.
/// A step that fails other than with the plugin's own error (a trap, a
/// timeout, a limit) leaves the session refusing further steps: start a
/// fresh one. Plugins must not rely on memory surviving between steps; a
/// resumed rotation runs each step in a fresh sandbox.
pub struct RotationSession {
    plugin: LoadedPlugin,
    store: Store<PluginState>,
    instance: RotatorPlugin,
    /// A step failed other than by returning the plugin's own error (a
    /// trap, a timeout mid-call, a limit): no further step may enter.
    poisoned: bool,
}

impl std::fmt::Debug for RotationSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotationSession")
            .field("plugin", &self.plugin.id())
            .finish()
    }
}

impl RotationSession {
    /// Calls `prepare`: the credential material the plugin generates itself.
    ///
    /// # Errors
    ///
    /// As [`RotationSession::step`], plus [`Error::ResultTooLarge`].
    pub async fn prepare(&mut self, request: &Rotation) -> Result<Vec<Field>, Error> {
        let request = self.enter(request)?;
        let plugin = &self.plugin;
        let rotator = self.instance.keeper_plugin_rotator();
        let result = plugin
            .guarded(&mut self.store, async |store| {
                rotator.call_prepare(&mut *store, &request).await
            })
            .await;
        self.poisoned = result.is_err();
        let result = result?;
        let fields = result.map_err(|e| plugin.plugin_error(e, self.store.data()))?;
        // The count first: a flood of empty fields is refused without
        // walking it.
        if let Err(mut refusal) = plugin.fields.check_prepared(&fields) {
            if let Some(field) = refusal.field_mut() {
                *field = escaped(&self.store.data().redactor.redact(field));
            }
            return Err(Error::PreparedFieldRefused {
                plugin: plugin.id(),
                refusal,
            });
        }
        let size: usize = fields.iter().map(field_size).sum();
        if size > plugin.limits.message_bytes {
            return Err(Error::ResultTooLarge {
                plugin: plugin.id(),
                what: "prepared fields",
                bytes: size,
                limit: plugin.limits.message_bytes,
            });
        }
        Ok(fields)
    }

    /// Calls one rotation step.
    ///
    /// # Errors
    ///
    /// [`Error::Plugin`] with the plugin's own (redacted) error, or any
    /// sandbox error (timeout, limits, crash).
    pub async fn step(&mut self, step: Step, request: &Rotation) -> Result<(), Error> {
        let request = self.enter(request)?;
        let plugin = &self.plugin;
        let rotator = self.instance.keeper_plugin_rotator();
        let request = &request;
        let result = plugin
            .guarded(&mut self.store, async |store| match step {
                Step::Rotate => rotator.call_rotate(&mut *store, request).await,
                Step::Verify => rotator.call_verify(&mut *store, request).await,
                Step::Revert => rotator.call_revert(&mut *store, request).await,
            })
            .await;
        self.poisoned = result.is_err();
        result?.map_err(|e| plugin.plugin_error(e, self.store.data()))
    }

    /// CPU fuel the last step used (benchmarks, metrics).
    pub fn fuel_used(&self) -> u64 {
        self.plugin
            .limits
            .fuel
            .saturating_sub(self.store.get_fuel().unwrap_or(0))
    }

    /// Checks the request and re-arms the budgets before a step; refuses
    /// a sandbox an earlier step left broken. Returns the request as the
    /// plugin may see it (only the record fields it needs, `fields.rs`),
    /// whose every secret is added to the sandbox's redactor.
    fn enter(&mut self, request: &Rotation) -> Result<Shown, Error> {
        if self.poisoned {
            return Err(Error::Crashed {
                plugin: self.plugin.id(),
                detail: "an earlier step failed in this sandbox; a fresh one is needed".into(),
            });
        }
        self.plugin.check_argument(request)?;
        let shown = Shown(Rotation {
            record: self.plugin.fields.shown(&request.record),
            target: request.target.clone(),
            params: request.params.clone(),
            login: request.login.clone(),
            old_password: request.old_password.clone(),
            new_password: request.new_password.clone(),
            prepared: request.prepared.clone(),
        });
        self.store
            .data_mut()
            .redactor
            .add(&super::fields::secrets_of(&shown));
        self.plugin.arm(&mut self.store)?;
        Ok(shown)
    }
}

/// A request as the plugin is shown it; its secrets are zeroized on drop.
struct Shown(Rotation);

impl std::ops::Deref for Shown {
    type Target = Rotation;

    fn deref(&self) -> &Rotation {
        &self.0
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        let r = &mut self.0;
        r.old_password.zeroize();
        r.new_password.zeroize();
        for field in r
            .record
            .fields
            .iter_mut()
            .chain(&mut r.record.custom)
            .chain(&mut r.prepared)
        {
            field.values.iter_mut().for_each(Zeroize::zeroize);
        }
    }
}

/// A rotation step that returns nothing but success or an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Set the new password on the target.
    Rotate,
    /// Log in with the new password.
    Verify,
    /// Put the old password back.
    Revert,
}

fn field_size(field: &wit::Field) -> usize {
    field.kind.len()
        + field.label.as_ref().map_or(0, String::len)
        + field.values.iter().map(String::len).sum::<usize>()
}

/// One running import: a sandbox that lives for the whole import, with the
/// CPU budget and deadline re-armed for every batch.
pub struct ImportSession {
    plugin: LoadedPlugin,
    store: Store<PluginState>,
    instance: importer_world::ImporterPlugin,
    session: ResourceAny,
}

impl std::fmt::Debug for ImportSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportSession")
            .field("plugin", &self.plugin.id())
            .finish()
    }
}

impl ImportSession {
    /// The next batch, or `None` when the source is done.
    ///
    /// # Errors
    ///
    /// The plugin's error (e.g. malformed input) or a sandbox error; the
    /// session cannot be used after an error.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, Error> {
        self.plugin.arm(&mut self.store)?;
        let session = self.session;
        let importer = self.instance.keeper_plugin_importer();
        let result = self
            .plugin
            .guarded(&mut self.store, async |store| {
                importer
                    .session()
                    .call_next_batch(&mut *store, session)
                    .await
            })
            .await?;
        let mut batch = result.map_err(|e| self.plugin.plugin_error(e, self.store.data()))?;
        if let Some(items) = &mut batch {
            let limits = &self.plugin.limits;
            if items.len() > limits.batch_items {
                return Err(Error::ResultTooLarge {
                    plugin: self.plugin.id(),
                    what: "a batch",
                    bytes: items.len(),
                    limit: limits.batch_items,
                });
            }
            let size: usize = items.iter().map(item_size).sum();
            if size > limits.batch_bytes {
                return Err(Error::ResultTooLarge {
                    plugin: self.plugin.id(),
                    what: "a batch",
                    bytes: size,
                    limit: limits.batch_bytes,
                });
            }
            // A skipped item's reason is shown to the user as it is.
            for item in items.iter_mut() {
                if let ImportItem::Skipped(reason) = item {
                    escape_in_place(reason);
                }
            }
        }
        Ok(batch)
    }

    /// Bytes of the source read so far.
    pub fn position(&self) -> u64 {
        self.store
            .data()
            .input
            .as_ref()
            .map_or(0, InputSource::position)
    }
}

fn item_size(item: &ImportItem) -> usize {
    match item {
        ImportItem::Record(r) => {
            r.title.len()
                + r.record_type.len()
                + r.fields
                    .iter()
                    .chain(&r.custom)
                    .map(field_size)
                    .sum::<usize>()
                + r.notes.as_ref().map_or(0, String::len)
                + r.attachments
                    .iter()
                    .map(|a| a.name.len() + a.data.len())
                    .sum::<usize>()
        }
        ImportItem::SharedFolder(f) => {
            f.path.len() + f.permissions.iter().map(|p| p.name.len()).sum::<usize>()
        }
        ImportItem::Skipped(s) => s.len(),
    }
}
