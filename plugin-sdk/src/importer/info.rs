//! [`ImporterInfo`]: what an importer reads.

use crate::bindings::importer::exports::keeper::plugin::importer as wit;
#[cfg(feature = "v1_1")]
use crate::bindings::importer_v1_1::exports::keeper::plugin::importer as wit_v1_1;

/// Describes an importer; returned by [`Importer::describe`](crate::Importer::describe).
///
/// ```
/// use keeper_plugin_sdk::ImporterInfo;
///
/// let info = ImporterInfo::new("bitwarden", "Bitwarden unencrypted JSON export");
/// assert!(info.reads_input);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImporterInfo {
    /// Short name, the value users pass to `import --format` (e.g. `csv`).
    pub name: String,
    /// One line saying what the importer reads.
    pub summary: String,
    /// Whether the importer reads the streamed source. False for online
    /// importers whose source argument is an account name. Default: true.
    pub reads_input: bool,
}

impl ImporterInfo {
    /// A file-based importer (`reads_input` true).
    pub fn new(name: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            summary: summary.into(),
            reads_input: true,
        }
    }

    /// Sets whether the importer reads the streamed source.
    pub fn reads_input(mut self, reads_input: bool) -> Self {
        self.reads_input = reads_input;
        self
    }
}

/// `From` our description to each version's (the same shape in 1.0 and 1.1).
macro_rules! to_wit {
    ($($wit:ident),*) => {$(
        impl From<ImporterInfo> for $wit::ImporterInfo {
            fn from(info: ImporterInfo) -> Self {
                Self {
                    name: info.name,
                    summary: info.summary,
                    reads_input: info.reads_input,
                }
            }
        }
    )*};
}

to_wit!(wit);
#[cfg(feature = "v1_1")]
to_wit!(wit_v1_1);
