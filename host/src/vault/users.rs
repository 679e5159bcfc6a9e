//! Users, teams, tenants and shared-folder membership. Each user has their
//! own master password and X25519 key pair; team keys are sealed to each
//! member; shared-folder keys are sealed to member users or wrapped under a
//! member team's key.

use serde::Serialize;

use super::crypto::{self, KdfParams, Key};
use super::store::{FolderKind, HolderKind, ShareRow, TeamMemberRow, TeamRow, TenantRow};
use super::tenant_move::{check_link, moving_into};
use super::{Result, SecretString, Vault, VaultError, ad, new_user_row, now_ms, validate_email};
use crate::runtime::text::escaped;

/// A user (no keys).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserInfo {
    /// Uid.
    pub uid: String,
    /// E-mail.
    pub email: String,
    /// Tenant.
    pub tenant_uid: String,
}

/// A team and its members' e-mails.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TeamInfo {
    /// Uid.
    pub uid: String,
    /// Name.
    pub name: String,
    /// Members' e-mails.
    pub members: Vec<String>,
}

/// Who gets access to a shared folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A user, by e-mail.
    User(String),
    /// A team, by name or uid.
    Team(String),
}

/// A member of a shared folder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FolderMember {
    /// E-mail or team name.
    pub name: String,
    /// "user" or "team".
    pub kind: &'static str,
    /// May manage users.
    pub manage_users: bool,
    /// May manage records.
    pub manage_records: bool,
}

/// The rights one holder of a record's key (its owner, or a shared folder
/// it is in) gives on the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRights {
    /// User uid or shared-folder uid.
    pub holder_uid: String,
    /// Holders through this key may edit.
    pub can_edit: bool,
    /// Holders through this key may re-share.
    pub can_share: bool,
}

