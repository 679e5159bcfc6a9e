//! The MSP's operations: `msp-add`, `msp-update`, `msp-remove`. Each
//! reads the MSP inside one write transaction, checks the request
//! (`validate.rs`, Commander's order and messages), then writes the
//! company and its billing-ledger events in that same transaction:
//! a refusal writes nothing.

use std::collections::BTreeMap;

use super::Msp;
use super::clock::now_ms;
use super::error::{EnterpriseError, Result};
use super::model;
use super::state::{CompanyView, MspState};
use super::validate::{self, PlanOrder};
use crate::vault::crypto::{self, Key};
use crate::vault::store::enterprise::{
    AddonRow, BillingEventRow, EnterpriseKind, EnterpriseRow, ManagedCompanyRow,
};
use crate::vault::store::{StoreRead, StoreTx, TenantRow};
use crate::vault::tenancy::is_key_held;
use crate::vault::tenant_move::moving_into;
use crate::vault::{Vault, VaultError, ad};

/// `msp-add`: a new managed company.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddRequest {
    /// Name.
    pub name: String,
    /// Plan code.
    pub plan: String,
    /// Seats (-1: unlimited; none: 0).
    pub seats: Option<i64>,
    /// File plan (`1TB`, `STORAGE_1TB`).
    pub file_plan: Option<String>,
    /// `ADDON[:SEATS]` arguments.
    pub addons: Vec<String>,
    /// Node name or id (default: the first root node).
    pub node: Option<String>,
    /// The enterprise id to give it (licences files); else the next free.
    pub id: Option<i64>,
}

/// `msp-update`: changes to a managed company.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpdateRequest {
    /// New node.
    pub node: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New plan.
    pub plan: Option<String>,
    /// New seats.
    pub seats: Option<i64>,
    /// New file plan.
    pub file_plan: Option<String>,
    /// `ADDON[:SEATS]` to add or replace.
    pub add_addons: Vec<String>,
    /// Add-ons to remove.
    pub remove_addons: Vec<String>,
}

/// What the company's own data holds (sealed under its tree key).
#[derive(serde::Serialize)]
struct CompanyData<'a> {
    root_node: &'a str,
    admin_role: &'a str,
}

/// Runs `f` in one write transaction; a refusal rolls it back and is
/// returned as it is.
pub(crate) fn refusable<T>(
    vault: &mut Vault,
    mut f: impl FnMut(&mut dyn StoreTx) -> Result<T>,
) -> Result<T> {
    let mut refused = None;
    let out = vault.transact(|tx| match f(tx) {
        Ok(v) => Ok(v),
        Err(EnterpriseError::Vault(e)) => Err(e),
        Err(e) => {
            refused = Some(e);
            Err(VaultError::Invalid("refused".into()))
        }
    });
    match (out, refused) {
        (_, Some(e)) => Err(e),
        (out, None) => Ok(out?),
    }
}

impl Msp {
    /// Runs `f` in one transaction on this MSP's fresh state.
    fn transact<T>(
        &self,
        vault: &mut Vault,
        mut f: impl FnMut(&mut dyn StoreTx, &MspState) -> Result<T>,
    ) -> Result<T> {
        refusable(vault, |tx| {
            let state = self.state_in(&*tx)?;
            f(tx, &state)
        })
    }

    /// Adds a managed company; returns it as listed.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::Rejected`] with Commander's message, in its
    /// order (node, plan, seats, existing name, file plan, add-ons);
    /// [`EnterpriseError::Pool`]; storage errors.
    pub(crate) fn add(&self, vault: &mut Vault, req: &AddRequest) -> Result<CompanyView> {
        self.transact(vault, |tx, state| {
            let row = self.add_in(tx, state, req)?;
            let mut after = state.clone();
            after.companies.push(row.clone());
            Ok(CompanyView::of(&after, &row))
        })
    }

