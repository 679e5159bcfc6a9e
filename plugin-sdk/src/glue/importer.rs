//! Importer glue: generated `Guest`/`GuestSession` calls → [`Importer`](crate::Importer),
//! for either version's exports (the importer interface has the same
//! shapes in 1.0 and 1.1; `types` is shared).

use std::cell::RefCell;

use crate::bindings::rotator::keeper::plugin::types as wit_types;
use crate::{ImportItem, Importer, ImporterInfo, Options, PluginError};

/// `describe` for `T`, in either version's shape.
pub fn describe<T: Importer, I: From<ImporterInfo>>() -> I {
    super::install_panic_hook();
    T::describe().into()
}

/// One import run: the importer, or the error its constructor returned
/// (the WIT constructor cannot fail, so the error waits for `next-batch`).
pub struct Session<T> {
    state: RefCell<Result<T, Option<PluginError>>>,
}

impl<T: Importer> Session<T> {
    /// Runs `T::new` and keeps its result.
    pub fn new(options: Vec<(String, String)>) -> Self {
        super::install_panic_hook();
        Self {
            state: RefCell::new(T::new(Options::from(options)).map_err(Some)),
        }
    }

    /// The next batch, in either version's shape, or the constructor's
    /// error (once; later calls say the session failed to start).
    pub fn next_batch<I: From<ImportItem>>(
        &self,
    ) -> Result<Option<Vec<I>>, wit_types::PluginError> {
        let Ok(mut state) = self.state.try_borrow_mut() else {
            return Err(PluginError::Internal("next-batch re-entered".into()).into());
        };
        match &mut *state {
            Ok(importer) => match importer.next_batch() {
                Ok(batch) => Ok(batch.map(|items| items.into_iter().map(Into::into).collect())),
                Err(err) => Err(err.into()),
            },
            Err(err) => Err(err
                .take()
                .unwrap_or_else(|| {
                    PluginError::InvalidConfig("the import session failed to start".into())
                })
                .into()),
        }
    }
}

/// Registers an [`Importer`](crate::Importer) implementation as the plugin's
/// exported `keeper:plugin/importer@1.0.0` interface (API 1.0; see
/// `v1_1::register_importer!`, feature `v1_1`, for 1.1).
///
/// Use it once per plugin crate, at the top level:
///
/// ```ignore
/// keeper_plugin_sdk::register_importer!(MyImporter);
/// ```
#[macro_export]
macro_rules! register_importer {
    ($importer:ty) => {
        $crate::__register_importer!($importer, importer, export_importer);
    };
}

/// Registers an [`Importer`](crate::Importer) implementation as the plugin's
/// exported `keeper:plugin/importer@1.1.0` interface: the same calls, and
/// the plugin may read its source with `Input::checked`. The manifest says
/// `api-version = "1.1.0"`.
///
/// ```ignore
/// keeper_plugin_sdk::v1_1::register_importer!(MyImporter);
/// ```
#[cfg(feature = "v1_1")]
#[doc(hidden)]
#[macro_export]
macro_rules! register_importer_v1_1 {
    ($importer:ty) => {
        $crate::__register_importer!($importer, importer_v1_1, export_importer_v1_1);
    };
}

/// The exports of one version's importer world for `$importer`.
#[doc(hidden)]
#[macro_export]
macro_rules! __register_importer {
    ($importer:ty, $bindings:ident, $export:ident) => {
        // Natively (unit tests of the plugin) there is no host to call the
        // exports, and exported names such as `keeper:plugin/...#describe`
        // are not valid native linker symbols: only check the type.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn registered<T: $crate::Importer>() {}
            registered::<$importer>();
        };

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            use $crate::__private::bindings::rotator::keeper::plugin::types as __wit_types;
            use $crate::__private::bindings::$bindings::exports::keeper::plugin::importer as __wit;

            struct __KeeperImporter;
            struct __KeeperImportSession($crate::__private::importer::Session<$importer>);

            impl __wit::Guest for __KeeperImporter {
                type Session = __KeeperImportSession;
                fn describe() -> __wit::ImporterInfo {
                    $crate::__private::importer::describe::<$importer, _>()
                }
            }

            impl __wit::GuestSession for __KeeperImportSession {
                fn new(
                    options: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> Self {
                    __KeeperImportSession($crate::__private::importer::Session::new(options))
                }
                fn next_batch(
                    &self,
                ) -> ::std::result::Result<
                    ::std::option::Option<::std::vec::Vec<__wit::ImportItem>>,
                    __wit_types::PluginError,
                > {
                    self.0.next_batch()
                }
            }

            $crate::__private::bindings::$bindings::$export!(
                __KeeperImporter with_types_in $crate::__private::bindings::$bindings
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImportRecord;
    use crate::bindings::importer::exports::keeper::plugin::importer as wit;

    struct Two {
        left: u32,
    }

    impl Importer for Two {
        fn describe() -> ImporterInfo {
            ImporterInfo::new("two", "two records")
        }
        fn new(options: Options) -> Result<Self, PluginError> {
            match options.get("fail") {
                Some(why) => Err(PluginError::InvalidConfig(why.into())),
                None => Ok(Self { left: 2 }),
            }
        }
        fn next_batch(&mut self) -> Result<Option<Vec<ImportItem>>, PluginError> {
            if self.left == 0 {
                return Ok(None);
            }
            self.left -= 1;
            Ok(Some(vec![ImportRecord::new("r", "login").into()]))
        }
    }

    #[test]
    fn session_yields_batches_then_none() {
        let session = Session::<Two>::new(vec![]);
        assert!(matches!(session.next_batch::<wit::ImportItem>(), Ok(Some(b)) if b.len() == 1));
        assert!(matches!(
            session.next_batch::<wit::ImportItem>(),
            Ok(Some(_))
        ));
        assert!(matches!(session.next_batch::<wit::ImportItem>(), Ok(None)));
    }

    #[test]
    fn constructor_error_comes_back_from_the_first_batch() {
        let session = Session::<Two>::new(vec![("fail".into(), "bad option".into())]);
        assert!(matches!(
            session.next_batch::<wit::ImportItem>(),
            Err(wit_types::PluginError::InvalidConfig(m)) if m == "bad option"
        ));
        assert!(matches!(
            session.next_batch::<wit::ImportItem>(),
            Err(wit_types::PluginError::InvalidConfig(m)) if m.contains("failed to start")
        ));
    }
}
