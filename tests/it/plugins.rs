//! Locating the test and example plugins built by `tests/build.rs`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use keeper::testing::runtime::registry::sha256_hex;
use keeper::testing::runtime::{Manifest, PluginPackage, Source};

/// A test or example plugin: its component and its source folder.
pub struct TestPlugin {
    pub wasm: PathBuf,
    pub dir: PathBuf,
}

macro_rules! test_plugin {
    ($name:ident, $key:literal) => {
        pub fn $name() -> TestPlugin {
            TestPlugin {
                wasm: PathBuf::from(env!(concat!("KEEPER_TEST_WASM_", $key))),
                dir: PathBuf::from(env!(concat!("KEEPER_TEST_DIR_", $key))),
            }
        }
    };
}

test_plugin!(hostile_rotator, "HOSTILE_ROTATOR");
test_plugin!(hostile_importer, "HOSTILE_IMPORTER");
test_plugin!(rogue_importer, "ROGUE_IMPORTER");
test_plugin!(future_api, "FUTURE_API");
test_plugin!(v11_rotator, "V11_ROTATOR");
test_plugin!(minimal_rotator, "MINIMAL_ROTATOR");
test_plugin!(bitwarden_importer, "BITWARDEN_IMPORTER");

impl TestPlugin {
    /// The plugin as if installed with everything it asks for granted.
    pub fn package(&self) -> PluginPackage {
        let manifest = Manifest::parse(
            &std::fs::read_to_string(self.dir.join("plugin.toml")).expect("read plugin.toml"),
        )
        .expect("valid manifest");
        let wasm = std::fs::read(&self.wasm).expect("read component");
        PluginPackage {
            granted: manifest.capabilities.clone(),
            granted_limits: manifest.limits.clone(),
            granted_fields: manifest.fields.clone(),
            sha256: sha256_hex(&wasm),
            manifest,
            wasm: wasm.into(),
            source: Source::Installed,
            dir: None,
            native: None,
        }
    }

    /// Writes an installable package (plugin.toml with sha256 + plugin.wasm)
    /// into `out` with `keeper plugin package`-equivalent library code.
    pub fn package_into(&self, out: &Path) {
        keeper::testing::runtime::registry::package(&self.wasm, &self.dir.join("plugin.toml"), out)
            .expect("package plugin");
    }
}
