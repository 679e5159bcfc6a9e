//! Who may run what, beyond "is an admin of this enterprise": a user of a
//! managed company's tenant (an MC admin) sees only its company and is
//! refused MSP and distributor commands; `enterprise-init` is for the
//! first user of a top-level tenant that is no enterprise yet (the user
//! recorded on the tenant's row as its maker), so that on
//! a shared (PostgreSQL) store nobody makes a tenant that someone else
//! manages, or a tenant they merely joined, an enterprise of their own.

use super::error::{EnterpriseError, Result};
use crate::vault::crypto::Key;
use crate::vault::store::StoreRead;
use crate::vault::store::enterprise::EnterpriseKind;
use crate::vault::tenancy::is_key_held;
use crate::vault::{UserInfo, Vault, ad};

/// The enterprise the logged-in user administers, as its admin opens it.
pub(crate) struct Admin {
    /// Its enterprise id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its tree key.
    pub tree_key: Key,
}

/// The enterprise of kind `kind` whose admin is logged in to `vault`.
///
/// # Errors
///
/// [`EnterpriseError::InsideCompany`] after `switch-to-mc`;
/// [`EnterpriseError::InCompany`] for a managed company's user; `refuse()`
/// when the user's tenant is no such enterprise or they are not its
/// admin; a tree key that does not open is
/// [`crate::vault::VaultError::Corrupted`].
pub(crate) fn admin_of(
    vault: &Vault,
    kind: EnterpriseKind,
    refuse: impl Fn() -> EnterpriseError,
) -> Result<Admin> {
    if vault.is_key_held()? {
        return Err(EnterpriseError::InsideCompany);
    }
    refuse_company_user(vault)?;
    let user = vault.user();
    let store = vault.store_read();
    let enterprise = store
        .enterprise(&user.tenant_uid)?
        .filter(|e| e.kind == kind)
        .ok_or_else(&refuse)?;
    let admin = store
        .enterprise_admins(&user.tenant_uid)?
        .into_iter()
        .find(|a| a.user_uid == user.uid)
        .ok_or_else(&refuse)?;
    let tree_key = vault.unwrap_for_user(
        &admin.wrapped_tree_key,
        &ad::tree_key(&user.tenant_uid, &user.uid),
    )?;
    Ok(Admin {
        id: enterprise.enterprise_id,
        name: tenant_name(store, &user.tenant_uid)?,
        tree_key,
    })
}

/// Refuses a user whose tenant is a managed company: they see only their
/// company, never its MSP or distributor.
///
/// # Errors
///
/// [`EnterpriseError::InCompany`]; storage errors.
pub(crate) fn refuse_company_user(vault: &Vault) -> Result<()> {
    refuse_company_user_in(vault.store_read(), &vault.user())
}

/// [`refuse_company_user`] on `store` (a transaction's, say).
fn refuse_company_user_in(store: &dyn StoreRead, user: &UserInfo) -> Result<()> {
    match store.enterprise(&user.tenant_uid)? {
        Some(e) if e.kind == EnterpriseKind::ManagedCompany => Err(EnterpriseError::InCompany {
            email: user.email.clone(),
            id: e.enterprise_id,
            name: tenant_name(store, &user.tenant_uid)?,
        }),
        _ => Ok(()),
    }
}

/// Whether the logged-in user may make their tenant an enterprise
/// (`enterprise-init`): not from inside a managed company (switched or as
/// its user), not twice, not in a tenant another tenant manages, and only
/// as the user who made the tenant (recorded on its row when it was made:
/// no user's clock decides it).
///
/// # Errors
///
/// [`EnterpriseError::InsideCompany`], [`EnterpriseError::InCompany`],
/// [`EnterpriseError::AlreadyEnterprise`],
/// [`EnterpriseError::ManagedTenant`], [`EnterpriseError::NotFirstUser`];
/// storage errors.
pub(crate) fn may_init(vault: &Vault) -> Result<()> {
    may_init_in(vault.store_read(), &vault.user())
}

/// [`may_init`] on `store`: run again inside the transaction that makes
/// the enterprise, so that of two racing processes the loser gets the
/// same refusal, not a storage error.
///
/// # Errors
///
/// As [`may_init`].
pub(crate) fn may_init_in(store: &dyn StoreRead, user: &UserInfo) -> Result<()> {
    let users = store.users(&user.tenant_uid)?;
    if users.iter().any(|u| u.uid == user.uid && is_key_held(u)) {
        return Err(EnterpriseError::InsideCompany);
    }
    refuse_company_user_in(store, user)?;
    if let Some(e) = store.enterprise(&user.tenant_uid)? {
        return Err(EnterpriseError::AlreadyEnterprise(format!(
            "{} {}",
            e.kind.as_str(),
            e.enterprise_id
        )));
    }
    let tenants = store.tenants()?;
    let tenant = tenants.iter().find(|t| t.uid == user.tenant_uid);
    if let Some(parent) = tenant.and_then(|t| t.parent_uid.as_deref()) {
        let manager = tenants
            .iter()
            .find(|t| t.uid == parent)
            .map_or_else(|| parent.to_string(), |t| t.name.clone());
        return Err(EnterpriseError::ManagedTenant {
            email: user.email.clone(),
            manager,
        });
    }
    let creator = tenant.and_then(|t| t.creator_uid.as_deref());
    if creator == Some(user.uid.as_str()) {
        return Ok(());
    }
    Err(EnterpriseError::NotFirstUser {
        email: user.email.clone(),
        first: creator
            .and_then(|c| users.iter().find(|u| u.uid == c))
            .map_or_else(
                || "the user who made it, who is gone".into(),
                |u| u.email.clone(),
            ),
    })
}

/// A tenant's name (empty when it is gone).
pub(crate) fn tenant_name(store: &dyn StoreRead, uid: &str) -> Result<String> {
    Ok(store
        .tenants()?
        .into_iter()
        .find(|t| t.uid == uid)
        .map_or_else(String::new, |t| t.name))
}
