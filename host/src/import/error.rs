//! The error type of [`crate::import`]: what stops an import. Its text is
//! what `keeper import` prints; none ever contains a secret.

use std::path::PathBuf;

use crate::runtime::{Error as RuntimeError, Kind};
use crate::vault::VaultError;

/// Everything that stops an import (the vault keeps what was written
/// before, see [`super::run`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Reading or writing the vault failed, or the source is malformed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The importer plugin could not be found, loaded or run.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// `--format` names a plugin that is not an importer.
    #[error("plugin {plugin} is a {kind}, not an importer")]
    NotAnImporter {
        /// The plugin's name and version.
        plugin: String,
        /// What it is instead.
        kind: Kind,
    },
    /// The source file cannot be opened.
    #[error("cannot open {}: {error}", path.display())]
    Open {
        /// The source.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The source file does not exist (and the importer reads one).
    #[error("{} does not exist", .0.display())]
    Missing(PathBuf),
    /// `--lastpass-server` is not an origin.
    #[error("--lastpass-server: {0}")]
    Server(String),
    /// The thread writing to the vault panicked.
    #[error("the import's writer panicked")]
    WriterPanicked,
    /// The writer stopped (after an error of its own, which wins).
    #[error("the import's writer stopped")]
    WriterStopped,
    /// The thread reading the source panicked.
    #[error("the import's reader panicked")]
    ReaderPanicked,
}
