//! Finishing a user's move into a managed company (`msp-convert-node`).
//! A user's data key is wrapped under their password with their tenant in
//! the associated data, so no admin can move a user's key header to
//! another tenant: `msp-convert-node` only records the move (the user's
//! `enterprise_users` row names the company's tenant and a node of it),
//! and the user's next password unlock, which holds the data key, re-wraps
//! it for the new tenant and moves the user with what they own, in one
//! transaction. Inside that transaction the move is checked again: only
//! into a managed company of the user's own MSP (`managed_companies`), onto
//! a node of that company, never an enterprise admin nor a key-held
//! identity, never over a uniqueness rule of the company (an e-mail, an
//! application name), and only if the user row is still the one the
//! password opened. A move that is not honoured leaves the user where they
//! are and says why; the unlock itself always goes on.
//!
//! Until then the user is *moving*: [`pending_move`] says into which
//! company, and commands of others that would link them to their old
//! tenant (a share, a team, an MSP role) refuse them with
//! [`super::VaultError::Moving`], and so do such commands of the moving
//! user themselves ([`check_link`], inside each write). The move checks
//! the links again ([`crossing_links`]): one made across the boundary
//! meanwhile keeps the user where they are, and the notice names it.

use std::collections::HashSet;

use super::crypto::Key;
use super::store::{StoreRead, StoreTx, UserRow};
use super::tenancy::is_key_held;
use super::{LockedVault, Result, Vault, ad, user_checksum};
use crate::runtime::text::escaped;

/// What the unlock tells the user about a recorded move.
enum Outcome {
    /// No move recorded.
    None,
    /// Moved into company `mc` of MSP `msp`.
    Moved { mc: String, msp: String },
    /// Not moved, and why.
    Stayed(String),
}

/// Where `user` is recorded as moving: `(tenant uid, name)` of the
/// company named by their `enterprise_users` row, when that is not the
/// user's own tenant.
///
/// # Errors
///
/// Storage errors.
pub(crate) fn pending_move(
    read: &dyn StoreRead,
    user: &UserRow,
) -> Result<Option<(String, String)>> {
    let Some(placed) = read
        .user_node(&user.uid)?
        .filter(|p| p.tenant_uid != user.tenant_uid)
    else {
        return Ok(None);
    };
    let name = read
        .tenants()?
        .into_iter()
        .find(|t| t.uid == placed.tenant_uid)
        .map_or_else(|| placed.tenant_uid.clone(), |t| t.name);
    Ok(Some((placed.tenant_uid, name)))
}

/// [`super::VaultError::Moving`] when `user` is recorded as moving.
///
/// # Errors
///
/// That, or storage errors.
pub(crate) fn refuse_moving(read: &dyn StoreRead, user: &UserRow) -> Result<()> {
    match pending_move(read, user)? {
        None => Ok(()),
        // An e-mail or a name may carry a terminal escape.
        Some((_, company)) => Err(super::VaultError::Moving {
            email: escaped(&user.email),
            company: escaped(&company),
        }),
    }
}

/// The users of other tenants recorded as moving into tenant `to`.
///
/// # Errors
///
/// Storage errors.
pub(crate) fn moving_into(read: &dyn StoreRead, to: &str) -> Result<Vec<UserRow>> {
    let placed = read.user_nodes(to)?;
    Ok(read
        .all_users()?
        .into_iter()
        .filter(|u| u.tenant_uid != to && placed.iter().any(|p| p.user_uid == u.uid))
        .collect())
}

