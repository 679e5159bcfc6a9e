//! An importer's exports, called through the bindings of the version it
//! exports; what a 1.0 importer returns is converted to the newest types
//! (the same shapes: the importer interface did not change in 1.1).

use wasmtime::Store;
use wasmtime::component::{InstancePre, ResourceAny};

use super::latest::importer::exports::keeper::plugin::importer as wit;
use super::latest::rotator::keeper::plugin::types::PluginError;
use super::{Api, since_v1_0_0 as v1_0, since_v1_1_0 as v1_1};
use crate::runtime::capability::PluginState;

use v1_0::importer::exports::keeper::plugin::importer as wit_v1_0;

/// An importer component, pre-linked, with the bindings of its version.
#[derive(Clone)]
pub(crate) enum ImporterPre {
    V1_0(v1_0::importer::ImporterPluginPre<PluginState>),
    V1_1(v1_1::importer::ImporterPluginPre<PluginState>),
}

/// One instance of an importer component.
pub(crate) enum ImporterPlugin {
    V1_0(v1_0::importer::ImporterPlugin),
    V1_1(v1_1::importer::ImporterPlugin),
}

impl ImporterPre {
    /// Finds the exports of the `api` version in `pre`.
    pub(crate) fn new(pre: InstancePre<PluginState>, api: Api) -> wasmtime::Result<Self> {
        Ok(match api {
            Api::V1_0 => Self::V1_0(v1_0::importer::ImporterPluginPre::new(pre)?),
            Api::V1_1 => Self::V1_1(v1_1::importer::ImporterPluginPre::new(pre)?),
        })
    }

    /// A fresh instance in `store`.
    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<ImporterPlugin> {
        Ok(match self {
            Self::V1_0(pre) => ImporterPlugin::V1_0(pre.instantiate_async(store).await?),
            Self::V1_1(pre) => ImporterPlugin::V1_1(pre.instantiate_async(store).await?),
        })
    }
}

impl ImporterPlugin {
    /// `describe`.
    pub(crate) async fn describe(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<wit::ImporterInfo> {
        Ok(match self {
            Self::V1_0(p) => {
                let info = p.keeper_plugin_importer().call_describe(store).await?;
                wit::ImporterInfo {
                    name: info.name,
                    summary: info.summary,
                    reads_input: info.reads_input,
                }
            }
            Self::V1_1(p) => p.keeper_plugin_importer().call_describe(store).await?,
        })
    }

    /// The session resource's constructor.
    pub(crate) async fn start(
        &self,
        store: &mut Store<PluginState>,
        options: &[(String, String)],
    ) -> wasmtime::Result<ResourceAny> {
        match self {
            Self::V1_0(p) => {
                let session = p.keeper_plugin_importer().session();
                session.call_constructor(store, options).await
            }
            Self::V1_1(p) => {
                let session = p.keeper_plugin_importer().session();
                session.call_constructor(store, options).await
            }
        }
    }

    /// `session.next-batch`.
    pub(crate) async fn next_batch(
        &self,
        store: &mut Store<PluginState>,
        session: ResourceAny,
    ) -> wasmtime::Result<Result<Option<Vec<wit::ImportItem>>, PluginError>> {
        match self {
            Self::V1_0(p) => {
                let importer = p.keeper_plugin_importer();
                let batch = importer.session().call_next_batch(store, session).await?;
                Ok(batch.map(|items| items.map(|items| items.into_iter().map(item).collect())))
            }
            Self::V1_1(p) => {
                let importer = p.keeper_plugin_importer();
                importer.session().call_next_batch(store, session).await
            }
        }
    }
}

/// A 1.0 item in the newest shape (moved, not copied: records hold secrets).
fn item(item: wit_v1_0::ImportItem) -> wit::ImportItem {
    match item {
        wit_v1_0::ImportItem::SharedFolder(f) => wit::ImportItem::SharedFolder(wit::SharedFolder {
            path: f.path,
            manage_users: f.manage_users,
            manage_records: f.manage_records,
            can_edit: f.can_edit,
            can_share: f.can_share,
            permissions: f
                .permissions
                .into_iter()
                .map(|p| wit::Permission {
                    name: p.name,
                    team: p.team,
                    manage_users: p.manage_users,
                    manage_records: p.manage_records,
                })
                .collect(),
        }),
        wit_v1_0::ImportItem::Record(r) => wit::ImportItem::Record(wit::ImportRecord {
            uid: r.uid,
            title: r.title,
            record_type: r.record_type,
            fields: r.fields,
            custom: r.custom,
            notes: r.notes,
            locations: r
                .locations
                .into_iter()
                .map(|l| wit::Location {
                    shared_folder: l.shared_folder,
                    folder: l.folder,
                    can_edit: l.can_edit,
                    can_share: l.can_share,
                })
                .collect(),
            attachments: r
                .attachments
                .into_iter()
                .map(|a| wit::Attachment {
                    name: a.name,
                    mime: a.mime,
                    data: a.data,
                })
                .collect(),
        }),
        wit_v1_0::ImportItem::Skipped(reason) => wit::ImportItem::Skipped(reason),
    }
}
