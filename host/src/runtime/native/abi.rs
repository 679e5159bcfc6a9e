//! The C ABI of a native plugin, versions [`ABI_VERSION`] (rotators) and
//! [`IMPORTER_ABI_VERSION`] (version 1 plus importers,
//! `abi_import.rs`): the "header" a native plugin is written against
//! (docs/plugin-authors.md, "Native plugins", repeats it in C). Version
//! 2 only adds: a rotator may say 1 or 2 and is called alike; an
//! importer must say 2.
//!
//! ```c
//! /* Checked before any other symbol is looked up: 1 or 2 (a rotator),
//!  * 2 (an importer). */
//! uint32_t keeper_native_abi_version(void);
//!
//! /* Runs `method` ("describe", "prepare", "rotate", "verify", "revert")
//!  * on a JSON request of `request_len` bytes. Returns a buffer the plugin
//!  * allocated holding the JSON response and stores its length in
//!  * *out_len; NULL means the plugin has no answer (a failure). */
//! uint8_t *keeper_native_call(const uint8_t *method, size_t method_len,
//!                             const uint8_t *request, size_t request_len,
//!                             size_t *out_len);
//!
//! /* Frees a buffer keeper_native_call returned (keeper has copied it). */
//! void keeper_native_free(uint8_t *buf, size_t len);
//! ```
//!
//! Requests: `describe` gets `{}`; the steps get a [`RotationRequest`]
//! (the WIT `rotation` record with snake_case keys). Responses are
//! `{"ok": VALUE}` or `{"error": {"kind": KIND, "message": TEXT}}`, KIND
//! one of the WIT `plugin-error` cases (`invalid-config`, `unreachable`,
//! `auth-failed`, `rejected`, `unsupported`, `malformed-input`,
//! `internal`). VALUE is a [`PluginInfoJson`] for `describe`, the fields
//! made (a list of [`FieldJson`], or `null`) for `prepare` and `rotate`,
//! and `null` (or `[]`) for `verify` and `revert`. The semantics are the
//! WIT 1.1 rotator's (`wit/since_v1.1.0/rotator.wit`).
//!
//! Calls into one library are serialised (its own lock, held for the
//! whole call, `library.rs`): a plugin need not be thread-safe. A call
//! that overruns its wall-clock limit is abandoned with its outcome
//! unknown (nothing is reverted after it; later calls wait for their
//! turn and are never made if their own limit passes first). Nothing may
//! unwind across these functions (C++ exceptions and `longjmp` are
//! undefined behaviour), and the version symbol must be a function.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::plugin::{Field, PluginInfo, Rotation};

/// The first ABI version: rotators (`keeper_native_call`).
pub const ABI_VERSION: u32 = 1;

/// Version 1 plus importers (`keeper_native_import`, `abi_import.rs`).
pub const IMPORTER_ABI_VERSION: u32 = 2;

/// `uint32_t keeper_native_abi_version(void)`.
pub const VERSION_SYMBOL: &str = "keeper_native_abi_version";

/// `uint8_t *keeper_native_call(...)`.
pub const CALL_SYMBOL: &str = "keeper_native_call";

/// `void keeper_native_free(uint8_t *, size_t)`.
pub const FREE_SYMBOL: &str = "keeper_native_free";

/// `uint8_t *keeper_native_import(...)` (ABI 2, importers).
pub const IMPORT_SYMBOL: &str = "keeper_native_import";

/// A call's method name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// What the plugin is (the answer is a [`PluginInfoJson`]).
    Describe,
    /// Material the plugin makes before the target is touched.
    Prepare,
    /// Set the new password on the target.
    Rotate,
    /// Log in with the new password.
    Verify,
    /// Put the old password back.
    Revert,
}

impl Method {
    /// The name sent to `keeper_native_call`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Describe => "describe",
            Method::Prepare => "prepare",
            Method::Rotate => "rotate",
            Method::Verify => "verify",
            Method::Revert => "revert",
        }
    }
}

/// A record field, as the WIT `field`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldJson {
    /// Field type (`password`, `text`, …).
    pub kind: String,
    /// Its label, if any.
    #[serde(default)]
    pub label: Option<String>,
    /// Its values (complex ones as JSON text).
    #[serde(default)]
    pub values: Vec<String>,
}