/// Why users `moving` cannot move into tenant `to` without breaking a
/// uniqueness rule there: an e-mail or an application name the company
/// already has, or will have once the users already recorded as moving
/// into it have moved.
///
/// # Errors
///
/// Storage errors.
pub(crate) fn move_clashes(
    read: &dyn StoreRead,
    moving: &[&UserRow],
    to: &str,
) -> Result<Vec<String>> {
    let is_moving = |uid: &str| moving.iter().any(|u| u.uid == uid);
    // Users already in `to`, and those recorded as moving into it.
    let pending: Vec<UserRow> = read
        .users(to)?
        .into_iter()
        .chain(moving_into(read, to)?)
        .filter(|u| !is_moving(&u.uid))
        .collect();
    let mut names: Vec<String> = read.apps(to)?.into_iter().map(|a| a.name).collect();
    let mut why = Vec::new();
    let mut sources: Vec<&str> = Vec::new();
    for u in pending.iter().chain(moving.iter().copied()) {
        if !sources.contains(&u.tenant_uid.as_str()) && u.tenant_uid != to {
            sources.push(&u.tenant_uid);
        }
    }
    let mut apps = Vec::new();
    for tenant in sources {
        apps.extend(read.apps(tenant)?);
    }
    for u in &pending {
        names.extend(
            apps.iter()
                .filter(|a| a.owner_uid == u.uid && a.tenant_uid != to)
                .map(|a| a.name.clone()),
        );
    }
    for u in moving {
        if pending.iter().any(|p| p.email == u.email) {
            why.push(format!(
                "user {}: the company already has a user with that e-mail",
                u.email
            ));
        }
        for app in apps.iter().filter(|a| a.owner_uid == u.uid) {
            if names.contains(&app.name) {
                why.push(format!(
                    "user {}: the company already has an application named \"{}\"",
                    u.email, app.name
                ));
            }
        }
    }
    Ok(why)
}

