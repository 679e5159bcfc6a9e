//! Minimal first cut (to be replaced).
#[doc(hidden)]
pub mod __private {
    pub mod bindings {
        pub use crate::bindings::*;
    }
}
mod bindings;
