//! Record commands: `add`/`record-add`, `get`, `edit`/`record-update`,
//! `rm`, `history`, `upload-attachment`, `download-attachment`, and
//! Commander's field syntax (`type[.label]=value`, `c.type.label=value`,
//! `$GEN`, `$JSON:`, `file=@path`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::{confirm, unlock};
use crate::cli::Format;
use crate::cli::vault::{
    AddArgs, DownloadArgs, EditArgs, GetArgs, HistoryAction, HistoryArgs, RmArgs, UploadArgs,
};
use crate::context::Context;
use crate::output::print_listing;
use crate::rotation::password;
use crate::vault::model::{fields, types};
use crate::vault::{FolderTree, Record, RecordData, Vault, now_ms};

/// One `name=value` argument.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FieldArg {
    /// `c.` prefix: a custom field.
    pub custom: bool,
    /// Field type.
    pub kind: String,
    /// Label.
    pub label: Option<String>,
    /// The raw value (`$GEN`, `$JSON:`… not yet expanded).
    pub value: String,
}

/// An attachment argument (`file=@path`).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Arg {
    /// A field.
    Field(FieldArg),
    /// A file to attach.
    Attach(PathBuf),
}

/// Parses Commander's field syntax.
///
/// `login=me`, `password=$GEN`, `text.Account ID=42` (label after the first
/// dot), `c.text.cmdr:plugin=ssh` or `c.cmdr:plugin=ssh` (custom; an unknown
/// type after `c.` is a label of a text field), `file=@/path` (attachment).
pub(super) fn parse_arg(arg: &str) -> anyhow::Result<Arg> {
    let Some((name, value)) = arg.split_once('=') else {
        bail!("field {arg:?} is not name=value (e.g. login=alice, c.text.label=value)");
    };
    let name = name.trim();
    if name == "file" || name == "fileRef" {
        if let Some(path) = value.strip_prefix('@') {
            return Ok(Arg::Attach(PathBuf::from(path)));
        }
    }
    let (custom, rest) = match name
        .strip_prefix("c.")
        .or_else(|| name.strip_prefix("custom."))
    {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    let (head, label) = match rest.split_once('.') {
        Some((h, l)) => (h, Some(l.trim().to_string()).filter(|l| !l.is_empty())),
        None => (rest, None),
    };
    let (kind, label) = match fields::canonical(head) {
        Some(k) => (k.to_string(), label),
        None if custom => ("text".to_string(), Some(rest.to_string())),
        None => bail!(
            "unknown field type {head:?} in {name:?}; custom fields are written c.type.label=value or c.label=value"
        ),
    };
    Ok(Arg::Field(FieldArg {
        custom,
        kind,
        label,
        value: value.to_string(),
    }))
}

/// Expands a field value: `$GEN`, `$JSON:`, text forms. `None` = remove.
fn field_value(f: &FieldArg) -> anyhow::Result<Option<Value>> {
    if f.value.is_empty() {
        return Ok(None);
    }
    if let Some(generated) = password::from_gen_spec(&f.value) {
        if !matches!(fields::shape(&f.kind), Some(fields::Shape::Text)) {
            bail!(
                "$GEN works for text fields such as password or secret, not {}",
                f.kind
            );
        }
        let secret = generated.map_err(anyhow::Error::msg)?;
        return Ok(Some(Value::String(secret.to_string())));
    }
    fields::parse_text(&f.kind, &f.value)
        .map(Some)
        .map_err(anyhow::Error::msg)
}

/// Applies field arguments to a record; returns the files to attach.
fn apply_args(
    data: &mut RecordData,
    args: &[String],
    adding: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let now = now_ms();
    let mut files = Vec::new();
    let mut seen: Vec<(bool, String, Option<String>)> = Vec::new();
    for raw in args {
        let f = match parse_arg(raw)? {
            Arg::Attach(p) => {
                files.push(p);
                continue;
            }
            Arg::Field(f) => f,
        };
        // A typed field that is not one of the record type's slots lives in `custom`.
        let custom = f.custom
            || !types::is_slot(&data.record_type, &f.kind)
                && types::find(&data.record_type).is_some();
        let value = field_value(&f)?;
        let key = (custom, f.kind.clone(), f.label.clone());
        match value {
            None if adding => {}
            None => data.set_field(custom, &f.kind, f.label.as_deref(), Vec::new(), now),
            Some(v) if seen.contains(&key) => {
                // Repeated name: multi-value types get another value, others
                // another field (Keeper JSON's "list → several fields").
                let list = if custom {
                    &mut data.custom
                } else {
                    &mut data.fields
                };
                let existing = list
                    .iter_mut()
                    .rev()
                    .find(|x| x.matches(&f.kind, f.label.as_deref()));
                match existing {
                    Some(x) if fields::holds_many(&f.kind) => x.value.push(v),
                    _ => data
                        .custom
                        .push(crate::vault::Field::new(&f.kind, f.label.as_deref(), v)),
                }
            }
            Some(v) => {
                data.set_field(custom, &f.kind, f.label.as_deref(), vec![v], now);
                seen.push(key);
            }
        }
    }
    Ok(files)
}

fn attach(vault: &mut Vault, uid: &str, files: &[PathBuf]) -> anyhow::Result<()> {
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.len() > crate::vault::MAX_ATTACHMENT {
            bail!(
                "attachment {} is {} bytes; the limit is {} bytes",
                path.display(),
                meta.len(),
                crate::vault::MAX_ATTACHMENT
            );
        }
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        );
        vault.add_attachment(uid, &name, "application/octet-stream", &bytes)?;
    }
    Ok(())
}

