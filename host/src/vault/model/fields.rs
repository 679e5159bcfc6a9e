//! Field types and their value shapes (Commander's `record_types.FieldTypes`):
//! which JSON shape each field type holds, how Commander's text forms parse
//! into it (`host:port`, `Last, First Middle`…), how values print, and which
//! ones are secret (masked unless `--unmask`).

use serde_json::{Map, Value, json};

/// The JSON shape of a field type's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A string.
    Text,
    /// `{hostName, port}` (port is a string).
    Host,
    /// `{region, number, ext, type}`.
    Phone,
    /// `{first, middle, last}`.
    Name,
    /// `{street1, street2, city, state, zip, country}`.
    Address,
    /// `{question, answer}`.
    SecurityQuestion,
    /// `{cardNumber, cardExpirationDate, cardSecurityCode}`.
    PaymentCard,
    /// `{accountType, routingNumber, accountNumber, otherType}`.
    BankAccount,
    /// `{publicKey, privateKey}`.
    KeyPair,
    /// Epoch milliseconds (integer).
    Date,
    /// Boolean.
    Checkbox,
    /// Any JSON object (schedule, passkey, script…).
    Object,
}

/// Every field type keeper knows, with its shape.
const FIELD_TYPES: &[(&str, Shape)] = &[
    ("text", Shape::Text),
    ("url", Shape::Text),
    ("multiline", Shape::Text),
    ("json", Shape::Text),
    ("email", Shape::Text),
    ("secret", Shape::Text),
    ("otp", Shape::Text),
    ("login", Shape::Text),
    ("password", Shape::Text),
    ("dropdown", Shape::Text),
    ("rbiUrl", Shape::Text),
    ("oneTimeCode", Shape::Text),
    ("pinCode", Shape::Text),
    ("note", Shape::Text),
    ("accountNumber", Shape::Text),
    ("licenseNumber", Shape::Text),
    ("fileRef", Shape::Text),
    ("addressRef", Shape::Text),
    ("cardRef", Shape::Text),
    ("recordRef", Shape::Text),
    ("wifiEncryption", Shape::Text),
    ("host", Shape::Host),
    ("pamHostname", Shape::Host),
    ("phone", Shape::Phone),
    ("name", Shape::Name),
    ("address", Shape::Address),
    ("securityQuestion", Shape::SecurityQuestion),
    ("paymentCard", Shape::PaymentCard),
    ("bankAccount", Shape::BankAccount),
    ("keyPair", Shape::KeyPair),
    ("privateKey", Shape::KeyPair),
    ("date", Shape::Date),
    ("birthDate", Shape::Date),
    ("expirationDate", Shape::Date),
    ("checkbox", Shape::Checkbox),
    ("isSSIDHidden", Shape::Checkbox),
    ("schedule", Shape::Object),
    ("passkey", Shape::Object),
    ("script", Shape::Object),
    ("appFiller", Shape::Object),
];

/// The shape of a field type, or `None` when keeper does not know the type.
pub fn shape(kind: &str) -> Option<Shape> {
    FIELD_TYPES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(kind))
        .map(|(_, s)| *s)
}

/// The canonical spelling of a known field type (`PASSWORD` → `password`).
pub fn canonical(kind: &str) -> Option<&'static str> {
    FIELD_TYPES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(kind))
        .map(|(k, _)| *k)
}

/// Field types whose values are masked unless `--unmask`.
pub fn is_secret(kind: &str) -> bool {
    matches!(
        kind,
        "password"
            | "secret"
            | "pinCode"
            | "oneTimeCode"
            | "otp"
            | "keyPair"
            | "privateKey"
            | "paymentCard"
            | "securityQuestion"
            | "passkey"
    )
}

/// Whether a field of this type holds several values in one field
/// (Keeper JSON writes them as one list; a repeated `name=value` argument
/// adds another value) rather than one value per field.
pub fn holds_many(kind: &str) -> bool {
    matches!(
        kind,
        "securityQuestion" | "fileRef" | "addressRef" | "cardRef" | "recordRef"
    )
}

/// Whether fields of this type link to other records by uid (`addressRef`,
/// `cardRef`, `recordRef`; not `fileRef`, whose uids are attachments).
pub fn is_reference(kind: &str) -> bool {
    kind.ends_with("Ref") && kind != "fileRef"
}

/// Whether a value counts as empty (`""`, `{}` with empty members, `null`).
pub fn value_is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.values().all(value_is_empty),
        Value::Array(a) => a.iter().all(value_is_empty),
        _ => false,
    }
}

