//! Rotator glue: generated `Guest` calls → [`Rotator`](crate::Rotator), for
//! either version's exports (the requests and results have the same shapes;
//! `types` is shared).

use crate::bindings::rotator::keeper::plugin::types as wit_types;
use crate::{PluginInfo, Rotation, Rotator};

/// What a step returns to the host.
type Done<T> = Result<T, wit_types::PluginError>;

/// `describe` for `T`, in either version's shape.
pub fn describe<T: Rotator, I: From<PluginInfo>>() -> I {
    super::install_panic_hook();
    T::describe().into()
}

/// `prepare` for `T`.
pub fn prepare<T: Rotator>(req: impl Into<Rotation>) -> Done<Vec<wit_types::Field>> {
    super::install_panic_hook();
    T::prepare(&req.into())
        .map(|fields| fields.into_iter().map(Into::into).collect())
        .map_err(Into::into)
}

/// `rotate` for `T` (1.0).
pub fn rotate<T: Rotator>(req: impl Into<Rotation>) -> Done<()> {
    super::install_panic_hook();
    T::rotate(&req.into()).map_err(Into::into)
}

/// `rotate` for `T` (1.1): with the material the target generated.
#[cfg(feature = "v1_1")]
pub fn rotate_generating<T: Rotator>(req: impl Into<Rotation>) -> Done<Vec<wit_types::Field>> {
    super::install_panic_hook();
    T::rotate_generating(&req.into())
        .map(|fields| fields.into_iter().map(Into::into).collect())
        .map_err(Into::into)
}

/// `verify` for `T`.
pub fn verify<T: Rotator>(req: impl Into<Rotation>) -> Done<()> {
    super::install_panic_hook();
    T::verify(&req.into()).map_err(Into::into)
}

/// `revert` for `T`.
pub fn revert<T: Rotator>(req: impl Into<Rotation>) -> Done<()> {
    super::install_panic_hook();
    T::revert(&req.into()).map_err(Into::into)
}

/// Registers a [`Rotator`](crate::Rotator) implementation as the plugin's
/// exported `keeper:plugin/rotator@1.0.0` interface (API 1.0; see
/// `v1_1::register_rotator!`, feature `v1_1`, for 1.1).
///
/// Use it once per plugin crate, at the top level:
///
/// ```ignore
/// keeper_plugin_sdk::register_rotator!(MyRotator);
/// ```
#[macro_export]
macro_rules! register_rotator {
    ($rotator:ty) => {
        $crate::__register_rotator!($rotator, rotator, export_rotator, (), rotate);
    };
}

/// Registers a [`Rotator`](crate::Rotator) implementation as the plugin's
/// exported `keeper:plugin/rotator@1.1.0` interface: `describe` sends
/// [`PluginInfo`](crate::PluginInfo)'s `needs`, `owns` and
/// `checks_passwords`, and `rotate` calls
/// [`Rotator::rotate_generating`](crate::Rotator::rotate_generating).
/// The manifest says `api-version = "1.1.0"`.
///
/// ```ignore
/// keeper_plugin_sdk::v1_1::register_rotator!(MyRotator);
/// ```
#[cfg(feature = "v1_1")]
#[doc(hidden)]
#[macro_export]
macro_rules! register_rotator_v1_1 {
    ($rotator:ty) => {
        $crate::__register_rotator!(
            $rotator,
            rotator_v1_1,
            export_rotator_v1_1,
            ::std::vec::Vec<$crate::__private::bindings::rotator::keeper::plugin::types::Field>,
            rotate_generating
        );
    };
}

/// The exports of one version's rotator world for `$rotator`.
#[doc(hidden)]
#[macro_export]
macro_rules! __register_rotator {
    ($rotator:ty, $bindings:ident, $export:ident, $rotated:ty, $rotate:ident) => {
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
            use $crate::__private::bindings::rotator::keeper::plugin::types as __wit_types;
            use $crate::__private::bindings::$bindings::exports::keeper::plugin::rotator as __wit;

            struct __KeeperRotator;

            impl __wit::Guest for __KeeperRotator {
                fn describe() -> __wit::PluginInfo {
                    $crate::__private::rotator::describe::<$rotator, _>()
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
                ) -> ::std::result::Result<$rotated, __wit_types::PluginError> {
                    $crate::__private::rotator::$rotate::<$rotator>(req)
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

            $crate::__private::bindings::$bindings::$export!(
                __KeeperRotator with_types_in $crate::__private::bindings::$bindings
            );
        };
    };
}
