//! `msp-convert-node`: an MSP sub-tree becomes a managed company, in one
//! transaction. The root is refused; a sub-tree that cannot move is
//! refused with every reason listed (a managed company on it, an MSP admin
//! on it, role, team or share links across its boundary, an e-mail or an
//! application name a reused company already has, an `account_share`
//! enforcement naming a role on the other side). Seats are max(`-s`,
//! users moved, 1), the plan `business` by default, and a company of the
//! node's name is reused with its plan, its seats raised to hold every
//! user it will have. What moves is re-sealed under
//! the company's tree key: each node's and each role's name with its own
//! AD (so the MSP's key no longer opens it). Users are recorded as moving:
//! their data keys are bound to their tenant under their own passwords,
//! so each user's move (with what they own) is finished by their next
//! password unlock (`crate::vault`'s `tenant_move.rs`).

use std::collections::HashSet;

use super::Msp;
use super::clock::now_ms;
use super::error::{EnterpriseError, Result};
use super::model::UNLIMITED;
use super::ops::{AddRequest, record_changes, refusable};
use super::roles::find_node;
use super::state::{MspState, Node};
use super::validate::{self, PlanOrder};
use crate::vault::Vault;
use crate::vault::store::enterprise::ManagedCompanyRow;
use crate::vault::store::roles::{RoleRow, UserNodeRow};
use crate::vault::store::{StoreTx, UserRow};
use crate::vault::tenant_move::{crossing_links, move_clashes, moving_into};

/// `msp-convert-node`'s request.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConvertRequest {
    /// Node name or id.
    pub node: String,
    /// `-s`: seats at least.
    pub seats: Option<i64>,
    /// `-p`: plan (default business).
    pub plan: Option<String>,
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Converted {
    /// The company's id.
    pub mc_id: i64,
    /// Its name.
    pub mc_name: String,
    /// Whether it existed already.
    pub reused: bool,
    /// Its seats.
    pub seats: i64,
    /// A reused company's seats before they were raised to hold the
    /// users it will have.
    pub raised_from: Option<i64>,
    /// Nodes, roles and users moved.
    pub nodes: usize,
    /// Roles moved.
    pub roles: usize,
    /// Users moved.
    pub users: usize,
}

/// The ids of `top` and every node below it.
fn subtree(nodes: &[Node], top: i64) -> HashSet<i64> {
    let mut ids = HashSet::from([top]);
    loop {
        let before = ids.len();
        for n in nodes {
            if n.parent.is_some_and(|p| ids.contains(&p)) {
                ids.insert(n.id);
            }
        }
        if ids.len() == before {
            return ids;
        }
    }
}

/// Why the users `moving` (on the sub-tree `ids`) cannot move: every
/// link that would cross the boundary.
fn blockers(
    tx: &dyn StoreTx,
    msp: &Msp,
    state: &MspState,
    ids: &HashSet<i64>,
    roles: &[(RoleRow, String)],
    moving: &HashSet<String>,
    reused: Option<&ManagedCompanyRow>,
) -> Result<Vec<String>> {
    let mut why = Vec::new();
    let users = tx.users(&msp.uid)?;
    if let Some(mc) = reused {
        let movers: Vec<&UserRow> = users.iter().filter(|u| moving.contains(&u.uid)).collect();
        why.extend(move_clashes(tx, &movers, &mc.tenant_uid)?);
    }
    let email = |uid: &str| {
        users
            .iter()
            .find(|u| u.uid == uid)
            .map_or_else(|| uid.to_string(), |u| u.email.clone())
    };
    for mc in &state.companies {
        if ids.contains(&mc.node_id) {
            why.push(format!(
                "managed company \"{}\" (ID={}) is on node \"{}\"",
                mc.name,
                mc.enterprise_id,
                state.node_path(mc.node_id)
            ));
        }
    }
    for admin in tx.enterprise_admins(&msp.uid)? {
        if moving.contains(&admin.user_uid) {
            why.push(format!("user {} is an MSP admin", email(&admin.user_uid)));
        }
    }
    for (role, name) in roles {
        let inside = ids.contains(&role.node_id);
        for member in &role.users {
            if moving.contains(member) != inside {
                let side = if inside { "inside" } else { "outside" };
                why.push(format!(
                    "user {} is a member of role \"{name}\" (ID={}), which is {side} the node \
                     while the user is not",
                    email(member),
                    role.role_id
                ));
            }
        }
    }
    // An account_share enforcement names a role of its own enterprise.
    for (role, name) in roles {
        let inside = ids.contains(&role.node_id);
        for e in role
            .enforcements
            .iter()
            .filter(|e| e.value_type == "account_share")
        {
            let Some((target, target_name)) = e
                .value
                .parse::<i64>()
                .ok()
                .and_then(|id| roles.iter().find(|(r, _)| r.role_id == id))
            else {
                continue;
            };
            if ids.contains(&target.node_id) != inside {
                let side = if inside { "inside" } else { "outside" };
                why.push(format!(
                    "role \"{name}\" (ID={}), {side} the node, has {} naming role \
                     \"{target_name}\" (ID={}), which is not",
                    role.role_id, e.key, target.role_id
                ));
            }
        }
    }
    why.extend(crossing_links(tx, &msp.uid, &[&msp.uid], moving)?);
    why.dedup();
    Ok(why)
}

