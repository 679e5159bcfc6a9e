//! Where plugins come from, and installing and removing them.
//!
//! - **Built-in**: the first-party plugins (mysql, ssh, sshkey, pspasswd,
//!   lastpass, csv), compiled into the `keeper` binary by `host/build.rs`.
//!   They come with keeper, so their manifest capabilities count as granted.
//! - **Installed**: `<data dir>/plugins/<name>/` with `plugin.toml`,
//!   `plugin.wasm` and `grant.toml` (the capabilities the user granted and
//!   the component hash they were granted to), written by `keeper plugin
//!   install`.
//! - **Dropped in**: the same folder copied by hand, without `grant.toml`:
//!   usable, but granted nothing until installed with `--grant`: no
//!   capabilities, no record fields beyond what every rotator sees, and the
//!   default limits.
//!
//! - **Native**: an installed folder whose manifest says `native = true`
//!   holds a shared library instead of `plugin.wasm`; its grant records
//!   that the user installed it as unsandboxed code (`runtime/native`).
//!
//! A grant covers the capabilities, the `[fields]` and the `[limits]` the
//! user saw at install: a manifest whose fields or limits were edited since
//! is refused until installed again.
//!
//! Plugin files are read only when they are regular files (no symbolic
//! links, devices or FIFOs, and the folder itself no link), opened without
//! following links or blocking, and only up to [`MAX_MANIFEST_BYTES`] /
//! [`MAX_COMPONENT_BYTES`].

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::Error;
use super::fields::FieldAccess;
use super::files::{check_regular, read_regular};
use super::manifest::{Capabilities, Manifest, RequestedLimits};

/// Largest `plugin.toml` (and `grant.toml`) read.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// Largest `plugin.wasm` read.
pub const MAX_COMPONENT_BYTES: u64 = 64 * 1024 * 1024;

mod embedded {
    /// A first-party plugin embedded at build time.
    pub struct Builtin {
        pub manifest: &'static str,
        pub wasm: &'static [u8],
    }
    include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));
}

/// Where a plugin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Compiled into keeper.
    Builtin,
    /// Installed with `keeper plugin install`.
    Installed,
    /// Copied into the plugin directory by hand (nothing granted).
    DroppedIn,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Builtin => "built-in",
            Source::Installed => "installed",
            Source::DroppedIn => "dropped-in (not granted)",
        })
    }
}

/// A plugin's files: manifest, component and grant.
#[derive(Clone)]
pub struct PluginPackage {
    /// The manifest.
    pub manifest: Manifest,
    /// The component, or a native plugin's library: the bytes whose
    /// hash was checked, read once (a native library is loaded from this
    /// copy, never from its file again).
    pub wasm: Cow<'static, [u8]>,
    /// Hex sha256 of the component or library (verified against the
    /// manifest and the grant).
    pub sha256: String,
    /// Where it came from.
    pub source: Source,
    /// What the user granted.
    pub granted: Capabilities,
    /// The limits the user granted (the manifest's, checked; the defaults
    /// for a dropped-in plugin).
    pub granted_limits: RequestedLimits,
    /// The record fields the user granted (likewise; none when dropped in).
    pub granted_fields: FieldAccess,
    /// Its folder, for installed and dropped-in plugins.
    pub dir: Option<PathBuf>,
    /// A native plugin's library file (`wasm` holds its bytes).
    pub native: Option<NativeFiles>,
}

/// A native plugin's library file and whether the user accepted it as
/// unsandboxed code.
#[derive(Debug, Clone)]
pub struct NativeFiles {
    /// The library's file (for messages: what is loaded is the package's
    /// bytes, whose sha256 is the package's).
    pub library: PathBuf,
    /// Installed with `--i-understand-unsandboxed` (its grant says so).
    pub consented: bool,
}