/// Parses one value of `kind` from Commander's text form. `$JSON:{...}` and
/// a bare `{...}` are accepted for every dict shape.
///
/// # Errors
///
/// A message saying which form was expected.
pub fn parse_text(kind: &str, text: &str) -> Result<Value, String> {
    let shape = shape(kind).unwrap_or(Shape::Text);
    let json_text = text.strip_prefix("$JSON:").map(str::trim);
    if let Some(j) = json_text
        .or_else(|| (shape != Shape::Text && text.trim_start().starts_with('{')).then_some(text))
    {
        let value: Value =
            serde_json::from_str(j).map_err(|e| format!("{kind}: invalid JSON value: {e}"))?;
        return check_shape(kind, shape, value);
    }
    let t = text.trim();
    Ok(match shape {
        Shape::Text => Value::String(text.to_string()),
        Shape::Host => {
            let (host, port) = split_host_port(t);
            if let Some(p) = port
                && p.parse::<u16>().is_err()
            {
                return Err(format!(
                    "{kind}: port {p:?} is not a number between 0 and 65535"
                ));
            }
            json!({"hostName": host, "port": port.unwrap_or("")})
        }
        Shape::Phone => parse_phone(t),
        Shape::Name => parse_name(t),
        Shape::Address => parse_address(t),
        Shape::SecurityQuestion => match t.split_once('?') {
            Some((q, a)) => json!({"question": format!("{}?", q.trim()), "answer": a.trim()}),
            None => json!({"question": t, "answer": ""}),
        },
        Shape::PaymentCard => {
            let mut card =
                json!({"cardNumber": "", "cardExpirationDate": "", "cardSecurityCode": ""});
            for token in t.split_whitespace() {
                let slot = if token.contains('/') {
                    "cardExpirationDate"
                } else if token.len() > 10 {
                    "cardNumber"
                } else {
                    "cardSecurityCode"
                };
                card[slot] = Value::String(token.to_string());
            }
            card
        }
        Shape::BankAccount => {
            let parts: Vec<&str> = t.split_whitespace().collect();
            let get = |i: usize| parts.get(i).copied().unwrap_or("");
            json!({"accountType": get(0), "routingNumber": get(1), "accountNumber": get(2), "otherType": ""})
        }
        Shape::KeyPair => json!({"publicKey": "", "privateKey": t.replace("\\n", "\n")}),
        Shape::Date => Value::from(
            parse_date(t)
                .ok_or_else(|| format!("{kind}: expected epoch milliseconds or YYYY-MM-DD"))?,
        ),
        Shape::Checkbox => Value::Bool(matches!(
            t.to_ascii_lowercase().as_str(),
            "1" | "t" | "true" | "yes" | "on"
        )),
        Shape::Object => return Err(format!("{kind}: give the value as $JSON:{{...}}")),
    })
}

/// Checks that a JSON value fits the shape (objects for dict shapes, numbers
/// for dates…).
fn check_shape(kind: &str, shape: Shape, value: Value) -> Result<Value, String> {
    let ok = match shape {
        Shape::Text => value.is_string(),
        Shape::Date => value.is_i64(),
        Shape::Checkbox => value.is_boolean(),
        _ => value.is_object(),
    };
    if ok {
        Ok(value)
    } else {
        Err(format!(
            "{kind}: value {value} does not have the {shape:?} shape"
        ))
    }
}

/// Coerces a value from an imported file into the field type's shape:
/// strings for dict shapes are parsed from their text form, wrong types
/// become the text form. Keeps data rather than dropping it (unlike
/// Commander's empty-default coercion).
pub fn coerce(kind: &str, value: Value) -> Value {
    let shape = shape(kind).unwrap_or(Shape::Text);
    match (shape, value) {
        (Shape::Text, Value::String(s)) => Value::String(s),
        (Shape::Text, v @ (Value::Number(_) | Value::Bool(_))) => Value::String(v.to_string()),
        (Shape::Date, Value::Number(n)) => Value::from(n.as_i64().unwrap_or_default()),
        (Shape::Checkbox, Value::Bool(b)) => Value::Bool(b),
        (Shape::Text | Shape::Date | Shape::Checkbox, v) => {
            let text = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            parse_text(kind, &text).unwrap_or(Value::String(text))
        }
        (_, Value::Object(m)) => Value::Object(m),
        (_, Value::String(s)) => parse_text(kind, &s).unwrap_or(Value::String(s)),
        (_, v) => v,
    }
}

