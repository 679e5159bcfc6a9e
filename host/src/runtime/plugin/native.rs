//! A native rotator's calls, checked like a sandboxed one's: the request
//! size, the answer's size and shape, its error kinds, its text redacted
//! and escaped; the fields it returns go through the same checks as a
//! component's (`rotation.rs`, `material`). Only the sandbox is missing.

use super::{LoadedPlugin, PluginInfo, Pre, Rotation, wit};
use crate::runtime::error::Error;
use crate::runtime::native::abi::{ErrorJson, FieldJson, Method, PluginInfoJson, RotationRequest};
use crate::runtime::native::{self, Failure, NativeRotator};
use crate::runtime::redact::Redactor;
use crate::runtime::text::escaped;

impl LoadedPlugin {
    /// `describe` of a native rotator (checked by the caller like a
    /// component's description).
    pub(super) async fn describe_native(
        &self,
        library: &NativeRotator,
    ) -> Result<PluginInfo, Error> {
        let answer = library
            .call::<PluginInfoJson>(
                Method::Describe,
                native::request(&serde_json::json!({})),
                self.limits.timeout,
                self.limits.message_bytes,
            )
            .await;
        match answer {
            Ok(info) => Ok(info.into()),
            Err(Failure::Plugin(error)) => Err(self.native_answer(&format!(
                "describe cannot fail, but it answered a {} error",
                error.kind
            ))),
            Err(failure) => Err(self.native_failure(failure, &Redactor::default())),
        }
    }

    /// One step of a native rotator; a failure other than the plugin's own
    /// error sets `poisoned`, as a trap does in a sandbox.
    pub(super) async fn native_step(
        &self,
        method: Method,
        request: &Rotation,
        redactor: &Redactor,
        poisoned: &mut bool,
    ) -> Result<Vec<wit::Field>, Error> {
        let Pre::Native(library) = &self.pre else {
            return Err(self.kind_mismatch(crate::runtime::Kind::Rotator));
        };
        let answer = library
            .call::<Option<Vec<FieldJson>>>(
                method,
                native::request(&RotationRequest::from(request)),
                self.limits.timeout,
                self.limits.message_bytes,
            )
            .await;
        *poisoned = matches!(
            answer,
            Err(Failure::Timeout | Failure::Malformed(_) | Failure::TooLarge(_))
        );
        let fields: Vec<wit::Field> = match answer {
            Ok(fields) => fields
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            Err(failure) => return Err(self.native_failure(failure, redactor)),
        };
        if !fields.is_empty() && matches!(method, Method::Verify | Method::Revert) {
            *poisoned = true;
            return Err(self.native_answer(&format!(
                "{} returns no fields, but it returned {}",
                method.name(),
                fields.len()
            )));
        }
        Ok(fields)
    }

    /// A failed native call as keeper's error, its text redacted and escaped.
    fn native_failure(&self, failure: Failure, redactor: &Redactor) -> Error {
        match failure {
            Failure::Plugin(error) => match plugin_error(error) {
                Ok(error) => self.plugin_error_with(error, redactor, &[], &[]),
                Err(kind) => {
                    self.native_answer(&format!("unknown error kind {:?}", redactor.redact(&kind)))
                }
            },
            Failure::Timeout => Error::NativeTimeout {
                plugin: self.id(),
                secs: self.limits.timeout.as_secs(),
            },
            Failure::TooLarge(bytes) => Error::ResultTooLarge {
                plugin: self.id(),
                what: "an answer",
                bytes,
                limit: self.limits.message_bytes,
            },
            Failure::Malformed(detail) => self.native_answer(&redactor.redact(&detail)),
        }
    }

    fn native_answer(&self, detail: &str) -> Error {
        Error::NativeAnswer {
            plugin: self.id(),
            detail: crate::runtime::capability::truncate(&escaped(detail), 1024),
        }
    }
}

/// The WIT error a native plugin's `{kind, message}` names, or the
/// unknown kind.
fn plugin_error(error: ErrorJson) -> Result<wit::PluginError, String> {
    let ErrorJson { kind, message } = error;
    Ok(match kind.as_str() {
        "invalid-config" => wit::PluginError::InvalidConfig(message),
        "unreachable" => wit::PluginError::Unreachable(message),
        "auth-failed" => wit::PluginError::AuthFailed(message),
        "rejected" => wit::PluginError::Rejected(message),
        "unsupported" => wit::PluginError::Unsupported(message),
        "malformed-input" => wit::PluginError::MalformedInput(message),
        "internal" => wit::PluginError::Internal(message),
        _ => return Err(kind),
    })
}