/// The title (`-t`, or the one argument without `=`) and the field
/// arguments (with `password=$GEN` for `-g`).
fn title_and_fields(args: &AddArgs) -> anyhow::Result<(String, Vec<String>)> {
    let mut fields = Vec::with_capacity(args.fields.len() + 1);
    let mut title = args.title.clone();
    for f in &args.fields {
        if !f.contains('=') && title.is_none() {
            title = Some(f.clone());
        } else if !f.contains('=') {
            bail!(
                "{f:?} is not a field (`type=value`); the title is given once, with -t or as the one argument without `=`"
            );
        } else {
            fields.push(f.clone());
        }
    }
    if args.generate {
        if args.password.is_some() {
            bail!("-g generates the password; do not also give --pass");
        }
        fields.push("password=$GEN".into());
    }
    let title = title.map(|t| t.trim().to_string()).unwrap_or_default();
    if title.is_empty() {
        bail!("a record needs a title (-t TITLE, or the one argument without `=`)");
    }
    Ok((title, fields))
}

/// `keeper add`.
pub(super) fn add(ctx: &Context, args: &AddArgs) -> anyhow::Result<ExitCode> {
    let Some(rt) = types::find(&args.record_type) else {
        let known: Vec<&str> = types::RECORD_TYPES.iter().map(|t| t.id).collect();
        bail!(
            "unknown record type {:?}; known types: {}",
            args.record_type,
            known.join(", ")
        );
    };
    let (title, fields) = title_and_fields(args)?;
    let mut data = RecordData::new(rt.id, &title);
    let files = apply_args(&mut data, &fields, true)?;
    if let Some(n) = &args.notes {
        data.notes = n.clone().into();
    }
    let now = now_ms();
    for (kind, value) in [
        ("login", args.login.as_deref()),
        ("url", args.url.as_deref()),
        (
            "password",
            args.password.as_ref().map(|p| p.expose_secret()),
        ),
    ] {
        if let Some(v) = value {
            let custom = !types::is_slot(&data.record_type, kind);
            data.set_field(custom, kind, None, vec![Value::String(v.to_string())], now);
        }
    }
    let mut vault = unlock(ctx)?;
    let tree = vault.folder_tree()?;
    let folder = match &args.folder {
        Some(f) => tree.resolve(f)?.to_string(),
        None => tree.root().to_string(),
    };
    if !args.force {
        let in_folder = tree.records_in(&folder);
        let clash = vault
            .records()?
            .into_iter()
            .any(|r| r.data.title == data.title && in_folder.contains(&r.uid));
        if clash {
            bail!(
                "a record titled {:?} already exists in this folder; pass --force to add another",
                data.title
            );
        }
    }
    let uid = vault.add_record(data, Some(&folder))?;
    attach(&mut vault, &uid, &files)?;
    ctx.variables()
        .set(crate::automation::variables::LAST_RECORD_UID, &uid)?;
    println!("{uid}");
    Ok(ExitCode::SUCCESS)
}

