//! Keeper JSON (Commander's native import/export format, reference B5) and
//! Keeper CSV export (reference §2.3).
//!
//! Export lifts the first login/password/url into `login`/`password`/
//! `login_url`, writes every other non-empty field into `custom_fields`
//! (`$type`, `$type:label`, or a bare label for labelled custom text
//! fields), and lists folders and shared folders with their permissions.
//! Import reverses it: custom-field entries fill the record type's slots
//! (same type and label), the rest become custom fields. `export` then
//! `import` into an empty vault reproduces the same export. Not carried:
//! attachments (`fileRef`), password history and revisions.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::vault::crypto;
use crate::vault::membership::{SharedFolderEntry, TeamEntry};
use crate::vault::model::{fields, types};
use crate::vault::{
    Field, FolderKind, FolderSpec, FolderTree, NewRecord, Record, RecordData, Result, Vault,
    VaultError, path,
};

/// `custom_fields` key for a field.
fn field_key(f: &Field, custom: bool) -> String {
    match (&f.label, custom && f.kind == "text") {
        (Some(l), true) if !l.is_empty() && !l.starts_with('$') => l.clone(),
        (Some(l), _) if !l.is_empty() => format!("${}:{l}", f.kind),
        _ => format!("${}", f.kind),
    }
}

/// Parses a `custom_fields` key into (type, label).
fn parse_key(key: &str) -> (String, Option<String>) {
    let Some(rest) = key.strip_prefix('$') else {
        return ("text".to_string(), Some(key.to_string()));
    };
    // Strip a trailing `:N` index suffix.
    let rest = match rest.rsplit_once(':') {
        Some((head, n))
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && head.contains(':') =>
        {
            head
        }
        Some((head, n))
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !head.is_empty() =>
        {
            head
        }
        _ => rest,
    };
    match rest.split_once(':') {
        Some((t, l)) => (
            fields::canonical(t).unwrap_or(t).to_string(),
            (!l.is_empty()).then(|| l.to_string()),
        ),
        None => (fields::canonical(rest).unwrap_or(rest).to_string(), None),
    }
}

fn push_value(map: &mut Map<String, Value>, key: String, values: &[Value], multi: bool) {
    let v = if values.len() == 1 && !multi {
        values[0].clone()
    } else {
        Value::Array(values.to_vec())
    };
    match map.get_mut(&key) {
        None => {
            map.insert(key, v);
        }
        Some(Value::Array(list)) if !multi => match v {
            Value::Array(more) => list.extend(more),
            one => list.push(one),
        },
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, v]);
        }
    }
}

/// Exports every record, folder and shared folder the user sees.
///
/// # Errors
///
/// [`VaultError::Corrupted`] when something fails authentication.
pub fn export(vault: &Vault) -> Result<Value> {
    let tree = vault.folder_tree()?;
    let mut records = vault.records()?;
    records.sort_by(|a, b| a.data.title.cmp(&b.data.title).then(a.uid.cmp(&b.uid)));
    let mut shared: Vec<Value> = Vec::new();
    let mut sfs: Vec<_> = tree
        .all()
        .filter(|f| f.kind == FolderKind::Shared)
        .collect();
    sfs.sort_by_key(|f| tree.path_of(&f.uid));
    for sf in sfs {
        let d = sf.defaults.unwrap_or_default();
        let permissions: Vec<Value> = vault
            .folder_members(&sf.uid)?
            .into_iter()
            .map(|m| json!({"name": m.name, "manage_users": m.manage_users, "manage_records": m.manage_records}))
            .collect();
        shared.push(json!({
            "uid": sf.uid, "path": tree.path_of(&sf.uid),
            "manage_users": d.manage_users, "manage_records": d.manage_records,
            "can_edit": d.can_edit, "can_share": d.can_share, "permissions": permissions,
        }));
    }
    let out: Vec<Value> = records
        .iter()
        .map(|r| export_record(vault, &tree, r))
        .collect::<Result<_>>()?;
    Ok(json!({"shared_folders": shared, "records": out}))
}

