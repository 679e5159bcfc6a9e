//! Which plugin rotates a record, and with which parameters.
//!
//! Commander's rules (reference §1.3) with its bugs fixed:
//!
//! 1. Every custom field labelled `cmdr:<name>` becomes parameter `<name>`
//!    (first value; the last field of a name wins).
//! 2. The plugin is `--plugin`, else `cmdr:plugin:<endpoint>` when the record
//!    was addressed by endpoint name, else `cmdr:plugin`.
//! 3. The record's own first `login`, `password` and `url` fields, and its
//!    first `host` field (typed fields first, then custom ones), override
//!    the `cmdr:` values.
//! 4. A host written `host:port` is split; `--host` / `--port` override all.
//! 5. With no plugin named, the port infers one (22 ssh, 3306 mysql, 5432
//!    postgresql) — Commander never managed this — and a URL's scheme
//!    (`mysql://`, `postgres://`, `ssh://`) wins over its port and fills a
//!    missing host and port. Inference only names plugins keeper ships:
//!    SQL Server (1433, `mssql://`) and Oracle (1521, `oracledb://`), which
//!    Commander maps to plugins keeper does not have, get an error saying so.
//! 6. No plugin at all, or missing required parameters, is one clear error.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::runtime::capability::origin::Origin;
use crate::runtime::plugin::{Field, RecordView};

/// Ports that name a plugin (only plugins keeper ships).
pub const PORT_TO_PLUGIN: [(u16, &str); 3] = [(22, "ssh"), (3306, "mysql"), (5432, "postgresql")];
/// URL schemes that name a plugin (only plugins keeper ships).
pub const SCHEME_TO_PLUGIN: [(&str, &str); 4] = [
    ("mysql", "mysql"),
    ("postgres", "postgresql"),
    ("postgresql", "postgresql"),
    ("ssh", "ssh"),
];
/// Ports and URL schemes Commander maps to plugins keeper does not ship
/// (docs/plugins.md says why): inference names the product instead.
pub const UNSHIPPED_TARGETS: [(u16, &str, &str); 2] = [
    (1433, "mssql", "Microsoft SQL Server"),
    (1521, "oracledb", "Oracle Database"),
];

/// What the command line overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--plugin`.
    pub plugin: Option<String>,
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
}

/// One rotation endpoint of a record (`cmdr:plugin[:<name>]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Endpoint name: the suffix after `cmdr:plugin:`, empty for `cmdr:plugin`.
    pub name: String,
    /// The plugin it names.
    pub plugin: String,
    /// `cmdr:plugin:<name>:description`, if any.
    pub description: Option<String>,
}

/// Everything the rotation of one record needs from the record.
#[derive(Clone)]
pub struct Resolved {
    /// The plugin to use.
    pub plugin: String,
    /// Parameters handed to the plugin (`cmdr:` fields and record values,
    /// without the password).
    pub params: BTreeMap<String, String>,
    /// The account.
    pub login: String,
    /// The current password.
    pub password: Zeroizing<String>,
    /// Target host, if any.
    pub host: Option<String>,
    /// Target port, if any.
    pub port: Option<u16>,
    /// `cmdr:rules`.
    pub rules: Option<String>,
    /// `cmdr:length`.
    pub length: Option<usize>,
    /// `cmdr:endpoint_url`: the one HTTP origin a rotator with the `http`
    /// capability may reach instead of its manifest's (an AWS-compatible
    /// endpoint, a local stand-in). The record's author chooses it, as
    /// they choose the host.
    pub http_origin: Option<Origin>,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("plugin", &self.plugin)
            .field(
                "params",
                &self
                    .params
                    .iter()
                    .map(|(k, v)| (k, if is_secret_param(k) { "[redacted]" } else { v }))
                    .collect::<BTreeMap<_, _>>(),
            )
            .field("login", &self.login)
            .field("password", &"[redacted]")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish()
    }
}

/// Whether a parameter holds a secret (e.g. `cmdr:aws_secret_access_key`):
/// its value is masked wherever the plugin's output is shown, like the
/// passwords, and never printed.
pub fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["secret", "password", "passphrase", "token", "private_key"]
        .iter()
        .any(|word| name.contains(word))
}

