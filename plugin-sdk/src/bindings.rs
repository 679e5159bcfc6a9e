//! Generated bindings for the `keeper:plugin` worlds (private), from the
//! copy of the contract this crate carries (`wit/`, identical to the
//! repository's `wit/`).
//!
//! The 1.0 worlds are always generated, the 1.1 worlds with the `v1_1`
//! feature; which one a plugin exports is the `register_*!` macro it
//! calls. (wit-component merges the worlds a binary describes and moves
//! every import to the newest version it sees, so a 1.0 plugin must not be
//! built with 1.1's worlds in it: hence a feature, not just a module.) The helpers (`log`, `ssh`, `process`,
//! `input::Input::new`) call 1.0 imports, which a 1.1 plugin may import too
//! (the host serves 1.0 functions unchanged in 1.1); 1.1's `types` are
//! 1.0's (the same shapes), so one Rust type exists per WIT type.
//!
//! wit-bindgen names a world's export macro after the world, and both
//! versions call their worlds `rotator-plugin` and `importer-plugin`: the
//! 1.1 worlds are generated through a world of their own name that
//! includes them (`rotator-plugin-v1-1`), which changes nothing a
//! component imports or exports.
#![allow(missing_docs, clippy::all, unsafe_code)]

pub mod rotator {
    wit_bindgen::generate!({
        world: "rotator-plugin",
        path: "wit/since_v1.0.0",
        pub_export_macro: true,
        export_macro_name: "export_rotator",
        default_bindings_module: "keeper_plugin_sdk::__private::bindings::rotator",
        type_section_suffix: "keeper-rotator",
    });
}

pub mod importer {
    wit_bindgen::generate!({
        world: "importer-plugin",
        path: "wit/since_v1.0.0",
        pub_export_macro: true,
        export_macro_name: "export_importer",
        default_bindings_module: "keeper_plugin_sdk::__private::bindings::importer",
        type_section_suffix: "keeper-importer",
        with: {
            "keeper:plugin/types@1.0.0": super::rotator::keeper::plugin::types,
            "keeper:plugin/log@1.0.0": super::rotator::keeper::plugin::log,
        },
    });
}

/// The 1.1 bindings of a world, generated through `world-v1-1`, a world
/// that includes it, with `types` (and the interfaces the helpers call)
/// taken from 1.0.
#[cfg(feature = "v1_1")]
macro_rules! world_v1_1 {
    ($inline:literal, $world:literal, $bindings:literal, $export:literal, $suffix:literal, $($with:tt)*) => {
        wit_bindgen::generate!({
            inline: $inline,
            path: "wit/since_v1.1.0",
            world: $world,
            pub_export_macro: true,
            export_macro_name: $export,
            default_bindings_module: $bindings,
            type_section_suffix: $suffix,
            with: {
                "keeper:plugin/types@1.1.0": super::rotator::keeper::plugin::types,
                "keeper:plugin/log@1.1.0": super::rotator::keeper::plugin::log,
                $($with)*
            },
        });
    };
}

#[cfg(feature = "v1_1")]
pub mod rotator_v1_1 {
    world_v1_1!(
        "package keeper:sdk; world rotator-plugin-v1-1 { include keeper:plugin/rotator-plugin@1.1.0; }",
        "keeper:sdk/rotator-plugin-v1-1",
        "keeper_plugin_sdk::__private::bindings::rotator_v1_1",
        "export_rotator_v1_1",
        "keeper-rotator-v1-1",
        "keeper:plugin/ssh@1.1.0": super::rotator::keeper::plugin::ssh,
        "keeper:plugin/process@1.1.0": super::rotator::keeper::plugin::process,
    );
}

#[cfg(feature = "v1_1")]
pub mod importer_v1_1 {
    world_v1_1!(
        "package keeper:sdk; world importer-plugin-v1-1 { include keeper:plugin/importer-plugin@1.1.0; }",
        "keeper:sdk/importer-plugin-v1-1",
        "keeper_plugin_sdk::__private::bindings::importer_v1_1",
        "export_importer_v1_1",
        "keeper-importer-v1-1",
        "keeper:plugin/input@1.1.0": generate,
    );
}
