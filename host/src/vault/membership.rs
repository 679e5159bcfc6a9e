//! Shared-folder membership in Commander's `shared_folder_membership.json`
//! format (reference §2.8): what `download-membership` writes, what
//! `apply-membership` (and `import`) grant.
//!
//! Applying only touches users and teams that exist in the vault; the
//! others are reported. Without `full_sync` it only adds members (existing
//! members keep their rights); with it, differing rights and folder
//! defaults are updated and members not listed are removed from shared
//! folders and teams (never the current user, and only when at least one
//! listed member was found).
//! Applying the same file twice changes nothing the second time.

use serde::{Deserialize, Serialize};

use super::store::{FolderKind, HolderKind, SharedFolderDefaults};
use super::users::Grantee;
use super::{Result, Vault, VaultError, path};

/// A member's rights in the file: a user (`name` is an e-mail) or a team
/// (`uid` is the team uid, or `name` is not an e-mail).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Permission {
    /// Team uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// E-mail or team name.
    #[serde(default)]
    pub name: String,
    /// May manage users.
    #[serde(default)]
    pub manage_users: bool,
    /// May manage records.
    #[serde(default)]
    pub manage_records: bool,
}

impl Permission {
    /// Whether this is a user (an e-mail and no team uid).
    pub fn is_user(&self) -> bool {
        self.uid.is_none() && looks_like_email(&self.name)
    }
}

/// A shared folder, its default rights and its members.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SharedFolderEntry {
    /// Uid in the vault it was downloaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Backslash path.
    pub path: String,
    /// Default: new members may manage users.
    #[serde(default)]
    pub manage_users: bool,
    /// Default: new members may manage records.
    #[serde(default)]
    pub manage_records: bool,
    /// Default: records may be edited.
    #[serde(default)]
    pub can_edit: bool,
    /// Default: records may be re-shared.
    #[serde(default)]
    pub can_share: bool,
    /// Members.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

impl SharedFolderEntry {
    /// The folder's default rights.
    pub fn defaults(&self) -> SharedFolderDefaults {
        SharedFolderDefaults {
            manage_users: self.manage_users,
            manage_records: self.manage_records,
            can_edit: self.can_edit,
            can_share: self.can_share,
        }
    }
}

/// A team and its members' e-mails.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TeamEntry {
    /// Uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    pub name: String,
    /// Members' e-mails.
    #[serde(default)]
    pub members: Vec<String>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Membership {
    /// Shared folders.
    #[serde(default)]
    pub shared_folders: Vec<SharedFolderEntry>,
    /// Teams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<TeamEntry>,
}

/// What applying did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ApplySummary {
    /// Members granted.
    pub added: usize,
    /// Members whose rights changed (`full_sync`).
    pub updated: usize,
    /// Members removed (`full_sync`).
    pub removed: usize,
    /// Shared folders whose defaults changed (`full_sync`).
    pub defaults_updated: usize,
    /// Users added to teams.
    pub team_members_added: usize,
    /// Users removed from teams (`full_sync`).
    pub team_members_removed: usize,
    /// Folders, users and teams named in the file that the vault lacks, or
    /// that the current user may not manage.
    pub not_applied: Vec<String>,
}

impl ApplySummary {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.added
            + self.updated
            + self.removed
            + self.defaults_updated
            + self.team_members_added
            + self.team_members_removed
            > 0
    }
}

/// `user@domain`-looking text.
pub fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    s.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !s.chars().any(char::is_whitespace)
    })
}

/// Rewrites `user@old` to `user@new` (the domain compared case-insensitively).
pub fn rewrite_domain(email: &str, old: &str, new: &str) -> Option<String> {
    let (user, domain) = email.rsplit_once('@')?;
    domain
        .eq_ignore_ascii_case(old.trim_start_matches('@'))
        .then(|| format!("{user}@{}", new.trim_start_matches('@')))
}

impl Membership {
    /// Rewrites e-mail domains of members and team members (`-od`/`-nd`).
    pub fn rewrite_domains(&mut self, old: &str, new: &str) {
        for sf in &mut self.shared_folders {
            for p in &mut sf.permissions {
                if p.is_user()
                    && let Some(e) = rewrite_domain(&p.name, old, new)
                {
                    p.name = e;
                }
            }
        }
        for t in &mut self.teams {
            for m in &mut t.members {
                if let Some(e) = rewrite_domain(m, old, new) {
                    *m = e;
                }
            }
        }
    }
}

/// What `download-membership --sub-folder` does with a shared folder whose
/// path lies under another shared folder's path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubFolder {
    /// Drop it.
    #[default]
    Ignore,
    /// Rename `A\\B\\C` under `A` to `A\\B - C`.
    Flatten,
}

