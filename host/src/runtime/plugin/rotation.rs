//! A rotator's calls: `prepare`, `rotate`, `verify` and `revert`, alone in
//! a fresh sandbox or together in one record's [`RotationSession`].

use wasmtime::Store;

use super::{Field, LoadedPlugin, Pre, Rotation, field_size};
pub use crate::runtime::bindings::Step;
use crate::runtime::bindings::{RotatorPlugin, Wiped};
use crate::runtime::capability::{CallContext, PluginState};
use crate::runtime::error::Error;
use crate::runtime::native::abi::Method;
use crate::runtime::redact::Redactor;
use crate::runtime::text::escaped;

impl LoadedPlugin {
    /// Calls one rotation step in a fresh sandbox (`prepare` is separate):
    /// as [`RotationSession::step`].
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
    ) -> Result<Vec<Field>, Error> {
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
        if let Pre::Native(_) = &self.pre {
            // No sandbox: the session keeps only the call's secrets, to
            // redact the plugin's answers.
            return Ok(RotationSession {
                plugin: self.clone(),
                sandbox: Sandbox::Native {
                    redactor: Redactor::new(&call.secrets),
                },
                poisoned: false,
            });
        }
        let pre = self.rotator_pre()?;
        let mut store = self.store(call, None)?;
        let instance = self
            .guarded(&mut store, async |store| pre.instantiate(store).await)
            .await?;
        Ok(RotationSession {
            plugin: self.clone(),
            sandbox: Sandbox::Wasm {
                store: Box::new(store),
                instance,
            },
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
/// resumed rotation runs each step in a fresh sandbox. A native plugin's
/// session has no sandbox: its steps are calls into its library.
pub struct RotationSession {
    plugin: LoadedPlugin,
    sandbox: Sandbox,
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

/// Where a session's steps run.
enum Sandbox {
    /// A wasm sandbox and the instance in it.
    Wasm {
        store: Box<Store<PluginState>>,
        instance: RotatorPlugin,
    },
    /// A native plugin's library (`plugin/native.rs`).
    Native {
        /// The secrets of the session's requests.
        redactor: Redactor,
    },
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
        let fields = match &mut self.sandbox {
            Sandbox::Wasm { store, instance } => {
                let result = plugin
                    .guarded(store, async |store| instance.prepare(store, &request).await)
                    .await;
                self.poisoned = result.is_err();
                result?.map_err(|e| plugin.plugin_error(e, store.data()))?
            }
            Sandbox::Native { redactor } => {
                plugin
                    .native_step(Method::Prepare, &request, redactor, &mut self.poisoned)
                    .await?
            }
        };
        self.material(fields, false)
    }

    /// Calls one rotation step. `rotate` returns the material the target
    /// generated (a 1.1 rotator's; checked like `prepare`'s), `verify` and
    /// `revert` none.
    ///
    /// # Errors
    ///
    /// [`Error::Plugin`] with the plugin's own (redacted) error, any
    /// sandbox error (timeout, limits, crash), or
    /// [`Error::GeneratedFieldRefused`].
    pub async fn step(&mut self, step: Step, request: &Rotation) -> Result<Vec<Field>, Error> {
        let request = self.enter(request)?;
        let plugin = &self.plugin;
        let request = &request;
        let fields = match &mut self.sandbox {
            Sandbox::Wasm { store, instance } => {
                let result = plugin
                    .guarded(store, async |store| {
                        instance.step(store, step, request).await
                    })
                    .await;
                self.poisoned = result.is_err();
                result?.map_err(|e| plugin.plugin_error(e, store.data()))?
            }
            Sandbox::Native { redactor } => {
                let method = match step {
                    Step::Rotate => Method::Rotate,
                    Step::Verify => Method::Verify,
                    Step::Revert => Method::Revert,
                };
                plugin
                    .native_step(method, request, redactor, &mut self.poisoned)
                    .await?
            }
        };
        self.material(fields, step == Step::Rotate)
    }

    /// Material `prepare` or (`generated`) `rotate` returned, refused unless
    /// the plugin may return it (`fields.rs`) and it fits the message
    /// limit; a refusal is redacted of the material too. The count first:
    /// a flood of empty fields is refused without walking it.
    fn material(&self, fields: Vec<Field>, generated: bool) -> Result<Vec<Field>, Error> {
        let plugin = &self.plugin;
        if let Err(mut refusal) = plugin.fields.check_prepared(&fields) {
            if let Some(field) = refusal.field_mut() {
                // The name of a refused field is the plugin's word: redacted
                // of the material it returned with it too.
                let mut redactor = self.redactor().clone();
                redactor.add(&crate::runtime::fields::material_values(&fields));
                *field = escaped(&redactor.redact(field));
            }
            let plugin = plugin.id();
            return Err(if generated {
                Error::GeneratedFieldRefused { plugin, refusal }
            } else {
                Error::PreparedFieldRefused { plugin, refusal }
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

    /// CPU fuel the last step used (benchmarks, metrics; 0 for a native
    /// plugin, which is not metered).
    pub fn fuel_used(&self) -> u64 {
        match &self.sandbox {
            Sandbox::Wasm { store, .. } => self
                .plugin
                .limits
                .fuel
                .saturating_sub(store.get_fuel().unwrap_or(0)),
            Sandbox::Native { .. } => 0,
        }
    }

    /// The secrets of the session's requests.
    fn redactor(&self) -> &Redactor {
        match &self.sandbox {
            Sandbox::Wasm { store, .. } => &store.data().redactor,
            Sandbox::Native { redactor } => redactor,
        }
    }

    /// Checks the request and re-arms the budgets before a step; refuses
    /// a sandbox an earlier step left broken. Returns the request as the
    /// plugin may see it (only the record fields it needs, `fields.rs`),
    /// whose every secret is added to the sandbox's redactor.
    fn enter(&mut self, request: &Rotation) -> Result<Wiped<Rotation>, Error> {
        if self.poisoned {
            return Err(Error::Crashed {
                plugin: self.plugin.id(),
                detail: "an earlier step failed in this sandbox; a fresh one is needed".into(),
            });
        }
        self.plugin.check_argument(request)?;
        let shown = Wiped(Rotation {
            record: self.plugin.fields.shown(&request.record),
            target: request.target.clone(),
            params: request.params.clone(),
            login: request.login.clone(),
            old_password: request.old_password.clone(),
            new_password: request.new_password.clone(),
            prepared: request.prepared.clone(),
        });
        let secrets = crate::runtime::fields::secrets_of(&shown);
        match &mut self.sandbox {
            Sandbox::Wasm { store, .. } => {
                store.data_mut().redactor.add(&secrets);
                self.plugin.arm(store)?;
            }
            Sandbox::Native { redactor } => redactor.add(&secrets),
        }
        Ok(shown)
    }
}
