//! Import: everything between a source (Keeper JSON, an importer plugin)
//! and the vault, in one folder.
//!
//! ```text
//! source ─ keeper_json::parse ───────────────┐
//! source ─ importer plugin ─ stream/convert ─┴→ Collected parts ─ bridge::pipeline
//!   → run::Run::take ─ shape ─ engine::Importer (oversize, matching) ─ Vault::apply
//! ```
//!
//! - This file: running an importer plugin over a source. The host opens
//!   the source and streams it to the plugin through the `input` interface
//!   (or, for online sources, the plugin talks HTTP to the one origin the
//!   host grants); the plugin returns batches of shared folders, records
//!   and skipped rows. [`stream`] converts each batch to the vault's model
//!   ([`convert`]) and hands it on while the next is being read, so nothing
//!   here holds the whole source.
//! - [`keeper_json`]: Commander's own format, both ways (import and export).
//! - [`bridge`]: the one place where the synchronous vault meets the async
//!   plugin runtime: the plugin reads ahead on its own thread while the
//!   vault writes ([`bridge::pipeline`]).
//! - [`run`]: one `keeper import` run, part by part.
//! - [`shape`]: the user's layout options (`--filter-folder`, `--shared`,
//!   `-p`, `--folder`, `-od/-nd`), applied to whatever the source was.
//! - [`engine`]: matching and de-duplication against the vault's records,
//!   then [`crate::vault::Vault::apply`]; [`oversize`]: records over 5 MB.
//!
//! `keeper import` writes a source of up to [`PART_RECORDS`] records (or
//! [`PART_BYTES`] of record data) in **one transaction**, so that a failed
//! import (malformed source, plugin error, sandbox limit) leaves the vault
//! exactly as it was; a larger source in parts of that size, one
//! transaction each, so that memory stays bounded. If a large import fails
//! midway, the parts written stay, the command says how many, and running
//! the same import again resumes it: identical records are recognised by
//! their content hash and skipped, so importing the same source twice never
//! creates duplicates.
//!
//! Malformed rows do not fail an import: plugins report them as skipped
//! items with their line numbers, which `--show-skipped` prints.
//!
//! A record uid an importer plugin returns (a Keeper CSV's `$record_uid`)
//! is dropped unless the user passes `--match-uids`: without it a plugin
//! could name any existing record and replace it. Such records are imported
//! as new, or recognised by content as identical to an existing one.
//!
//! `--file-cache DIR` lets the host keep the HTTP answers a plugin marks as
//! cacheable (the lastpass plugin's attachment downloads, which LastPass
//! serves encrypted) in `DIR` across runs; see
//! [`crate::runtime::capability::http`].

pub mod bridge;
pub mod engine;
mod error;
pub mod keeper_json;
pub mod oversize;
pub mod run;
pub mod shape;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::runtime::capability::origin::Origin;
use crate::runtime::plugin::{Field, ImportItem};
use crate::runtime::{ArtifactCache, CallContext, InputSource, Kind, Runtime, registry};
use crate::vault::crypto;
use crate::vault::membership::{Permission, SharedFolderEntry, TeamEntry};
use crate::vault::model::{fields, now_ms};
use crate::vault::{FolderSpec, NewAttachment, NewRecord, RecordData};

pub use error::ImportError;

/// What the user asked for.
#[derive(Debug, Default)]
pub struct Request<'a> {
    /// Importer plugin name (`--format`).
    pub format: &'a str,
    /// The source: a file, `-` for stdin, or an account (online importers).
    pub source: &'a str,
    /// `--record-type`: the type of records the source does not type.
    pub record_type: Option<&'a str>,
    /// `--lastpass-server`: the one origin the lastpass plugin may reach.
    pub server: Option<&'a str>,
    /// Extra options for the plugin (`password`, `otp`, ...).
    pub options: Vec<(String, String)>,
    /// `--file-cache`: where the host keeps the HTTP answers the plugin
    /// marks as cacheable.
    pub file_cache: Option<PathBuf>,
    /// `--dry-run`: the plugin is told (option `dry-run`), e.g. to skip
    /// attachment downloads.
    pub dry_run: bool,
    /// `--match-uids`: record uids the plugin returns may address existing
    /// records (Commander's `$record_uid` update). Off by default: a plugin
    /// does not choose which vault record it replaces, so its records come
    /// in as new ones, matched by content like records without a uid.
    pub match_uids: bool,
    /// The configuration's `native_plugins`: a native importer may run
    /// (off: it is refused, naming the setting).
    pub native_plugins: bool,
    /// Told the name and version of the importer once it is loaded as a
    /// native (unsandboxed) plugin, before any of its code is called:
    /// from the package actually loaded, and never for one refused.
    pub on_native: Option<OnNative<'a>>,
}