/// Why a record cannot be rotated as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamError {
    /// No plugin named or inferable.
    NoPlugin,
    /// No plugin named, and the port or URL scheme is that of a product
    /// keeper ships no plugin for (e.g. `Microsoft SQL Server`).
    NoPluginFor(String),
    /// A port that is not a number in 1..=65535.
    BadPort(String),
    /// A length that is not a positive number.
    BadLength(String),
    /// Required parameters missing.
    Missing(Vec<String>),
    /// `cmdr:endpoint_url` is not an origin (`scheme://host[:port]`).
    BadEndpoint(String),
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::NoPlugin => write!(
                f,
                "the record is not marked for password rotation: add a custom field `cmdr:plugin` naming a plugin \
                 (e.g. `cmdr:plugin=noop` to change the password in the vault only), give it a host field with a \
                 well-known port, or pass --plugin"
            ),
            ParamError::NoPluginFor(product) => write!(
                f,
                "the record's port or URL points at {product}, for which keeper ships no rotation plugin \
                 (docs/plugins.md says why): install one and name it in a custom field `cmdr:plugin`, or pass --plugin"
            ),
            ParamError::BadPort(p) => write!(f, "port {p:?} is not a number between 1 and 65535"),
            ParamError::BadLength(l) => write!(f, "cmdr:length {l:?} is not a positive number"),
            ParamError::BadEndpoint(why) => write!(f, "cmdr:endpoint_url: {why}"),
            ParamError::Missing(names) => write!(
                f,
                "the record lacks what rotation needs: {}",
                names.join(", ")
            ),
        }
    }
}

impl std::error::Error for ParamError {}

/// The record's rotation endpoints, in field order.
pub fn endpoints(record: &RecordView) -> Vec<Endpoint> {
    let cmdr = cmdr_fields(record);
    record
        .custom
        .iter()
        .filter_map(|f| {
            let label = f.label.as_deref()?;
            let rest = label.strip_prefix("cmdr:plugin")?;
            let name = match rest.strip_prefix(':') {
                Some(name) if !name.contains(':') => name,
                None if rest.is_empty() => "",
                _ => return None,
            };
            let plugin = f
                .values
                .first()
                .filter(|v| !v.trim().is_empty())?
                .trim()
                .to_string();
            let description = cmdr.get(&format!("plugin:{name}:description")).cloned();
            Some(Endpoint {
                name: name.to_string(),
                plugin,
                description,
            })
        })
        .collect()
}

/// `cmdr:` custom fields, prefix removed, lower-cased keys, last one wins.
fn cmdr_fields(record: &RecordView) -> BTreeMap<String, String> {
    record
        .custom
        .iter()
        .filter_map(|f| {
            let name = f.label.as_deref()?.strip_prefix("cmdr:")?;
            Some((
                name.to_ascii_lowercase(),
                f.values.first().cloned().unwrap_or_default(),
            ))
        })
        .collect()
}

fn first_value<'a>(fields: impl Iterator<Item = &'a Field>, kind: &str) -> Option<&'a str> {
    fields
        .filter(|f| f.kind == kind)
        .find_map(|f| f.values.first())
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// `{"hostName": "db1", "port": "3306"}` → ("db1", Some("3306")).
fn host_value(json: &str) -> Option<(String, Option<String>)> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let host = value.get("hostName")?.as_str()?.trim().to_string();
    let port = match value.get("port") {
        Some(serde_json::Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_string()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    (!host.is_empty()).then_some((host, port))
}

fn parse_port(text: &str) -> Result<u16, ParamError> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| ParamError::BadPort(text.to_string()))
}

/// Splits `host:port` (and `[v6]:port`); a bare host keeps no port.
fn split_host(text: &str) -> Result<(String, Option<u16>), ParamError> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').map(parse_port).transpose()?;
            return Ok((host.to_string(), port));
        }
    }
    match text.rsplit_once(':') {
        // Two colons or more without brackets: a bare IPv6 address.
        Some((host, port)) if !host.contains(':') => {
            Ok((host.to_string(), Some(parse_port(port)?)))
        }
        _ => Ok((text.to_string(), None)),
    }
}

