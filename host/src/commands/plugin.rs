//! `keeper plugin ...`: list, info, install, remove and package plugins;
//! `new` writes a plugin project.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::cli::{Format, NewKind, PluginCommand};
use crate::context::Context;
use crate::output::print_listing;
use crate::rotation::NOOP;
use crate::runtime::{
    ArtifactCache, Capabilities, Kind, PluginPackage, Runtime, Source, registry, template,
};

/// Runs a `keeper plugin` subcommand.
pub(crate) async fn run(ctx: &Context, command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::List { format } => list(ctx, format),
        PluginCommand::Info { name, format } => info(ctx, &name, format).await,
        PluginCommand::Install {
            path,
            grant,
            force,
            native,
            i_understand_unsandboxed,
        } => {
            let native = match (native, i_understand_unsandboxed) {
                (false, _) => Native::No,
                (true, false) => Native::Refused,
                (true, true) => Native::Accepted,
            };
            install(ctx, &path, grant, force, native).await
        }
        PluginCommand::Remove { name } => remove(ctx, &name),
        PluginCommand::Package {
            wasm,
            manifest,
            out,
        } => package(&wasm, &manifest, &out),
        PluginCommand::New {
            name,
            kind,
            dir,
            sdk_path,
        } => new(&name, kind, dir, sdk_path),
    }
}

/// One plugin as listings show it.
#[derive(Debug, Serialize)]
struct PluginRow {
    name: String,
    version: String,
    kind: String,
    api_version: String,
    description: String,
    /// None for a native plugin: no capability applies to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    granted: Option<Capabilities>,
    source: Source,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// A native plugin: no sandbox, keeper's own rights.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    native: bool,
}

/// What listings say of a native plugin, wherever they show one.
pub(crate) const UNSANDBOXED: &str = "native, unsandboxed";

impl PluginRow {
    /// The Source column: where it came from, and "native, unsandboxed".
    fn source_label(&self, native_allowed: bool) -> String {
        match (self.native, native_allowed) {
            (false, _) => self.source.to_string(),
            (true, true) => format!("{} ({UNSANDBOXED})", self.source),
            (true, false) => format!(
                "{} ({UNSANDBOXED}; off: \"native_plugins\" is not true in config.json)",
                self.source
            ),
        }
    }

    /// The Capabilities column.
    fn capabilities_label(&self) -> String {
        match &self.capabilities {
            Some(capabilities) if !self.native => capabilities.summary(),
            _ => format!("all of keeper's ({UNSANDBOXED})"),
        }
    }
}

impl From<&PluginPackage> for PluginRow {
    fn from(p: &PluginPackage) -> Self {
        Self {
            name: p.manifest.name.clone(),
            version: p.manifest.version.to_string(),
            kind: p.manifest.kind.to_string(),
            api_version: p.manifest.api_version.to_string(),
            description: p.manifest.description.clone(),
            capabilities: (!p.manifest.native).then(|| p.manifest.capabilities.clone()),
            granted: (!p.manifest.native).then(|| p.manifest.capabilities.intersect(&p.granted)),
            source: p.source,
            sha256: p.sha256.clone(),
            path: p.dir.as_ref().map(|d| d.display().to_string()),
            native: p.manifest.native,
        }
    }
}

/// The `noop` rotator, built into the rotation engine (no component, no
/// capabilities): it changes the password in the vault only.
fn noop_row() -> PluginRow {
    PluginRow {
        name: NOOP.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        kind: crate::runtime::Kind::Rotator.to_string(),
        api_version: "-".to_string(),
        description:
            "Changes the password in the vault only (no target; part of keeper, not a component)"
                .to_string(),
        capabilities: Some(Capabilities::default()),
        granted: Some(Capabilities::default()),
        source: Source::Builtin,
        sha256: String::new(),
        path: None,
        native: false,
    }
}

