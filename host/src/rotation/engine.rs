//! The staged rotation protocol: never lose a working password.
//!
//! Modelled on AWS Secrets Manager's create/set/test/finish and Vault's
//! write-ahead static-role rotation:
//!
//! 1. **create** – generate the new password (host side, from the record's
//!    rules and the plugin's constraints) and store it durably in the vault
//!    as *pending* on the record (encrypted, with plugin, target and start
//!    time) before anything touches the target;
//! 2. **set** – `plugin.rotate`;
//! 3. **test** – `plugin.verify` with the new password;
//! 4. **finish** – one vault transaction: the new password becomes current,
//!    the old one goes to the history, pending is cleared, audit written.
//!
//! When something fails after the target may have changed, the engine first
//! checks whether the new password works anyway (then it finishes), else it
//! reverts and checks the old one (then it clears pending). If neither
//! works the record stays pending with both passwords and is reported as
//! needing attention; `rotate --resume` and any later `rotate` of it try the
//! new password, then the old one. A crash at any point leaves a state that
//! resumption resolves (`fault.rs` proves it in the tests).
//!
//! Each record is worked on under its rotation lock (`lock.rs`, taken
//! before the record is read): a record another live keeper process is
//! rotating is reported busy and left alone, and every write of a pending
//! state is checked against the lock, so only its holder ever stores,
//! finishes or clears one.
//!
//! Vault access is serialised by a mutex held only for short, synchronous
//! vault operations; plugin calls run concurrently.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::lock::Locks;
use super::params::{self, Overrides, Resolved};
use super::password::{self, Constraints, Rules};
use super::{fault, view};
use crate::runtime::capability::ssh::SshSettings;
use crate::runtime::plugin::{Field, PluginInfo, Rotation, Target};
use crate::runtime::{
    ArtifactCache, CallContext, Error as RuntimeError, LoadedPlugin, PinnedTarget, RotationSession,
    Runtime, Step, registry,
};
use crate::vault::model::{PendingRotation, PreparedField, Record, now_ms};
use crate::vault::store::AuditRow;
use crate::vault::{Flush, RotationLock, Vault, VaultError};

/// Most records `rotate_all` works on at once. With the two it stages
/// ahead, each holds one plugin sandbox: 18 sandboxes fit the runtime's
/// pool even for plugins at its per-component maxima (4 memories, 16 core
/// instances each; `runtime::pool`).
pub const MAX_PARALLEL: usize = 16;

/// The built-in plugin that changes the password in the vault only.
pub const NOOP: &str = "noop";

/// What the command line asks for.
#[derive(Clone, Default)]
pub struct Options {
    /// `--plugin`, `--host`, `--port`.
    pub overrides: Overrides,
    /// `--rules` (overrides `cmdr:rules`).
    pub rules: Option<String>,
    /// `--length` (overrides `cmdr:length` and the rules' length).
    pub length: Option<usize>,
    /// `--password`: use this instead of generating one.
    pub password: Option<Zeroizing<String>>,
    /// `--accept-host-key`: trust an SSH host seen for the first time.
    pub accept_host_key: bool,
    /// `--resume`: only resolve a pending rotation, never start one.
    pub resume_only: bool,
    /// `--wait`: how long to wait for a record another process is
    /// rotating; `None` reports it busy at once.
    pub wait: Option<Duration>,
    /// The shortest new password accepted (`--min-length`, the config's
    /// `rotation_min_length`); `None` is [`password::MIN_LENGTH`].
    pub min_length: Option<usize>,
}

/// How a record's rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The new password is set, verified and stored.
    Rotated,
    /// A pending rotation was found and completed (the new password works).
    Completed,
    /// A pending rotation was found and rolled back (the old password works).
    RolledBack,
    /// Nothing to do (`--resume` on a record without a pending rotation).
    NothingPending,
    /// The rotation failed; the target and the vault keep the old password.
    Failed,
    /// Neither password works: the record stays pending with both.
    NeedsAttention,
    /// The plugin's `rotate` failed and the old password no longer logs
    /// in, but the new one does: it is stored. A failure for the exit code:
    /// check the target.
    Recovered,
    /// Another keeper process is rotating the record; nothing was touched.
    Busy,
}

impl Outcome {
    /// Whether this counts as a failure for the exit code.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::NeedsAttention | Outcome::Recovered | Outcome::Busy
        )
    }

    fn audit(self) -> &'static str {
        match self {
            Outcome::Rotated => "rotated",
            Outcome::Completed => "resumed: completed",
            Outcome::RolledBack => "resumed: rolled back",
            Outcome::NothingPending => "nothing pending",
            Outcome::Failed => "failed",
            Outcome::NeedsAttention => "needs attention",
            Outcome::Recovered => "failed: the new password logs in and was stored",
            Outcome::Busy => "busy",
        }
    }
}

