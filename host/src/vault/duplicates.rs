//! `find-duplicate`: groups records whose chosen fields are equal
//! (Commander §2.10: SHA-256 over lower-cased title and login, password,
//! URL, and with `--full` the record type, custom fields and notes).

use std::collections::BTreeMap;

use super::crypto::sha256;
use super::model::{Record, fields};

/// Which fields make two records duplicates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Criteria {
    /// Compare titles (case-insensitive).
    pub title: bool,
    /// Compare logins (case-insensitive).
    pub login: bool,
    /// Compare passwords.
    pub password: bool,
    /// Compare URLs.
    pub url: bool,
    /// Also record type, every other field, custom fields and notes.
    pub full: bool,
}

impl Criteria {
    /// Commander's default: title + login + password when nothing is chosen;
    /// `full` implies every field.
    pub fn normalized(mut self) -> Self {
        if self.full {
            self.title = true;
            self.login = true;
            self.password = true;
            self.url = true;
        } else if !(self.title || self.login || self.password || self.url) {
            self.title = true;
            self.login = true;
            self.password = true;
        }
        self
    }
}

/// The `--full` hash of a record's content (imports use it to skip records
/// that already exist unchanged).
pub fn full_hash(d: &super::model::RecordData) -> Option<[u8; 32]> {
    hash(
        d,
        Criteria {
            full: true,
            ..Criteria::default()
        }
        .normalized(),
    )
}

fn hash(d: &super::model::RecordData, c: Criteria) -> Option<[u8; 32]> {
    let mut tokens: Vec<String> = Vec::new();
    if c.title {
        tokens.push(d.title.to_lowercase());
    }
    if c.login {
        tokens.push(d.login().unwrap_or_default().to_lowercase());
    }
    if c.password {
        tokens.push(d.password().unwrap_or_default().to_string());
    }
    if c.url {
        tokens.push(d.url().unwrap_or_default().to_string());
    }
    if tokens.iter().all(String::is_empty) {
        return None;
    }
    if c.full {
        tokens.push(d.record_type.clone());
        tokens.push(d.notes.to_string());
        let mut rest: Vec<String> = d
            .fields
            .iter()
            // Attachments are not content: a record whose fields were
            // moved into files on import still matches its source.
            .filter(|f| !matches!(f.kind.as_str(), "login" | "password" | "url" | "fileRef"))
            .chain(&d.custom)
            .filter(|f| !f.is_empty())
            .map(|f| {
                let values: Vec<String> = f
                    .value
                    .iter()
                    .map(|v| fields::display(&f.kind, v, true))
                    .collect();
                format!("{}={}", f.name(), values.join("|"))
            })
            .collect();
        rest.sort();
        tokens.extend(rest);
    }
    let parts: Vec<&[u8]> = tokens.iter().map(String::as_bytes).collect();
    Some(sha256(&parts))
}

/// Groups of duplicate records (each of two or more), in a stable order;
/// the first record of a group is the oldest (the one `--merge` keeps).
pub fn find(records: &[Record], criteria: Criteria) -> Vec<Vec<&Record>> {
    let c = criteria.normalized();
    let mut groups: BTreeMap<[u8; 32], Vec<&Record>> = BTreeMap::new();
    for r in records {
        if let Some(h) = hash(&r.data, c) {
            groups.entry(h).or_default().push(r);
        }
    }
    let mut out: Vec<Vec<&Record>> = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort_by(|a, b| a.created.cmp(&b.created).then(a.uid.cmp(&b.uid)));
            g
        })
        .collect();
    out.sort_by(|a, b| {
        a[0].data
            .title
            .to_lowercase()
            .cmp(&b[0].data.title.to_lowercase())
    });
    out
}
