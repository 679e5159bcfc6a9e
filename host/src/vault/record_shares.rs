//! Records shared with a user directly (`share-record`): the record key
//! sealed to the user's public key, held in the user's name with edit and
//! re-share permissions and, optionally, an end time.
//!
//! Changes are planned first ([`Vault::plan_record_shares`],
//! [`Vault::plan_cancel_shares`]: what `--dry-run` prints) and then applied
//! in one transaction ([`Vault::apply_record_shares`]).
//!
//! Revoking removes the user's key row: keeper stops handing them the
//! record, but nothing is re-keyed, so whatever they read (or copied)
//! before stays readable to them. The same holds for a share that expires.

use serde::Serialize;

use super::records::record_key;
use super::store::{RecordKeyRow, StoreTx};
use super::{Result, Session, Vault, VaultError, ad, crypto, now_ms};

/// What `share-record` does to each (record, user) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareAction {
    /// Share, or add permissions to an existing share.
    Grant,
    /// Remove the share, or only the permissions asked for.
    Revoke,
    /// Make the user the record's owner.
    Owner,
}

/// When a granted share ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// A new share never ends; an existing one keeps its end.
    #[default]
    Unchanged,
    /// Never (`--expire-at never`): removes an existing end.
    Never,
    /// At this time, epoch ms.
    At(i64),
}

/// A `share-record` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareRequest {
    /// What to do.
    pub action: ShareAction,
    /// `-w`: may edit (granted, or revoked on its own).
    pub can_edit: bool,
    /// `-s`: may re-share (granted, or revoked on its own).
    pub can_share: bool,
    /// `--expire-at` / `--expire-in` (grants only).
    pub expiry: Expiry,
}

/// How one share changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareChangeKind {
    /// A new share.
    Add,
    /// An existing share with other permissions or end.
    Update,
    /// The share goes.
    Remove,
    /// The user becomes the owner.
    Transfer,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareChange {
    /// The user's e-mail.
    pub email: String,
    /// The record.
    pub record_uid: String,
    /// Its title.
    pub title: String,
    /// What happens.
    pub change: ShareChangeKind,
    /// The user may edit afterwards.
    pub can_edit: bool,
    /// The user may re-share afterwards.
    pub can_share: bool,
    /// When the share ends afterwards (epoch ms).
    pub expires: Option<i64>,
    #[serde(skip)]
    user_uid: String,
}

impl ShareChange {
    /// Commander's "Share Action" column.
    pub fn action_label(&self) -> &'static str {
        match (self.change, self.can_edit, self.can_share) {
            (ShareChangeKind::Transfer, ..) => "Transfer Ownership",
            (ShareChangeKind::Remove, ..) => "Remove Share",
            (_, true, true) => "Can Edit & Share",
            (_, true, false) => "Can Edit",
            (_, false, true) => "Can Share",
            (_, false, false) => "Read Only",
        }
    }
}

/// What a request would change, and what it leaves alone and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SharePlan {
    /// The changes, in record then e-mail order.
    pub changes: Vec<ShareChange>,
    /// Records or users left alone, with the reason.
    pub skipped: Vec<String>,
    /// How many of the skipped records the current user may not change
    /// (as opposed to ones with nothing to change).
    pub refused: usize,
}

