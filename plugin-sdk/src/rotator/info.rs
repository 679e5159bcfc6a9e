//! [`PluginInfo`]: what a rotator is and what it needs.

use crate::bindings::rotator::exports::keeper::plugin::rotator as wit;

/// What a rotator is and what it needs; returned by
/// [`Rotator::describe`](crate::Rotator::describe).
///
/// Build it with [`PluginInfo::new`] and the setters; unset values default
/// to: no default port, no required parameters, no disallowed characters, no
/// maximum length.
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    pub fn required_params<I, S>(mut self, params: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_params = params.into_iter().map(Into::into).collect();
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
}

impl From<PluginInfo> for wit::PluginInfo {
    fn from(info: PluginInfo) -> Self {
        Self {
            name: info.name,
            summary: info.summary,
            default_port: info.default_port,
            required_params: info.required_params,
            disallowed_chars: info.disallowed_chars,
            max_length: info.max_length,
        }
    }
}

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

    #[test]
    fn defaults_are_empty() {
        let info = PluginInfo::new("x", "y");
        assert_eq!(info.default_port, None);
        assert!(info.required_params.is_empty());
        assert!(info.disallowed_chars.is_empty());
        assert_eq!(info.max_length, None);
    }
}
