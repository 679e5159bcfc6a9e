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

/// Why [`read_checked`] refused a file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckedReadError {
    /// There is no file there.
    #[error("does not exist")]
    Missing,
    /// It could not be opened or read.
    #[error("{0}")]
    Io(std::io::Error),
    /// A FIFO, device, socket or folder.
    #[error("is not a regular file (a FIFO, device, socket or folder)")]
    NotRegular,
    /// Others may read it (owner-only reads).
    #[error("can be read by other users (mode {0:o})")]
    Exposed(u32),
    /// Someone else owns it (owner-only reads).
    #[error("belongs to user {owner}, not to this user ({me})")]
    Foreign {
        /// The file's owner.
        owner: u32,
        /// This process's effective user.
        me: u32,
    },
    /// Larger than the caller reads.
    #[error("is larger than {0} bytes")]
    TooLarge(u64),
}

/// Reads a small file that may be reached through a link (a mounted
/// secret often is): opened without blocking (a FIFO cannot hang the
/// read), then the open file must be a regular file of at most `max`
/// bytes and, when `owner_only`, owned by this user and closed to
/// everyone else (as ssh treats a private key).
pub(crate) fn read_checked(
    path: &Path,
    max: u64,
    owner_only: bool,
) -> Result<zeroize::Zeroizing<Vec<u8>>, CheckedReadError> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CheckedReadError::Missing);
        }
        Err(e) => return Err(CheckedReadError::Io(e)),
    };
    let meta = file.metadata().map_err(CheckedReadError::Io)?;
    if !meta.is_file() {
        return Err(CheckedReadError::NotRegular);
    }
    #[cfg(unix)]
    if owner_only {
        use std::os::unix::fs::MetadataExt as _;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(CheckedReadError::Foreign {
                owner: meta.uid(),
                me,
            });
        }
        if meta.mode() & 0o077 != 0 {
            return Err(CheckedReadError::Exposed(meta.mode() & 0o777));
        }
    }
    #[cfg(not(unix))]
    let _ = owner_only;
    if meta.len() > max {
        return Err(CheckedReadError::TooLarge(max));
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(
        usize::try_from(max.min(meta.len()) + 1).unwrap_or(0),
    ));
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(CheckedReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(CheckedReadError::TooLarge(max));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically, mode 0600: a new temp file of an
/// unpredictable name beside it (created exclusively, so a link or file
/// placed there beforehand is never followed nor reused), then renamed
/// over `path` (a link at `path` is replaced, not followed).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keeper.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn write_private_replaces_links_and_loose_modes_never_following() {
        let dir = tempfile::tempdir().expect("dir");
        let target = dir.path().join("keeper.ini");
        // The old predictable temp names, as links to a victim file.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "victim").expect("write");
        for ext in [format!("tmp{}", std::process::id()), "tmp".into()] {
            std::os::unix::fs::symlink(&victim, target.with_extension(ext)).expect("link");
        }
        // An existing file others may read and write.
        std::fs::write(&target, "old").expect("write");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        write_private(&target, b"new").expect("write_private");
        assert_eq!(std::fs::read(&target).expect("read"), b"new");
        assert_eq!(mode(&target), 0o600);
        assert_eq!(std::fs::read(&victim).expect("read"), b"victim");
        // A link at the path itself is replaced by a file, not written through.
        std::fs::remove_file(&target).expect("rm");
        std::os::unix::fs::symlink(&victim, &target).expect("link");
        write_private(&target, b"mine").expect("write_private");
        assert!(std::fs::symlink_metadata(&target).expect("meta").is_file());
        assert_eq!(std::fs::read(&victim).expect("read"), b"victim");
        assert_eq!(mode(&target), 0o600);
        // Nothing left behind but the file, the victim and the old links.
        let left = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(left, 4);
    }

    #[test]
    fn checked_reads_refuse_fifos_big_exposed_and_missing_files() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("conf");
        write_private(&file, &[b'x'; 100]).expect("write");
        assert_eq!(read_checked(&file, 100, true).expect("read").len(), 100);
        assert!(matches!(
            read_checked(&file, 99, true),
            Err(CheckedReadError::TooLarge(99))
        ));
        // Through a link: allowed (mounted secrets are links), checked as the file.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("link");
        assert_eq!(read_checked(&link, 100, true).expect("read").len(), 100);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert!(matches!(
            read_checked(&link, 100, true),
            Err(CheckedReadError::Exposed(0o640))
        ));
        assert_eq!(read_checked(&file, 100, false).expect("read").len(), 100);
        // A FIFO with no writer: refused at once, never waited on.
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        assert!(matches!(
            read_checked(&fifo, 100, true),
            Err(CheckedReadError::NotRegular)
        ));
        assert!(matches!(
            read_checked(&dir.path().join("none"), 100, true),
            Err(CheckedReadError::Missing)
        ));
        assert!(matches!(
            read_checked(dir.path(), 100, false),
            Err(CheckedReadError::NotRegular)
        ));
    }
}