/// The result of rotating one record.
#[derive(Clone, serde::Serialize)]
pub struct Report {
    /// Record uid.
    pub uid: String,
    /// Record title.
    pub title: String,
    /// Plugin used (empty when none could be chosen).
    pub plugin: String,
    /// Target `host:port` (empty when none).
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Milliseconds spent.
    pub duration_ms: u64,
    /// What went wrong, or extra information (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The new password, only when `--print` asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip)]
    pub(crate) new_password: Option<Zeroizing<String>>,
    /// When the work on the target began (after waiting for a slot).
    #[serde(skip)]
    started: Instant,
}

impl Report {
    /// A report for `uid` before anything happened (a failure until told
    /// otherwise).
    fn new(uid: &str) -> Self {
        Self {
            uid: uid.to_string(),
            title: String::new(),
            plugin: String::new(),
            target: String::new(),
            outcome: Outcome::Failed,
            duration_ms: 0,
            message: None,
            password: None,
            new_password: None,
            started: Instant::now(),
        }
    }
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("uid", &self.uid)
            .field("plugin", &self.plugin)
            .field("outcome", &self.outcome)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// A plan line for `--dry-run`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// Record uid.
    pub uid: String,
    /// Record title.
    pub title: String,
    /// Plugin that would run.
    pub plugin: String,
    /// Target `host:port`.
    pub target: String,
    /// Password rules that would apply.
    pub rules: String,
    /// `ready`, or why it would fail.
    pub status: String,
}

/// A loaded plugin with its self-description.
struct Backend {
    plugin: LoadedPlugin,
    info: PluginInfo,
}

/// Rotates records of one vault.
pub struct Engine {
    vault: Arc<Mutex<Vault>>,
    runtime: Runtime,
    plugin_dir: PathBuf,
    known_hosts: PathBuf,
    backends: tokio::sync::Mutex<HashMap<String, Arc<Backend>>>,
    /// Pending states waiting for the next group commit.
    queued: Mutex<Vec<QueuedPending>>,
    /// The records' rotation locks this process holds.
    locks: Locks,
}

/// A pending state waiting to be written, and who waits for it.
struct QueuedPending {
    lock: Arc<RotationLock>,
    state: PendingRotation,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// A failure before the target was touched.
type Early = String;

impl Engine {
    /// An engine over `vault`, loading plugins from the built-ins and
    /// `plugin_dir`, caching compiled plugins in `cache_dir`.
    ///
    /// # Errors
    ///
    /// When the wasm runtime cannot start.
    pub fn new(
        vault: Vault,
        plugin_dir: PathBuf,
        cache_dir: PathBuf,
        known_hosts: PathBuf,
    ) -> Result<Self, RuntimeError> {
        let vault = Arc::new(Mutex::new(vault));
        Ok(Self {
            locks: Locks::new(vault.clone()),
            vault,
            runtime: Runtime::new(ArtifactCache::new(cache_dir))?,
            plugin_dir,
            known_hosts,
            backends: tokio::sync::Mutex::default(),
            queued: Mutex::default(),
        })
    }

