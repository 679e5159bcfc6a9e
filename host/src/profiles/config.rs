//! One device profile's configuration: where the vault is, which client
//! device, and the device's private key, with a check (HMAC-SHA256 under a
//! key derived from the private key) that catches any edit or damage.
//! Exported as JSON (base64 by default) or an INI section; never holds a
//! master password.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac as _};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::ProfileError;
use crate::vault::apps::DeviceCredentials;
use crate::vault::crypto::{self, Key};

/// The INI / JSON keys of a profile, as the INI file spells them.
pub(super) const KEYS: [&str; 6] = [
    "store",
    "clientid",
    "privatekey",
    "user",
    "hostname",
    "check",
];

/// A profile's configuration.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileConfig {
    /// The vault: a file path or a `postgres://` URL.
    pub store: String,
    /// The client device's id.
    pub client_id: String,
    /// The device's X25519 secret key, base64.
    private_key: Zeroizing<String>,
    /// A vault user this profile also stands for (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The Keeper region `profile init -h` named (US, EU, AU, JP, CA,
    /// US_GOV). Informational: keeper's vault is where `store` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// HMAC-SHA256 over the other keys, base64.
    check: String,
}

impl std::fmt::Debug for ProfileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileConfig")
            .field("store", &self.store)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ProfileConfig {
    /// A configuration for a device bound at `store`.
    pub fn new(store: String, creds: &DeviceCredentials, user: Option<String>) -> Self {
        let private_key = Zeroizing::new(B64.encode(creds.private_key.expose()));
        let mut config = Self {
            store,
            client_id: creds.client_uid.clone(),
            private_key,
            user,
            hostname: None,
            check: String::new(),
        };
        config.check = config.compute_check().unwrap_or_default();
        config
    }

    /// The same with `hostname` (`profile init -h`), check recomputed.
    #[must_use]
    pub fn with_hostname(mut self, hostname: Option<String>) -> Self {
        self.hostname = hostname;
        self.check = self.compute_check().unwrap_or_default();
        self
    }

    /// The device's credentials, after checking the configuration.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Tampered`] when the check does not match.
    pub fn credentials(&self) -> Result<DeviceCredentials, ProfileError> {
        self.verify()?;
        Ok(DeviceCredentials {
            client_uid: self.client_id.clone(),
            private_key: self.key()?,
        })
    }

    fn key(&self) -> Result<Key, ProfileError> {
        let bytes = Zeroizing::new(
            B64.decode(self.private_key.trim())
                .map_err(|_| ProfileError::Tampered("the private key is not base64".into()))?,
        );
        Key::from_slice(&bytes)
            .map_err(|_| ProfileError::Tampered("the private key has the wrong length".into()))
    }

    fn compute_check(&self) -> Result<String, ProfileError> {
        let key = crypto::derive_key(self.key()?.expose(), b"keeper/v1/profile-check");
        let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(key.expose())
            .map_err(|_| ProfileError::Tampered("bad key".into()))?;
        for part in [
            self.store.as_str(),
            self.client_id.as_str(),
            self.user.as_deref().unwrap_or("\u{0}"),
        ] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part.as_bytes());
        }
        // Only when set, so the checks of profiles made before it still hold.
        if let Some(h) = &self.hostname {
            mac.update(b"hostname");
            mac.update(&(h.len() as u64).to_le_bytes());
            mac.update(h.as_bytes());
        }
        Ok(B64.encode(mac.finalize().into_bytes()))
    }

    /// Checks the configuration's check.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Tampered`] when anything was changed or damaged.
    pub fn verify(&self) -> Result<(), ProfileError> {
        let expected = self.compute_check()?;
        let given = self.check.trim().as_bytes();
        let same = expected.len() == given.len()
            && expected
                .bytes()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ProfileError::Tampered(
                "its check does not match its contents".into(),
            ))
        }
    }

    /// As JSON (pretty).
    pub fn to_json(&self) -> Zeroizing<String> {
        Zeroizing::new(serde_json::to_string_pretty(self).unwrap_or_default())
    }

    /// As base64 of its compact JSON (`profile export`'s default).
    pub fn to_base64(&self) -> Zeroizing<String> {
        let json = Zeroizing::new(serde_json::to_string(self).unwrap_or_default());
        Zeroizing::new(B64.encode(json.as_bytes()))
    }

    /// As `key = value` pairs in [`KEYS`] order (an INI section's body).
    pub fn to_pairs(&self) -> Vec<(&'static str, Zeroizing<String>)> {
        let mut pairs = vec![
            ("store", Zeroizing::new(self.store.clone())),
            ("clientid", Zeroizing::new(self.client_id.clone())),
            ("privatekey", self.private_key.clone()),
        ];
        if let Some(u) = &self.user {
            pairs.push(("user", Zeroizing::new(u.clone())));
        }
        if let Some(h) = &self.hostname {
            pairs.push(("hostname", Zeroizing::new(h.clone())));
        }
        pairs.push(("check", Zeroizing::new(self.check.clone())));
        pairs
    }

    /// From an INI section's pairs, checked.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Malformed`] for a missing or unknown key,
    /// [`ProfileError::Tampered`] when the check does not match.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        what: &str,
    ) -> Result<Self, ProfileError> {
        let mut values: [Option<String>; 6] = Default::default();
        for (k, v) in pairs {
            let i = KEYS
                .iter()
                .position(|key| key.eq_ignore_ascii_case(k.trim()))
                .ok_or_else(|| ProfileError::Malformed(format!("{what}: unknown key {k:?}")))?;
            // Not trimmed: the INI parser trims unquoted values, and a
            // quoted one keeps its spaces (`ini_section`).
            values[i] = Some(v.to_string());
        }
        let [store, client_id, private_key, user, hostname, check] = values;
        let need = |v: Option<String>, key: &str| {
            v.filter(|v| !v.is_empty())
                .ok_or_else(|| ProfileError::Malformed(format!("{what} has no {key}")))
        };
        let config = Self {
            store: need(store, "store")?,
            client_id: need(client_id, "clientid")?,
            private_key: Zeroizing::new(need(private_key, "privatekey")?),
            user,
            hostname,
            check: need(check, "check")?,
        };
        config.verify()?;
        Ok(config)
    }

    /// `profile export`'s text: JSON, or an INI section named `name`;
    /// base64 of it unless `plain`.
    pub fn export(&self, name: &str, ini: bool, plain: bool) -> Zeroizing<String> {
        let text = if ini {
            ini_section(name, &self.to_pairs())
        } else if plain {
            self.to_json()
        } else {
            Zeroizing::new(serde_json::to_string(self).unwrap_or_default())
        };
        if plain {
            text
        } else {
            Zeroizing::new(B64.encode(text.as_bytes()))
        }
    }

    /// Reads `profile export`'s output (JSON or an INI section, either
    /// possibly in base64), checked; with the section's name for INI.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Malformed`] for text that is none of these,
    /// [`ProfileError::Tampered`] when the check does not match.
    pub fn parse(text: &str) -> Result<(Option<String>, Self), ProfileError> {
        let text = text.trim();
        let decoded;
        let text = if text.starts_with('{') || text.starts_with('[') {
            text
        } else {
            let compact: String = text.split_whitespace().collect();
            let bytes = B64.decode(compact.as_bytes()).map_err(|_| {
                ProfileError::Malformed(
                    "the configuration is neither JSON, INI, nor base64 of either".into(),
                )
            })?;
            decoded = Zeroizing::new(String::from_utf8(bytes).map_err(|_| {
                ProfileError::Malformed("the decoded configuration is not text".into())
            })?);
            decoded.trim()
        };
        if text.starts_with('[') {
            let ini = ini::Ini::load_from_str(text).map_err(|e| {
                ProfileError::Malformed(format!(
                    "the configuration is not INI: line {}: {}",
                    e.line, e.msg
                ))
            })?;
            let mut sections = ini.iter().filter(|(s, p)| s.is_some() || !p.is_empty());
            let (Some((Some(name), props)), None) = (sections.next(), sections.next()) else {
                return Err(ProfileError::Malformed(
                    "an INI configuration must hold exactly one [profile] section".into(),
                ));
            };
            let config = Self::from_pairs(props.iter(), "the configuration")?;
            return Ok((Some(name.to_string()), config));
        }
        let config: Self = serde_json::from_str(text).map_err(|e| {
            ProfileError::Malformed(format!("the configuration is not a profile: {e}"))
        })?;
        config.verify()?;
        Ok((None, config))
    }
}

