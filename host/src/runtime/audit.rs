//! Install-time checks of a compiled component against its manifest:
//! which API version and kind it exports, and whether every interface it
//! imports is one its manifest declared.
//!
//! Every std Rust component imports a baseline of WASI (cli, io, clocks,
//! random, filesystem); those are provided empty and grant nothing. The
//! network (`wasi:sockets`, `wasi:http`) and keeper's ssh and process
//! interfaces each need the matching declared capability. Anything else is
//! refused.

use semver::Version;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::bindings;
use super::error::Error;
use super::manifest::{Kind, Manifest};

/// What a component exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The plugin kind its export names.
    pub kind: Kind,
    /// The API version in the export name.
    pub api_version: Version,
}

/// Checks the manifest's api-version before anything is compiled.
///
/// # Errors
///
/// [`Error::UnsupportedApiVersion`].
pub fn check_manifest_version(manifest: &Manifest) -> Result<(), Error> {
    if bindings::is_supported(&manifest.api_version) {
        Ok(())
    } else {
        Err(Error::UnsupportedApiVersion {
            plugin: manifest.id(),
            requested: manifest.api_version.clone(),
            supported: bindings::host_api_version(),
        })
    }
}

/// Checks the component's exports and imports against `manifest`.
///
/// # Errors
///
/// [`Error::WrongKind`], [`Error::ApiVersionMismatch`],
/// [`Error::UnsupportedApiVersion`], [`Error::UndeclaredImport`] or
/// [`Error::UnknownImport`].
pub fn check_component(
    engine: &Engine,
    component: &Component,
    manifest: &Manifest,
) -> Result<Exported, Error> {
    let plugin = manifest.id();
    let ty = component.component_type();
    let exported = ty
        .exports(engine)
        .find_map(|(name, _)| parse_export(name))
        .ok_or_else(|| Error::WrongKind {
            plugin: plugin.clone(),
            expected: format!(
                "{} ({}@{})",
                manifest.kind,
                manifest.kind.interface(),
                manifest.api_version
            ),
            found: "no keeper plugin interface".to_string(),
        })?;
    if exported.kind != manifest.kind {
        return Err(Error::WrongKind {
            plugin,
            expected: manifest.kind.to_string(),
            found: exported.kind.to_string(),
        });
    }
    if !bindings::is_supported(&exported.api_version) {
        return Err(Error::UnsupportedApiVersion {
            plugin,
            requested: exported.api_version,
            supported: bindings::host_api_version(),
        });
    }
    if exported.api_version != manifest.api_version {
        return Err(Error::ApiVersionMismatch {
            plugin,
            manifest: manifest.api_version.clone(),
            component: exported.api_version,
        });
    }
    for (name, _) in ty.imports(engine) {
        check_import(name, manifest)?;
    }
    Ok(exported)
}

/// `keeper:plugin/rotator@1.0.0` → rotator 1.0.0.
fn parse_export(name: &str) -> Option<Exported> {
    let (interface, version) = name.split_once('@')?;
    let kind = match interface {
        "keeper:plugin/rotator" => Kind::Rotator,
        "keeper:plugin/importer" => Kind::Importer,
        _ => return None,
    };
    Some(Exported {
        kind,
        api_version: Version::parse(version).ok()?,
    })
}

/// The capability an import needs: `Ok(None)` for the harmless baseline.
fn required_capability(interface: &str, kind: Kind) -> Result<Option<&'static str>, ()> {
    let package = interface.split('/').next().unwrap_or(interface);
    match (package, interface, kind) {
        ("wasi:io" | "wasi:cli" | "wasi:clocks" | "wasi:random" | "wasi:filesystem", _, _) => {
            Ok(None)
        }
        ("wasi:sockets", _, _) => Ok(Some("tcp")),
        ("wasi:http", _, _) => Ok(Some("http")),
        (_, "keeper:plugin/types" | "keeper:plugin/log", _) => Ok(None),
        (_, "keeper:plugin/input", Kind::Importer) => Ok(None),
        (_, "keeper:plugin/ssh", Kind::Rotator) => Ok(Some("ssh")),
        (_, "keeper:plugin/process", Kind::Rotator) => Ok(Some("process")),
        _ => Err(()),
    }
}

