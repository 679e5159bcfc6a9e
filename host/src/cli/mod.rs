//! Command-line definitions (clap derive). One file per command group; the
//! work of each command lives in `crate::commands`.

pub mod automation;
pub mod distributor;
pub mod membership;
pub mod msp;
pub mod msp_reports;
mod plugin;
pub mod profiles;
pub mod roles;
pub mod rotate;
pub mod secrets_manager;
pub mod sharing;
pub mod vault;

pub use plugin::{NewKind, PluginCommand, PluginNamespace};

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

/// keeper: an encrypted vault with sandboxed WebAssembly rotation and import plugins.
#[derive(Debug, Parser)]
///
/// Also: `keeper FILE` runs the commands in FILE, `keeper -` those on
/// stdin, `keeper "CMD ARGS"` one command line; with no command, the
/// config's `commands` run, else the shell starts.
#[command(name = "keeper", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One command line of a batch, the shell or the config's `commands`
/// (no global options, no program name).
#[derive(Debug, Parser)]
#[command(name = "keeper", no_binary_name = true, disable_version_flag = true)]
pub struct Line {
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Data directory (vault, plugins, caches). Default: ~/.keeper.
    #[arg(
        long,
        global = true,
        env = "KEEPER_DATA_DIR",
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (JSON). Default: <data dir>/config.json.
    #[arg(
        long,
        global = true,
        env = "KEEPER_CONFIG_FILE",
        value_name = "FILE",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
    /// Detailed logging (as -vv; also the config's "debug").
    #[arg(long, global = true, help_heading = "Global options")]
    pub debug: bool,
    /// Batch mode: never prompt, warnings only (also the config's
    /// "batch_mode"). With no command, read commands from stdin.
    #[arg(long, global = true, help_heading = "Global options")]
    pub batch_mode: bool,
    /// Ignore the persistent login session; log in with the master password.
    #[arg(long, global = true, help_heading = "Global options")]
    pub new_login: bool,
    /// Show secrets in `get` and `history` without --unmask (also the
    /// config's "unmask_all").
    #[arg(long, global = true, help_heading = "Global options")]
    pub unmask_all: bool,
    /// Proxy for plugins' HTTP requests: scheme://[user:password@]host:port
    /// (http, https, socks4, socks4a, socks5, socks5h); overrides the
    /// config's "proxy".
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub proxy: Option<String>,
    /// Where the vault is: postgres://user@host:port/db[?sslmode=require]
    /// for a team vault on PostgreSQL, or a file path. Default: the
    /// KEEPER_STORE variable, else the config's "store" (which `init
    /// --store` writes), else <data dir>/vault.db.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub store: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage plugins: list, info, install, remove, package.
    Plugin(PluginNamespace),
    /// Rotate passwords through rotator plugins (staged, verified, crash-safe).
    #[command(visible_alias = "r")]
    Rotate(rotate::RotateArgs),
    /// Show the rotation audit log.
    AuditLog(rotate::AuditLogArgs),
    /// Vault commands (init, add, get, ls, …), at the top level like Commander's.
    #[command(flatten)]
    Vault(vault::VaultCommand),
    /// Secrets Manager applications and their client devices (tokens).
    SecretsManager(secrets_manager::SecretsManagerNamespace),
    /// Client-device profiles in keeper.ini: init, list, export, import, active.
    Profile(profiles::ProfileNamespace),
    /// Read as a client device: list, get, notation (no master password).
    Secret(profiles::SecretNamespace),
    /// Run a command with keeper:// references in its environment replaced.
    Exec(profiles::ExecArgs),
    /// Automation and login commands (shell, run-batch, this-device, …).
    #[command(flatten)]
    Automation(automation::AutomationCommand),
    /// MSP commands (msp-info, msp-add, …) and enterprise-init.
    #[command(flatten)]
    Msp(msp::MspCommand),
    /// A distributor's MSPs: info, msp-info, license.
    #[command(visible_alias = "ds")]
    Distributor(distributor::DistributorNamespace),
    /// Roles with enforcements, users' nodes, msp-copy-role, msp-convert-node.
    #[command(flatten)]
    Roles(roles::RolesCommand),
    /// MSP billing: msp-billing-report, msp-legacy-report, msp-prices.
    #[command(flatten)]
    MspReports(msp_reports::MspReportCommand),
    /// Anything else: a batch file, `-` (stdin) or a quoted command line;
    /// an unknown name is an error with a suggestion.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    #[default]
    Table,
    /// JSON for programs.
    Json,
    /// CSV for spreadsheets.
    Csv,
}