/// Resolves the plugin and parameters for rotating `record`.
///
/// # Errors
///
/// [`ParamError::NoPlugin`], [`ParamError::BadPort`], [`ParamError::BadLength`].
pub fn resolve(
    record: &RecordView,
    endpoint: Option<&str>,
    overrides: &Overrides,
) -> Result<Resolved, ParamError> {
    let mut params = cmdr_fields(record);
    let all_fields = || record.fields.iter().chain(&record.custom);

    let mut plugin = overrides.plugin.clone().or_else(|| match endpoint {
        Some(name) if !name.is_empty() => params.get(&format!("plugin:{name}")).cloned(),
        _ => params.get("plugin").cloned(),
    });
    plugin = plugin
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());

    let login = first_value(all_fields(), "login")
        .map(str::to_string)
        .or_else(|| params.get("login").cloned())
        .unwrap_or_default();
    let password = Zeroizing::new(
        first_value(all_fields(), "password")
            .map(str::to_string)
            .or_else(|| params.remove("password"))
            .unwrap_or_default(),
    );
    params.remove("password");
    let url = first_value(all_fields(), "url")
        .map(str::to_string)
        .or_else(|| params.get("url").cloned());

    let mut host = params.get("host").cloned();
    let mut port = params.get("port").map(|p| parse_port(p)).transpose()?;
    if let Some((h, p)) = all_fields()
        .filter(|f| f.kind == "host")
        .find_map(|f| f.values.first().and_then(|v| host_value(v)))
    {
        host = Some(h);
        if let Some(p) = p {
            port = Some(parse_port(&p)?);
        }
    }
    if let Some(h) = host.take() {
        let (h, p) = split_host(&h)?;
        host = Some(h);
        port = p.or(port);
    }
    if let Some(h) = &overrides.host {
        let (h, p) = split_host(h)?;
        host = Some(h);
        port = p.or(port);
    }
    if let Some(p) = overrides.port {
        port = Some(p);
    }

    // Inference, only when nothing named a plugin.
    if let Some(url) = url.as_deref().and_then(|u| u.parse::<http::Uri>().ok()) {
        let scheme_plugin = url
            .scheme_str()
            .and_then(|s| {
                SCHEME_TO_PLUGIN
                    .iter()
                    .find(|(scheme, _)| s.eq_ignore_ascii_case(scheme))
            })
            .map(|(_, p)| *p);
        let url_port = url.port_u16();
        if plugin.is_none() {
            plugin = scheme_plugin
                .or_else(|| url_port.and_then(plugin_for_port))
                .map(str::to_string);
        }
        if scheme_plugin.is_some() || url_port.and_then(plugin_for_port).is_some() {
            if host.is_none() {
                host = url.host().map(str::to_string);
            }
            if port.is_none() {
                port = url_port;
            }
        }
    }
    if plugin.is_none() {
        plugin = port.and_then(plugin_for_port).map(str::to_string);
    }
    let Some(plugin) = plugin else {
        let scheme = url.as_deref().and_then(|u| u.parse::<http::Uri>().ok());
        let scheme = scheme.as_ref().and_then(|u| u.scheme_str());
        return Err(UNSHIPPED_TARGETS
            .iter()
            .find(|(p, s, _)| {
                Some(*p) == port || scheme.is_some_and(|scheme| scheme.eq_ignore_ascii_case(s))
            })
            .map_or(ParamError::NoPlugin, |(_, _, product)| {
                ParamError::NoPluginFor((*product).to_string())
            }));
    };

    let rules = params
        .get("rules")
        .cloned()
        .filter(|r| !r.trim().is_empty());
    let length = params
        .get("length")
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ParamError::BadLength(l.clone()))
        })
        .transpose()?;

    let http_origin = params
        .get("endpoint_url")
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())
        .map(|u| Origin::parse(u).map_err(ParamError::BadEndpoint))
        .transpose()?;

    params.insert("login".into(), login.clone());
    if let Some(h) = &host {
        params.insert("host".into(), h.clone());
    }
    if let Some(p) = port {
        params.insert("port".into(), p.to_string());
    }
    if let Some(u) = url {
        params.insert("url".into(), u);
    }
    Ok(Resolved {
        plugin,
        params,
        login,
        password,
        host,
        port,
        rules,
        length,
        http_origin,
    })
}

fn plugin_for_port(port: u16) -> Option<&'static str> {
    PORT_TO_PLUGIN
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, name)| *name)
}