impl Vault {
    /// Plans `request` for `records` (uids) and `emails`. A record the
    /// current user may not share (or, for [`ShareAction::Owner`], does
    /// not own) is skipped with the reason when several records are
    /// asked for, and refused when only one is.
    ///
    /// # Errors
    ///
    /// [`VaultError::UnknownUser`]; [`VaultError::Moving`] for a grant or
    /// transfer to a user recorded as moving into a managed company;
    /// [`VaultError::Invalid`] for sharing with
    /// oneself, an end in the past, or several users for a transfer;
    /// [`VaultError::Denied`] / [`VaultError::NotFound`] for a single record.
    pub fn plan_record_shares(
        &self,
        records: &[String],
        emails: &[String],
        request: &ShareRequest,
    ) -> Result<SharePlan> {
        if request.action == ShareAction::Owner && emails.len() != 1 {
            return Err(VaultError::Invalid(
                "ownership can be transferred to a single user only".into(),
            ));
        }
        if let Expiry::At(t) = request.expiry
            && t <= now_ms()
        {
            return Err(VaultError::Invalid(
                "the share's expiration time is in the past".into(),
            ));
        }
        let mut users = Vec::with_capacity(emails.len());
        for email in emails {
            // Only a grant or a transfer makes a new link.
            let user = if request.action == ShareAction::Revoke {
                self.find_user(email)?
            } else {
                self.find_grantee(email)?
            };
            if user.uid == self.s.user_uid {
                return Err(VaultError::Invalid(
                    "a record cannot be shared with yourself".into(),
                ));
            }
            if !users.iter().any(|(u, _): &(String, String)| *u == user.uid) {
                users.push((user.uid, user.email));
            }
        }
        let mut plan = SharePlan::default();
        let now = now_ms();
        for uid in records {
            let checked = self
                .s
                .keyed_row(self.store.as_ref(), uid)
                .and_then(|row| may_change(&self.s, &row, request.action).map(|()| row));
            let row = match checked {
                Ok(row) => row,
                Err(e) if records.len() > 1 => {
                    plan.skipped.push(e.to_string());
                    plan.refused += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let title = super::records::decrypt_row(&self.s, &row)?
                .data
                .title
                .clone();
            let keys = self.store.record_keys(uid)?;
            for (user_uid, email) in &users {
                let current = keys
                    .iter()
                    .find(|k| k.holder_uid == *user_uid)
                    .filter(|k| k.expires.is_none_or(|t| t > now));
                if row.record.owner_uid == *user_uid {
                    plan.skipped
                        .push(format!("{email} owns record {uid}: nothing to change"));
                    continue;
                }
                let Some(change) = planned(request, current) else {
                    plan.skipped.push(format!(
                        "record {uid} is not shared with {email} directly: nothing to revoke"
                    ));
                    continue;
                };
                plan.changes.push(ShareChange {
                    email: email.clone(),
                    record_uid: uid.clone(),
                    title: title.clone(),
                    user_uid: user_uid.clone(),
                    ..change
                });
            }
        }
        Ok(plan)
    }

    /// Plans `share-record -a cancel`: every direct share of a record the
    /// current user owns with each of `emails` goes (records they shared
    /// with the current user are left alone).
    ///
    /// # Errors
    ///
    /// [`VaultError::UnknownUser`]; [`VaultError::Invalid`] for oneself;
    /// storage errors.
    pub fn plan_cancel_shares(&self, emails: &[String]) -> Result<SharePlan> {
        let users: Vec<_> = emails
            .iter()
            .map(|e| self.find_user(e))
            .collect::<Result<_>>()?;
        if users.iter().any(|u| u.uid == self.s.user_uid) {
            return Err(VaultError::Invalid(
                "there are no shares with yourself to cancel".into(),
            ));
        }
        let mut plan = SharePlan::default();
        let mut owned: Vec<_> = self
            .records()?
            .into_iter()
            .filter(|r| r.owner_uid == self.s.user_uid)
            .collect();
        owned.sort_by(|a, b| a.uid.cmp(&b.uid));
        for r in owned {
            let keys = self.store.record_keys(&r.uid)?;
            for user in &users {
                if let Some(k) = keys.iter().find(|k| k.holder_uid == user.uid) {
                    plan.changes.push(ShareChange {
                        email: user.email.clone(),
                        record_uid: r.uid.clone(),
                        title: r.data.title.clone(),
                        change: ShareChangeKind::Remove,
                        can_edit: k.can_edit,
                        can_share: k.can_share,
                        expires: k.expires,
                        user_uid: user.uid.clone(),
                    });
                }
            }
        }
        for user in &users {
            if !plan.changes.iter().any(|c| c.user_uid == user.uid) {
                plan.skipped
                    .push(format!("no record of yours is shared with {}", user.email));
            }
        }
        Ok(plan)
    }

    /// Applies a plan in one transaction, checking again that the current
    /// user may change each record.
    ///
    /// # Errors
    ///
    /// [`VaultError::Denied`] / [`VaultError::NotFound`] when a record
    /// changed meanwhile; storage errors. Nothing is applied then.
    pub fn apply_record_shares(&mut self, plan: &SharePlan) -> Result<()> {
        self.write(|tx, s| {
            for c in &plan.changes {
                apply_change(tx, s, c)?;
            }
            Ok(())
        })
    }
}

/// Whether the session may make `action` on the record.
fn may_change(s: &Session, row: &super::store::KeyedRecordRow, action: ShareAction) -> Result<()> {
    let uid = &row.record.uid;
    let owner = row.record.owner_uid == s.user_uid;
    if action == ShareAction::Owner && !owner {
        return Err(VaultError::Denied(format!(
            "only the owner may transfer record {uid}"
        )));
    }
    if !owner && !row.key.can_share {
        return Err(VaultError::Denied(format!(
            "you may not share record {uid} (it was shared with you without re-share permission)"
        )));
    }
    Ok(())
}

/// The change `request` makes to a user's current (unexpired) share of
/// a record they do not own; `None` for revoking a share that does not
/// exist.
fn planned(request: &ShareRequest, current: Option<&RecordKeyRow>) -> Option<ShareChange> {
    let change = |change, can_edit, can_share, expires| ShareChange {
        email: String::new(),
        record_uid: String::new(),
        title: String::new(),
        change,
        can_edit,
        can_share,
        expires,
        user_uid: String::new(),
    };
    let expires = |old: Option<i64>| match request.expiry {
        Expiry::Unchanged => old,
        Expiry::Never => None,
        Expiry::At(t) => Some(t),
    };
    match (request.action, current) {
        (ShareAction::Owner, _) => Some(change(ShareChangeKind::Transfer, true, true, None)),
        (ShareAction::Grant, None) => Some(change(
            ShareChangeKind::Add,
            request.can_edit,
            request.can_share,
            expires(None),
        )),
        // As Commander: a grant only adds permissions.
        (ShareAction::Grant, Some(k)) => Some(change(
            ShareChangeKind::Update,
            k.can_edit || request.can_edit,
            k.can_share || request.can_share,
            expires(k.expires),
        )),
        (ShareAction::Revoke, None) => None,
        (ShareAction::Revoke, Some(k)) if request.can_edit || request.can_share => Some(change(
            ShareChangeKind::Update,
            k.can_edit && !request.can_edit,
            k.can_share && !request.can_share,
            k.expires,
        )),
        (ShareAction::Revoke, Some(k)) => Some(change(
            ShareChangeKind::Remove,
            k.can_edit,
            k.can_share,
            k.expires,
        )),
    }
}

fn apply_change(tx: &mut dyn StoreTx, s: &Session, c: &ShareChange) -> Result<()> {
    let row = s.keyed_row(&*tx, &c.record_uid)?;
    let action = match c.change {
        ShareChangeKind::Transfer => ShareAction::Owner,
        _ => ShareAction::Grant,
    };
    may_change(s, &row, action)?;
    if c.change == ShareChangeKind::Remove {
        return tx.delete_record_key(&c.record_uid, &c.user_uid);
    }
    // Checked again here: a move recorded or finished since the plan.
    let grantee = super::tenant_move::check_link(&*tx, s, Some(&c.user_uid))?
        .ok_or_else(|| VaultError::UnknownUser(c.email.clone()))?;
    let public: [u8; 32] =
        grantee.public_key.as_slice().try_into().map_err(|_| {
            VaultError::Corrupted(format!("user {} has no valid public key", c.email))
        })?;
    let key = record_key(s, &row)?;
    let ad = ad::record_key_until(&c.record_uid, &c.user_uid, c.expires);
    tx.put_record_key(&RecordKeyRow {
        record_uid: c.record_uid.clone(),
        holder_uid: c.user_uid.clone(),
        wrapped_key: crypto::seal_key_to(&public, &key, &ad),
        can_edit: c.can_edit,
        can_share: c.can_share,
        expires: c.expires,
    })?;
    if c.change == ShareChangeKind::Transfer {
        // The former owner keeps the key row they hold (full rights), as
        // a share the new owner may revoke.
        tx.set_record_owner(&c.record_uid, &c.user_uid)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(can_edit: bool, can_share: bool, expires: Option<i64>) -> RecordKeyRow {
        RecordKeyRow {
            record_uid: "r".into(),
            holder_uid: "u".into(),
            wrapped_key: Vec::new(),
            can_edit,
            can_share,
            expires,
        }
    }

    fn request(
        action: ShareAction,
        can_edit: bool,
        can_share: bool,
        expiry: Expiry,
    ) -> ShareRequest {
        ShareRequest {
            action,
            can_edit,
            can_share,
            expiry,
        }
    }

    fn outcome(c: Option<ShareChange>) -> Option<(ShareChangeKind, bool, bool, Option<i64>)> {
        c.map(|c| (c.change, c.can_edit, c.can_share, c.expires))
    }

    /// Commander's rules: a grant adds rights and keeps an end unless
    /// told; a revoke with -w/-s removes only those; a plain revoke
    /// removes the share; revoking what does not exist is nothing.
    #[test]
    fn grants_add_and_revokes_remove() {
        use ShareChangeKind::{Add, Remove, Transfer, Update};
        let grant = |w, s, e| request(ShareAction::Grant, w, s, e);
        let revoke = |w, s| request(ShareAction::Revoke, w, s, Expiry::Unchanged);
        let old = row(true, false, Some(5));
        assert_eq!(
            outcome(planned(&grant(false, false, Expiry::Unchanged), None)),
            Some((Add, false, false, None))
        );
        assert_eq!(
            outcome(planned(&grant(false, true, Expiry::Unchanged), Some(&old))),
            Some((Update, true, true, Some(5)))
        );
        assert_eq!(
            outcome(planned(&grant(false, false, Expiry::Never), Some(&old))),
            Some((Update, true, false, None))
        );
        assert_eq!(
            outcome(planned(&grant(true, false, Expiry::At(9)), None)),
            Some((Add, true, false, Some(9)))
        );
        assert_eq!(
            outcome(planned(&revoke(true, false), Some(&old))),
            Some((Update, false, false, Some(5)))
        );
        assert_eq!(
            outcome(planned(&revoke(false, false), Some(&old))),
            Some((Remove, true, false, Some(5)))
        );
        assert_eq!(outcome(planned(&revoke(false, false), None)), None);
        assert_eq!(
            outcome(planned(
                &request(ShareAction::Owner, false, false, Expiry::Unchanged),
                Some(&old)
            )),
            Some((Transfer, true, true, None))
        );
    }
}
