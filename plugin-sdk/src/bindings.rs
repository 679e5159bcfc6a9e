//! Generated bindings for the `keeper:plugin@1.0.0` worlds (private).
//!
//! Both worlds are generated; the `types` and `log` interfaces are shared so
//! that one Rust type exists per WIT type.
#![allow(missing_docs, clippy::all, unsafe_code)]

pub mod rotator {
    wit_bindgen::generate!({
        world: "rotator-plugin",
        path: "../wit/since_v1.0.0",
        pub_export_macro: true,
        export_macro_name: "export_rotator",
        default_bindings_module: "keeper_plugin_sdk::__private::bindings::rotator",
        type_section_suffix: "keeper-rotator",
    });
}

pub mod importer {
    wit_bindgen::generate!({
        world: "importer-plugin",
        path: "../wit/since_v1.0.0",
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
