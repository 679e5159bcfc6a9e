//! A keeper importer for unencrypted Bitwarden JSON exports, written the way
//! a third party would: it depends only on `keeper-plugin-sdk` (plus serde).
//!
//! Build, package and install:
//!
//! ```sh
//! cargo build --target wasm32-wasip2 --release -p bitwarden-importer
//! keeper plugin package --wasm target/wasm32-wasip2/release/bitwarden_importer.wasm \
//!     --manifest examples/bitwarden-importer/plugin.toml --out dist/bitwarden
//! keeper plugin install dist/bitwarden --grant
//! keeper import --format bitwarden bitwarden_export.json
//! ```
//!
//! Mapping (Bitwarden item type → Keeper record type):
//!
//! | Bitwarden | Keeper | fields |
//! |---|---|---|
//! | 1 login | `login` | `login`, `password`, `url` (more URIs as custom `url` fields), `oneTimeCode` |
//! | 2 secure note | `encryptedNotes` | `note` |
//! | 3 card | `bankCard` | `paymentCard`, `text` (cardholderName) |
//! | 4 identity | `contact` | `name`, `text` (company), `email`, `phone`, `address`, `login` |
//! | 5 SSH key | `sshKeys` | `keyPair`, custom `text` (fingerprint) |
//!
//! Custom fields become custom `text` (hidden ones `secret`) fields; linked
//! fields are dropped. Folders become personal folder locations (Bitwarden's
//! `/` nesting becomes keeper's `\`). Items of other types, and items that
//! do not parse, are reported as skipped. Organization collections are not
//! mapped yet.
//!
//! The export is one JSON document, so the whole source is read before the
//! first batch; the manifest asks for 128 MiB. Records are yielded in
//! batches of at most 500.
//!
//! It targets plugin contract 1.1 (`api-version = "1.1.0"`, registered with
//! `keeper_plugin_sdk::v1_1::register_importer!`): it reads the source with
//! `Input::checked`, so a source that cannot be read (a broken pipe, a
//! failing disk) is reported as this plugin's error, with what it was
//! doing, instead of stopping the plugin.

use std::collections::{BTreeMap, VecDeque};

use keeper_plugin_sdk::input::Input;
use keeper_plugin_sdk::{
    Field, ImportItem, ImportRecord, Importer, ImporterInfo, Location, Options, PluginError,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The most items per batch.
pub const BATCH: usize = 500;

/// The plugin: the items still to be yielded.
pub struct Bitwarden {
    pending: VecDeque<ImportItem>,
}

impl Importer for Bitwarden {
    fn describe() -> ImporterInfo {
        ImporterInfo::new("bitwarden", "Bitwarden unencrypted JSON export")
    }

    fn new(_options: Options) -> Result<Self, PluginError> {
        let json = Input::checked()
            .read_all()
            .map_err(|e| PluginError::MalformedInput(format!("reading the export: {e}")))?;
        Self::parse(&json)
    }

    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        let n = self.pending.len().min(BATCH);
        Ok(Some(self.pending.drain(..n).collect()))
    }
}

keeper_plugin_sdk::v1_1::register_importer!(Bitwarden);

/// The top level of an export.
#[derive(Deserialize)]
struct Export {
    #[serde(default)]
    encrypted: bool,
    #[serde(default)]
    folders: Vec<Folder>,
    /// Kept as raw values so that one bad item is skipped, not fatal.
    #[serde(default)]
    items: Vec<Value>,
}

#[derive(Deserialize)]
struct Folder {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: u8,
    name: Option<String>,
    notes: Option<String>,
    folder_id: Option<String>,
    #[serde(default)]
    fields: Vec<CustomField>,
    login: Option<Login>,
    card: Option<Card>,
    identity: Option<Identity>,
    ssh_key: Option<SshKey>,
}

#[derive(Deserialize)]
struct CustomField {
    name: Option<String>,
    value: Option<String>,
    #[serde(rename = "type", default)]
    kind: u8,
}

#[derive(Deserialize, Default)]
struct Login {
    #[serde(default)]
    uris: Vec<Uri>,
    username: Option<String>,
    password: Option<String>,
    totp: Option<String>,
}

