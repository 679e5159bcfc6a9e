//! Builds keeper plugin components (`wasm32-wasip2`) from a build script,
//! and native plugin libraries (cdylibs for the host) for the tests.
//!
//! The host embeds the first-party plugins and the tests load purpose-built
//! test plugins; both need those crates compiled for another target. A build
//! script calls [`build_components`], which runs a nested
//! `cargo build --target wasm32-wasip2 --profile plugin` in a separate target
//! directory (the outer build holds the lock on its own) and returns the
//! paths of the components.
//!
//! The nested target directory is `<target dir>/wasm`, so repeated builds
//! and CI runs with a warm target dir reuse it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Rust target plugins are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// One built component.
#[derive(Debug, Clone)]
pub struct Component {
    /// The cargo package name, e.g. `keeper-plugin-mysql`.
    pub package: String,
    /// Absolute path of the built `.wasm` component.
    pub wasm: PathBuf,
    /// The package's directory (where its `plugin.toml` lives).
    pub dir: PathBuf,
}

/// Builds the workspace packages in `dirs` (relative to the workspace root)
/// as components and tells cargo to rerun the calling build script when
/// their sources, the SDK or the WIT change.
///
/// Each package is built by its own cargo invocation: an SDK feature enabled
/// for one plugin kind must not leak into another kind's component.
///
/// # Panics
///
/// Panics (failing the build with a readable message) when the
/// `wasm32-wasip2` target is not installed or a package does not compile.
pub fn build_components(dirs: &[&str]) -> Vec<Component> {
    let root = workspace_root();
    for watched in ["plugin-sdk", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = wasm_target_dir();
    dirs.iter()
        .map(|dir| {
            let dir = root.join(dir);
            println!("cargo:rerun-if-changed={}", dir.display());
            let package = package_name(&dir);
            build_one(&root, &target_dir, &package);
            let wasm = target_dir
                .join(WASM_TARGET)
                .join("plugin")
                .join(format!("{}.wasm", package.replace('-', "_")));
            assert!(
                wasm.is_file(),
                "cargo built {package} but {} is missing",
                wasm.display()
            );
            Component { package, wasm, dir }
        })
        .collect()
}

/// Builds the workspace package in `dir` as a native shared library (a
/// keeper native plugin) for the host, with `features`, in
/// `<target dir>/native`, and returns a copy of the library named after
/// the features (each build of other features overwrites cargo's own).
///
/// # Panics
///
/// Panics (failing the build) when the package does not compile.
pub fn build_native_library(dir: &str, features: &[&str]) -> PathBuf {
    let root = workspace_root();
    let dir = root.join(dir);
    println!("cargo:rerun-if-changed={}", dir.display());
    let package = package_name(&dir);
    let target_dir = wasm_target_dir().with_file_name("native");
    let mut args = vec!["build", "--quiet", "-p", &package];
    let joined = features.join(",");
    if !features.is_empty() {
        args.extend(["--features", &joined]);
    }
    run_cargo(&root, &target_dir, &package, "the host", &args);
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let built = target_dir.join("debug").join(&file);
    let flavour = if features.is_empty() {
        "default".to_string()
    } else {
        features.join("+")
    };
    let copy = target_dir.join("copies").join(flavour).join(&file);
    std::fs::create_dir_all(copy.parent().expect("a folder"))
        .and_then(|()| std::fs::copy(&built, &copy))
        .unwrap_or_else(|e| panic!("cannot copy {}: {e}", built.display()));
    copy
}

fn build_one(root: &Path, target_dir: &Path, package: &str) {
    run_cargo(
        root,
        target_dir,
        package,
        WASM_TARGET,
        &[
            "build",
            "--quiet",
            "--target",
            WASM_TARGET,
            "--profile",
            "plugin",
            "-p",
            package,
        ],
    );
}

/// Runs a nested cargo with `args` in `target_dir`, away from the outer
/// build's flags.
fn run_cargo(root: &Path, target_dir: &Path, package: &str, target: &str, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(args)
        .arg("--target-dir")
        .arg(target_dir);
    // Flags meant for the outer (native) build must not reach the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_LLVM_COV",
        "RUSTC_BOOTSTRAP",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            "\nhint: install the target with `rustup target add wasm32-wasip2`"
        } else {
            ""
        };
        panic!("building plugin {package} for {target} failed:\n{stderr}{hint}");
    }
}

/// The workspace root: the nearest ancestor of the calling crate with a
/// `[workspace]` Cargo.toml.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo"),
    );
    manifest_dir
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.contains("[workspace]"))
        })
        .expect("the calling crate is inside the keeper workspace")
        .to_path_buf()
}

/// `<outer target dir>/wasm`: the outer target dir is the ancestor of
/// `OUT_DIR` that cargo marked with `CACHEDIR.TAG`.
fn wasm_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("wasm"))
        .unwrap_or_else(|| out_dir.join("wasm"))
}

/// Reads `name = "..."` from the `[package]` table of `dir/Cargo.toml`.
fn package_name(dir: &Path) -> String {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    text.lines()
        .map(str::trim)
        .find_map(|line| {
            let rest = line.strip_prefix("name")?.trim_start().strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("{} has no package name", manifest.display()))
}
