//! Roles with enforcements, as an MSP admin manages them: the MSP's own
//! roles, or (through its tree key) a managed company's. A role's name is
//! sealed under its enterprise's tree key (AD: tenant | role id); roles
//! are matched by id or by name, any case, and a name two roles share must
//! be given as an id. Users sit on nodes (`enterprise-user --node`), which
//! decides what `msp-convert-node` moves.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Msp;
use super::enforcements::{self, Change};
use super::error::{EnterpriseError, Result};
use super::ops::refusable;
use super::state::{Node, open_node, path_of, seal_node};
use crate::vault::crypto::Key;
use crate::vault::store::enterprise::{ManagedCompanyRow, NodeRow};
use crate::vault::store::roles::{RoleRow, UserNodeRow};
use crate::vault::store::{StoreRead, StoreTx, UserRow};
use crate::vault::tenant_move::{moving_into, pending_move, refuse_moving};
use crate::vault::{Vault, ad};

/// An enterprise whose roles are read or written: the MSP itself or one
/// of its companies, with its tree key.
pub(crate) struct Scope {
    /// Its tenant.
    pub tenant_uid: String,
    /// Its enterprise id.
    pub enterprise_id: i64,
    /// Whether it is a managed company (its root node is made on first use).
    pub company: bool,
    key: Key,
}

/// A role with its name opened.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    /// The stored row.
    pub row: RoleRow,
    /// Its name.
    pub name: String,
}

/// A role as `enterprise-role` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct RoleView {
    /// Id.
    pub role_id: i64,
    /// Name.
    pub name: String,
    /// Node id.
    pub node_id: i64,
    /// Node path.
    pub node: String,
    /// Visible in the nodes below.
    pub visible_below: bool,
    /// New users get it.
    pub new_user_inherit: bool,
    /// Members' e-mails.
    pub users: Vec<String>,
    /// Enforcements as typed JSON values.
    pub enforcements: Map<String, Value>,
}

/// What `enterprise-role` changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleEdit {
    /// Make a new role of this name (else change the one named).
    pub add: bool,
    /// Role id or name.
    pub role: String,
    /// Node name or id (new roles; default the root).
    pub node: Option<String>,
    /// Visible below.
    pub visible_below: Option<bool>,
    /// New user inherit.
    pub new_user_inherit: Option<bool>,
    /// `KEY:VALUE` enforcements to set (`KEY:` removes).
    pub enforcements: Vec<String>,
    /// E-mails to add.
    pub add_users: Vec<String>,
    /// E-mails to remove.
    pub remove_users: Vec<String>,
}

impl Scope {
    /// The roles of this enterprise, names opened, by id.
    ///
    /// # Errors
    ///
    /// Storage errors; a name that does not open.
    pub(crate) fn roles(&self, store: &dyn StoreRead) -> Result<Vec<Role>> {
        store
            .roles(&self.tenant_uid)?
            .into_iter()
            .map(|row| -> Result<Role> {
                let name = self
                    .key
                    .open(&row.data, &ad::role(&self.tenant_uid, row.role_id))?;
                Ok(Role {
                    name: String::from_utf8_lossy(&name).into_owned(),
                    row,
                })
            })
            .collect()
    }

    /// The nodes of this enterprise, names opened.
    pub(crate) fn nodes(&self, store: &dyn StoreRead) -> Result<Vec<Node>> {
        store
            .enterprise_nodes(&self.tenant_uid)?
            .iter()
            .map(|n| open_node(n, &self.key))
            .collect()
    }

    /// Seals a role's name for this enterprise.
    pub(crate) fn seal_role(&self, role_id: i64, name: &str) -> Vec<u8> {
        self.key
            .seal(name.as_bytes(), &ad::role(&self.tenant_uid, role_id))
    }

    /// Seals a node's name for this enterprise.
    pub(crate) fn seal_node(&self, id: i64, parent: Option<i64>, name: &str) -> NodeRow {
        seal_node(&self.tenant_uid, id, parent, name, &self.key)
    }

