//! An importer's exports, called through the bindings of the version it
//! exports; what a 1.0 importer returns is converted to the newest types
//! (the same shapes: the importer interface did not change in 1.1), by
//! the one mapping of those types ([`into_newest_importer_types`]).

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
            Self::V1_0(p) => p
                .keeper_plugin_importer()
                .call_describe(store)
                .await?
                .into(),
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
                Ok(batch
                    .map(|items| items.map(|items| items.into_iter().map(Into::into).collect())))
            }
            Self::V1_1(p) => {
                let importer = p.keeper_plugin_importer();
                importer.session().call_next_batch(store, session).await
            }
        }
    }
}

/// `From` impls into the newest importer types from another shape of
/// them, named in order: importer info, permission, shared folder,
/// location, attachment, record, item. The shapes have the same fields
/// (a 1.0 component's types, below; a native importer's JSON,
/// `native/abi_import.rs`), each moved with `Into` (a list item by item,
/// in place: records hold secrets): the mapping of the importer's types,
/// written once for whatever they come from.
macro_rules! into_newest_importer_types {
    ($info:ty, $permission:ty, $folder:ty, $location:ty, $attachment:ty, $record:ty, $item:ty $(,)?) => {
        impl From<$info> for $crate::runtime::plugin::ImporterInfo {
            fn from(i: $info) -> Self {
                Self {
                    name: i.name,
                    summary: i.summary,
                    reads_input: i.reads_input,
                }
            }
        }

        impl From<$permission> for $crate::runtime::plugin::Permission {
            fn from(p: $permission) -> Self {
                Self {
                    name: p.name,
                    team: p.team,
                    manage_users: p.manage_users,
                    manage_records: p.manage_records,
                }
            }
        }

        impl From<$folder> for $crate::runtime::plugin::SharedFolder {
            fn from(f: $folder) -> Self {
                Self {
                    path: f.path,
                    manage_users: f.manage_users,
                    manage_records: f.manage_records,
                    can_edit: f.can_edit,
                    can_share: f.can_share,
                    permissions: f.permissions.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<$location> for $crate::runtime::plugin::Location {
            fn from(l: $location) -> Self {
                Self {
                    shared_folder: l.shared_folder,
                    folder: l.folder,
                    can_edit: l.can_edit,
                    can_share: l.can_share,
                }
            }
        }

        impl From<$attachment> for $crate::runtime::plugin::Attachment {
            fn from(a: $attachment) -> Self {
                Self {
                    name: a.name,
                    mime: a.mime,
                    data: a.data,
                }
            }
        }

        impl From<$record> for $crate::runtime::plugin::ImportRecord {
            fn from(r: $record) -> Self {
                Self {
                    uid: r.uid,
                    title: r.title,
                    record_type: r.record_type,
                    fields: r.fields.into_iter().map(Into::into).collect(),
                    custom: r.custom.into_iter().map(Into::into).collect(),
                    notes: r.notes,
                    locations: r.locations.into_iter().map(Into::into).collect(),
                    attachments: r.attachments.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<$item> for $crate::runtime::plugin::ImportItem {
            fn from(item: $item) -> Self {
                type Item = $item;
                match item {
                    Item::SharedFolder(f) => Self::SharedFolder(f.into()),
                    Item::Record(r) => Self::Record(r.into()),
                    Item::Skipped(reason) => Self::Skipped(reason),
                }
            }
        }
    };
}
pub(crate) use into_newest_importer_types;

into_newest_importer_types!(
    wit_v1_0::ImporterInfo,
    wit_v1_0::Permission,
    wit_v1_0::SharedFolder,
    wit_v1_0::Location,
    wit_v1_0::Attachment,
    wit_v1_0::ImportRecord,
    wit_v1_0::ImportItem,
);
