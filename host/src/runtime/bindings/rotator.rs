//! A rotator's exports, called through the bindings of the version it
//! exports; what a 1.0 rotator returns is converted to the newest types.

use wasmtime::Store;
use wasmtime::component::InstancePre;
use zeroize::Zeroize;

use super::latest::rotator::exports::keeper::plugin::rotator::{PluginInfo, Rotation};
use super::latest::rotator::keeper::plugin::types::{Field, PluginError};
use super::{Api, since_v1_0_0 as v1_0, since_v1_1_0 as v1_1};
use crate::runtime::capability::PluginState;

use v1_0::rotator::exports::keeper::plugin::rotator as wit_v1_0;

/// A rotator component, pre-linked, with the bindings of its version.
#[derive(Clone)]
pub(crate) enum RotatorPre {
    V1_0(v1_0::rotator::RotatorPluginPre<PluginState>),
    V1_1(v1_1::rotator::RotatorPluginPre<PluginState>),
}

/// One instance of a rotator component.
pub(crate) enum RotatorPlugin {
    V1_0(v1_0::rotator::RotatorPlugin),
    V1_1(v1_1::rotator::RotatorPlugin),
}

/// What `verify` and `revert` return, and `prepare`/`rotate` with fields.
type Call<T> = wasmtime::Result<Result<T, PluginError>>;

impl RotatorPre {
    /// Finds the exports of the `api` version in `pre`.
    pub(crate) fn new(pre: InstancePre<PluginState>, api: Api) -> wasmtime::Result<Self> {
        Ok(match api {
            Api::V1_0 => Self::V1_0(v1_0::rotator::RotatorPluginPre::new(pre)?),
            Api::V1_1 => Self::V1_1(v1_1::rotator::RotatorPluginPre::new(pre)?),
        })
    }

    /// A fresh instance in `store`.
    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<RotatorPlugin> {
        Ok(match self {
            Self::V1_0(pre) => RotatorPlugin::V1_0(pre.instantiate_async(store).await?),
            Self::V1_1(pre) => RotatorPlugin::V1_1(pre.instantiate_async(store).await?),
        })
    }
}

impl RotatorPlugin {
    /// `describe`. A 1.0 rotator declares no fields and cannot say it
    /// does not check passwords: `needs` and `owns` come back empty and
    /// `checks_passwords` true (the caller fills them from the manifest).
    pub(crate) async fn describe(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<PluginInfo> {
        Ok(match self {
            Self::V1_0(p) => {
                let wit_v1_0::PluginInfo {
                    name,
                    summary,
                    default_port,
                    required_params,
                    disallowed_chars,
                    max_length,
                } = p.keeper_plugin_rotator().call_describe(store).await?;
                PluginInfo {
                    name,
                    summary,
                    default_port,
                    required_params,
                    disallowed_chars,
                    max_length,
                    needs: Vec::new(),
                    owns: Vec::new(),
                    checks_passwords: true,
                }
            }
            Self::V1_1(p) => p.keeper_plugin_rotator().call_describe(store).await?,
        })
    }

    /// `prepare`.
    pub(crate) async fn prepare(
        &self,
        store: &mut Store<PluginState>,
        req: &Rotation,
    ) -> Call<Vec<Field>> {
        match self {
            Self::V1_0(p) => {
                let req = Wiped(v1_0_request(req));
                p.keeper_plugin_rotator().call_prepare(store, &req).await
            }
            Self::V1_1(p) => p.keeper_plugin_rotator().call_prepare(store, req).await,
        }
    }

    /// `rotate` (with the material the target generated; none from 1.0),
    /// `verify` or `revert` (no material).
    pub(crate) async fn step(
        &self,
        store: &mut Store<PluginState>,
        step: Step,
        req: &Rotation,
    ) -> Call<Vec<Field>> {
        let none = |done: Result<(), PluginError>| done.map(|()| Vec::new());
        match self {
            Self::V1_0(p) => {
                let rotator = p.keeper_plugin_rotator();
                let req = Wiped(v1_0_request(req));
                Ok(none(match step {
                    Step::Rotate => rotator.call_rotate(store, &req).await?,
                    Step::Verify => rotator.call_verify(store, &req).await?,
                    Step::Revert => rotator.call_revert(store, &req).await?,
                }))
            }
            Self::V1_1(p) => {
                let rotator = p.keeper_plugin_rotator();
                match step {
                    Step::Rotate => rotator.call_rotate(store, req).await,
                    Step::Verify => Ok(none(rotator.call_verify(store, req).await?)),
                    Step::Revert => Ok(none(rotator.call_revert(store, req).await?)),
                }
            }
        }
    }
}

/// A rotation step after `prepare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Set the new password on the target.
    Rotate,
    /// Log in with the new password.
    Verify,
    /// Put the old password back.
    Revert,
}

/// A request in 1.0's shape (the same fields).
fn v1_0_request(r: &Rotation) -> wit_v1_0::Rotation {
    wit_v1_0::Rotation {
        record: r.record.clone(),
        target: r.target.clone(),
        params: r.params.clone(),
        login: r.login.clone(),
        old_password: r.old_password.clone(),
        new_password: r.new_password.clone(),
        prepared: r.prepared.clone(),
    }
}

/// A rotation request whose secrets can be zeroized.
pub(crate) trait Wipe {
    /// Zeroizes the passwords and the field values (the record's and the
    /// prepared material's).
    fn wipe(&mut self);
}

/// [`Wipe`] for each version's request (the same fields).
macro_rules! wipe_requests {
    ($($request:ty),*) => {$(
        impl Wipe for $request {
            fn wipe(&mut self) {
                self.old_password.zeroize();
                self.new_password.zeroize();
                for field in self
                    .record
                    .fields
                    .iter_mut()
                    .chain(&mut self.record.custom)
                    .chain(&mut self.prepared)
                {
                    field.values.iter_mut().for_each(Zeroize::zeroize);
                }
            }
        }
    )*};
}

wipe_requests!(Rotation, wit_v1_0::Rotation);

/// A request zeroized when dropped: when the call ends or is abandoned.
pub(crate) struct Wiped<T: Wipe>(pub(crate) T);

impl<T: Wipe> std::ops::Deref for Wiped<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Wipe> Drop for Wiped<T> {
    fn drop(&mut self) {
        self.0.wipe();
    }
}
