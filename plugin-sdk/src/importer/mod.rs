//! The [`Importer`] trait: what an importer plugin implements.

mod info;
mod item;
mod options;

pub use info::ImporterInfo;
pub use item::{Attachment, ImportItem, ImportRecord, Location, Permission, SharedFolder};
pub use options::Options;

use crate::PluginError;

/// An importer: turns another tool's export into keeper records.
///
/// The host creates one value per import run with [`new`](Self::new) and
/// pulls batches with [`next_batch`](Self::next_batch) until it returns
/// `Ok(None)`. File-based importers read the source through
/// [`Input`](crate::input::Input) (the host streams it; a plugin never opens
/// files); online importers talk HTTP to the origin their manifest declares.
/// Memory is capped, so parse incrementally and keep batches modest (up to
/// about a thousand records).
///
/// Register the implementation with [`register_importer!`](crate::register_importer).
pub trait Importer: Sized {
    /// Describes the importer. Must not read input or touch the network.
    fn describe() -> ImporterInfo;

    /// Starts an import run with the user's options (e.g. `source` for
    /// online importers, or format-specific settings).
    ///
    /// An error here is returned to the host by the first `next_batch` call.
    fn new(options: Options) -> Result<Self, PluginError>;

    /// The next batch of items, or `None` when the source is done.
    fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError>;
}
