//! LastPass secure notes: the `NoteType:` text format and its mapping to
//! Keeper record types.
//!
//! A typed note's text is `NoteType:<type>` followed by `Key:Value` lines;
//! the first colon splits, values are trimmed, lines without a colon
//! continue the previous value, `Private Key` runs until `Public Key:`, and
//! `Notes:` swallows the rest of the text. `Language` is dropped.

use keeper_plugin_sdk::{Field, ImportRecord};
use serde_json::{Value, json};

/// A parsed typed note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    /// The `NoteType` value, e.g. `Credit Card`.
    pub note_type: String,
    /// The other keys in order, values trimmed.
    pub fields: Vec<(String, String)>,
    /// The `Notes` text.
    pub notes: String,
}

impl Note {
    /// Takes the value of `key` (the first one) out of the note; `None` when
    /// missing, `Some("")` when blank.
    pub fn take(&mut self, key: &str) -> Option<String> {
        let i = self
            .fields
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(key))?;
        Some(self.fields.remove(i).1)
    }

    /// Like [`take`](Self::take) but `None` for a blank value too.
    pub fn take_value(&mut self, key: &str) -> Option<String> {
        self.take(key).filter(|v| !v.trim().is_empty())
    }
}

/// Parses a typed note; `None` when `text` does not start with `NoteType:`.
///
/// ```
/// use keeper_plugin_lastpass::notes::parse_note;
///
/// let note = parse_note("NoteType:Server\nHostname: db:22\nNotes:a\nb: c").unwrap_or_default();
/// assert_eq!(note.note_type, "Server");
/// assert_eq!(note.fields, vec![("Hostname".to_string(), "db:22".to_string())]);
/// assert_eq!(note.notes, "a\nb: c");
/// ```
pub fn parse_note(text: &str) -> Option<Note> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text.strip_prefix("NoteType:")?;
    let (first, mut body) = rest.split_once('\n').unwrap_or((rest, ""));
    let mut note = Note {
        note_type: first.trim().to_owned(),
        ..Note::default()
    };
    let mut in_private_key = false;
    while !body.is_empty() {
        let (line, next) = body.split_once('\n').unwrap_or((body, ""));
        if let Some(notes) = line.strip_prefix("Notes:") {
            // Everything from here on is the notes text.
            let tail = body.get(line.len()..).unwrap_or("");
            note.notes = format!("{notes}{tail}").trim().to_owned();
            break;
        }
        body = next;
        let line = line.trim_end_matches('\r');
        if in_private_key && !line.starts_with("Public Key:") {
            append(&mut note, line);
            continue;
        }
        in_private_key = false;
        match line.split_once(':') {
            Some((key, value)) if looks_like_key(key) => {
                let key = key.trim();
                in_private_key = key == "Private Key";
                if key != "Language" {
                    note.fields.push((key.to_owned(), value.trim().to_owned()));
                }
            }
            _ => append(&mut note, line),
        }
    }
    for (_, value) in &mut note.fields {
        let trimmed = value.trim();
        if trimmed.len() != value.len() {
            *value = trimmed.to_owned();
        }
    }
    Some(note)
}

/// A line's text before its first colon is a key when it is a short
/// label starting with a letter (so `https://x` or a long sentence with a
/// colon continues the previous value instead).
fn looks_like_key(key: &str) -> bool {
    let key = key.trim();
    key.chars().next().is_some_and(char::is_alphabetic)
        && key.chars().count() <= 40
        && !key.contains("//")
        && key != "http"
        && key != "https"
}

fn append(note: &mut Note, line: &str) {
    if let Some((_, value)) = note.fields.last_mut() {
        value.push('\n');
        value.push_str(line);
    } else if !line.trim().is_empty() {
        note.fields.push((String::new(), line.to_owned()));
    }
}

