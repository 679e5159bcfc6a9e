//! `switch-to-mc`: the MSP admin acts inside a managed company. Each
//! company has an identity, a user of its tenant whose data key is wrapped
//! under the company's tree key (made on the first switch); unlocking as
//! it gives the company's own records, sealed under keys only the
//! company's tree key leads to, invisible from the MSP and from every
//! other company.

use super::Msp;
use super::error::{EnterpriseError, Result};
use super::ops::refusable;
use crate::vault::crypto::Key;
use crate::vault::tenancy::{is_key_held, key_held_user};
use crate::vault::{Vault, ad};

/// The domain of company identities' e-mails (not counted as users).
pub(crate) const IDENTITY_DOMAIN: &str = "keeper.invalid";

/// A company to switch into.
pub(crate) struct Entered {
    /// Its enterprise id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its identity's e-mail.
    pub email: String,
    /// Its tree key (holds the identity's data key).
    pub key: Key,
}

impl Msp {
    /// Company `mc` (name or id), its tree key and identity (made now if
    /// it has none).
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::NoCompany`]; storage errors; a tree key that
    /// does not open.
    pub(crate) fn enter(&self, vault: &mut Vault, mc: &str) -> Result<Entered> {
        let state = self.state(vault)?;
        let company = state
            .company(mc)
            .ok_or_else(|| EnterpriseError::NoCompany(mc.to_string()))?
            .clone();
        let key = self.tree_key.unwrap_key(
            &company.wrapped_tree_key,
            &ad::mc_tree_key(&company.tenant_uid, &self.uid),
        )?;
        let email = format!("msp-admin@mc-{}.{IDENTITY_DOMAIN}", company.enterprise_id);
        let has = vault
            .store_read()
            .users(&company.tenant_uid)?
            .iter()
            .any(|u| u.email == email && is_key_held(u));
        if !has {
            let row = key_held_user(&company.tenant_uid, &email, &key);
            refusable(vault, |tx| Ok(tx.insert_user(&row)?))?;
        }
        Ok(Entered {
            id: company.enterprise_id,
            name: company.name,
            email,
            key,
        })
    }
}

/// For end-to-end tests: the vault at `location` unlocked as company
/// `mc`'s identity, reached as the MSP admin `email` with `password`.
///
/// # Errors
///
/// Why unlocking, [`Msp::of`] or [`Msp::enter`] failed, as text.
pub fn company_vault(
    location: &crate::vault::Location,
    email: &str,
    password: &crate::vault::SecretString,
    mc: &str,
) -> std::result::Result<Vault, String> {
    let open = || -> Result<Vault> {
        let mut vault = Vault::open_at(location)?.unlock(Some(email), password)?;
        let entered = Msp::of(&vault)?.enter(&mut vault, mc)?;
        drop(vault);
        Ok(Vault::open_at(location)?.unlock_key_held(&entered.email, &entered.key)?)
    };
    open().map_err(|e| e.to_string())
}