fn list(ctx: &Context, format: Format) -> anyhow::Result<ExitCode> {
    let (plugins, broken) = registry::all(&ctx.plugin_dir())?;
    let rows: Vec<PluginRow> = std::iter::once(noop_row())
        .chain(plugins.iter().map(PluginRow::from))
        .collect();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.version.clone(),
                r.kind.clone(),
                r.api_version.clone(),
                r.capabilities_label(),
                r.source_label(ctx.config.native_plugins),
            ]
        })
        .collect();
    print_listing(
        format,
        &["Name", "Version", "Kind", "API", "Capabilities", "Source"],
        &table,
        &rows,
    )?;
    for (dir, error) in &broken {
        eprintln!("warning: ignoring {}: {error}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn info(ctx: &Context, name: &str, format: Format) -> anyhow::Result<ExitCode> {
    if name == NOOP {
        let row = noop_row();
        if format == Format::Json {
            println!("{}", serde_json::to_string_pretty(&row)?);
        } else {
            let rows = vec![
                vec!["Name".to_string(), row.name],
                vec!["Kind".to_string(), row.kind],
                vec!["Description".to_string(), row.description],
                vec!["Source".to_string(), row.source.to_string()],
                vec!["Requested".to_string(), "nothing".to_string()],
            ];
            println!("{}", crate::output::table(&["Field", "Value"], &rows));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let package = registry::find(&ctx.plugin_dir(), name)?;
    let row = PluginRow::from(&package);
    let runtime = Runtime::new(ArtifactCache::new(ctx.cache_dir()))?
        .with_native_plugins(ctx.config.native_plugins);
    let plugin = runtime.load(&package)?;
    let limits = plugin.limits().clone();
    #[derive(Serialize)]
    struct Info {
        #[serde(flatten)]
        plugin: PluginRow,
        summary: String,
        /// The record fields it is shown and may store, as granted.
        fields: crate::runtime::fields::FieldAccess,
        /// None for a native plugin (no memory limit outside a sandbox).
        #[serde(skip_serializing_if = "Option::is_none")]
        memory_mib: Option<u64>,
        timeout_secs: u64,
        /// CPU budget per call, in wasmtime fuel (≈ wasm instructions);
        /// None for a native plugin.
        #[serde(skip_serializing_if = "Option::is_none")]
        cpu_fuel: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        default_port: Option<u16>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        required_params: Vec<String>,
        /// A native plugin's needed libraries (`DT_NEEDED`, `DT_AUXILIARY`,
        /// `DT_FILTER`): found by the dynamic loader's usual search, not
        /// hashed; null when keeper cannot read them, absent for a
        /// component.
        #[serde(skip_serializing_if = "Option::is_none")]
        needed_libraries: Option<Option<Vec<String>>>,
        /// Why `needed_libraries` is null.
        #[serde(skip_serializing_if = "Option::is_none")]
        needed_libraries_unknown: Option<String>,
    }
    let (summary, default_port, required_params) = match package.manifest.kind {
        crate::runtime::Kind::Rotator => {
            let d = plugin.describe_rotator().await?;
            (d.summary, d.default_port, d.required_params)
        }
        crate::runtime::Kind::Importer => {
            (plugin.describe_importer().await?.summary, None, Vec::new())
        }
    };
    let needs = package
        .manifest
        .native
        .then(|| crate::runtime::native::needed_libraries(&package.wasm));
    let info = Info {
        plugin: row,
        summary,
        fields: plugin.fields().clone(),
        memory_mib: (!package.manifest.native).then(|| limits.memory_mib()),
        timeout_secs: limits.timeout.as_secs(),
        cpu_fuel: (!package.manifest.native).then_some(limits.fuel),
        default_port,
        required_params,
        // The library's words: escaped.
        needed_libraries: needs
            .as_ref()
            .map(|found| found.as_ref().ok().map(|names| escaped_all(names))),
        needed_libraries_unknown: needs
            .as_ref()
            .and_then(|found| found.as_ref().err())
            .map(ToString::to_string),
    };
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(ExitCode::SUCCESS);
    }
    let p = &info.plugin;
    let mut lines = vec![
        ("Name", p.name.clone()),
        ("Version", p.version.clone()),
        ("Kind", p.kind.clone()),
        ("API version", p.api_version.clone()),
        ("Description", p.description.clone()),
        ("Summary", info.summary.clone()),
        ("Source", p.source_label(true)),
        ("SHA-256", p.sha256.clone()),
    ];
    if p.native {
        lines.extend([
            (
                "Sandbox",
                format!("none: {UNSANDBOXED} (a shared library running with keeper's rights)"),
            ),
            ("Fields", describe_fields(&info.fields)),
            (
                "Limits",
                format!(
                    "{} s per call (no memory or CPU limit outside a sandbox)",
                    info.timeout_secs
                ),
            ),
            (
                "Needs",
                needs_row(
                    info.needed_libraries.clone().flatten().as_deref(),
                    info.needed_libraries_unknown.as_deref(),
                ),
            ),
        ]);
    } else {
        lines.extend([
            (
                "Requested",
                lines_or_none(&p.capabilities.clone().unwrap_or_default().describe()),
            ),
            (
                "Granted",
                lines_or_none(&p.granted.clone().unwrap_or_default().describe()),
            ),
            ("Fields", describe_fields(&info.fields)),
            (
                "Limits",
                format!(
                    "{} MiB memory, {} s and {:.0e} fuel (CPU) per call",
                    info.memory_mib.unwrap_or_default(),
                    info.timeout_secs,
                    info.cpu_fuel.unwrap_or_default() as f64
                ),
            ),
        ]);
    }
    if let Some(port) = info.default_port {
        lines.push(("Default port", port.to_string()));
    }
    if !info.required_params.is_empty() {
        lines.push(("Required", info.required_params.join(", ")));
    }
    if let Some(path) = &p.path {
        lines.push(("Path", path.clone()));
    }
    let rows: Vec<Vec<String>> = lines
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    println!("{}", crate::output::table(&["Field", "Value"], &rows));
    Ok(ExitCode::SUCCESS)
}

fn lines_or_none(lines: &[String]) -> String {
    if lines.is_empty() {
        "nothing".to_string()
    } else {
        lines.join("\n")
    }
}

/// What `install` was told about native plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Native {
    /// No `--native`: a component.
    No,
    /// `--native` without `--i-understand-unsandboxed`.
    Refused,
    /// `--native --i-understand-unsandboxed`.
    Accepted,
}

/// Refuses a native plugin unless the configuration allows them and the
/// user said both flags; refuses `--native` for a component.
fn check_native(
    ctx: &Context,
    path: &std::path::Path,
    package: &PluginPackage,
    native: Native,
) -> anyhow::Result<()> {
    let shown = path.display();
    let id = package.manifest.id();
    match (package.manifest.native, native) {
        (false, Native::No) => Ok(()),
        (false, _) => bail!(
            "{id} is not a native plugin (its plugin.toml has no `native = true`): install it \
             without --native; nothing was installed"
        ),
        (true, Native::No) => bail!(
            "{id} is a native plugin, which runs unsandboxed with keeper's rights: install it \
             with `keeper plugin install --native {shown} --i-understand-unsandboxed`; nothing \
             was installed"
        ),
        (true, _) if !ctx.config.native_plugins => bail!(
            "native plugins are off: set \"native_plugins\": true in {} to install {id}; \
             nothing was installed",
            ctx.config_path.display()
        ),
        (true, Native::Refused) => bail!(
            "{id} is a native plugin: it runs UNSANDBOXED, with keeper's rights (your files, \
             your network, the vault while it is open), and keeper cannot limit it; pass \
             --i-understand-unsandboxed to install it anyway; nothing was installed"
        ),
        (true, Native::Accepted) => Ok(()),
    }
}

async fn install(
    ctx: &Context,
    path: &std::path::Path,
    grant: bool,
    force: bool,
    native: Native,
) -> anyhow::Result<ExitCode> {
    let mut package = registry::read_candidate(path)
        .with_context(|| format!("cannot install from {}", path.display()))?;
    check_native(ctx, path, &package, native)?;
    // The user's consent to unsandboxed code, recorded in its grant.
    if let Some(files) = &mut package.native {
        files.consented = true;
    }
    let package = package;
    let manifest = &package.manifest;
    if manifest.native {
        // `--i-understand-unsandboxed` (checked above) is the consent: the
        // library's initialisers run as soon as it is opened, below.
        println!(
            "Plugin {} is native: it runs unsandboxed with all of keeper's rights (consented with --i-understand-unsandboxed); opening its library.",
            manifest.id()
        );
    }
    // Compile, audit and describe it under the full requested grant before
    // asking: a plugin that cannot even load is refused here (a native
    // plugin's library is opened and its ABI version checked).
    let runtime = Runtime::new(ArtifactCache::new(ctx.cache_dir()))?
        .with_native_plugins(ctx.config.native_plugins);
    let mut probe = package.clone();
    probe.granted = manifest.capabilities.clone();
    probe.granted_limits = manifest.limits.clone();
    probe.granted_fields = manifest.fields.clone();
    let plugin = runtime.load(&probe)?;
    match manifest.kind {
        crate::runtime::Kind::Rotator => drop(plugin.describe_rotator().await?),
        crate::runtime::Kind::Importer => drop(plugin.describe_importer().await?),
    }
    // The grant covers capabilities, record fields and limits alike.
    let mut requested = manifest.capabilities.describe();
    if !manifest.fields.needs.is_empty() {
        requested.push(format!(
            "fields: see the record's {} fields",
            join_rules(&manifest.fields.needs)
        ));
    }
    if !manifest.fields.owns.is_empty() {
        requested.push(format!(
            "fields: store new {} fields it makes during a rotation",
            join_rules(&manifest.fields.owns)
        ));
    }
    if manifest.native && manifest.limits != Default::default() {
        requested.push(format!(
            "limits: {} s per call (wall clock; nothing else applies to native code)",
            plugin.limits().timeout.as_secs()
        ));
    } else if manifest.limits != Default::default() {
        let limits = plugin.limits();
        requested.push(format!(
            "limits: {} MiB memory, {} s and {:.0e} fuel (CPU) per call",
            limits.memory_mib(),
            limits.timeout.as_secs(),
            limits.fuel as f64
        ));
    }
    println!(
        "Plugin {} ({}, API {}{}): {}",
        manifest.id(),
        manifest.kind,
        manifest.api_version,
        if manifest.native {
            format!(", {UNSANDBOXED}")
        } else {
            String::new()
        },
        manifest.description
    );
    if requested.is_empty() && manifest.native {
        println!("It runs unsandboxed with all of keeper's rights; it requests no record fields.");
    } else if requested.is_empty() {
        println!("It requests no capabilities, record fields or limits.");
    } else {
        println!("It requests:");
        for line in &requested {
            println!("  - {line}");
        }
        if !grant && !confirm("Grant these capabilities and install?")? {
            bail!(
                "not installed: capabilities not granted (pass --grant to grant them non-interactively)"
            );
        }
    }
    let dir = registry::install(&ctx.plugin_dir(), &package, &manifest.capabilities, force)?;
    println!("Installed {} into {}", manifest.id(), dir.display());
    Ok(ExitCode::SUCCESS)
}

/// The granted `[fields]`, one line each.
fn describe_fields(fields: &crate::runtime::fields::FieldAccess) -> String {
    let mut lines = vec![format!(
        "sees login, host, url, password, cmdr:*{}",
        if fields.needs.is_empty() {
            String::new()
        } else {
            format!(", {}", join_rules(&fields.needs))
        }
    )];
    if !fields.owns.is_empty() {
        lines.push(format!("may store {}", join_rules(&fields.owns)));
    }
    lines.join("\n")
}

fn join_rules(rules: &[crate::runtime::fields::FieldRule]) -> String {
    rules
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Asks a yes/no question on the terminal; false when there is none.
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn remove(ctx: &Context, name: &str) -> anyhow::Result<ExitCode> {
    let dir = registry::remove(&ctx.plugin_dir(), name)?;
    println!("Removed plugin {name} ({})", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn new(
    name: &str,
    kind: NewKind,
    dir: Option<std::path::PathBuf>,
    sdk_path: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    let kind = match kind {
        NewKind::Rotator => Kind::Rotator,
        NewKind::Importer => Kind::Importer,
    };
    let dir = dir.unwrap_or_else(|| std::path::PathBuf::from(name));
    let sdk = match sdk_path {
        // Absolute, so the project builds wherever it is.
        Some(path) => template::Sdk::Path(
            std::path::absolute(&path).with_context(|| format!("resolving {}", path.display()))?,
        ),
        None => template::Sdk::Registry,
    };
    template::create(&dir, name, kind, &sdk)?;
    let shown = dir.display();
    println!(
        "Created the {kind} plugin {name} in {shown} (plugin contract 1.1). Next:\n  \
         cd {shown}\n  \
         cargo build --target wasm32-wasip2 --release\n  \
         keeper plugin package --wasm target/wasm32-wasip2/release/{} --manifest plugin.toml --out dist\n  \
         keeper plugin install dist --grant",
        template::wasm_file(name)
    );
    Ok(ExitCode::SUCCESS)
}

fn package(
    wasm: &std::path::Path,
    manifest: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let manifest = registry::package(wasm, manifest, out)?;
    println!(
        "Packaged {} (sha256 {}) into {}; install it with `keeper plugin install {}`",
        manifest.id(),
        manifest.sha256.as_deref().unwrap_or_default(),
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Each of a library's own words, escaped for the terminal.
fn escaped_all(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|name| crate::runtime::text::escaped(name))
        .collect()
}

/// `plugin info`'s "Needs" row: the libraries a native library needs, or
/// why keeper cannot say (never "no other library" then).
fn needs_row(needed: Option<&[String]>, unknown: Option<&str>) -> String {
    match (needed, unknown) {
        (Some([]), _) => "no other library".to_string(),
        (Some(names), _) => format!(
            "{} (found by the dynamic loader's usual search; not hashed)",
            names.join(", ")
        ),
        (None, Some(why)) => why.to_string(),
        (None, None) => "unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library keeper cannot read says so, never "no other library".
    #[test]
    fn the_needs_row_of_what_keeper_cannot_read_says_so() {
        let unknown = crate::runtime::native::needed_libraries(b"\xcf\xfa\xed\xfe a Mach-O")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            needs_row(None, unknown.as_deref()),
            "unknown (not an ELF library)"
        );
        let mut broken = b"\x7fELF\x02\x01\x01".to_vec();
        broken.resize(40, 0);
        let unreadable = crate::runtime::native::needed_libraries(&broken)
            .err()
            .map(|e| e.to_string())
            .expect("unreadable");
        assert!(unreadable.starts_with("unreadable: "), "{unreadable}");
        assert_eq!(needs_row(None, Some(&unreadable)), unreadable);
        assert_eq!(needs_row(Some(&[]), None), "no other library");
    }
}