/// Fills `record` from a typed note (see the crate docs for the table) and
/// returns false for an unknown note type (the caller keeps the text as an
/// `encryptedNotes` record).
pub fn apply_note(record: &mut ImportRecord, mut note: Note) -> bool {
    let kind = note.note_type.clone();
    let record_type = match kind.as_str() {
        "Bank Account" => {
            let account = json!({
                "accountType": note.take("Account Type").unwrap_or_default(),
                "routingNumber": note.take("Routing Number").unwrap_or_default(),
                "accountNumber": note.take("Account Number").unwrap_or_default(),
                "otherType": "",
            });
            record
                .fields
                .push(Field::new("bankAccount", account.to_string()));
            push(record, "pinCode", None, note.take_value("Pin"));
            "bankAccount"
        }
        "Credit Card" => {
            let expiry = note
                .take("Expiration Date")
                .map(|d| month_year(&d).unwrap_or(d))
                .unwrap_or_default();
            let card = json!({
                "cardNumber": note.take("Number").unwrap_or_default(),
                "cardExpirationDate": expiry,
                "cardSecurityCode": note.take("Security Code").unwrap_or_default(),
            });
            record
                .fields
                .push(Field::new("paymentCard", card.to_string()));
            push(
                record,
                "text",
                Some("cardholderName"),
                note.take_value("Name on Card"),
            );
            "bankCard"
        }
        "Address" => {
            let street2 = [note.take("Address 2"), note.take("Address 3")]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            let address = json!({
                "street1": note.take("Address 1").unwrap_or_default(),
                "street2": street2,
                "city": note.take("City / Town").unwrap_or_default(),
                "state": note.take("State").unwrap_or_default(),
                "zip": note.take("Zip / Postal Code").unwrap_or_default(),
                "country": note.take("Country").unwrap_or_default(),
            });
            record
                .fields
                .push(Field::new("address", address.to_string()));
            name_from_parts(record, &mut note);
            date(
                record,
                "birthDate",
                None,
                note.take_value("Birthday"),
                "Birthday",
            );
            push(record, "email", None, note.take_value("Email Address"));
            for key in ["Phone", "Evening Phone", "Mobile Phone", "Fax"] {
                if let Some(v) = note.take_value(key) {
                    record
                        .fields
                        .push(Field::new("phone", phone(&v).to_string()).labelled(key));
                }
            }
            "address"
        }
        "Driver's License" => {
            push(
                record,
                "accountNumber",
                Some("dlNumber"),
                note.take_value("Number"),
            );
            date(
                record,
                "expirationDate",
                None,
                note.take_value("Expiration Date"),
                "Expiration Date",
            );
            date(
                record,
                "birthDate",
                None,
                note.take_value("Date of Birth"),
                "Date of Birth",
            );
            name_from_full(record, note.take_value("Name"));
            let address = json!({
                "street1": note.take("Address").unwrap_or_default(),
                "street2": "",
                "city": note.take("City / Town").unwrap_or_default(),
                "state": note.take("State").unwrap_or_default(),
                "zip": note.take("ZIP / Postal Code").unwrap_or_default(),
                "country": note.take("Country").unwrap_or_default(),
            });
            if address.as_object().is_some_and(|o| {
                o.values()
                    .any(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            }) {
                record
                    .fields
                    .push(Field::new("address", address.to_string()));
            }
            "driverLicense"
        }
        "Passport" => {
            push(
                record,
                "accountNumber",
                Some("passportNumber"),
                note.take_value("Number"),
            );
            name_from_full(record, note.take_value("Name"));
            date(
                record,
                "birthDate",
                None,
                note.take_value("Date of Birth"),
                "Date of Birth",
            );
            date(
                record,
                "expirationDate",
                None,
                note.take_value("Expiration Date"),
                "Expiration Date",
            );
            date(
                record,
                "date",
                Some("dateIssued"),
                note.take_value("Issued Date"),
                "Issued Date",
            );
            "passport"
        }
        "Social Security" => {
            push(
                record,
                "accountNumber",
                Some("identityNumber"),
                note.take_value("Number"),
            );
            name_from_full(record, note.take_value("Name"));
            "ssnCard"
        }
        "Health Insurance" | "Insurance" => {
            let number = note
                .take_value("Policy Number")
                .or_else(|| note.take_value("Member ID"));
            push(record, "accountNumber", None, number);
            name_from_full(record, note.take_value("Member Name"));
            date(
                record,
                "expirationDate",
                None,
                note.take_value("Expiration"),
                "Expiration",
            );
            "healthInsurance"
        }
        "Membership" => {
            push(
                record,
                "accountNumber",
                None,
                note.take_value("Membership Number"),
            );
            name_from_full(record, note.take_value("Member Name"));
            date(
                record,
                "date",
                Some("Start Date"),
                note.take_value("Start Date"),
                "Start Date",
            );
            date(
                record,
                "expirationDate",
                None,
                note.take_value("Expiration Date"),
                "Expiration Date",
            );
            push(record, "url", None, note.take_value("Website"));
            "membership"
        }
        "Email Account" | "Instant Messenger" => "login",
        "Database" => {
            push(record, "text", Some("type"), note.take_value("Type"));
            host(record, note.take_value("Hostname"), note.take_value("Port"));
            "databaseCredentials"
        }
        "Server" => {
            host(record, note.take_value("Hostname"), None);
            "serverCredentials"
        }
        "SSH Key" => {
            let private = note.take("Private Key").unwrap_or_default();
            let public = note.take("Public Key").unwrap_or_default();
            if !private.is_empty() || !public.is_empty() {
                let pair = json!({ "publicKey": public, "privateKey": private });
                record.fields.push(Field::new("keyPair", pair.to_string()));
            }
            push(record, "password", None, note.take_value("Passphrase"));
            host(record, note.take_value("Hostname"), None);
            "sshKeys"
        }
        "Software License" => {
            push(
                record,
                "licenseNumber",
                None,
                note.take_value("License Key"),
            );
            date(
                record,
                "date",
                Some("dateActive"),
                note.take_value("Purchase Date"),
                "Purchase Date",
            );
            "softwareLicense"
        }
        "Wi-Fi Password" | "Wi-Fi" => {
            push(record, "text", Some("SSID"), note.take_value("SSID"));
            "wifiCredentials"
        }
        _ => return false,
    };
    record.record_type = record_type.to_owned();
    // Username / Password / URL keys of any type: the typed fields, unless
    // already set.
    for (key, kind) in [
        ("Username", "login"),
        ("Password", "password"),
        ("URL", "url"),
        ("Website", "url"),
    ] {
        if let Some(value) = note.take_value(key) {
            if record.fields.iter().any(|f| f.kind == kind) {
                record.custom.push(Field::custom("text", key, value));
            } else {
                record.fields.push(Field::new(kind, value));
            }
        }
    }
    for (key, value) in note.fields {
        if !value.trim().is_empty() {
            let label = if key.is_empty() {
                "Note".to_owned()
            } else {
                key
            };
            record.custom.push(Field::custom("text", label, value));
        }
    }
    if !note.notes.is_empty() {
        record.notes = Some(note.notes);
    }
    true
}

fn push(record: &mut ImportRecord, kind: &str, label: Option<&str>, value: Option<String>) {
    if let Some(value) = value {
        let mut field = Field::new(kind, value);
        field.label = label.map(str::to_owned);
        record.fields.push(field);
    }
}

/// A host field from `Hostname` (which may carry `:port`) and `Port`.
fn host(record: &mut ImportRecord, hostname: Option<String>, port: Option<String>) {
    let Some(hostname) = hostname else {
        if let Some(port) = port {
            record.custom.push(Field::custom("text", "Port", port));
        }
        return;
    };
    let (name, inline_port) = match hostname.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') =>
        {
            (h.to_owned(), p.to_owned())
        }
        _ => (hostname.clone(), String::new()),
    };
    let port = port.unwrap_or(inline_port);
    let value = json!({ "hostName": name, "port": port });
    record.fields.push(Field::new("host", value.to_string()));
}

