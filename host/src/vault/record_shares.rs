//! Records shared with a user directly (`share-record`): the record key
//! sealed to the user's public key, held in the user's name with edit and
//! re-share permissions.

use super::crypto;
use super::store::RecordKeyRow;
use super::{Result, Vault, VaultError, ad};

impl Vault {
    /// Shares record `uid` with the user `email` (or changes their
    /// permissions).
    ///
    /// # Errors
    ///
    /// [`VaultError::NotFound`], [`VaultError::UnknownUser`];
    /// [`VaultError::Denied`] when this user may not re-share the record;
    /// [`VaultError::Invalid`] for sharing with oneself.
    pub fn share_record(
        &mut self,
        uid: &str,
        email: &str,
        can_edit: bool,
        can_share: bool,
    ) -> Result<()> {
        let (record_key, user_uid) = self.record_share_parts(uid, email)?;
        let users = self.store.users(&self.s.tenant_uid)?;
        let public: [u8; 32] = users
            .iter()
            .find(|u| u.uid == user_uid)
            .and_then(|u| u.public_key.as_slice().try_into().ok())
            .ok_or_else(|| {
                VaultError::Corrupted(format!("user {email} has no valid public key"))
            })?;
        let row = RecordKeyRow {
            record_uid: uid.to_string(),
            wrapped_key: crypto::seal_key_to(&public, &record_key, &ad::record_key(uid, &user_uid)),
            holder_uid: user_uid,
            can_edit,
            can_share,
        };
        self.write(|tx, _| tx.put_record_key(&row))
    }

    /// Stops sharing record `uid` with the user `email` directly.
    ///
    /// # Errors
    ///
    /// As [`Vault::share_record`].
    pub fn unshare_record(&mut self, uid: &str, email: &str) -> Result<()> {
        let (_, user_uid) = self.record_share_parts(uid, email)?;
        self.write(|tx, _| tx.delete_record_key(uid, &user_uid))
    }

    /// The record's key (if this user may share it) and the other user's uid.
    fn record_share_parts(&self, uid: &str, email: &str) -> Result<(crypto::Key, String)> {
        let row = self
            .store
            .keyed_record(uid, &self.s.holders())?
            .ok_or_else(|| VaultError::NotFound {
                kind: "record",
                name: uid.to_string(),
            })?;
        if !row.key.can_share && row.record.owner_uid != self.s.user_uid {
            return Err(VaultError::Denied(format!(
                "you may not share record {uid} (it was shared with you without re-share permission)"
            )));
        }
        let user = self.find_user(email)?;
        if user.uid == self.s.user_uid {
            return Err(VaultError::Invalid(
                "a record cannot be shared with yourself".into(),
            ));
        }
        let key = super::records::record_key(&self.s, &row)?;
        Ok((key, user.uid))
    }
}
