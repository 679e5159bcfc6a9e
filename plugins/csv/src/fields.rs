//! Key/value cells: what a key names (`$type`, `$record_uid`, a typed field,
//! a custom label) and how a cell's text becomes a field value.
//!
//! Structured field types (`host`, `name`, `paymentCard`...) are written in
//! the cell either as a JSON object or in Commander's text shorthand (see
//! [`field_values`]); both become the JSON text keeper stores.

use keeper_plugin_sdk::Field;
use serde_json::{Map, Value, json};

/// What the key of a key/value pair names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// `$record_uid`: the record's uid in the source.
    Uid,
    /// `$type`: the record type.
    RecordType,
    /// `$<fieldType>[:<label>]` or `TFC:Keeper`: a typed field.
    Typed {
        /// The field type, e.g. `host`.
        kind: String,
        /// The label, if any.
        label: Option<String>,
    },
    /// Anything else: a custom text field labelled with the key.
    Custom(String),
}

/// Reads a key cell.
///
/// A trailing `:<digits>` index (Commander's JSON writes `$oneTimeCode:1`) is
/// dropped. A `$` key whose type is not an identifier is a custom label.
///
/// ```
/// use keeper_plugin_csv::fields::{Key, parse_key};
///
/// assert_eq!(parse_key("$type"), Key::RecordType);
/// assert_eq!(
///     parse_key("$text:SSID"),
///     Key::Typed { kind: "text".into(), label: Some("SSID".into()) }
/// );
/// assert_eq!(parse_key("PIN"), Key::Custom("PIN".into()));
/// ```
pub fn parse_key(key: &str) -> Key {
    let key = key.trim();
    if key.eq_ignore_ascii_case("TFC:Keeper") {
        return Key::Typed {
            kind: "oneTimeCode".into(),
            label: None,
        };
    }
    let Some(rest) = key.strip_prefix('$') else {
        return Key::Custom(key.to_owned());
    };
    match rest {
        "record_uid" | "uid" => return Key::Uid,
        "type" => return Key::RecordType,
        _ => {}
    }
    let (kind, label) = match rest.split_once(':') {
        Some((kind, label)) => (kind, Some(label)),
        None => (rest, None),
    };
    // `$kind:label:2` or `$kind:2`: drop the index.
    let label = label.and_then(|label| {
        let stripped = match label.rsplit_once(':') {
            Some((head, idx)) if is_index(idx) => head,
            _ if is_index(label) => "",
            _ => label,
        };
        (!stripped.is_empty()).then(|| stripped.to_owned())
    });
    let identifier = !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric());
    if identifier {
        Key::Typed {
            kind: kind.to_owned(),
            label,
        }
    } else {
        Key::Custom(key.to_owned())
    }
}

