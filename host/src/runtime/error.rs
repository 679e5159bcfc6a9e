//! Typed errors of the plugin runtime: loading, policy and calls.
//!
//! Every call failure names the plugin (`name version`) and says what to do
//! where there is something to do. None of them ever carries a secret: plugin
//! messages are redacted before they get here.

use std::fmt;

use semver::Version;

/// Why a plugin failed, as the plugin itself reported it (the WIT
/// `plugin-error` variant).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginError {
    /// The record or parameters are wrong or incomplete.
    InvalidConfig(String),
    /// The target could not be reached.
    Unreachable(String),
    /// The target refused the credentials.
    AuthFailed(String),
    /// The target refused the request.
    Rejected(String),
    /// Not supported by this plugin.
    Unsupported(String),
    /// The import source is malformed.
    MalformedInput(String),
    /// A bug inside the plugin.
    Internal(String),
}

impl PluginError {
    /// The message, without the category.
    pub fn message(&self) -> &str {
        match self {
            PluginError::InvalidConfig(m)
            | PluginError::Unreachable(m)
            | PluginError::AuthFailed(m)
            | PluginError::Rejected(m)
            | PluginError::Unsupported(m)
            | PluginError::MalformedInput(m)
            | PluginError::Internal(m) => m,
        }
    }

    /// A short category name (`auth-failed`, ...), for tables and JSON.
    pub fn category(&self) -> &'static str {
        match self {
            PluginError::InvalidConfig(_) => "invalid-config",
            PluginError::Unreachable(_) => "unreachable",
            PluginError::AuthFailed(_) => "auth-failed",
            PluginError::Rejected(_) => "rejected",
            PluginError::Unsupported(_) => "unsupported",
            PluginError::MalformedInput(_) => "malformed-input",
            PluginError::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            PluginError::InvalidConfig(_) => "invalid configuration",
            PluginError::Unreachable(_) => "target unreachable",
            PluginError::AuthFailed(_) => "authentication failed",
            PluginError::Rejected(_) => "rejected by the target",
            PluginError::Unsupported(_) => "unsupported",
            PluginError::MalformedInput(_) => "malformed input",
            PluginError::Internal(_) => "internal plugin error",
        };
        write!(f, "{what}: {}", self.message())
    }
}

