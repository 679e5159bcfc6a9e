//! Variables for command lines: `${name}` in an argument is replaced by the
//! value `set NAME VALUE` gave it, or that a command recorded
//! (`last_record_uid` after `add`, `last_folder_uid` and
//! `last_shared_folder_uid` after `mkdir`, `last_mc_id` after `msp-add`).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The uid of the record `add` made last.
pub const LAST_RECORD_UID: &str = "last_record_uid";
/// The uid of the folder `mkdir` made last.
pub const LAST_FOLDER_UID: &str = "last_folder_uid";
/// The uid of the shared folder `mkdir -sf` made last.
pub const LAST_SHARED_FOLDER_UID: &str = "last_shared_folder_uid";

/// The id of the managed company `msp-add` made last.
pub const LAST_MC_ID: &str = "last_mc_id";

/// A variable problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VariableError {
    /// Names are letters, digits and `_`.
    #[error("{0:?} is not a variable name (letters, digits and _ only)")]
    BadName(String),
    /// `${name}` with no value.
    #[error("variable ${{{0}}} is not set (set it with `set {0} VALUE`)")]
    Unset(String),
}

/// One process's variables.
#[derive(Debug, Default)]
pub struct Variables(Mutex<BTreeMap<String, String>>);

impl Variables {
    /// Sets `name` to `value`.
    ///
    /// # Errors
    ///
    /// [`VariableError::BadName`].
    pub fn set(&self, name: &str, value: &str) -> Result<(), VariableError> {
        if !valid_name(name) {
            return Err(VariableError::BadName(name.to_string()));
        }
        self.lock().insert(name.to_string(), value.to_string());
        Ok(())
    }

    /// Removes `name`, returning its value.
    pub fn remove(&self, name: &str) -> Option<String> {
        self.lock().remove(name)
    }

    /// Every variable, by name.
    pub fn all(&self) -> Vec<(String, String)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Replaces every `${name}` in `text`; other `$` stay as they are.
    ///
    /// # Errors
    ///
    /// [`VariableError::Unset`] for a name with no value.
    pub fn expand(&self, text: &str) -> Result<String, VariableError> {
        let vars = self.lock();
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let name = &after[..end];
            if !valid_name(name) {
                out.push_str(&rest[..start + 2]);
                rest = after;
                continue;
            }
            let value = vars
                .get(name)
                .ok_or_else(|| VariableError::Unset(name.to_string()))?;
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Commander's `\w+`.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_set_names_and_leaves_other_dollars() {
        let v = Variables::default();
        v.set(LAST_RECORD_UID, "abc").expect("set");
        v.set("x", "1").expect("set");
        assert_eq!(
            v.expand("get ${last_record_uid} ${x}${x} $GEN ${ not} $JSON:{\"a\":1}")
                .expect("expand"),
            "get abc 11 $GEN ${ not} $JSON:{\"a\":1}"
        );
        assert_eq!(
            v.expand("${nope}"),
            Err(VariableError::Unset("nope".into()))
        );
        assert!(v.set("bad name", "1").is_err());
        assert_eq!(v.remove("x").as_deref(), Some("1"));
    }
}
