//! The raw SQLite header check done before SQLite opens a file, so that a
//! foreign, empty or truncated file is refused without being touched.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use super::APPLICATION_ID;
use crate::vault::error::{Result, VaultError};

/// Checks the raw SQLite header before letting SQLite open the file.
///
/// The file is read without a lock, and another `keeper` process may be
/// checkpointing the WAL into it: a checkpoint writes page 1 (with the new
/// page count) before the pages past the old end, so for a moment the file
/// looks truncated. A file that still looks truncated after half a second
/// is.
pub(super) fn check_header(path: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match check_header_once(path) {
            Err(VaultError::Corrupted(why)) if why.starts_with(TRUNCATED) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

const TRUNCATED: &str = "file is truncated (";

fn check_header_once(path: &Path) -> Result<()> {
    let foreign = |reason: &str| VaultError::Foreign {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VaultError::NoVault(path.display().to_string()));
        }
        Err(e) => {
            return Err(VaultError::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let len = file
        .metadata()
        .map_err(|e| VaultError::Storage(e.to_string()))?
        .len();
    let mut header = [0u8; 100];
    if len < 100 || file.read_exact(&mut header).is_err() {
        return Err(if len == 0 {
            foreign("the file is empty")
        } else {
            VaultError::Corrupted("file is truncated".into())
        });
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Err(foreign("not a SQLite database"));
    }
    if u32::from_be_bytes([header[68], header[69], header[70], header[71]]) != APPLICATION_ID {
        return Err(foreign("it belongs to another application"));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536u64,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let change = &header[24..28];
    let valid_for = &header[92..96];
    if page_size < 512 || !page_size.is_power_of_two() {
        return Err(VaultError::Corrupted("the SQLite header is damaged".into()));
    }
    if change == valid_for && pages > 0 && len < pages * page_size {
        return Err(VaultError::Corrupted(format!(
            "{TRUNCATED}{len} bytes, the header says {} bytes)",
            pages * page_size
        )));
    }
    Ok(())
}
