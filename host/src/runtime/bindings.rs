//! Host bindings for each supported version of the `keeper:plugin` WIT package.
//!
//! One module per frozen `wit/since_vX.Y.Z` folder (Zed's layout). Today there
//! is only 1.0.0; when 2.0 arrives its module is added here, `latest` moves,
//! and the 1.x module keeps a thin adapter that delegates to the latest host
//! implementation (so every policy check lives in exactly one place).

use semver::Version;

/// Bindings for `keeper:plugin@1.0.0`.
pub mod since_v1_0_0 {
    /// The oldest API version these bindings serve.
    pub const MIN_VERSION: semver::Version = semver::Version::new(1, 0, 0);

    /// Rotator world.
    pub mod rotator {
        wasmtime::component::bindgen!({
            world: "rotator-plugin",
            path: "../wit/since_v1.0.0",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "keeper:plugin/ssh.session": crate::runtime::capability::ssh::SshSession,
                "keeper:plugin/ssh.pty": crate::runtime::capability::ssh::SshPty,
            },
        });
    }

    /// Importer world (shares `types` and `log` with the rotator world).
    pub mod importer {
        wasmtime::component::bindgen!({
            world: "importer-plugin",
            path: "../wit/since_v1.0.0",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "keeper:plugin/types": super::rotator::keeper::plugin::types,
                "keeper:plugin/log": super::rotator::keeper::plugin::log,
            },
        });
    }
}

pub use since_v1_0_0 as latest;

/// The newest plugin API version this host implements.
pub fn host_api_version() -> Version {
    Version::new(1, 0, 0)
}

/// Whether a plugin built against `requested` can run on this host:
/// the same major version, and a minor version no newer than the host's.
pub fn is_supported(requested: &Version) -> bool {
    let host = host_api_version();
    requested.major == host.major
        && requested.minor <= host.minor
        && requested >= &latest::MIN_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_range_is_same_major_not_newer_minor() {
        assert!(is_supported(&Version::new(1, 0, 0)));
        assert!(is_supported(&Version::new(1, 0, 7)));
        assert!(
            !is_supported(&Version::new(1, 1, 0)),
            "a newer minor may call imports we lack"
        );
        assert!(!is_supported(&Version::new(2, 0, 0)));
        assert!(!is_supported(&Version::new(0, 9, 0)));
    }
}
