//! `enterprise-rekey`: the MSP's admin replaces their own keys (a new
//! data key, key pair and master password: `Vault::rekey_user`) and the
//! MSP's tree key, in one transaction:
//!
//! ```text
//! admin's new data key ─wraps→ new MSP tree key   (enterprise_admins)
//! new MSP tree key ─seals→ node names             (enterprise_nodes of the MSP)
//!                  ─seals→ role names             (enterprise_roles of the MSP)
//!                  ─wraps→ each company's tree key (managed_companies; the
//!                          company's key itself is the same key, re-wrapped)
//! ```
//!
//! So a copy of the admin's old key header, with the master password it
//! opened with (a distributor chose the first one of every MSP admin it
//! provisions), opens nothing the store holds afterwards. What it opened
//! before stays open to whoever kept it: the companies' tree keys cannot
//! be replaced here (their records, folders and identities are sealed
//! under them), so the companies that exist when the re-key runs stay
//! readable with the old MSP tree key; companies added afterwards do not.

use secrecy::SecretString;

use super::Msp;
use super::error::{EnterpriseError, Result};
use crate::vault::crypto::{KdfParams, Key};
use crate::vault::store::StoreTx;
use crate::vault::{Rekeying, UserRekeyed, Vault, VaultError, ad};

/// What an MSP's re-key replaced and re-wrapped.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct MspRekeyed {
    /// The MSP's name.
    pub msp: String,
    /// Its enterprise id.
    pub id: i64,
    /// What the admin's keys held, re-wrapped.
    pub user: UserRekeyed,
    /// Node names sealed under the new tree key.
    pub nodes: usize,
    /// Role names sealed under the new tree key.
    pub roles: usize,
    /// The companies whose tree keys were re-wrapped (not replaced), by name.
    pub companies: Vec<String>,
}

/// Re-keys the logged-in MSP admin and their MSP: `password` (with
/// `params`) becomes their master password.
///
/// # Errors
///
/// [`EnterpriseError::NotMspAdmin`] (and the other refusals of
/// [`Msp::of`]); [`EnterpriseError::Rejected`] when the MSP has other
/// admins (their copies of the tree key could not be replaced); the
/// errors of `Vault::rekey_user`. Nothing is written then.
pub(crate) fn rekey(
    vault: &mut Vault,
    password: &SecretString,
    params: &KdfParams,
) -> Result<MspRekeyed> {
    let msp = Msp::of(vault)?;
    let me = vault.user().uid;
    if let Some(other) = vault
        .store_read()
        .enterprise_admins(&msp.uid)?
        .into_iter()
        .find(|a| a.user_uid != me)
    {
        return Err(EnterpriseError::Rejected(format!(
            "MSP \"{}\" has another admin (user {}), whose copy of the MSP's key a re-key cannot \
             replace; nothing was changed",
            crate::runtime::text::escaped(&msp.name),
            other.user_uid
        )));
    }
    let new_tree = Key::generate();
    let mut out = MspRekeyed {
        msp: msp.name.clone(),
        id: msp.id,
        ..MspRekeyed::default()
    };
    out.user = vault.rekey_user(password, params, &mut |tx, keys| {
        let (nodes, roles, companies) = reseal_tree(tx, keys, &msp, &new_tree)?;
        (out.nodes, out.roles, out.companies) = (nodes, roles, companies);
        Ok(())
    })?;
    Ok(out)
}

/// Replaces, in `tx`, `msp`'s tree key with `new` wherever it seals or
/// wraps something, and wraps `new` for the admin being re-keyed.
fn reseal_tree(
    tx: &mut dyn StoreTx,
    keys: &Rekeying<'_>,
    msp: &Msp,
    new: &Key,
) -> crate::vault::Result<(usize, usize, Vec<String>)> {
    let tenant = msp.uid.as_str();
    // The tree key as the admin row in this transaction holds it (under
    // the admin's new data key by now).
    let admin_ad = ad::tree_key(tenant, keys.user_uid);
    let Some(mut admin) = tx
        .enterprise_admins(tenant)?
        .into_iter()
        .find(|a| a.user_uid == keys.user_uid)
    else {
        return Err(VaultError::Conflict(format!("the admins of MSP {tenant}")));
    };
    let old = keys.unwrap_for_user(&admin.wrapped_tree_key, &admin_ad)?;
    admin.wrapped_tree_key = keys.wrap_for_user(new, &admin_ad);
    tx.put_enterprise_admin(&admin)?;
    let nodes = tx.enterprise_nodes(tenant)?;
    let node_count = nodes.len();
    for mut node in nodes {
        node.data = reseal(&old, new, &node.data, &ad::node(tenant, node.node_id))?;
        tx.move_enterprise_node(&node)?;
    }
    let roles = tx.roles(tenant)?;
    let role_count = roles.len();
    for mut role in roles {
        role.data = reseal(&old, new, &role.data, &ad::role(tenant, role.role_id))?;
        tx.put_role(&role)?;
    }
    let mut companies = Vec::new();
    for mut mc in tx.managed_companies(tenant)? {
        let ad = ad::mc_tree_key(&mc.tenant_uid, tenant);
        let key = old.unwrap_key(&mc.wrapped_tree_key, &ad)?;
        mc.wrapped_tree_key = new.wrap(&key, &ad);
        tx.put_managed_company(&mc)?;
        companies.push(mc.name);
    }
    Ok((node_count, role_count, companies))
}

/// `blob` (sealed under `old` with `ad`) sealed under `new` instead.
fn reseal(old: &Key, new: &Key, blob: &[u8], ad: &[u8]) -> crate::vault::Result<Vec<u8>> {
    Ok(new.seal(&old.open(blob, ad)?, ad))
}
