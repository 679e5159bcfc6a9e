//! A native plugin's calls, checked like a sandboxed one's: the request
//! size, the answer's size and shape, its error kinds, its text redacted
//! and escaped; the fields a rotator returns go through the same checks
//! as a component's (`rotation.rs`, `material`), an importer's
//! description and batches too (`mod.rs`, `import.rs`). Only the sandbox
//! is missing.

use std::sync::{Arc, Mutex};

use super::import_secrets::ImportSecrets;
use super::{ImportItem, ImporterInfo, LoadedPlugin, PluginInfo, Pre, Rotation, wit};
use crate::runtime::Kind;
use crate::runtime::capability::input::InputSource;
use crate::runtime::error::Error;
use crate::runtime::native::abi::{ErrorJson, FieldJson, Method, PluginInfoJson, RotationRequest};
use crate::runtime::native::abi_import::{ImportMethod, ImporterInfoJson, ItemJson, StartRequest};
use crate::runtime::native::{self, Failure, NativePlugin};
use crate::runtime::redact::Redactor;
use crate::runtime::text::escaped;

impl LoadedPlugin {
    /// `describe` of a native rotator (checked by the caller like a
    /// component's description).
    pub(super) async fn describe_native(
        &self,
        library: &NativePlugin,
    ) -> Result<PluginInfo, Error> {
        self.native_describe::<PluginInfoJson>(library, Method::Describe.name())
            .await
            .map(Into::into)
    }

    /// `describe` of a native importer (likewise).
    pub(super) async fn describe_native_importer(
        &self,
        library: &NativePlugin,
    ) -> Result<ImporterInfo, Error> {
        self.native_describe::<ImporterInfoJson>(library, ImportMethod::Describe.name())
            .await
            .map(Into::into)
    }

    /// A `describe` call (`{}`), which cannot fail.
    async fn native_describe<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        library: &NativePlugin,
        method: &'static str,
    ) -> Result<T, Error> {
        let answer = library
            .call::<T>(
                method,
                native::request(&serde_json::json!({})),
                None,
                self.limits.timeout,
                self.limits.message_bytes,
            )
            .await;
        match answer {
            Ok(info) => Ok(info),
            Err(Failure::Plugin(error)) => Err(self.native_answer(&format!(
                "describe cannot fail, but it answered a {} error",
                error.kind
            ))),
            Err(failure) => Err(self.native_failure(failure, &Redactor::default())),
        }
    }

    /// Starts a native importer's import of `input` with the user's
    /// `options`; its words are redacted of `secrets`.
    pub(super) async fn start_native_import(
        &self,
        library: &NativePlugin,
        input: InputSource,
        options: &[(String, String)],
        secrets: &ImportSecrets,
    ) -> Result<NativeImport, Error> {
        let import = NativeImport {
            library: library.clone(),
            input: Arc::new(Mutex::new(input)),
            position: 0,
        };
        let answer = library
            .call::<()>(
                ImportMethod::Start.name(),
                native::request(&StartRequest { options }),
                Some(import.input.clone()),
                self.limits.timeout,
                self.limits.message_bytes,
            )
            .await;
        answer.map_err(|failure| self.native_failure(failure, &secrets.redactor()))?;
        Ok(import)
    }

    /// A native importer's next batch, or `None` when it is done; checked
    /// and redacted by the caller as a component's (`import.rs`), its
    /// failure redacted of `secrets`.
    pub(super) async fn native_batch(
        &self,
        import: &mut NativeImport,
        secrets: &ImportSecrets,
    ) -> Result<Option<Vec<ImportItem>>, Error> {
        let answer = import
            .library
            .call::<Option<Vec<ItemJson>>>(
                ImportMethod::NextBatch.name(),
                native::request(&serde_json::json!({})),
                Some(import.input.clone()),
                self.limits.timeout,
                // The batch limit, with room for JSON and base64.
                self.limits.batch_bytes.saturating_mul(2),
            )
            .await;
        // A call abandoned past its limit still holds the source.
        if let Ok(input) = import.input.try_lock() {
            import.position = input.position();
        }
        let Some(items) =
            answer.map_err(|failure| self.native_failure(failure, &secrets.redactor()))?
        else {
            return Ok(None);
        };
        Ok(Some(items.into_iter().map(Into::into).collect()))
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
            return Err(self.kind_mismatch(Kind::Rotator));
        };
        if self.manifest.kind != Kind::Rotator {
            return Err(self.kind_mismatch(Kind::Rotator));
        }
        let answer = library
            .call::<Option<Vec<FieldJson>>>(
                method.name(),
                native::request(&RotationRequest::from(request)),
                None,
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
    pub(super) fn native_failure(&self, failure: Failure, redactor: &Redactor) -> Error {
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

    pub(super) fn native_answer(&self, detail: &str) -> Error {
        Error::NativeAnswer {
            plugin: self.id(),
            detail: crate::runtime::capability::truncate(&escaped(detail), 1024),
        }
    }
}

/// A native importer's running import: its library and the source it
/// reads (`native/input.rs`), handed to each call.
pub(super) struct NativeImport {
    library: NativePlugin,
    input: Arc<Mutex<InputSource>>,
    position: u64,
}

impl NativeImport {
    /// Bytes of the source read so far (as of the last batch).
    pub(super) fn position(&self) -> u64 {
        self.position
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
