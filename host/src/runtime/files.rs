//! Plugin and cache files on disk: read only when they are regular files
//! (never through a link, never blocking on a FIFO), written privately and
//! atomically.

use std::path::Path;

use super::error::Error;

/// Reads a plugin file: a regular file (not a link, device or FIFO),
/// opened without following links or blocking, of at most `max` bytes.
///
/// # Errors
///
/// [`Error::UnsafeFile`], [`Error::FileTooLarge`] or I/O errors.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let reading = |e| Error::io(format!("reading {}", path.display()), e);
    check_regular(path, false)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt;
        // Swapped for a link or a FIFO after the check: fail, never follow
        // or wait for a writer.
        let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    let file = options.open(path).map_err(reading)?;
    let meta = file.metadata().map_err(reading)?;
    if !meta.is_file() {
        return Err(Error::UnsafeFile {
            path: path.to_path_buf(),
            reason: "not a regular file",
        });
    }
    let too_large = |bytes| Error::FileTooLarge {
        path: path.to_path_buf(),
        bytes,
        limit: max,
    };
    if meta.len() > max {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(reading)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Refuses a path that is a symbolic link, or not a regular file (a
/// folder when `dir`).
pub(crate) fn check_regular(path: &Path, dir: bool) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let kind = meta.file_type();
    let reason = if kind.is_symlink() {
        "a symbolic link"
    } else if dir && !kind.is_dir() {
        "not a folder"
    } else if !dir && !kind.is_file() {
        "not a regular file (a device, FIFO, socket or folder)"
    } else {
        return Ok(());
    };
    Err(Error::UnsafeFile {
        path: path.to_path_buf(),
        reason,
    })
}

/// Writes `bytes` to `path` atomically (temp file + rename), mode 0600.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
