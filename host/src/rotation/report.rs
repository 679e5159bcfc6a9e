//! What `keeper rotate` reports: how each record's rotation ended
//! ([`Outcome`], [`Report`]), what `--dry-run` would do ([`Plan`]), and the
//! audit entry an outcome writes.

use std::time::Instant;

use zeroize::Zeroizing;

use crate::vault::model::now_ms;
use crate::vault::store::AuditRow;

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
    pub password: Option<Zeroizing<String>>,
    /// The plugin is native (unsandboxed): audit entries say so.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub native: bool,
    /// The new password once stored (for `--print`).
    #[serde(skip)]
    pub(crate) new_password: Option<Zeroizing<String>>,
    /// When the work on the target began (after waiting for a slot).
    #[serde(skip)]
    pub(super) started: Instant,
}

impl Report {
    /// A report for `uid` before anything happened (a failure until told
    /// otherwise).
    pub(super) fn new(uid: &str) -> Self {
        Self {
            uid: uid.to_string(),
            title: String::new(),
            plugin: String::new(),
            target: String::new(),
            outcome: Outcome::Failed,
            duration_ms: 0,
            message: None,
            password: None,
            native: false,
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

/// How a native plugin's name is shown: in `--dry-run` plans, reports and
/// audit entries.
pub fn native_label(name: &str) -> String {
    format!("{name} (native, unsandboxed)")
}

/// Adds `text` to the report's message.
pub(super) fn note(report: &mut Report, text: &str) {
    report.message = Some(match report.message.take() {
        Some(message) => format!("{message}; {text}"),
        None => text.to_string(),
    });
}

/// `host:port`, `host`, or empty.
pub(super) fn target_label(host: Option<&str>, port: Option<u16>) -> String {
    match (host, port) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

/// The audit entry of `uid`'s rotation ending in `outcome`.
pub(super) fn audit_row(uid: &str, report: &Report, outcome: Outcome) -> AuditRow {
    AuditRow {
        tenant_uid: String::new(),
        record_uid: uid.to_string(),
        plugin: if report.native {
            native_label(&report.plugin)
        } else {
            report.plugin.clone()
        },
        target: report.target.clone(),
        outcome: outcome.audit().to_string(),
        duration_ms: report.started.elapsed().as_millis() as i64,
        at: now_ms(),
    }
}