/// A date field from a LastPass date; kept as a custom text field labelled
/// `source_key` when it does not parse.
fn date(
    record: &mut ImportRecord,
    kind: &str,
    label: Option<&str>,
    value: Option<String>,
    source_key: &str,
) {
    let Some(value) = value else { return };
    match lastpass_date(&value) {
        Some(ms) => {
            let mut field = Field::new(kind, ms.to_string());
            field.label = label.map(str::to_owned);
            record.fields.push(field);
        }
        None => record.custom.push(Field::custom("text", source_key, value)),
    }
}

fn name_from_parts(record: &mut ImportRecord, note: &mut Note) {
    let first = note.take("First Name").unwrap_or_default();
    let middle = note.take("Middle Name").unwrap_or_default();
    let last = note.take("Last Name").unwrap_or_default();
    if !(first.is_empty() && middle.is_empty() && last.is_empty()) {
        let name = json!({ "first": first, "middle": middle, "last": last });
        record.fields.push(Field::new("name", name.to_string()));
    }
}

fn name_from_full(record: &mut ImportRecord, full: Option<String>) {
    let Some(full) = full else { return };
    let words: Vec<&str> = full.split_whitespace().collect();
    let (first, middle, last) = match words.as_slice() {
        [] => return,
        [one] => (*one, String::new(), ""),
        [first, middle @ .., last] => (*first, middle.join(" "), *last),
    };
    let name = json!({ "first": first, "middle": middle, "last": last });
    record.fields.push(Field::new("name", name.to_string()));
}