impl fmt::Debug for PluginPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginPackage")
            .field("plugin", &self.manifest.id())
            .field("source", &self.source)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// `grant.toml`: what the user granted, and to which component.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Grant {
    sha256: String,
    granted_at: u64,
    #[serde(default)]
    capabilities: Capabilities,
    /// Absent in grants written before limits were part of them: those
    /// granted the default limits.
    #[serde(default)]
    limits: RequestedLimits,
    #[serde(default)]
    fields: FieldAccess,
    /// A native plugin installed with `--i-understand-unsandboxed`.
    #[serde(default, skip_serializing_if = "is_false")]
    unsandboxed: bool,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_false(value: &bool) -> bool {
    !*value
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The built-in plugins.
///
/// # Errors
///
/// Only if a built-in manifest is invalid (a build defect).
pub fn builtin() -> Result<Vec<PluginPackage>, Error> {
    embedded::BUILTIN.iter().map(builtin_package).collect()
}

fn builtin_package(b: &embedded::Builtin) -> Result<PluginPackage, Error> {
    let manifest = Manifest::parse(b.manifest)?;
    Ok(PluginPackage {
        granted: manifest.capabilities.clone(),
        granted_limits: manifest.limits.clone(),
        granted_fields: manifest.fields.clone(),
        sha256: sha256_hex(b.wasm),
        manifest,
        wasm: Cow::Borrowed(b.wasm),
        source: Source::Builtin,
        dir: None,
        native: None,
    })
}

/// The built-in plugin named `name`, hashing only that component.
fn builtin_named(name: &str) -> Result<Option<PluginPackage>, Error> {
    for b in embedded::BUILTIN {
        if Manifest::parse(b.manifest)?.name == name {
            return builtin_package(b).map(Some);
        }
    }
    Ok(None)
}

fn read_text(path: &Path, max: u64) -> Result<String, Error> {
    String::from_utf8(read_regular(path, max)?)
        .map_err(|_| Error::Manifest(format!("{} is not UTF-8 text", path.display())))
}

/// Reads one plugin folder (installed or dropped in), verifying its hashes.
///
/// # Errors
///
/// Missing or invalid files, [`Error::UnsafeFile`], [`Error::FileTooLarge`],
/// [`Error::MissingSha256`], [`Error::Sha256Mismatch`],
/// [`Error::GrantMismatch`], [`Error::GrantOutdated`].
pub fn read_dir(dir: &Path) -> Result<PluginPackage, Error> {
    check_regular(dir, true)?;
    let manifest_path = dir.join("plugin.toml");
    let text = read_text(&manifest_path, MAX_MANIFEST_BYTES)?;
    let manifest = Manifest::parse(&text)?;
    // A native plugin's library is hashed like a component; it may come
    // without a sha256 (keeper's `package` is for components): the grant
    // written at install holds the hash it is then checked against.
    let library = manifest.library.as_ref().map(|file| dir.join(file));
    let wasm_path = library.clone().unwrap_or_else(|| dir.join("plugin.wasm"));
    let wasm = read_regular(&wasm_path, MAX_COMPONENT_BYTES)?;
    let sha256 = sha256_hex(&wasm);
    let expected = match (&manifest.sha256, &library) {
        (Some(expected), _) => expected.clone(),
        (None, Some(_)) => sha256.clone(),
        (None, None) => {
            return Err(Error::MissingSha256 {
                plugin: manifest.id(),
            });
        }
    };
    let what = if library.is_some() {
        "library"
    } else {
        "component"
    };
    if !expected.eq_ignore_ascii_case(&sha256) {
        return Err(Error::Sha256Mismatch {
            plugin: manifest.id(),
            what,
            expected,
            actual: sha256,
        });
    }
    let grant_path = dir.join("grant.toml");
    let grant = match std::fs::symlink_metadata(&grant_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        _ => Some(read_text(&grant_path, MAX_MANIFEST_BYTES)?),
    };
    let mut consented = false;
    let (source, granted, granted_limits, granted_fields) = match grant {
        Some(text) => {
            let grant: Grant = toml::from_str(&text).map_err(|e| {
                Error::Manifest(format!("{}: {}", grant_path.display(), e.message()))
            })?;
            if !grant.sha256.eq_ignore_ascii_case(&sha256) {
                return Err(Error::GrantMismatch {
                    plugin: manifest.id(),
                    what,
                });
            }
            let changed = if grant.limits != manifest.limits {
                Some("[limits]")
            } else if grant.fields != manifest.fields {
                Some("[fields]")
            } else {
                None
            };
            if let Some(section) = changed {
                return Err(Error::GrantOutdated {
                    plugin: manifest.id(),
                    section,
                });
            }
            consented = grant.unsandboxed;
            (
                Source::Installed,
                grant.capabilities,
                grant.limits,
                grant.fields,
            )
        }
        None => (
            Source::DroppedIn,
            Capabilities::default(),
            RequestedLimits::default(),
            FieldAccess::default(),
        ),
    };
    let native = library.map(|library| NativeFiles { library, consented });
    Ok(PluginPackage {
        manifest,
        wasm: Cow::Owned(wasm),
        sha256,
        source,
        granted,
        granted_limits,
        granted_fields,
        dir: Some(dir.to_path_buf()),
        native,
    })
}

/// Every plugin: built-in ones first, then the plugin directory's folders in
/// name order. Folders that cannot be read are returned separately.
///
/// # Errors
///
/// Only when the plugin directory exists but cannot be listed.
pub fn all(plugin_dir: &Path) -> Result<(Vec<PluginPackage>, Vec<(PathBuf, Error)>), Error> {
    let mut plugins = builtin()?;
    let mut broken = Vec::new();
    let entries = match std::fs::read_dir(plugin_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((plugins, broken)),
        Err(e) => return Err(Error::io(format!("listing {}", plugin_dir.display()), e)),
    };
    // Folders and links (a linked folder is reported as refused, not
    // followed); plain files are ignored.
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() || t.is_symlink()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        match read_dir(&dir) {
            Ok(package)
                if plugins
                    .iter()
                    .any(|p| p.manifest.name == package.manifest.name) =>
            {
                broken.push((
                    dir,
                    Error::Manifest(format!(
                        "a plugin named {} already exists; this copy is ignored",
                        package.manifest.name
                    )),
                ))
            }
            Ok(package) => plugins.push(package),
            Err(e) => broken.push((dir, e)),
        }
    }
    Ok((plugins, broken))
}

