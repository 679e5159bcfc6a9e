//! Glue between the generated bindings and the SDK traits (not public API).
//!
//! [`register_rotator!`](crate::register_rotator) and
//! [`register_importer!`](crate::register_importer) expand, in the plugin
//! crate, to small structs implementing the generated `Guest` traits by
//! calling the generic functions here.

pub mod importer;
pub mod rotator;

/// Sends the panic message to the host log before the instance traps, so a
/// crash is reported with its reason rather than as a bare `unreachable`.
/// Native builds (unit tests) keep the default hook: there is no host log.
pub(crate) fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    static HOOK: std::sync::Once = std::sync::Once::new();
    #[cfg(target_arch = "wasm32")]
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|panic| {
            crate::log::error(&format!("plugin panicked: {panic}"));
        }));
    });
}