/// Every link of tenant `msp`'s data that crosses the line between the
/// users on the `side` set and everyone else: a team membership (teams
/// stay with the MSP), a shared folder shared across it, a record key held
/// across it. A folder or an application goes with its owner; its owner
/// is looked up in `tenants` (the MSP, and the company a move goes to).
///
/// # Errors
///
/// Storage errors.
pub(crate) fn crossing_links(
    read: &dyn StoreRead,
    msp: &str,
    tenants: &[&str],
    side: &HashSet<String>,
) -> Result<Vec<String>> {
    let mut why = Vec::new();
    let mut users = Vec::new();
    let mut folders = Vec::new();
    let mut apps = Vec::new();
    for tenant in tenants {
        users.extend(read.users(tenant)?);
        folders.extend(read.folders(tenant)?);
        apps.extend(read.apps(tenant)?);
    }
    let email = |uid: &str| {
        users
            .iter()
            .find(|u| u.uid == uid)
            .map_or_else(|| uid.to_string(), |u| u.email.clone())
    };
    let teams = read.teams(msp)?;
    for m in read.team_members(msp)? {
        if side.contains(&m.user_uid) {
            let team = teams
                .iter()
                .find(|t| t.uid == m.team_uid)
                .map_or(m.team_uid.as_str(), |t| t.name.as_str());
            why.push(format!(
                "user {} is a member of team \"{team}\" (teams stay with the MSP)",
                email(&m.user_uid)
            ));
        }
    }
    let moves = |holder: &str| {
        side.contains(holder)
            || folders
                .iter()
                .any(|f| f.uid == holder && side.contains(&f.owner_uid))
            || apps
                .iter()
                .any(|a| a.uid == holder && side.contains(&a.owner_uid))
    };
    for share in read.shares(msp)? {
        if moves(&share.shared_folder_uid) != moves(&share.holder_uid) {
            why.push(format!(
                "shared folder {} is shared across the node's boundary",
                share.shared_folder_uid
            ));
        }
    }
    let mut records = Vec::new();
    read.tenant_records(msp, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    for r in records {
        let owner = side.contains(&r.owner_uid);
        if read
            .record_keys(&r.uid)?
            .iter()
            .any(|k| moves(&k.holder_uid) != owner)
        {
            why.push(format!(
                "record {} is shared across the node's boundary",
                r.uid
            ));
        }
    }
    why.dedup();
    Ok(why)
}

/// Refuses, inside a write transaction, a link the session's user would
/// make to `grantee_uid` (a share, a team): [`super::VaultError::Moving`]
/// when either is recorded as moving into a managed company (a moving user
/// must not make new links to their old tenant either),
/// [`super::VaultError::UnknownUser`] when the grantee is no longer a user
/// of the session's tenant. `None` checks the session's user only. The
/// grantee's row as it is now, for their public key.
///
/// # Errors
///
/// Those, or storage errors.
pub(crate) fn check_link(
    read: &dyn StoreRead,
    s: &super::Session,
    grantee_uid: Option<&str>,
) -> Result<Option<UserRow>> {
    let users = read.users(&s.tenant_uid)?;
    if let Some(me) = users.iter().find(|u| u.uid == s.user_uid) {
        refuse_moving(read, me)?;
    }
    let Some(uid) = grantee_uid else {
        return Ok(None);
    };
    let grantee = users
        .into_iter()
        .find(|u| u.uid == uid)
        .ok_or_else(|| super::VaultError::UnknownUser(uid.to_string()))?;
    refuse_moving(read, &grantee)?;
    Ok(Some(grantee))
}

/// Whether `user` may be moved into `to` onto `node_id`: `Ok(names)` of the
/// company and the MSP, or `Err(why not)`.
fn honoured(
    tx: &dyn StoreTx,
    user: &UserRow,
    to: &str,
    node_id: i64,
) -> Result<std::result::Result<(String, String), String>> {
    let Some(mc) = tx
        .managed_companies(&user.tenant_uid)?
        .into_iter()
        .find(|mc| mc.tenant_uid == to && mc.msp_uid == user.tenant_uid)
    else {
        return Ok(Err(format!(
            "tenant {to} is no managed company of your MSP"
        )));
    };
    if !tx
        .enterprise_nodes(to)?
        .iter()
        .any(|n| n.node_id == node_id)
    {
        return Ok(Err(format!(
            "node {node_id} is no node of company \"{}\"",
            mc.name
        )));
    }
    if is_key_held(user) {
        return Ok(Err("a company's identity never moves".into()));
    }
    for tenant in tx.tenants()? {
        if tx
            .enterprise_admins(&tenant.uid)?
            .iter()
            .any(|a| a.user_uid == user.uid)
        {
            return Ok(Err("an enterprise admin never moves".into()));
        }
    }
    let clashes = move_clashes(tx, &[user], to)?;
    if !clashes.is_empty() {
        return Ok(Err(clashes.join("; ")));
    }
    // A link made across the boundary since the conversion (by the user
    // through a session opened before it, or by a write that raced it):
    // the company's side is its users and those recorded as moving into it.
    let side: HashSet<String> = tx
        .users(to)?
        .into_iter()
        .chain(moving_into(tx, to)?)
        .map(|u| u.uid)
        .chain([user.uid.clone()])
        .collect();
    let mut links = crossing_links(tx, &user.tenant_uid, &[&user.tenant_uid, to], &side)?;
    links.extend(
        tx.roles(&user.tenant_uid)?
            .iter()
            .filter(|r| r.users.iter().any(|u| side.contains(u)))
            .map(|r| {
                format!(
                    "role ID={} of the MSP has a member moving into the company",
                    r.role_id
                )
            }),
    );
    if !links.is_empty() {
        return Ok(Err(links.join("; ")));
    }
    let msp = tx
        .tenants()?
        .into_iter()
        .find(|t| t.uid == user.tenant_uid)
        .map_or_else(|| user.tenant_uid.clone(), |t| t.name);
    Ok(Ok((mc.name, msp)))
}

impl LockedVault {
    /// `user` as it is after finishing a recorded move (itself when there
    /// is none or it is not honoured), with what to tell the user; `kek`
    /// and `data_key` are what opened it.
    pub(super) fn finish_tenant_move(
        &mut self,
        user: UserRow,
        kek: &Key,
        data_key: &Key,
    ) -> Result<(UserRow, Option<String>)> {
        if !self
            .store
            .user_node(&user.uid)?
            .is_some_and(|row| row.tenant_uid != user.tenant_uid)
        {
            return Ok((user, None));
        }
        let mut outcome = Outcome::None;
        let mut moved = user.clone();
        let written = self.store.write(&mut |tx| {
            outcome = Outcome::None;
            // The row the password opened must still be the user's (a
            // password changed meanwhile would be reverted otherwise).
            let now = tx.all_users()?.into_iter().find(|u| u.uid == user.uid);
            if now.as_ref().is_none_or(|now| {
                now.kdf != user.kdf
                    || now.wrapped_data_key != user.wrapped_data_key
                    || now.tenant_uid != user.tenant_uid
            }) {
                outcome = Outcome::Stayed(
                    "your account changed while unlocking; it is left for your next unlock".into(),
                );
                return Ok(());
            }
            let Some(placed) = tx
                .user_node(&user.uid)?
                .filter(|p| p.tenant_uid != user.tenant_uid)
            else {
                return Ok(());
            };
            let (mc, msp) = match honoured(&*tx, &user, &placed.tenant_uid, placed.node_id)? {
                Ok(names) => names,
                Err(why) => {
                    outcome = Outcome::Stayed(why);
                    return Ok(());
                }
            };
            moved = user.clone();
            moved.tenant_uid = placed.tenant_uid.clone();
            moved.wrapped_data_key = kek.wrap(
                data_key,
                &ad::data_key(&moved.tenant_uid, &moved.uid, &moved.kdf),
            );
            moved.checksum = user_checksum(&moved);
            tx.move_user(&moved.uid, &moved.tenant_uid)?;
            tx.update_user(&moved)?;
            outcome = Outcome::Moved { mc, msp };
            Ok(())
        });
        let notice = match (written, outcome) {
            (Ok(()), Outcome::Moved { mc, msp }) => {
                return Ok((
                    moved,
                    Some(format!("moved to company \"{mc}\" of MSP \"{msp}\"")),
                ));
            }
            (Ok(()), Outcome::None) => None,
            (Ok(()), Outcome::Stayed(why)) => Some(why),
            (Err(e), _) => Some(format!("the move failed: {e}")),
        };
        Ok((
            user,
            notice.map(|why| format!("warning: a recorded move was not made ({why})")),
        ))
    }
}

impl Vault {
    /// What the unlock has to tell the user: a recorded move into a
    /// managed company finished, or not made and why.
    #[must_use]
    pub fn unlock_notices(&self) -> &[String] {
        &self.notices
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::vault::crypto::KdfParams;
    use crate::vault::store::TenantRow;
    use crate::vault::store::enterprise::{
        EnterpriseKind, EnterpriseRow, ManagedCompanyRow, NodeRow,
    };
    use crate::vault::store::roles::UserNodeRow;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    /// Records `user` (of `alice`'s tenant) as moving onto the root node
    /// of a company "Acme" (tenant `mc`) of alice's MSP; its keys are
    /// never opened here.
    fn record_move(alice: &mut Vault, user: &str) {
        let msp = alice.s.tenant_uid.clone();
        let bob_uid = user.to_string();
        let node = (7_i64 << 32) + 1;
        alice
            .transact(|tx| {
                tx.insert_tenant(&TenantRow {
                    uid: "mc".into(),
                    name: "Acme".into(),
                    parent_uid: Some(msp.clone()),
                    created: 0,
                    creator_uid: None,
                })?;
                tx.insert_enterprise(&EnterpriseRow {
                    tenant_uid: "mc".into(),
                    enterprise_id: 7,
                    kind: EnterpriseKind::ManagedCompany,
                    parent_uid: Some(msp.clone()),
                    created: 0,
                })?;
                tx.put_managed_company(&ManagedCompanyRow {
                    tenant_uid: "mc".into(),
                    msp_uid: msp.clone(),
                    enterprise_id: 7,
                    name: "Acme".into(),
                    node_id: 1,
                    plan: "business".into(),
                    seats: 1,
                    file_plan: None,
                    paused: false,
                    wrapped_tree_key: vec![0],
                    data: vec![0],
                    addons: Vec::new(),
                    active_users: 0,
                })?;
                tx.insert_enterprise_node(&NodeRow {
                    node_id: node,
                    tenant_uid: "mc".into(),
                    parent_id: None,
                    data: vec![0],
                })?;
                tx.put_user_node(&UserNodeRow {
                    user_uid: bob_uid.clone(),
                    tenant_uid: "mc".into(),
                    node_id: node,
                })
            })
            .expect("record the move");
    }

    /// A share planned before its grantee was recorded as moving is
    /// refused when applied (the check is made again inside the write),
    /// and nothing is written.
    #[test]
    fn a_share_planned_before_a_move_is_refused_when_applied() {
        use crate::vault::model::RecordData;
        use crate::vault::record_shares::{Expiry, ShareAction, ShareRequest};

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.db");
        let fast = KdfParams::insecure_fast();
        let mut alice = Vault::create(&path, "alice@x.example", &pw("a"), &fast).expect("create");
        let bob = alice
            .add_user("bob@x.example", &pw("b"), &fast)
            .expect("add bob");
        let record = alice
            .add_record(RecordData::new("login", "r"), None)
            .expect("record");
        let plan = alice
            .plan_record_shares(
                std::slice::from_ref(&record),
                &[bob.email.clone()],
                &ShareRequest {
                    action: ShareAction::Grant,
                    can_edit: false,
                    can_share: false,
                    expiry: Expiry::Unchanged,
                },
            )
            .expect("plan");
        assert_eq!(plan.changes.len(), 1);
        // msp-convert-node, in another process, records bob's move.
        let mut other = Vault::open(&path)
            .expect("open")
            .unlock(Some("alice@x.example"), &pw("a"))
            .expect("alice again");
        record_move(&mut other, &bob.uid);
        let err = alice.apply_record_shares(&plan).expect_err("refused");
        assert!(
            matches!(&err, crate::vault::VaultError::Moving { email, .. } if email == "bob@x.example"),
            "{err}"
        );
        let keys = alice.store.record_keys(&record).expect("keys");
        assert!(
            keys.iter().all(|k| k.holder_uid != bob.uid),
            "no key for bob"
        );
    }

    /// A master password changed between an unlock's read of the key
    /// header and its write transaction (another process): the move is
    /// not made, since it would write the old header back over the new
    /// one; the next unlock, with the new password, makes it.
    #[test]
    fn a_header_changed_while_unlocking_leaves_the_move_for_the_next_unlock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.db");
        let fast = KdfParams::insecure_fast();
        let mut alice = Vault::create(&path, "alice@x.example", &pw("a"), &fast).expect("create");
        alice
            .add_user("bob@x.example", &pw("old"), &fast)
            .expect("add bob");
        let mut bob = Vault::open(&path)
            .expect("open")
            .unlock(Some("bob@x.example"), &pw("old"))
            .expect("bob");
        let msp = alice.s.tenant_uid.clone();
        let bob_uid = bob.s.user_uid.clone();
        record_move(&mut alice, &bob_uid);

        // An unlock reads bob's header and opens his data key…
        let stale = alice
            .store
            .all_users()
            .expect("users")
            .into_iter()
            .find(|u| u.uid == bob_uid)
            .expect("bob's row");
        let kek = KdfParams::decode(&stale.kdf)
            .and_then(|p| p.derive(&pw("old")))
            .expect("kek");
        let data_key = kek
            .try_open(
                &stale.wrapped_data_key,
                &ad::data_key(&stale.tenant_uid, &stale.uid, &stale.kdf),
            )
            .map(|bytes| Key::from_slice(&bytes))
            .expect("opens")
            .expect("a key");
        // …while bob, already unlocked elsewhere, changes his password.
        bob.change_master_password(&pw("new"), &fast)
            .expect("change");
        let mut locked = Vault::open(&path).expect("open");
        let (row, notice) = locked
            .finish_tenant_move(stale, &kek, &data_key)
            .expect("the unlock goes on");
        assert_eq!(row.tenant_uid, msp);
        assert!(
            notice
                .as_deref()
                .is_some_and(|n| n.contains("your account changed while unlocking")),
            "{notice:?}"
        );
        let tenant = |uid: &str| {
            let users = alice.store.all_users().expect("users");
            users
                .into_iter()
                .find(|u| u.uid == uid)
                .map(|u| u.tenant_uid)
        };
        assert_eq!(tenant(&bob_uid).as_deref(), Some(msp.as_str()), "not moved");

        // The new password opens bob and moves him.
        let moved = Vault::open(&path)
            .expect("open")
            .unlock(Some("bob@x.example"), &pw("new"))
            .expect("the new password still unlocks");
        assert!(
            moved
                .unlock_notices()
                .iter()
                .any(|n| n.contains("moved to company \"Acme\"")),
            "{:?}",
            moved.unlock_notices()
        );
        assert_eq!(tenant(&bob_uid).as_deref(), Some("mc"));
        Vault::open(&path)
            .expect("open")
            .unlock(Some("bob@x.example"), &pw("new"))
            .expect("and again, in the company");

        // bob's first session, opened before the move, writes nothing
        // more in the MSP's tenant.
        let err = bob
            .add_record(crate::vault::RecordData::new("login", "stray"), None)
            .expect_err("a session from before the move");
        assert!(
            matches!(&err, crate::vault::VaultError::StaleSession(m) if m.contains("tenant")),
            "{err}"
        );
        let mut stray = 0;
        alice
            .store
            .tenant_records(&msp, &mut |r| {
                stray += usize::from(r.owner_uid == bob_uid);
                Ok(())
            })
            .expect("records");
        assert_eq!(stray, 0, "no record of bob's in the MSP");
    }
}
