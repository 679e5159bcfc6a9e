//! Finding records by uid, path (`Folder\\Sub\\Title`) or title.

use std::collections::HashSet;

use crate::vault::{Record, Result, Vault, VaultError, crypto, path};

impl Vault {
    /// Finds one record by uid, path (`Folder\Sub\Title`) or title.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`]; [`VaultError::Ambiguous`] when a title
    /// matches several records.
    pub fn find_record(&self, query: &str) -> Result<Record> {
        if crypto::is_uid(query)
            && let Ok(r) = self.record(query)
        {
            return Ok(r);
        }
        let mut found = self.find_records(query)?;
        match found.len() {
            0 => Err(VaultError::NotFound {
                kind: "record",
                name: query.to_string(),
            }),
            1 => Ok(found.remove(0)),
            n => Err(VaultError::Ambiguous {
                kind: "record",
                name: query.to_string(),
                count: n,
            }),
        }
    }

    /// Every record matching a uid, a path or a title (exact title first,
    /// then case-insensitive).
    ///
    /// # Errors
    ///
    /// As [`Vault::records`].
    pub fn find_records(&self, query: &str) -> Result<Vec<Record>> {
        let records = self.records()?;
        if let Some(r) = records.iter().find(|r| r.uid == query) {
            return Ok(vec![r.clone()]);
        }
        let names = path::components(query);
        let Some((title, folders)) = names.split_last() else {
            return Ok(Vec::new());
        };
        let tree;
        let in_folder: Option<HashSet<&str>> = if folders.is_empty() {
            None
        } else {
            tree = self.folder_tree()?;
            match tree.walk(folders) {
                Some(f) => Some(tree.records_in(f).iter().map(String::as_str).collect()),
                None => return Ok(Vec::new()),
            }
        };
        let candidates = || {
            records.iter().filter(|r| {
                in_folder
                    .as_ref()
                    .is_none_or(|s| s.contains(r.uid.as_str()))
            })
        };
        let exact: Vec<_> = candidates()
            .filter(|r| r.data.title == *title)
            .cloned()
            .collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        Ok(candidates()
            .filter(|r| r.data.title.eq_ignore_ascii_case(title))
            .cloned()
            .collect())
    }
}