fn export_record(vault: &Vault, tree: &FolderTree, r: &Record) -> Result<Value> {
    let d = &r.data;
    let mut obj = Map::new();
    obj.insert("uid".into(), r.uid.clone().into());
    obj.insert("title".into(), d.title.clone().into());
    obj.insert("$type".into(), d.record_type.clone().into());
    let mut lifted: HashSet<usize> = HashSet::new();
    for (kind, key) in [
        ("login", "login"),
        ("password", "password"),
        ("url", "login_url"),
    ] {
        if let Some((i, f)) = d
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.kind == kind && f.label.is_none() && f.value.len() == 1)
            && let Some(text) = f.text()
        {
            lifted.insert(i);
            if !text.is_empty() {
                obj.insert(key.into(), text.into());
            }
        }
    }
    if !d.notes.is_empty() {
        obj.insert("notes".into(), d.notes.as_str().into());
    }
    obj.insert("last_modified".into(), (r.modified / 1000).into());
    let mut custom = Map::new();
    for (i, f) in d.fields.iter().enumerate() {
        if lifted.contains(&i) || f.is_empty() || f.kind == "fileRef" {
            continue;
        }
        push_value(
            &mut custom,
            field_key(f, false),
            &f.value,
            fields::holds_many(&f.kind),
        );
    }
    for f in &d.custom {
        if f.is_empty() || f.kind == "fileRef" {
            continue;
        }
        push_value(
            &mut custom,
            field_key(f, true),
            &f.value,
            fields::holds_many(&f.kind),
        );
    }
    if !custom.is_empty() {
        obj.insert("custom_fields".into(), Value::Object(custom));
    }
    if types::find(&d.record_type).is_none() {
        let schema: Vec<Value> = d
            .fields
            .iter()
            .map(|f| Value::String(field_key(f, false)))
            .collect();
        obj.insert("schema".into(), Value::Array(schema));
    }
    let keys = vault.record_rights(&r.uid)?;
    let mut folders = Vec::new();
    for folder_uid in tree.folders_of(&r.uid) {
        let Some(folder) = tree.get(folder_uid) else {
            continue;
        };
        match &folder.shared_folder_uid {
            Some(sf) => {
                let sf_names = tree.names(sf);
                let names = tree.names(folder_uid);
                let sub = &names[sf_names.len().min(names.len())..];
                let perms = keys.iter().find(|k| &k.holder_uid == sf);
                let mut spec = Map::new();
                spec.insert("shared_folder".into(), path::join(&sf_names).into());
                if !sub.is_empty() {
                    spec.insert("folder".into(), path::join(sub).into());
                }
                spec.insert("can_edit".into(), perms.is_some_and(|k| k.can_edit).into());
                spec.insert(
                    "can_share".into(),
                    perms.is_some_and(|k| k.can_share).into(),
                );
                folders.push(Value::Object(spec));
            }
            None => folders.push(json!({"folder": tree.path_of(folder_uid)})),
        }
    }
    folders.sort_by_key(Value::to_string);
    if !folders.is_empty() {
        obj.insert("folders".into(), Value::Array(folders));
    }
    Ok(Value::Object(obj))
}

/// Builds a record payload from one Keeper JSON record.
///
/// # Errors
///
/// [`VaultError::Invalid`] when the record has no title.
pub fn record_from_json(v: &Value) -> Result<RecordData> {
    let obj = v
        .as_object()
        .ok_or_else(|| VaultError::Invalid("a record must be a JSON object".into()))?;
    let s = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let title = s("title");
    if title.trim().is_empty() {
        return Err(VaultError::Invalid("a record has no title".into()));
    }
    let record_type = match s("$type") {
        t if t.is_empty() => "login".to_string(),
        t => types::find(&t).map_or(t, |t| t.id.to_string()),
    };
    // Every candidate field, in file order.
    let mut pool: Vec<Field> = Vec::new();
    for (key, kind) in [
        ("login", "login"),
        ("password", "password"),
        ("login_url", "url"),
    ] {
        let text = s(key);
        if !text.is_empty() {
            pool.push(Field::new(kind, None, Value::String(text)));
        }
    }
    if let Some(custom) = obj.get("custom_fields").and_then(Value::as_object) {
        for (key, value) in custom {
            let (kind, label) = parse_key(key);
            let multi = fields::holds_many(&kind);
            let values: Vec<Value> = match value {
                Value::Array(list) if multi => vec![Value::Array(list.clone())],
                Value::Array(list) => list
                    .iter()
                    .map(|v| vec![v.clone()])
                    .map(Value::Array)
                    .collect(),
                one => vec![Value::Array(vec![one.clone()])],
            };
            for group in values {
                let items: Vec<Value> = match group {
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| fields::coerce(&kind, v))
                        .collect(),
                    other => vec![other],
                };
                pool.push(Field {
                    kind: kind.clone(),
                    label: label.clone(),
                    value: items,
                    required: false,
                });
            }
        }
    }
    // Slots: the record type's, or the file's schema for other types.
    let slots: Vec<(String, Option<String>, bool)> =
        match (types::find(&record_type), obj.get("schema")) {
            (Some(t), _) => t
                .fields
                .iter()
                .map(|f| (f.kind.to_string(), f.label.map(str::to_string), f.required))
                .collect(),
            (None, Some(Value::Array(schema))) => schema
                .iter()
                .filter_map(Value::as_str)
                .map(|k| {
                    let (t, l) = parse_key(k);
                    (t, l, false)
                })
                .collect(),
            (None, _) => Vec::new(),
        };
    let mut used = vec![false; pool.len()];
    let mut out_fields = Vec::with_capacity(slots.len());
    for (kind, label, required) in &slots {
        let pick = pool
            .iter()
            .enumerate()
            .position(|(i, f)| !used[i] && f.kind == *kind && f.label == *label);
        match pick {
            Some(i) => {
                used[i] = true;
                let mut f = pool[i].clone();
                f.required = *required;
                out_fields.push(f);
            }
            None => out_fields.push(Field::empty(kind, label.as_deref(), *required)),
        }
    }
    let custom: Vec<Field> = pool
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(_, f)| f.clone())
        .collect();
    let mut data = RecordData::new(&record_type, title.trim());
    data.fields = out_fields;
    data.custom = custom;
    data.notes = s("notes").into();
    Ok(data)
}