/// What [`Request::on_native`] calls.
#[derive(Clone, Copy)]
pub struct OnNative<'a>(pub &'a (dyn Fn(&str) + Sync));

impl std::fmt::Debug for OnNative<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnNative")
    }
}

/// The most records `keeper import` writes in one transaction; a larger
/// source is written in parts of this size (see the module documentation).
pub const PART_RECORDS: usize = 25_000;

/// The most record data (fields and attachments, bytes) of one part.
pub const PART_BYTES: usize = 64 * 1024 * 1024;

/// What a source produced, ready for the vault.
#[derive(Debug, Default)]
pub struct Collected {
    /// Shared folders to create, with their defaults and members.
    pub shared: Vec<SharedFolderEntry>,
    /// Records.
    pub records: Vec<NewRecord>,
    /// Teams and their members (Keeper JSON only).
    pub teams: Vec<TeamEntry>,
    /// Skipped parts of the source, with reasons.
    pub skipped: Vec<String>,
}

impl Collected {
    /// Appends another part.
    pub fn extend(&mut self, other: Self) {
        self.shared.extend(other.shared);
        self.records.extend(other.records);
        self.teams.extend(other.teams);
        self.skipped.extend(other.skipped);
    }
}

impl From<keeper_json::Parsed> for Collected {
    fn from(p: keeper_json::Parsed) -> Self {
        Self {
            shared: p.shared,
            records: p.records,
            teams: p.teams,
            skipped: Vec::new(),
        }
    }
}

/// Runs the importer plugin over the source and hands each of its batches,
/// converted, to `sink` before asking for the next.
///
/// # Errors
///
/// Unknown plugin or not an importer, an unreadable source, any plugin or
/// sandbox error (with the plugin's name), or the first error of `sink`.
pub async fn stream(
    plugin_dir: &Path,
    cache_dir: &Path,
    request: &Request<'_>,
    mut sink: impl FnMut(Collected) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let package = registry::find(plugin_dir, request.format)?;
    if package.manifest.kind != Kind::Importer {
        return Err(ImportError::NotAnImporter {
            plugin: package.manifest.id(),
            kind: package.manifest.kind,
        });
    }
    let runtime = Runtime::new(ArtifactCache::new(cache_dir.to_path_buf()))?
        .with_native_plugins(request.native_plugins);
    let plugin = runtime.load(&package)?;
    if plugin.is_native()
        && let Some(told) = request.on_native
    {
        (told.0)(&package.manifest.id());
    }
    let info = plugin.describe_importer().await?;

    let path = Path::new(request.source);
    let input = if request.source == "-" {
        InputSource::new(std::io::stdin(), None)
    } else if path.is_file() {
        let file = std::fs::File::open(path).map_err(|error| ImportError::Open {
            path: path.to_path_buf(),
            error,
        })?;
        let size = file.metadata().ok().map(|m| m.len());
        InputSource::new(file, size)
    } else if info.reads_input && !request.source.contains('@') {
        return Err(ImportError::Missing(path.to_path_buf()));
    } else {
        InputSource::new(std::io::empty(), Some(0))
    };

    let mut options = vec![("source".to_string(), request.source.to_string())];
    if let Some(t) = request.record_type {
        options.push(("record-type".into(), t.to_string()));
    }
    if let Some(server) = request.server {
        options.push((
            "lastpass-server".into(),
            server.trim_end_matches('/').to_string(),
        ));
    }
    if request.dry_run {
        options.push(("dry-run".into(), "true".into()));
    }
    options.extend(request.options.iter().cloned());
    let mut call = CallContext {
        secrets: request
            .options
            .iter()
            .filter(|(k, _)| k == "password")
            .map(|(_, v)| zeroize::Zeroizing::new(v.clone()))
            .collect(),
        ..Default::default()
    };
    if let Some(server) = request.server {
        // The user's server replaces the granted origin; nothing else opens.
        let origin = Origin::parse(server.trim_end_matches('/')).map_err(ImportError::Server)?;
        call.http_origins = Some(vec![origin]);
    }
    call.http_cache = request.file_cache.clone();

    let mut session = plugin.start_import(call, input, &options).await?;
    while let Some(batch) = session.next_batch().await? {
        let mut collected = Collected::default();
        for item in batch {
            match item {
                ImportItem::SharedFolder(sf) => collected.shared.push(SharedFolderEntry {
                    uid: None,
                    path: sf.path,
                    manage_users: sf.manage_users,
                    manage_records: sf.manage_records,
                    can_edit: sf.can_edit,
                    can_share: sf.can_share,
                    permissions: sf
                        .permissions
                        .into_iter()
                        .filter(|p| !p.name.trim().is_empty())
                        .map(|p| Permission {
                            uid: None,
                            // A team is known by a name that is not an e-mail.
                            name: p.name,
                            manage_users: p.manage_users,
                            manage_records: p.manage_records,
                        })
                        .collect(),
                }),
                ImportItem::Record(r) => {
                    let mut record = convert(r, request.record_type);
                    if !request.match_uids {
                        record.uid = None;
                    }
                    collected.records.push(record);
                }
                ImportItem::Skipped(reason) => collected.skipped.push(reason),
            }
        }
        sink(collected)?;
    }
    Ok(())
}