/// A phone value; LastPass stores `{"num":..,"ext":..,"cc3l":..}` or text.
fn phone(value: &str) -> Value {
    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(value) {
        let get = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        return json!({ "number": get("num"), "ext": get("ext") });
    }
    json!({ "number": value })
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_number(name: &str) -> Option<u32> {
    let name = name.trim().to_lowercase();
    if let Ok(n) = name.parse::<u32>() {
        return (1..=12).contains(&n).then_some(n);
    }
    MONTHS
        .iter()
        .position(|m| *m == name || (name.len() >= 3 && m.starts_with(&name)))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// `Month,Year` (or `Month,Day,Year`) → `MM/YYYY`, the card expiry form.
pub fn month_year(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.split(',').collect();
    let (month, year) = match parts.as_slice() {
        [m, y] | [m, _, y] => (month_number(m)?, y.trim().parse::<u32>().ok()?),
        _ => return None,
    };
    Some(format!("{month:02}/{year:04}"))
}

/// `Month,Day,Year` or `Month,Year` (day 1) → epoch milliseconds (UTC).
///
/// ```
/// use keeper_plugin_lastpass::notes::lastpass_date;
///
/// assert_eq!(lastpass_date("January,2,1970"), Some(86_400_000));
/// assert_eq!(lastpass_date("June,2020"), Some(1_590_969_600_000));
/// assert_eq!(lastpass_date("someday"), None);
/// ```
pub fn lastpass_date(value: &str) -> Option<i64> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let (month, day, year) = match parts.as_slice() {
        [m, y] => (month_number(m)?, 1, y.parse::<i64>().ok()?),
        [m, d, y] => (
            month_number(m)?,
            d.parse::<u32>().ok()?,
            y.parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    if !(1..=31).contains(&day) || !(1..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400_000)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_run_until_the_public_key() {
        let text = "NoteType:SSH Key\nLanguage:en-US\nBit Strength:2048\nPrivate Key:-----BEGIN KEY-----\nabc:def\n-----END KEY-----\nPublic Key:ssh-rsa AAAA\nNotes:";
        let note = parse_note(text).unwrap_or_default();
        assert_eq!(
            note.fields,
            vec![
                ("Bit Strength".into(), "2048".into()),
                (
                    "Private Key".into(),
                    "-----BEGIN KEY-----\nabc:def\n-----END KEY-----".into()
                ),
                ("Public Key".into(), "ssh-rsa AAAA".into()),
            ]
        );
        assert_eq!(note.notes, "");
    }

    #[test]
    fn continuation_lines_and_card_expiry() {
        let note =
            parse_note("NoteType:Custom\nAddress:1 Main St\nsecond line\n").unwrap_or_default();
        assert_eq!(
            note.fields,
            vec![("Address".into(), "1 Main St\nsecond line".into())]
        );
        assert_eq!(month_year("January,2025").as_deref(), Some("01/2025"));
        assert_eq!(month_year("Dec,3,2030").as_deref(), Some("12/2030"));
        assert_eq!(month_year("x"), None);
        assert_eq!(parse_note("plain text"), None);
    }
}
