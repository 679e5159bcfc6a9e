//! [`Secret`]: a password or key that never prints and is wiped on drop.

use std::fmt;

use zeroize::Zeroize;

/// A secret string (a password, a private key).
///
/// `Debug` and `Display` print `[redacted]`, and the bytes are overwritten
/// when the value is dropped. Call [`Secret::expose`] only where the secret
/// must be sent to the target, and never log the result.
///
/// ```
/// use keeper_plugin_sdk::Secret;
///
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Send it to the target; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True if the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let secret = Secret::new("correct horse battery staple");
        let shown = format!("{secret} {secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("horse"), "{shown}");
        assert_eq!(shown, "[redacted] [redacted] Some([redacted])");
    }

    #[test]
    fn expose_returns_the_secret() {
        let secret = Secret::from("pw".to_owned());
        assert_eq!(secret.expose(), "pw");
        assert!(!secret.is_empty());
        assert!(Secret::default().is_empty());
    }
}