/// A plugin field value (plain text, or JSON text for structured types).
fn value(kind: &str, text: &str) -> Value {
    let parsed = if text.starts_with('{') || text.starts_with('[') {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    } else if kind == "date" {
        text.parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string()))
    } else {
        Value::String(text.to_string())
    };
    fields::coerce(kind, parsed)
}

/// A plugin's record in the vault's model: JSON-text values parsed and
/// coerced to the field type, empty values dropped, `record_type` (else
/// `login`) for an untyped record, a source uid kept when it is a valid uid.
pub fn convert(r: crate::runtime::plugin::ImportRecord, record_type: Option<&str>) -> NewRecord {
    let now = now_ms();
    let record_type = if r.record_type.is_empty() {
        record_type.unwrap_or("login").to_string()
    } else {
        r.record_type
    };
    let mut data = RecordData::new(&record_type, &r.title);
    let mut set = |custom: bool, f: &Field| {
        let values: Vec<Value> = f
            .values
            .iter()
            .filter(|v| !v.is_empty())
            .map(|v| value(&f.kind, v))
            .collect();
        if !values.is_empty() {
            data.set_field(custom, &f.kind, f.label.as_deref(), values, now);
        }
    };
    for f in &r.fields {
        set(false, f);
    }
    for f in &r.custom {
        set(true, f);
    }
    data.notes = r.notes.unwrap_or_default().into();
    let folders: Vec<FolderSpec> = r
        .locations
        .into_iter()
        .map(|l| FolderSpec {
            shared_folder: l.shared_folder,
            folder: l.folder,
            can_edit: l.can_edit,
            can_share: l.can_share,
        })
        .collect();
    NewRecord {
        uid: r.uid.filter(|u| crypto::is_uid(u)),
        data,
        folders,
        modified: None,
        attachments: r
            .attachments
            .into_iter()
            .map(|a| NewAttachment {
                name: a.name,
                mime: a
                    .mime
                    .unwrap_or_else(|| "application/octet-stream".to_string()),
                data: zeroize::Zeroizing::new(a.data),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_values_are_parsed_and_plain_ones_kept() {
        assert_eq!(
            value("host", r#"{"hostName":"db","port":"22"}"#)["hostName"],
            "db"
        );
        assert_eq!(
            value("date", "1700000000000"),
            Value::from(1_700_000_000_000_i64)
        );
        assert_eq!(
            value("login", "{not json"),
            Value::String("{not json".into())
        );
    }
}
