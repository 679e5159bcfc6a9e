//! Keeper JSON (Commander's native import/export format, reference B5) and
//! Keeper CSV export (reference §2.3).
//!
//! Export lifts the first login/password/url into `login`/`password`/
//! `login_url`, writes every other non-empty field into `custom_fields`
//! (`$type:label:N` or `$type::N`, N counting the fields of that type and
//! label from 1, as Keeper's own exports do; a bare label for labelled
//! custom text fields), links to other records (`addressRef`, `cardRef`,
//! `recordRef` fields) into `references`, and lists folders and shared
//! folders with their permissions. Import reverses it: custom-field entries
//! fill the record type's slots (same type and label), the rest become
//! custom fields; `references` become link fields again, re-linked to the
//! uids the records they name get in this vault (a source may name records
//! by its own ids, e.g. `"$addressRef::1": [65]` for the record whose
//! `uid` is 65). Titles are kept as they are (a trailing space too).
//! `export` then `import` into an empty vault reproduces the same export.
//! Not carried: attachments (`fileRef`), password history and revisions.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

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

/// A `custom_fields` (or `references`) key, parsed.
#[derive(Debug, PartialEq, Eq)]
struct Key {
    kind: String,
    label: Option<String>,
    /// The key ends in a `:N` index: it names one field, so a list value
    /// is that field's values.
    indexed: bool,
}

/// Parses a `custom_fields` key: `$type`, `$type:label`, either with a
/// `:N` index suffix, or a bare label (a text field).
fn parse_key(key: &str) -> Key {
    let Some(rest) = key.strip_prefix('$') else {
        return Key {
            kind: "text".to_string(),
            label: Some(key.to_string()),
            indexed: false,
        };
    };
    // Strip a trailing `:N` index suffix.
    let (rest, indexed) = match rest.rsplit_once(':') {
        Some((head, n))
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !head.is_empty() =>
        {
            (head, true)
        }
        _ => (rest, false),
    };
    let (kind, label) = match rest.split_once(':') {
        Some((t, l)) => (t, (!l.is_empty()).then(|| l.to_string())),
        None => (rest, None),
    };
    Key {
        kind: fields::canonical(kind).unwrap_or(kind).to_string(),
        label,
        indexed,
    }
}

/// Numbers the keys of one record's fields: `$type:label:N` or
/// `$type::N`, N counting from 1 per key (bare labels stay as they are).
#[derive(Default)]
struct Keys(HashMap<String, usize>);

impl Keys {
    fn next(&mut self, f: &Field, custom: bool) -> String {
        let key = field_key(f, custom);
        if !key.starts_with('$') {
            return key;
        }
        let n = self.0.entry(key.clone()).or_default();
        *n += 1;
        // `$type:label:N`, or `$type::N` (an empty label) without one.
        let labelled = f.label.as_deref().is_some_and(|l| !l.is_empty());
        if labelled {
            format!("{key}:{n}")
        } else {
            format!("{key}::{n}")
        }
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
    let mut references = Map::new();
    let mut keys = Keys::default();
    let typed = d
        .fields
        .iter()
        .enumerate()
        .filter(|(i, _)| !lifted.contains(i))
        .map(|(_, f)| (f, false));
    for (f, is_custom) in typed.chain(d.custom.iter().map(|f| (f, true))) {
        if f.is_empty() || f.kind == "fileRef" {
            continue;
        }
        let key = keys.next(f, is_custom);
        if fields::is_reference(&f.kind) {
            references.insert(key, Value::Array(f.value.to_vec()));
        } else {
            push_value(&mut custom, key, &f.value, fields::holds_many(&f.kind));
        }
    }
    if !custom.is_empty() {
        obj.insert("custom_fields".into(), Value::Object(custom));
    }
    if !references.is_empty() {
        obj.insert("references".into(), Value::Object(references));
    }
    if types::find(&d.record_type).is_none() {
        let mut keys = Keys::default();
        let schema: Vec<Value> = d
            .fields
            .iter()
            .map(|f| Value::String(keys.next(f, false)))
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
    // Kept as it is: Commander does not trim titles either.
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
            let Key {
                kind,
                label,
                indexed,
            } = parse_key(key);
            // One field of several values, or (a list under a key without
            // an index, of a type that holds one value) several fields.
            let one_field = indexed || fields::holds_many(&kind);
            let values: Vec<Value> = match value {
                Value::Array(list) if one_field => vec![Value::Array(list.clone())],
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
                    value: Zeroizing::new(items.into()),
                    required: false,
                });
            }
        }
    }
    pool.extend(references(obj));
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
                    let key = parse_key(k);
                    (key.kind, key.label, false)
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
    let mut data = RecordData::new(&record_type, &title);
    data.fields = out_fields;
    data.custom = custom;
    data.notes = s("notes").into();
    Ok(data)
}

/// A record's `references` (`{"$addressRef::1": [65]}`; `$address` also
/// means `addressRef`) as link fields whose values are the ids the source
/// gives the linked records; the import engine re-links them to the uids
/// those records get.
fn references(obj: &Map<String, Value>) -> Vec<Field> {
    let Some(refs) = obj.get("references").and_then(Value::as_object) else {
        return Vec::new();
    };
    refs.iter()
        .filter_map(|(key, value)| {
            let Key {
                mut kind, label, ..
            } = parse_key(key);
            if !kind.ends_with("Ref") {
                kind.push_str("Ref");
            }
            let ids: Vec<Value> = match value {
                Value::Array(list) => list.iter().filter_map(source_id).map(Value::from).collect(),
                one => source_id(one).map(Value::from).into_iter().collect(),
            };
            (fields::is_reference(&kind) && !ids.is_empty()).then(|| Field {
                kind,
                label,
                value: Zeroizing::new(ids.into()),
                required: false,
            })
        })
        .collect()
}

