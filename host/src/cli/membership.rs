//! `download-membership` and `apply-membership`: shared-folder membership
//! in Commander's `shared_folder_membership.json`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The default membership file.
pub const DEFAULT_FILE: &str = "shared_folder_membership.json";

/// Where memberships come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MembershipSource {
    /// This vault's shared folders and teams.
    Keeper,
    /// A LastPass account's shared folders (through the lastpass plugin).
    Lastpass,
}

/// `-sf/--sub-folder`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SubFolderArg {
    /// Drop shared folders nested under another shared folder's path.
    #[default]
    Ignore,
    /// Rename `A\B\C` under `A` to `A\B - C`.
    Flatten,
}

/// `u` / `r` letters of `-p` and `-r`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserRecordLetters {
    /// `u`: manage users.
    pub users: bool,
    /// `r`: manage records.
    pub records: bool,
}

/// Parses `u` / `r` letters.
///
/// # Errors
///
/// Any other letter.
pub fn parse_letters(s: &str) -> Result<UserRecordLetters, String> {
    let mut out = UserRecordLetters::default();
    for c in s.chars() {
        match c.to_ascii_lowercase() {
            'u' => out.users = true,
            'r' => out.records = true,
            _ => {
                return Err(format!(
                    "unknown letter {c:?}: use u (manage users) and/or r (manage records)"
                ));
            }
        }
    }
    Ok(out)
}

/// `keeper download-membership`.
#[derive(Debug, Args)]
pub struct DownloadMembershipArgs {
    /// Where the memberships come from.
    #[arg(long, value_enum)]
    pub source: MembershipSource,
    /// Put every shared folder path under this folder.
    #[arg(long)]
    pub folder: Option<String>,
    /// Force these member rights on: u (manage users), r (manage records).
    #[arg(short, long, value_name = "LETTERS", value_parser = parse_letters)]
    pub permissions: Option<UserRecordLetters>,
    /// Force these member rights off: u, r.
    #[arg(short, long, value_name = "LETTERS", value_parser = parse_letters)]
    pub restrictions: Option<UserRecordLetters>,
    /// Shared folders only, no teams.
    #[arg(long)]
    pub folders_only: bool,
    /// Rewrite members' e-mail domain from this one (`-od`; with --new-domain).
    #[arg(long, value_name = "DOMAIN", requires = "new_domain")]
    pub old_domain: Option<String>,
    /// ... to this one (`-nd`).
    #[arg(long, value_name = "DOMAIN", requires = "old_domain")]
    pub new_domain: Option<String>,
    /// Shared folders under another shared folder's path (`-sf`).
    #[arg(long, value_enum, default_value_t)]
    pub sub_folder: SubFolderArg,
    /// LastPass account e-mail (`--source lastpass`; its master password
    /// from KEEPER_LASTPASS_PASSWORD or a prompt).
    #[arg(long, value_name = "EMAIL")]
    pub lastpass_user: Option<String>,
    /// LastPass server (the EU region, or a test server).
    #[arg(long, value_name = "URL")]
    pub lastpass_server: Option<String>,
    /// One-time code for LastPass multi-factor login.
    #[arg(long)]
    pub otp: Option<String>,
    /// Output file; an existing one is merged (Commander's rules).
    #[arg(default_value = DEFAULT_FILE)]
    pub name: PathBuf,
}

/// `keeper apply-membership`.
#[derive(Debug, Args)]
pub struct ApplyMembershipArgs {
    /// Also update differing rights and folder defaults, and remove members
    /// the file does not list (never you).
    #[arg(long)]
    pub full_sync: bool,
    /// The membership file.
    #[arg(default_value = DEFAULT_FILE)]
    pub name: PathBuf,
}
