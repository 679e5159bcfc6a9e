//! Errors reading and writing the configuration file.

use std::path::PathBuf;

/// What went wrong with a configuration file. Messages name the file and
/// the key, never a value (values may be secrets).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JSON object; it is left as it is.
    #[error(
        "configuration file {} is not valid ({reason}); fix or remove it (keeper never rewrites it)",
        path.display()
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The parser's complaint (line and column).
        reason: String,
    },
    /// A known key holds a value of the wrong type.
    #[error("configuration file {}: {key:?} must be {expected}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// The `proxy` key is not a proxy URL keeper supports.
    #[error("configuration file {}: \"proxy\" {reason}", path.display())]
    BadProxy {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file could not be written (the old one is unchanged).
    #[error("cannot write configuration file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