impl Membership {
    /// Handles shared folders nested under another one's path.
    pub fn nest(&mut self, how: SubFolder) {
        let paths: Vec<Vec<String>> = self
            .shared_folders
            .iter()
            .map(|sf| path::components(&sf.path))
            .collect();
        let parent_of = |names: &[String]| {
            paths
                .iter()
                .filter(|p| p.len() < names.len() && names.starts_with(p))
                .map(Vec::len)
                .min()
        };
        let mut keep = Vec::with_capacity(self.shared_folders.len());
        for (mut sf, names) in std::mem::take(&mut self.shared_folders)
            .into_iter()
            .zip(&paths)
        {
            match (parent_of(names), how) {
                (None, _) => keep.push(sf),
                (Some(_), SubFolder::Ignore) => {}
                (Some(n), SubFolder::Flatten) => {
                    let mut flat = names[..n].to_vec();
                    flat.push(names[n..].join(" - "));
                    sf.path = path::join(&flat);
                    keep.push(sf);
                }
            }
        }
        self.shared_folders = keep;
    }

    /// Puts every shared folder under `folder` (`--folder`).
    pub fn prefix(&mut self, folder: &str) {
        let base = path::components(folder);
        for sf in &mut self.shared_folders {
            let mut names = base.clone();
            names.extend(path::components(&sf.path));
            sf.path = path::join(&names);
        }
    }

    /// Forces members' manage-users / manage-records rights to `value`
    /// (`-p` with `true`, `-r` with `false`).
    pub fn force(&mut self, users: bool, records: bool, value: bool) {
        for p in self
            .shared_folders
            .iter_mut()
            .flat_map(|sf| sf.permissions.iter_mut())
        {
            if users {
                p.manage_users = value;
            }
            if records {
                p.manage_records = value;
            }
        }
    }

    /// Merges a previously written file into this download, as Commander
    /// does: its entries whose uid was downloaded again are replaced, its
    /// other entries with a uid are kept, and entries without a uid are
    /// dropped. Shared folders come before teams.
    pub fn merge_into(mut self, old: Membership) -> Membership {
        let sf_uids: Vec<String> = self
            .shared_folders
            .iter()
            .filter_map(|s| s.uid.clone())
            .collect();
        let team_uids: Vec<String> = self.teams.iter().filter_map(|t| t.uid.clone()).collect();
        let mut shared: Vec<SharedFolderEntry> = old
            .shared_folders
            .into_iter()
            .filter(|s| s.uid.as_ref().is_some_and(|u| !sf_uids.contains(u)))
            .collect();
        shared.append(&mut self.shared_folders);
        let mut teams: Vec<TeamEntry> = old
            .teams
            .into_iter()
            .filter(|t| t.uid.as_ref().is_some_and(|u| !team_uids.contains(u)))
            .collect();
        teams.append(&mut self.teams);
        Membership {
            shared_folders: shared,
            teams,
        }
    }
}

impl Vault {
    /// Every shared folder the user sees with its defaults and members, and
    /// (with `teams`) the tenant's teams with their members.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn membership(&self, teams: bool) -> Result<Membership> {
        let tree = self.folder_tree()?;
        let users = self.users()?;
        let all_teams = self.teams()?;
        let shares = self.store.shares(&self.s.tenant_uid)?;
        let mut out = Membership::default();
        for f in tree.all().filter(|f| f.kind == FolderKind::Shared) {
            let d = f.defaults.unwrap_or_default();
            let mut permissions: Vec<Permission> = shares
                .iter()
                .filter(|s| s.shared_folder_uid == f.uid)
                .filter_map(|s| match s.holder_kind {
                    HolderKind::User => {
                        users
                            .iter()
                            .find(|u| u.uid == s.holder_uid)
                            .map(|u| Permission {
                                uid: None,
                                name: u.email.clone(),
                                manage_users: s.manage_users,
                                manage_records: s.manage_records,
                            })
                    }
                    HolderKind::Team => {
                        all_teams
                            .iter()
                            .find(|t| t.uid == s.holder_uid)
                            .map(|t| Permission {
                                uid: Some(t.uid.clone()),
                                name: t.name.clone(),
                                manage_users: s.manage_users,
                                manage_records: s.manage_records,
                            })
                    }
                })
                .collect();
            permissions.sort_by(|a, b| a.name.cmp(&b.name));
            out.shared_folders.push(SharedFolderEntry {
                uid: Some(f.uid.clone()),
                path: tree.path_of(&f.uid),
                manage_users: d.manage_users,
                manage_records: d.manage_records,
                can_edit: d.can_edit,
                can_share: d.can_share,
                permissions,
            });
        }
        out.shared_folders.sort_by(|a, b| a.path.cmp(&b.path));
        if teams {
            out.teams = all_teams
                .into_iter()
                .map(|t| TeamEntry {
                    uid: Some(t.uid),
                    name: t.name,
                    members: t.members,
                })
                .collect();
            out.teams.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(out)
    }

