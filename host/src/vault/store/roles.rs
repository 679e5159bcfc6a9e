//! The role tables: an enterprise's roles with their enforcements and
//! members, and which node each user of an enterprise sits on.
//!
//! What a backend stores, as rows; the rules (enforcement types, copying a
//! role to a managed company, converting a node) live in
//! `crate::enterprise::roles` and `crate::enterprise::convert`. A role's
//! name is sealed under its enterprise's tree key; its flags and
//! enforcements are in the clear, as Keeper's server sees them (they are
//! policy, enforced by the server).

use crate::vault::error::Result;

/// One enforcement of a role: a typed key/value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcementRow {
    /// Commander's name (`master_password_minimum_length`, …).
    pub key: String,
    /// Its type (`long`, `boolean`, `string`, `json`, `jsonarray`,
    /// `record_types`, `account_share`, …).
    pub value_type: String,
    /// The value as text: a number for `long`, empty for `boolean`
    /// (present = on), compact JSON for the JSON types.
    pub value: String,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    /// Role id (unique in the store).
    pub role_id: i64,
    /// The enterprise's tenant.
    pub tenant_uid: String,
    /// The node it belongs to.
    pub node_id: i64,
    /// Its name, sealed under the enterprise's tree key.
    pub data: Vec<u8>,
    /// Visible in the nodes below its own.
    pub visible_below: bool,
    /// New users of its node get it.
    pub new_user_inherit: bool,
    /// Enforcements, by key.
    pub enforcements: Vec<EnforcementRow>,
    /// Member user uids, sorted.
    pub users: Vec<String>,
}

/// The node a user of an enterprise sits on (a user without a row sits
/// on the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNodeRow {
    /// The user.
    pub user_uid: String,
    /// The enterprise's tenant.
    pub tenant_uid: String,
    /// The node.
    pub node_id: i64,
}

/// Reads of the role tables.
pub trait RolesRead {
    /// The roles of a tenant, by id, with enforcements and members.
    fn roles(&self, tenant_uid: &str) -> Result<Vec<RoleRow>>;
    /// A role id no role of the store has, in enterprise `enterprise_id`'s
    /// range (`id << 32` + 2^16 + n, apart from its node ids).
    fn next_role_id(&self, enterprise_id: i64) -> Result<i64>;
    /// The users of a tenant placed on a node.
    fn user_nodes(&self, tenant_uid: &str) -> Result<Vec<UserNodeRow>>;
    /// Where one user is placed (a tenant other than the user's: a move
    /// `msp-convert-node` recorded, finished at the user's next unlock).
    fn user_node(&self, user_uid: &str) -> Result<Option<UserNodeRow>>;
}

/// Writes of the role tables, inside one store transaction.
pub trait RolesTx {
    /// Adds or replaces a role with its enforcements and members.
    fn put_role(&mut self, row: &RoleRow) -> Result<()>;
    /// Places a user on a node (replacing where it was).
    fn put_user_node(&mut self, row: &UserNodeRow) -> Result<()>;
    /// Gives an existing node a new tenant, parent and sealed name
    /// (`msp-convert-node`); [`crate::vault::VaultError::NotFound`] when
    /// there is no such node.
    fn move_enterprise_node(
        &mut self,
        row: &crate::vault::store::enterprise::NodeRow,
    ) -> Result<()>;
    /// Moves a user, with what they own (records and their history and
    /// audit, folders, applications and their devices, their node), to
    /// another tenant ([`MOVE_USER`]).
    fn move_user(&mut self, user_uid: &str, to_tenant: &str) -> Result<()>;
}

/// The first role id of enterprise `enterprise_id` minus one.
pub fn role_id_base(enterprise_id: i64) -> i64 {
    (enterprise_id << 32) + (1 << 16)
}

/// The query behind [`RolesRead::next_role_id`] (both backends; `$1` the
/// range's base, `$2` its end).
pub const NEXT_ROLE_ID: &str = "SELECT COALESCE(max(role_id), $1) + 1 FROM enterprise_roles \
     WHERE role_id > $1 AND role_id < $2";