#[derive(Deserialize)]
struct Uri {
    uri: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Card {
    cardholder_name: Option<String>,
    number: Option<String>,
    exp_month: Option<String>,
    exp_year: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Identity {
    title: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    company: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    username: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    address3: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    ssn: Option<String>,
    passport_number: Option<String>,
    license_number: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SshKey {
    private_key: Option<String>,
    public_key: Option<String>,
    key_fingerprint: Option<String>,
}

impl Bitwarden {
    /// Parses a whole export into the items to yield.
    ///
    /// Fails with [`PluginError::MalformedInput`] if the document is not a
    /// Bitwarden JSON export and with [`PluginError::Unsupported`] if it is
    /// an encrypted one.
    pub fn parse(json: &[u8]) -> Result<Self, PluginError> {
        let export: Export = serde_json::from_slice(json).map_err(|e| {
            PluginError::MalformedInput(format!("not a Bitwarden JSON export: {e}"))
        })?;
        if export.encrypted {
            return Err(PluginError::Unsupported(
                "encrypted Bitwarden exports cannot be read; export as \"JSON\" (not \"JSON (Encrypted)\")".into(),
            ));
        }
        let folders: BTreeMap<String, String> = export
            .folders
            .into_iter()
            .map(|f| (f.id, folder_path(&f.name)))
            .collect();
        let pending = export
            .items
            .into_iter()
            .enumerate()
            .map(|(i, raw)| convert(i + 1, raw, &folders))
            .collect();
        Ok(Self { pending })
    }
}

/// Bitwarden nests folders with `/`; keeper paths use `\` and escape a
/// literal backslash as `\\`.
fn folder_path(name: &str) -> String {
    name.replace('\\', "\\\\").replace('/', "\\")
}

/// One item → a record, or the reason it was skipped (`position` is 1-based).
fn convert(position: usize, raw: Value, folders: &BTreeMap<String, String>) -> ImportItem {
    let item: Item = match serde_json::from_value(raw) {
        Ok(item) => item,
        Err(e) => return ImportItem::Skipped(format!("item {position}: {e}")),
    };
    let name = match item.name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => return ImportItem::Skipped(format!("item {position}: it has no name")),
    };
    let mut record = match item.kind {
        1 => login(&name, item.login.unwrap_or_default()),
        2 => {
            let mut r = ImportRecord::new(&name, "encryptedNotes");
            if let Some(notes) = non_empty(item.notes.as_deref()) {
                r = r.field(Field::new("note", notes));
            }
            r
        }
        3 => card(&name, item.card.unwrap_or_default()),
        4 => identity(&name, item.identity.unwrap_or_default()),
        5 => ssh_key(&name, item.ssh_key.unwrap_or_default()),
        other => {
            return ImportItem::Skipped(format!(
                "item {position} ({name}): unsupported item type {other}"
            ));
        }
    };
    // A secure note's text is its `note` field; other types keep notes.
    if let Some(notes) = non_empty(item.notes.as_deref()).filter(|_| item.kind != 2) {
        record = record.notes(notes);
    }
    if let Some(id) = item.id {
        record = record.uid(id);
    }
    if let Some(path) = item.folder_id.as_ref().and_then(|id| folders.get(id)) {
        record = record.location(Location::folder(path.clone()));
    }
    for field in item.fields {
        let label = field.name.unwrap_or_default();
        let value = field.value.unwrap_or_default();
        match field.kind {
            // 0 text, 2 boolean ("true"/"false"), 1 hidden; 3 linked is a
            // pointer to another field and carries no value of its own.
            0 | 2 => record = record.custom(Field::custom("text", label, value)),
            1 => record = record.custom(Field::custom("secret", label, value)),
            _ => {}
        }
    }
    ImportItem::Record(record)
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Adds `Field::new(kind, value)` when `value` is present and non-empty.
fn push(record: ImportRecord, kind: &str, value: Option<&str>) -> ImportRecord {
    match non_empty(value) {
        Some(v) => record.field(Field::new(kind, v)),
        None => record,
    }
}

fn login(name: &str, login: Login) -> ImportRecord {
    let mut r = ImportRecord::new(name, "login");
    r = push(r, "login", login.username.as_deref());
    r = push(r, "password", login.password.as_deref());
    let mut uris = login.uris.into_iter().filter_map(|u| u.uri);
    r = push(r, "url", uris.next().as_deref());
    for (i, uri) in uris.enumerate() {
        r = r.custom(Field::custom("url", format!("URL {}", i + 2), uri));
    }
    if let Some(totp) = non_empty(login.totp.as_deref()) {
        let url = if totp.starts_with("otpauth://") {
            totp.to_owned()
        } else {
            // A bare base32 secret.
            format!("otpauth://totp/?secret={}", totp.replace(' ', ""))
        };
        r = r.field(Field::new("oneTimeCode", url));
    }
    r
}

fn card(name: &str, card: Card) -> ImportRecord {
    let expiry = match (
        non_empty(card.exp_month.as_deref()),
        non_empty(card.exp_year.as_deref()),
    ) {
        (Some(m), Some(y)) => format!("{m:0>2}/{y}"),
        _ => String::new(),
    };
    let payment = json!({
        "cardNumber": card.number.unwrap_or_default(),
        "cardExpirationDate": expiry,
        "cardSecurityCode": card.code.unwrap_or_default(),
    });
    let mut r =
        ImportRecord::new(name, "bankCard").field(Field::new("paymentCard", payment.to_string()));
    if let Some(holder) = non_empty(card.cardholder_name.as_deref()) {
        r = r.field(Field::new("text", holder).labelled("cardholderName"));
    }
    r
}

fn identity(name: &str, id: Identity) -> ImportRecord {
    let mut r = ImportRecord::new(name, "contact");
    if id.first_name.is_some() || id.last_name.is_some() || id.middle_name.is_some() {
        let full = json!({
            "first": id.first_name.unwrap_or_default(),
            "middle": id.middle_name.unwrap_or_default(),
            "last": id.last_name.unwrap_or_default(),
        });
        r = r.field(Field::new("name", full.to_string()));
    }
    if let Some(company) = non_empty(id.company.as_deref()) {
        r = r.field(Field::new("text", company).labelled("company"));
    }
    r = push(r, "email", id.email.as_deref());
    if let Some(phone) = non_empty(id.phone.as_deref()) {
        r = r.field(Field::new("phone", json!({ "number": phone }).to_string()));
    }
    let street2 = [id.address2, id.address3]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let address = json!({
        "street1": id.address1.unwrap_or_default(),
        "street2": street2,
        "city": id.city.unwrap_or_default(),
        "state": id.state.unwrap_or_default(),
        "zip": id.postal_code.unwrap_or_default(),
        "country": id.country.unwrap_or_default(),
    });
    if address
        .as_object()
        .is_some_and(|a| a.values().any(|v| v != ""))
    {
        r = r.field(Field::new("address", address.to_string()));
    }
    r = push(r, "login", id.username.as_deref());
    for (label, value) in [
        ("Title", id.title),
        ("SSN", id.ssn),
        ("Passport number", id.passport_number),
        ("License number", id.license_number),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            r = r.custom(Field::custom("text", label, v));
        }
    }
    r
}

fn ssh_key(name: &str, key: SshKey) -> ImportRecord {
    let pair = json!({
        "publicKey": key.public_key.unwrap_or_default(),
        "privateKey": key.private_key.unwrap_or_default(),
    });
    let mut r = ImportRecord::new(name, "sshKeys").field(Field::new("keyPair", pair.to_string()));
    if let Some(fp) = non_empty(key.key_fingerprint.as_deref()) {
        r = r.custom(Field::custom("text", "Key fingerprint", fp));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = r#"{
      "encrypted": false,
      "folders": [{"id": "f1", "name": "Work/Servers"}],
      "items": [
        {"id": "i1", "type": 1, "name": "GitHub", "notes": "main account", "folderId": "f1",
         "fields": [{"name": "PIN", "value": "1234", "type": 1},
                    {"name": "Team", "value": "core", "type": 0},
                    {"name": "Linked", "value": null, "type": 3}],
         "login": {"uris": [{"uri": "https://github.com"}, {"uri": "https://gist.github.com"}],
                   "username": "octocat", "password": "pw1", "totp": "JBSW Y3DP"}},
        {"id": "i2", "type": 2, "name": "Recovery codes", "notes": "a b c", "folderId": null},
        {"id": "i3", "type": 3, "name": "Visa", "card": {"cardholderName": "Jane Doe",
         "number": "4111111111111111", "expMonth": "3", "expYear": "2029", "code": "123"}},
        {"id": "i4", "type": 4, "name": "Me", "identity": {"firstName": "Jane", "lastName": "Doe",
         "email": "jane@example.com", "phone": "555", "address1": "1 Main St", "city": "Springfield",
         "ssn": "000-00-0000"}},
        {"id": "i5", "type": 5, "name": "deploy key", "sshKey": {"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----",
         "publicKey": "ssh-ed25519 AAAA", "keyFingerprint": "SHA256:abc"}},
        {"id": "i6", "type": 9, "name": "Passkey thing"},
        {"id": "i7", "type": 1},
        {"id": "i8", "type": "login", "name": "bad type"}
      ]
    }"#;

    fn items() -> Vec<ImportItem> {
        let mut bw = match Bitwarden::parse(EXPORT.as_bytes()) {
            Ok(bw) => bw,
            Err(e) => panic!("sample export must parse: {e}"),
        };
        let mut all = Vec::new();
        while let Ok(Some(batch)) = bw.next_batch() {
            all.extend(batch);
        }
        all
    }

    fn record(items: &[ImportItem], i: usize) -> &ImportRecord {
        match &items[i] {
            ImportItem::Record(r) => r,
            other => panic!("item {i} should be a record, got {other:?}"),
        }
    }

    fn value<'a>(r: &'a ImportRecord, kind: &str) -> Option<&'a str> {
        r.fields
            .iter()
            .find(|f| f.kind == kind)
            .and_then(Field::value)
    }

