//! `keeper enterprise-init --msp NAME --licences FILE`: makes the
//! logged-in user's tenant an MSP (there is no cloud to ask), with the
//! licence pool, permits, nodes and any existing companies the file
//! lists. The logged-in user becomes its admin: the MSP's new tree key is
//! wrapped under their data key.
//!
//! The file is TOML (or JSON, by its `.json` extension); unknown keys are
//! refused. See `docs/msp.md` and `tests/fixtures/msp/licences.toml`.

use std::path::Path;

use serde::Deserialize;

use super::error::{EnterpriseError, Result};
pub(super) use super::files::parse;
use super::model;
use super::ops::{AddRequest, refusable};
use super::pricing::{self, PriceEntry, PriceTable};
use super::state::seal_node;
use super::{Msp, access};
use crate::vault::crypto::Key;
use crate::vault::store::StoreTx;
use crate::vault::store::enterprise::{
    EnterpriseAdminRow, EnterpriseKind, EnterpriseRow, MspLicencesRow, NodeRow, PermitsRow, PoolRow,
};
use crate::vault::{Vault, VaultError, ad, now_ms};

/// Enterprise ids (the MSP's, its companies') are below this: the root
/// node id is `id << 32 | 1`, which must not wrap.
pub(super) const ID_LIMIT: i64 = 1 << 31;
/// Node ids the file gives are below this (room for the next ones).
const NODE_ID_LIMIT: i64 = 1 << 62;

