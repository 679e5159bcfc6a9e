//! The `proxy` setting: a checked proxy URL whose password never prints.

/// Schemes Commander accepts for `proxy`.
const SCHEMES: &[&str] = &["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// A proxy URL `scheme://[user:password@]host:port` with a supported
/// scheme. `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy(url::Url);

impl Proxy {
    /// Checks a proxy URL.
    ///
    /// # Errors
    ///
    /// A sentence saying what is wrong (never containing the URL, which may
    /// hold a password).
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| {
            format!("is not a URL ({e}); expected scheme://[user:password@]host:port")
        })?;
        if !SCHEMES.contains(&url.scheme()) {
            return Err(format!(
                "has the unsupported scheme {:?}; use one of {}",
                url.scheme(),
                SCHEMES.join(", ")
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("has no host".into());
        }
        if url.port_or_known_default().is_none() {
            return Err("has no port".into());
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(
                "must be scheme://[user:password@]host:port, nothing after the port".into(),
            );
        }
        Ok(Self(url))
    }

    /// The full URL, credentials included (for the HTTP client only).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The scheme (`http`, `socks5h`, …).
    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }
}

impl std::fmt::Display for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("****"));
        }
        f.write_str(shown.as_str().trim_end_matches('/'))
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proxy({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commander_schemes_parse_and_the_password_never_prints() {
        for ok in [
            "http://proxy_user:proxy_password@host:3128",
            "socks5h://10.0.0.1:1080",
            "socks4a://h:1",
            "https://h",
        ] {
            let p = Proxy::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(!format!("{p} {p:?}").contains("proxy_password"));
        }
        assert_eq!(
            Proxy::parse("http://u:secret@h:1").expect("ok").to_string(),
            "http://u:****@h:1"
        );
        for bad in ["ftp://h:1", "not a url", "http://h:1/path", "socks5://:1"] {
            let err = Proxy::parse(bad).expect_err(bad);
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