    #[test]
    fn login_maps_fields_folder_uris_totp_and_custom_fields() {
        let items = items();
        let r = record(&items, 0);
        assert_eq!(r.record_type, "login");
        assert_eq!(r.title, "GitHub");
        assert_eq!(r.uid.as_deref(), Some("i1"));
        assert_eq!(value(r, "login"), Some("octocat"));
        assert_eq!(value(r, "password"), Some("pw1"));
        assert_eq!(value(r, "url"), Some("https://github.com"));
        assert_eq!(
            value(r, "oneTimeCode"),
            Some("otpauth://totp/?secret=JBSWY3DP")
        );
        assert_eq!(r.notes.as_deref(), Some("main account"));
        assert_eq!(r.locations, [Location::folder("Work\\Servers")]);
        let custom: Vec<_> = r
            .custom
            .iter()
            .map(|f| (f.kind.as_str(), f.label.as_deref(), f.value()))
            .collect();
        assert_eq!(
            custom,
            [
                ("url", Some("URL 2"), Some("https://gist.github.com")),
                ("secret", Some("PIN"), Some("1234")),
                ("text", Some("Team"), Some("core")),
            ]
        );
    }

    #[test]
    fn note_card_identity_and_ssh_key_map_to_keeper_types() {
        let items = items();
        let note = record(&items, 1);
        assert_eq!(note.record_type, "encryptedNotes");
        assert_eq!(value(note, "note"), Some("a b c"));
        assert!(note.notes.is_none() && note.locations.is_empty());

        let card = record(&items, 2);
        assert_eq!(card.record_type, "bankCard");
        let payment: Value = serde_json::from_str(value(card, "paymentCard").unwrap_or("null"))
            .unwrap_or(Value::Null);
        assert_eq!(payment["cardNumber"], "4111111111111111");
        assert_eq!(payment["cardExpirationDate"], "03/2029");
        assert_eq!(payment["cardSecurityCode"], "123");
        assert_eq!(value(card, "text"), Some("Jane Doe"));

        let contact = record(&items, 3);
        assert_eq!(contact.record_type, "contact");
        let name: Value =
            serde_json::from_str(value(contact, "name").unwrap_or("null")).unwrap_or(Value::Null);
        assert_eq!(name["first"], "Jane");
        assert_eq!(name["last"], "Doe");
        assert_eq!(value(contact, "email"), Some("jane@example.com"));
        let address: Value = serde_json::from_str(value(contact, "address").unwrap_or("null"))
            .unwrap_or(Value::Null);
        assert_eq!(address["street1"], "1 Main St");
        assert_eq!(address["city"], "Springfield");
        assert!(
            contact
                .custom
                .iter()
                .any(|f| f.label.as_deref() == Some("SSN"))
        );

        let key = record(&items, 4);
        assert_eq!(key.record_type, "sshKeys");
        let pair: Value =
            serde_json::from_str(value(key, "keyPair").unwrap_or("null")).unwrap_or(Value::Null);
        assert_eq!(pair["publicKey"], "ssh-ed25519 AAAA");
        assert!(
            pair["privateKey"]
                .as_str()
                .is_some_and(|k| k.starts_with("-----BEGIN"))
        );
    }