/// A licences file (also an MSP's part of a distributor's file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LicencesFile {
    /// The MSP's enterprise id.
    pub(super) id: Option<i64>,
    /// The pool, one entry per plan.
    #[serde(default)]
    pub(super) pool: Vec<PoolEntry>,
    /// Permits; none: no restrictions.
    pub(super) permits: Option<Permits>,
    /// Nodes below the root (named after the MSP).
    #[serde(default)]
    pub(super) nodes: Vec<NodeEntry>,
    /// Companies the MSP manages already.
    #[serde(default)]
    pub(super) companies: Vec<CompanyEntry>,
    /// The price table (`pricing.rs`); none: no prices.
    pub(super) prices: Option<Vec<PriceEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PoolEntry {
    plan: String,
    total: i64,
    #[serde(default)]
    stash: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Permits {
    #[serde(default)]
    allow_unlimited: bool,
    #[serde(default)]
    allowed_products: Vec<String>,
    #[serde(default)]
    allowed_addons: Vec<String>,
    max_file_plan: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NodeEntry {
    name: String,
    /// Node id; default: the next one.
    id: Option<i64>,
    /// Parent node name or id; default: the root.
    parent: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompanyEntry {
    id: Option<i64>,
    name: String,
    plan: String,
    seats: Option<i64>,
    file_plan: Option<String>,
    #[serde(default)]
    addons: Vec<String>,
    node: Option<String>,
}

/// What `enterprise-init` made.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Initialised {
    /// The MSP's enterprise id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its admin.
    pub admin: String,
    /// Companies created from the file.
    pub companies: usize,
}

/// Reads and checks a licences file.
fn read(path: &Path) -> Result<LicencesFile> {
    let file: LicencesFile = parse(path)?;
    check(&file, &|reason| EnterpriseError::Licences {
        path: path.display().to_string(),
        reason,
    })?;
    Ok(file)
}

/// Checks a licences file's codes and ids; `bad` makes the error.
pub(super) fn check(file: &LicencesFile, bad: &dyn Fn(String) -> EnterpriseError) -> Result<()> {
    for p in &file.pool {
        if model::plan(&p.plan).is_none() {
            return Err(bad(format!(
                "unknown plan {:?} in the pool (known: {})",
                p.plan,
                model::PLANS.map(|p| p.code).join(", ")
            )));
        }
        if p.total < 0 || p.stash < 0 {
            return Err(bad(format!("the {} pool has negative licences", p.plan)));
        }
    }
    if let Some(permits) = &file.permits {
        for p in &permits.allowed_products {
            if model::plan(p).is_none() {
                return Err(bad(format!("unknown plan {p:?} in allowed_products")));
            }
        }
        for a in &permits.allowed_addons {
            if model::addon_by_code(a).is_none() {
                return Err(bad(format!("unknown add-on {a:?} in allowed_addons")));
            }
        }
        if let Some(f) = &permits.max_file_plan
            && model::file_plan(f).is_none()
        {
            return Err(bad(format!("unknown file plan {f:?} in max_file_plan")));
        }
    }
    if file.id.is_some_and(|id| !(1..ID_LIMIT).contains(&id)) {
        return Err(bad(format!("the MSP's id must be 1 to {}", ID_LIMIT - 1)));
    }
    for c in &file.companies {
        if c.id.is_some_and(|id| !(1..ID_LIMIT).contains(&id)) {
            return Err(bad(format!(
                "company {:?}: its id must be 1 to {}",
                c.name,
                ID_LIMIT - 1
            )));
        }
    }
    for n in &file.nodes {
        if n.id.is_some_and(|id| !(1..NODE_ID_LIMIT).contains(&id)) {
            return Err(bad(format!(
                "node {:?}: its id must be 1 to {}",
                n.name,
                NODE_ID_LIMIT - 1
            )));
        }
    }
    if let Some(prices) = &file.prices {
        PriceTable::check(prices).map_err(bad)?;
    }
    Ok(())
}

/// The MSP's nodes: its root (`id << 32 | 1`, named after it) and the
/// file's, sealed under `tree_key`.
fn nodes(
    file: &LicencesFile,
    path: &Path,
    tenant: &str,
    id: i64,
    name: &str,
    tree_key: &Key,
) -> Result<Vec<NodeRow>> {
    let bad = |reason: String| EnterpriseError::Licences {
        path: path.display().to_string(),
        reason,
    };
    let root = id
        .checked_shl(32)
        .filter(|r| r >> 32 == id)
        .map(|r| r | 1)
        .ok_or_else(|| bad(format!("enterprise id {id} is too large")))?;
    let mut nodes = vec![seal_node(tenant, root, None, name, tree_key)];
    let mut named: Vec<(String, i64)> = vec![(name.to_lowercase(), root)];
    for n in &file.nodes {
        let node_id = match n.id {
            Some(id) => id,
            None => nodes
                .iter()
                .map(|r| r.node_id)
                .max()
                .unwrap_or(root)
                .checked_add(1)
                .ok_or_else(|| bad(format!("node {:?}: no node id left", n.name)))?,
        };
        let parent = match &n.parent {
            None => root,
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|pid| nodes.iter().any(|r| r.node_id == *pid))
                .or_else(|| {
                    named
                        .iter()
                        .find(|(k, _)| *k == p.to_lowercase())
                        .map(|(_, v)| *v)
                })
                .ok_or_else(|| {
                    bad(format!(
                        "node {:?}: parent {p:?} is not a node listed before it",
                        n.name
                    ))
                })?,
        };
        if nodes.iter().any(|r| r.node_id == node_id) {
            return Err(bad(format!("node id {node_id} is used twice")));
        }
        nodes.push(seal_node(
            tenant,
            node_id,
            Some(parent),
            n.name.trim(),
            tree_key,
        ));
        named.push((n.name.trim().to_lowercase(), node_id));
    }
    Ok(nodes)
}

/// Makes the logged-in user's tenant the MSP `name` with the licences in
/// `path` and the companies it lists, in one transaction: a refused
/// company (named in the error) leaves the tenant as it was.
///
/// # Errors
///
/// [`EnterpriseError::Licences`] for a file that cannot be used (nothing
/// written); [`EnterpriseError::AlreadyEnterprise`]; a company of the
/// file that `msp-add` would refuse.
pub(crate) fn init(vault: &mut Vault, name: &str, path: &Path) -> Result<Initialised> {
    let file = read(path)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(EnterpriseError::Rejected("the MSP needs a name".into()));
    }
    access::may_init(vault)?;
    let user = vault.user();
    let tenant = user.tenant_uid.clone();
    let tree_key = Key::generate();
    let new = NewMsp {
        admin: EnterpriseAdminRow {
            tenant_uid: tenant.clone(),
            user_uid: user.uid.clone(),
            wrapped_tree_key: vault.wrap_for_user(&tree_key, &ad::tree_key(&tenant, &user.uid)),
        },
        tenant,
        name: name.to_string(),
        tree_key,
        parent: None,
    };
    let id = refusable(vault, |tx| {
        // Again inside the transaction: another process may have made the
        // tenant an enterprise since.
        access::may_init_in(&*tx, &user)?;
        provision_in(tx, &new, &file, path)
    })?;
    Ok(Initialised {
        id,
        name: name.to_string(),
        admin: user.email,
        companies: file.companies.len(),
    })
}

