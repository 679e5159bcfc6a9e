//! An MSP as its admin sees it: read from the store (or inside a write
//! transaction), with the pool's available licences computed from the
//! companies' seats, node paths decrypted, and list views for printing.

use std::collections::HashMap;

use serde::Serialize;

use super::error::{EnterpriseError, Result};
use super::model::{self, UNLIMITED};
use crate::vault::ad;
use crate::vault::crypto::Key;
use crate::vault::store::StoreRead;
use crate::vault::store::enterprise::{ManagedCompanyRow, MspLicencesRow, NodeRow, PermitsRow};

/// One plan of the pool, with what is left of it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct PoolView {
    /// Plan code.
    pub plan_id: String,
    /// Licences not allocated to a company (total − allocated seats;
    /// unlimited companies draw nothing).
    pub available_licenses: i64,
    /// Licences bought.
    pub total_licenses: i64,
    /// Licences held back.
    pub stash: i64,
}

/// A node with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// Id.
    pub id: i64,
    /// Parent, `None` for a root.
    pub parent: Option<i64>,
    /// Name.
    pub name: String,
}

/// An MSP's state.
#[derive(Debug, Clone)]
pub(crate) struct MspState {
    /// Pool and permits.
    pub licences: MspLicencesRow,
    /// Companies, by id.
    pub companies: Vec<ManagedCompanyRow>,
    /// Nodes, by id.
    pub nodes: Vec<Node>,
}

impl MspState {
    /// Reads the MSP `msp_uid`, opening node names with `tree_key`.
    pub(crate) fn read(store: &dyn StoreRead, msp_uid: &str, tree_key: &Key) -> Result<Self> {
        let licences = store.msp_licences(msp_uid)?.ok_or_else(|| {
            EnterpriseError::Vault(crate::vault::VaultError::Corrupted(format!(
                "MSP {msp_uid} has no licence pool"
            )))
        })?;
        let nodes = store
            .enterprise_nodes(msp_uid)?
            .into_iter()
            .map(|n| open_node(&n, tree_key))
            .collect::<Result<_>>()?;
        Ok(Self {
            licences,
            companies: store.managed_companies(msp_uid)?,
            nodes,
        })
    }

    /// The permits, when they restrict anything.
    pub(crate) fn permits(&self) -> Option<&PermitsRow> {
        Some(&self.licences.permits).filter(|p| p.restricted)
    }

    /// Seats of `plan` allocated to companies other than `except`.
    pub(crate) fn allocated(&self, plan: &str, except: Option<&str>) -> i64 {
        self.companies
            .iter()
            .filter(|c| c.plan == plan && c.seats < UNLIMITED)
            .filter(|c| except != Some(c.tenant_uid.as_str()))
            .map(|c| c.seats)
            .sum()
    }

    /// The pool, in Commander's plan order, with available licences.
    pub(crate) fn pool(&self) -> Vec<PoolView> {
        let mut pools: Vec<PoolView> = self
            .licences
            .pools
            .iter()
            .map(|p| PoolView {
                plan_id: p.plan.clone(),
                available_licenses: p.total - self.allocated(&p.plan, None),
                total_licenses: p.total,
                stash: p.stash,
            })
            .collect();
        pools.sort_by_key(|p| model::PLANS.iter().position(|m| m.code == p.plan_id));
        pools
    }

    /// A company by case-insensitive name or numeric id.
    pub(crate) fn company(&self, name_or_id: &str) -> Option<&ManagedCompanyRow> {
        let wanted = name_or_id.trim();
        let id: Option<i64> = wanted.parse().ok();
        self.companies
            .iter()
            .find(|c| Some(c.enterprise_id) == id)
            .or_else(|| {
                self.companies
                    .iter()
                    .find(|c| c.name.to_lowercase() == wanted.to_lowercase())
            })
    }

    /// Nodes whose id or name (any case) is `text`.
    pub(crate) fn resolve_nodes(&self, text: &str) -> Vec<&Node> {
        let id: Option<i64> = text.trim().parse().ok();
        let by_id: Vec<&Node> = self.nodes.iter().filter(|n| Some(n.id) == id).collect();
        if !by_id.is_empty() {
            return by_id;
        }
        self.nodes
            .iter()
            .filter(|n| n.name.eq_ignore_ascii_case(text.trim()))
            .collect()
    }

