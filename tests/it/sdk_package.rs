//! The SDK as a publishable crate: it carries the plugin contract's WIT in
//! `plugin-sdk/wit/`, a byte-identical copy of the repository's
//! `wit/since_v*` folders (those are the source of truth: change them, then
//! copy them over), and `cargo package` packs and builds it from what the
//! package holds alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                all.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    all
}

#[test]
fn the_sdk_carries_an_identical_copy_of_every_contract_version() {
    let root = root();
    let source: BTreeMap<String, Vec<u8>> = files(&root.join("wit"))
        .into_iter()
        .filter(|(name, _)| name.starts_with("since_v"))
        .collect();
    assert!(
        source.contains_key("since_v1.0.0/rotator.wit"),
        "{:?}",
        source.keys()
    );
    assert!(
        source.contains_key("since_v1.1.0/rotator.wit"),
        "{:?}",
        source.keys()
    );
    let copy = files(&root.join("plugin-sdk/wit"));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&copy),
        names(&source),
        "plugin-sdk/wit must hold exactly wit/since_v*: `rm -r plugin-sdk/wit/since_v* && cp -r wit/since_v* plugin-sdk/wit/`"
    );
    for (name, bytes) in &source {
        assert!(
            copy[name] == *bytes,
            "plugin-sdk/wit/{name} differs from wit/{name}, the source of truth: copy it over"
        );
    }
}

/// Runs `cargo ARGS` in `dir` with its own target folder `name` kept beside
/// this test's (so later runs are incremental), offline, without the outer
/// `cargo test`'s flags.
pub(crate) fn cargo_in(dir: &Path, name: &str, args: &[&str]) -> std::process::Output {
    let target = target_of(name);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .current_dir(dir)
        .args(args)
        .args(["--offline", "--quiet"])
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo")
}

/// Where [`cargo_in`] builds for `name`.
pub(crate) fn target_of(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map_or_else(|| std::env::temp_dir().join(name), |t| t.join(name))
}

/// `cargo package` with verification: the packed crate builds (with the
/// `v1_1` feature, so both versions' bindings) from its own files, in a
/// target folder kept beside this test's so later runs are incremental.
#[test]
fn cargo_package_packs_and_builds_the_sdk() {
    let out = cargo_in(
        &root(),
        "sdk-package",
        &[
            "package",
            "-p",
            "keeper-plugin-sdk",
            "--allow-dirty",
            "--features",
            "v1_1",
        ],
    );
    assert!(
        out.status.success(),
        "cargo package failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = target_of("sdk-package");
    let krate = target.join("package/keeper-plugin-sdk-0.1.0.crate");
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(&krate)
        .output()
        .expect("run tar");
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let list = String::from_utf8_lossy(&list.stdout);
    for file in [
        "keeper-plugin-sdk-0.1.0/Cargo.toml",
        "keeper-plugin-sdk-0.1.0/README.md",
        "keeper-plugin-sdk-0.1.0/src/bindings.rs",
        "keeper-plugin-sdk-0.1.0/wit/since_v1.0.0/worlds.wit",
        "keeper-plugin-sdk-0.1.0/wit/since_v1.1.0/worlds.wit",
        "keeper-plugin-sdk-0.1.0/wit/since_v1.1.0/input.wit",
    ] {
        assert!(
            list.lines().any(|l| l == file),
            "{file} is not in the crate:\n{list}"
        );
    }
    assert!(!list.contains("../wit"), "{list}");
}
