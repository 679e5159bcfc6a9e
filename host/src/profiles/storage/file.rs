//! `storage = file`: the configuration in a file of its own, refused (as
//! ssh refuses a private key) when anyone but its owner may read it, when
//! someone else owns it, when it is not a regular file (a FIFO would hang
//! the read) or when it is larger than a configuration can be.

use std::path::Path;

use zeroize::Zeroizing;

use super::StorageError;
use crate::runtime::files::{CheckedReadError, read_checked};

/// The most a configuration file may hold.
pub(super) const MAX_CONFIG_FILE: u64 = 64 * 1024;

/// The file's text, after checking that only its owner can read it.
pub(super) fn get(path: &Path) -> Result<Zeroizing<String>, StorageError> {
    let bytes = read_checked(path, MAX_CONFIG_FILE, true).map_err(|e| match e {
        CheckedReadError::Missing => StorageError::Missing(format!(
            "the file {} does not exist (the profile's configuration is read from it)",
            path.display()
        )),
        CheckedReadError::Exposed(mode) => StorageError::Exposed {
            path: path.to_path_buf(),
            mode,
        },
        CheckedReadError::Io(source) => StorageError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => StorageError::Unsafe {
            path: path.to_path_buf(),
            why: other.to_string(),
        },
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| StorageError::Missing(format!("the file {} is not text", path.display())))?;
    Ok(Zeroizing::new(text.to_string()))
}
