//! [`PluginInfo`]: what a rotator is and what it needs.

use crate::bindings::rotator::exports::keeper::plugin::rotator as wit;
#[cfg(feature = "v1_1")]
use crate::bindings::rotator_v1_1::exports::keeper::plugin::rotator as wit_v1_1;

/// What a rotator is and what it needs; returned by
/// [`Rotator::describe`](crate::Rotator::describe).
///
/// Build it with [`PluginInfo::new`] and the setters; unset values default
/// to: no default port, no required parameters, no disallowed characters, no
/// maximum length, no declared fields, passwords can be checked.
///
/// `needs`, `owns` and `checks_passwords` reach keeper only from a plugin
/// registered for API 1.1 (feature `v1_1`), which checks them against the
/// manifest; under 1.0 the manifest alone says them.
///
/// ```
/// use keeper_plugin_sdk::PluginInfo;
///
/// let info = PluginInfo::new("mysql", "Rotates MySQL passwords")
///     .default_port(3306)
///     .required_params(["host", "login", "password"])
///     .disallowed_chars("'\"\\")
///     .max_length(32);
/// assert_eq!(info.default_port, Some(3306));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Short name, the value users put in `cmdr:plugin` (e.g. `mysql`).
    pub name: String,
    /// One line saying what the plugin rotates.
    pub summary: String,
    /// The port used when the record names none.
    pub default_port: Option<u16>,
    /// Parameters that must be present: `login`, `password`, `host`, or
    /// names of `cmdr:` custom fields without the prefix.
    pub required_params: Vec<String>,
    /// Characters the generated password must not contain.
    pub disallowed_chars: String,
    /// The longest password the target accepts.
    pub max_length: Option<u32>,
    /// Record fields the plugin must be shown besides the ones every
    /// rotator sees, as in the manifest's `[fields] needs` (`keyPair`,
    /// `text:passphrase`). API 1.1.
    pub needs: Vec<String>,
    /// Fields [`Rotator::prepare`](crate::Rotator::prepare) and
    /// [`Rotator::rotate_generating`](crate::Rotator::rotate_generating) may
    /// return, as in `[fields] owns`. API 1.1.
    pub owns: Vec<String>,
    /// False when the target cannot check a password (see
    /// [`PluginInfo::cannot_check_passwords`]). API 1.1.
    pub checks_passwords: bool,
}

impl Default for PluginInfo {
    fn default() -> Self {
        Self {
            name: String::new(),
            summary: String::new(),
            default_port: None,
            required_params: Vec::new(),
            disallowed_chars: String::new(),
            max_length: None,
            needs: Vec::new(),
            owns: Vec::new(),
            checks_passwords: true,
        }
    }
}

impl PluginInfo {
    /// A description with a name and a one-line summary.
    pub fn new(name: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            summary: summary.into(),
            ..Self::default()
        }
    }

    /// Sets the port used when the record names none.
    pub fn default_port(mut self, port: u16) -> Self {
        self.default_port = Some(port);
        self
    }

    /// Sets the parameters that must be present.
    pub fn required_params(mut self, params: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.required_params = strings(params);
        self
    }

    /// Sets the characters the generated password must not contain.
    pub fn disallowed_chars(mut self, chars: impl Into<String>) -> Self {
        self.disallowed_chars = chars.into();
        self
    }

    /// Sets the longest password the target accepts.
    pub fn max_length(mut self, max: u32) -> Self {
        self.max_length = Some(max);
        self
    }

    /// Declares the record fields the plugin must be shown (API 1.1; must
    /// equal the manifest's `[fields] needs`, in any order).
    pub fn needs(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.needs = strings(fields);
        self
    }

    /// Declares the fields the plugin may return (API 1.1; must equal the
    /// manifest's `[fields] owns`).
    pub fn owns(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.owns = strings(fields);
        self
    }

    /// Says the target has no way to check a password (API 1.1; the
    /// manifest says `checks-passwords = false` too): `verify` checks what
    /// it can and answers [`PluginError::Unsupported`](crate::PluginError),
    /// which keeper takes as "cannot tell", and `rotate` must set a password
    /// without needing the old one.
    pub fn cannot_check_passwords(mut self) -> Self {
        self.checks_passwords = false;
        self
    }
}

/// Each item as a `String`.
fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

/// `From` our description to each version's: 1.1 adds `extra` fields.
macro_rules! to_wit {
    ($wit:ident $(, $extra:ident)*) => {
        impl From<PluginInfo> for $wit::PluginInfo {
            fn from(info: PluginInfo) -> Self {
                Self {
                    name: info.name,
                    summary: info.summary,
                    default_port: info.default_port,
                    required_params: info.required_params,
                    disallowed_chars: info.disallowed_chars,
                    max_length: info.max_length,
                    $($extra: info.$extra,)*
                }
            }
        }
    };
}

to_wit!(wit);
#[cfg(feature = "v1_1")]
to_wit!(wit_v1_1, needs, owns, checks_passwords);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_every_field_and_converts() {
        let info = PluginInfo::new("ssh", "Rotates Unix passwords")
            .default_port(22)
            .required_params(["host", "login"])
            .disallowed_chars("<>")
            .max_length(64);
        let wit = wit::PluginInfo::from(info);
        assert_eq!(wit.name, "ssh");
        assert_eq!(wit.summary, "Rotates Unix passwords");
        assert_eq!(wit.default_port, Some(22));
        assert_eq!(wit.required_params, ["host", "login"]);
        assert_eq!(wit.disallowed_chars, "<>");
        assert_eq!(wit.max_length, Some(64));
    }

    #[cfg(feature = "v1_1")]
    #[test]
    fn api_1_1_declarations_convert() {
        let info = PluginInfo::new("awskey", "Rotates AWS access keys")
            .needs(["text:accessKeyId"])
            .owns(["secret:secretAccessKey"])
            .cannot_check_passwords();
        let wit = wit_v1_1::PluginInfo::from(info);
        assert_eq!(wit.name, "awskey");
        assert_eq!(wit.needs, ["text:accessKeyId"]);
        assert_eq!(wit.owns, ["secret:secretAccessKey"]);
        assert!(!wit.checks_passwords);
        assert!(wit_v1_1::PluginInfo::from(PluginInfo::new("x", "y")).checks_passwords);
    }

    #[test]
    fn defaults_are_empty() {
        let info = PluginInfo::new("x", "y");
        assert_eq!(info.default_port, None);
        assert!(info.required_params.is_empty());
        assert!(info.disallowed_chars.is_empty());
        assert_eq!(info.max_length, None);
    }
}
