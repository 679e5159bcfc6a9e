//! A distributor: an enterprise that manages MSPs (its tenant is their
//! parent). Its admin provisions them (`provision.rs`), sees each MSP's
//! permits, allocated licences and managed companies (`view.rs`, the
//! rows Keeper's server keeps in the clear: no MSP or company key is
//! needed, and none is held), and changes the permits that the MSP's
//! `msp-add` / `msp-update` then obey (`permits.rs`).

pub(crate) mod permits;
pub(crate) mod provision;
pub(crate) mod view;

use super::access;
use super::error::{EnterpriseError, Result};
use crate::vault::Vault;
use crate::vault::store::enterprise::EnterpriseKind;
use view::MspView;

/// The distributor whose admin is logged in.
#[derive(Debug, Clone)]
pub(crate) struct Distributor {
    /// Its tenant.
    pub uid: String,
    /// Its enterprise id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

impl Distributor {
    /// The distributor whose admin is logged in to `vault`.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::InsideCompany`] after `switch-to-mc`;
    /// [`EnterpriseError::InCompany`] for a managed company's user;
    /// [`EnterpriseError::NotDistributorAdmin`] when the user's tenant is
    /// not a distributor or they are not its admin; a tree key that does
    /// not open is [`crate::vault::VaultError::Corrupted`].
    pub(crate) fn of(vault: &Vault) -> Result<Self> {
        let user = vault.user();
        // The admin row must open with the user's data key; the
        // distributor's tree key itself is not needed to read its MSPs.
        let admin = access::admin_of(vault, EnterpriseKind::Distributor, || {
            EnterpriseError::NotDistributorAdmin(user.email.clone())
        })?;
        Ok(Self {
            uid: user.tenant_uid,
            id: admin.id,
            name: admin.name,
        })
    }

    /// Its MSPs, by enterprise id, as the distributor sees them.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub(crate) fn msps(&self, vault: &Vault) -> Result<Vec<MspView>> {
        view::msps(vault.store_read(), &self.uid, &self.name)
    }

    /// The MSP whose id (a number is only ever an id) or name (any case)
    /// is `wanted`.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::Rejected`] with Commander's `MSP "X" not found.`
    pub(crate) fn msp(&self, vault: &Vault, wanted: &str) -> Result<MspView> {
        let id = wanted.trim().parse::<i64>().ok();
        let wanted_l = wanted.trim().to_lowercase();
        self.msps(vault)?
            .into_iter()
            .find(|m| match id {
                Some(id) => m.enterprise_id == id,
                None => m.enterprise_name.to_lowercase() == wanted_l,
            })
            .ok_or_else(|| EnterpriseError::Rejected(format!("MSP \"{wanted}\" not found.")))
    }
}