    /// [`Msp::add`] inside a transaction, on `state` read in it.
    pub(crate) fn add_in(
        &self,
        tx: &mut dyn StoreTx,
        state: &MspState,
        req: &AddRequest,
    ) -> Result<ManagedCompanyRow> {
        let name = req.name.trim().to_string();
        if name.is_empty() {
            return Err(EnterpriseError::Rejected(
                "Managed Company name is required".into(),
            ));
        }
        let uid = crypto::new_uid();
        let tree_key = Key::generate();
        let node_id = validate::node(state, req.node.as_deref())?;
        let plan = validate::plan(state, &req.plan, PlanOrder::AllowedFirst)?;
        let seats = validate::seats(state, req.seats.unwrap_or(0))?;
        if state.company(&name).is_some()
            || req
                .id
                .is_some_and(|id| state.company(&id.to_string()).is_some())
        {
            return Err(EnterpriseError::Rejected(format!(
                "Managed company '{name}' already exists: Skipping"
            )));
        }
        let file_plan = match &req.file_plan {
            Some(text) => validate::file_plan(state, plan, text)?,
            None => None,
        };
        let mut addons: Vec<AddonRow> = Vec::new();
        for arg in &req.addons {
            let a = validate::addon(state, arg, true)?;
            addons.retain(|b| b.addon != a.addon);
            addons.push(a);
        }
        validate::addon_rules(&addons)?;
        validate::pool(state, plan.code, seats, None)?;
        let id = match req.id {
            Some(id) => id,
            None => tx.next_enterprise_id()?,
        };
        let now = now_ms();
        tx.insert_tenant(&TenantRow {
            uid: uid.clone(),
            name: name.clone(),
            parent_uid: Some(self.uid.clone()),
            created: now,
            creator_uid: None,
        })?;
        tx.insert_enterprise(&EnterpriseRow {
            tenant_uid: uid.clone(),
            enterprise_id: id,
            kind: EnterpriseKind::ManagedCompany,
            parent_uid: Some(self.uid.clone()),
            created: now,
        })?;
        let data = serde_json::to_vec(&CompanyData {
            root_node: "root",
            admin_role: "Keeper Administrator",
        })
        .map_err(|e| VaultError::Storage(format!("cannot encode company data: {e}")))?;
        let row = ManagedCompanyRow {
            tenant_uid: uid.clone(),
            msp_uid: self.uid.clone(),
            enterprise_id: id,
            name: name.clone(),
            node_id,
            plan: plan.code.to_string(),
            seats,
            file_plan,
            paused: false,
            wrapped_tree_key: self
                .tree_key
                .wrap(&tree_key, &ad::mc_tree_key(&uid, &self.uid)),
            data: tree_key.seal(&data, &ad::enterprise_data(&uid)),
            addons: addons.clone(),
            active_users: 0,
        };
        tx.put_managed_company(&row)?;
        record_changes(tx, &self.uid, id, None, Some(&row), now)?;
        Ok(row)
    }

