//! `run-batch` files: glob patterns expanded in order, each file read as
//! UTF-8 into its lines.

use std::path::{Path, PathBuf};

/// A `run-batch` problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchFileError {
    /// A pattern is not a valid glob.
    #[error("{pattern:?} is not a valid file pattern: {reason}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A pattern matched no file.
    #[error("no file matches {0}")]
    NoMatch(String),
    /// A file could not be read (or is not UTF-8).
    #[error("cannot read batch file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The files `patterns` name: each pattern's matches sorted, patterns in
/// the order given. A name that exists is taken literally (so file names
/// with glob characters, or Windows-style backslashes, work).
///
/// # Errors
///
/// [`BatchFileError::Pattern`], [`BatchFileError::NoMatch`].
pub fn expand(patterns: &[String]) -> Result<Vec<PathBuf>, BatchFileError> {
    let mut files = Vec::new();
    for pattern in patterns {
        if Path::new(pattern).is_file() {
            files.push(PathBuf::from(pattern));
            continue;
        }
        let matches = glob::glob(pattern).map_err(|e| BatchFileError::Pattern {
            pattern: pattern.clone(),
            reason: e.msg.to_string(),
        })?;
        let mut found: Vec<PathBuf> = matches
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            return Err(BatchFileError::NoMatch(pattern.clone()));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// The lines of `path`.
///
/// # Errors
///
/// [`BatchFileError::Read`].
pub fn read_lines(path: &Path) -> Result<Vec<String>, BatchFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| BatchFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_expand_sorted_and_literal_names_win() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["b.cmd", "a.cmd", "c.txt", r"C:\My Drive\x.txt"] {
            std::fs::write(dir.path().join(name), "ls\r\n# c\n").expect("write");
        }
        let d = dir.path().display();
        let files = expand(&[format!("{d}/*.cmd"), format!("{d}/c.txt")]).expect("expand");
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.cmd", "b.cmd", "c.txt"]);
        let literal = format!(r"{d}/C:\My Drive\x.txt");
        assert_eq!(
            expand(std::slice::from_ref(&literal))
                .expect("literal")
                .len(),
            1
        );
        assert_eq!(read_lines(&files[0]).expect("read"), ["ls", "# c"]);
        assert!(matches!(
            expand(&[format!("{d}/*.none")]),
            Err(BatchFileError::NoMatch(_))
        ));
    }
}
