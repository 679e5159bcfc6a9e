//! Builds the test plugins (hostile sandbox suite) and the example plugins
//! as wasm32-wasip2 components, and tells the tests where they are through
//! `KEEPER_TEST_WASM_<PACKAGE>` / `KEEPER_TEST_DIR_<PACKAGE>`; builds the
//! native example rotator as a shared library five ways (as shipped, with
//! another ABI version, without the version symbol, with a rotate that
//! never answers, breaking the answer rules):
//! `KEEPER_TEST_NATIVE_<FLAVOUR>`; and the native example importer four
//! ways (as shipped, with another ABI version, breaking the answer
//! rules, with a batch that never answers):
//! `KEEPER_TEST_NATIVE_IMPORTER_<FLAVOUR>`.

fn main() {
    let components = keeper_build_support::build_components(&[
        "tests/plugins/hostile-rotator",
        "tests/plugins/hostile-importer",
        "tests/plugins/rogue-importer",
        "tests/plugins/future-api",
        "tests/plugins/v11-rotator",
        "examples/minimal-rotator",
        "examples/bitwarden-importer",
    ]);
    for c in components {
        let key = c.package.to_uppercase().replace('-', "_");
        println!(
            "cargo:rustc-env=KEEPER_TEST_WASM_{key}={}",
            c.wasm.display()
        );
        println!("cargo:rustc-env=KEEPER_TEST_DIR_{key}={}", c.dir.display());
    }
    for (flavour, features) in [
        ("DEFAULT", &[][..]),
        ("WRONG_ABI", &["wrong-abi"][..]),
        ("NO_ABI_VERSION", &["no-abi-version"][..]),
        ("HANG", &["hang"][..]),
        ("MISBEHAVE", &["misbehave"][..]),
    ] {
        let library =
            keeper_build_support::build_native_library("examples/native-rotator", features);
        println!(
            "cargo:rustc-env=KEEPER_TEST_NATIVE_{flavour}={}",
            library.display()
        );
    }
    for (flavour, features) in [
        ("DEFAULT", &[][..]),
        ("WRONG_ABI", &["wrong-abi"][..]),
        ("MISBEHAVE", &["misbehave"][..]),
        ("HANG", &["hang"][..]),
    ] {
        let library =
            keeper_build_support::build_native_library("examples/native-importer", features);
        println!(
            "cargo:rustc-env=KEEPER_TEST_NATIVE_IMPORTER_{flavour}={}",
            library.display()
        );
    }
}
