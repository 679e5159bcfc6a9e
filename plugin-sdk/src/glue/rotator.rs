//! Rotator glue: generated `Guest` calls → [`Rotator`](crate::Rotator).

use crate::bindings::rotator::exports::keeper::plugin::rotator as wit;
use crate::bindings::rotator::keeper::plugin::types as wit_types;
use crate::{Rotation, Rotator};

/// `describe` for `T`.
pub fn describe<T: Rotator>() -> wit::PluginInfo {
    super::install_panic_hook();
    T::describe().into()
}

/// `prepare` for `T`.
pub fn prepare<T: Rotator>(
    req: wit::Rotation,
) -> Result<Vec<wit_types::Field>, wit_types::PluginError> {
    super::install_panic_hook();
    let req = Rotation::from(req);
    T::prepare(&req)
        .map(|fields| fields.into_iter().map(Into::into).collect())
        .map_err(Into::into)
}

/// `rotate` for `T`.
pub fn rotate<T: Rotator>(req: wit::Rotation) -> Result<(), wit_types::PluginError> {
    super::install_panic_hook();
    T::rotate(&Rotation::from(req)).map_err(Into::into)
}

/// `verify` for `T`.
pub fn verify<T: Rotator>(req: wit::Rotation) -> Result<(), wit_types::PluginError> {
    super::install_panic_hook();
    T::verify(&Rotation::from(req)).map_err(Into::into)
}

/// `revert` for `T`.
pub fn revert<T: Rotator>(req: wit::Rotation) -> Result<(), wit_types::PluginError> {
    super::install_panic_hook();
    T::revert(&Rotation::from(req)).map_err(Into::into)
}

/// Registers a [`Rotator`](crate::Rotator) implementation as the plugin's
/// exported `keeper:plugin/rotator@1.0.0` interface.
///
/// Use it once per plugin crate, at the top level:
///
/// ```ignore
/// keeper_plugin_sdk::register_rotator!(MyRotator);
/// ```
#[macro_export]
macro_rules! register_rotator {
    ($rotator:ty) => {
        // Natively (unit tests of the plugin) there is no host to call the
        // exports, and exported names such as `keeper:plugin/...#describe`
        // are not valid native linker symbols: only check the type.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn registered<T: $crate::Rotator>() {}
            registered::<$rotator>();
        };

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            use $crate::__private::bindings::rotator::exports::keeper::plugin::rotator as __wit;
            use $crate::__private::bindings::rotator::keeper::plugin::types as __wit_types;

            struct __KeeperRotator;

            impl __wit::Guest for __KeeperRotator {
                fn describe() -> __wit::PluginInfo {
                    $crate::__private::rotator::describe::<$rotator>()
                }
                fn prepare(
                    req: __wit::Rotation,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<__wit_types::Field>,
                    __wit_types::PluginError,
                > {
                    $crate::__private::rotator::prepare::<$rotator>(req)
                }
                fn rotate(
                    req: __wit::Rotation,
                ) -> ::std::result::Result<(), __wit_types::PluginError> {
                    $crate::__private::rotator::rotate::<$rotator>(req)
                }
                fn verify(
                    req: __wit::Rotation,
                ) -> ::std::result::Result<(), __wit_types::PluginError> {
                    $crate::__private::rotator::verify::<$rotator>(req)
                }
                fn revert(
                    req: __wit::Rotation,
                ) -> ::std::result::Result<(), __wit_types::PluginError> {
                    $crate::__private::rotator::revert::<$rotator>(req)
                }
            }

            $crate::__private::bindings::rotator::export_rotator!(
                __KeeperRotator with_types_in $crate::__private::bindings::rotator
            );
        };
    };
}
