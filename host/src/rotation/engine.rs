//! The rotation engine: loads the rotator plugins, schedules records
//! ([`Engine::rotate_all`]: at most [`MAX_PARALLEL`] at once, staged a
//! little ahead), makes each pending state durable by group commit, and
//! runs each record's staged protocol ([`super::protocol`]) under its lock.
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

use secrecy::ExposeSecret as _;

use super::commit::SharedVault;
use super::error::RotationError;
use super::lock::Locks;
use super::options::{Options, requested_length};
use super::params::{self, Resolved};
use super::password::{self, Constraints, RuleError, Rules};
use super::protocol::{Backend, Ctx};
use super::report::{Outcome, Plan, Report, audit_row, native_label, target_label};
use super::view;
use crate::runtime::{ArtifactCache, Error as RuntimeError, PinnedTarget, Runtime, registry};
use crate::vault::{Vault, VaultError};

/// Most records `rotate_all` works on at once. With the two it stages
/// ahead, each holds one plugin sandbox: 18 sandboxes fit the runtime's
/// pool even for plugins at its per-component maxima (4 memories, 16 core
/// instances each; `runtime::pool`).
pub const MAX_PARALLEL: usize = 16;

/// The built-in plugin that changes the password in the vault only.
pub const NOOP: &str = "noop";

/// Rotates records of one vault.
pub struct Engine {
    vault: SharedVault,
    runtime: Runtime,
    plugin_dir: PathBuf,
    known_hosts: PathBuf,
    backends: tokio::sync::Mutex<HashMap<String, Arc<Backend>>>,
    /// The records' rotation locks this process holds.
    locks: Locks,
}

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
            vault: SharedVault::new(vault),
            runtime: Runtime::new(ArtifactCache::new(cache_dir))?,
            plugin_dir,
            known_hosts,
            backends: tokio::sync::Mutex::default(),
        })
    }

    /// The same engine loading native (unsandboxed) plugins or not: the
    /// configuration's `native_plugins` (off by default).
    #[must_use]
    pub fn with_native_plugins(mut self, allowed: bool) -> Self {
        self.runtime = self.runtime.with_native_plugins(allowed);
        self
    }

    /// Runs `f` on the vault (short, synchronous critical sections only).
    pub fn with_vault<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> R {
        self.vault.with(f)
    }

    async fn backend(&self, name: &str) -> Result<Arc<Backend>, RuntimeError> {
        let mut backends = self.backends.lock().await;
        if let Some(b) = backends.get(name) {
            return Ok(b.clone());
        }
        let package = registry::find(&self.plugin_dir, name)?;
        let plugin = self.runtime.load(&package)?;
        let info = plugin.describe_rotator().await?;
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
                    if b.plugin.is_native() {
                        plan.plugin = native_label(&plan.plugin);
                    }
                    let port = resolved.port.or(b.info.default_port);
                    plan.target = target_label(resolved.host.as_deref(), port);
                    if let Err(e) = params::check_required(&resolved, &b.info.required_params) {
                        plan.status = e.to_string();
                    }
                    let max = b.info.max_length.map(|m| m as usize);
                    if let Err(e) = planned_length_ok(options, &resolved, max) {
                        plan.status = e.to_string();
                    }
                }
                Err(e) => plan.status = e.to_string(),
            }
        } else if let Err(e) = planned_length_ok(options, &resolved, None) {
            plan.status = e.to_string();
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
        if let Err(error) = early {
            report.outcome = Outcome::Failed;
            report.message = Some(error.to_string());
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
    ) -> Result<(), RotationError> {
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
            Err(e) => return Err(e.into()),
        };
        let record = self.with_vault(|v| v.record(uid))?;
        report.title = record.data.title.clone();
        if !record.can_edit {
            return Err(RotationError::NotEditable);
        }
        // A pending rotation resumes with the plugin that started it (a
        // crashed `rotate --plugin X`), unless this command names one.
        let pending = self.with_vault(|v| v.pending_rotation(uid))?;
        let mut overrides = options.overrides.clone();
        if overrides.plugin.is_none() {
            overrides.plugin = pending
                .as_ref()
                .map(|p| p.plugin.clone())
                .filter(|p| !p.is_empty());
        }
        let resolved = params::resolve(&view::record_view(&record), endpoint, &overrides)?;
        report.plugin = resolved.plugin.clone();
        let backend = if resolved.plugin == NOOP {
            None
        } else {
            match self.backend(&resolved.plugin).await {
                Ok(backend) => Some(backend),
                Err(error) => {
                    // Refused at load, it is still labelled in the audit.
                    report.native = error.is_native();
                    return Err(error.into());
                }
            }
        };
        report.native = backend.as_ref().is_some_and(|b| b.plugin.is_native());
        let info = backend.as_ref().map(|b| b.info.clone());
        let port = resolved.port.or(info.as_ref().and_then(|i| i.default_port));
        report.target = target_label(resolved.host.as_deref(), port);
        if let Some(info) = &info {
            params::check_required(&resolved, &info.required_params)?;
        }
        let target = match (&backend, &resolved.host, port) {
            (Some(_), Some(host), Some(port)) => {
                Some(PinnedTarget::resolve(host, port).await.map_err(|error| {
                    RotationError::Resolve {
                        host: host.clone(),
                        port,
                        error,
                    }
                })?)
            }
            _ => None,
        };
        let ctx = Ctx {
            vault: &self.vault,
            known_hosts: &self.known_hosts,
            backend: backend.as_deref(),
            record: &record,
            resolved: &resolved,
            target,
            uid,
            lock: guard.lock(),
            prepared: Mutex::default(),
            gate,
            permit: Mutex::default(),
        };

        // A pending rotation is resolved first: new password, then old.
        if let Some(pending) = pending {
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

/// Whether the new password would be long enough (`plan`).
fn planned_length_ok(
    options: &Options,
    resolved: &Resolved,
    max_length: Option<usize>,
) -> Result<(), RuleError> {
    let min = options.min_length.unwrap_or(password::MIN_LENGTH);
    if let Some(p) = &options.password {
        return password::check_min_length(
            min,
            p.expose_secret().chars().count(),
            "the password given",
        );
    }
    let rules = match options.rules.as_deref().or(resolved.rules.as_deref()) {
        Some(text) => Rules::parse(text)?,
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