/// A field borrowed for a request.
#[derive(Serialize)]
struct FieldRef<'a> {
    kind: &'a str,
    label: Option<&'a str>,
    values: &'a [String],
}

fn fields(list: &[Field]) -> Vec<FieldRef<'_>> {
    list.iter()
        .map(|f| FieldRef {
            kind: &f.kind,
            label: f.label.as_deref(),
            values: &f.values,
        })
        .collect()
}

/// The record as the plugin is shown it (only the fields it may see).
#[derive(Serialize)]
struct RecordRef<'a> {
    uid: &'a str,
    title: &'a str,
    record_type: &'a str,
    fields: Vec<FieldRef<'a>>,
    custom: Vec<FieldRef<'a>>,
    notes: Option<&'a str>,
}

/// The record's target, resolved and pinned by keeper.
#[derive(Serialize)]
struct TargetRef<'a> {
    host: &'a str,
    port: u16,
    address: &'a str,
}

/// A step's request: the WIT `rotation` record, borrowed.
#[derive(Serialize)]
pub struct RotationRequest<'a> {
    record: RecordRef<'a>,
    target: Option<TargetRef<'a>>,
    params: BTreeMap<&'a str, &'a str>,
    login: &'a str,
    old_password: &'a str,
    new_password: &'a str,
    prepared: Vec<FieldRef<'a>>,
}

impl<'a> From<&'a Rotation> for RotationRequest<'a> {
    fn from(r: &'a Rotation) -> Self {
        Self {
            record: RecordRef {
                uid: &r.record.uid,
                title: &r.record.title,
                record_type: &r.record.record_type,
                fields: fields(&r.record.fields),
                custom: fields(&r.record.custom),
                notes: r.record.notes.as_deref(),
            },
            target: r.target.as_ref().map(|t| TargetRef {
                host: &t.host,
                port: t.port,
                address: &t.address,
            }),
            params: r
                .params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            login: &r.login,
            old_password: &r.old_password,
            new_password: &r.new_password,
            prepared: fields(&r.prepared),
        }
    }
}

/// `describe`'s answer, as the WIT 1.1 `plugin-info`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInfoJson {
    /// The plugin's name.
    pub name: String,
    /// One line on what it rotates.
    #[serde(default)]
    pub summary: String,
    /// The target's default port.
    #[serde(default)]
    pub default_port: Option<u16>,
    /// `cmdr:` parameters a record must have.
    #[serde(default)]
    pub required_params: Vec<String>,
    /// Characters the target refuses in a password.
    #[serde(default)]
    pub disallowed_chars: String,
    /// The longest password the target takes.
    #[serde(default)]
    pub max_length: Option<u32>,
    /// Record fields it must be shown (as the manifest's `[fields]`).
    #[serde(default)]
    pub needs: Vec<String>,
    /// Record fields it may return (likewise).
    #[serde(default)]
    pub owns: Vec<String>,
    /// Whether `verify` checks a password (the manifest's `checks-passwords`).
    #[serde(default = "yes")]
    pub checks_passwords: bool,
}

fn yes() -> bool {
    true
}

impl From<PluginInfoJson> for PluginInfo {
    fn from(i: PluginInfoJson) -> Self {
        PluginInfo {
            name: i.name,
            summary: i.summary,
            default_port: i.default_port,
            required_params: i.required_params,
            disallowed_chars: i.disallowed_chars,
            max_length: i.max_length,
            needs: i.needs,
            owns: i.owns,
            checks_passwords: i.checks_passwords,
        }
    }
}

impl From<FieldJson> for Field {
    fn from(f: FieldJson) -> Self {
        Field {
            kind: f.kind,
            label: f.label,
            values: f.values,
        }
    }
}

/// A plugin's own error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorJson {
    /// The WIT `plugin-error` case, kebab-case.
    pub kind: String,
    /// What went wrong (never a secret; keeper redacts it anyway).
    #[serde(default)]
    pub message: String,
}

/// Any answer: `{"ok": T}` or `{"error": {...}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Response<T> {
    /// The call succeeded.
    Ok(T),
    /// The plugin's own error.
    Error(ErrorJson),
}
