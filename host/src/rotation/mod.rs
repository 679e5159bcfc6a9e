//! Password rotation: the staged, crash-safe protocol driving rotator plugins.

pub mod params;
pub mod password;
