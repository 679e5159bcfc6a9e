//! `keeper.ini`: where it is, reading it (every profile checked, so a
//! malformed or edited file is refused before anything is done), and
//! writing it back (mode 0600, through a temporary file and a rename).
//!
//! ```ini
//! [_default]
//! active_profile = default
//!
//! [default]
//! store = /home/ci/.keeper/vault.db
//! clientid = …
//! privatekey = …
//! check = …
//! ```
//!
//! Found through, first that applies: `--ini-file`; `KEEPER_INI_FILE`
//! (else the Secrets Manager CLI's `KSM_INI_FILE`) when it is a path (with
//! a `/`); else the file of that name (default `keeper.ini`) in
//! `KEEPER_INI_DIR`, `KSM_INI_DIR`, the current directory, the home
//! directory, `~/.config/keeper`, `/etc/keeper`. A new file goes to
//! `KEEPER_INI_DIR`, else `KSM_INI_DIR`, else the current directory.
//!
//! A profile whose section has `storage = …` keeps its configuration
//! elsewhere ([`super::storage`]).

use std::path::{Path, PathBuf};

use ini::Ini;

use super::config::ini_section;
use super::storage::Storage;
use super::{Profile, ProfileError};

/// The file name looked for.
pub const DEFAULT_NAME: &str = "keeper.ini";
/// A folder holding keeper.ini.
pub const DIR_ENV: &str = "KEEPER_INI_DIR";
/// The file's name, or its path.
pub const FILE_ENV: &str = "KEEPER_INI_FILE";
/// The Secrets Manager CLI's names for the same (ours win when both are set).
pub const KSM_DIR_ENV: &str = "KSM_INI_DIR";
/// See [`KSM_DIR_ENV`].
pub const KSM_FILE_ENV: &str = "KSM_INI_FILE";
/// The section holding settings rather than a profile.
const SETTINGS: &str = "_default";
/// The key naming the active profile.
const ACTIVE: &str = "active_profile";

/// Where keeper.ini is (or would be made), for `explicit` (`--ini-file`).
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let file = env(FILE_ENV)
        .or_else(|| env(KSM_FILE_ENV))
        .map(PathBuf::from);
    if let Some(f) = &file
        && f.components().count() > 1
    {
        return f.clone();
    }
    let name = file.unwrap_or_else(|| PathBuf::from(DEFAULT_NAME));
    let mut dirs: Vec<PathBuf> = Vec::new();
    for var in [DIR_ENV, KSM_DIR_ENV] {
        if let Some(d) = env(var) {
            dirs.push(PathBuf::from(d));
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd);
    }
    if let Some(home) = std::env::home_dir() {
        dirs.push(home.join(".config").join("keeper"));
        dirs.insert(dirs.len() - 1, home);
    }
    dirs.push(PathBuf::from("/etc/keeper"));
    dirs.iter()
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| dirs[0].join(&name))
}

/// A keeper.ini, read and checked.
#[derive(Debug)]
pub struct IniFile {
    path: PathBuf,
    profiles: Vec<(String, Profile)>,
    active: Option<String>,
}

impl IniFile {
    /// Reads `path` (an absent file is an empty one).
    ///
    /// # Errors
    ///
    /// [`ProfileError::Malformed`] for a file that is not INI, has unknown
    /// or missing keys, or names an active profile it does not have;
    /// [`ProfileError::Tampered`] for a profile whose check fails;
    /// [`ProfileError::Io`].
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let mut file = Self {
            path: path.to_path_buf(),
            profiles: Vec::new(),
            active: None,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(file),
            Err(e) => return Err(ProfileError::io(path, e)),
        };
        let malformed = |why: String| ProfileError::Malformed(format!("{}: {why}", path.display()));
        let ini = Ini::load_from_str(&text)
            .map_err(|e| malformed(format!("line {}: {}", e.line, e.msg)))?;
        for (section, props) in ini.iter() {
            match section {
                None if props.is_empty() => {}
                None => return Err(malformed("keys outside any [section]".into())),
                Some(SETTINGS) => {
                    for (k, v) in props.iter() {
                        if k != ACTIVE {
                            return Err(malformed(format!(
                                "[{SETTINGS}] has an unknown key {k:?}"
                            )));
                        }
                        file.active = Some(v.trim().to_string());
                    }
                }
                Some(name) => {
                    // The INI reader unescapes section names (`\n` becomes
                    // a newline): a name that could not be written back as
                    // it is would inject lines at the next save.
                    check_name(name).map_err(|e| malformed(e.to_string()))?;
                    let what = format!("{}: profile [{name}]", path.display());
                    let profile = if Storage::is_external(props.iter()) {
                        Profile::External(Storage::from_pairs(props.iter(), &what)?)
                    } else {
                        Profile::Config(super::ProfileConfig::from_pairs(props.iter(), &what)?)
                    };
                    file.profiles.push((name.to_string(), profile));
                }
            }
        }
        if let Some(a) = &file.active
            && !file.profiles.iter().any(|(n, _)| n == a)
        {
            return Err(malformed(format!(
                "the active profile {a:?} is not in the file"
            )));
        }
        Ok(file)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Profile names in file order, with whether each is the active one.
    pub fn names(&self) -> Vec<(String, bool)> {
        self.profiles
            .iter()
            .map(|(n, _)| (n.clone(), self.active.as_deref() == Some(n)))
            .collect()
    }

