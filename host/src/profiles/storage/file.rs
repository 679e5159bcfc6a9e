//! `storage = file`: the configuration in a file of its own, refused (as
//! ssh refuses a private key) when anyone but its owner may read it.

use std::io::Read as _;
use std::path::Path;

use zeroize::Zeroizing;

use super::StorageError;

/// The file's text, after checking that only its owner can read it.
pub(super) fn get(path: &Path) -> Result<Zeroizing<String>, StorageError> {
    let io = |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StorageError::Missing(format!(
                "the file {} does not exist (the profile's configuration is read from it)",
                path.display()
            )));
        }
        Err(e) => return Err(io(e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata().map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(StorageError::Exposed {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes).map_err(io)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| StorageError::Missing(format!("the file {} is not text", path.display())))?;
    Ok(Zeroizing::new(text.to_string()))
}
