//! Bindings for `keeper:plugin@1.1.0` (`wit/since_v1.1.0`), the newest
//! version: the linker serves its imports (`log`, `ssh`, `process`,
//! `input`), which 1.0 components import too (wasmtime matches
//! `keeper:plugin/log@1.0.0` to `@1.1.0`; 1.1 only adds functions).

/// Rotator world.
pub mod rotator {
    wasmtime::component::bindgen!({
        world: "rotator-plugin",
        path: "../wit/since_v1.1.0",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "keeper:plugin/ssh.session": crate::runtime::capability::ssh::SshSession,
            "keeper:plugin/ssh.pty": crate::runtime::capability::ssh::SshPty,
        },
    });
}

/// Importer world (shares `types` and `log` with the rotator world).
pub mod importer {
    wasmtime::component::bindgen!({
        world: "importer-plugin",
        path: "../wit/since_v1.1.0",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "keeper:plugin/types": super::rotator::keeper::plugin::types,
            "keeper:plugin/log": super::rotator::keeper::plugin::log,
        },
    });
}