    /// Profile `name`, or the active one (else the only one).
    ///
    /// # Errors
    ///
    /// [`ProfileError::NoProfile`].
    pub fn get(&self, name: Option<&str>) -> Result<(&str, &Profile), ProfileError> {
        let wanted = name
            .or(self.active.as_deref())
            .or(match self.profiles.as_slice() {
                [(only, _)] => Some(only.as_str()),
                _ => None,
            });
        let missing = || ProfileError::NoProfile {
            name: wanted.map(str::to_string),
            path: self.path.clone(),
        };
        let wanted = wanted.ok_or_else(missing)?;
        self.profiles
            .iter()
            .find(|(n, _)| n == wanted)
            .map(|(n, c)| (n.as_str(), c))
            .ok_or_else(missing)
    }

    /// Adds or replaces profile `name`.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Invalid`] for a name that cannot be a section.
    pub fn put(&mut self, name: &str, config: impl Into<Profile>) -> Result<(), ProfileError> {
        check_name(name)?;
        let config = config.into();
        match self.profiles.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => *c = config,
            None => self.profiles.push((name.to_string(), config)),
        }
        Ok(())
    }

    /// Makes `name` the active profile.
    ///
    /// # Errors
    ///
    /// [`ProfileError::NoProfile`] when there is no such profile.
    pub fn set_active(&mut self, name: &str) -> Result<(), ProfileError> {
        self.get(Some(name))?;
        self.active = Some(name.to_string());
        Ok(())
    }

    /// Writes the file (mode 0600; through a temporary file and a rename).
    ///
    /// # Errors
    ///
    /// [`ProfileError::Io`].
    pub fn save(&self) -> Result<(), ProfileError> {
        let mut text = zeroize::Zeroizing::new(String::new());
        if let Some(a) = &self.active {
            let pairs = [(ACTIVE, zeroize::Zeroizing::new(a.clone()))];
            text.push_str(&ini_section(SETTINGS, &pairs));
        }
        for (name, config) in &self.profiles {
            text.push_str("\n");
            text.push_str(&ini_section(name, &config.to_pairs()));
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ProfileError::io(dir, e))?;
        }
        crate::runtime::files::write_private(&self.path, text.as_bytes())
            .map_err(|e| ProfileError::io(&self.path, e))
    }
}

/// An exclusive hold on one keeper.ini (an advisory `flock` on
/// `keeper.ini.lock` beside it), released when dropped. Whoever reads,
/// changes and writes keeper.ini, or spends a token into it, holds it, so
/// processes starting together never both redeem one token nor drop each
/// other's profiles.
#[derive(Debug)]
pub struct IniLock {
    _file: std::fs::File,
}

/// Waits for the exclusive hold on the keeper.ini at `path` (its folder
/// is made when missing; the lock file is 0600 and never a link).
///
/// # Errors
///
/// [`ProfileError::Io`].
pub fn lock(path: &Path) -> Result<IniLock, ProfileError> {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| DEFAULT_NAME.into());
    name.push(".lock");
    let lock_path = path.with_file_name(name);
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ProfileError::io(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = options
        .open(&lock_path)
        .map_err(|e| ProfileError::io(&lock_path, e))?;
    #[cfg(unix)]
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| ProfileError::io(&lock_path, e.into()))?;
    Ok(IniLock { _file: file })
}

/// A profile name must be usable as an INI section name.
fn check_name(name: &str) -> Result<(), ProfileError> {
    let bad = name.trim().is_empty()
        || name != name.trim()
        || name == SETTINGS
        || name
            .chars()
            .any(|c| c.is_control() || matches!(c, '[' | ']' | ';' | '#' | '='));
    if bad {
        return Err(ProfileError::Invalid(format!(
            "{name:?} cannot be a profile name (no brackets, ;, #, =, control characters, \
             surrounding spaces, nor {SETTINGS})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A section name the INI reader unescapes into one that cannot be
    /// written back (a newline, `=`) is refused at load, before a save
    /// could write it raw.
    #[test]
    fn a_section_name_that_cannot_be_written_back_is_refused_at_load() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keeper.ini");
        for section in [r"[a\nstore = /tmp/evil.db]", r"[a\=b]"] {
            std::fs::write(&path, format!("{section}\nclientid = x\n")).expect("write");
            let err = IniFile::load(&path).expect_err(section);
            assert!(
                matches!(&err, ProfileError::Malformed(m) if m.contains("cannot be a profile name")),
                "{section}: {err}"
            );
        }
        std::fs::write(&path, "[ok]\nclientid = x\n").expect("write");
        let err = IniFile::load(&path).expect_err("incomplete profile");
        assert!(
            !err.to_string().contains("cannot be a profile name"),
            "{err}"
        );
    }
}