    /// The root node's id; a company's (`id << 32 + 1`, named "root", as
    /// msp-add names it) is stored the first time it is needed.
    pub(crate) fn root(&self, tx: &mut dyn StoreTx) -> Result<i64> {
        if let Some(root) = self.nodes(&*tx)?.iter().find(|n| n.parent.is_none()) {
            return Ok(root.id);
        }
        if !self.company {
            return Err(EnterpriseError::Rejected("The MSP has no root node".into()));
        }
        let id = (self.enterprise_id << 32) + 1;
        tx.insert_enterprise_node(&self.seal_node(id, None, "root"))?;
        Ok(id)
    }

    /// A new role under `node_id`, written.
    pub(crate) fn add_role(
        &self,
        tx: &mut dyn StoreTx,
        name: &str,
        node_id: i64,
        like: Option<&RoleRow>,
    ) -> Result<RoleRow> {
        let role_id = tx.next_role_id(self.enterprise_id)?;
        let row = RoleRow {
            role_id,
            tenant_uid: self.tenant_uid.clone(),
            node_id,
            data: self.seal_role(role_id, name),
            visible_below: like.is_none_or(|r| r.visible_below),
            new_user_inherit: like.is_some_and(|r| r.new_user_inherit),
            enforcements: Vec::new(),
            users: Vec::new(),
        };
        tx.put_role(&row)?;
        Ok(row)
    }

    /// The users who may be members of its roles: its tenant's, and for a
    /// company also those recorded as moving into it (`msp-convert-node`
    /// left them members of the roles that moved with them).
    ///
    /// # Errors
    ///
    /// Storage errors.
    pub(crate) fn members(&self, store: &dyn StoreRead) -> Result<Vec<UserRow>> {
        let mut users = store.users(&self.tenant_uid)?;
        if self.company {
            users.extend(moving_into(store, &self.tenant_uid)?);
        }
        Ok(users)
    }

    /// The views of `roles`, with node paths and members' e-mails.
    pub(crate) fn views(&self, store: &dyn StoreRead, roles: &[Role]) -> Result<Vec<RoleView>> {
        let nodes = self.nodes(store)?;
        let users = self.members(store)?;
        let email = |uid: &String| {
            users
                .iter()
                .find(|u| &u.uid == uid)
                .map_or_else(|| uid.clone(), |u| u.email.clone())
        };
        Ok(roles
            .iter()
            .map(|r| RoleView {
                role_id: r.row.role_id,
                name: r.name.clone(),
                node_id: r.row.node_id,
                node: path_of(&nodes, r.row.node_id),
                visible_below: r.row.visible_below,
                new_user_inherit: r.row.new_user_inherit,
                users: r.row.users.iter().map(&email).collect(),
                enforcements: r
                    .row
                    .enforcements
                    .iter()
                    .map(|e| (e.key.clone(), enforcements::json_value(e)))
                    .collect(),
            })
            .collect())
    }
}

