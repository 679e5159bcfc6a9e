//! The plugin sandbox (being written).