/// Errors of the plugin runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `plugin.toml` is malformed or invalid.
    #[error("invalid plugin manifest: {0}")]
    Manifest(String),
    /// The component (or native library) does not match the manifest's sha256.
    #[error(
        "plugin {plugin}: {what} sha256 {actual} does not match the manifest's {expected}; the file was changed or corrupted, do not install it"
    )]
    Sha256Mismatch {
        /// The plugin (name and version).
        plugin: String,
        /// `component`, or `library` for a native plugin.
        what: &'static str,
        /// The manifest's sha256.
        expected: String,
        /// The component's sha256.
        actual: String,
    },
    /// An installed plugin has no sha256 in its manifest.
    #[error("plugin {plugin}: the manifest has no sha256; package it with `keeper plugin package`")]
    MissingSha256 {
        /// The plugin (name and version).
        plugin: String,
    },
    /// The component (or native library) changed since the user granted
    /// its capabilities.
    #[error(
        "plugin {plugin}: the {what} changed since its capabilities were granted; reinstall it with `keeper plugin install`"
    )]
    GrantMismatch {
        /// The plugin (name and version).
        plugin: String,
        /// `component`, or `library` for a native plugin.
        what: &'static str,
    },
    /// The manifest's `[limits]` or `[fields]` changed since the user
    /// granted them.
    #[error(
        "plugin {plugin}: its {section} changed since they were granted; reinstall it with `keeper plugin install` to grant them"
    )]
    GrantOutdated {
        /// The plugin (name and version).
        plugin: String,
        /// What changed: `[limits]` or `[fields]`.
        section: &'static str,
    },
    /// A plugin file is a link, a device, a FIFO or otherwise not a
    /// regular file (or folder).
    #[error("refusing {path}: it is {reason}")]
    UnsafeFile {
        /// The file refused.
        path: std::path::PathBuf,
        /// What it is instead of a regular file.
        reason: &'static str,
    },
    /// A plugin file is larger than keeper reads.
    #[error("refusing {path}: {bytes} bytes, over the {limit} byte limit")]
    FileTooLarge {
        /// The file refused.
        path: std::path::PathBuf,
        /// Its size.
        bytes: u64,
        /// The most keeper reads.
        limit: u64,
    },
    /// The component exports another kind than the manifest says.
    #[error("plugin {plugin}: the manifest says {expected} but the component exports {found}")]
    WrongKind {
        /// The plugin (name and version).
        plugin: String,
        /// The kind the manifest says.
        expected: String,
        /// The kind the component exports.
        found: String,
    },
    /// The plugin needs an API version this host does not support.
    #[error(
        "plugin {plugin} needs plugin API {requested}; this keeper supports {supported} (same major version, minor not newer); upgrade keeper or use a plugin built for API {supported}"
    )]
    UnsupportedApiVersion {
        /// The plugin (name and version).
        plugin: String,
        /// The API version the plugin needs.
        requested: Version,
        /// The API version this keeper implements.
        supported: Version,
    },
    /// The manifest's api-version disagrees with the component's exports.
    #[error(
        "plugin {plugin}: the manifest says api-version {manifest} but the component exports {component}"
    )]
    ApiVersionMismatch {
        /// The plugin (name and version).
        plugin: String,
        /// The manifest's api-version.
        manifest: Version,
        /// The version the component's exports name.
        component: Version,
    },
    /// `plugin new` was asked to write into a folder that has files.
    #[error("{} is not empty: `keeper plugin new` writes a new folder", path.display())]
    FolderNotEmpty {
        /// The folder.
        path: std::path::PathBuf,
    },
    /// A 1.1 rotator's `describe` disagrees with its manifest (the fields
    /// it needs or owns, whether it checks passwords).
    #[error(
        "plugin {plugin}: what it declares disagrees with its manifest ({detail}); \
         the manifest, as granted at install, decides what it gets, so fix one of them"
    )]
    DescriptionDisagrees {
        /// The plugin (name and version).
        plugin: String,
        /// What disagrees.
        detail: String,
    },
    /// A component imports a `keeper:plugin` interface of a version newer
    /// than the one it exports (its manifest's api-version).
    #[error(
        "plugin {plugin}: it imports {import}, newer than its api-version {api_version}; \
         raise the api-version or build it against keeper:plugin@{api_version}"
    )]
    NewerImport {
        /// The plugin (name and version).
        plugin: String,
        /// The imported interface, with its version.
        import: String,
        /// The version the component exports.
        api_version: Version,
    },
    /// `rotate` returned generated material the plugin may not return.
    #[error(
        "plugin {plugin}: rotate returned {refusal}; none of it was stored and the password is put back"
    )]
    GeneratedFieldRefused {
        /// The plugin (name and version).
        plugin: String,
        /// Which field, and why.
        refusal: super::fields::Refusal,
    },
    /// The component imports an interface its manifest did not declare.
    #[error(
        "plugin {plugin} imports `{import}`, which needs the `{capability}` capability its manifest does not declare; refusing to load it"
    )]
    UndeclaredImport {
        /// The plugin (name and version).
        plugin: String,
        /// The imported interface.
        import: String,
        /// The capability it needs.
        capability: String,
    },
    /// The component imports an interface keeper does not provide.
    #[error("plugin {plugin} imports `{import}`, which keeper does not provide to {kind} plugins")]
    UnknownImport {
        /// The plugin (name and version).
        plugin: String,
        /// The imported interface.
        import: String,
        /// The plugin's kind.
        kind: String,
    },
    /// The component is not a valid component or failed to compile.
    #[error("plugin {plugin}: not a valid WebAssembly component: {detail}")]
    InvalidComponent {
        /// The plugin (name and version).
        plugin: String,
        /// The engine's reason.
        detail: String,
    },
    /// No plugin of that name.
    #[error("no plugin named {0:?}; `keeper plugin list` shows the available ones")]
    NotFound(String),
    /// The plugin is of another kind than the operation needs.
    #[error("plugin {plugin} is a {found}, not a {expected}")]
    KindMismatch {
        /// The plugin (name and version).
        plugin: String,
        /// The kind the operation needs.
        expected: String,
        /// The plugin's kind.
        found: String,
    },
    /// The call exceeded its wall-clock limit.
    #[error("plugin {plugin} timed out after {secs} s and was stopped")]
    Timeout {
        /// The plugin (name and version).
        plugin: String,
        /// The wall-clock limit, in seconds.
        secs: u64,
    },
    /// A native call exceeded its wall-clock limit: it cannot be stopped,
    /// so whether it changed the target is unknown.
    #[error(
        "plugin {plugin} (native) did not answer within {secs} s; it cannot be stopped, so whether it changed anything is unknown"
    )]
    NativeTimeout {
        /// The plugin (name and version).
        plugin: String,
        /// The wall-clock limit, in seconds.
        secs: u64,
    },
    /// The call exceeded its CPU budget.
    #[error("plugin {plugin} exceeded its CPU budget and was stopped (an endless loop?)")]
    CpuLimit {
        /// The plugin (name and version).
        plugin: String,
    },
    /// The call exceeded its memory cap.
    #[error("plugin {plugin} exceeded its memory limit of {mib} MiB and was stopped")]
    MemoryLimit {
        /// The plugin (name and version).
        plugin: String,
        /// The memory cap, in MiB.
        mib: u64,
    },
    /// The plugin's stack overflowed (runaway recursion).
    #[error("plugin {plugin} crashed: stack overflow (runaway recursion?)")]
    StackOverflow {
        /// The plugin (name and version).
        plugin: String,
    },
    /// The plugin wrote more log or stdout/stderr output than allowed.
    #[error("plugin {plugin} flooded its {stream} (over {limit_kib} KiB) and was stopped")]
    OutputLimit {
        /// The plugin (name and version).
        plugin: String,
        /// `log`, `stdout` or `stderr`.
        stream: &'static str,
        /// The cap, in KiB.
        limit_kib: usize,
    },
    /// A value the plugin returned is larger than allowed.
    #[error("plugin {plugin} returned {what} of {bytes} bytes, over the {limit} byte limit")]
    ResultTooLarge {
        /// The plugin (name and version).
        plugin: String,
        /// What was returned.
        what: &'static str,
        /// Its size (or count, for a batch).
        bytes: usize,
        /// The cap.
        limit: usize,
    },
    /// `prepare` returned fields the plugin may not set (see
    /// `runtime::fields`); nothing was stored or changed.
    #[error(
        "plugin {plugin}: prepare returned {refusal}; refused before anything was stored or changed"
    )]
    PreparedFieldRefused {
        /// The plugin (name and version).
        plugin: String,
        /// Which field, and why.
        refusal: super::fields::Refusal,
    },
    /// An argument is larger than a plugin may be given.
    #[error("{what} of {bytes} bytes is over the {limit} byte limit for plugin calls")]
    ArgumentTooLarge {
        /// What was to be passed.
        what: &'static str,
        /// Its size.
        bytes: usize,
        /// The cap.
        limit: usize,
    },
    /// The plugin trapped (panic, unreachable, bad memory access...).
    #[error("plugin {plugin} crashed: {detail}")]
    Crashed {
        /// The plugin (name and version).
        plugin: String,
        /// The trap, and the panic message when the plugin printed one (redacted).
        detail: String,
    },
    /// The plugin returned an error.
    #[error("plugin {plugin}: {error}")]
    Plugin {
        /// The plugin (name and version).
        plugin: String,
        /// The plugin's own error, its message redacted and escaped.
        error: PluginError,
    },
    /// A native plugin while the configuration keeps them off.
    #[error(
        "plugin {plugin} is a native (unsandboxed) plugin, and native plugins are off: set \"native_plugins\": true in keeper's config.json to use it"
    )]
    NativeDisabled {
        /// The plugin (name and version).
        plugin: String,
    },
    /// A native plugin whose folder was not installed as one (copied by
    /// hand, or its grant does not record the user's consent).
    #[error(
        "plugin {plugin} is a native (unsandboxed) plugin that was not installed as one; install it with `keeper plugin install --native DIR --i-understand-unsandboxed`"
    )]
    NativeNotInstalled {
        /// The plugin (name and version).
        plugin: String,
    },
    /// A native plugin's library cannot be used (not a library, no
    /// keeper ABI, another ABI version).
    #[error("plugin {plugin}: its native library {library} is refused: {detail}")]
    NativeLibrary {
        /// The plugin (name and version).
        plugin: String,
        /// The library's file.
        library: String,
        /// Why.
        detail: String,
    },
    /// A native plugin's answer broke the ABI (not JSON of the expected
    /// shape, no answer, an unknown error kind).
    #[error("plugin {plugin} (native) gave an unusable answer: {detail}")]
    NativeAnswer {
        /// The plugin (name and version).
        plugin: String,
        /// What was wrong, escaped.
        detail: String,
    },
    /// Reading or writing plugin files failed.
    #[error("{context}: {source}")]
    Io {
        /// What keeper was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The wasm engine failed in a way that is not the plugin's fault.
    #[error("plugin runtime: {0}")]
    Engine(String),
}

