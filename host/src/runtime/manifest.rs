//! `plugin.toml`: what a plugin is, what it needs, and its component's hash.
//!
//! ```toml
//! name = "mysql"                 # [a-z0-9-]
//! version = "0.1.0"              # the plugin's own version (semver)
//! kind = "rotator"               # rotator | importer
//! api-version = "1.0.0"          # the keeper:plugin version it exports
//! description = "Rotates MySQL and MariaDB passwords"
//! sha256 = "<hex>"               # of plugin.wasm; required for installed plugins
//! checks-passwords = true        # rotators; false: the target has no way to
//!                                # check a password (see `rotation::protocol`)
//! sets-password = true           # rotators; false: the rotated credential is
//!                                # the material `rotate` returns (an access
//!                                # key), the record's password stays as it is
//!
//! [capabilities]                 # all optional; none by default
//! tcp = true                     # TCP to the record's pinned target
//! http = ["https://lastpass.com"]
//! ssh = true
//! process = ["pspasswd"]
//!
//! [fields]                       # rotators only; see `fields.rs`
//! needs = ["keyPair", "text:passphrase"]  # shown besides login/host/url/password/cmdr:*
//! owns = ["keyPair"]             # what `prepare` may return
//!
//! [limits]                       # requests; the host clamps them
//! memory-mib = 64
//! timeout-secs = 60
//! cpu-fuel = 10_000_000_000      # per call (≈ wasm instructions)
//! ```
//!
//! The description is free text from the plugin's author: control
//! characters in it are escaped when it is read (`text.rs`).

use std::fmt;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::capability::origin::Origin;
use super::error::Error;
use super::fields::FieldAccess;
use super::text::{escape_in_place, escaped};

/// The kind of a plugin: which world its component targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Exports `keeper:plugin/rotator`.
    Rotator,
    /// Exports `keeper:plugin/importer`.
    Importer,
}

impl Kind {
    /// The WIT interface this kind exports, without version.
    pub fn interface(self) -> &'static str {
        match self {
            Kind::Rotator => "keeper:plugin/rotator",
            Kind::Importer => "keeper:plugin/importer",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Rotator => "rotator",
            Kind::Importer => "importer",
        })
    }
}

/// Capabilities a plugin asks for (in its manifest) or was granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Capabilities {
    /// TCP connections to the pinned target of the record being processed.
    pub tcp: bool,
    /// HTTP origins (`scheme://host[:port]`).
    pub http: Vec<String>,
    /// SSH sessions to the pinned target.
    pub ssh: bool,
    /// Local programs by name.
    pub process: Vec<String>,
}

impl Capabilities {
    /// What is in both `self` and `other`.
    pub fn intersect(&self, other: &Capabilities) -> Capabilities {
        Capabilities {
            tcp: self.tcp && other.tcp,
            http: self
                .http
                .iter()
                .filter(|o| other.http.contains(o))
                .cloned()
                .collect(),
            ssh: self.ssh && other.ssh,
            process: self
                .process
                .iter()
                .filter(|p| other.process.contains(p))
                .cloned()
                .collect(),
        }
    }

    /// True when nothing is asked for.
    pub fn is_empty(&self) -> bool {
        !self.tcp && self.http.is_empty() && !self.ssh && self.process.is_empty()
    }

    /// One short line per capability, for listings and install prompts.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.tcp {
            lines.push("tcp: connect to the target of the record being processed".to_string());
        }
        for origin in &self.http {
            lines.push(format!("http: send requests to {origin}"));
        }
        if self.ssh {
            lines.push(
                "ssh: open SSH sessions to the target of the record being processed".to_string(),
            );
        }
        for program in &self.process {
            lines.push(format!("process: run the local program `{program}`"));
        }
        lines
    }

    /// A compact summary, e.g. `tcp, http(https://lastpass.com)`; `-` for none.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.tcp {
            parts.push("tcp".to_string());
        }
        if !self.http.is_empty() {
            parts.push(format!("http({})", self.http.join(" ")));
        }
        if self.ssh {
            parts.push("ssh".to_string());
        }
        if !self.process.is_empty() {
            parts.push(format!("process({})", self.process.join(" ")));
        }
        if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Resource limits a plugin requests. The host clamps them to its maxima.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequestedLimits {
    /// Linear memory cap in MiB.
    pub memory_mib: Option<u32>,
    /// Wall-clock limit for one call, in seconds.
    pub timeout_secs: Option<u32>,
    /// CPU budget for one call, in wasmtime fuel (≈ wasm instructions).
    pub cpu_fuel: Option<u64>,
}