/// The one role `text` names among `roles`: its id, else its name (any
/// case).
///
/// # Errors
///
/// [`EnterpriseError::Rejected`]: no such role, or a name several roles
/// share (use the id).
pub(crate) fn find<'r>(roles: &'r [Role], text: &str) -> Result<&'r Role> {
    let text = text.trim();
    if let Ok(id) = text.parse::<i64>()
        && let Some(r) = roles.iter().find(|r| r.row.role_id == id)
    {
        return Ok(r);
    }
    let named: Vec<&Role> = roles
        .iter()
        .filter(|r| r.name.eq_ignore_ascii_case(text))
        .collect();
    match named.as_slice() {
        [one] => Ok(one),
        [] => Err(EnterpriseError::Rejected(format!(
            "Role \"{text}\" not found"
        ))),
        many => Err(EnterpriseError::Rejected(format!(
            "Role name \"{text}\" is not unique: use a Role ID ({})",
            many.iter()
                .map(|r| r.row.role_id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The one node `text` names (id, else name any case).
pub(crate) fn find_node<'n>(nodes: &'n [Node], text: &str) -> Result<&'n Node> {
    let text = text.trim();
    let by_id: Vec<&Node> = text
        .parse::<i64>()
        .ok()
        .map(|id| nodes.iter().filter(|n| n.id == id).collect())
        .unwrap_or_default();
    let found = if by_id.is_empty() {
        nodes
            .iter()
            .filter(|n| n.name.eq_ignore_ascii_case(text))
            .collect()
    } else {
        by_id
    };
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(EnterpriseError::Rejected(format!(
            "Node \"{text}\" is not found"
        ))),
        _ => Err(EnterpriseError::Rejected(format!(
            "More than one nodes \"{text}\" are found"
        ))),
    }
}

impl Msp {
    /// A company's tree key.
    pub(crate) fn mc_key(&self, mc: &ManagedCompanyRow) -> Result<Key> {
        Ok(self.tree_key.unwrap_key(
            &mc.wrapped_tree_key,
            &ad::mc_tree_key(&mc.tenant_uid, &self.uid),
        )?)
    }

    /// The MSP's own roles (`None`) or company `mc`'s (name or id).
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::NoCompany`]; storage errors.
    pub(crate) fn scope(&self, store: &dyn StoreRead, mc: Option<&str>) -> Result<Scope> {
        let Some(mc) = mc else {
            return Ok(Scope {
                tenant_uid: self.uid.clone(),
                enterprise_id: self.id,
                company: false,
                key: self.tree_key.clone(),
            });
        };
        let state = self.state_in(store)?;
        let company = state
            .company(mc)
            .ok_or_else(|| EnterpriseError::NoCompany(mc.to_string()))?;
        self.company_scope(company)
    }

    /// Company `mc`'s scope.
    pub(crate) fn company_scope(&self, mc: &ManagedCompanyRow) -> Result<Scope> {
        Ok(Scope {
            tenant_uid: mc.tenant_uid.clone(),
            enterprise_id: mc.enterprise_id,
            company: true,
            key: self.mc_key(mc)?,
        })
    }

    /// The roles of the MSP or of company `mc`, as listed.
    ///
    /// # Errors
    ///
    /// As [`Msp::scope`].
    pub(crate) fn list_roles(&self, vault: &Vault, mc: Option<&str>) -> Result<Vec<RoleView>> {
        let store = vault.store_read();
        let scope = self.scope(store, mc)?;
        let roles = scope.roles(store)?;
        scope.views(store, &roles)
    }

    /// `enterprise-role`: adds a role or changes one, in one transaction;
    /// returns it as listed and a warning when its new name is taken.
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::Rejected`]: an unknown or ambiguous role, node or
    /// user, an enforcement of the wrong type; [`crate::vault::VaultError::Moving`]
    /// for a user recorded as moving added to an MSP role; nothing is
    /// written then.
    pub(crate) fn edit_role(
        &self,
        vault: &mut Vault,
        mc: Option<&str>,
        edit: &RoleEdit,
    ) -> Result<(RoleView, Option<String>)> {
        refusable(vault, |tx| {
            let scope = self.scope(&*tx, mc)?;
            let roles = scope.roles(&*tx)?;
            let mut warning = None;
            let (mut row, name) = if edit.add {
                let name = edit.role.trim();
                if name.is_empty() {
                    return Err(EnterpriseError::Rejected("Role name is required".into()));
                }
                if let Some(same) = roles.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
                    warning = Some(format!(
                        "a role named \"{name}\" exists already (ID={}): name them by id",
                        same.row.role_id
                    ));
                }
                let node = match &edit.node {
                    Some(text) => find_node(&scope.nodes(&*tx)?, text)?.id,
                    None => scope.root(tx)?,
                };
                (scope.add_role(tx, name, node, None)?, name.to_string())
            } else {
                let role = find(&roles, &edit.role)?;
                (role.row.clone(), role.name.clone())
            };
            if let Some(v) = edit.visible_below {
                row.visible_below = v;
            }
            if let Some(v) = edit.new_user_inherit {
                row.new_user_inherit = v;
            }
            for arg in &edit.enforcements {
                match enforcements::parse(arg)? {
                    Change::Set(e) => {
                        row.enforcements.retain(|x| x.key != e.key);
                        row.enforcements.push(e);
                    }
                    Change::Remove(key) => row.enforcements.retain(|x| x.key != key),
                }
            }
            row.enforcements.sort_by(|a, b| a.key.cmp(&b.key));
            let users = scope.members(&*tx)?;
            let user = |email: &str| {
                users
                    .iter()
                    .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
                    .ok_or_else(|| {
                        EnterpriseError::Rejected(format!("User \"{}\" not found", email.trim()))
                    })
            };
            for email in &edit.add_users {
                let added = user(email)?;
                // An MSP role would hold them across the company's boundary.
                if !scope.company {
                    refuse_moving(&*tx, added)?;
                }
                if !row.users.contains(&added.uid) {
                    row.users.push(added.uid.clone());
                }
            }
            for email in &edit.remove_users {
                let uid = &user(email)?.uid;
                row.users.retain(|u| u != uid);
            }
            row.users.sort();
            tx.put_role(&row)?;
            let view = scope.views(&*tx, &[Role { row, name }])?.remove(0);
            Ok((view, warning))
        })
    }

    /// `enterprise-user EMAIL --node NODE`: places a user of the MSP on a
    /// node; returns the node's path, and the company whose recorded move
    /// this cancels (a user recorded as moving into a managed company).
    ///
    /// # Errors
    ///
    /// [`EnterpriseError::Rejected`]: no such user or node.
    pub(crate) fn place_user(
        &self,
        vault: &mut Vault,
        email: &str,
        node: &str,
    ) -> Result<(String, Option<String>)> {
        refusable(vault, |tx| {
            let scope = self.scope(&*tx, None)?;
            let nodes = scope.nodes(&*tx)?;
            let node = find_node(&nodes, node)?;
            let user = tx
                .users(&self.uid)?
                .into_iter()
                .find(|u| u.email.eq_ignore_ascii_case(email.trim()))
                .ok_or_else(|| {
                    EnterpriseError::Rejected(format!("User \"{}\" not found", email.trim()))
                })?;
            // Placing a user recorded as moving cancels the move (one
            // that cannot be honoured would otherwise stay for ever): the
            // company's roles no longer list them either.
            let cancelled = pending_move(&*tx, &user)?;
            if let Some((company, _)) = &cancelled {
                for mut role in tx.roles(company)? {
                    if role.users.contains(&user.uid) {
                        role.users.retain(|u| *u != user.uid);
                        tx.put_role(&role)?;
                    }
                }
            }
            tx.put_user_node(&UserNodeRow {
                user_uid: user.uid,
                tenant_uid: self.uid.clone(),
                node_id: node.id,
            })?;
            Ok((path_of(&nodes, node.id), cancelled.map(|(_, name)| name)))
        })
    }
}

