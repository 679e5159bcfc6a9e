//! Host bindings for each supported version of the `keeper:plugin` WIT
//! package, one module per `wit/since_vX.Y.Z` folder (Zed's layout), and the
//! one place that calls a plugin's exports by version (`rotator.rs`,
//! `importer.rs`): the rest of the host sees only the newest types.
//!
//! Minor versions only add to the imported interfaces (`wit/PENDING_CHANGES.md`),
//! so the linker defines them once, at the newest version, and a 1.0
//! component's imports link to them. The exported interfaces change shape:
//! each version's component is called through its own bindings, and what a
//! 1.0 call returns is converted to the newest types.

mod importer;
mod rotator;
pub mod since_v1_0_0;
pub mod since_v1_1_0;

pub use since_v1_1_0 as latest;

pub(crate) use importer::{ImporterPlugin, ImporterPre, into_newest_importer_types};
pub use rotator::Step;
pub(crate) use rotator::{RotatorPlugin, RotatorPre, Wiped};

use semver::Version;

/// The oldest plugin API version this host implements.
const MIN_VERSION: Version = Version::new(1, 0, 0);

/// The newest plugin API version this host implements.
pub fn host_api_version() -> Version {
    Version::new(1, 1, 0)
}

/// Whether a plugin built against `requested` can run on this host:
/// the same major version, and a minor version no newer than the host's.
pub fn is_supported(requested: &Version) -> bool {
    let host = host_api_version();
    requested.major == host.major && requested.minor <= host.minor && requested >= &MIN_VERSION
}

/// Which bindings call a component that exports `version` (a supported one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `keeper:plugin@1.0.x`.
    V1_0,
    /// `keeper:plugin@1.1.x`.
    V1_1,
}

impl Api {
    /// The bindings for `version`, assumed supported ([`is_supported`]).
    pub(crate) fn of(version: &Version) -> Self {
        if version.minor == 0 {
            Api::V1_0
        } else {
            Api::V1_1
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use sha2::{Digest, Sha256};

    use super::*;

    fn wit_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
    }

    /// What differs between `wit`'s frozen folders and `wit/frozen.sha256`:
    /// a listed file whose bytes changed or that is gone, or a file in a
    /// frozen folder that is not listed.
    fn frozen_mismatches(wit: &Path) -> Vec<String> {
        let listed = std::fs::read_to_string(wit.join("frozen.sha256")).expect("frozen.sha256");
        let mut problems = Vec::new();
        let mut folders = std::collections::BTreeSet::new();
        let mut files = std::collections::BTreeSet::new();
        for line in listed.lines().filter(|l| !l.trim().is_empty()) {
            let (hash, path) = line.split_once("  ").expect("sha256sum format");
            match std::fs::read(wit.join(path)) {
                Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == hash => {}
                Ok(_) => problems.push(format!("wit/{path} changed")),
                Err(e) => problems.push(format!("wit/{path} cannot be read: {e}")),
            }
            folders.insert(path.split('/').next().expect("folder").to_string());
            files.insert(path.to_string());
        }
        for folder in &folders {
            for entry in std::fs::read_dir(wit.join(folder)).expect("frozen folder") {
                let name = entry.expect("entry").file_name();
                let path = format!("{folder}/{}", name.to_string_lossy());
                if !files.contains(&path) {
                    problems.push(format!("wit/{path} was added"));
                }
            }
        }
        problems
    }

    /// Released contract folders never change (`wit/frozen.sha256`).
    #[test]
    fn released_wit_is_frozen() {
        let wit = wit_dir();
        let listed = std::fs::read_to_string(wit.join("frozen.sha256")).expect("frozen.sha256");
        assert!(listed.contains("  since_v1.0.0/rotator.wit"), "{listed}");
        assert_eq!(
            frozen_mismatches(&wit),
            Vec::<String>::new(),
            "released contract versions are frozen: put the change in the next version's \
             folder (wit/PENDING_CHANGES.md)"
        );
    }

    /// The check sees one changed byte, a removed file and an added one.
    #[test]
    fn the_freeze_check_catches_changes() {
        let copy = tempfile::tempdir().expect("tempdir");
        let wit = wit_dir();
        std::fs::copy(wit.join("frozen.sha256"), copy.path().join("frozen.sha256")).expect("copy");
        let folder = copy.path().join("since_v1.0.0");
        std::fs::create_dir(&folder).expect("mkdir");
        for entry in std::fs::read_dir(wit.join("since_v1.0.0")).expect("read_dir") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), folder.join(entry.file_name())).expect("copy");
        }
        assert!(frozen_mismatches(copy.path()).is_empty());

        let types = folder.join("types.wit");
        let mut bytes = std::fs::read(&types).expect("types.wit");
        bytes[0] ^= 1;
        std::fs::write(&types, bytes).expect("write");
        std::fs::remove_file(folder.join("log.wit")).expect("rm");
        std::fs::write(folder.join("extra.wit"), "interface extra {}").expect("write");
        let problems = frozen_mismatches(copy.path());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0..2]
                .iter()
                .any(|p| p == "wit/since_v1.0.0/types.wit changed")
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("wit/since_v1.0.0/log.wit cannot be read"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p == "wit/since_v1.0.0/extra.wit was added")
        );
    }

    #[test]
    fn supported_range_is_same_major_not_newer_minor() {
        assert!(is_supported(&Version::new(1, 0, 0)));
        assert!(is_supported(&Version::new(1, 0, 7)));
        assert!(is_supported(&Version::new(1, 1, 0)));
        assert!(is_supported(&Version::new(1, 1, 3)));
        assert!(
            !is_supported(&Version::new(1, 2, 0)),
            "a newer minor may call imports we lack"
        );
        assert_eq!(Api::of(&Version::new(1, 0, 2)), Api::V1_0);
        assert_eq!(Api::of(&Version::new(1, 1, 0)), Api::V1_1);
        assert!(!is_supported(&Version::new(2, 0, 0)));
        assert!(!is_supported(&Version::new(0, 9, 0)));
    }
}