/// A value as one line of text (Commander's `export_*` helpers). Secrets are
/// replaced by `********` unless `unmask`.
pub fn display(kind: &str, v: &Value, unmask: bool) -> String {
    if !unmask && is_secret(kind) && !value_is_empty(v) {
        return match (shape(kind), v) {
            (Some(Shape::SecurityQuestion), Value::Object(m)) => {
                format!("{} ********", str_of(m, "question"))
            }
            _ => "********".to_string(),
        };
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => match shape(kind) {
            Some(Shape::Host) => {
                let (h, p) = (str_of(m, "hostName"), str_of(m, "port"));
                if p.is_empty() {
                    h.to_string()
                } else {
                    format!("{h}:{p}")
                }
            }
            Some(Shape::Name) => join_nonempty(
                &[str_of(m, "first"), str_of(m, "middle"), str_of(m, "last")],
                " ",
            ),
            Some(Shape::Address) => {
                let city = join_nonempty(&[str_of(m, "state"), str_of(m, "zip")], " ");
                join_nonempty(
                    &[
                        str_of(m, "street1"),
                        str_of(m, "street2"),
                        str_of(m, "city"),
                        &city,
                        str_of(m, "country"),
                    ],
                    ", ",
                )
            }
            Some(Shape::Phone) => join_nonempty(
                &[
                    str_of(m, "type"),
                    str_of(m, "region"),
                    str_of(m, "number"),
                    str_of(m, "ext"),
                ],
                " ",
            ),
            Some(Shape::SecurityQuestion) => {
                join_nonempty(&[str_of(m, "question"), str_of(m, "answer")], " ")
            }
            Some(Shape::PaymentCard) => join_nonempty(
                &[
                    str_of(m, "cardNumber"),
                    str_of(m, "cardExpirationDate"),
                    str_of(m, "cardSecurityCode"),
                ],
                " ",
            ),
            Some(Shape::BankAccount) => join_nonempty(
                &[
                    str_of(m, "accountType"),
                    str_of(m, "routingNumber"),
                    str_of(m, "accountNumber"),
                ],
                " ",
            ),
            Some(Shape::KeyPair) => {
                join_nonempty(&[str_of(m, "publicKey"), str_of(m, "privateKey")], " ")
            }
            _ => Value::Object(m.clone()).to_string(),
        },
        Value::Number(n) if shape(kind) == Some(Shape::Date) => {
            n.as_i64().map(format_date).unwrap_or_default()
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Whether `test` holds for any text inside `v`: its non-empty strings
/// and numbers, nested objects and arrays included (for search).
pub fn any_text(v: &Value, test: &mut dyn FnMut(&str) -> bool) -> bool {
    match v {
        Value::String(s) => !s.is_empty() && test(s),
        Value::Object(m) => m.values().any(|v| any_text(v, test)),
        Value::Array(a) => a.iter().any(|v| any_text(v, test)),
        Value::Number(n) => test(&n.to_string()),
        _ => false,
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

fn join_nonempty(parts: &[&str], sep: &str) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(sep)
}

fn split_host_port(t: &str) -> (&str, Option<&str>) {
    // [v6]:port, host:port, or host.
    if let Some(rest) = t.strip_prefix('[')
        && let Some((h, tail)) = rest.split_once(']')
    {
        return (h, tail.strip_prefix(':'));
    }
    match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (t, None),
    }
}

fn parse_phone(t: &str) -> Value {
    // `[Type:] [CC] number [ext]`
    let (kind, rest) = match t.split_once(':') {
        Some((k, r)) if !k.chars().any(|c| c.is_ascii_digit()) => (k.trim(), r.trim()),
        _ => ("", t),
    };
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    let (region, number, ext) = match tokens.as_slice() {
        [] => ("", String::new(), ""),
        [n] => ("", (*n).to_string(), ""),
        [r, n] if r.len() <= 3 && r.chars().all(|c| c.is_ascii_uppercase()) => {
            (*r, (*n).to_string(), "")
        }
        [r, rest @ .., e]
            if r.len() <= 3 && r.chars().all(|c| c.is_ascii_uppercase()) && rest.len() == 1 =>
        {
            (*r, rest[0].to_string(), *e)
        }
        all => ("", all.join(" "), ""),
    };
    let mut m = Map::new();
    if !region.is_empty() {
        m.insert("region".into(), region.into());
    }
    m.insert("number".into(), number.into());
    if !ext.is_empty() {
        m.insert("ext".into(), ext.into());
    }
    if !kind.is_empty() {
        m.insert("type".into(), kind.into());
    }
    Value::Object(m)
}

fn parse_name(t: &str) -> Value {
    if let Some((last, rest)) = t.split_once(',') {
        let mut parts = rest.split_whitespace();
        let first = parts.next().unwrap_or("");
        let middle = parts.collect::<Vec<_>>().join(" ");
        return json!({"first": first, "middle": middle, "last": last.trim()});
    }
    let parts: Vec<&str> = t.split_whitespace().collect();
    match parts.as_slice() {
        [] => json!({"first": "", "middle": "", "last": ""}),
        [f] => json!({"first": f, "middle": "", "last": ""}),
        [f, l] => json!({"first": f, "middle": "", "last": l}),
        [f, mid @ .., l] => json!({"first": f, "middle": mid.join(" "), "last": l}),
    }
}

fn parse_address(t: &str) -> Value {
    // `street, city, state zip, country`
    let parts: Vec<&str> = t.split(',').map(str::trim).collect();
    let get = |i: usize| parts.get(i).copied().unwrap_or("");
    let (state, zip) = match get(2).rsplit_once(' ') {
        Some((s, z)) => (s.trim(), z.trim()),
        None => (get(2), ""),
    };
    json!({"street1": get(0), "street2": "", "city": get(1), "state": state, "zip": zip, "country": get(3)})
}

/// Parses epoch milliseconds or `YYYY-MM-DD` (UTC midnight).
pub fn parse_date(t: &str) -> Option<i64> {
    if let Ok(ms) = t.parse::<i64>() {
        return Some(ms);
    }
    let mut it = t.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.get(..2)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400_000)
}

/// Parses an ISO date and time in UTC unless an offset is given:
/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]`, each
/// optionally followed by `Z` or `±HH:MM` (`--expire-at`). `None` when it
/// is not one of these.
pub fn parse_date_time(t: &str) -> Option<i64> {
    let t = t.trim();
    let date = t.get(..10)?;
    if date.len() != 10 || date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' {
        return None;
    }
    let day = parse_date(date)?;
    let rest = &t[10..];
    if rest.is_empty() {
        return Some(day);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, offset_ms) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (&rest[..i], parse_offset(&rest[i..])?),
        None => (rest, 0),
    };
    let mut parts = clock.split(':');
    let mut next = |max: i64| -> Option<i64> {
        let p = parts.next()?;
        let v: i64 = (p.len() == 2).then(|| p.parse().ok()).flatten()?;
        (0..=max).contains(&v).then_some(v)
    };
    let (h, m) = (next(23)?, next(59)?);
    let s = if clock.len() > 5 { next(59)? } else { 0 };
    if parts.next().is_some() {
        return None;
    }
    Some(day + ((h * 60 + m) * 60 + s) * 1000 - offset_ms)
}

/// `Z`, `+HH:MM` or `-HH:MM` in milliseconds east of UTC.
fn parse_offset(t: &str) -> Option<i64> {
    if t.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match t.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = t[1..].split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 23 && m <= 59).then_some(sign * (h * 60 + m) * 60_000)
}

/// Parses a period as Commander's `--expire-in`: `<N><unit>` parts such as
/// `30d`, `1h`, `2d12h`; units (any prefix of) `minutes` (`mi`), `hours`,
/// `days`, `months` (`mo`, 30 days), `years` (365 days); a bare number is
/// minutes. Returns milliseconds.
///
/// # Errors
///
/// A message naming what is wrong.
pub fn parse_period(t: &str) -> std::result::Result<i64, String> {
    const UNITS: [(&str, i64); 5] = [
        ("minutes", 60_000),
        ("hours", 3_600_000),
        ("days", 86_400_000),
        ("months", 30 * 86_400_000),
        ("years", 365 * 86_400_000),
    ];
    let t = t.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(60_000))
            .ok_or_else(|| format!("{t:?} is too long a period"));
    }
    let bad = || format!("{t:?} is not a period: use e.g. 30d, 12h, 90mi, 6mo or 1y");
    let mut total: i64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = rest[..letters].to_ascii_lowercase();
        rest = rest[letters..].trim_start();
        let matches: Vec<i64> = UNITS
            .iter()
            .filter(|(name, _)| !unit.is_empty() && name.starts_with(unit.as_str()))
            .map(|(_, ms)| *ms)
            .collect();
        let [ms] = matches[..] else {
            return Err(if matches.len() > 1 {
                format!("{unit:?} is ambiguous in {t:?}: use mi (minutes) or mo (months)")
            } else {
                bad()
            });
        };
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{t:?} is too long a period"))?;
    }
    if total <= 0 {
        return Err(bad());
    }
    Ok(total)
}

/// `YYYY-MM-DD` of epoch milliseconds (UTC).
pub fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS` of epoch milliseconds (UTC).
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        format_date(ms),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

// Howard Hinnant's civil-calendar algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_times_and_periods() {
        let day = parse_date("2030-01-02").expect("date");
        assert_eq!(parse_date_time("2030-01-02"), Some(day));
        assert_eq!(parse_date_time("2030-01-02 03:04"), Some(day + 11_040_000));
        assert_eq!(
            parse_date_time("2030-01-02T03:04:05Z"),
            Some(day + 11_045_000)
        );
        assert_eq!(
            parse_date_time("2030-01-02T03:04:05+01:00"),
            Some(day + 11_045_000 - 3_600_000)
        );
        assert_eq!(
            parse_date_time("2030-01-02T03:04:05-00:30"),
            Some(day + 12_845_000)
        );
        for bad in [
            "tomorrow",
            "2030-13-01",
            "2030-01-02 25:00",
            "2030-01-02T3:04",
            "2030-01-02 03:04:05:06",
            "2030-01-02X",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
        assert_eq!(parse_period("30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_period("1h"), Ok(3_600_000));
        assert_eq!(parse_period("2d 12hours"), Ok(60 * 3_600_000));
        assert_eq!(parse_period("90mi"), Ok(90 * 60_000));
        assert_eq!(parse_period("45"), Ok(45 * 60_000));
        assert_eq!(parse_period("6mo"), Ok(180 * 86_400_000));
        assert_eq!(parse_period("1y"), Ok(365 * 86_400_000));
        assert!(
            parse_period("5m")
                .expect_err("ambiguous")
                .contains("ambiguous")
        );
        for bad in ["", "d", "0d", "3 weeks", "-1d", "1.5h"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_forms() {
        assert_eq!(
            parse_text("host", "db.example.com:3306"),
            Ok(json!({"hostName": "db.example.com", "port": "3306"}))
        );
        assert_eq!(
            parse_text("host", "db"),
            Ok(json!({"hostName": "db", "port": ""}))
        );
        assert_eq!(
            parse_text("host", "[::1]:22"),
            Ok(json!({"hostName": "::1", "port": "22"}))
        );
        assert!(parse_text("host", "db:notaport").is_err());
        assert_eq!(
            parse_text("host", r#"$JSON:{"hostName":"h","port":"1"}"#),
            Ok(json!({"hostName": "h", "port": "1"}))
        );
        assert_eq!(
            display("host", &json!({"hostName": "h", "port": "22"}), false),
            "h:22"
        );
    }

    #[test]
    fn name_phone_address_forms() {
        assert_eq!(
            parse_text("name", "Doe, John Q"),
            Ok(json!({"first": "John", "middle": "Q", "last": "Doe"}))
        );
        assert_eq!(
            parse_text("name", "John Doe"),
            Ok(json!({"first": "John", "middle": "", "last": "Doe"}))
        );
        assert_eq!(
            parse_text("phone", "Mobile: US 5551234 12"),
            Ok(json!({"region": "US", "number": "5551234", "ext": "12", "type": "Mobile"}))
        );
        let a = parse_text("address", "1 Main St, Springfield, IL 62701, US").expect("parses");
        assert_eq!(a["zip"], "62701");
        assert_eq!(a["state"], "IL");
    }

    #[test]
    fn card_question_dates() {
        let card = parse_text("paymentCard", "4111111111111111 06/2030 123").expect("parses");
        assert_eq!(card["cardNumber"], "4111111111111111");
        assert_eq!(card["cardExpirationDate"], "06/2030");
        assert_eq!(card["cardSecurityCode"], "123");
        let q = parse_text("securityQuestion", "Pet name? Rex").expect("parses");
        assert_eq!(q, json!({"question": "Pet name?", "answer": "Rex"}));
        assert_eq!(
            parse_text("date", "2024-02-29"),
            Ok(Value::from(1_709_164_800_000_i64))
        );
        assert_eq!(format_date(1_709_164_800_000), "2024-02-29");
        assert!(parse_text("birthDate", "yesterday").is_err());
    }

    #[test]
    fn masking() {
        assert_eq!(display("password", &json!("pw"), false), "********");
        assert_eq!(display("password", &json!("pw"), true), "pw");
        assert_eq!(display("login", &json!("me"), false), "me");
        assert_eq!(
            display(
                "securityQuestion",
                &json!({"question": "Q?", "answer": "A"}),
                false
            ),
            "Q? ********"
        );
    }

    #[test]
    fn coercion_keeps_data() {
        assert_eq!(
            coerce("host", json!("h:1")),
            json!({"hostName": "h", "port": "1"})
        );
        assert_eq!(coerce("text", json!(5)), json!("5"));
        assert_eq!(
            coerce("birthDate", json!(648597600000_i64)),
            json!(648597600000_i64)
        );
    }
}
