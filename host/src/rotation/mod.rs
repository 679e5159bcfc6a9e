//! Password rotation: the staged, crash-safe protocol driving rotator plugins.

pub mod password;