impl Msp {
    /// Company `old` (of the node's name), reused: its plan stays (a `-p`
    /// naming another is refused), and its seats are raised, drawn from
    /// the pool and entered in the ledger as `msp-update` would, to `-s` or
    /// to every user it will hold (its own, those recorded as moving into
    /// it, and the `moving` users of this conversion), whichever is more;
    /// unlimited seats stay.
    fn reuse(
        &self,
        tx: &mut dyn StoreTx,
        state: &MspState,
        old: &ManagedCompanyRow,
        req: &ConvertRequest,
        moving: i64,
    ) -> Result<ManagedCompanyRow> {
        if let Some(text) = &req.plan {
            let plan = validate::plan(state, text, PlanOrder::KnownFirst)?;
            if plan.code != old.plan {
                return Err(EnterpriseError::Rejected(format!(
                    "Managed company \"{}\" exists with plan {}: msp-convert-node reuses it with \
                     its plan (change it with msp-update)",
                    old.name, old.plan
                )));
            }
        }
        let pending = i64::try_from(moving_into(&*tx, &old.tenant_uid)?.len()).unwrap_or(i64::MAX);
        let wanted = req.seats.unwrap_or(0).max(
            old.active_users
                .saturating_add(pending)
                .saturating_add(moving),
        );
        if old.seats >= UNLIMITED || wanted <= old.seats {
            return Ok(old.clone());
        }
        let mut new = old.clone();
        new.seats = validate::seats(state, wanted)?;
        validate::pool(state, &new.plan, new.seats, Some(&old.tenant_uid))?;
        tx.put_managed_company(&new)?;
        record_changes(
            tx,
            &self.uid,
            new.enterprise_id,
            Some(old),
            Some(&new),
            now_ms(),
        )?;
        Ok(new)
    }

    /// Converts a node (name or id) and everything below it into a
    /// managed company.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::Rejected`]: an unknown or ambiguous node, the
    /// root, a sub-tree that cannot move (every reason listed), the checks
    /// of msp-add for a new company; [`EnterpriseError::Pool`]. Nothing is
    /// written then.
    pub(crate) fn convert_node(
        &self,
        vault: &mut Vault,
        req: &ConvertRequest,
    ) -> Result<Converted> {
        refusable(vault, |tx| {
            let state = self.state_in(&*tx)?;
            let node = find_node(&state.nodes, &req.node)?.clone();
            let Some(parent) = node.parent else {
                return Err(EnterpriseError::Rejected(format!(
                    "\"{}\" is the root node: it cannot be converted to a managed company",
                    node.name
                )));
            };
            let ids = subtree(&state.nodes, node.id);
            let own = self.scope(&*tx, None)?;
            let roles: Vec<(RoleRow, String)> = own
                .roles(&*tx)?
                .into_iter()
                .map(|r| (r.row, r.name))
                .collect();
            let moving: HashSet<String> = tx
                .user_nodes(&self.uid)?
                .into_iter()
                .filter(|u| ids.contains(&u.node_id))
                .map(|u| u.user_uid)
                .collect();
            let reused = state.company(&node.name).cloned();
            let why = blockers(&*tx, self, &state, &ids, &roles, &moving, reused.as_ref())?;
            if !why.is_empty() {
                return Err(EnterpriseError::Rejected(format!(
                    "Node \"{}\" cannot be converted to a managed company:\n  {}",
                    node.name,
                    why.join("\n  ")
                )));
            }
            let users = i64::try_from(moving.len()).unwrap_or(i64::MAX);
            let seats = req.seats.unwrap_or(0).max(users).max(1);
            let mut raised_from = None;
            let (mc, reused) = match reused {
                Some(old) => {
                    let mc = self.reuse(tx, &state, &old, req, users)?;
                    if mc.seats != old.seats {
                        raised_from = Some(old.seats);
                    }
                    (mc, true)
                }
                None => {
                    let add = AddRequest {
                        name: node.name.clone(),
                        plan: req.plan.clone().unwrap_or_else(|| "business".into()),
                        seats: Some(seats),
                        node: Some(parent.to_string()),
                        ..AddRequest::default()
                    };
                    (self.add_in(tx, &state, &add)?, false)
                }
            };
            let scope = self.company_scope(&mc)?;
            let root = scope.root(tx)?;
            let mut moved_nodes = 0;
            for n in state.nodes.iter().filter(|n| ids.contains(&n.id)) {
                let parent = if n.id == node.id {
                    Some(root)
                } else {
                    n.parent
                };
                tx.move_enterprise_node(&scope.seal_node(n.id, parent, &n.name))?;
                moved_nodes += 1;
            }
            let mut moved_roles = 0;
            for (role, name) in roles.iter().filter(|(r, _)| ids.contains(&r.node_id)) {
                let mut row = role.clone();
                row.tenant_uid = mc.tenant_uid.clone();
                row.data = scope.seal_role(role.role_id, name);
                tx.put_role(&row)?;
                moved_roles += 1;
            }
            // Each user's move is finished by their next password unlock
            // (their data key is bound to their tenant; only they open it).
            for placed in tx.user_nodes(&self.uid)? {
                if moving.contains(&placed.user_uid) {
                    tx.put_user_node(&UserNodeRow {
                        tenant_uid: mc.tenant_uid.clone(),
                        ..placed
                    })?;
                }
            }
            Ok(Converted {
                mc_id: mc.enterprise_id,
                mc_name: mc.name.clone(),
                reused,
                seats: mc.seats,
                raised_from,
                nodes: moved_nodes,
                roles: moved_roles,
                users: moving.len(),
            })
        })
    }
}