    /// The first root node (msp-add's default).
    pub(crate) fn root_node(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.parent.is_none())
    }

    /// A node's path from its root, `\`-separated.
    pub(crate) fn node_path(&self, id: i64) -> String {
        path_of(&self.nodes, id)
    }

    /// The name of a node (its id when unknown).
    pub(crate) fn node_name(&self, id: i64) -> String {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .map_or_else(|| id.to_string(), |n| n.name.clone())
    }
}

/// Node `id`'s path from its root among `nodes`, `\`-separated (its id
/// when unknown).
pub(crate) fn path_of(nodes: &[Node], id: i64) -> String {
    let by_id: HashMap<i64, &Node> = nodes.iter().map(|n| (n.id, n)).collect();
    let mut parts = Vec::new();
    let mut at = by_id.get(&id);
    while let Some(node) = at {
        parts.push(node.name.as_str());
        if parts.len() > by_id.len() {
            break; // a cycle: say what we have
        }
        at = node.parent.and_then(|p| by_id.get(&p));
    }
    if parts.is_empty() {
        return id.to_string();
    }
    parts.reverse();
    parts.join("\\")
}

/// Opens a node's name.
pub(crate) fn open_node(row: &NodeRow, tree_key: &Key) -> Result<Node> {
    let name = tree_key.open(&row.data, &ad::node(&row.tenant_uid, row.node_id))?;
    Ok(Node {
        id: row.node_id,
        parent: row.parent_id,
        name: String::from_utf8_lossy(&name).into_owned(),
    })
}

/// Seals a node's name.
pub(crate) fn seal_node(
    tenant: &str,
    id: i64,
    parent: Option<i64>,
    name: &str,
    tree_key: &Key,
) -> NodeRow {
    NodeRow {
        node_id: id,
        tenant_uid: tenant.to_string(),
        parent_id: parent,
        data: tree_key.seal(name.as_bytes(), &ad::node(tenant, id)),
    }
}

/// A company as `msp-info` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct CompanyView {
    /// Enterprise id.
    pub company_id: i64,
    /// Name.
    pub company_name: String,
    /// Node id.
    pub node_id: i64,
    /// Node path.
    pub node: String,
    /// Node name.
    pub node_name: String,
    /// Plan code.
    pub plan: String,
    /// Plan display name.
    pub plan_name: String,
    /// File plan display (the plan's own when none was chosen).
    pub storage: String,
    /// File plan code when one above the plan's own was chosen.
    pub file_plan: Option<String>,
    /// Add-ons, `code` or `code:seats` (seat-capable ones), in Commander's order.
    pub addons: Vec<String>,
    /// Seats; -1 = unlimited.
    pub allocated: i64,
    /// Users in the company.
    pub active: i64,
    /// Paused (expired).
    pub paused: bool,
}

impl CompanyView {
    /// The view of `mc` in `state`.
    pub(crate) fn of(state: &MspState, mc: &ManagedCompanyRow) -> Self {
        let plan = model::plan(&mc.plan);
        let storage = mc
            .file_plan
            .as_deref()
            .and_then(model::file_plan)
            .or_else(|| plan.and_then(|p| model::file_plan_by_id(p.file_plan)))
            .map_or_else(String::new, |f| f.display.to_string());
        let mut addons: Vec<&crate::vault::store::enterprise::AddonRow> =
            mc.addons.iter().collect();
        addons.sort_by_key(|a| model::addon_order(&a.addon));
        let addons = addons
            .into_iter()
            .map(|a| {
                let seats = model::addon_by_code(&a.addon).is_some_and(|d| d.seats) && a.seats > 0;
                if seats {
                    let n = if a.seats >= UNLIMITED { -1 } else { a.seats };
                    format!("{}:{n}", a.addon)
                } else {
                    a.addon.clone()
                }
            })
            .collect();
        Self {
            company_id: mc.enterprise_id,
            company_name: mc.name.clone(),
            node_id: mc.node_id,
            node: state.node_path(mc.node_id),
            node_name: state.node_name(mc.node_id),
            plan: mc.plan.clone(),
            plan_name: plan.map_or_else(|| mc.plan.clone(), |p| p.display.to_string()),
            storage,
            file_plan: mc.file_plan.clone(),
            addons,
            allocated: if mc.seats >= UNLIMITED { -1 } else { mc.seats },
            active: mc.active_users,
            paused: mc.paused,
        }
    }
}