/// An INI section `[name]` holding `pairs`, each value written so that the
/// INI parser (`rust-ini`, quotes and escapes on) reads it back exactly:
/// a value with surrounding spaces, a leading quote, `;`, `#`, a
/// backslash or a control character (a newline…) is quoted, with `\\`,
/// `\"` and control characters escaped. Others (`=` included) are
/// written as they are.
pub(super) fn ini_section(name: &str, pairs: &[(&str, Zeroizing<String>)]) -> Zeroizing<String> {
    let mut t = Zeroizing::new(format!("[{name}]\n"));
    for (k, v) in pairs {
        let v = v.as_str();
        let plain = !v.is_empty()
            && v.trim() == v
            && !v.starts_with(['"', '\''])
            && !v.contains(|c: char| c.is_control() || matches!(c, ';' | '#' | '\\'));
        t.push_str(k);
        t.push('=');
        if plain {
            t.push_str(v);
        } else {
            t.push('"');
            for c in v.chars() {
                match c {
                    '\\' => t.push_str("\\\\"),
                    '"' => t.push_str("\\\""),
                    '\n' => t.push_str("\\n"),
                    '\r' => t.push_str("\\r"),
                    '\t' => t.push_str("\\t"),
                    '\0' => t.push_str("\\0"),
                    c if c.is_control() => t.push_str(&format!("\\x{:04x}", u32::from(c))),
                    c => t.push(c),
                }
            }
            t.push('"');
        }
        t.push('\n');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values an INI writer could break: `=`, `;`, `#`, newlines, quotes,
    /// backslashes, surrounding spaces, tabs, another control character.
    const AWKWARD: [&str; 8] = [
        "/srv/a=b;c#d.db",
        " leading and trailing  ",
        "line one\nline two\r\n",
        "\"quoted\" and 'single'",
        "'starts with a quote",
        r"C:\vaults\keeper.db",
        "tab\there; # not a comment",
        "bell\u{7}é✓",
    ];

    fn config(store: &str, user: Option<&str>) -> ProfileConfig {
        let creds = DeviceCredentials {
            client_uid: "client-1".into(),
            private_key: Key::generate(),
        };
        ProfileConfig::new(store.to_string(), &creds, user.map(str::to_string))
    }

    /// Every awkward value survives `export --file-format ini` (plain and
    /// base64) and `import`, checked (the check covers store and user).
    #[test]
    fn ini_export_round_trips_awkward_values() {
        for value in AWKWARD {
            let original = config(value, Some(value));
            for plain in [true, false] {
                let text = original.export("p1", true, plain);
                let (name, back) = ProfileConfig::parse(&text)
                    .unwrap_or_else(|e| panic!("{value:?} (plain {plain}): {e}\n{}", *text));
                assert_eq!(name.as_deref(), Some("p1"));
                assert!(back == original, "{value:?} (plain {plain}) changed");
            }
        }
    }

    /// keeper.ini is written the same way: saved and loaded back, each
    /// awkward value is as it was.
    #[test]
    fn keeper_ini_round_trips_awkward_values() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keeper.ini");
        let mut file = super::super::IniFile::load(&path).expect("empty");
        let configs: Vec<ProfileConfig> = AWKWARD.iter().map(|v| config(v, Some(v))).collect();
        for (i, c) in configs.iter().enumerate() {
            file.put(&format!("p{i}"), c.clone()).expect("put");
        }
        file.set_active("p3").expect("active");
        file.save().expect("save");
        let back = super::super::IniFile::load(&path).expect("load");
        for (i, c) in configs.iter().enumerate() {
            let (_, read) = back.get(Some(&format!("p{i}"))).expect("there");
            let read = read.config().expect("kept in the file");
            assert!(*read == *c, "{:?} changed", AWKWARD[i]);
        }
        assert_eq!(back.get(None).expect("active").0, "p3");
    }

    /// A value needing nothing is written as it is; others are quoted.
    #[test]
    fn plain_values_stay_plain() {
        let pairs = [
            ("a", Zeroizing::new("abc=".to_string())),
            ("b", Zeroizing::new("x;y".to_string())),
        ];
        assert_eq!(
            ini_section("s", &pairs).as_str(),
            "[s]\na=abc=\nb=\"x;y\"\n"
        );
    }
}
