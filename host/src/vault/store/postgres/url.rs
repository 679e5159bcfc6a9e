//! `postgres://user[:password]@host[:port]/database?sslmode=…`: what keeper
//! accepts in a store URL, parsed once into a [`PgUrl`] whose password is a
//! secret and never displayed.
//!
//! Defaults follow libpq where they can: host `localhost`, port 5432, the
//! user `$USER` (else `postgres`), the database named like the user, and
//! the password from the URL or `PGPASSWORD`. TLS is off unless the URL
//! asks for it (`sslmode=require`, `verify-ca` or `verify-full`; see
//! `tls.rs`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};

use crate::vault::error::{Result, VaultError};

/// How the connection is encrypted (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP (the default).
    Disable,
    /// TLS if the server offers it, else plain; the certificate is not checked.
    Prefer,
    /// TLS, the certificate checked only against `sslrootcert` when given.
    Require,
    /// TLS, the certificate chain checked, not the host name.
    VerifyCa,
    /// TLS, the certificate chain and the host name checked.
    VerifyFull,
}

/// A parsed PostgreSQL store URL.
#[derive(Clone)]
pub struct PgUrl {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Role.
    pub user: String,
    /// Database.
    pub dbname: String,
    password: Option<SecretString>,
    /// TLS mode.
    pub sslmode: SslMode,
    /// CA certificates (PEM) to check the server against, instead of the
    /// public web roots.
    pub sslrootcert: Option<PathBuf>,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
}

impl PartialEq for PgUrl {
    fn eq(&self, other: &Self) -> bool {
        self.host == other.host
            && self.port == other.port
            && self.user == other.user
            && self.dbname == other.dbname
            && self.sslmode == other.sslmode
            && self.sslrootcert == other.sslrootcert
            && self.password.as_ref().map(|p| p.expose_secret().to_owned())
                == other
                    .password
                    .as_ref()
                    .map(|p| p.expose_secret().to_owned())
    }
}

impl Eq for PgUrl {}

impl PgUrl {
    /// Whether `s` is written as a PostgreSQL URL.
    pub fn is_postgres(s: &str) -> bool {
        let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// Parses a store URL.
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] naming what is wrong (never the password).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: String| VaultError::Invalid(format!("store URL: {why}"));
        let url = url::Url::parse(s).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(bad(format!("unknown scheme {:?}", url.scheme())));
        }
        let decode = |v: &str| {
            percent_decode(v).ok_or_else(|| bad("a part is not valid percent-encoded UTF-8".into()))
        };
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_matches(['[', ']']).to_string(),
            _ => "localhost".to_string(),
        };
        let user = match url.username() {
            "" => std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "postgres".into()),
            u => decode(u)?,
        };
        let password = match url.password() {
            Some(p) => Some(SecretString::from(decode(p)?)),
            None => std::env::var("PGPASSWORD").ok().map(SecretString::from),
        };
        let path = decode(url.path().trim_start_matches('/'))?;
        if path.contains('/') {
            return Err(bad("the path must be just the database name".into()));
        }
        let dbname = if path.is_empty() { user.clone() } else { path };
        let mut out = Self {
            host,
            port: url.port().unwrap_or(5432),
            user,
            dbname,
            password,
            sslmode: SslMode::Disable,
            sslrootcert: None,
            connect_timeout: Duration::from_secs(10),
        };
        for (k, v) in url.query_pairs() {
            match &*k {
                "sslmode" => {
                    out.sslmode = match &*v {
                        "disable" => SslMode::Disable,
                        "prefer" | "allow" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        other => {
                            return Err(bad(format!(
                                "sslmode {other:?} is not one of disable, prefer, require, verify-ca, \
                                 verify-full"
                            )));
                        }
                    }
                }
                "sslrootcert" => out.sslrootcert = Some(PathBuf::from(&*v)),
                "connect_timeout" => {
                    let secs: u64 = v.parse().map_err(|_| {
                        bad(format!("connect_timeout {v:?} is not a number of seconds"))
                    })?;
                    out.connect_timeout = Duration::from_secs(secs.max(1));
                }
                "application_name" => {}
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (keeper understands sslmode, sslrootcert, \
                         connect_timeout, application_name)"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// The password, if any.
    pub(super) fn password(&self) -> Option<&SecretString> {
        self.password.as_ref()
    }

    /// The same server and role with another database (tests and
    /// `store migrate` create and drop databases through `postgres`).
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut out = self.clone();
        out.dbname = dbname.to_string();
        out
    }

    /// The URL as it can be written back (config, `--store`), password
    /// included when it came in the URL.
    pub fn to_url_string(&self) -> String {
        let mut s = String::from("postgres://");
        s.push_str(&encode(&self.user));
        if let Some(p) = &self.password {
            s.push(':');
            s.push_str(&encode(p.expose_secret()));
        }
        s.push('@');
        self.push_location(&mut s);
        s
    }

    fn push_location(&self, s: &mut String) {
        if self.host.contains(':') {
            s.push_str(&format!("[{}]", self.host));
        } else {
            s.push_str(&self.host);
        }
        s.push_str(&format!(":{}/{}", self.port, encode(&self.dbname)));
        let mode = match self.sslmode {
            SslMode::Disable => None,
            SslMode::Prefer => Some("prefer"),
            SslMode::Require => Some("require"),
            SslMode::VerifyCa => Some("verify-ca"),
            SslMode::VerifyFull => Some("verify-full"),
        };
        if let Some(mode) = mode {
            s.push_str("?sslmode=");
            s.push_str(mode);
        }
    }
}

/// `postgres://user@host:port/db?sslmode=…`: never the password.
impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = format!("postgres://{}@", encode(&self.user));
        self.push_location(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_defaults_and_round_trip() {
        let u = PgUrl::parse("postgres://alice:p%40ss@db.example:6432/vault?sslmode=verify-full")
            .expect("parse");
        assert_eq!(
            (u.host.as_str(), u.port, u.user.as_str(), u.dbname.as_str()),
            ("db.example", 6432, "alice", "vault")
        );
        assert_eq!(u.sslmode, SslMode::VerifyFull);
        assert_eq!(
            u.password().map(|p| p.expose_secret().to_owned()),
            Some("p@ss".into())
        );
        assert_eq!(PgUrl::parse(&u.to_url_string()).expect("again"), u);
        assert_eq!(
            u.to_string(),
            "postgres://alice@db.example:6432/vault?sslmode=verify-full"
        );

        let d = PgUrl::parse("postgresql://bob@127.0.0.1").expect("parse");
        assert_eq!(
            (d.port, d.dbname.as_str(), d.sslmode),
            (5432, "bob", SslMode::Disable)
        );
    }

    #[test]
    fn bad_urls_say_why_without_the_password() {
        for (url, says) in [
            (
                "postgres://a:hunter2@h/db?sslmode=maybe",
                "sslmode \"maybe\"",
            ),
            (
                "postgres://a:hunter2@h/db?colour=blue",
                "unknown parameter \"colour\"",
            ),
            ("postgres://a:hunter2@h/db/extra", "just the database name"),
            (
                "postgres://a:hunter2@h/db?connect_timeout=soon",
                "connect_timeout",
            ),
        ] {
            let err = PgUrl::parse(url).expect_err(url).to_string();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