fn folder_specs(v: &Value) -> Vec<FolderSpec> {
    let Some(list) = v.get("folders").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(Value::as_object)
        .map(|o| FolderSpec {
            shared_folder: o
                .get("shared_folder")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            folder: o
                .get("folder")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            can_edit: o.get("can_edit").and_then(Value::as_bool).unwrap_or(false),
            can_share: o.get("can_share").and_then(Value::as_bool).unwrap_or(false),
        })
        .collect()
}

/// A Keeper JSON document, parsed: shared folders (with their members)
/// and records.
#[derive(Debug, Default)]
pub struct Parsed {
    /// `shared_folders`.
    pub shared: Vec<SharedFolderEntry>,
    /// `records`.
    pub records: Vec<NewRecord>,
    /// `teams`.
    pub teams: Vec<TeamEntry>,
}

/// Parses a Keeper JSON document (an object with `records`,
/// `shared_folders` and `teams`, or a bare list of records) for the import
/// engine; nothing is written.
///
/// # Errors
///
/// [`VaultError::Invalid`] for a malformed document, naming the entry.
pub fn parse(doc: &Value) -> Result<Parsed> {
    let empty = Vec::new();
    let list = |o: &Map<String, Value>, k: &str| -> Vec<Value> {
        o.get(k).and_then(Value::as_array).unwrap_or(&empty).clone()
    };
    let (records, shared, teams) = match doc {
        Value::Array(list) => (list.clone(), Vec::new(), Vec::new()),
        Value::Object(o) => (
            list(o, "records"),
            list(o, "shared_folders"),
            list(o, "teams"),
        ),
        _ => {
            return Err(VaultError::Invalid(
                "a Keeper JSON file holds an object or a list of records".into(),
            ));
        }
    };
    let mut parsed = Parsed::default();
    for (i, r) in records.iter().enumerate() {
        let data = record_from_json(r)
            .map_err(|e| VaultError::Invalid(format!("record #{}: {e}", i + 1)))?;
        let uid = r
            .get("uid")
            .and_then(Value::as_str)
            .filter(|u| crypto::is_uid(u))
            .map(str::to_string);
        let modified = r
            .get("last_modified")
            .and_then(Value::as_i64)
            .map(|s| if s > 100_000_000_000 { s } else { s * 1000 });
        parsed.records.push(NewRecord {
            uid,
            modified,
            folders: folder_specs(r),
            ..NewRecord::new(data)
        });
    }
    for (i, v) in shared.into_iter().enumerate() {
        parsed.shared.push(
            serde_json::from_value(v)
                .map_err(|e| VaultError::Invalid(format!("shared folder #{}: {e}", i + 1)))?,
        );
    }
    for (i, v) in teams.into_iter().enumerate() {
        parsed.teams.push(
            serde_json::from_value(v)
                .map_err(|e| VaultError::Invalid(format!("team #{}: {e}", i + 1)))?,
        );
    }
    Ok(parsed)
}