/// Checks the plugin's required parameters, listing every missing one.
///
/// # Errors
///
/// [`ParamError::Missing`].
pub fn check_required(resolved: &Resolved, required: &[String]) -> Result<(), ParamError> {
    let missing: Vec<String> = required
        .iter()
        .filter(|name| match name.as_str() {
            "login" => resolved.login.is_empty(),
            "password" => resolved.password.is_empty(),
            "host" => resolved.host.is_none(),
            "port" => resolved.port.is_none(),
            other => resolved.params.get(other).is_none_or(|v| v.is_empty()),
        })
        .map(|name| match name.as_str() {
            "login" | "password" => format!("{name} (a `{name}` field)"),
            "host" => "host (a host field, `cmdr:host`, or --host)".to_string(),
            other => format!("{other} (custom field `cmdr:{other}`)"),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ParamError::Missing(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: &str, label: Option<&str>, value: &str) -> Field {
        Field {
            kind: kind.into(),
            label: label.map(str::to_string),
            values: vec![value.into()],
        }
    }

    fn record(fields: Vec<Field>, custom: Vec<Field>) -> RecordView {
        RecordView {
            uid: "u".into(),
            title: "t".into(),
            record_type: "login".into(),
            fields,
            custom,
            notes: None,
        }
    }

    fn cmdr(name: &str, value: &str) -> Field {
        field("text", Some(&format!("cmdr:{name}")), value)
    }

    #[test]
    fn cmdr_fields_become_params_and_record_values_override_them() {
        let r = record(
            vec![
                field("login", None, "alice"),
                field("password", None, "pw1"),
                field("host", None, r#"{"hostName":"db1","port":"3307"}"#),
            ],
            vec![
                cmdr("plugin", "mysql"),
                cmdr("host", "ignored"),
                cmdr("port", "1111"),
                cmdr("user_host", "%"),
                cmdr("login", "bob"),
                cmdr("User_Host", "localhost"),
            ],
        );
        let p = resolve(&r, None, &Overrides::default()).expect("resolves");
        assert_eq!(p.plugin, "mysql");
        assert_eq!(p.login, "alice");
        assert_eq!(p.password.as_str(), "pw1");
        assert_eq!((p.host.as_deref(), p.port), (Some("db1"), Some(3307)));
        assert_eq!(
            p.params.get("user_host").map(String::as_str),
            Some("localhost"),
            "last one wins, keys lower-cased"
        );
        assert!(
            !p.params.contains_key("password"),
            "the password is not a parameter"
        );
    }

    #[test]
    fn command_line_overrides_everything() {
        let r = record(
            vec![field("host", None, r#"{"hostName":"db1","port":"3306"}"#)],
            vec![cmdr("plugin", "mysql")],
        );
        let o = Overrides {
            plugin: Some("noop".into()),
            host: Some("db2:4000".into()),
            port: None,
        };
        let p = resolve(&r, None, &o).expect("resolves");
        assert_eq!(
            (p.plugin.as_str(), p.host.as_deref(), p.port),
            ("noop", Some("db2"), Some(4000))
        );
        let o = Overrides {
            port: Some(5000),
            ..o
        };
        assert_eq!(resolve(&r, None, &o).expect("resolves").port, Some(5000));
    }

    #[test]
    fn host_field_port_infers_the_plugin_in_fields_or_custom() {
        for (port, plugin) in PORT_TO_PLUGIN {
            let host = field(
                "host",
                None,
                &format!(r#"{{"hostName":"h","port":"{port}"}}"#),
            );
            assert_eq!(
                resolve(
                    &record(vec![host.clone()], vec![]),
                    None,
                    &Overrides::default()
                )
                .expect("infers")
                .plugin,
                plugin
            );
            assert_eq!(
                resolve(&record(vec![], vec![host]), None, &Overrides::default())
                    .expect("infers")
                    .plugin,
                plugin
            );
        }
        let cli_port = Overrides {
            host: Some("h".into()),
            port: Some(22),
            ..Default::default()
        };
        assert_eq!(
            resolve(&record(vec![], vec![]), None, &cli_port)
                .expect("infers")
                .plugin,
            "ssh",
            "--port is a number, so it infers"
        );
    }

    #[test]
    fn inference_never_names_a_plugin_keeper_does_not_ship() {
        for port in [1433, 1521] {
            let host = field(
                "host",
                None,
                &format!(r#"{{"hostName":"h","port":"{port}"}}"#),
            );
            let err = resolve(&record(vec![host], vec![]), None, &Overrides::default())
                .expect_err("no plugin for it");
            assert!(matches!(err, ParamError::NoPluginFor(_)), "{port}: {err:?}");
            assert!(err.to_string().contains("cmdr:plugin"), "{err}");
        }
        let r = record(
            vec![field("url", None, "oracledb://db.example/app")],
            vec![],
        );
        assert_eq!(
            resolve(&r, None, &Overrides::default()).expect_err("no plugin"),
            ParamError::NoPluginFor("Oracle Database".into())
        );
        // A named plugin still goes to that port.
        let r = record(
            vec![field("host", None, r#"{"hostName":"h","port":"1433"}"#)],
            vec![cmdr("plugin", "my-mssql")],
        );
        assert_eq!(
            resolve(&r, None, &Overrides::default())
                .expect("named")
                .plugin,
            "my-mssql"
        );
    }

    #[test]
    fn url_scheme_wins_over_port_and_fills_the_host() {
        let r = record(
            vec![field("url", None, "postgres://db.example:3306/app")],
            vec![],
        );
        let p = resolve(&r, None, &Overrides::default()).expect("infers");
        assert_eq!(
            (p.plugin.as_str(), p.host.as_deref(), p.port),
            ("postgresql", Some("db.example"), Some(3306))
        );
        let r = record(
            vec![field("url", None, "https://web.example:3306/")],
            vec![],
        );
        assert_eq!(
            resolve(&r, None, &Overrides::default())
                .expect("infers")
                .plugin,
            "mysql"
        );
        let r = record(vec![field("url", None, "https://web.example/")], vec![]);
        assert_eq!(
            resolve(&r, None, &Overrides::default()).unwrap_err(),
            ParamError::NoPlugin
        );
    }

    #[test]
    fn endpoints_select_their_own_plugin() {
        let r = record(
            vec![],
            vec![
                cmdr("plugin", "noop"),
                cmdr("plugin:db", "mysql"),
                cmdr("plugin:db:description", "the database"),
                cmdr("plugin:web", ""),
            ],
        );
        let eps = endpoints(&r);
        assert_eq!(eps.len(), 2);
        assert_eq!(
            eps[1],
            Endpoint {
                name: "db".into(),
                plugin: "mysql".into(),
                description: Some("the database".into())
            }
        );
        assert_eq!(
            resolve(&r, Some("db"), &Overrides::default())
                .expect("resolves")
                .plugin,
            "mysql"
        );
        assert_eq!(
            resolve(&r, None, &Overrides::default())
                .expect("resolves")
                .plugin,
            "noop"
        );
    }

    #[test]
    fn bad_values_and_missing_params_are_clear_errors() {
        let r = record(vec![], vec![cmdr("plugin", "mysql"), cmdr("port", "33o6")]);
        assert_eq!(
            resolve(&r, None, &Overrides::default()).unwrap_err(),
            ParamError::BadPort("33o6".into())
        );
        let r = record(vec![], vec![cmdr("plugin", "mysql"), cmdr("length", "-3")]);
        assert!(matches!(
            resolve(&r, None, &Overrides::default()),
            Err(ParamError::BadLength(_))
        ));
        let r = record(
            vec![field("login", None, "alice")],
            vec![cmdr("plugin", "mysql")],
        );
        let p = resolve(&r, None, &Overrides::default()).expect("resolves");
        let err = check_required(
            &p,
            &[
                "host".into(),
                "login".into(),
                "password".into(),
                "user_host".into(),
            ],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("host (")
                && text.contains("password (")
                && text.contains("cmdr:user_host")
                && !text.contains("login ("),
            "{text}"
        );
    }

    #[test]
    fn ipv6_hosts_split_correctly() {
        assert_eq!(
            split_host("[::1]:3306").expect("ok"),
            ("::1".to_string(), Some(3306))
        );
        assert_eq!(split_host("::1").expect("ok"), ("::1".to_string(), None));
        assert_eq!(
            split_host("db:22").expect("ok"),
            ("db".to_string(), Some(22))
        );
        assert!(split_host("db:99999").is_err());
    }
}