/// The printable name of a field (`label` or the type).
fn field_title(f: &crate::vault::Field) -> String {
    f.label
        .clone()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| f.kind.clone())
}

/// A field's values as JSON, masked unless `unmask`.
fn masked_values(f: &crate::vault::Field, unmask: bool) -> Vec<Value> {
    if unmask || !fields::is_secret(&f.kind) {
        return f.value.to_vec();
    }
    f.value
        .iter()
        .map(|v| {
            if fields::value_is_empty(v) {
                v.clone()
            } else {
                json!("********")
            }
        })
        .collect()
}

/// A record as JSON (`get --format json`).
pub(super) fn record_json(r: &Record, tree: &FolderTree, unmask: bool) -> Value {
    let list = |fs: &[crate::vault::Field]| -> Vec<Value> {
        fs.iter()
            .map(|f| {
                let mut o = json!({"type": f.kind, "value": masked_values(f, unmask)});
                if let Some(l) = &f.label {
                    o["label"] = json!(l);
                }
                o
            })
            .collect()
    };
    json!({
        "uid": r.uid, "type": r.data.record_type, "title": r.data.title,
        "fields": list(&r.data.fields), "custom": list(&r.data.custom), "notes": r.data.notes,
        "revision": r.revision, "modified": r.modified,
        "folders": folder_paths(r, tree),
        "attachments": r.data.attachments,
    })
}

fn folder_paths(r: &Record, tree: &FolderTree) -> Vec<String> {
    tree.folders_of(&r.uid)
        .iter()
        .map(|f| {
            if f == tree.root() {
                "\\".to_string()
            } else {
                tree.path_of(f)
            }
        })
        .collect()
}

/// `(label, value)` rows describing a record.
fn record_rows(r: &Record, tree: &FolderTree, unmask: bool) -> Vec<(String, String)> {
    let mut rows = vec![
        ("UID".to_string(), r.uid.clone()),
        ("Type".into(), r.data.record_type.clone()),
        ("Title".into(), r.data.title.clone()),
    ];
    for f in r.data.fields.iter().chain(&r.data.custom) {
        if f.is_empty() || f.kind == "fileRef" {
            continue;
        }
        for v in f.value.iter() {
            rows.push((field_title(f), fields::display(&f.kind, v, unmask)));
        }
    }
    if !r.data.notes.is_empty() {
        rows.push(("Notes".into(), r.data.notes.to_string()));
    }
    for p in folder_paths(r, tree) {
        rows.push(("Folder".into(), p));
    }
    for a in &r.data.attachments {
        rows.push((
            "Attachment".into(),
            format!("{} ({} bytes, {})", a.name, a.size, a.uid),
        ));
    }
    rows.push(("Revision".into(), r.revision.to_string()));
    rows.push(("Modified".into(), fields::format_time(r.modified)));
    rows
}

fn print_record(r: &Record, tree: &FolderTree, unmask: bool, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&record_json(r, tree, unmask))?
        ),
        Format::Csv => {
            let rows: Vec<Vec<String>> = record_rows(r, tree, unmask)
                .into_iter()
                .map(|(k, v)| vec![k, v])
                .collect();
            print_listing(Format::Csv, &["Field", "Value"], &rows, &())?;
        }
        Format::Table => {
            let rows = record_rows(r, tree, unmask);
            let width = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (k, v) in rows {
                let mut lines = v.lines();
                println!("{k:>width$}: {}", lines.next().unwrap_or(""));
                for more in lines {
                    println!("{:>width$}  {more}", "");
                }
            }
        }
    }
    Ok(())
}