/// A record id in a source: a string, or a number (`"uid": 65`).
fn source_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
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
        // The source's id: kept as the record's uid when it is a free uid,
        // and what other records' `references` name it by.
        let uid = r.get("uid").and_then(source_id);
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
        let key = |kind: &str, label: Option<&str>, indexed: bool| Key {
            kind: kind.into(),
            label: label.map(str::to_string),
            indexed,
        };
        assert_eq!(
            parse_key("2FA Phone"),
            key("text", Some("2FA Phone"), false)
        );
        assert_eq!(parse_key("$oneTimeCode"), key("oneTimeCode", None, false));
        assert_eq!(parse_key("$text:SSID"), key("text", Some("SSID"), false));
        assert_eq!(parse_key("$oneTimeCode:1"), key("oneTimeCode", None, true));
        assert_eq!(parse_key("$oneTimeCode::1"), key("oneTimeCode", None, true));
        assert_eq!(parse_key("$text:SSID:2"), key("text", Some("SSID"), true));
        assert_eq!(
            parse_key("cmdr:plugin"),
            key("text", Some("cmdr:plugin"), false)
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

    /// A Keeper JSON source as Keeper's own exports write it (modelled on
    /// the Keeper JSON test data of Bitwarden's importer): records named
    /// by numeric ids, a contact linking to an address that comes later in
    /// the file, index suffixes on every key, a title ending in a space.
    fn keeper_export() -> Value {
        json!({"records": [
            {"uid": 7, "title": "Ted at work ", "$type": "contact",
             "custom_fields": {"$name::1": {"first": "Ted", "last": "Lasso"},
                               "$email::1": "ted@example.com"},
             "references": {"$addressRef::1": [9]}},
            {"uid": 8, "title": "Mail", "$type": "login", "login": "ted",
             "custom_fields": {"$oneTimeCode::1": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
                               "$text:Pet:1": "dog", "$text:Pet:2": "cat"}},
            {"uid": 9, "title": "Office", "$type": "address",
             "custom_fields": {"$address::1": {"street1": "1 Main St", "city": "Richmond"}}},
        ]})
    }

    fn empty_vault() -> (tempfile::TempDir, Vault) {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = Vault::create(
            &dir.path().join("v.db"),
            "a@b.c",
            &crate::vault::SecretString::from("pw".to_string()),
            &crate::vault::crypto::KdfParams::insecure_fast(),
        )
        .expect("create");
        (dir, vault)
    }

    fn import(vault: &mut Vault, doc: &Value) -> crate::import::engine::ImportSummary {
        let parsed = parse(doc).expect("parses");
        let mut importer =
            crate::import::engine::Importer::new(vault, Default::default()).expect("importer");
        importer.write(vault, &[], &parsed.records).expect("import")
    }

    fn by_title<'a>(records: &'a [Record], title: &str) -> &'a Record {
        records
            .iter()
            .find(|r| r.data.title == title)
            .unwrap_or_else(|| panic!("no record {title:?}"))
    }

    #[test]
    fn references_titles_and_index_suffixes_survive_import_and_export() {
        let (_dir, mut vault) = empty_vault();
        assert_eq!(import(&mut vault, &keeper_export()).added, 3);
        let records = vault.records().expect("records");

        // The title keeps its trailing space.
        let ted = by_title(&records, "Ted at work ");
        // The link names the address by the uid it got here, not by 9.
        let office = by_title(&records, "Office");
        let link = ted.data.field("addressRef").expect("addressRef slot");
        assert_eq!(**link.value, [json!(office.uid)]);
        // Two fields of one key stay two fields.
        let mail = by_title(&records, "Mail");
        assert_eq!(
            mail.data
                .custom
                .iter()
                .filter(|f| f.label.as_deref() == Some("Pet"))
                .count(),
            2
        );

        // Export: the link under `references`, every typed key indexed.
        let export = export(&vault).expect("export");
        let rows = export["records"].as_array().expect("records");
        let row = |title: &str| {
            rows.iter()
                .find(|r| r["title"] == title)
                .unwrap_or_else(|| panic!("no row {title:?}"))
        };
        assert_eq!(
            row("Ted at work ")["references"],
            json!({"$addressRef::1": [office.uid]})
        );
        assert!(
            row("Ted at work ")["custom_fields"]
                .get("$addressRef::1")
                .is_none()
        );
        assert_eq!(
            row("Ted at work ")["custom_fields"]["$email::1"],
            "ted@example.com"
        );
        let mail_row = &row("Mail")["custom_fields"];
        assert!(mail_row["$oneTimeCode::1"].is_string(), "{mail_row}");
        // Labelled custom text fields keep their bare label (a list for two).
        assert_eq!(mail_row["Pet"], json!(["dog", "cat"]));

        // The same source again: every record (the link too) is recognised.
        let again = import(&mut vault, &keeper_export());
        assert_eq!((again.added, again.skipped), (0, 3), "{again:?}");
        // Our own export imports as itself.
        let again = import(&mut vault, &export);
        assert_eq!((again.added, again.skipped), (0, 3), "{again:?}");
    }

    #[test]
    fn links_to_unknown_ids_are_dropped_and_uids_kept() {
        let (_dir, mut vault) = empty_vault();
        let uid = "AAAAAAAAAAAAAAAAAAAAAA";
        let doc = json!([{"title": "t", "$type": "contact",
            "references": {"$address": [404, uid]}}]);
        import(&mut vault, &doc);
        let records = vault.records().expect("records");
        let link = by_title(&records, "t").data.field("addressRef").cloned();
        assert_eq!(link.map(|f| f.value.to_vec()), Some(vec![json!(uid)]));
    }
}