    #[test]
    fn unusable_items_are_skipped_with_their_position() {
        let items = items();
        assert_eq!(items.len(), 8);
        let skipped: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                ImportItem::Skipped(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(skipped[0].starts_with("item 6 (Passkey thing): unsupported item type 9"));
        assert_eq!(skipped[1], "item 7: it has no name");
        assert!(skipped[2].starts_with("item 8: "), "{}", skipped[2]);
    }

    #[test]
    fn batches_hold_at_most_500_items() {
        let items: Vec<String> = (0..1201)
            .map(|i| format!(r#"{{"type":2,"name":"n{i}","notes":"x"}}"#))
            .collect();
        let json = format!(r#"{{"encrypted":false,"items":[{}]}}"#, items.join(","));
        let mut bw = match Bitwarden::parse(json.as_bytes()) {
            Ok(bw) => bw,
            Err(e) => panic!("generated export must parse: {e}"),
        };
        let mut sizes = Vec::new();
        while let Ok(Some(batch)) = bw.next_batch() {
            sizes.push(batch.len());
        }
        assert_eq!(sizes, [500, 500, 201]);
    }

    #[test]
    fn encrypted_and_malformed_exports_are_errors() {
        assert!(matches!(
            Bitwarden::parse(br#"{"encrypted":true,"items":[]}"#),
            Err(PluginError::Unsupported(_))
        ));
        assert!(matches!(
            Bitwarden::parse(b"name,login,password\n"),
            Err(PluginError::MalformedInput(m)) if m.starts_with("not a Bitwarden JSON export")
        ));
    }

    #[test]
    fn folder_paths_use_keeper_separators() {
        assert_eq!(folder_path("A/B"), "A\\B");
        assert_eq!(folder_path("back\\slash"), "back\\\\slash");
    }
}
