//! `keeper rotate` (alias `r`) and `keeper audit-log`.

use clap::Args;
use secrecy::SecretString;

use super::{Format, secret};

/// Rotate passwords on their target systems through rotator plugins.
///
/// With no NAME and no --match, lists the rotation endpoints.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Record uid, title, endpoint name (`cmdr:plugin:<name>`) or folder path.
    pub name: Option<String>,
    /// Rotate every record whose text matches this regular expression.
    #[arg(short, long, value_name = "REGEX")]
    pub r#match: Option<String>,
    /// Don't ask before each record matched by --match.
    #[arg(long)]
    pub force: bool,
    /// Use this plugin (overrides `cmdr:plugin`).
    #[arg(long)]
    pub plugin: Option<String>,
    /// Target host (overrides the record).
    #[arg(long)]
    pub host: Option<String>,
    /// Target port (overrides the record).
    #[arg(long)]
    pub port: Option<u16>,
    /// Password rules "[length,]upper,lower,digits,symbols" (overrides `cmdr:rules`).
    #[arg(short, long)]
    pub rules: Option<String>,
    /// Password length (overrides `cmdr:length` and the rules).
    #[arg(short, long)]
    pub length: Option<usize>,
    /// Refuse new passwords shorter than N (default 12, or the config's
    /// `rotation_min_length`), before anything is touched.
    #[arg(long, value_name = "N")]
    pub min_length: Option<usize>,
    /// Use this password instead of generating one (prefer a generated one).
    #[arg(long, env = "KEEPER_NEW_PASSWORD", hide_env_values = true, value_parser = secret)]
    pub password: Option<SecretString>,
    /// Print the new password(s).
    #[arg(long)]
    pub print: bool,
    /// Show what would be rotated (record, plugin, target, rules); touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rotate up to N records at once with --match (1 to 16).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = parse_parallel)]
    pub parallel: usize,
    /// Only resolve pending rotations (of NAME, or of every record); start none.
    #[arg(long)]
    pub resume: bool,
    /// Wait up to SECONDS for a record another keeper process is rotating
    /// (default: report it busy at once and leave it alone).
    #[arg(long, value_name = "SECONDS", value_parser = parse_wait)]
    pub wait: Option<std::time::Duration>,
    /// Trust an SSH host key seen for the first time (recorded in known_hosts).
    #[arg(long)]
    pub accept_host_key: bool,
    /// Output format for results and listings.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Show the rotation audit log.
#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Only entries of this record (uid or title).
    #[arg(long)]
    pub record: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `--wait`: whole seconds, at most a day.
fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<u64>() {
        Ok(n) if n <= 86_400 => Ok(std::time::Duration::from_secs(n)),
        _ => Err("expected a number of seconds from 0 to 86400".into()),
    }
}

/// `--parallel`: 1 to [`crate::rotation::MAX_PARALLEL`] (each running or
/// staged record holds a plugin sandbox, and the sandbox pool is bounded).
fn parse_parallel(text: &str) -> Result<usize, String> {
    let max = crate::rotation::MAX_PARALLEL;
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 1 to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use secrecy::ExposeSecret as _;

    use crate::cli::{Cli, Command};

    #[test]
    fn the_new_password_is_a_secret_from_parsing_on() {
        let cli = Cli::parse_from(["keeper", "rotate", "db", "--password", "Hunter2-secret"]);
        let Some(Command::Rotate(args)) = &cli.command else {
            panic!("not rotate: {:?}", cli.command);
        };
        let password = args.password.as_ref().expect("password");
        assert_eq!(password.expose_secret(), "Hunter2-secret");
        assert!(!format!("{cli:?}").contains("Hunter2"), "Debug hides it");
    }
}
