//! Support crate for keeper's end-to-end tests (the tests live in it/).

pub mod net;