    /// Changes a managed company (by name or id); returns it as listed.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::NoCompany`]; [`EnterpriseError::Rejected`] in
    /// Commander's order (node, plan, seats, file plan, add-ons);
    /// [`EnterpriseError::Pool`]; storage errors.
    pub(crate) fn update(
        &self,
        vault: &mut Vault,
        mc: &str,
        req: &UpdateRequest,
    ) -> Result<CompanyView> {
        self.transact(vault, |tx, state| {
            let old = state
                .company(mc)
                .ok_or_else(|| EnterpriseError::NoCompany(mc.to_string()))?;
            let mut new = old.clone();
            if req.node.is_some() {
                new.node_id = validate::node(state, req.node.as_deref())?;
            }
            if let Some(name) = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                if state
                    .company(name)
                    .is_some_and(|c| c.tenant_uid != old.tenant_uid)
                {
                    return Err(EnterpriseError::Rejected(format!(
                        "Managed company '{name}' already exists"
                    )));
                }
                new.name = name.to_string();
            }
            if let Some(text) = &req.plan {
                new.plan = validate::plan(state, text, PlanOrder::KnownFirst)?
                    .code
                    .to_string();
            }
            if let Some(seats) = req.seats {
                new.seats = validate::seats(state, seats)?;
            }
            let plan = model::plan(&new.plan).ok_or_else(|| {
                EnterpriseError::Rejected(format!(
                    "Managed Company plan \"{}\" is not found",
                    new.plan
                ))
            })?;
            new.file_plan = match (&req.file_plan, old.file_plan.as_deref()) {
                (Some(text), _) => validate::file_plan(state, plan, text)?,
                // A file plan carried to another plan is checked as if
                // asked for: the permits may have lowered the maximum.
                (None, Some(code)) if new.plan != old.plan => {
                    validate::file_plan(state, plan, code)?
                }
                // An existing file plan stays unless the plan includes it.
                (None, _) => old
                    .file_plan
                    .clone()
                    .filter(|code| model::file_plan(code).is_some_and(|f| f.id > plan.file_plan)),
            };
            for arg in &req.add_addons {
                let a = validate::addon(state, arg, true)?;
                new.addons.retain(|b| b.addon != a.addon);
                new.addons.push(a);
            }
            for arg in &req.remove_addons {
                let a = validate::addon(state, arg, false)?;
                new.addons.retain(|b| b.addon != a.addon);
            }
            validate::addon_rules(&new.addons)?;
            // Unlimited draws nothing: unlimited -> 50 draws 50 and is
            // checked like 0 -> 50.
            if new.plan != old.plan || validate::draw(new.seats) > validate::draw(old.seats) {
                validate::pool(state, &new.plan, new.seats, Some(&old.tenant_uid))?;
            }
            if new.name != old.name {
                tx.rename_tenant(&new.tenant_uid, &new.name)?;
            }
            tx.put_managed_company(&new)?;
            record_changes(
                tx,
                &self.uid,
                new.enterprise_id,
                Some(old),
                Some(&new),
                now_ms(),
            )?;
            let mut after = state.clone();
            after.companies.retain(|c| c.tenant_uid != new.tenant_uid);
            after.companies.push(new.clone());
            Ok(CompanyView::of(&after, &new))
        })
    }

    /// What removing company `mc` (by name or id) deletes beyond the
    /// company's own rows, and whose move it cancels.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::NoCompany`]; storage errors.
    pub(crate) fn removal(&self, vault: &Vault, mc: &str) -> Result<Removal> {
        let store = vault.store_read();
        let state = self.state_in(store)?;
        let old = state
            .company(mc)
            .ok_or_else(|| EnterpriseError::NoCompany(mc.to_string()))?;
        removal_of(store, &old.tenant_uid)
    }

    /// Removes a managed company (by name or id) with everything in its
    /// tenant; returns what it was. `seen` is what the admin confirmed
    /// ([`Msp::removal`]): if the company's users or their records changed
    /// since, nothing is removed.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::NoCompany`]; [`EnterpriseError::Rejected`] when
    /// the removal is no longer what was confirmed; storage errors.
    pub(crate) fn remove(
        &self,
        vault: &mut Vault,
        mc: &str,
        seen: &Removal,
    ) -> Result<CompanyView> {
        self.transact(vault, |tx, state| {
            let old = state
                .company(mc)
                .ok_or_else(|| EnterpriseError::NoCompany(mc.to_string()))?;
            if removal_of(&*tx, &old.tenant_uid)? != *seen {
                return Err(EnterpriseError::Rejected(format!(
                    "Managed company \"{}\" changed since the confirmation (its users or their \
                     records): nothing was removed; run msp-remove again",
                    crate::runtime::text::escaped(&old.name)
                )));
            }
            let view = CompanyView::of(state, old);
            tx.delete_managed_company(&old.tenant_uid)?;
            record_changes(tx, &self.uid, old.enterprise_id, Some(old), None, now_ms())?;
            Ok(view)
        })
    }
}

/// What `msp-remove` deletes with a company that a plain company does not
/// have: users who log in with their own master password (moved in by
/// `msp-convert-node`, or added after `switch-to-mc`), each with the
/// number of records, applications and devices they own, and the users recorded as moving into it,
/// whose move is cancelled (they stay with the MSP, on its root node).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Removal {
    /// Each password user, by e-mail.
    pub users: Vec<RemovedUser>,
    /// E-mails of the users recorded as moving into the company.
    pub moving: Vec<String>,
}

