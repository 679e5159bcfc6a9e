//! An importer's calls: one [`ImportSession`] per import, batch by batch.

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::{ImportItem, LoadedPlugin, field_size};
use crate::runtime::bindings::ImporterPlugin;
use crate::runtime::capability::input::InputSource;
use crate::runtime::capability::{CallContext, PluginState};
use crate::runtime::error::Error;
use crate::runtime::text::escape_in_place;

impl LoadedPlugin {
    /// Starts an import session reading `input`, with the user's `options`.
    ///
    /// # Errors
    ///
    /// Any [`Error`] a call can produce.
    pub async fn start_import(
        &self,
        call: CallContext,
        input: InputSource,
        options: &[(String, String)],
    ) -> Result<ImportSession, Error> {
        let pre = self.importer_pre()?.clone();
        let mut store = self.store(call, Some(input))?;
        let (instance, session) = self
            .guarded(&mut store, async |store| {
                let instance = pre.instantiate(store).await?;
                let session = instance.start(store, options).await?;
                Ok((instance, session))
            })
            .await?;
        Ok(ImportSession {
            plugin: self.clone(),
            store,
            instance,
            session,
        })
    }
}

/// One running import: a sandbox that lives for the whole import, with the
/// CPU budget and deadline re-armed for every batch.
pub struct ImportSession {
    plugin: LoadedPlugin,
    store: Store<PluginState>,
    instance: ImporterPlugin,
    session: ResourceAny,
}

impl std::fmt::Debug for ImportSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportSession")
            .field("plugin", &self.plugin.id())
            .finish()
    }
}

impl ImportSession {
    /// The next batch, or `None` when the source is done.
    ///
    /// # Errors
    ///
    /// The plugin's error (e.g. malformed input) or a sandbox error; the
    /// session cannot be used after an error.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, Error> {
        self.plugin.arm(&mut self.store)?;
        let session = self.session;
        let instance = &self.instance;
        let result = self
            .plugin
            .guarded(&mut self.store, async |store| {
                instance.next_batch(store, session).await
            })
            .await?;
        let mut batch = result.map_err(|e| self.plugin.plugin_error(e, self.store.data()))?;
        if let Some(items) = &mut batch {
            let limits = &self.plugin.limits;
            if items.len() > limits.batch_items {
                return Err(Error::ResultTooLarge {
                    plugin: self.plugin.id(),
                    what: "a batch",
                    bytes: items.len(),
                    limit: limits.batch_items,
                });
            }
            let size: usize = items.iter().map(item_size).sum();
            if size > limits.batch_bytes {
                return Err(Error::ResultTooLarge {
                    plugin: self.plugin.id(),
                    what: "a batch",
                    bytes: size,
                    limit: limits.batch_bytes,
                });
            }
            // A skipped item's reason is shown to the user as it is.
            for item in items.iter_mut() {
                if let ImportItem::Skipped(reason) = item {
                    escape_in_place(reason);
                }
            }
        }
        Ok(batch)
    }

    /// Bytes of the source read so far.
    pub fn position(&self) -> u64 {
        self.store
            .data()
            .input
            .as_ref()
            .map_or(0, InputSource::position)
    }
}

fn item_size(item: &ImportItem) -> usize {
    match item {
        ImportItem::Record(r) => {
            r.title.len()
                + r.record_type.len()
                + r.fields
                    .iter()
                    .chain(&r.custom)
                    .map(field_size)
                    .sum::<usize>()
                + r.notes.as_ref().map_or(0, String::len)
                + r.attachments
                    .iter()
                    .map(|a| a.name.len() + a.data.len())
                    .sum::<usize>()
        }
        ImportItem::SharedFolder(f) => {
            f.path.len() + f.permissions.iter().map(|p| p.name.len()).sum::<usize>()
        }
        ImportItem::Skipped(s) => s.len(),
    }
}