/// The plugin called `name`.
///
/// # Errors
///
/// [`Error::NotFound`], or the reason its folder cannot be used.
pub fn find(plugin_dir: &Path, name: &str) -> Result<PluginPackage, Error> {
    if let Some(package) = builtin_named(name)? {
        return Ok(package);
    }
    let dir = plugin_dir.join(name);
    if valid_name(name) && std::fs::symlink_metadata(dir.join("plugin.toml")).is_ok() {
        return read_dir(&dir);
    }
    // A folder named differently from its manifest still counts.
    let (plugins, _) = all(plugin_dir)?;
    plugins
        .into_iter()
        .find(|p| p.manifest.name == name)
        .ok_or_else(|| Error::NotFound(name.to_string()))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Reads a package to install from `path` (a folder, or its plugin.toml).
///
/// # Errors
///
/// As [`read_dir`]; a component to install must carry a matching sha256
/// (a native library may carry none: install hashes it into the grant).
pub fn read_candidate(path: &Path) -> Result<PluginPackage, Error> {
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir());
    let dir = if is_file {
        check_regular(path, false)?;
        match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    } else {
        path
    };
    let mut package = read_dir(dir)?;
    // Whatever grant file travels with a package is not the user's grant.
    package.granted = Capabilities::default();
    package.granted_limits = RequestedLimits::default();
    package.granted_fields = FieldAccess::default();
    if let Some(native) = &mut package.native {
        native.consented = false;
    }
    Ok(package)
}

