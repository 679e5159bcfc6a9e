//! `store migrate` for roles, their enforcements and members, and users'
//! nodes: read, counted, hashed and written like the vault's own rows (see
//! the parent module).

use crate::vault::error::Result;
use crate::vault::store::roles::{RoleRow, UserNodeRow};
use crate::vault::store::{StoreRead, StoreTx, TenantRow};

/// Every role and user-node row of a vault.
#[derive(Default)]
pub(super) struct Roles {
    roles: Vec<RoleRow>,
    user_nodes: Vec<UserNodeRow>,
}

impl Roles {
    /// Reads them for `tenants`, in a canonical order.
    pub(super) fn read(store: &dyn StoreRead, tenants: &[TenantRow]) -> Result<Self> {
        let mut s = Roles::default();
        for t in tenants {
            s.roles.extend(store.roles(&t.uid)?);
            s.user_nodes.extend(store.user_nodes(&t.uid)?);
        }
        s.roles.sort_by_key(|r| r.role_id);
        s.user_nodes.sort_by(|a, b| a.user_uid.cmp(&b.user_uid));
        Ok(s)
    }

    /// Rows per table, in [`crate::vault::store::TABLES`] order (last).
    pub(super) fn counts(&self) -> Vec<(&'static str, i64)> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            ("enterprise_roles", n(self.roles.len())),
            (
                "role_enforcements",
                n(self.roles.iter().map(|r| r.enforcements.len()).sum()),
            ),
            (
                "role_users",
                n(self.roles.iter().map(|r| r.users.len()).sum()),
            ),
            ("enterprise_users", n(self.user_nodes.len())),
        ]
    }

    /// Feeds every row to `put` (the parent's checksum).
    pub(super) fn hash(&self, put: &mut dyn FnMut(&[&[u8]])) {
        let i = |v: i64| v.to_le_bytes();
        for r in &self.roles {
            put(&[
                b"role",
                &i(r.role_id),
                r.tenant_uid.as_bytes(),
                &i(r.node_id),
                &r.data,
                &[u8::from(r.visible_below), u8::from(r.new_user_inherit)],
            ]);
            for e in &r.enforcements {
                put(&[
                    b"enforcement",
                    &i(r.role_id),
                    e.key.as_bytes(),
                    e.value_type.as_bytes(),
                    e.value.as_bytes(),
                ]);
            }
            for u in &r.users {
                put(&[b"role_user", &i(r.role_id), u.as_bytes()]);
            }
        }
        for u in &self.user_nodes {
            put(&[
                b"user_node",
                u.user_uid.as_bytes(),
                u.tenant_uid.as_bytes(),
                &i(u.node_id),
            ]);
        }
    }

    /// Writes every row into the new vault.
    pub(super) fn write(&self, tx: &mut dyn StoreTx) -> Result<()> {
        for r in &self.roles {
            tx.put_role(r)?;
        }
        for u in &self.user_nodes {
            tx.put_user_node(u)?;
        }
        Ok(())
    }
}
