//! A rotator built against `keeper:plugin@2.0.0`, a major version keeper 0.1
//! does not support: its export is named `keeper:plugin/rotator@2.0.0`, and
//! the host must refuse it with a clear message at install and load.
//!
//! It uses wit-bindgen directly (the SDK only speaks 1.0.0) against
//! `wit/`, a copy of `wit/since_v1.0.0` with the package version changed.
//!
//! Built by the host's tests; by hand:
//! `cargo build --target wasm32-wasip2 --profile plugin -p future-api`.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    world: "rotator-plugin",
    path: "wit",
});

use exports::keeper::plugin::rotator::{Guest, PluginInfo, Rotation};
use keeper::plugin::types::{Field, PluginError};

struct FutureApi;

impl Guest for FutureApi {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "future-api".into(),
            summary: "Built against keeper:plugin@2.0.0 (tests only)".into(),
            default_port: None,
            required_params: Vec::new(),
            disallowed_chars: String::new(),
            max_length: None,
        }
    }

    fn prepare(_req: Rotation) -> Result<Vec<Field>, PluginError> {
        Ok(Vec::new())
    }

    fn rotate(_req: Rotation) -> Result<(), PluginError> {
        Ok(())
    }

    fn verify(_req: Rotation) -> Result<(), PluginError> {
        Ok(())
    }

    fn revert(_req: Rotation) -> Result<(), PluginError> {
        Ok(())
    }
}

export!(FutureApi);