/// A parsed and validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// Plugin name: lower-case letters, digits and `-`.
    pub name: String,
    /// The plugin's own version.
    pub version: Version,
    /// Rotator or importer.
    pub kind: Kind,
    /// The `keeper:plugin` API version the component exports.
    pub api_version: Version,
    /// One line for listings.
    #[serde(default)]
    pub description: String,
    /// Hex sha256 of the component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Whether the rotator's `verify` checks a password. `false` (AWS IAM,
    /// Azure AD: no API checks one) means `verify` answers `Unsupported`
    /// after checking what it can, and the engine settles an interrupted
    /// rotation by setting the new password again instead of checking it.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub checks_passwords: bool,
    /// Whether finishing a rotation makes the new password the record's.
    /// `false` (awskey: what it rotates is an access key, which its
    /// `rotate` returns as material in `[fields] owns`) leaves the record's
    /// password as it is; the password keeper generates then only names
    /// the pending rotation. Needs `[fields] owns`.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub sets_password: bool,
    /// Requested capabilities.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Record fields a rotator is shown and may return from `prepare`.
    #[serde(default, skip_serializing_if = "FieldAccess::is_empty")]
    pub fields: FieldAccess,
    /// Requested limits.
    #[serde(default)]
    pub limits: RequestedLimits,
    /// A native (unsandboxed) plugin: a shared library with keeper's C ABI
    /// instead of a component (`runtime/native`).
    #[serde(default, skip_serializing_if = "is_no")]
    pub native: bool,
    /// A native plugin's library: a file name in the plugin's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_no(value: &bool) -> bool {
    !*value
}

