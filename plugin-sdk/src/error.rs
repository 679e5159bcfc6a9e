//! [`PluginError`]: why a plugin call failed, as the host shows it to the user.

use std::fmt;

use crate::bindings::rotator::keeper::plugin::types as wit;

/// Why a plugin call failed.
///
/// The host prefixes the text with the plugin's name and version and shows it
/// to the user, so say what went wrong and what to check. **Never put a
/// secret in the text.**
///
/// ```
/// use keeper_plugin_sdk::PluginError;
///
/// let err = PluginError::InvalidConfig("parameter `port` is not a number".into());
/// assert_eq!(err.to_string(), "invalid configuration: parameter `port` is not a number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginError {
    /// The record or parameters are wrong or incomplete (say which).
    InvalidConfig(String),
    /// The target could not be reached (connection refused, timed out...).
    Unreachable(String),
    /// The target refused the credentials.
    AuthFailed(String),
    /// The target understood the request and refused it (policy,
    /// privileges...); include the target's own message.
    Rejected(String),
    /// The plugin does not support this operation or this target.
    Unsupported(String),
    /// The import source is malformed; say where (e.g. a line number).
    MalformedInput(String),
    /// A bug or unexpected state inside the plugin.
    Internal(String),
}

impl PluginError {
    /// The message without the category prefix.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidConfig(m)
            | Self::Unreachable(m)
            | Self::AuthFailed(m)
            | Self::Rejected(m)
            | Self::Unsupported(m)
            | Self::MalformedInput(m)
            | Self::Internal(m) => m,
        }
    }

    /// This error, from a step that may already have changed the target
    /// (a session lost while a password or key file was being written).
    /// The host treats unreachable, refused credentials, invalid
    /// configuration and unsupported as "nothing was changed" and skips
    /// checking and reverting; those become [`PluginError::Rejected`] with
    /// the same message, so the host checks which credentials work.
    pub fn target_may_have_changed(self) -> Self {
        match self {
            Self::Unreachable(m)
            | Self::AuthFailed(m)
            | Self::InvalidConfig(m)
            | Self::Unsupported(m) => Self::Rejected(m),
            other => other,
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let category = match self {
            Self::InvalidConfig(_) => "invalid configuration",
            Self::Unreachable(_) => "target unreachable",
            Self::AuthFailed(_) => "authentication failed",
            Self::Rejected(_) => "rejected by the target",
            Self::Unsupported(_) => "unsupported",
            Self::MalformedInput(_) => "malformed input",
            Self::Internal(_) => "internal plugin error",
        };
        write!(f, "{category}: {}", self.message())
    }
}

impl std::error::Error for PluginError {}

impl From<PluginError> for wit::PluginError {
    fn from(err: PluginError) -> Self {
        match err {
            PluginError::InvalidConfig(m) => Self::InvalidConfig(m),
            PluginError::Unreachable(m) => Self::Unreachable(m),
            PluginError::AuthFailed(m) => Self::AuthFailed(m),
            PluginError::Rejected(m) => Self::Rejected(m),
            PluginError::Unsupported(m) => Self::Unsupported(m),
            PluginError::MalformedInput(m) => Self::MalformedInput(m),
            PluginError::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<wit::PluginError> for PluginError {
    fn from(err: wit::PluginError) -> Self {
        match err {
            wit::PluginError::InvalidConfig(m) => Self::InvalidConfig(m),
            wit::PluginError::Unreachable(m) => Self::Unreachable(m),
            wit::PluginError::AuthFailed(m) => Self::AuthFailed(m),
            wit::PluginError::Rejected(m) => Self::Rejected(m),
            wit::PluginError::Unsupported(m) => Self::Unsupported(m),
            wit::PluginError::MalformedInput(m) => Self::MalformedInput(m),
            wit::PluginError::Internal(m) => Self::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_after_a_possible_change_never_say_untouched() {
        for untouched in [
            PluginError::Unreachable("lost".into()),
            PluginError::AuthFailed("lost".into()),
            PluginError::InvalidConfig("lost".into()),
            PluginError::Unsupported("lost".into()),
        ] {
            assert_eq!(
                untouched.target_may_have_changed(),
                PluginError::Rejected("lost".into())
            );
        }
        for kept in [
            PluginError::Rejected("x".into()),
            PluginError::Internal("x".into()),
        ] {
            assert_eq!(kept.clone().target_may_have_changed(), kept);
        }
    }

    /// Every variant goes to the WIT case of its own name (the generated
    /// type is the WIT variant's: pinned to the contract) and back.
    #[test]
    fn every_variant_round_trips_through_the_wit_case_of_its_name() {
        let all = [
            PluginError::InvalidConfig("a".into()),
            PluginError::Unreachable("b".into()),
            PluginError::AuthFailed("c".into()),
            PluginError::Rejected("d".into()),
            PluginError::Unsupported("e".into()),
            PluginError::MalformedInput("f".into()),
            PluginError::Internal("g".into()),
        ];
        // A new variant fails to compile here until it is listed above.
        for err in &all {
            match err {
                PluginError::InvalidConfig(_)
                | PluginError::Unreachable(_)
                | PluginError::AuthFailed(_)
                | PluginError::Rejected(_)
                | PluginError::Unsupported(_)
                | PluginError::MalformedInput(_)
                | PluginError::Internal(_) => {}
            }
        }
        for err in all {
            let case = wit::PluginError::from(err.clone());
            // `InvalidConfig("a")` and the generated `PluginError::InvalidConfig("a")`.
            let ours = format!("{err:?}");
            let theirs = format!("{case:?}");
            assert_eq!(theirs.trim_start_matches("PluginError::"), ours);
            assert_eq!(PluginError::from(case), err);
        }
    }

    #[test]
    fn display_names_the_category_and_message() {
        let err = PluginError::AuthFailed("access denied for user 'app'".into());
        assert_eq!(
            err.to_string(),
            "authentication failed: access denied for user 'app'"
        );
        assert_eq!(err.message(), "access denied for user 'app'");
    }
}