/// Copies a verified package into the plugin directory with the user's grant.
///
/// # Errors
///
/// A built-in name, an existing plugin without `replace`, or I/O failures.
pub fn install(
    plugin_dir: &Path,
    package: &PluginPackage,
    granted: &Capabilities,
    replace: bool,
) -> Result<PathBuf, Error> {
    let name = &package.manifest.name;
    if builtin_named(name)?.is_some() {
        return Err(Error::Manifest(format!(
            "{name} is a built-in plugin name; choose another name"
        )));
    }
    let dir = plugin_dir.join(name);
    if dir.exists() && !replace {
        return Err(Error::Manifest(format!(
            "plugin {name} is already installed; pass --force to replace it"
        )));
    }
    let staging = plugin_dir.join(format!(".{name}.installing"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| Error::io(format!("creating {}", staging.display()), e))?;
    let grant = Grant {
        sha256: package.sha256.clone(),
        granted_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        capabilities: granted.clone(),
        limits: package.manifest.limits.clone(),
        fields: package.manifest.fields.clone(),
        unsandboxed: package.native.as_ref().is_some_and(|n| n.consented),
    };
    let write = |file: &str, bytes: &[u8]| {
        std::fs::write(staging.join(file), bytes)
            .map_err(|e| Error::io(format!("writing {}", staging.join(file).display()), e))
    };
    let mut manifest = package.manifest.clone();
    manifest.sha256 = Some(package.sha256.clone());
    write("plugin.toml", manifest.to_toml()?.as_bytes())?;
    // The bytes whose hash was read (and, for a native library, that
    // were loaded), not whatever is in the source folder now.
    write(
        manifest.library.as_deref().unwrap_or("plugin.wasm"),
        &package.wasm,
    )?;
    write(
        "grant.toml",
        toml::to_string_pretty(&grant)
            .map_err(|e| Error::Manifest(e.to_string()))?
            .as_bytes(),
    )?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| Error::io(format!("removing {}", dir.display()), e))?;
    }
    std::fs::rename(&staging, &dir)
        .map_err(|e| Error::io(format!("moving plugin into {}", dir.display()), e))?;
    Ok(dir)
}

/// Removes an installed or dropped-in plugin.
///
/// # Errors
///
/// Built-in plugins cannot be removed; [`Error::NotFound`].
pub fn remove(plugin_dir: &Path, name: &str) -> Result<PathBuf, Error> {
    if builtin_named(name)?.is_some() {
        return Err(Error::Manifest(format!(
            "{name} is built into keeper and cannot be removed"
        )));
    }
    // The folder named after the plugin (even a broken one), else a folder
    // whose manifest carries that name.
    let named = plugin_dir.join(name);
    let dir = if valid_name(name) && named.is_dir() {
        named
    } else {
        all(plugin_dir)?
            .0
            .into_iter()
            .find(|p| p.manifest.name == name)
            .and_then(|p| p.dir)
            .ok_or_else(|| Error::NotFound(name.to_string()))?
    };
    std::fs::remove_dir_all(&dir)
        .map_err(|e| Error::io(format!("removing {}", dir.display()), e))?;
    Ok(dir)
}

/// For plugin authors: writes `out/plugin.wasm` and `out/plugin.toml` with
/// the component's sha256 stamped into the manifest.
///
/// # Errors
///
/// An invalid manifest or I/O failures.
pub fn package(wasm_path: &Path, manifest_path: &Path, out: &Path) -> Result<Manifest, Error> {
    let text = read_text(manifest_path, MAX_MANIFEST_BYTES)?;
    let mut manifest = Manifest::parse(&text)?;
    let wasm = read_regular(wasm_path, MAX_COMPONENT_BYTES)?;
    manifest.sha256 = Some(sha256_hex(&wasm));
    std::fs::create_dir_all(out)
        .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
    std::fs::write(out.join("plugin.wasm"), &wasm)
        .map_err(|e| Error::io("writing plugin.wasm", e))?;
    std::fs::write(out.join("plugin.toml"), manifest.to_toml()?)
        .map_err(|e| Error::io("writing plugin.toml", e))?;
    Ok(manifest)
}