/// Commander's two-letter options, which clap cannot declare as short
/// options, their long forms, and the command they belong to (`-sf` means
/// "shared folder" to Commander's `mkdir`, so it is only rewritten for
/// `download-membership`). `msp-info`'s `-v` / `--verbose` (details) would
/// clash with the global `-v` (log level), so after `msp-info` they mean
/// `--details`.
const TWO_LETTER: &[(&str, &str, Option<&str>)] = &[
    ("-od", "--old-domain", None),
    ("-nd", "--new-domain", None),
    ("-rt", "--record-type", None),
    ("-sf", "--sub-folder", Some("download-membership")),
    ("-sf", "--shared-folder", Some("mkdir")),
    ("-uf", "--user-folder", Some("mkdir")),
    ("-v", "--details", Some("msp-info")),
    ("-v", "--details", Some("mi")),
    ("--verbose", "--details", Some("msp-info")),
    ("--verbose", "--details", Some("mi")),
    ("-v", "--details", Some("distributor")),
    ("-v", "--details", Some("ds")),
    ("--verbose", "--details", Some("distributor")),
    ("--verbose", "--details", Some("ds")),
    ("-mc", "--managed-company", Some("msp-info")),
    ("-mc", "--managed-company", Some("mi")),
    ("-aa", "--add-addon", Some("msp-update")),
    ("-aa", "--add-addon", Some("mu")),
    ("-ra", "--remove-addon", Some("msp-update")),
    ("-ra", "--remove-addon", Some("mu")),
    ("-vb", "--visible-below", Some("enterprise-role")),
    ("-vb", "--visible-below", Some("er")),
    ("-nu", "--new-user", Some("enterprise-role")),
    ("-nu", "--new-user", Some("er")),
    ("-au", "--add-user", Some("enterprise-role")),
    ("-au", "--add-user", Some("er")),
    ("-ru", "--remove-user", Some("enterprise-role")),
    ("-ru", "--remove-user", Some("er")),
];

/// A password argument (`rotate --password`, `add --pass`): kept as a
/// secret from the moment it is parsed.
fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

/// Rewrites Commander's two-letter options (`-od x`, `-nd=y`, `-rt login`,
/// `mkdir -sf`) into their long forms; arguments after `--` are left alone.
pub fn commander_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    use clap::CommandFactory as _;
    let line = Line::command();
    let is_command = |text: &str| {
        line.get_subcommands()
            .any(|c| c.get_name() == text || c.get_all_aliases().any(|a| a == text))
    };
    let mut rest = false;
    // The subcommand: the first argument naming one (a later "mi", e.g. a
    // record title, is a value, not the command).
    let mut command: Option<String> = None;
    args.into_iter()
        .map(|arg| {
            if command.is_none()
                && let Some(text) = arg.to_str()
                && is_command(text)
            {
                command = Some(text.to_string());
                return arg;
            }
            if rest {
                return arg;
            }
            let Some(text) = arg.to_str() else {
                return arg;
            };
            if text == "--" {
                rest = true;
                return arg;
            }
            for (short, long, only) in TWO_LETTER {
                if only.is_some_and(|c| command.as_deref() != Some(c)) {
                    continue;
                }
                if text == *short {
                    return OsString::from(*long);
                }
                if let Some(value) = text.strip_prefix(short).and_then(|t| t.strip_prefix('=')) {
                    return OsString::from(format!("{long}={value}"));
                }
            }
            arg
        })
        .collect()
}