/// The statements that move a user and what they own to another tenant,
/// `$1` = the user uid, `$2` = the new tenant (both backends; SQLite binds
/// them by name). Records move with their owner; their key rows, links,
/// attachments and pending state carry no tenant.
pub const MOVE_USER: &[&str] = &[
    "UPDATE record_history SET tenant_uid = $2 WHERE record_uid IN (SELECT uid FROM records WHERE owner_uid = $1)",
    "UPDATE audit SET tenant_uid = $2 WHERE record_uid IN (SELECT uid FROM records WHERE owner_uid = $1)",
    "UPDATE records SET tenant_uid = $2 WHERE owner_uid = $1",
    "UPDATE folders SET tenant_uid = $2 WHERE shared_folder_uid IN \
     (SELECT uid FROM folders WHERE owner_uid = $1 AND kind = 'shared_folder') OR owner_uid = $1",
    "UPDATE app_clients SET tenant_uid = $2 WHERE app_uid IN (SELECT uid FROM apps WHERE owner_uid = $1)",
    "UPDATE apps SET tenant_uid = $2 WHERE owner_uid = $1",
    "UPDATE enterprise_users SET tenant_uid = $2 WHERE user_uid = $1",
    "UPDATE users SET tenant_uid = $2 WHERE uid = $1",
];

/// Checks both backends' tests run on their own store.
#[cfg(test)]
pub(crate) mod checks {
    use super::*;
    use crate::vault::store::Store;

    /// Roles are read back as written (enforcements and members
    /// replaced by a second put), ids are allotted per enterprise range,
    /// and deleting the tenant deletes them.
    pub fn roles_round_trip(store: &mut dyn Store) {
        let mut role = RoleRow {
            role_id: role_id_base(7) + 1,
            tenant_uid: "t1".into(),
            node_id: 3,
            data: vec![1, 2],
            visible_below: true,
            new_user_inherit: false,
            enforcements: vec![
                EnforcementRow {
                    key: "logout_timer_desktop".into(),
                    value_type: "long".into(),
                    value: "30".into(),
                },
                EnforcementRow {
                    key: "restrict_import".into(),
                    value_type: "boolean".into(),
                    value: String::new(),
                },
            ],
            users: vec!["u1".into()],
        };
        let placed = UserNodeRow {
            user_uid: "u1".into(),
            tenant_uid: "t1".into(),
            node_id: 3,
        };
        store
            .write(&mut |tx| {
                tx.put_role(&role)?;
                tx.put_user_node(&placed)
            })
            .expect("write");
        assert_eq!(store.roles("t1").expect("roles"), vec![role.clone()]);
        assert_eq!(store.user_nodes("t1").expect("nodes"), vec![placed.clone()]);
        assert_eq!(store.user_node("u1").expect("node"), Some(placed.clone()));
        assert_eq!(store.user_node("u2").expect("node"), None);
        assert_eq!(store.next_role_id(7).expect("next"), role_id_base(7) + 2);
        assert_eq!(store.next_role_id(8).expect("next"), role_id_base(8) + 1);
        role.enforcements.truncate(1);
        role.users.clear();
        role.visible_below = false;
        store.write(&mut |tx| tx.put_role(&role)).expect("replace");
        assert_eq!(store.roles("t1").expect("roles"), vec![role.clone()]);
        store
            .write(&mut |tx| tx.delete_managed_company("t1"))
            .expect("delete");
        assert!(store.roles("t1").expect("roles").is_empty());
        assert!(store.user_nodes("t1").expect("nodes").is_empty());
        let counts: std::collections::HashMap<_, _> =
            store.row_counts().expect("counts").into_iter().collect();
        assert_eq!(counts["role_enforcements"], 0);
        assert_eq!(counts["role_users"], 0);
    }
}