/// For end-to-end tests: what a raw node (`role == false`) or role row's
/// sealed name `data` opens to under tenant `tenant`'s AD, with the MSP's
/// tree key (`mc` = `None`) or company `mc`'s, reached as the MSP admin
/// `email`; `None` when that key does not open it.
///
/// # Errors
///
/// Why unlocking or reaching the key failed, as text.
#[allow(clippy::too_many_arguments)]
pub fn sealed_name(
    location: &crate::vault::Location,
    email: &str,
    password: &crate::vault::SecretString,
    mc: Option<&str>,
    role: bool,
    tenant: &str,
    id: i64,
    data: &[u8],
) -> std::result::Result<Option<String>, String> {
    let open = || -> Result<Option<String>> {
        let vault = Vault::open_at(location)?.unlock(Some(email), password)?;
        let msp = Msp::of(&vault)?;
        let key = match mc {
            None => msp.tree_key.clone(),
            Some(mc) => msp.scope(vault.store_read(), Some(mc))?.key,
        };
        let ad = if role {
            ad::role(tenant, id)
        } else {
            ad::node(tenant, id)
        };
        Ok(key
            .open(data, &ad)
            .ok()
            .map(|name| String::from_utf8_lossy(&name).into_owned()))
    };
    open().map_err(|e| e.to_string())
}
