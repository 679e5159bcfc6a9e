//! Role commands, with Commander's names and flags: enterprise-role
//! (roles with enforcements), enterprise-user --node (where a user sits),
//! msp-copy-role and msp-convert-node.

use clap::{Args, Subcommand};

use super::Format;

/// The role commands (flattened into the top-level command list).
#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// List roles with their enforcements, add one, or change one.
    #[command(name = "enterprise-role", visible_alias = "er")]
    EnterpriseRole(EnterpriseRoleArgs),
    /// Place a user of the MSP on a node.
    #[command(name = "enterprise-user", visible_alias = "eu")]
    EnterpriseUser(EnterpriseUserArgs),
    /// Copy role enforcements from the MSP to managed companies.
    #[command(name = "msp-copy-role")]
    MspCopyRole(MspCopyRoleArgs),
    /// Convert an MSP node (and everything below it) into a managed company.
    #[command(name = "msp-convert-node")]
    MspConvertNode(MspConvertNodeArgs),
}

/// `on` / `off` (also true/false, yes/no, 1/0).
fn on_off(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("expected on or off, not {text:?}")),
    }
}

/// `keeper enterprise-role`.
#[derive(Debug, Args)]
pub struct EnterpriseRoleArgs {
    /// Add a new role named ROLE (names may repeat; refer to such roles by id).
    #[arg(long)]
    pub add: bool,
    /// Node name or id of a new role (default: the root).
    #[arg(long)]
    pub node: Option<String>,
    /// Visible below its node: on or off; also `-vb`.
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub visible_below: Option<bool>,
    /// New users of its node get it: on or off; also `-nu`.
    #[arg(long = "new-user", value_name = "on|off", value_parser = on_off)]
    pub new_user: Option<bool>,
    /// Add a member (e-mail); also `-au`; repeatable.
    #[arg(long = "add-user", value_name = "EMAIL")]
    pub add_users: Vec<String>,
    /// Remove a member (e-mail); also `-ru`; repeatable.
    #[arg(long = "remove-user", value_name = "EMAIL")]
    pub remove_users: Vec<String>,
    /// Set an enforcement, KEY:VALUE (`KEY:` removes it); repeatable.
    #[arg(long = "enforcement", value_name = "KEY:VALUE")]
    pub enforcements: Vec<String>,
    /// The roles of this managed company (name or id) instead of the MSP's.
    #[arg(long, value_name = "MC")]
    pub mc: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Role id or name (none: list every role).
    pub role: Option<String>,
}

/// `keeper enterprise-user`.
#[derive(Debug, Args)]
pub struct EnterpriseUserArgs {
    /// Node name or id to place the user on.
    #[arg(long, required = true)]
    pub node: String,
    /// The user's e-mail.
    pub email: String,
}

/// `keeper msp-copy-role`.
#[derive(Debug, Args)]
pub struct MspCopyRoleArgs {
    /// Role id or name to copy; repeatable.
    #[arg(short, long = "role", value_name = "ROLE", required = true)]
    pub roles: Vec<String>,
    /// Managed company names or ids.
    #[arg(required = true, value_name = "MC")]
    pub mcs: Vec<String>,
}

/// `keeper msp-convert-node`.
#[derive(Debug, Args)]
pub struct MspConvertNodeArgs {
    /// Seats at least (the default: the users moved, at least 1).
    #[arg(short, long, allow_negative_numbers = true)]
    pub seats: Option<i64>,
    /// Plan (default business).
    #[arg(short, long)]
    pub plan: Option<String>,
    /// Node name or id.
    pub node: String,
}