/// An MSP about to be made: its tenant (which exists), name, tree key,
/// first admin and managing distributor.
pub(super) struct NewMsp {
    /// Its tenant.
    pub(super) tenant: String,
    /// Its name.
    pub(super) name: String,
    /// Its new tree key.
    pub(super) tree_key: Key,
    /// Its admin, holding the tree key.
    pub(super) admin: EnterpriseAdminRow,
    /// The distributor's tenant, if one manages it.
    pub(super) parent: Option<String>,
}

/// The pool and permits of `file` as rows of `tenant`.
fn licences_row(tenant: &str, file: &LicencesFile) -> MspLicencesRow {
    MspLicencesRow {
        msp_uid: tenant.to_string(),
        pools: file
            .pool
            .iter()
            .map(|p| PoolRow {
                plan: model::plan(&p.plan).map_or(p.plan.clone(), |m| m.code.to_string()),
                total: p.total,
                stash: p.stash,
            })
            .collect(),
        permits: file
            .permits
            .as_ref()
            .map_or_else(PermitsRow::unrestricted, |p| PermitsRow {
                restricted: true,
                allow_unlimited: p.allow_unlimited,
                allowed_products: p
                    .allowed_products
                    .iter()
                    .filter_map(|c| model::plan(c).map(|m| m.code.to_string()))
                    .collect(),
                allowed_addons: p
                    .allowed_addons
                    .iter()
                    .filter_map(|c| model::addon_by_code(c).map(|m| m.code.to_string()))
                    .collect(),
                max_file_plan: p
                    .max_file_plan
                    .as_deref()
                    .and_then(model::file_plan)
                    .map(|f| f.code.to_string()),
            }),
    }
}

/// Makes `new.tenant` the MSP `file` describes, inside `tx`: its
/// enterprise row, admin, nodes, pool and permits, and the file's
/// companies. Returns its enterprise id.
pub(super) fn provision_in(
    tx: &mut dyn StoreTx,
    new: &NewMsp,
    file: &LicencesFile,
    path: &Path,
) -> Result<i64> {
    let at = |reason: String| EnterpriseError::Licences {
        path: path.display().to_string(),
        reason,
    };
    let companies: Vec<AddRequest> = file
        .companies
        .iter()
        .map(|c| AddRequest {
            name: c.name.clone(),
            plan: c.plan.clone(),
            seats: c.seats,
            file_plan: c.file_plan.clone(),
            addons: c.addons.clone(),
            node: c.node.clone(),
            id: c.id,
        })
        .collect();
    let (tenant, name) = (&new.tenant, new.name.as_str());
    // The file's id, or the next one no enterprise of the store has:
    // a second MSP in a store gets its own.
    let id = match file.id {
        Some(id) => id,
        None => tx.next_enterprise_id()?,
    };
    if tx.enterprises()?.iter().any(|e| e.enterprise_id == id) {
        return Err(at(format!("enterprise id {id} is taken")));
    }
    let nodes = nodes(file, path, tenant, id, name, &new.tree_key)?;
    tx.rename_tenant(tenant, name)?;
    tx.insert_enterprise(&EnterpriseRow {
        tenant_uid: tenant.clone(),
        enterprise_id: id,
        kind: EnterpriseKind::Msp,
        parent_uid: new.parent.clone(),
        created: now_ms(),
    })?;
    tx.put_enterprise_admin(&new.admin)?;
    for n in &nodes {
        // Node ids are store-wide: one another tenant has is refused,
        // never taken over.
        tx.insert_enterprise_node(n).map_err(|e| match e {
            VaultError::Exists(_) => at(format!(
                "node id {} is taken by another enterprise",
                n.node_id
            )),
            e => e.into(),
        })?;
    }
    tx.put_msp_licences(&licences_row(tenant, file))?;
    if let Some(prices) = &file.prices {
        let table = PriceTable::check(prices).map_err(at)?;
        tx.put_msp_prices(&pricing::row(tenant, &table)?)?;
    }
    let msp = Msp::new(tenant.clone(), id, name.to_string(), new.tree_key.clone());
    // Read once, then kept up to date here: reading it again for each
    // company made a file of 1 000 companies take 10 s.
    let mut state = msp.state_in(&*tx)?;
    for c in &companies {
        let row = msp.add_in(tx, &state, c).map_err(|e| match e {
            // A conflict must reach the retry loop as it is.
            EnterpriseError::Vault(e) if !matches!(e, VaultError::Exists(_)) => {
                EnterpriseError::Vault(e)
            }
            e => at(format!("company {:?}: {e}", c.name)),
        })?;
        state.companies.push(row);
    }
    Ok(id)
}