fn is_index(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Field types whose cell may hold several values, one per line.
const MULTI_VALUE: &[&str] = &["url", "email", "phone", "securityQuestion"];

/// Builds a typed field of `kind` from a cell, or `None` when the text
/// cannot be read as that type (the caller keeps it as a custom text field
/// so nothing is lost).
///
/// Text forms of structured types (Commander's `import_field`):
///
/// | type | text form | value |
/// |---|---|---|
/// | any structured type | a JSON object `{...}` | as given |
/// | `host`, `pamHostname` | `host[:port]` | `{"hostName","port"}` |
/// | `name` | `Last, First Middle` or `First Middle Last` | `{"first","middle","last"}` |
/// | `phone` | a number | `{"number"}` |
/// | `address` | `street, city, state zip, country` | `{"street1","city","state","zip","country"}` |
/// | `securityQuestion` | `question? answer` | `{"question","answer"}` |
/// | `paymentCard` | tokens: >10 chars number, with `/` expiry, ≤6 chars code | `{"cardNumber","cardExpirationDate","cardSecurityCode"}` |
/// | `bankAccount` | `type routing account` | `{"accountType","routingNumber","accountNumber"}` |
/// | `keyPair`, `privateKey` | a private key, literal `\n` for line breaks | `{"publicKey":"","privateKey"}` |
/// | `date`, `birthDate`, `expirationDate` | epoch milliseconds | as given |
/// | `checkbox` | `1`, `t`, `true` (else false) | `true` / `false` |
/// | `oneTimeCode`, `otp` | an `otpauth://` URI or a bare base32 secret | the URI (a secret is wrapped) |
///
/// Other types are kept verbatim. `url`, `email`, `phone` and
/// `securityQuestion` cells hold one value per line.
pub fn typed_field(kind: &str, label: Option<&str>, text: &str) -> Option<Field> {
    let parts: Vec<&str> = if MULTI_VALUE.contains(&kind) {
        text.lines()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        vec![text]
    };
    let mut values = Vec::with_capacity(parts.len());
    for part in parts {
        values.push(field_value(kind, part)?);
    }
    if values.is_empty() {
        return None;
    }
    let mut field = Field::with_values(kind, values);
    field.label = label.map(str::to_owned);
    Some(field)
}

/// One value of a field of type `kind` from its text; `None` if unreadable.
pub fn field_value(kind: &str, text: &str) -> Option<String> {
    let trimmed = text.trim();
    if is_structured(kind) && trimmed.starts_with('{') {
        return match serde_json::from_str::<Value>(trimmed) {
            Ok(v @ Value::Object(_)) => Some(v.to_string()),
            _ => None,
        };
    }
    let value = match kind {
        "host" | "pamHostname" => host_value(trimmed)?,
        "name" => name_value(trimmed),
        "phone" => json!({ "number": trimmed }),
        "address" => address_value(trimmed),
        "securityQuestion" => {
            let (q, a) = trimmed.split_once('?').unwrap_or((trimmed, ""));
            json!({ "question": format!("{}?", q.trim()), "answer": a.trim() })
        }
        "paymentCard" => card_value(trimmed),
        "bankAccount" => {
            let mut it = trimmed.split_whitespace();
            json!({
                "accountType": it.next().unwrap_or(""),
                "routingNumber": it.next().unwrap_or(""),
                "accountNumber": it.next().unwrap_or(""),
                "otherType": "",
            })
        }
        "keyPair" | "privateKey" => {
            json!({ "publicKey": "", "privateKey": text.replace("\\n", "\n") })
        }
        "date" | "birthDate" | "expirationDate" => {
            return trimmed.parse::<i64>().ok().map(|ms| ms.to_string());
        }
        "checkbox" => {
            let on = matches!(trimmed.to_ascii_lowercase().as_str(), "1" | "t" | "true");
            return Some(on.to_string());
        }
        "oneTimeCode" | "otp" => return one_time_code(trimmed),
        _ => return Some(text.to_owned()),
    };
    Some(value.to_string())
}

/// Field types whose values are JSON objects.
fn is_structured(kind: &str) -> bool {
    matches!(
        kind,
        "host"
            | "pamHostname"
            | "name"
            | "phone"
            | "address"
            | "securityQuestion"
            | "paymentCard"
            | "bankAccount"
            | "keyPair"
            | "privateKey"
    )
}

/// `host`, `host:port`, `[v6]:port` → `{"hostName","port"}`.
pub fn host_value(text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    let (host, port) = match text.rsplit_once(':') {
        // A bare IPv6 address has several colons and no brackets: no port.
        Some((h, p)) if is_index(p) && (!h.contains(':') || h.ends_with(']')) => (h, p),
        _ => (text, ""),
    };
    Some(json!({ "hostName": host, "port": port }))
}

fn name_value(text: &str) -> Value {
    let (first, middle, last) = if let Some((last, rest)) = text.split_once(',') {
        let mut it = rest.split_whitespace();
        let first = it.next().unwrap_or("");
        let middle: Vec<&str> = it.collect();
        (first.to_owned(), middle.join(" "), last.trim().to_owned())
    } else {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [] => (String::new(), String::new(), String::new()),
            [one] => ((*one).to_owned(), String::new(), String::new()),
            [first, middle @ .., last] => {
                ((*first).to_owned(), middle.join(" "), (*last).to_owned())
            }
        }
    };
    json!({ "first": first, "middle": middle, "last": last })
}

fn address_value(text: &str) -> Value {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let get = |i: usize| parts.get(i).copied().unwrap_or("");
    let (state, zip) = match get(2).rsplit_once(' ') {
        Some((s, z)) => (s.trim(), z.trim()),
        None => (get(2), ""),
    };
    json!({
        "street1": get(0),
        "street2": "",
        "city": get(1),
        "state": state,
        "zip": zip,
        "country": get(3),
    })
}

