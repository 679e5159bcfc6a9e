//! Where a vault lives: a SQLite file (the default) or a PostgreSQL
//! database, and how each is written on the command line and in the
//! configuration (`--store`, `KEEPER_STORE`, the config's `store`).

use std::fmt;
use std::path::{Path, PathBuf};

use super::postgres::PgUrl;
use crate::vault::error::{Result, VaultError};

/// A vault's storage location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// One SQLite file.
    File(PathBuf),
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`).
    Postgres(PgUrl),
}

impl Location {
    /// Parses `postgres://…` / `postgresql://…` as a database, `file:PATH`
    /// or anything else as a file path.
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for a malformed PostgreSQL URL (the message
    /// never repeats a password it contains).
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if PgUrl::is_postgres(s) {
            return PgUrl::parse(s).map(Self::Postgres);
        }
        if s.is_empty() {
            return Err(VaultError::Invalid("an empty store location".into()));
        }
        let path = s
            .strip_prefix("file://")
            .or_else(|| s.strip_prefix("file:"))
            .unwrap_or(s);
        Ok(Self::File(PathBuf::from(path)))
    }

    /// The file, for a file vault.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::File(p) => Some(p),
            Self::Postgres(_) => None,
        }
    }

    /// Whether this is a PostgreSQL vault.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// The location as another machine's configuration may carry it
    /// (`client add --config-init`): the path, or the URL without its
    /// password, so a device never receives the issuer's database
    /// password; the device connects with its own role (password from
    /// `PGPASSWORD`).
    pub fn shared_config_value(&self) -> String {
        match self {
            Self::Postgres(url) => url.to_string(),
            Self::File(_) => self.config_value(),
        }
    }

    /// How the configuration's `store` key records this location: the
    /// URL as given, or the file's absolute path.
    pub fn config_value(&self) -> String {
        match self {
            Self::Postgres(url) => url.to_url_string(),
            Self::File(path) => std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
        }
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Self::File(p.to_path_buf())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Self::File(p)
    }
}

/// The path, or the URL without its password.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Postgres(u) => write!(f, "{u}"),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_databases_and_everything_else_a_file() {
        assert!(matches!(
            Location::parse("postgres://u@127.0.0.1/db"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::parse("postgresql://127.0.0.1:5432/db"),
            Ok(Location::Postgres(_))
        ));
        assert_eq!(
            Location::parse("file:/tmp/v.db").ok(),
            Some(Location::File("/tmp/v.db".into()))
        );
        assert_eq!(
            Location::parse("./v.db").ok(),
            Some(Location::File("./v.db".into()))
        );
        assert!(Location::parse("  ").is_err());
    }

    #[test]
    fn display_never_shows_the_password() {
        let loc = Location::parse("postgres://alice:s3cret-pw@db.example:5433/vault").expect("url");
        let shown = format!("{loc} {loc:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("db.example:5433/vault"), "{shown}");
    }
}
