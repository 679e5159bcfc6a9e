//! Finishing a user's move into a managed company (`msp-convert-node`).
//! A user's data key is wrapped under their password with their tenant in
//! the associated data, so no admin can move a user's key header to
//! another tenant: `msp-convert-node` only records the move (the user's
//! `enterprise_users` row names the company's tenant), and the user's next
//! password unlock, which holds the data key, re-wraps it for the new
//! tenant and moves the user with what they own, in one transaction. Only
//! a move into a managed company of the user's own tenant is honoured.

use super::crypto::Key;
use super::store::UserRow;
use super::store::enterprise::EnterpriseKind;
use super::{LockedVault, Result, ad, user_checksum};

impl LockedVault {
    /// `user` as it is after finishing a recorded move (itself when there
    /// is none); `kek` and `data_key` are what opened it.
    pub(super) fn finish_tenant_move(
        &mut self,
        user: UserRow,
        kek: &Key,
        data_key: &Key,
    ) -> Result<UserRow> {
        let Some(to) = self
            .store
            .user_node(&user.uid)?
            .map(|row| row.tenant_uid)
            .filter(|t| t != &user.tenant_uid)
        else {
            return Ok(user);
        };
        let into_own_company = self.store.enterprise(&to)?.is_some_and(|e| {
            e.kind == EnterpriseKind::ManagedCompany
                && e.parent_uid.as_deref() == Some(&user.tenant_uid)
        });
        if !into_own_company {
            return Ok(user);
        }
        let mut moved = user;
        moved.tenant_uid = to;
        moved.wrapped_data_key = kek.wrap(
            data_key,
            &ad::data_key(&moved.tenant_uid, &moved.uid, &moved.kdf),
        );
        moved.checksum = user_checksum(&moved);
        self.store.write(&mut |tx| {
            tx.move_user(&moved.uid, &moved.tenant_uid)?;
            tx.update_user(&moved)
        })?;
        Ok(moved)
    }
}