/// The commands a user could have meant by `typed` (closest first, by name
/// or visible alias, one-letter aliases ignored), for "did you mean" hints.
pub fn suggest(typed: &str) -> Vec<String> {
    use clap::CommandFactory as _;
    let cmd = Line::command();
    let mut scored: Vec<(f64, String)> = cmd
        .get_subcommands()
        .filter_map(|c| {
            let best = std::iter::once(c.get_name())
                .chain(c.get_visible_aliases())
                .filter(|name| name.len() > 1)
                .map(|name| strsim::jaro_winkler(typed, name))
                .fold(0.0, f64::max);
            (best > 0.8).then(|| (best, c.get_name().to_string()))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, name)| name).take(3).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_letter_options_become_long_ones() {
        let args = [
            "keeper",
            "import",
            "-od",
            "a.com",
            "-nd=b.com",
            "-sf",
            "--",
            "-od",
        ]
        .map(OsString::from);
        assert_eq!(
            commander_args(args),
            [
                "keeper",
                "import",
                "--old-domain",
                "a.com",
                "--new-domain=b.com",
                "-sf",
                "--",
                "-od"
            ]
            .map(OsString::from)
        );
        let args = ["keeper", "download-membership", "-sf", "flatten"].map(OsString::from);
        assert_eq!(
            commander_args(args),
            ["keeper", "download-membership", "--sub-folder", "flatten"].map(OsString::from)
        );
        let args = ["mkdir", "-sf", "Team", "-uf"].map(OsString::from);
        assert_eq!(
            commander_args(args),
            ["mkdir", "--shared-folder", "Team", "--user-folder"].map(OsString::from)
        );
        let args = ["add", "-rt", "login", "-t", "x"].map(OsString::from);
        assert_eq!(
            commander_args(args),
            ["add", "--record-type", "login", "-t", "x"].map(OsString::from)
        );
    }

    #[test]
    fn msp_flags_are_rewritten_only_for_their_subcommand() {
        let args = ["keeper", "mi", "-v", "-mc", "Acme"].map(OsString::from);
        assert_eq!(
            commander_args(args),
            ["keeper", "mi", "--details", "--managed-company", "Acme"].map(OsString::from)
        );
        // "mi" as a value after another command is not msp-info.
        let args = ["add", "-t", "mi", "-v", "-aa"].map(OsString::from);
        assert_eq!(
            commander_args(args),
            ["add", "-t", "mi", "-v", "-aa"].map(OsString::from)
        );
        let args = ["mu", "x", "-aa", "chat", "-ra", "kcm"].map(OsString::from);
        assert_eq!(
            commander_args(args),
            ["mu", "x", "--add-addon", "chat", "--remove-addon", "kcm"].map(OsString::from)
        );
    }

    #[test]
    fn typos_suggest_commands_not_one_letter_aliases() {
        assert_eq!(
            suggest("run-bach").first().map(String::as_str),
            Some("run-batch")
        );
        assert_eq!(suggest("rotat").first().map(String::as_str), Some("rotate"));
        assert_eq!(
            suggest("this-devise").first().map(String::as_str),
            Some("this-device")
        );
        assert!(!suggest("x").contains(&"r".to_string()));
    }

    #[test]
    fn a_password_given_to_add_is_a_secret_from_parsing_on() {
        use secrecy::ExposeSecret as _;
        let cli = Cli::parse_from(["keeper", "add", "-t", "db", "--pass", "Hunter2-secret"]);
        let Some(Command::Vault(vault::VaultCommand::Add(args))) = &cli.command else {
            panic!("not add: {:?}", cli.command);
        };
        let password = args.password.as_ref().expect("password");
        assert_eq!(password.expose_secret(), "Hunter2-secret");
        assert!(!format!("{cli:?}").contains("Hunter2"), "Debug hides it");
    }

    #[test]
    fn tokens_and_client_ids_may_begin_with_a_hyphen() {
        // One token or client id in 64 begins with `-` (URL-safe base64).
        use secrecy::ExposeSecret as _;
        let line = ["keeper", "profile", "init", "--token", "-Ab_c9", "-p", "ci"];
        let cli = Cli::parse_from(commander_args(line.map(OsString::from)));
        let Some(Command::Profile(profiles::ProfileNamespace {
            command: profiles::ProfileCommand::Init(args),
        })) = &cli.command
        else {
            panic!("not profile init: {:?}", cli.command);
        };
        assert_eq!(
            args.token.as_ref().expect("token").expose_secret(),
            "-Ab_c9"
        );
        assert_eq!(args.profile_name, "ci");

        let line = [
            "keeper",
            "secrets-manager",
            "client",
            "remove",
            "-a",
            "CI",
            "-c",
            "-xY_12345",
        ];
        let cli = Cli::parse_from(commander_args(line.map(OsString::from)));
        let Some(Command::SecretsManager(secrets_manager::SecretsManagerNamespace {
            command:
                secrets_manager::SecretsManagerCommand::Client {
                    command: secrets_manager::ClientCommand::Remove { client, .. },
                },
        })) = &cli.command
        else {
            panic!("not client remove: {:?}", cli.command);
        };
        assert_eq!(client, &["-xY_12345"]);
    }

    #[test]
    fn a_token_and_an_imported_configuration_are_secrets_from_parsing_on() {
        use secrecy::ExposeSecret as _;
        let cli = Cli::parse_from(["keeper", "profile", "init", "-t", "Token-secret-42"]);
        let Some(Command::Profile(profiles::ProfileNamespace {
            command: profiles::ProfileCommand::Init(args),
        })) = &cli.command
        else {
            panic!("not profile init: {:?}", cli.command);
        };
        let token = args.token.as_ref().expect("token");
        assert_eq!(token.expose_secret(), "Token-secret-42");
        assert!(
            !format!("{cli:?}").contains("Token-secret"),
            "Debug hides it"
        );

        let cli = Cli::parse_from(["keeper", "profile", "import", "Config-secret-43"]);
        let Some(Command::Profile(profiles::ProfileNamespace {
            command: profiles::ProfileCommand::Import { configuration, .. },
        })) = &cli.command
        else {
            panic!("not profile import: {:?}", cli.command);
        };
        assert_eq!(configuration.expose_secret(), "Config-secret-43");
        assert!(
            !format!("{cli:?}").contains("Config-secret"),
            "Debug hides it"
        );
    }
}