fn yes() -> bool {
    true
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_yes(value: &bool) -> bool {
    *value
}

impl Manifest {
    /// Parses and validates a manifest.
    ///
    /// # Errors
    ///
    /// [`Error::Manifest`] when the TOML is malformed, a field is missing or
    /// unknown, the name is not `[a-z0-9-]`, an HTTP origin is not a bare
    /// `scheme://host[:port]`, an importer asks for tcp/ssh/process, or the
    /// sha256 is not 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, Error> {
        // A parse error quotes the offending line: escape it too.
        let mut manifest: Manifest =
            toml::from_str(text).map_err(|e| Error::Manifest(escaped(e.to_string().trim_end())))?;
        manifest.validate()?;
        escape_in_place(&mut manifest.description);
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Manifest(msg));
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad(format!(
                "name {:?} must be 1-64 characters of a-z, 0-9 and -",
                self.name
            ));
        }
        if let Some(sha) = &self.sha256 {
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad("sha256 must be 64 hex digits".to_string());
            }
        }
        for origin in &self.capabilities.http {
            if let Err(e) = Origin::parse(origin) {
                return bad(format!("capabilities.http: {e}"));
            }
        }
        for program in &self.capabilities.process {
            if program.is_empty() || program.contains(['/', '\\']) || program.starts_with('.') {
                return bad(format!(
                    "capabilities.process: {program:?} must be a bare program name"
                ));
            }
        }
        if self.kind == Kind::Importer
            && (self.capabilities.tcp
                || self.capabilities.ssh
                || !self.capabilities.process.is_empty())
        {
            return bad(
                "an importer may only ask for http; tcp, ssh and process need a record's target"
                    .to_string(),
            );
        }
        if self.kind == Kind::Importer && !self.fields.is_empty() {
            return bad("[fields] is for rotators; an importer is shown no record".to_string());
        }
        self.fields.validate().or_else(bad)?;
        if !self.sets_password && (self.kind != Kind::Rotator || self.fields.owns.is_empty()) {
            return bad(
                "sets-password = false is for rotators whose [fields] owns names the credentials they rotate"
                    .to_string(),
            );
        }
        self.validate_native()
    }

    /// A native plugin: a rotator or importer with a library file and
    /// nothing a sandbox would enforce; any other plugin has no library.
    fn validate_native(&self) -> Result<(), Error> {
        let bad = |msg: &str| Err(Error::Manifest(msg.to_string()));
        if !self.native {
            return match self.library {
                Some(_) => bad("library is for native plugins (native = true)"),
                None => Ok(()),
            };
        }
        match &self.library {
            None => return bad("a native plugin names its library file: library = \"libNAME.so\""),
            Some(file)
                if file.is_empty()
                    || !file.chars().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')
                    })
                    || file.starts_with('.')
                    || matches!(file.as_str(), "plugin.toml" | "grant.toml") =>
            {
                return bad(
                    "library must be a file name in the plugin's folder (letters, digits, `.`, `_`, `+`, `-`)",
                );
            }
            Some(_) => {}
        }
        // Only the wall clock applies outside a sandbox.
        let limits = RequestedLimits {
            timeout_secs: None,
            ..self.limits.clone()
        };
        if !self.capabilities.is_empty() || limits != RequestedLimits::default() {
            return bad(
                "a native plugin runs unsandboxed: [capabilities] and the [limits] memory-mib and cpu-fuel do not apply to it (timeout-secs does); remove them",
            );
        }
        Ok(())
    }

    /// `name version`, for messages.
    pub fn id(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    /// Serialises the manifest back to TOML.
    ///
    /// # Errors
    ///
    /// Never in practice: every field is representable in TOML.
    pub fn to_toml(&self) -> Result<String, Error> {
        toml::to_string_pretty(self).map_err(|e| Error::Manifest(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MYSQL: &str = r#"
        name = "mysql"
        version = "0.1.0"
        kind = "rotator"
        api-version = "1.0.0"
        description = "MySQL"
        [capabilities]
        tcp = true
        [limits]
        memory-mib = 64
    "#;

    #[test]
    fn parses_a_rotator_manifest() {
        let m = Manifest::parse(MYSQL).expect("valid");
        assert_eq!(m.name, "mysql");
        assert_eq!(m.kind, Kind::Rotator);
        assert_eq!(m.api_version, Version::new(1, 0, 0));
        assert!(m.capabilities.tcp);
        assert_eq!(m.limits.memory_mib, Some(64));
        assert_eq!(
            Manifest::parse(&m.to_toml().expect("toml")).expect("round trip"),
            m
        );
    }

    #[test]
    fn a_rotator_sets_the_password_unless_it_rotates_owned_fields() {
        assert!(Manifest::parse(MYSQL).expect("valid").sets_password);
        let without = MYSQL.replace(
            "description = \"MySQL\"",
            "description = \"MySQL\"\nsets-password = false",
        );
        let err = Manifest::parse(&without).expect_err("nothing would change");
        assert!(err.to_string().contains("[fields] owns"), "{err}");
        let m = Manifest::parse(&format!(
            "{without}\n[fields]\nowns = [\"text:aws_access_key_id\"]"
        ))
        .expect("valid");
        assert!(!m.sets_password);
        assert!(m.to_toml().expect("toml").contains("sets-password = false"));
        assert_eq!(
            Manifest::parse(&m.to_toml().expect("toml")).expect("round trip"),
            m
        );
    }

    #[test]
    fn a_rotator_checks_passwords_unless_it_says_it_cannot() {
        assert!(Manifest::parse(MYSQL).expect("valid").checks_passwords);
        let text = MYSQL.replace(
            "description = \"MySQL\"",
            "description = \"MySQL\"\nchecks-passwords = false",
        );
        let m = Manifest::parse(&text).expect("valid");
        assert!(!m.checks_passwords);
        let toml = m.to_toml().expect("toml");
        assert!(toml.contains("checks-passwords = false"), "{toml}");
        assert_eq!(Manifest::parse(&toml).expect("round trip"), m);
    }

    #[test]
    fn rejects_bad_manifests() {
        let cases = [
            (MYSQL.replace("\"mysql\"", "\"My SQL\""), "name"),
            (
                MYSQL.replace("kind = \"rotator\"", "kind = \"exporter\""),
                "kind",
            ),
            (
                MYSQL.replace("api-version = \"1.0.0\"", "api-version = \"one\""),
                "api-version",
            ),
            (MYSQL.replace("tcp = true", "tcp = true\nfs = true"), "fs"),
            (
                MYSQL.replace("tcp = true", "http = [\"https://x.example/path\"]"),
                "http",
            ),
            (
                MYSQL.replace("tcp = true", "process = [\"/bin/sh\"]"),
                "process",
            ),
            (
                MYSQL.replace("kind = \"rotator\"", "kind = \"importer\""),
                "importer",
            ),
            (
                MYSQL.replace(
                    "description = \"MySQL\"",
                    "description = \"MySQL\"\nsha256 = \"abc\"",
                ),
                "64 hex",
            ),
            ("name = ".to_string(), ""),
            (
                format!("{MYSQL}\n[fields]\nowns = [\"password\"]"),
                "fields.owns",
            ),
            (
                format!("{MYSQL}\n[fields]\nneeds = [\"a b\"]"),
                "field type",
            ),
            (
                MYSQL
                    .replace("kind = \"rotator\"", "kind = \"importer\"")
                    .replace("tcp = true", "")
                    + "\n[fields]\nneeds = [\"keyPair\"]",
                "[fields] is for rotators",
            ),
        ];
        for (text, needle) in cases {
            match Manifest::parse(&text) {
                Err(Error::Manifest(msg)) => {
                    assert!(msg.contains(needle), "{msg:?} should mention {needle:?}")
                }
                other => panic!("expected a manifest error for {needle:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn plugin_text_in_a_manifest_is_escaped() {
        let m = Manifest::parse(&MYSQL.replace(
            "description = \"MySQL\"",
            "description = \"My\\u001b]52;c;aGk=\\u0007SQL\"",
        ))
        .expect("valid");
        assert_eq!(m.description, "My\\u{1b}]52;c;aGk=\\u{7}SQL");
        let err = Manifest::parse("name = \"x\x1b[2J\"\n").expect_err("bad");
        assert!(!err.to_string().contains('\x1b'), "{err}");
    }

    #[test]
    fn fields_round_trip() {
        let text = format!(
            "{MYSQL}\n[fields]\nneeds = [\"keyPair\", \"text:passphrase\"]\nowns = [\"keyPair\"]"
        );
        let m = Manifest::parse(&text).expect("valid");
        assert_eq!(m.fields.needs.len(), 2);
        assert_eq!(m.fields.owns[0].to_string(), "keyPair");
        assert_eq!(
            Manifest::parse(&m.to_toml().expect("toml")).expect("round trip"),
            m
        );
    }

    #[test]
    fn intersection_is_what_both_allow() {
        let asked = Capabilities {
            tcp: true,
            http: vec!["https://a.example".into(), "https://b.example".into()],
            ssh: true,
            process: vec!["pspasswd".into()],
        };
        let granted = Capabilities {
            tcp: true,
            http: vec!["https://b.example".into()],
            ssh: false,
            process: vec![],
        };
        let effective = asked.intersect(&granted);
        assert!(effective.tcp);
        assert_eq!(effective.http, vec!["https://b.example".to_string()]);
        assert!(!effective.ssh);
        assert!(effective.process.is_empty());
        assert_eq!(effective.summary(), "tcp, http(https://b.example)");
        assert_eq!(Capabilities::default().summary(), "-");
    }

    /// A native manifest: a rotator or importer naming a library file in its folder,
    /// with nothing a sandbox would enforce; `library` only with `native`.
    #[test]
    fn native_manifests_name_a_library_and_no_sandbox_settings() {
        let native = |extra: &str| {
            Manifest::parse(&format!(
                "name = \"n\"\nversion = \"0.1.0\"\nkind = \"rotator\"\napi-version = \"1.1.0\"\n{extra}"
            ))
        };
        let m = native("native = true\nlibrary = \"libn.so\"").expect("valid");
        assert!(m.native);
        assert_eq!(m.library.as_deref(), Some("libn.so"));
        assert!(m.to_toml().expect("toml").contains("native = true"));
        // The wall clock is the one limit that applies outside a sandbox.
        let m = native("native = true\nlibrary = \"libn.so\"\n[limits]\ntimeout-secs = 3")
            .expect("a wall-clock limit");
        assert_eq!(m.limits.timeout_secs, Some(3));
        for (extra, why) in [
            ("native = true", "names its library"),
            ("native = true\nlibrary = \"../libn.so\"", "a file name"),
            ("native = true\nlibrary = \".hidden.so\"", "a file name"),
            (
                "native = true\nlibrary = \"lib\\u001b[31mn.so\"",
                "a file name",
            ),
            ("native = true\nlibrary = \"lib n.so\"", "a file name"),
            ("library = \"libn.so\"", "for native plugins"),
            (
                "native = true\nlibrary = \"libn.so\"\n[capabilities]\ntcp = true",
                "unsandboxed",
            ),
            (
                "native = true\nlibrary = \"libn.so\"\n[limits]\nmemory-mib = 8",
                "unsandboxed",
            ),
        ] {
            let error = native(extra).expect_err(extra).to_string();
            assert!(error.contains(why), "{extra}: {error}");
        }
        // An importer may be native too (ABI 2).
        let importer = Manifest::parse(
            "name = \"n\"\nversion = \"0.1.0\"\nkind = \"importer\"\napi-version = \"1.1.0\"\nnative = true\nlibrary = \"libn.so\"",
        )
        .expect("a native importer");
        assert!(importer.native && importer.kind == Kind::Importer);
        // A component's manifest does not mention either key.
        let m = Manifest::parse(MYSQL).expect("valid");
        let text = m.to_toml().expect("toml");
        assert!(
            !text.contains("native") && !text.contains("library"),
            "{text}"
        );
    }
}