fn check_import(name: &str, manifest: &Manifest) -> Result<(), Error> {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    // A 1.0 plugin that imports a 1.1 interface would not link on a host
    // that serves only 1.0, though its manifest says it would.
    if interface.starts_with("keeper:plugin/")
        && Version::parse(version).is_ok_and(|v| v > manifest.api_version)
    {
        return Err(Error::NewerImport {
            plugin: manifest.id(),
            import: name.to_string(),
            api_version: manifest.api_version.clone(),
        });
    }
    let declared = |capability: &str| match capability {
        "tcp" => manifest.capabilities.tcp,
        "http" => !manifest.capabilities.http.is_empty(),
        "ssh" => manifest.capabilities.ssh,
        "process" => !manifest.capabilities.process.is_empty(),
        _ => false,
    };
    match required_capability(interface, manifest.kind) {
        Ok(None) => Ok(()),
        Ok(Some(capability)) if declared(capability) => Ok(()),
        Ok(Some(capability)) => Err(Error::UndeclaredImport {
            plugin: manifest.id(),
            import: name.to_string(),
            capability: capability.to_string(),
        }),
        Err(()) => Err(Error::UnknownImport {
            plugin: manifest.id(),
            import: name.to_string(),
            kind: manifest.kind.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(kind: &str, caps: &str) -> Manifest {
        Manifest::parse(&format!("name = \"p\"\nversion = \"1.0.0\"\nkind = \"{kind}\"\napi-version = \"1.0.0\"\n[capabilities]\n{caps}"))
            .expect("manifest")
    }

    #[test]
    fn export_names_give_kind_and_version() {
        assert_eq!(
            parse_export("keeper:plugin/rotator@1.0.0"),
            Some(Exported {
                kind: Kind::Rotator,
                api_version: Version::new(1, 0, 0)
            })
        );
        assert_eq!(
            parse_export("keeper:plugin/importer@2.1.0").map(|e| e.kind),
            Some(Kind::Importer)
        );
        assert_eq!(parse_export("keeper:plugin/rotator"), None);
        assert_eq!(parse_export("other:thing/rotator@1.0.0"), None);
    }

    #[test]
    fn imports_need_declared_capabilities() {
        let bare = manifest("rotator", "");
        assert!(check_import("wasi:cli/environment@0.2.6", &bare).is_ok());
        assert!(check_import("wasi:filesystem/preopens@0.2.6", &bare).is_ok());
        assert!(check_import("keeper:plugin/log@1.0.0", &bare).is_ok());
        assert!(matches!(
            check_import("wasi:sockets/tcp@0.2.6", &bare),
            Err(Error::UndeclaredImport { .. })
        ));
        assert!(matches!(
            check_import("wasi:http/outgoing-handler@0.2.6", &bare),
            Err(Error::UndeclaredImport { .. })
        ));
        assert!(matches!(
            check_import("keeper:plugin/ssh@1.0.0", &bare),
            Err(Error::UndeclaredImport { .. })
        ));
        assert!(matches!(
            check_import("keeper:plugin/process@1.0.0", &bare),
            Err(Error::UndeclaredImport { .. })
        ));
        assert!(matches!(
            check_import("keeper:plugin/input@1.0.0", &bare),
            Err(Error::UnknownImport { .. })
        ));
        assert!(matches!(
            check_import("evil:backdoor/shell@1.0.0", &bare),
            Err(Error::UnknownImport { .. })
        ));

        let net = manifest(
            "rotator",
            "tcp = true\nssh = true\nprocess = [\"pspasswd\"]",
        );
        assert!(check_import("wasi:sockets/tcp@0.2.6", &net).is_ok());
        assert!(check_import("keeper:plugin/ssh@1.0.0", &net).is_ok());
        assert!(check_import("keeper:plugin/process@1.0.0", &net).is_ok());

        assert!(matches!(
            check_import("keeper:plugin/log@1.1.0", &bare),
            Err(Error::NewerImport { .. })
        ));
        let newer = Manifest::parse(
            "name = \"p\"\nversion = \"1.0.0\"\nkind = \"importer\"\napi-version = \"1.1.0\"",
        )
        .expect("manifest");
        assert!(check_import("keeper:plugin/input@1.1.0", &newer).is_ok());
        assert!(
            check_import("keeper:plugin/log@1.0.0", &newer).is_ok(),
            "a 1.1 plugin may import 1.0 interfaces (the SDK's helpers do)"
        );

        let importer = manifest("importer", "http = [\"https://lastpass.com\"]");
        assert!(check_import("keeper:plugin/input@1.0.0", &importer).is_ok());
        assert!(check_import("wasi:http/types@0.2.6", &importer).is_ok());
        assert!(matches!(
            check_import("wasi:sockets/tcp@0.2.6", &importer),
            Err(Error::UndeclaredImport { .. })
        ));
        assert!(matches!(
            check_import("keeper:plugin/ssh@1.0.0", &importer),
            Err(Error::UnknownImport { .. })
        ));
    }
}
