//! An importer's calls: one [`ImportSession`] per import, batch by batch,
//! in a sandbox or (`native.rs`) into a native importer's library; the
//! checks every batch passes, whichever it came from, and the secrets its
//! words are redacted of ([`ImportSecrets`]).

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::import_secrets::ImportSecrets;
use super::native::NativeImport;
use super::{ImportItem, LoadedPlugin, Pre, field_size};
use crate::runtime::Kind;
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
        // The options may hold the user's password (an online source).
        let secrets = ImportSecrets::new(call.secrets.clone());
        if let Pre::Native(library) = &self.pre {
            if self.manifest.kind != Kind::Importer {
                return Err(self.kind_mismatch(Kind::Importer));
            }
            let import = self
                .start_native_import(library, input, options, &secrets)
                .await?;
            return Ok(ImportSession {
                plugin: self.clone(),
                calls: Calls::Native(import),
                secrets,
            });
        }
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
            calls: Calls::Wasm {
                store: Box::new(store),
                instance,
                session,
            },
            secrets,
        })
    }
}

/// One running import: a sandbox that lives for the whole import, with the
/// CPU budget and deadline re-armed for every batch (or a native
/// importer's library and the source it reads).
pub struct ImportSession {
    plugin: LoadedPlugin,
    calls: Calls,
    secrets: ImportSecrets,
}

/// Where an import's batches come from.
enum Calls {
    Wasm {
        store: Box<Store<PluginState>>,
        instance: ImporterPlugin,
        session: ResourceAny,
    },
    Native(NativeImport),
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
        let plugin = &self.plugin;
        let mut batch = match &mut self.calls {
            Calls::Wasm {
                store,
                instance,
                session,
            } => {
                plugin.arm(store)?;
                let session = *session;
                let result = plugin
                    .guarded(store, async |store| {
                        instance.next_batch(store, session).await
                    })
                    .await?;
                result.map_err(|e| plugin.plugin_error(e, store.data()))?
            }
            Calls::Native(import) => plugin.native_batch(import, &self.secrets).await?,
        };
        if let Some(items) = &mut batch {
            plugin.check_batch(items)?;
            let returned = self.secrets.returned_in(items);
            // A sandbox redacts what it says as it says it (log lines, a
            // panic, an error): from now on, of these secrets too.
            if let Calls::Wasm { store, .. } = &mut self.calls {
                store.data_mut().redactor.add(returned);
            }
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
        match &self.calls {
            Calls::Wasm { store, .. } => {
                store.data().input.as_ref().map_or(0, InputSource::position)
            }
            Calls::Native(import) => import.position(),
        }
    }
}

impl LoadedPlugin {
    /// Refuses a batch over the item or byte limit. A skipped item's
    /// reason (the plugin's words, only ever shown) is then redacted and
    /// escaped by the caller; a record's text is the user's data: stored
    /// exactly as the source gave it, and escaped where it is printed
    /// (`output::table`, the import's plan).
    fn check_batch(&self, items: &[ImportItem]) -> Result<(), Error> {
        let limits = &self.limits;
        if items.len() > limits.batch_items {
            return Err(Error::ResultTooLarge {
                plugin: self.id(),
                what: "a batch",
                bytes: items.len(),
                limit: limits.batch_items,
            });
        }
        let size: usize = items.iter().map(item_size).sum();
        if size > limits.batch_bytes {
            return Err(Error::ResultTooLarge {
                plugin: self.id(),
                what: "a batch",
                bytes: size,
                limit: limits.batch_bytes,
            });
        }
        Ok(())
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