/// Keeper CSV export: `folder, title, login, password, url, notes,
/// shared folder[#edit][#reshare], $record_uid, uid, $type, type, key, value…`.
///
/// # Errors
///
/// As [`export`].
pub fn export_csv(vault: &Vault) -> Result<String> {
    let tree = vault.folder_tree()?;
    let mut records = vault.records()?;
    records.sort_by(|a, b| a.data.title.cmp(&b.data.title).then(a.uid.cmp(&b.uid)));
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let csv_err = |e: csv::Error| VaultError::Storage(format!("CSV: {e}"));
    for r in &records {
        let d = &r.data;
        let (mut folder, mut shared) = (String::new(), String::new());
        if let Some(f) = tree.folders_of(&r.uid).iter().find_map(|f| tree.get(f)) {
            match &f.shared_folder_uid {
                Some(sf) => {
                    let sf_names = tree.names(sf);
                    let names = tree.names(&f.uid);
                    folder = path::join(&names[sf_names.len().min(names.len())..]);
                    shared = path::join(&sf_names);
                    let keys = vault.record_rights(&r.uid)?;
                    if let Some(k) = keys.iter().find(|k| &k.holder_uid == sf) {
                        if k.can_edit {
                            shared.push_str("#edit");
                        }
                        if k.can_share {
                            shared.push_str("#reshare");
                        }
                    }
                }
                None => folder = tree.path_of(&f.uid),
            }
        }
        let mut row = vec![
            folder,
            d.title.clone(),
            d.login().unwrap_or_default().to_string(),
            d.password().unwrap_or_default().to_string(),
            d.url().unwrap_or_default().to_string(),
            d.notes.to_string(),
            shared,
            "$record_uid".into(),
            r.uid.clone(),
            "$type".into(),
            d.record_type.clone(),
        ];
        let mut skipped = HashSet::new();
        for kind in ["login", "password", "url"] {
            if let Some(i) = d
                .fields
                .iter()
                .position(|f| f.kind == kind && f.label.is_none())
            {
                skipped.insert(i);
            }
        }
        let others = d
            .fields
            .iter()
            .enumerate()
            .filter(|(i, _)| !skipped.contains(i))
            .map(|(_, f)| (f, false));
        for (f, custom) in others.chain(d.custom.iter().map(|f| (f, true))) {
            if f.is_empty() || f.kind == "fileRef" {
                continue;
            }
            let key = match (&f.label, custom && f.kind == "text") {
                (Some(l), true) => l.clone(),
                (Some(l), false) => format!("${}:{l}", f.kind),
                (None, _) => format!("${}", f.kind),
            };
            let values: Vec<String> = f
                .value
                .iter()
                .map(|v| fields::display(&f.kind, v, true).replace('\n', " "))
                .collect();
            row.push(key);
            row.push(values.join("\n"));
        }
        w.write_record(&row).map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| VaultError::Storage(format!("CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| VaultError::Storage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_grammar() {
        assert_eq!(
            parse_key("2FA Phone"),
            ("text".into(), Some("2FA Phone".into()))
        );
        assert_eq!(parse_key("$oneTimeCode"), ("oneTimeCode".into(), None));
        assert_eq!(
            parse_key("$text:SSID"),
            ("text".into(), Some("SSID".into()))
        );
        assert_eq!(parse_key("$oneTimeCode:1"), ("oneTimeCode".into(), None));
        assert_eq!(
            parse_key("$text:SSID:2"),
            ("text".into(), Some("SSID".into()))
        );
        assert_eq!(
            parse_key("cmdr:plugin"),
            ("text".into(), Some("cmdr:plugin".into()))
        );
    }

    #[test]
    fn sample_record_fills_slots() {
        let v = json!({"title": "Web", "$type": "serverCredentials", "login": "root", "password": "pw",
            "custom_fields": {"$host": {"hostName": "web01", "port": "22"}, "cmdr:plugin": "ssh",
                              "$url": ["https://a", "https://b"]}});
        let d = record_from_json(&v).expect("parses");
        assert_eq!(
            d.fields.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(),
            ["host", "login", "password", "fileRef"]
        );
        assert_eq!(
            d.field("host").map(|f| f.value[0]["port"].clone()),
            Some(json!("22"))
        );
        assert_eq!(d.custom_text("cmdr:plugin"), Some("ssh"));
        assert_eq!(d.custom.iter().filter(|f| f.kind == "url").count(), 2);
        assert!(record_from_json(&json!({"title": ""})).is_err());
    }
}
