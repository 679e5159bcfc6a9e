//! Role enforcements: the ones keeper knows, with Commander's names and
//! value types, parsed from `KEY:VALUE` and shown as typed JSON values
//! (Commander's conversion: `long` → a number, `boolean` → present,
//! `record_types` / `json` / `jsonarray` → parsed JSON, the rest a string).

use serde_json::Value;

use super::error::{EnterpriseError, Result};
use crate::vault::store::roles::EnforcementRow;

/// An enforcement's value type (Commander's spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An integer.
    Long,
    /// On when present (no value).
    Boolean,
    /// Free text.
    String,
    /// Free text naming durations (`two_factor_duration`).
    TwoFactorDuration,
    /// IP ranges, comma-separated (`ip_whitelist`).
    IpWhitelist,
    /// A JSON object of record types.
    RecordTypes,
    /// A JSON array.
    JsonArray,
    /// A role to share accounts with: names a role of its own enterprise,
    /// so it is never copied to another one.
    AccountShare,
}

impl Kind {
    /// Stored spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Long => "long",
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::TwoFactorDuration => "two_factor_duration",
            Self::IpWhitelist => "ip_whitelist",
            Self::RecordTypes => "record_types",
            Self::JsonArray => "jsonarray",
            Self::AccountShare => "account_share",
        }
    }
}

/// The enforcements keeper knows (a subset of Commander's list, each
/// type represented).
pub(crate) const CATALOG: [(&str, Kind); 17] = [
    ("master_password_minimum_length", Kind::Long),
    ("master_password_minimum_upper", Kind::Long),
    ("master_password_minimum_digits", Kind::Long),
    ("master_password_maximum_days_before_change", Kind::Long),
    ("logout_timer_desktop", Kind::Long),
    ("logout_timer_web", Kind::Long),
    ("require_two_factor", Kind::Boolean),
    ("restrict_import", Kind::Boolean),
    ("restrict_export", Kind::Boolean),
    ("restrict_persistent_login", Kind::Boolean),
    ("restrict_offline_access", Kind::Boolean),
    ("keeper_fill_auto_suggest", Kind::String),
    ("two_factor_duration_desktop", Kind::TwoFactorDuration),
    ("restrict_ip_addresses", Kind::IpWhitelist),
    ("restrict_record_types", Kind::RecordTypes),
    ("generated_password_complexity", Kind::JsonArray),
    ("require_account_share", Kind::AccountShare),
];

/// An enforcement's type by name, any case.
pub(crate) fn kind(key: &str) -> Option<(&'static str, Kind)> {
    CATALOG
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key.trim()))
        .copied()
}

/// What `--enforcement KEY:VALUE` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Set this enforcement.
    Set(EnforcementRow),
    /// Remove it (`KEY:` with no value, or a boolean set to false).
    Remove(String),
}

/// Parses `KEY:VALUE` by the key's type.
///
/// # Errors
///
/// [`EnterpriseError::Rejected`] naming the key: unknown, or a value
/// that is not of its type.
pub(crate) fn parse(arg: &str) -> Result<Change> {
    let (key, value) = arg.split_once(':').unwrap_or((arg, ""));
    let (key, kind) = kind(key).ok_or_else(|| {
        EnterpriseError::Rejected(format!("Unknown enforcement \"{}\"", key.trim()))
    })?;
    let value = value.trim();
    if value.is_empty() {
        return Ok(Change::Remove(key.to_string()));
    }
    let bad = |what: &str| {
        EnterpriseError::Rejected(format!(
            "Enforcement \"{key}\" expects {what}, not \"{value}\""
        ))
    };
    let stored = match kind {
        Kind::Long => value
            .parse::<i64>()
            .map_err(|_| bad("an integer"))?
            .to_string(),
        Kind::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => String::new(),
            "false" | "off" | "0" | "no" => return Ok(Change::Remove(key.to_string())),
            _ => return Err(bad("true or false")),
        },
        Kind::RecordTypes => {
            let v: Value = serde_json::from_str(value).map_err(|_| bad("a JSON object"))?;
            if !v.is_object() {
                return Err(bad("a JSON object"));
            }
            v.to_string()
        }
        Kind::JsonArray => {
            let v: Value = serde_json::from_str(value).map_err(|_| bad("a JSON array"))?;
            if !v.is_array() {
                return Err(bad("a JSON array"));
            }
            v.to_string()
        }
        Kind::AccountShare => value
            .parse::<i64>()
            .map_err(|_| bad("a role id"))?
            .to_string(),
        Kind::String | Kind::TwoFactorDuration | Kind::IpWhitelist => value.to_string(),
    };
    Ok(Change::Set(EnforcementRow {
        key: key.to_string(),
        value_type: kind.as_str().to_string(),
        value: stored,
    }))
}

/// A stored enforcement as a typed JSON value (Commander's conversion).
pub(crate) fn json_value(e: &EnforcementRow) -> Value {
    match e.value_type.as_str() {
        "long" | "account_share" => e
            .value
            .parse::<i64>()
            .map_or_else(|_| Value::String(e.value.clone()), Value::from),
        "boolean" => Value::Bool(true),
        "record_types" | "json" | "jsonarray" => {
            serde_json::from_str(&e.value).unwrap_or_else(|_| Value::String(e.value.clone()))
        }
        _ => Value::String(e.value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(arg: &str) -> EnforcementRow {
        match parse(arg).expect("parses") {
            Change::Set(e) => e,
            Change::Remove(k) => panic!("{arg}: removes {k}"),
        }
    }

    #[test]
    fn values_are_checked_and_kept_by_type() {
        let e = set("LOGOUT_TIMER_DESKTOP: 30");
        assert_eq!(
            (e.key.as_str(), e.value_type.as_str(), e.value.as_str()),
            ("logout_timer_desktop", "long", "30")
        );
        assert_eq!(json_value(&e), Value::from(30));
        assert_eq!(json_value(&set("restrict_import:true")), Value::Bool(true));
        assert_eq!(
            parse("restrict_import:false").expect("parses"),
            Change::Remove("restrict_import".into())
        );
        assert_eq!(
            parse("logout_timer_desktop:").expect("parses"),
            Change::Remove("logout_timer_desktop".into())
        );
        let e = set(r#"restrict_record_types:{"std": ["login"]}"#);
        assert_eq!(e.value, r#"{"std":["login"]}"#);
        assert_eq!(json_value(&e)["std"][0], "login");
        let e = set(r#"generated_password_complexity:[{"length": 20}]"#);
        assert_eq!(json_value(&e)[0]["length"], 20);
        assert_eq!(
            json_value(&set("restrict_ip_addresses:10.0.0.0/8")),
            "10.0.0.0/8"
        );
        for bad in [
            "logout_timer_desktop:soon",
            "restrict_import:maybe",
            "restrict_record_types:[1]",
            "generated_password_complexity:{}",
            "no_such_thing:1",
        ] {
            assert!(
                matches!(parse(bad), Err(EnterpriseError::Rejected(_))),
                "{bad}"
            );
        }
    }
}
