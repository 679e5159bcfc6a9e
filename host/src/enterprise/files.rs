//! Reading the files of enterprise provisioning (licences, distributor,
//! prices): TOML, or JSON when the name ends in `.json`.

use std::path::Path;

use super::error::{EnterpriseError, Result};

/// Parses a TOML file (JSON when its name ends in `.json`).
///
/// # Errors
///
/// [`EnterpriseError::Licences`] naming the file and the problem.
pub(super) fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bad = |reason: String| EnterpriseError::Licences {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    } else {
        toml::from_str(&text).map_err(|e| bad(e.to_string()))
    }
}