    /// Grants what a membership file lists to the users and teams that
    /// exist (see the module documentation for `full_sync`).
    ///
    /// # Errors
    ///
    /// Storage errors. Missing folders, users and teams, and folders the
    /// user may not manage, are reported in [`ApplySummary::not_applied`].
    pub fn apply_membership(&mut self, m: &Membership, full_sync: bool) -> Result<ApplySummary> {
        let mut summary = ApplySummary::default();
        let me = self.s.user_uid.clone();
        for entry in &m.shared_folders {
            let tree = self.folder_tree()?;
            let names = path::components(&entry.path);
            let Some(uid) = tree
                .walk(&names)
                .filter(|u| tree.get(u).is_some_and(|f| f.kind == FolderKind::Shared))
                .map(str::to_string)
            else {
                summary
                    .not_applied
                    .push(format!("shared folder {}", entry.path));
                continue;
            };
            match self.manageable_shared_folder(&uid) {
                Ok(_) => {}
                Err(VaultError::Denied(why)) => {
                    summary.not_applied.push(format!("{}: {why}", entry.path));
                    continue;
                }
                Err(e) => return Err(e),
            }
            let current: Vec<(String, bool, bool)> = self
                .store
                .shares(&self.s.tenant_uid)?
                .into_iter()
                .filter(|s| s.shared_folder_uid == uid)
                .map(|s| (s.holder_uid, s.manage_users, s.manage_records))
                .collect();
            let mut listed: Vec<String> = Vec::new();
            for p in &entry.permissions {
                let (grantee, holder) = if p.is_user() {
                    match self.find_user(&p.name) {
                        Ok(u) => (Grantee::User(u.email), u.uid),
                        Err(_) => {
                            summary.not_applied.push(format!("user {}", p.name));
                            continue;
                        }
                    }
                } else {
                    let key = p.uid.as_deref().unwrap_or(&p.name);
                    match self.find_team(key).or_else(|_| self.find_team(&p.name)) {
                        Ok(t) => (Grantee::Team(t.uid.clone()), t.uid),
                        Err(_) => {
                            summary.not_applied.push(format!("team {}", p.name));
                            continue;
                        }
                    }
                };
                listed.push(holder.clone());
                if holder == me {
                    continue;
                }
                let change = match current.iter().find(|(h, _, _)| *h == holder) {
                    None => Some(true),
                    Some((_, mu, mr))
                        if full_sync && (*mu != p.manage_users || *mr != p.manage_records) =>
                    {
                        Some(false)
                    }
                    Some(_) => None,
                };
                let Some(new) = change else { continue };
                match self.share_folder(
                    &uid,
                    &grantee,
                    Some(p.manage_users),
                    Some(p.manage_records),
                ) {
                    Ok(()) if new => summary.added += 1,
                    Ok(()) => summary.updated += 1,
                    // E.g. a team the current user is not a member of.
                    Err(VaultError::Denied(why)) => {
                        summary.not_applied.push(format!("{}: {why}", entry.path));
                    }
                    // A user recorded as moving into a managed company.
                    Err(e @ VaultError::Moving { .. }) => {
                        summary.not_applied.push(format!("{}: {e}", entry.path));
                    }
                    Err(e) => return Err(e),
                }
            }
            if !full_sync {
                continue;
            }
            let defaults = entry.defaults();
            if tree.get(&uid).and_then(|f| f.defaults) != Some(defaults) {
                self.set_shared_folder_defaults(&uid, defaults)?;
                summary.defaults_updated += 1;
            }
            if listed.is_empty() {
                continue;
            }
            let teams = self.teams()?;
            for (holder, _, _) in &current {
                if *holder == me || listed.contains(holder) {
                    continue;
                }
                let grantee = if teams.iter().any(|t| t.uid == *holder) {
                    Grantee::Team(holder.clone())
                } else {
                    Grantee::User(holder.clone())
                };
                self.unshare_folder(&uid, &grantee)?;
                summary.removed += 1;
            }
        }
        for team in &m.teams {
            let key = team.uid.as_deref().unwrap_or(&team.name);
            let Ok(t) = self.find_team(key).or_else(|_| self.find_team(&team.name)) else {
                summary.not_applied.push(format!("team {}", team.name));
                continue;
            };
            let mut listed = 0;
            let mut denied = false;
            for email in &team.members {
                if t.members.iter().any(|m| m.eq_ignore_ascii_case(email)) {
                    listed += 1;
                    continue;
                }
                if self.find_user(email).is_err() {
                    summary.not_applied.push(format!("user {email}"));
                    continue;
                }
                listed += 1;
                match self.add_team_member(&t.uid, email) {
                    Ok(()) => summary.team_members_added += 1,
                    Err(VaultError::Denied(why)) => {
                        summary.not_applied.push(why);
                        denied = true;
                        break;
                    }
                    // A user recorded as moving into a managed company.
                    Err(e @ VaultError::Moving { .. }) => {
                        summary.not_applied.push(format!("team {}: {e}", t.name));
                    }
                    Err(e) => return Err(e),
                }
            }
            // As for folders: never the current user, and only when the
            // file's list matched someone (an empty or all-unknown list
            // would otherwise empty the team).
            if !full_sync || denied || listed == 0 {
                continue;
            }
            let me_email = self.find_user(&me)?.email;
            for member in &t.members {
                if member.eq_ignore_ascii_case(&me_email)
                    || team.members.iter().any(|m| m.eq_ignore_ascii_case(member))
                {
                    continue;
                }
                match self.remove_team_member(&t.uid, member) {
                    Ok(()) => summary.team_members_removed += 1,
                    Err(VaultError::Denied(why)) => {
                        summary.not_applied.push(why);
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(summary)
    }

    /// Changes a shared folder's default rights.
    fn set_shared_folder_defaults(
        &mut self,
        uid: &str,
        defaults: SharedFolderDefaults,
    ) -> Result<()> {
        let mut row = self
            .store
            .folders(&self.s.tenant_uid)?
            .into_iter()
            .find(|f| f.uid == uid)
            .ok_or_else(|| VaultError::NotFound {
                kind: "folder",
                name: uid.to_string(),
            })?;
        row.defaults = defaults;
        row.revision += 1;
        self.write(|tx, _| tx.put_folder(&row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commanders_file_format_reads_and_writes() {
        let text = r#"{"shared_folders":[{"uid":"x","path":"A\\B","manage_users":false,"manage_records":true,
            "can_edit":false,"can_share":false,"permissions":[{"name":"user@x.com","manage_users":true,"manage_records":true},
            {"uid":"t1","name":"Team","manage_users":false,"manage_records":false}]}],
            "teams":[{"uid":"t1","name":"Team","members":["a@x.com"]}]}"#;
        let mut m: Membership = serde_json::from_str(text).expect("parses");
        assert!(m.shared_folders[0].permissions[0].is_user());
        assert!(!m.shared_folders[0].permissions[1].is_user());
        m.rewrite_domains("X.com", "y.org");
        assert_eq!(m.shared_folders[0].permissions[0].name, "user@y.org");
        assert_eq!(m.teams[0].members, ["a@y.org"]);
        let back: Membership =
            serde_json::from_str(&serde_json::to_string(&m).expect("writes")).expect("reads");
        assert_eq!(back, m);
        assert_eq!(rewrite_domain("a@other.com", "x.com", "y.org"), None);
        assert!(!looks_like_email("Team Alpha"));
    }

    fn entry(uid: Option<&str>, p: &str) -> SharedFolderEntry {
        SharedFolderEntry {
            uid: uid.map(str::to_string),
            path: p.into(),
            ..SharedFolderEntry::default()
        }
    }

    #[test]
    fn nested_shared_folders_are_ignored_or_flattened() {
        let m = Membership {
            shared_folders: vec![entry(None, "A"), entry(None, "A\\B\\C"), entry(None, "D")],
            teams: Vec::new(),
        };
        let mut ignore = m.clone();
        ignore.nest(SubFolder::Ignore);
        let paths = |m: &Membership| {
            m.shared_folders
                .iter()
                .map(|s| s.path.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(paths(&ignore), ["A", "D"]);
        let mut flat = m.clone();
        flat.nest(SubFolder::Flatten);
        assert_eq!(paths(&flat), ["A", "A\\B - C", "D"]);
        flat.prefix("Imported");
        assert_eq!(paths(&flat)[0], "Imported\\A");
    }

    #[test]
    fn merging_keeps_other_uids_and_drops_uidless_entries() {
        let old = Membership {
            shared_folders: vec![
                entry(Some("1"), "Old one"),
                entry(Some("2"), "Stale"),
                entry(None, "No uid"),
            ],
            teams: Vec::new(),
        };
        let new = Membership {
            shared_folders: vec![entry(Some("2"), "Fresh")],
            teams: Vec::new(),
        };
        let merged = new.merge_into(old);
        let paths: Vec<&str> = merged
            .shared_folders
            .iter()
            .map(|s| s.path.as_str())
            .collect();
        assert_eq!(paths, ["Old one", "Fresh"]);
    }
}