fn card_value(text: &str) -> Value {
    let mut card = Map::new();
    for token in text.split_whitespace() {
        let key = if token.contains('/') {
            "cardExpirationDate"
        } else if token.chars().count() > 10 {
            "cardNumber"
        } else if token.chars().count() <= 6 {
            "cardSecurityCode"
        } else {
            continue;
        };
        card.entry(key)
            .or_insert_with(|| Value::String(token.to_owned()));
    }
    for key in ["cardNumber", "cardExpirationDate", "cardSecurityCode"] {
        card.entry(key)
            .or_insert_with(|| Value::String(String::new()));
    }
    Value::Object(card)
}

/// An `otpauth://` URI as given, or a bare base32 secret wrapped as
/// `otpauth://totp/?secret=<SECRET>`; `None` for anything else.
///
/// ```
/// use keeper_plugin_csv::fields::one_time_code;
///
/// assert_eq!(
///     one_time_code("jbsw y3dp").as_deref(),
///     Some("otpauth://totp/?secret=JBSWY3DP")
/// );
/// assert_eq!(one_time_code("not a secret!"), None);
/// ```
pub fn one_time_code(text: &str) -> Option<String> {
    let text = text.trim();
    if text
        .get(..10)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("otpauth://"))
    {
        return Some(text.to_owned());
    }
    let secret: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let base32 = secret
        .trim_end_matches('=')
        .chars()
        .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c));
    (base32 && !secret.is_empty()).then(|| format!("otpauth://totp/?secret={secret}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_classified() {
        assert_eq!(parse_key("$record_uid"), Key::Uid);
        assert_eq!(
            parse_key("TFC:Keeper"),
            Key::Typed {
                kind: "oneTimeCode".into(),
                label: None
            }
        );
        assert_eq!(
            parse_key("$oneTimeCode:1"),
            Key::Typed {
                kind: "oneTimeCode".into(),
                label: None
            }
        );
        assert_eq!(
            parse_key("$text:SSID:2"),
            Key::Typed {
                kind: "text".into(),
                label: Some("SSID".into())
            }
        );
        assert_eq!(parse_key("$ bad"), Key::Custom("$ bad".into()));
        assert_eq!(parse_key("$"), Key::Custom("$".into()));
    }

    #[test]
    fn host_values_split_the_port() {
        assert_eq!(
            field_value("host", "db.example.com:5432").as_deref(),
            Some(r#"{"hostName":"db.example.com","port":"5432"}"#)
        );
        assert_eq!(
            field_value("host", "db").as_deref(),
            Some(r#"{"hostName":"db","port":""}"#)
        );
        assert_eq!(
            field_value("host", "[::1]:22").as_deref(),
            Some(r#"{"hostName":"[::1]","port":"22"}"#)
        );
        assert_eq!(
            field_value("host", "fe80::1").as_deref(),
            Some(r#"{"hostName":"fe80::1","port":""}"#)
        );
        assert_eq!(
            field_value("host", r#"{"hostName":"h","port":"1"}"#).as_deref(),
            Some(r#"{"hostName":"h","port":"1"}"#)
        );
        assert_eq!(field_value("host", "{not json"), None);
    }

    #[test]
    fn structured_text_forms() {
        let name = field_value("name", "Doe, John Q").unwrap_or_default();
        assert_eq!(name, r#"{"first":"John","last":"Doe","middle":"Q"}"#);
        let card = field_value("paymentCard", "4111111111111111 12/2030 123").unwrap_or_default();
        assert_eq!(
            card,
            r#"{"cardExpirationDate":"12/2030","cardNumber":"4111111111111111","cardSecurityCode":"123"}"#
        );
        assert_eq!(
            field_value("date", "1700000000000").as_deref(),
            Some("1700000000000")
        );
        assert_eq!(field_value("date", "yesterday"), None);
        assert_eq!(field_value("checkbox", "T").as_deref(), Some("true"));
        let urls = typed_field("url", None, "https://a\nhttps://b");
        assert_eq!(urls.map(|f| f.values.len()), Some(2));
    }
}
