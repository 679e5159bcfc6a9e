//! [`Options`]: the user's options for one import run.

/// The user's options for one import run, as `(name, value)` pairs.
///
/// ```
/// use keeper_plugin_sdk::Options;
///
/// let opts = Options::from(vec![("source".to_string(), "me@example.com".to_string())]);
/// assert_eq!(opts.get("source"), Some("me@example.com"));
/// assert_eq!(opts.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options(Vec<(String, String)>);

impl Options {
    /// The first value of option `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every option in the order the user gave them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True if there are no options.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<(String, String)>> for Options {
    fn from(options: Vec<(String, String)>) -> Self {
        Self(options)
    }
}
