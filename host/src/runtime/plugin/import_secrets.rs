//! What an importer's words are redacted of, for sandboxed and native
//! importers alike: the options' secrets and those of every record the
//! import has returned so far.

use zeroize::Zeroizing;

use super::ImportItem;
use crate::runtime::fields;
use crate::runtime::redact::Redactor;

/// The secrets an importer's words (errors, skipped lines' reasons, log
/// lines) are redacted of, sandboxed or native: the options' (an online
/// source's password) and those of the records it has returned so far
/// ([`fields::secret_values`], the rule a rotator's requests follow).
pub(super) struct ImportSecrets {
    options: Vec<Zeroizing<String>>,
    returned: Vec<Zeroizing<String>>,
}

impl ImportSecrets {
    pub(super) fn new(options: Vec<Zeroizing<String>>) -> Self {
        Self {
            options,
            returned: Vec::new(),
        }
    }

    /// A redactor of every secret of the import so far. A native import
    /// builds it when a call fails (once an import, which ends with it),
    /// not per batch: a large import returns more secrets than a redactor
    /// should match every batch's text against.
    pub(super) fn redactor(&self) -> Redactor {
        let mut redactor = Redactor::new(&self.options);
        redactor.add(&self.returned);
        redactor
    }

    /// Keeps the secrets of a batch's records, and redacts its skipped
    /// items' reasons (shown to the user) of them, of those of every
    /// earlier batch and of the options': a reason may quote any line of
    /// the source. Returns the batch's secrets.
    pub(super) fn returned_in(&mut self, items: &mut [ImportItem]) -> &[Zeroizing<String>] {
        let records = items.iter().filter_map(|item| match item {
            ImportItem::Record(r) => Some(r.fields.iter().chain(&r.custom)),
            _ => None,
        });
        let secrets = fields::secret_values(records.flatten());
        if items.iter().any(|i| matches!(i, ImportItem::Skipped(_))) {
            let mut redactor = self.redactor();
            redactor.add(&secrets);
            for item in items.iter_mut() {
                if let ImportItem::Skipped(reason) = item {
                    *reason = redactor.redact(reason);
                }
            }
        }
        let start = self.returned.len();
        self.returned.extend(secrets);
        &self.returned[start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::plugin::{Field, ImportRecord};

    fn record(password: &str) -> ImportItem {
        ImportItem::Record(ImportRecord {
            uid: None,
            title: "t".into(),
            record_type: "login".into(),
            fields: vec![Field {
                kind: "password".into(),
                label: None,
                values: vec![password.into()],
            }],
            custom: Vec::new(),
            notes: None,
            locations: Vec::new(),
            attachments: Vec::new(),
        })
    }

    fn reason(item: &ImportItem) -> &str {
        match item {
            ImportItem::Skipped(reason) => reason,
            _ => panic!("not a skipped item"),
        }
    }

    #[test]
    fn a_skipped_reason_is_redacted_of_every_batch_so_far_and_the_options() {
        let mut secrets = ImportSecrets::new(vec![Zeroizing::new("optionsecret".into())]);
        let mut first = vec![record("firstbatchpw")];
        assert_eq!(secrets.returned_in(&mut first).len(), 1);
        let mut second = vec![
            record("secondbatchpw"),
            ImportItem::Skipped("dup of firstbatchpw, secondbatchpw, optionsecret".into()),
        ];
        secrets.returned_in(&mut second);
        let shown = reason(&second[1]);
        for secret in ["firstbatchpw", "secondbatchpw", "optionsecret"] {
            assert!(!shown.contains(secret), "{secret} in {shown:?}");
        }
        assert!(shown.starts_with("dup of "), "{shown:?}");
    }
}
