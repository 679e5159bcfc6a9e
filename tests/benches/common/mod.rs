//! What the plugin benchmarks share: a test plugin as an installed package
//! with everything it asks for granted, and a rotation request.

use keeper::runtime::plugin::{RecordView, Rotation};
use keeper::runtime::registry::sha256_hex;
use keeper::runtime::{Manifest, PluginPackage, Source};

/// The plugin whose `plugin.toml` is in `dir` and component at `wasm`.
pub fn package(dir: &str, wasm: &str) -> PluginPackage {
    let dir = std::path::Path::new(dir);
    let manifest =
        Manifest::parse(&std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest"))
            .expect("valid");
    let wasm = std::fs::read(wasm).expect("component");
    PluginPackage {
        granted: manifest.capabilities.clone(),
        granted_limits: manifest.limits.clone(),
        granted_fields: manifest.fields.clone(),
        sha256: sha256_hex(&wasm),
        manifest,
        wasm: wasm.into(),
        source: Source::Installed,
        dir: None,
    }
}

/// A request for an empty record with `params`.
pub fn request(params: &[(&str, &str)]) -> Rotation {
    Rotation {
        record: RecordView {
            uid: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            title: "bench".into(),
            record_type: "login".into(),
            fields: vec![],
            custom: vec![],
            notes: None,
        },
        target: None,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        login: "user".into(),
        old_password: "old-password".into(),
        new_password: "new-password".into(),
        prepared: vec![],
    }
}
