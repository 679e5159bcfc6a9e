//! Builds the first-party plugins as wasm32-wasip2 components and
//! embeds them in the `keeper` binary (see `src/runtime/registry.rs`).

use std::fmt::Write as _;

fn main() {
    let components = keeper_build_support::build_components(&[
        "plugins/mysql",
        "plugins/ssh",
        "plugins/sshkey",
        "plugins/pspasswd",
        "plugins/postgresql",
        "plugins/unixpasswd",
        "plugins/windows",
        "plugins/ldap",
        "plugins/awspswd",
        "plugins/awskey",
        "plugins/azureadpwd",
        "plugins/lastpass",
        "plugins/csv",
    ]);
    let mut code = String::from(
        "/// First-party plugins, embedded at build time.\npub static BUILTIN: &[Builtin] = &[\n",
    );
    for c in &components {
        let manifest = c.dir.join("plugin.toml");
        println!("cargo:rerun-if-changed={}", manifest.display());
        writeln!(
            code,
            "    Builtin {{ manifest: include_str!({:?}), wasm: include_bytes!({:?}) }},",
            manifest, c.wasm
        )
        .expect("write to a String");
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"))
        .join("builtin_plugins.rs");
    std::fs::write(&out, code).expect("write builtin_plugins.rs");
}