    /// Runs `f` on the vault (short, synchronous critical sections only).
    pub fn with_vault<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> R {
        let mut guard = self
            .vault
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Durably stores a rotation's pending state (DESIGN: before the target
    /// is touched), by group commit: concurrent rotations (`--parallel`)
    /// queue their states, and whoever gets the vault next writes all the
    /// queued ones in one transaction, so they share one wait for the disk.
    /// On a multi-threaded runtime the wait happens outside the async
    /// workers, which go on running the other rotations meanwhile.
    async fn store_pending(
        &self,
        lock: &Arc<RotationLock>,
        state: PendingRotation,
    ) -> Result<(), String> {
        let (done, written) = tokio::sync::oneshot::channel();
        self.queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(QueuedPending {
                lock: lock.clone(),
                state,
                done,
            });
        let commit = || {
            let (batch, written) = self.with_vault(|vault| {
                let batch = std::mem::take(
                    &mut *self
                        .queued
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                let written = write_pending(vault, &batch);
                (batch, written)
            });
            // The wait for the disk happens after letting go of the vault,
            // so the records being rotated meanwhile can finish.
            tell_pending_waiters(batch, written);
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(commit);
        } else {
            commit();
        }
        written
            .await
            .unwrap_or_else(|_| Err("the pending state was not written".into()))
    }

    async fn backend(&self, name: &str) -> Result<Arc<Backend>, String> {
        let mut backends = self.backends.lock().await;
        if let Some(b) = backends.get(name) {
            return Ok(b.clone());
        }
        let package = registry::find(&self.plugin_dir, name).map_err(|e| e.to_string())?;
        let plugin = self.runtime.load(&package).map_err(|e| e.to_string())?;
        let info = plugin.describe_rotator().await.map_err(|e| e.to_string())?;
        let backend = Arc::new(Backend { plugin, info });
        backends.insert(name.to_string(), backend.clone());
        Ok(backend)
    }

    /// What rotating `uid` would do, touching nothing.
    pub async fn plan(&self, uid: &str, endpoint: Option<&str>, options: &Options) -> Plan {
        let record = self.with_vault(|v| v.record(uid));
        let (title, record) = match record {
            Ok(r) => (r.data.title.clone(), r),
            Err(e) => {
                return Plan {
                    uid: uid.into(),
                    title: String::new(),
                    plugin: String::new(),
                    target: String::new(),
                    rules: String::new(),
                    status: e.to_string(),
                };
            }
        };
        let mut plan = Plan {
            uid: uid.into(),
            title,
            plugin: String::new(),
            target: String::new(),
            rules: String::new(),
            status: "ready".into(),
        };
        let resolved =
            match params::resolve(&view::record_view(&record), endpoint, &options.overrides) {
                Ok(r) => r,
                Err(e) => {
                    plan.status = e.to_string();
                    return plan;
                }
            };
        plan.plugin = resolved.plugin.clone();
        plan.rules = options
            .rules
            .clone()
            .or_else(|| resolved.rules.clone())
            .unwrap_or_else(|| "default (20, each class)".into());
        if let Some(len) = options.length.or(resolved.length) {
            plan.rules = format!("{}; length {len}", plan.rules);
        }
        if !record.can_edit {
            plan.status = "not editable".into();
        } else if let Some(holder) = self
            .with_vault(|v| v.rotation_lock_holder(uid))
            .ok()
            .flatten()
        {
            plan.status = format!("busy: being rotated by {holder}");
        } else if self
            .with_vault(|v| v.pending_rotation(uid))
            .ok()
            .flatten()
            .is_some()
        {
            plan.status = "pending: will resume".into();
        }
        if resolved.plugin != NOOP {
            match self.backend(&resolved.plugin).await {
                Ok(b) => {
                    let port = resolved.port.or(b.info.default_port);
                    plan.target = target_label(resolved.host.as_deref(), port);
                    if let Err(e) = params::check_required(&resolved, &b.info.required_params) {
                        plan.status = e.to_string();
                    }
                    let max = b.info.max_length.map(|m| m as usize);
                    if let Err(e) = planned_length_ok(options, &resolved, max) {
                        plan.status = e;
                    }
                }
                Err(e) => plan.status = e,
            }
        } else if let Err(e) = planned_length_ok(options, &resolved, None) {
            plan.status = e;
        }
        plan
    }

    /// Rotates one record (or resolves its pending rotation).
    pub async fn rotate(&self, uid: &str, endpoint: Option<&str>, options: &Options) -> Report {
        self.rotate_gated(uid, endpoint, options, None).await
    }

    /// Rotates `targets`, at most `parallel` (up to [`MAX_PARALLEL`]) at
    /// once, calling `done` as each finishes; reports in the order of
    /// `targets`.
    ///
    /// Records are *staged* (password generated, plugin material prepared,
    /// pending state stored) a little ahead of the ones being rotated, so
    /// the wait for the disk that makes each pending state durable overlaps
    /// with other records' work on their targets, and concurrent pending
    /// states share one commit; that wait happens after letting go of the
    /// vault. At most `parallel + 2` records are staged or in progress at
    /// any time, each holding one plugin sandbox (its prepare, rotate and
    /// verify steps share one); a record is staged only when it will be
    /// rotated next, and an interrupted run leaves at most that many
    /// pending, for `rotate --resume`. Staging includes the plugin's
    /// `prepare` call, which must not touch the target. A report's (and
    /// the audit entry's) duration starts when the record gets its turn,
    /// after staging. A record selected twice is rotated once.
    pub async fn rotate_all(
        self: &Arc<Self>,
        targets: Vec<(String, Option<String>)>,
        options: &Options,
        parallel: usize,
        done: impl Fn(&Report) + Send + Sync + 'static,
    ) -> Vec<Report> {
        let parallel = parallel.clamp(1, MAX_PARALLEL);
        let staging = Arc::new(tokio::sync::Semaphore::new(parallel + 2));
        let running = Arc::new(tokio::sync::Semaphore::new(parallel));
        let done = Arc::new(done);
        // A record selected twice (linked into two folders, say) is rotated
        // once: two concurrent rotations of one record would race.
        let mut seen = std::collections::HashSet::new();
        let targets: Vec<(String, Option<String>)> = targets
            .into_iter()
            .filter(|(uid, endpoint)| seen.insert((uid.clone(), endpoint.clone())))
            .collect();
        let uids: Vec<String> = targets.iter().map(|(uid, _)| uid.clone()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, (uid, endpoint)) in targets.into_iter().enumerate() {
            let (engine, options) = (self.clone(), options.clone());
            let (staging, running, done) = (staging.clone(), running.clone(), done.clone());
            tasks.spawn(async move {
                let _staged = staging.acquire_owned().await;
                let report = engine
                    .rotate_gated(&uid, endpoint.as_deref(), &options, Some(running))
                    .await;
                done(&report);
                (index, report)
            });
        }
        let mut reports: Vec<Option<Report>> = uids.iter().map(|_| None).collect();
        while let Some(finished) = tasks.join_next().await {
            if let Ok((index, report)) = finished {
                reports[index] = Some(report);
            }
        }
        // A task that panicked still gets a line, as a failure.
        reports
            .into_iter()
            .zip(uids)
            .map(|(report, uid)| {
                report.unwrap_or_else(|| Report {
                    outcome: Outcome::Failed,
                    message: Some("the rotation task stopped unexpectedly".into()),
                    ..Report::new(&uid)
                })
            })
            .collect()
    }

    /// [`Engine::rotate`]; with `gate`, a permit of it is taken before the
    /// target is touched (after staging) and held until the record is done.
    async fn rotate_gated(
        &self,
        uid: &str,
        endpoint: Option<&str>,
        options: &Options,
        gate: Option<Arc<tokio::sync::Semaphore>>,
    ) -> Report {
        let mut report = Report::new(uid);
        let early = self
            .rotate_inner(uid, endpoint, options, gate, &mut report)
            .await;
        report.duration_ms = report.started.elapsed().as_millis() as u64;
        if let Err(message) = early {
            report.outcome = Outcome::Failed;
            report.message = Some(message);
            // Failures before the target was touched are audited here; the
            // staged steps audit their own outcomes in their transactions.
            if !report.plugin.is_empty() {
                let _ =
                    self.with_vault(|v| v.append_audit(&audit_row(uid, &report, report.outcome)));
            }
        }
        report
    }

    async fn rotate_inner(
        &self,
        uid: &str,
        endpoint: Option<&str>,
        options: &Options,
        gate: Option<Arc<tokio::sync::Semaphore>>,
        report: &mut Report,
    ) -> Result<(), Early> {
        // The lock first, so that what follows reads the record as its
        // holder: nobody else changes its pending state meanwhile.
        let guard = match self.locks.acquire(uid, options.wait).await {
            Ok(guard) => guard,
            Err(e @ VaultError::RotationBusy { .. }) => {
                report.outcome = Outcome::Busy;
                report.title = self
                    .with_vault(|v| v.record(uid))
                    .map(|r| r.data.title.clone())
                    .unwrap_or_default();
                report.message = Some(format!(
                    "{e}{}",
                    if options.wait.is_some() {
                        " (waited for it in vain)"
                    } else {
                        "; wait for it, or pass --wait SECONDS"
                    }
                ));
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        let record = self
            .with_vault(|v| v.record(uid))
            .map_err(|e| e.to_string())?;
        report.title = record.data.title.clone();
        if !record.can_edit {
            return Err("the record is not editable but needs to be updated with the new password; nothing was changed".into());
        }
        let resolved = params::resolve(&view::record_view(&record), endpoint, &options.overrides)
            .map_err(|e| e.to_string())?;
        report.plugin = resolved.plugin.clone();
        let backend = if resolved.plugin == NOOP {
            None
        } else {
            Some(self.backend(&resolved.plugin).await?)
        };
        let info = backend.as_ref().map(|b| b.info.clone());
        let port = resolved.port.or(info.as_ref().and_then(|i| i.default_port));
        report.target = target_label(resolved.host.as_deref(), port);
        if let Some(info) = &info {
            params::check_required(&resolved, &info.required_params).map_err(|e| e.to_string())?;
        }
        let target = match (&backend, &resolved.host, port) {
            (Some(_), Some(host), Some(port)) => Some(
                PinnedTarget::resolve(host, port)
                    .await
                    .map_err(|e| format!("cannot resolve the target {host}:{port}: {e}"))?,
            ),
            _ => None,
        };
        let ctx = Ctx {
            engine: self,
            backend: backend.as_deref(),
            record: &record,
            resolved: &resolved,
            target,
            uid,
            lock: guard.lock(),
            prepared: Mutex::new(Vec::new()),
            gate,
            permit: Mutex::new(None),
        };

        // A pending rotation is resolved first: new password, then old.
        if let Some(pending) = self
            .with_vault(|v| v.pending_rotation(uid))
            .map_err(|e| e.to_string())?
        {
            ctx.enter(report).await;
            let outcome = ctx.resume(&pending, report).await;
            report.outcome = outcome;
            if outcome != Outcome::RolledBack || options.resume_only {
                return Ok(());
            }
        } else if options.resume_only {
            report.outcome = Outcome::NothingPending;
            return Ok(());
        }
        ctx.fresh(options, info.as_ref(), report).await
    }

    /// Uids of records with a pending rotation.
    ///
    /// # Errors
    ///
    /// Vault errors.
    pub fn pending(&self) -> Result<Vec<String>, crate::vault::VaultError> {
        self.with_vault(|v| v.pending_rotations())
            .map(|p| p.into_iter().map(|(uid, _)| uid).collect())
    }
}

/// Writes a batch of queued pending states in one transaction; if the batch
/// fails (one record deleted meanwhile, say), each is written alone so one
/// record's failure is not the others'. Returns each one's result, not yet
/// durable.
fn write_pending(vault: &mut Vault, batch: &[QueuedPending]) -> Vec<Result<Flush, String>> {
    if batch.is_empty() {
        return Vec::new();
    }
    let items: Vec<(&RotationLock, &PendingRotation)> =
        batch.iter().map(|q| (q.lock.as_ref(), &q.state)).collect();
    match vault.stage_pending_rotations(&items) {
        Ok(flush) => {
            let mut results: Vec<Result<Flush, String>> =
                batch.iter().map(|_| Ok(Flush::Done)).collect();
            results[0] = Ok(flush);
            results
        }
        Err(_) => items
            .iter()
            .map(|item| {
                vault
                    .stage_pending_rotations(std::slice::from_ref(item))
                    .map_err(|e| e.to_string())
            })
            .collect(),
    }
}

/// Waits for the disk, then tells each waiter whether its pending state is
/// durable (only then may it touch its target).
fn tell_pending_waiters(batch: Vec<QueuedPending>, written: Vec<Result<Flush, String>>) {
    // One sync covers the whole batch, so a failed one fails all of it.
    let mut synced: Result<(), String> = Ok(());
    let mut results = Vec::with_capacity(written.len());
    for w in written {
        results.push(w.map(|flush| {
            if let Err(e) = flush.wait() {
                synced = Err(format!(
                    "the pending state was written but could not be made durable ({e}); \
                     nothing was changed on the target; it stays pending: run `keeper rotate --resume`"
                ));
            }
        }));
    }
    for (q, result) in batch.into_iter().zip(results) {
        let _ = q.done.send(result.and_then(|()| synced.clone()));
    }
}

/// Whether the new password would be long enough (`plan`).
fn planned_length_ok(
    options: &Options,
    resolved: &Resolved,
    max_length: Option<usize>,
) -> Result<(), String> {
    let min = options.min_length.unwrap_or(password::MIN_LENGTH);
    if let Some(p) = &options.password {
        return password::check_min_length(min, p.chars().count(), "the password given")
            .map_err(|e| e.to_string());
    }
    let rules = match options.rules.as_deref().or(resolved.rules.as_deref()) {
        Some(text) => Rules::parse(text).map_err(|e| e.to_string())?,
        None => Rules::default(),
    };
    let constraints = Constraints {
        disallowed: String::new(),
        max_length,
    };
    password::check_planned_length(
        min,
        &rules,
        requested_length(options, resolved),
        &constraints,
    )
    .map_err(|e| e.to_string())
}

/// The length asked for (`--length`, else the record's `cmdr:length`),
/// with where it came from.
fn requested_length(options: &Options, resolved: &Resolved) -> Option<(usize, &'static str)> {
    options
        .length
        .map(|n| (n, "--length"))
        .or(resolved.length.map(|n| (n, "the record's cmdr:length")))
}

/// Adds `text` to the report's message.
fn note(report: &mut Report, text: &str) {
    report.message = Some(match report.message.take() {
        Some(message) => format!("{message}; {text}"),
        None => text.to_string(),
    });
}

fn target_label(host: Option<&str>, port: Option<u16>) -> String {
    match (host, port) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

fn audit_row(uid: &str, report: &Report, outcome: Outcome) -> AuditRow {
    AuditRow {
        tenant_uid: String::new(),
        record_uid: uid.to_string(),
        plugin: report.plugin.clone(),
        target: report.target.clone(),
        outcome: outcome.audit().to_string(),
        duration_ms: report.started.elapsed().as_millis() as i64,
        at: now_ms(),
    }
}

/// One record's rotation in progress.
struct Ctx<'a> {
    engine: &'a Engine,
    backend: Option<&'a Backend>,
    record: &'a Record,
    resolved: &'a Resolved,
    target: Option<PinnedTarget>,
    uid: &'a str,
    /// This record's rotation lock, held while it is worked on.
    lock: &'a Arc<RotationLock>,
    /// Material from the plugin's `prepare` (fresh rotation) or from the
    /// pending state (resume); sent with rotate, verify of the new
    /// credentials and revert, never with a check of the old ones.
    prepared: Mutex<Vec<Field>>,
    /// Limits how many records work on their targets at once.
    gate: Option<Arc<tokio::sync::Semaphore>>,
    /// This record's place under `gate`, once it has one.
    permit: Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
}

impl Ctx<'_> {
    fn request(&self, old: &str, new: &str, prepared: bool) -> Rotation {
        Rotation {
            record: view::record_view(self.record),
            target: self.target.as_ref().map(|t| Target {
                host: t.host.clone(),
                port: t.port,
                address: t.address.to_string(),
            }),
            params: self
                .resolved
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            login: self.resolved.login.clone(),
            old_password: old.to_string(),
            new_password: new.to_string(),
            prepared: if prepared {
                self.prepared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            } else {
                Vec::new()
            },
        }
    }

    fn call(&self, old: &str, new: &str, accept_host_key: bool) -> CallContext {
        CallContext {
            target: self.target.clone(),
            secrets: vec![
                Zeroizing::new(old.to_string()),
                Zeroizing::new(new.to_string()),
            ],
            ssh: SshSettings {
                known_hosts: Some(self.engine.known_hosts.clone()),
                accept_new_host_key: accept_host_key,
                pinned_host_key: self
                    .resolved
                    .params
                    .get("host_key")
                    .cloned()
                    .filter(|k| !k.trim().is_empty()),
            },
            program_paths: self
                .resolved
                .params
                .iter()
                .filter_map(|(k, v)| Some((k.strip_suffix("_path")?.to_string(), PathBuf::from(v))))
                .collect(),
            ..Default::default()
        }
    }

    /// One plugin step; the vault-only `noop` plugin succeeds at everything.
    async fn step(
        &self,
        step: Step,
        old: &str,
        new: &str,
        accept_host_key: bool,
    ) -> Result<(), RuntimeError> {
        self.step_with(step, old, new, accept_host_key, true).await
    }

    /// One plugin step, with or without the prepared material.
    async fn step_with(
        &self,
        step: Step,
        old: &str,
        new: &str,
        accept_host_key: bool,
        prepared: bool,
    ) -> Result<(), RuntimeError> {
        match self.backend {
            None => Ok(()),
            Some(b) => {
                b.plugin
                    .rotation_step(
                        step,
                        self.call(old, new, accept_host_key),
                        &self.request(old, new, prepared),
                    )
                    .await
            }
        }
    }

    /// One step of a fresh rotation in its session; after an error the
    /// session is dropped, and what follows runs in fresh sandboxes.
    async fn session_step(
        &self,
        session: &mut Option<RotationSession>,
        step: Step,
        (old, new): (&str, &str),
        accept_host_key: bool,
    ) -> Result<(), RuntimeError> {
        let result = match session {
            Some(active) => active.step(step, &self.request(old, new, true)).await,
            None => self.step(step, old, new, accept_host_key).await,
        };
        if result.is_err() {
            *session = None;
        }
        result
    }

    /// Does `password` log in? (`verify` with it as the new password.)
    /// `new`: the new credentials, with the prepared material; else the
    /// record's current ones, without it.
    async fn works(&self, password: &str, new: bool) -> bool {
        self.step_with(Step::Verify, password, password, false, new)
            .await
            .is_ok()
    }

    /// Waits for a place under the gate before the target is touched; the
    /// report's time starts there.
    async fn enter(&self, report: &mut Report) {
        let Some(gate) = &self.gate else { return };
        let held = self
            .permit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some();
        if held {
            return;
        }
        let permit = gate.clone().acquire_owned().await.ok();
        *self
            .permit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = permit;
        report.started = Instant::now();
    }

    fn audit(&self, report: &Report, outcome: Outcome) -> AuditRow {
        audit_row(self.uid, report, outcome)
    }

    async fn fresh(
        &self,
        options: &Options,
        info: Option<&PluginInfo>,
        report: &mut Report,
    ) -> Result<(), Early> {
        let constraints = Constraints {
            disallowed: info.map(|i| i.disallowed_chars.clone()).unwrap_or_default(),
            max_length: info.and_then(|i| i.max_length).map(|m| m as usize),
        };
        // Too short a password is refused before anything is touched.
        let min = options.min_length.unwrap_or(password::MIN_LENGTH);
        let new_password = match &options.password {
            Some(p) => {
                password::check_supplied(p, &constraints).map_err(|e| e.to_string())?;
                password::check_min_length(min, p.chars().count(), "the password given")
                    .map_err(|e| e.to_string())?;
                p.clone()
            }
            None => {
                let rules = match options.rules.as_deref().or(self.resolved.rules.as_deref()) {
                    Some(text) => Rules::parse(text).map_err(|e| e.to_string())?,
                    None => Rules::default(),
                };
                let length = requested_length(options, self.resolved);
                password::check_planned_length(min, &rules, length, &constraints)
                    .map_err(|e| e.to_string())?;
                password::generate(&rules, length.map(|(n, _)| n), &constraints)
                    .map_err(|e| e.to_string())?
            }
        };
        let old_password = self.resolved.password.clone();
        if *new_password == *old_password {
            return Err("rotation aborted: the old and new passwords are the same".into());
        }

        // 1. create: the plugin prepares its own material (e.g. a new key
        // pair; most plugins return none), and it is durable with the new
        // password before the target is touched.
        // prepare, rotate and verify share one sandbox (`RotationSession`);
        // recovery after a failure starts fresh ones.
        let accept = options.accept_host_key;
        let mut session = match self.backend {
            None => None,
            Some(b) => Some(
                b.plugin
                    .rotation_session(self.call(&old_password, &new_password, accept))
                    .await
                    .map_err(|e| format!("preparing the rotation failed: {e}"))?,
            ),
        };
        let prepared = match &mut session {
            None => Vec::new(),
            Some(session) => session
                .prepare(&self.request(&old_password, &new_password, false))
                .await
                .map_err(|e| format!("preparing the rotation failed: {e}"))?,
        };
        let pending = PendingRotation {
            new_password: new_password.to_string(),
            old_password: old_password.to_string(),
            plugin: report.plugin.clone(),
            target: report.target.clone(),
            started: now_ms(),
            prepared: prepared
                .iter()
                .map(|f| PreparedField {
                    kind: f.kind.clone(),
                    label: f.label.clone(),
                    values: f.values.clone(),
                })
                .collect(),
        };
        *self
            .prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = prepared;
        self.engine.store_pending(self.lock, pending).await?;
        fault::point("after-pending");
        self.enter(report).await;
        // Staged ahead of its turn, the lock is checked once more before the
        // target is touched (it is only lost if this process was presumed
        // gone: see `vault::rotation_lock`).
        self.check_lock()?;

        // 2. set.
        let set = self
            .session_step(
                &mut session,
                Step::Rotate,
                (&old_password, &new_password),
                accept,
            )
            .await;
        if let Err(error) = set {
            report.message = Some(error.to_string());
            report.outcome = self
                .recover((&old_password, &new_password), &error, true, report)
                .await;
            return Ok(());
        }
        fault::point("after-set");

        // 3. test.
        if let Err(error) = self
            .session_step(
                &mut session,
                Step::Verify,
                (&old_password, &new_password),
                accept,
            )
            .await
        {
            report.message = Some(format!("the new password did not verify: {error}"));
            report.outcome = self
                .recover((&old_password, &new_password), &error, false, report)
                .await;
            return Ok(());
        }
        fault::point("after-verify");

        // 4. finish.
        report.outcome = self.finish_or_attention(report, Outcome::Rotated, &new_password);
        fault::point("after-finish");
        Ok(())
    }

    /// Fails unless this run still holds the record's lock (checked before
    /// the target is touched).
    fn check_lock(&self) -> Result<(), Early> {
        match self.engine.with_vault(|v| v.holds_rotation_lock(self.lock)) {
            Ok(true) => Ok(()),
            Ok(false) => Err(VaultError::LockLost(self.uid.to_string()).to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Stores the new password (step 4). On failure nothing else is
    /// written: the pending state, durable and this run's own, stays for
    /// `rotate --resume` (or, if the lock was taken over, for its new
    /// holder) to finish; it is never written again over another's.
    fn finish(
        &self,
        report: &mut Report,
        outcome: Outcome,
        new_password: Zeroizing<String>,
    ) -> Result<(), Early> {
        report.outcome = outcome;
        let row = self.audit(report, outcome);
        let saved = self
            .engine
            .with_vault(|v| v.complete_rotation(self.lock, &new_password, &row));
        if let Err(e) = saved {
            return Err(format!(
                "the target has the new password but saving it failed ({e}); {}",
                if matches!(e, VaultError::LockLost(_)) {
                    "the new password stays stored as pending for the lock's new holder"
                } else {
                    "it stays stored as pending: run `keeper rotate --resume`"
                }
            ));
        }
        report.new_password = Some(new_password);
        Ok(())
    }

    /// After a failed set (`set_failed`) or test. After a failed test,
    /// finish if the new password works after all. Otherwise put the old
    /// password back: revert (unless a failed set's error says the plugin
    /// changed nothing) and roll back if the old password logs in. Only if
    /// it does not but the new one does is the new one stored, as
    /// [`Outcome::Recovered`]: a failed `rotate` is never reported
    /// rotated. If neither logs in, both stay pending. `report.message`
    /// already says what failed; this adds what was done about it.
    async fn recover(
        &self,
        (old, new): (&str, &str),
        error: &RuntimeError,
        set_failed: bool,
        report: &mut Report,
    ) -> Outcome {
        if !set_failed && self.works(new, true).await {
            return self.finish_or_attention(report, Outcome::Rotated, new);
        }
        // A `rotate` that could not log in or reach the target changed
        // nothing (a failed verify says nothing about what rotate did).
        let untouched = set_failed
            && matches!(
                error.plugin_error(),
                Some(
                    crate::runtime::PluginError::AuthFailed(_)
                        | crate::runtime::PluginError::Unreachable(_)
                        | crate::runtime::PluginError::InvalidConfig(_)
                        | crate::runtime::PluginError::Unsupported(_)
                )
            );
        if !untouched {
            // Never revert what a new holder of the lock may be doing.
            if let Err(message) = self.check_lock() {
                note(report, &message);
                return Outcome::NeedsAttention;
            }
            let _ = self.step(Step::Revert, old, new, false).await;
        }
        if self.works(old, false).await {
            return self.roll_back(report, Outcome::Failed, new);
        }
        if set_failed && self.works(new, true).await {
            note(
                report,
                "the old password no longer logs in but the new one does, so the new one was stored: check the target",
            );
            return self.finish_or_attention(report, Outcome::Recovered, new);
        }
        if untouched {
            // Neither logs in and the plugin changed nothing: the stored
            // password was wrong already; nothing to keep pending.
            return self.roll_back(report, Outcome::Failed, new);
        }
        note(
            report,
            "neither the new password nor the old one logs in; both stay stored as pending (see `keeper get --unmask`)",
        );
        self.attention(report)
    }

    /// [`Ctx::finish`] with `outcome`, or needs attention when the vault
    /// write failed (the pending state stays).
    fn finish_or_attention(&self, report: &mut Report, outcome: Outcome, new: &str) -> Outcome {
        match self.finish(report, outcome, Zeroizing::new(new.to_string())) {
            Ok(()) => outcome,
            Err(message) => {
                note(report, &message);
                self.attention(report)
            }
        }
    }

    /// Clears the pending state whose new password is `new` (the old
    /// password works), auditing `outcome`.
    fn roll_back(&self, report: &mut Report, outcome: Outcome, new: &str) -> Outcome {
        let row = self.audit(report, outcome);
        match self
            .engine
            .with_vault(|v| v.clear_pending_rotation(self.lock, new, Some(&row)))
        {
            Ok(()) => outcome,
            Err(e) => {
                note(report, &e.to_string());
                self.attention(report)
            }
        }
    }

    /// Audits that the record needs attention.
    fn attention(&self, report: &Report) -> Outcome {
        let row = self.audit(report, Outcome::NeedsAttention);
        let _ = self.engine.with_vault(|v| v.append_audit(&row));
        Outcome::NeedsAttention
    }

    /// Resolves a pending rotation: new password first, then the old one.
    async fn resume(&self, pending: &PendingRotation, report: &mut Report) -> Outcome {
        *self
            .prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = pending
            .prepared
            .iter()
            .map(|f| Field {
                kind: f.kind.clone(),
                label: f.label.clone(),
                values: f.values.clone(),
            })
            .collect();
        if self.works(&pending.new_password, true).await {
            return self.finish_or_attention(report, Outcome::Completed, &pending.new_password);
        }
        if self.works(&pending.old_password, false).await {
            return self.roll_back(report, Outcome::RolledBack, &pending.new_password);
        }
        note(
            report,
            "neither the pending new password nor the old one logs in; both stay stored as pending (see `keeper get --unmask`)",
        );
        self.attention(report)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::vault::crypto::KdfParams;
    use crate::vault::model::RecordData;

    /// A record selected twice (linked into two folders, say) is rotated
    /// once, not by two racing rotations.
    #[test]
    fn a_record_selected_twice_is_rotated_once() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = secrecy::SecretString::from("pw");
        let mut vault = Vault::create(
            &dir.path().join("v.db"),
            "a@b.c",
            &secret,
            &KdfParams::insecure_fast(),
        )
        .expect("vault");
        let mut data = RecordData::new("login", "twice");
        data.set_field(false, "password", None, vec![json!("Old-pass-1")], 0);
        data.set_field(true, "text", Some("cmdr:plugin"), vec![json!("noop")], 0);
        let uid = vault.add_record(data, None).expect("add");
        let engine = Arc::new(
            Engine::new(
                vault,
                dir.path().join("plugins"),
                dir.path().join("cache"),
                dir.path().join("known_hosts"),
            )
            .expect("engine"),
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio");
        let targets = vec![(uid.clone(), None), (uid.clone(), None)];
        let reports = runtime.block_on(engine.rotate_all(targets, &Options::default(), 2, |_| {}));
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].outcome, Outcome::Rotated, "{reports:?}");
        let record = engine.with_vault(|v| v.record(&uid)).expect("record");
        assert_eq!(record.data.password_history.len(), 1, "one rotation");
        assert!(
            engine
                .with_vault(|v| v.pending_rotation(&uid))
                .expect("read")
                .is_none()
        );
    }
}
