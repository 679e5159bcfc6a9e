//! Importing through importer plugins (`import --format csv|lastpass|<plugin>`).
//!
//! The host opens the source and streams it to the plugin through the
//! `input` interface (or, for online sources, the plugin talks HTTP to the
//! one origin the host grants); the plugin returns batches of shared
//! folders, records and skipped rows. Every record is converted to the
//! vault's model and the whole import is written by the vault's import
//! engine in **one transaction**: a failed import (malformed source, plugin
//! error, sandbox limit) leaves the vault exactly as it was, and importing
//! the same source twice creates no duplicates (identical records are
//! recognised by their content hash).
//!
//! Malformed rows do not fail an import: plugins report them as skipped
//! items with their line numbers, which `--show-skipped` prints.

use std::path::Path;

use serde_json::Value;

use crate::runtime::capability::http::Origin;
use crate::runtime::plugin::{Field, ImportItem};
use crate::runtime::{ArtifactCache, CallContext, InputSource, Kind, Runtime, registry};
use crate::vault::keeper_json::{FolderSpec, ImportRecord};
use crate::vault::model::{RecordData, fields, now_ms};
use crate::vault::store::SharedFolderDefaults;

/// What the user asked for.
#[derive(Debug, Default)]
pub struct Request<'a> {
    /// Importer plugin name (`--format`).
    pub format: &'a str,
    /// The source: a file, `-` for stdin, or an account (online importers).
    pub source: &'a str,
    /// `--folder`: put everything under this folder.
    pub folder: Option<&'a str>,
    /// `--record-type`: the type of records the source does not type.
    pub record_type: Option<&'a str>,
    /// `--lastpass-server`: the one origin the lastpass plugin may reach.
    pub server: Option<&'a str>,
    /// Extra options for the plugin (`password`, `otp`, ...).
    pub options: Vec<(String, String)>,
}

/// What a plugin produced, ready for the vault.
#[derive(Debug, Default)]
pub struct Collected {
    /// Shared folders to create, with their defaults.
    pub shared: Vec<(String, SharedFolderDefaults)>,
    /// Records.
    pub records: Vec<ImportRecord>,
    /// Skipped parts of the source, with reasons.
    pub skipped: Vec<String>,
}

/// Runs the importer plugin over the source and collects its items.
///
/// # Errors
///
/// Unknown plugin or not an importer, an unreadable source, or any plugin
/// or sandbox error (with the plugin's name).
pub async fn collect(
    plugin_dir: &Path,
    cache_dir: &Path,
    request: &Request<'_>,
) -> anyhow::Result<Collected> {
    let package = registry::find(plugin_dir, request.format)?;
    if package.manifest.kind != Kind::Importer {
        anyhow::bail!(
            "plugin {} is a {}, not an importer",
            package.manifest.id(),
            package.manifest.kind
        );
    }
    let runtime = Runtime::new(ArtifactCache::new(cache_dir.to_path_buf()))?;
    let plugin = runtime.load(&package)?;
    let info = plugin.describe_importer().await?;

    let path = Path::new(request.source);
    let input = if request.source == "-" {
        InputSource::new(std::io::stdin(), None)
    } else if path.is_file() {
        let file = std::fs::File::open(path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        InputSource::new(file, size)
    } else if info.reads_input && !request.source.contains('@') {
        anyhow::bail!("{} does not exist", path.display());
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
        let origin = Origin::parse(server.trim_end_matches('/'))
            .map_err(|e| anyhow::anyhow!("--lastpass-server: {e}"))?;
        call.http_origins = Some(vec![origin]);
    }

    let mut session = plugin.start_import(call, input, &options).await?;
    let mut collected = Collected::default();
    while let Some(batch) = session.next_batch().await? {
        for item in batch {
            match item {
                ImportItem::SharedFolder(sf) => collected.shared.push((
                    prefixed(request.folder, &sf.path),
                    SharedFolderDefaults {
                        manage_users: sf.manage_users,
                        manage_records: sf.manage_records,
                        can_edit: sf.can_edit,
                        can_share: sf.can_share,
                    },
                )),
                ImportItem::Record(r) => collected.records.push(convert(r, request)),
                ImportItem::Skipped(reason) => collected.skipped.push(reason),
            }
        }
    }
    Ok(collected)
}

/// `folder\path` under `--folder` when given.
fn prefixed(folder: Option<&str>, path: &str) -> String {
    match folder {
        Some(f) if !f.is_empty() => format!("{}\\{}", f.trim_end_matches('\\'), path),
        _ => path.to_string(),
    }
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

fn convert(r: crate::runtime::plugin::ImportRecord, request: &Request<'_>) -> ImportRecord {
    let now = now_ms();
    let record_type = if r.record_type.is_empty() {
        request.record_type.unwrap_or("login").to_string()
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
    data.notes = r.notes.unwrap_or_default();
    let mut folders: Vec<FolderSpec> = r
        .locations
        .into_iter()
        .map(|l| FolderSpec {
            shared_folder: l
                .shared_folder
                .as_deref()
                .map(|s| prefixed(request.folder, s)),
            folder: match (&l.folder, request.folder) {
                (Some(f), Some(base)) if l.shared_folder.is_none() => Some(prefixed(Some(base), f)),
                (f, _) => f.clone(),
            },
            can_edit: l.can_edit,
            can_share: l.can_share,
        })
        .collect();
    if folders.is_empty() {
        if let Some(base) = request.folder {
            folders.push(FolderSpec {
                folder: Some(base.to_string()),
                ..Default::default()
            });
        }
    }
    ImportRecord {
        uid: None,
        data,
        folders,
        modified: None,
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
        assert_eq!(prefixed(Some("Imported\\"), "A\\B"), "Imported\\A\\B");
        assert_eq!(prefixed(None, "A"), "A");
    }
}
