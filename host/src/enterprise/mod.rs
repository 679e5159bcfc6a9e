//! Enterprise administration: a distributor → MSPs → managed companies
//! (MCs), each enterprise a vault tenant. An MSP has a licence pool per
//! plan and permits; each MC has a plan, seats, a file plan and add-ons,
//! and its own tree key wrapped under the MSP's, which is wrapped under
//! each MSP admin's data key. Every licence change is an event in the
//! billing ledger.
//!
//! | file | what |
//! |---|---|
//! | `model.rs` | Commander's constants: plans, file plans, add-ons, unlimited seats, KEPM seat counts |
//! | `licences.rs` | `enterprise-init`: the licences file, the MSP and its admin |
//! | `state.rs` | an MSP as its admin sees it: pool with available licences, companies, nodes; list views |
//! | `validate.rs` | Commander's checks of msp-add / msp-update input, in its order, with its messages |
//! | `ops.rs` | msp-add, msp-update, msp-remove, each one transaction with its ledger events |
//! | `switch.rs` | switch-to-mc: a company's identity, unlocked with its tree key |
//! | `access.rs` | who may run what: MC users refused, `enterprise-init`'s limits |
//! | `distributor/` | a distributor: provisioning its MSPs, `distributor info/msp-info/license` |
//! | `roles.rs` | roles with enforcements (`enterprise-role`), users' nodes (`enterprise-user --node`) |
//! | `enforcements.rs` | the enforcements keeper knows, their types, `KEY:VALUE` parsing |
//! | `copy_role.rs` | msp-copy-role: MSP roles made equal in managed companies |
//! | `convert.rs` | msp-convert-node: a sub-tree becomes a managed company, re-sealed under its key |
//! | `rekey.rs` | enterprise-rekey: the MSP admin's new keys and master password, a new MSP tree key |
//! | `files.rs` | reading provisioning files (TOML or JSON) |
//! | `clock.rs` | the ledger's clock (`KEEPER_NOW` in debug builds) |
//! | `pricing.rs` | the MSP's price table (`[[prices]]`, `msp-info -p`, `msp-prices`) |
//! | `billing.rs` | `msp-billing-report`: daily licence counts from the ledger |
//! | `legacy.rs` | `msp-legacy-report`: the ledger's adjustments in a range |
//! | `error.rs` | [`EnterpriseError`] |
//!
//! The store's rows are `crate::vault::store::enterprise`.

pub(crate) mod access;
pub(crate) mod billing;
pub(crate) mod clock;
pub(crate) mod convert;
pub(crate) mod copy_role;
pub(crate) mod distributor;
pub(crate) mod enforcements;
mod error;
mod files;
pub(crate) mod legacy;
pub(crate) mod licences;
pub(crate) mod model;
pub(crate) mod ops;
pub(crate) mod pricing;
pub(crate) mod rekey;
pub(crate) mod roles;
pub(crate) mod state;
pub(crate) mod switch;
#[cfg(test)]
mod tests;
mod validate;

pub(crate) use error::{EnterpriseError, Result};

use crate::vault::Vault;
use crate::vault::crypto::Key;
use crate::vault::store::StoreRead;
use crate::vault::store::enterprise::EnterpriseKind;
use state::MspState;

/// The MSP the logged-in user administers, with its tree key.
pub(crate) struct Msp {
    /// Its tenant.
    pub uid: String,
    /// Its enterprise id.
    pub id: i64,
    /// Its name.
    pub name: String,
    tree_key: Key,
}

impl std::fmt::Debug for Msp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msp")
            .field("uid", &self.uid)
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Msp {
    fn new(uid: String, id: i64, name: String, tree_key: Key) -> Self {
        Self {
            uid,
            id,
            name,
            tree_key,
        }
    }

    /// The MSP whose admin is logged in to `vault`.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::NotMspAdmin`] when the user's tenant is not an
    /// MSP or they are not its admin; a tree key that does not open is
    /// [`crate::vault::VaultError::Corrupted`].
    pub(crate) fn of(vault: &Vault) -> Result<Self> {
        let user = vault.user();
        let admin = access::admin_of(vault, EnterpriseKind::Msp, || {
            EnterpriseError::NotMspAdmin(user.email.clone())
        })?;
        Ok(Self::new(
            user.tenant_uid,
            admin.id,
            admin.name,
            admin.tree_key,
        ))
    }

    /// The MSP's state now.
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub(crate) fn state(&self, vault: &Vault) -> Result<MspState> {
        self.state_in(vault.store_read())
    }

    /// The MSP's state as `store` (a transaction, maybe) sees it.
    pub(crate) fn state_in(&self, store: &dyn StoreRead) -> Result<MspState> {
        MspState::read(store, &self.uid, &self.tree_key)
    }

    /// A company's tree key (for tests of the key hierarchy).
    #[cfg(test)]
    pub(crate) fn company_key(
        &self,
        mc: &crate::vault::store::enterprise::ManagedCompanyRow,
    ) -> Result<Key> {
        Ok(self.tree_key.unwrap_key(
            &mc.wrapped_tree_key,
            &crate::vault::ad::mc_tree_key(&mc.tenant_uid, &self.uid),
        )?)
    }
}