impl Error {
    /// Whether the call's outcome is unknown: a native call that timed
    /// out may still be running, so nothing may be reverted after it.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Error::NativeTimeout { .. })
    }

    /// Whether it is about a native plugin (refused at load, or its call).
    pub fn is_native(&self) -> bool {
        matches!(
            self,
            Error::NativeDisabled { .. }
                | Error::NativeNotInstalled { .. }
                | Error::NativeLibrary { .. }
                | Error::NativeAnswer { .. }
                | Error::NativeTimeout { .. }
        )
    }

    /// The plugin's own error, if that is what this is.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match self {
            Error::Plugin { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PluginError;

    /// The case names of WIT's `variant plugin-error`, read from the contract.
    fn wit_cases() -> Vec<String> {
        let wit = include_str!("../../../wit/since_v1.0.0/types.wit");
        let body = wit
            .split("variant plugin-error {")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("types.wit declares variant plugin-error");
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .map(|l| l.split('(').next().unwrap_or(l).to_string())
            .collect()
    }

    /// The host's mirror of the plugin error has the WIT variant's cases,
    /// by name and in order (the SDK's own test pins its side).
    #[test]
    fn the_mirror_has_the_wit_variants_names() {
        let all = [
            PluginError::InvalidConfig(String::new()),
            PluginError::Unreachable(String::new()),
            PluginError::AuthFailed(String::new()),
            PluginError::Rejected(String::new()),
            PluginError::Unsupported(String::new()),
            PluginError::MalformedInput(String::new()),
            PluginError::Internal(String::new()),
        ];
        // A new variant fails to compile here until it is listed above.
        for e in &all {
            match e {
                PluginError::InvalidConfig(_)
                | PluginError::Unreachable(_)
                | PluginError::AuthFailed(_)
                | PluginError::Rejected(_)
                | PluginError::Unsupported(_)
                | PluginError::MalformedInput(_)
                | PluginError::Internal(_) => {}
            }
        }
        let names: Vec<&str> = all.iter().map(PluginError::category).collect();
        assert_eq!(names, wit_cases());
        // `category` is the Rust name in kebab case: one name per case.
        for e in &all {
            let rust = format!("{e:?}");
            let rust = rust.split('(').next().unwrap_or_default();
            let kebab: String = rust
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let dash = (i > 0 && c.is_ascii_uppercase()).then_some('-');
                    dash.into_iter()
                        .chain(std::iter::once(c.to_ascii_lowercase()))
                })
                .collect();
            assert_eq!(kebab, e.category());
        }
    }
}
