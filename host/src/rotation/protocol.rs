//! The staged rotation protocol of one record: never lose a working password.
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
//! The engine ([`super::engine`]) runs it under the record's lock.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use super::commit::SharedVault;
use super::error::RotationError;
use super::fault;
use super::options::{Options, requested_length};
use super::params::{self, Resolved};
use super::password::{self, Constraints, Rules};
use super::report::{Outcome, Report, audit_row, note};
use super::view;
use crate::runtime::capability::ssh::SshSettings;
use crate::runtime::plugin::{Field, PluginInfo, Rotation, Target};
use crate::runtime::{
    CallContext, Error as RuntimeError, LoadedPlugin, PinnedTarget, RotationSession, Step,
};
use crate::vault::model::{PendingRotation, PreparedField, Record, now_ms};
use crate::vault::store::AuditRow;
use crate::vault::{RotationLock, VaultError};

/// A loaded rotator plugin with its self-description.
pub(super) struct Backend {
    /// The plugin.
    pub(super) plugin: LoadedPlugin,
    /// What its `describe` said.
    pub(super) info: PluginInfo,
}

/// One record's rotation in progress.
pub(super) struct Ctx<'a> {
    /// The vault, shared with the other records' rotations.
    pub(super) vault: &'a SharedVault,
    /// The SSH `known_hosts` file.
    pub(super) known_hosts: &'a Path,
    /// The rotator, or `None` for the vault-only `noop`.
    pub(super) backend: Option<&'a Backend>,
    /// The record as read under its lock.
    pub(super) record: &'a Record,
    /// Its rotation parameters.
    pub(super) resolved: &'a Resolved,
    /// The target's pinned address, if it has one.
    pub(super) target: Option<PinnedTarget>,
    /// The record's uid.
    pub(super) uid: &'a str,
    /// This record's rotation lock, held while it is worked on.
    pub(super) lock: &'a Arc<RotationLock>,
    /// Material from the plugin's `prepare` (fresh rotation) or from the
    /// pending state (resume), then what `rotate` generated; sent with
    /// rotate, verify of the new credentials and revert, never with a
    /// check of the old ones.
    pub(super) prepared: Mutex<Vec<Field>>,
    /// Limits how many records work on their targets at once.
    pub(super) gate: Option<Arc<tokio::sync::Semaphore>>,
    /// This record's place under `gate`, once it has one.
    pub(super) permit: Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
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
            secrets: [old, new]
                .into_iter()
                .chain(
                    self.resolved
                        .params
                        .iter()
                        .filter(|(k, v)| params::is_secret_param(k) && !v.is_empty())
                        .map(|(_, v)| v.as_str()),
                )
                .map(|s| Zeroizing::new(s.to_string()))
                .collect(),
            http_origins: self.resolved.http_origin.clone().map(|o| vec![o]),
            ssh: SshSettings {
                known_hosts: Some(self.known_hosts.to_path_buf()),
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
    ) -> Result<Vec<Field>, RuntimeError> {
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
    ) -> Result<Vec<Field>, RuntimeError> {
        match self.backend {
            None => Ok(Vec::new()),
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
    ) -> Result<Vec<Field>, RuntimeError> {
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
        self.check(password, new).await == Check::Works
    }

    /// [`Ctx::works`], telling "no" from "cannot tell": a plugin whose
    /// target has no way to check a password (AWS IAM console passwords,
    /// Azure AD) answers `verify` with `Unsupported` once it has checked
    /// what it can. Such a plugin sets passwords without the old one, so
    /// setting one again is safe and settles what a check cannot.
    async fn check(&self, password: &str, new: bool) -> Check {
        match self
            .step_with(Step::Verify, password, password, false, new)
            .await
        {
            Ok(_) => Check::Works,
            Err(e) if self.cannot_check(&e) => Check::CannotTell,
            Err(_) => Check::Fails,
        }
    }

    /// Waits for a place under the gate before the target is touched; the
    /// report's time starts there.
    pub(super) async fn enter(&self, report: &mut Report) {
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

    /// A fresh rotation: create, set, test, finish (recovering on failure).
    pub(super) async fn fresh(
        &self,
        options: &Options,
        info: Option<&PluginInfo>,
        report: &mut Report,
    ) -> Result<(), RotationError> {
        let constraints = Constraints {
            disallowed: info.map(|i| i.disallowed_chars.clone()).unwrap_or_default(),
            max_length: info.and_then(|i| i.max_length).map(|m| m as usize),
        };
        // Too short a password is refused before anything is touched.
        let min = options.min_length.unwrap_or(password::MIN_LENGTH);
        let new_password = match &options.password {
            Some(p) => {
                let p = p.expose_secret();
                password::check_supplied(p, &constraints)?;
                password::check_min_length(min, p.chars().count(), "the password given")?;
                Zeroizing::new(p.to_string())
            }
            None => {
                let rules = match options.rules.as_deref().or(self.resolved.rules.as_deref()) {
                    Some(text) => Rules::parse(text)?,
                    None => Rules::default(),
                };
                let length = requested_length(options, self.resolved);
                password::check_planned_length(min, &rules, length, &constraints)?;
                password::generate(&rules, length.map(|(n, _)| n), &constraints)?
            }
        };
        let old_password = self.resolved.password.clone();
        if *new_password == *old_password {
            return Err(RotationError::SamePassword);
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
                    .map_err(RotationError::Prepare)?,
            ),
        };
        let prepared = match &mut session {
            None => Vec::new(),
            Some(session) => session
                .prepare(&self.request(&old_password, &new_password, false))
                .await
                .map_err(RotationError::Prepare)?,
        };
        let pending = PendingRotation {
            new_password: new_password.clone(),
            old_password: Zeroizing::new(old_password.to_string()),
            plugin: report.plugin.clone(),
            target: report.target.clone(),
            started: now_ms(),
            prepared: prepared.iter().map(prepared_field).collect(),
            keeps_password: !self.sets_password(),
        };
        *self
            .prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = prepared;
        self.vault.store_pending(self.lock, pending).await?;
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
        let generated = match set {
            Ok(generated) => generated,
            Err(error) => {
                report.message = Some(error.to_string());
                report.outcome = self
                    .recover((&old_password, &new_password), &error, true, report)
                    .await;
                return Ok(());
            }
        };
        if let Err(e) = self.keep_generated(&new_password, generated) {
            report.message = Some(format!(
                "the credentials the target generated could not be stored: {e}"
            ));
            note(
                report,
                "the new password is set and stays pending with the old one (`keeper rotate --resume`)",
            );
            report.outcome = self.attention(report);
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
            if self.cannot_check(&error) {
                // The target accepted the new password and the plugin
                // checked all it could (e.g. the account exists).
                note(report, &format!("not verified: {}", error_text(&error)));
                fault::point("after-verify");
                report.outcome = self.finish_or_attention(report, Outcome::Rotated, &new_password);
                fault::point("after-finish");
                return Ok(());
            }
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
    fn check_lock(&self) -> Result<(), VaultError> {
        match self.vault.with(|v| v.holds_rotation_lock(self.lock)) {
            Ok(true) => Ok(()),
            Ok(false) => Err(VaultError::LockLost(self.uid.to_string())),
            Err(e) => Err(e),
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
    ) -> Result<(), RotationError> {
        report.outcome = outcome;
        let row = self.audit(report, outcome);
        self.vault
            .with(|v| v.complete_rotation(self.lock, &new_password, &row))
            .map_err(|error| RotationError::NotSaved { error })?;
        // A password that only named the rotation is not one to print.
        report.new_password = self.sets_password().then_some(new_password);
        Ok(())
    }

    /// Whether the rotation makes the new password the record's: unless
    /// the plugin's manifest says `sets-password = false` (what it rotates
    /// is the material its `rotate` returns, e.g. an AWS access key).
    fn sets_password(&self) -> bool {
        self.backend
            .is_none_or(|b| b.plugin.manifest().sets_password)
    }

    /// After a failed set (`set_failed`) or test. After a failed test,
    /// finish if the new password works after all. Otherwise put the old
    /// password back: revert (unless a failed set's error says the plugin
    /// changed nothing) and roll back if the old password logs in. Only if
    /// it does not but the new one does is the new one stored, as
    /// [`Outcome::Recovered`]: a failed `rotate` is never reported
    /// rotated. If neither logs in, both stay pending, as they do when
    /// the outcome is unknown (a native call that timed out). `report.message`
    /// already says what failed; this adds what was done about it.
    async fn recover(
        &self,
        (old, new): (&str, &str),
        error: &RuntimeError,
        set_failed: bool,
        report: &mut Report,
    ) -> Outcome {
        if error.outcome_unknown() {
            // A native call that overran cannot be stopped: it may still
            // set the new password after a revert (a lockout), so nothing
            // is reverted or rolled back.
            note(
                report,
                "its call may still be running, so nothing was reverted: both passwords stay pending for `keeper rotate --resume`",
            );
            return self.attention(report);
        }
        if !set_failed {
            match self.check(new, true).await {
                Check::Works => return self.finish_or_attention(report, Outcome::Rotated, new),
                // The set was acknowledged, and only a check could say
                // otherwise: the new password is the one in force.
                Check::CannotTell => {
                    note(
                        report,
                        "the target accepted the new password, which cannot be checked; it was stored",
                    );
                    return self.finish_or_attention(report, Outcome::Rotated, new);
                }
                Check::Fails => {}
            }
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
            if let Err(e) = self.check_lock() {
                note(report, &e.to_string());
                return Outcome::NeedsAttention;
            }
            let reverted = self.step(Step::Revert, old, new, false).await.is_ok();
            if reverted && self.check(old, false).await == Check::CannotTell {
                // A plugin that cannot check set the old password back.
                return self.roll_back(report, Outcome::Failed, new);
            }
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
            Err(e) => {
                note(report, &e.to_string());
                self.attention(report)
            }
        }
    }

    /// Clears the pending state whose new password is `new` (the old
    /// password works), auditing `outcome`.
    fn roll_back(&self, report: &mut Report, outcome: Outcome, new: &str) -> Outcome {
        let row = self.audit(report, outcome);
        match self
            .vault
            .with(|v| v.clear_pending_rotation(self.lock, new, Some(&row)))
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
        let _ = self.vault.with(|v| v.append_audit(&row));
        Outcome::NeedsAttention
    }

    /// Resolves a pending rotation: new password first, then the old one.
    pub(super) async fn resume(&self, pending: &PendingRotation, report: &mut Report) -> Outcome {
        *self
            .prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = pending
            .prepared
            .iter()
            .map(|f| Field {
                kind: f.kind.clone(),
                label: f.label.clone(),
                values: f.values.to_vec(),
            })
            .collect();
        match self.check(&pending.new_password, true).await {
            Check::Works => {
                return self.finish_or_attention(report, Outcome::Completed, &pending.new_password);
            }
            Check::CannotTell => return self.reapply(pending, report).await,
            Check::Fails => {}
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

    /// Whether `verify` failed because the target offers no way to check a
    /// password: `Unsupported` from a plugin whose manifest says
    /// `checks-passwords = false`. From any other plugin, `Unsupported` is
    /// a failure like the rest.
    fn cannot_check(&self, error: &RuntimeError) -> bool {
        self.backend
            .is_some_and(|b| !b.plugin.manifest().checks_passwords)
            && matches!(
                error.plugin_error(),
                Some(crate::runtime::PluginError::Unsupported(_))
            )
    }

    /// Resumes for a plugin that cannot check a password: sets the pending
    /// new one again (a set needs no old password, so this is safe whatever
    /// a crash left), then finishes. If the set fails, which password is in
    /// force is unknown: both stay pending.
    async fn reapply(&self, pending: &PendingRotation, report: &mut Report) -> Outcome {
        if let Err(e) = self.check_lock() {
            note(report, &e.to_string());
            return Outcome::NeedsAttention;
        }
        self.enter(report).await;
        match self
            .step(
                Step::Rotate,
                &pending.old_password,
                &pending.new_password,
                false,
            )
            .await
        {
            Ok(generated) => {
                if let Err(e) = self.keep_generated(&pending.new_password, generated) {
                    note(
                        report,
                        &format!("the credentials the target generated could not be stored: {e}"),
                    );
                    return self.attention(report);
                }
                note(
                    report,
                    "the plugin cannot check a password: the pending new one was set again",
                );
                self.finish_or_attention(report, Outcome::Completed, &pending.new_password)
            }
            Err(e) => {
                note(
                    report,
                    &format!(
                        "setting the pending new password again failed ({}); both stay stored as pending (see `keeper get --unmask`)",
                        error_text(&e)
                    ),
                );
                self.attention(report)
            }
        }
    }
}

impl Ctx<'_> {
    /// Stores what `rotate` returned (credentials the target generated)
    /// with the pending rotation whose new password is `new`, durably,
    /// and sends it with the steps that follow; it replaces material of the
    /// same type and label. If keeper stops before, it is lost (the WIT says
    /// so: a retried `rotate` must be able to make it again).
    fn keep_generated(&self, new: &str, generated: Vec<Field>) -> Result<(), VaultError> {
        if generated.is_empty() {
            return Ok(());
        }
        // The target made material that keeper has not stored yet: a crash
        // here loses it, and a retried `rotate` must cope (awskey's tests).
        fault::point("before-material");
        let material: Vec<PreparedField> = generated.iter().map(prepared_field).collect();
        self.vault.store_material(self.lock, new, &material)?;
        let mut prepared = self
            .prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for field in generated {
            prepared.retain(|p| p.kind != field.kind || p.label != field.label);
            prepared.push(field);
        }
        Ok(())
    }
}

/// A plugin's field as pending material.
fn prepared_field(f: &Field) -> PreparedField {
    PreparedField {
        kind: f.kind.clone(),
        label: f.label.clone(),
        values: Zeroizing::new(f.values.clone()),
    }
}

/// What a check of a password says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// It logs in.
    Works,
    /// It does not.
    Fails,
    /// The plugin cannot check passwords on its target.
    CannotTell,
}

/// A plugin error's own words (escaped by the report), or the runtime's.
fn error_text(error: &RuntimeError) -> String {
    error
        .plugin_error()
        .map_or_else(|| error.to_string(), |e| e.message().to_string())
}
