//! `keeper plugin new`: a plugin project to start from, in a folder of its
//! own: `Cargo.toml` (its own workspace, the SDK with contract 1.1),
//! `plugin.toml`, `src/lib.rs` (a rotator that changes nothing yet, or an
//! importer of `title,login,password` lines), `README.md`, `.gitignore`.
//! It builds with `cargo build --target wasm32-wasip2 --release` and
//! installs with `keeper plugin package` and `keeper plugin install`.

use std::path::{Path, PathBuf};

use super::error::Error;
use super::manifest::{Kind, Manifest};

/// Where the project takes `keeper-plugin-sdk` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sdk {
    /// crates.io, version 0.1.
    Registry,
    /// A local checkout of the SDK's folder (`plugin-sdk/` in keeper's
    /// repository).
    Path(PathBuf),
}

/// The files of a new project, by path inside its folder.
///
/// # Errors
///
/// [`Error::Manifest`] when `name` is not a plugin name (`[a-z0-9-]`).
pub fn files(name: &str, kind: Kind, sdk: &Sdk) -> Result<Vec<(&'static str, String)>, Error> {
    let manifest = fill(include_str!("plugin.toml.tmpl"), name, kind, "", "");
    // The name is checked as keeper checks every manifest.
    Manifest::parse(&manifest)?;
    let krate = format!("keeper-plugin-{name}");
    let wasm = krate.replace('-', "_");
    let sdk = match sdk {
        Sdk::Registry => r#"{ version = "0.1", features = ["v1_1"] }"#.to_string(),
        Sdk::Path(path) => format!(
            "{{ path = {}, features = [\"v1_1\"] }}",
            toml::Value::String(path.display().to_string())
        ),
    };
    let source = match kind {
        Kind::Rotator => include_str!("rotator.rs.tmpl"),
        Kind::Importer => include_str!("importer.rs.tmpl"),
    };
    Ok(vec![
        (
            "Cargo.toml",
            fill(include_str!("Cargo.toml.tmpl"), name, kind, &krate, &sdk),
        ),
        ("plugin.toml", manifest),
        ("src/lib.rs", fill(source, name, kind, &krate, &sdk)),
        (
            "README.md",
            fill(include_str!("README.md.tmpl"), name, kind, &wasm, &sdk),
        ),
        (".gitignore", include_str!("gitignore.tmpl").to_string()),
    ])
}

/// Writes a new project into `dir` (created; it must not exist or be
/// empty). Returns the paths written.
///
/// # Errors
///
/// [`Error::Manifest`] for a bad name, [`Error::FolderNotEmpty`], or
/// [`Error::Io`]; nothing is left half-written in a folder that had files.
pub fn create(dir: &Path, name: &str, kind: Kind, sdk: &Sdk) -> Result<Vec<PathBuf>, Error> {
    let files = files(name, kind, sdk)?;
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied || (dir.exists() && !dir.is_dir()) {
        return Err(Error::FolderNotEmpty {
            path: dir.to_path_buf(),
        });
    }
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        written.push(path);
    }
    Ok(written)
}

/// The name of the component `cargo build` makes for the project `name`.
pub fn wasm_file(name: &str) -> String {
    format!("keeper_plugin_{}.wasm", name.replace('-', "_"))
}

/// A template with its placeholders replaced: `{name}`, `{kind}`, and
/// `{crate}`/`{wasm}` and `{sdk}` where the template has them.
fn fill(template: &str, name: &str, kind: Kind, krate: &str, sdk: &str) -> String {
    template
        .replace("{name}", name)
        .replace("{kind}", &kind.to_string())
        .replace("{crate}", krate)
        .replace("{wasm}", krate)
        .replace("{sdk}", sdk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotator_project_names_itself_everywhere() {
        let files = files("acme-db", Kind::Rotator, &Sdk::Registry).expect("files");
        let get = |name: &str| {
            files
                .iter()
                .find(|(path, _)| *path == name)
                .map(|(_, text)| text.as_str())
                .expect(name)
        };
        let manifest = Manifest::parse(get("plugin.toml")).expect("a valid manifest");
        assert_eq!(manifest.name, "acme-db");
        assert_eq!(manifest.kind, Kind::Rotator);
        assert_eq!(manifest.api_version, semver::Version::new(1, 1, 0));
        let cargo: toml::Table = toml::from_str(get("Cargo.toml")).expect("valid TOML");
        assert_eq!(
            cargo["package"]["name"].as_str(),
            Some("keeper-plugin-acme-db")
        );
        assert_eq!(
            cargo["dependencies"]["keeper-plugin-sdk"]["features"][0].as_str(),
            Some("v1_1")
        );
        assert!(cargo.contains_key("workspace"), "its own workspace");
        assert!(get("src/lib.rs").contains("PluginInfo::new(\"acme-db\""));
        assert!(get("src/lib.rs").contains("v1_1::register_rotator!"));
        assert!(get("README.md").contains("release/keeper_plugin_acme_db.wasm"));
        assert_eq!(wasm_file("acme-db"), "keeper_plugin_acme_db.wasm");
        for (path, text) in &files {
            assert!(
                !text.contains("{name}") && !text.contains("{sdk}"),
                "{path}"
            );
        }
    }

    #[test]
    fn a_local_sdk_is_a_quoted_path() {
        let files = files(
            "x",
            Kind::Importer,
            &Sdk::Path(PathBuf::from(r#"/src/my "sdk""#)),
        )
        .expect("files");
        let cargo: toml::Table = toml::from_str(&files[0].1).expect("valid TOML");
        assert_eq!(
            cargo["dependencies"]["keeper-plugin-sdk"]["path"].as_str(),
            Some(r#"/src/my "sdk""#)
        );
        assert!(files[2].1.contains("v1_1::register_importer!"));
    }

    #[test]
    fn bad_names_and_occupied_folders_are_refused() {
        for bad in ["Acme", "", "a b", "../x"] {
            assert!(
                matches!(
                    files(bad, Kind::Rotator, &Sdk::Registry),
                    Err(Error::Manifest(_))
                ),
                "{bad:?}"
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("keep.txt"), "mine").expect("write");
        assert!(matches!(
            create(dir.path(), "acme", Kind::Rotator, &Sdk::Registry),
            Err(Error::FolderNotEmpty { .. })
        ));
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            1,
            "nothing was written"
        );
        let fresh = dir.path().join("new/acme");
        let written = create(&fresh, "acme", Kind::Rotator, &Sdk::Registry).expect("created");
        assert_eq!(written.len(), 5);
        assert!(fresh.join("src/lib.rs").is_file());
    }
}
