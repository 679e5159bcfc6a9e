//! Builds the test plugins (hostile sandbox suite) and the example plugins
//! as wasm32-wasip2 components, and tells the tests where they are through
//! `KEEPER_TEST_WASM_<PACKAGE>` / `KEEPER_TEST_DIR_<PACKAGE>`.

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
}
