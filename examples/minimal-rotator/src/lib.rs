//! The smallest useful keeper rotator: it logs each step and succeeds,
//! touching nothing. A starting point for your own plugin, and what keeper's
//! runtime benchmark and install tests load.
//!
//! Build and install:
//!
//! ```sh
//! cargo build --target wasm32-wasip2 --release -p minimal-rotator
//! keeper plugin package --wasm target/wasm32-wasip2/release/minimal_rotator.wasm \
//!     --manifest examples/minimal-rotator/plugin.toml --out dist/minimal-rotator
//! keeper plugin install dist/minimal-rotator --grant
//! ```
//!
//! Then put `minimal-rotator` in a record's `cmdr:plugin` field and run
//! `keeper rotate <record>`.

use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, log_info};

/// The plugin.
pub struct Minimal;

impl Rotator for Minimal {
    fn describe() -> PluginInfo {
        PluginInfo::new("minimal-rotator", "Logs each rotation step and succeeds")
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        log_info!("rotate: would set a new password for {}", req.login());
        Ok(())
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        log_info!("verify: would log in as {}", req.login());
        Ok(())
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        log_info!("revert: would restore the password of {}", req.login());
        Ok(())
    }
}

keeper_plugin_sdk::register_rotator!(Minimal);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_itself_without_constraints() {
        let info = Minimal::describe();
        assert_eq!(info.name, "minimal-rotator");
        assert!(info.required_params.is_empty());
        assert_eq!(info.default_port, None);
    }
}