/// A password user `msp-remove` deletes, with what they own.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RemovedUser {
    /// E-mail.
    pub email: String,
    /// Records owned.
    pub records: usize,
    /// Secrets-manager applications owned.
    pub apps: usize,
    /// Client devices of those applications.
    pub devices: usize,
}

/// [`Removal`] of the company whose tenant is `tenant`.
fn removal_of(store: &dyn StoreRead, tenant: &str) -> Result<Removal> {
    let mut owned: BTreeMap<String, usize> = BTreeMap::new();
    store.tenant_records(tenant, &mut |r| {
        *owned.entry(r.owner_uid).or_default() += 1;
        Ok(())
    })?;
    let apps = store.apps(tenant)?;
    let clients = store.app_clients(tenant)?;
    let mut users: Vec<RemovedUser> = store
        .users(tenant)?
        .into_iter()
        .filter(|u| !is_key_held(u))
        .map(|u| {
            let theirs: Vec<&str> = apps
                .iter()
                .filter(|a| a.owner_uid == u.uid)
                .map(|a| a.uid.as_str())
                .collect();
            RemovedUser {
                records: owned.get(&u.uid).copied().unwrap_or(0),
                apps: theirs.len(),
                devices: clients
                    .iter()
                    .filter(|c| theirs.contains(&c.app_uid.as_str()))
                    .count(),
                email: u.email,
            }
        })
        .collect();
    users.sort();
    let mut moving: Vec<String> = moving_into(store, tenant)?
        .into_iter()
        .map(|u| u.email)
        .collect();
    moving.sort();
    Ok(Removal { users, moving })
}

/// What a company holds, product by product: its plan (seats), file plan
/// (1) and add-ons (their seats as stored, 0 for those without).
fn holdings(mc: &ManagedCompanyRow) -> BTreeMap<String, i64> {
    let mut h = BTreeMap::new();
    h.insert(mc.plan.clone(), mc.seats);
    if let Some(f) = &mc.file_plan {
        h.insert(f.clone(), 1);
    }
    for a in &mc.addons {
        h.insert(a.addon.clone(), a.seats);
    }
    h
}

/// Writes a ledger event for every product whose licences changed
/// between `old` and `new` (`None`: the company did not / no longer
/// exist).
pub(crate) fn record_changes(
    tx: &mut dyn StoreTx,
    msp_uid: &str,
    mc_id: i64,
    old: Option<&ManagedCompanyRow>,
    new: Option<&ManagedCompanyRow>,
    at: i64,
) -> Result<()> {
    let company = new.or(old).map_or_else(String::new, |c| c.name.clone());
    let before = old.map(holdings).unwrap_or_default();
    let after = new.map(holdings).unwrap_or_default();
    let mut products: Vec<&String> = before.keys().chain(after.keys()).collect();
    products.sort();
    products.dedup();
    for product in products {
        let (was, now) = (before.get(product), after.get(product));
        if was == now {
            continue;
        }
        let change = match (old, new) {
            (None, _) => "added",
            (_, None) => "removed",
            _ if model::plan(product).is_some() => {
                if was.is_some() && now.is_some() {
                    "seats"
                } else {
                    "plan"
                }
            }
            _ if model::file_plan(product).is_some() => "file_plan",
            // An add-on's presence is its own change: one without seats
            // holds 0 of them while enabled.
            _ if was.is_none() => "addon_enabled",
            _ if now.is_none() => "addon_disabled",
            _ => "addon_seats",
        };
        tx.insert_billing_event(&BillingEventRow {
            id: 0,
            msp_uid: msp_uid.to_string(),
            mc_id,
            at,
            change: change.to_string(),
            product: product.clone(),
            licences: now.copied().unwrap_or(0),
            company: company.clone(),
        })?;
    }
    Ok(())
}