impl Vault {
    /// Users of the current tenant.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        Ok(self
            .store
            .users(&self.s.tenant_uid)?
            .into_iter()
            .map(|u| UserInfo {
                uid: u.uid,
                email: u.email,
                tenant_uid: u.tenant_uid,
            })
            .collect())
    }

    /// A user of the current tenant by e-mail or uid.
    ///
    /// # Errors
    ///
    /// [`VaultError::UnknownUser`].
    pub fn find_user(&self, who: &str) -> Result<UserInfo> {
        let who_l = who.trim().to_lowercase();
        self.users()?
            .into_iter()
            .find(|u| u.email == who_l || u.uid == who)
            .ok_or_else(|| VaultError::UnknownUser(who.to_string()))
    }

    /// [`Vault::find_user`] for a grant (a share, a team): a user recorded
    /// as moving into a managed company is refused, since the link would
    /// cross the company's boundary once they have moved.
    ///
    /// # Errors
    ///
    /// [`VaultError::UnknownUser`]; [`VaultError::Moving`].
    pub fn find_grantee(&self, who: &str) -> Result<UserInfo> {
        let user = self.find_user(who)?;
        if let Some(row) = self
            .store
            .users(&self.s.tenant_uid)?
            .iter()
            .find(|u| u.uid == user.uid)
        {
            super::tenant_move::refuse_moving(self.store.as_ref(), row)?;
        }
        Ok(user)
    }

    /// Adds a user with their own master password to the current tenant.
    ///
    /// # Errors
    ///
    /// [`VaultError::Exists`], [`VaultError::Invalid`] (also for the
    /// e-mail of a user moving into the tenant).
    pub fn add_user(
        &mut self,
        email: &str,
        password: &SecretString,
        params: &KdfParams,
    ) -> Result<UserInfo> {
        use secrecy::ExposeSecret as _;
        validate_email(email)?;
        if password.expose_secret().is_empty() {
            return Err(VaultError::Invalid(
                "the master password must not be empty".into(),
            ));
        }
        // A user moving into this tenant (a managed company) has the e-mail
        // already: a second one would keep them from moving.
        if moving_into(self.store.as_ref(), &self.s.tenant_uid)?
            .iter()
            .any(|u| u.email.eq_ignore_ascii_case(email.trim()))
        {
            return Err(moving_email(email));
        }
        let (row, _, _) = new_user_row(&self.s.tenant_uid, email, password, params)?;
        self.write(|tx, s| {
            // Checked again here: a conversion committed since the check.
            if moving_into(&*tx, &s.tenant_uid)?
                .iter()
                .any(|u| u.email.eq_ignore_ascii_case(&row.email))
            {
                return Err(moving_email(email));
            }
            tx.insert_user(&row)
        })?;
        Ok(UserInfo {
            uid: row.uid,
            email: row.email,
            tenant_uid: row.tenant_uid,
        })
    }

    /// Teams of the current tenant with their members.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn teams(&self) -> Result<Vec<TeamInfo>> {
        let users = self.users()?;
        let members = self.store.team_members(&self.s.tenant_uid)?;
        Ok(self
            .store
            .teams(&self.s.tenant_uid)?
            .into_iter()
            .map(|t| {
                let mut emails: Vec<String> = members
                    .iter()
                    .filter(|m| m.team_uid == t.uid)
                    .filter_map(|m| {
                        users
                            .iter()
                            .find(|u| u.uid == m.user_uid)
                            .map(|u| u.email.clone())
                    })
                    .collect();
                emails.sort();
                TeamInfo {
                    uid: t.uid,
                    name: t.name,
                    members: emails,
                }
            })
            .collect())
    }

    /// A team by name (case-insensitive) or uid.
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`].
    pub fn find_team(&self, who: &str) -> Result<TeamInfo> {
        self.teams()?
            .into_iter()
            .find(|t| t.uid == who || t.name.eq_ignore_ascii_case(who))
            .ok_or_else(|| VaultError::NotFound {
                kind: "team",
                name: who.to_string(),
            })
    }

    /// Creates a team; the current user and `members` (e-mails) join it.
    ///
    /// # Errors
    ///
    /// [`VaultError::Exists`], [`VaultError::UnknownUser`],
    /// [`VaultError::Moving`].
    pub fn add_team(&mut self, name: &str, members: &[&str]) -> Result<TeamInfo> {
        let name = name.trim();
        if name.is_empty() {
            return Err(VaultError::Invalid("a team name must not be empty".into()));
        }
        let mut users = vec![self.find_user(&self.s.user_uid)?];
        for m in members {
            let u = self.find_grantee(m)?;
            if !users.iter().any(|x| x.uid == u.uid) {
                users.push(u);
            }
        }
        let team = TeamRow {
            uid: crypto::new_uid(),
            tenant_uid: self.s.tenant_uid.clone(),
            name: name.into(),
            created: now_ms(),
        };
        let key = Key::generate();
        self.write(|tx, s| {
            let mut rows = Vec::with_capacity(users.len());
            for u in &users {
                // Checked again here: a move recorded since `find_grantee`.
                rows.extend(check_link(&*tx, s, Some(&u.uid))?);
            }
            tx.insert_team(&team)?;
            for u in &users {
                let pk = public_key_of(&rows, &u.uid)?;
                tx.put_team_member(&TeamMemberRow {
                    team_uid: team.uid.clone(),
                    user_uid: u.uid.clone(),
                    wrapped_key: crypto::seal_key_to(&pk, &key, &ad::team_key(&team.uid, &u.uid)),
                })?;
            }
            Ok(())
        })?;
        self.s.ring.teams.insert(team.uid.clone(), key);
        self.find_team(&team.uid)
    }

    /// Adds a user to a team the current user belongs to.
    ///
    /// # Errors
    ///
    /// [`VaultError::Denied`] when the current user is not a member;
    /// [`VaultError::Moving`].
    pub fn add_team_member(&mut self, team: &str, email: &str) -> Result<()> {
        let team = self.find_team(team)?;
        let user = self.find_grantee(email)?;
        let key = self.s.ring.teams.get(&team.uid).cloned().ok_or_else(|| {
            VaultError::Denied(format!("you are not a member of team {}", team.name))
        })?;
        self.write(|tx, s| {
            let rows: Vec<_> = check_link(&*tx, s, Some(&user.uid))?.into_iter().collect();
            let pk = public_key_of(&rows, &user.uid)?;
            tx.put_team_member(&TeamMemberRow {
                team_uid: team.uid.clone(),
                user_uid: user.uid.clone(),
                wrapped_key: crypto::seal_key_to(&pk, &key, &ad::team_key(&team.uid, &user.uid)),
            })
        })
    }

    /// Removes a user from a team the current user belongs to. The current
    /// user cannot remove themselves (a team always keeps a member who
    /// holds its key).
    ///
    /// # Errors
    ///
    /// [`VaultError::Denied`] when the current user is not a member,
    /// [`VaultError::Invalid`] for the current user,
    /// [`VaultError::NotFound`] when the user is not in the team.
    pub fn remove_team_member(&mut self, team: &str, email: &str) -> Result<()> {
        let team = self.find_team(team)?;
        let user = self.find_user(email)?;
        if !self.s.ring.teams.contains_key(&team.uid) {
            return Err(VaultError::Denied(format!(
                "you are not a member of team {}",
                team.name
            )));
        }
        if user.uid == self.s.user_uid {
            return Err(VaultError::Invalid(format!(
                "you cannot remove yourself from team {}",
                team.name
            )));
        }
        if !team
            .members
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&user.email))
        {
            return Err(VaultError::NotFound {
                kind: "team member",
                name: format!("{} in {}", user.email, team.name),
            });
        }
        self.write(|tx, _| tx.delete_team_member(&team.uid, &user.uid))
    }

    /// Grants a user or team access to a shared folder, or updates its
    /// permissions (`None` keeps the current value, or the folder's default
    /// for a new member).
    ///
    /// # Errors
    ///
    /// [`VaultError::Denied`] without manage-users on the folder;
    /// [`VaultError::Moving`] for a user recorded as moving;
    /// [`VaultError::Invalid`] when the folder is not a shared folder.
    pub fn share_folder(
        &mut self,
        folder_uid: &str,
        grantee: &Grantee,
        manage_users: Option<bool>,
        manage_records: Option<bool>,
    ) -> Result<()> {
        let (sf, key, defaults) = self.manageable_shared_folder(folder_uid)?;
        // A user's copy is sealed inside the write, to the public key the
        // transaction reads: one read before it could be a key another
        // process has since replaced (enterprise-rekey), and a share
        // sealed to it would keep the user from ever unlocking again.
        let (holder_uid, holder_kind, team_wrapped) = match grantee {
            Grantee::User(email) => (self.find_grantee(email)?.uid, HolderKind::User, None),
            Grantee::Team(name) => {
                let team = self.find_team(name)?;
                let team_key = self.s.ring.teams.get(&team.uid).ok_or_else(|| {
                    VaultError::Denied(format!("you are not a member of team {}", team.name))
                })?;
                let wrapped = team_key.wrap(&key, &ad::shared_folder_key(&sf, &team.uid));
                (team.uid, HolderKind::Team, Some(wrapped))
            }
        };
        let existing = self
            .store
            .shares(&self.s.tenant_uid)?
            .into_iter()
            .find(|s| s.shared_folder_uid == sf && s.holder_uid == holder_uid);
        let row = ShareRow {
            shared_folder_uid: sf.clone(),
            holder_uid,
            holder_kind,
            wrapped_key: team_wrapped.clone().unwrap_or_default(),
            manage_users: manage_users
                .or(existing.as_ref().map(|e| e.manage_users))
                .unwrap_or(defaults.manage_users),
            manage_records: manage_records
                .or(existing.as_ref().map(|e| e.manage_records))
                .unwrap_or(defaults.manage_records),
            parent_uid: existing.and_then(|e| e.parent_uid),
        };
        let grantee = (row.holder_kind == HolderKind::User).then(|| row.holder_uid.clone());
        self.write(|tx, s| {
            // Checked again here: a move recorded since `find_grantee`, or
            // the current user's own.
            check_link(&*tx, s, grantee.as_deref())?;
            let mut row = row.clone();
            if let Some(uid) = &grantee {
                let pk = public_key_of(&tx.users(&s.tenant_uid)?, uid)?;
                row.wrapped_key = crypto::seal_key_to(&pk, &key, &ad::shared_folder_key(&sf, uid));
            }
            tx.put_share(&row)
        })
    }

    /// Removes a user's or team's access to a shared folder.
    ///
    /// # Errors
    ///
    /// As [`Vault::share_folder`].
    pub fn unshare_folder(&mut self, folder_uid: &str, grantee: &Grantee) -> Result<()> {
        let (sf, _, _) = self.manageable_shared_folder(folder_uid)?;
        let holder = match grantee {
            Grantee::User(e) => self.find_user(e)?.uid,
            Grantee::Team(t) => self.find_team(t)?.uid,
        };
        self.write(|tx, _| tx.delete_share(&sf, &holder))
    }

    /// Members of a shared folder.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn folder_members(&self, folder_uid: &str) -> Result<Vec<FolderMember>> {
        let users = self.users()?;
        let teams = self.teams()?;
        let mut out: Vec<FolderMember> = self
            .store
            .shares(&self.s.tenant_uid)?
            .into_iter()
            .filter(|s| s.shared_folder_uid == folder_uid)
            .map(|s| FolderMember {
                name: match s.holder_kind {
                    HolderKind::User => users
                        .iter()
                        .find(|u| u.uid == s.holder_uid)
                        .map(|u| u.email.clone()),
                    HolderKind::Team => teams
                        .iter()
                        .find(|t| t.uid == s.holder_uid)
                        .map(|t| t.name.clone()),
                }
                .unwrap_or_else(|| s.holder_uid.clone()),
                kind: s.holder_kind.as_str(),
                manage_users: s.manage_users,
                manage_records: s.manage_records,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Sets `can_edit` / `can_share` of records inside a shared folder
    /// (`record = None`: every record in it).
    ///
    /// # Errors
    ///
    /// As [`Vault::share_folder`].
    pub fn set_record_permissions(
        &mut self,
        folder_uid: &str,
        record: Option<&str>,
        can_edit: Option<bool>,
        can_share: Option<bool>,
    ) -> Result<usize> {
        let (sf, _, _) = self.manageable_shared_folder(folder_uid)?;
        self.write(|tx, _| {
            let mut n = 0;
            let uids: Vec<String> = match record {
                Some(r) => vec![r.to_string()],
                None => tx
                    .keyed_records(std::slice::from_ref(&sf))?
                    .into_iter()
                    .map(|k| k.record.uid)
                    .collect(),
            };
            for uid in uids {
                if let Some(mut key) = tx
                    .record_keys(&uid)?
                    .into_iter()
                    .find(|k| k.holder_uid == sf)
                {
                    key.can_edit = can_edit.unwrap_or(key.can_edit);
                    key.can_share = can_share.unwrap_or(key.can_share);
                    tx.put_record_key(&key)?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Who holds a record's key (its owner, the shared folders it is in) and
    /// the rights each gives.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn record_rights(&self, record_uid: &str) -> Result<Vec<RecordRights>> {
        Ok(self
            .store
            .record_keys(record_uid)?
            .into_iter()
            .map(|k| RecordRights {
                holder_uid: k.holder_uid,
                can_edit: k.can_edit,
                can_share: k.can_share,
            })
            .collect())
    }

    /// A shared folder the current user may manage: `(uid, key, defaults)`.
    pub(super) fn manageable_shared_folder(
        &self,
        folder_uid: &str,
    ) -> Result<(String, Key, super::SharedFolderDefaults)> {
        let tree = self.folder_tree()?;
        let folder = tree.get(folder_uid).ok_or_else(|| VaultError::NotFound {
            kind: "folder",
            name: folder_uid.to_string(),
        })?;
        if folder.kind != FolderKind::Shared {
            return Err(VaultError::Invalid(format!(
                "{} is not a shared folder",
                folder.name
            )));
        }
        let key = self
            .s
            .ring
            .shared_folders
            .get(&folder.uid)
            .cloned()
            .ok_or_else(|| VaultError::Denied(format!("no access to {}", folder.name)))?;
        let can_manage = folder.owner_uid == self.s.user_uid
            || self.store.shares(&self.s.tenant_uid)?.iter().any(|s| {
                s.shared_folder_uid == folder.uid
                    && s.manage_users
                    && (s.holder_uid == self.s.user_uid
                        || self.s.ring.teams.contains_key(&s.holder_uid))
            });
        if !can_manage {
            return Err(VaultError::Denied(format!(
                "you may not manage users of {}",
                folder.name
            )));
        }
        Ok((folder.uid.clone(), key, folder.defaults.unwrap_or_default()))
    }

    /// Every tenant in the store.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub fn tenants(&self) -> Result<Vec<TenantRow>> {
        self.store.tenants()
    }

    /// Creates a tenant managed by the current one (an MSP's managed
    /// company) with its first user, who has their own keys.
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for a bad e-mail or empty name.
    pub fn create_tenant(
        &mut self,
        name: &str,
        admin_email: &str,
        admin_password: &SecretString,
        params: &KdfParams,
    ) -> Result<TenantRow> {
        validate_email(admin_email)?;
        if name.trim().is_empty() {
            return Err(VaultError::Invalid(
                "a tenant name must not be empty".into(),
            ));
        }
        let mut tenant = TenantRow {
            uid: crypto::new_uid(),
            name: name.trim().to_string(),
            parent_uid: Some(self.s.tenant_uid.clone()),
            created: now_ms(),
            creator_uid: None,
        };
        let (user, _, _) = new_user_row(&tenant.uid, admin_email, admin_password, params)?;
        tenant.creator_uid = Some(user.uid.clone());
        self.write(|tx, _| {
            tx.insert_tenant(&tenant)?;
            tx.insert_user(&user)
        })?;
        Ok(tenant)
    }
}

/// `user add`'s refusal of the e-mail of a user moving into the company.
fn moving_email(email: &str) -> VaultError {
    VaultError::Invalid(format!(
        "{} is moving into this company (msp-convert-node) and joins it at their next login; \
         another user of that e-mail cannot be added",
        escaped(email.trim())
    ))
}

fn public_key_of(users: &[super::store::UserRow], uid: &str) -> Result<[u8; 32]> {
    let user = users
        .iter()
        .find(|u| u.uid == uid)
        .ok_or_else(|| VaultError::UnknownUser(uid.to_string()))?;
    user.public_key
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::Corrupted(format!("public key of {} is malformed", user.email)))
}