/// `keeper get`.
pub(super) fn get(ctx: &Context, args: &GetArgs) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let record = vault.find_record(&args.record)?;
    let tree = vault.folder_tree()?;
    print_record(
        &record,
        &tree,
        args.unmask || ctx.options.unmask_all,
        args.format,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `keeper edit`.
pub(super) fn edit(ctx: &Context, args: &EditArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let record = vault.find_record(&args.record)?;
    let new_type = match &args.record_type {
        Some(t) => Some(
            types::find(t)
                .map(|t| t.id.to_string())
                .with_context(|| format!("unknown record type {t:?}"))?,
        ),
        None => None,
    };
    let mut files = Vec::new();
    let updated = vault.update_record(&record.uid, |d| {
        if let Some(t) = &args.title {
            if t.trim().is_empty() {
                return Err(crate::vault::VaultError::Invalid(
                    "the title must not be empty".into(),
                ));
            }
            d.title = t.trim().to_string();
        }
        if let Some(t) = &new_type {
            d.record_type = t.clone();
        }
        match args.notes.as_deref() {
            Some(n) if n.starts_with('+') => {
                if !d.notes.is_empty() {
                    d.notes.push('\n');
                }
                d.notes.push_str(&n[1..]);
            }
            Some(n) => d.notes = n.to_string().into(),
            None => {}
        }
        files = apply_args(d, &args.fields, false)
            .map_err(|e| crate::vault::VaultError::Invalid(format!("{e:#}")))?;
        Ok(())
    })?;
    attach(&mut vault, &record.uid, &files)?;
    println!("{} (revision {})", updated.uid, updated.revision);
    Ok(ExitCode::SUCCESS)
}

/// `keeper rm`.
pub(super) fn rm(ctx: &Context, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let mut targets = Vec::new();
    for r in &args.records {
        targets.push(vault.find_record(r)?);
    }
    let titles: Vec<&str> = targets.iter().map(|r| r.data.title.as_str()).collect();
    if !confirm(
        &format!("Delete {} record(s): {}?", targets.len(), titles.join(", ")),
        args.force,
    )? {
        bail!("cancelled");
    }
    for r in &targets {
        vault.delete_record(&r.uid)?;
    }
    println!("Deleted {} record(s)", targets.len());
    Ok(ExitCode::SUCCESS)
}

/// Field names whose values differ between two revisions.
fn changes(old: &RecordData, new: &RecordData) -> String {
    let mut out = Vec::new();
    if old.title != new.title {
        out.push("title".to_string());
    }
    if old.record_type != new.record_type {
        out.push("type".to_string());
    }
    if old.notes != new.notes {
        out.push("notes".to_string());
    }
    for f in new.fields.iter().chain(&new.custom) {
        let before = old
            .fields
            .iter()
            .chain(&old.custom)
            .find(|o| o.kind == f.kind && o.label == f.label);
        if before.map(|b| &b.value) != Some(&f.value) && !(before.is_none() && f.is_empty()) {
            out.push(field_title(f));
        }
    }
    for f in old.fields.iter().chain(&old.custom) {
        let gone = !new
            .fields
            .iter()
            .chain(&new.custom)
            .any(|n| n.kind == f.kind && n.label == f.label);
        if gone && !f.is_empty() {
            out.push(format!("-{}", field_title(f)));
        }
    }
    if old.attachments.len() != new.attachments.len() {
        out.push("attachments".into());
    }
    out.join(", ")
}

/// `keeper history`.
pub(super) fn history(ctx: &Context, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let record = vault.find_record(&args.record)?;
    match args.action {
        HistoryAction::List => {
            let revisions = vault.history(&record.uid)?;
            let mut rows = Vec::new();
            let mut json_rows = Vec::new();
            for (i, r) in revisions.iter().enumerate() {
                let what = match i {
                    0 => "created".to_string(),
                    _ => changes(&revisions[i - 1].data, &r.data),
                };
                rows.push(vec![
                    r.revision.to_string(),
                    fields::format_time(r.modified),
                    r.data.title.clone(),
                    what.clone(),
                ]);
                json_rows.push(json!({"revision": r.revision, "modified": r.modified, "title": r.data.title, "changes": what}));
            }
            rows.reverse();
            json_rows.reverse();
            print_listing(
                args.format,
                &["Revision", "Modified", "Title", "Changes"],
                &rows,
                &json_rows,
            )?;
        }
        HistoryAction::View => {
            let Some(rev) = args.revision else {
                bail!("history -a view needs -r REVISION")
            };
            let revisions = vault.history(&record.uid)?;
            let r = revisions
                .iter()
                .find(|r| r.revision == rev)
                .with_context(|| format!("record {} has no revision {rev}", record.uid))?;
            print_record(
                r,
                &vault.folder_tree()?,
                args.unmask || ctx.options.unmask_all,
                args.format,
            )?;
        }
        HistoryAction::Password => {
            let mask = |p: &str| {
                if args.unmask || ctx.options.unmask_all {
                    p.to_string()
                } else {
                    "********".to_string()
                }
            };
            let mut rows = Vec::new();
            let mut json_rows = Vec::new();
            for h in record.data.password_history.iter().rev() {
                rows.push(vec![mask(&h.password), fields::format_time(h.replaced)]);
                json_rows.push(json!({"password": mask(&h.password), "replaced": h.replaced}));
            }
            print_listing(args.format, &["Password", "Replaced"], &rows, &json_rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keeper upload-attachment`.
pub(super) fn upload(ctx: &Context, args: &UploadArgs) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let record = vault.find_record(&args.record)?;
    attach(&mut vault, &record.uid, &args.file)?;
    println!("Attached {} file(s) to {}", args.file.len(), record.uid);
    Ok(ExitCode::SUCCESS)
}

/// `keeper download-attachment`.
pub(super) fn download(ctx: &Context, args: &DownloadArgs) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let record = vault.find_record(&args.record)?;
    let wanted: Vec<String> = match &args.name {
        Some(n) => vec![n.clone()],
        None => record
            .data
            .attachments
            .iter()
            .map(|a| a.uid.clone())
            .collect(),
    };
    if wanted.is_empty() {
        bail!("record {} has no attachments", record.uid);
    }
    let dir = args.out_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    for w in wanted {
        let (meta, bytes) = vault.attachment(&record.uid, &w)?;
        // Never let a stored name escape the output directory.
        let name = std::path::Path::new(&meta.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty() && n != "." && n != "..")
            .unwrap_or_else(|| meta.uid.clone());
        let path = dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        std::io::Write::write_all(&mut file, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        super::users::restrict_file(&path);
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(custom: bool, kind: &str, label: Option<&str>, value: &str) -> Arg {
        Arg::Field(FieldArg {
            custom,
            kind: kind.into(),
            label: label.map(Into::into),
            value: value.into(),
        })
    }

    #[test]
    fn field_syntax() {
        assert_eq!(
            parse_arg("login=alice").ok(),
            Some(field(false, "login", None, "alice"))
        );
        assert_eq!(
            parse_arg("password=a=b").ok(),
            Some(field(false, "password", None, "a=b"))
        );
        assert_eq!(
            parse_arg("text.Account ID=42").ok(),
            Some(field(false, "text", Some("Account ID"), "42"))
        );
        assert_eq!(
            parse_arg("c.text.cmdr:plugin=ssh").ok(),
            Some(field(true, "text", Some("cmdr:plugin"), "ssh"))
        );
        assert_eq!(
            parse_arg("c.cmdr:plugin=ssh").ok(),
            Some(field(true, "text", Some("cmdr:plugin"), "ssh"))
        );
        assert_eq!(
            parse_arg("c.host.db=h:1").ok(),
            Some(field(true, "host", Some("db"), "h:1"))
        );
        assert_eq!(parse_arg("url=").ok(), Some(field(false, "url", None, "")));
        assert_eq!(
            parse_arg("file=@/tmp/x").ok(),
            Some(Arg::Attach(PathBuf::from("/tmp/x")))
        );
        assert!(parse_arg("bogus=1").is_err());
        assert!(parse_arg("novalue").is_err());
    }

    #[test]
    fn apply_sets_slots_custom_and_gen() {
        let mut d = RecordData::new("serverCredentials", "s");
        let args: Vec<String> = [
            "host=db:3306",
            "login=root",
            "password=$GEN:rand,30",
            "email=a@b.c",
            "c.text.cmdr:plugin=mysql",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        apply_args(&mut d, &args, true).expect("applies");
        assert_eq!(
            d.field("host").map(|f| f.value[0]["port"].clone()),
            Some(json!("3306"))
        );
        assert_eq!(d.password().map(str::len), Some(30));
        assert!(d.custom.iter().any(|f| f.kind == "email"));
        assert_eq!(d.custom_text("cmdr:plugin"), Some("mysql"));
        apply_args(&mut d, &["c.text.cmdr:plugin=".to_string()], false).expect("removes");
        assert_eq!(d.custom_text("cmdr:plugin"), None);
        assert!(apply_args(&mut d, &["host=$GEN".to_string()], false).is_err());
    }
}
