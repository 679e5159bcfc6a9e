//! An HTTP origin (scheme, host, port): what a manifest declares, a user
//! grants and every plugin request is checked against.

use std::fmt;

/// An HTTP origin: scheme, lower-case host, port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Lower-case host without a trailing dot.
    pub host: String,
    /// Explicit or default port.
    pub port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` (a trailing `/` is tolerated; a path,
    /// query, fragment or user info is not).
    ///
    /// # Errors
    ///
    /// A message saying what is wrong with the origin.
    pub fn parse(text: &str) -> Result<Self, String> {
        let uri: http::Uri = text
            .parse()
            .map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        if uri
            .path_and_query()
            .is_some_and(|pq| pq.as_str() != "/" && !pq.as_str().is_empty())
        {
            return Err(format!(
                "{text:?} must be an origin (scheme://host[:port]) without a path"
            ));
        }
        Self::from_uri(&uri).map_err(|e| format!("{text:?}: {e}"))
    }

    /// The origin a request URI targets.
    ///
    /// # Errors
    ///
    /// When the URI has no scheme or authority, has user info, or uses a
    /// scheme other than http/https.
    pub fn from_uri(uri: &http::Uri) -> Result<Self, String> {
        let scheme = uri.scheme_str().ok_or("no scheme")?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("scheme {other} is not http or https")),
        };
        let authority = uri.authority().ok_or("no host")?;
        if authority.as_str().contains('@') {
            return Err("user info in the authority is not allowed".to_string());
        }
        let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return Err("empty host".to_string());
        }
        Ok(Self {
            scheme,
            host,
            port: authority.port_u16().unwrap_or(default_port),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_origins() {
        let o = Origin::parse("https://LastPass.com.").expect("origin");
        assert_eq!(
            o,
            Origin {
                scheme: "https".into(),
                host: "lastpass.com".into(),
                port: 443
            }
        );
        assert_eq!(
            Origin::parse("http://127.0.0.1:8080/")
                .expect("origin")
                .port,
            8080
        );
        for bad in [
            "lastpass.com",
            "ftp://x.example",
            "https://x.example/login.php",
            "https://u:p@x.example",
            "https://x.example?q=1",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
