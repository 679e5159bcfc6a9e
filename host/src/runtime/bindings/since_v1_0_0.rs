//! Bindings for `keeper:plugin@1.0.0` (`wit/since_v1.0.0`, frozen), used
//! for a 1.0 component's exports. Its imported interfaces are 1.1's (every
//! 1.0 function is unchanged in 1.1, so the linker's 1.1 definitions serve
//! them) and so are the shared `types`: a 1.0 call takes and returns the
//! same `Field`, `RecordView`, `Target` and `PluginError` as a 1.1 call.

/// The 1.0 bindings of a world, with its imported interfaces taken from
/// 1.1 (`with`).
macro_rules! world_v1_0 {
    ($world:literal, $($with:tt)*) => {
        wasmtime::component::bindgen!({
            world: $world,
            path: "../wit/since_v1.0.0",
            imports: { default: async | trappable },
            exports: { default: async },
            with: { $($with)* },
        });
    };
}

/// Rotator world.
pub mod rotator {
    use crate::runtime::bindings::since_v1_1_0::rotator::keeper::plugin as v1_1;

    world_v1_0!("rotator-plugin",
        "keeper:plugin/types": v1_1::types,
        "keeper:plugin/log": v1_1::log,
        "keeper:plugin/ssh": v1_1::ssh,
        "keeper:plugin/process": v1_1::process,
    );
}

/// Importer world.
pub mod importer {
    use crate::runtime::bindings::since_v1_1_0::importer::keeper::plugin as v1_1_importer;
    use crate::runtime::bindings::since_v1_1_0::rotator::keeper::plugin as v1_1;

    world_v1_0!("importer-plugin",
        "keeper:plugin/types": v1_1::types,
        "keeper:plugin/log": v1_1::log,
        "keeper:plugin/input": v1_1_importer::input,
    );
}
