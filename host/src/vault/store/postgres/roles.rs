//! The role tables in the PostgreSQL backend (`store/roles.rs`).

use std::collections::HashMap;

use super::PgStore;
use super::conn::Db;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::enterprise::NodeRow;
use crate::vault::store::roles::{
    EnforcementRow, MOVE_USER, NEXT_ROLE_ID, RoleRow, RolesRead, RolesTx, UserNodeRow, role_id_base,
};

impl RolesRead for Db<'_, '_> {
    fn roles(&self, tenant_uid: &str) -> Result<Vec<RoleRow>> {
        let mut roles: Vec<RoleRow> = self
            .query(
                "SELECT role_id, tenant_uid, node_id, data, visible_below, new_user_inherit \
                 FROM enterprise_roles WHERE tenant_uid = $1 ORDER BY role_id",
                &[&tenant_uid],
            )?
            .iter()
            .map(|r| RoleRow {
                role_id: r.get(0),
                tenant_uid: r.get(1),
                node_id: r.get(2),
                data: r.get(3),
                visible_below: r.get(4),
                new_user_inherit: r.get(5),
                enforcements: Vec::new(),
                users: Vec::new(),
            })
            .collect();
        let mut enforcements: HashMap<i64, Vec<EnforcementRow>> = HashMap::new();
        for r in self.query(
            "SELECT e.role_id, e.key, e.value_type, e.value FROM role_enforcements e \
             JOIN enterprise_roles r ON r.role_id = e.role_id WHERE r.tenant_uid = $1 \
             ORDER BY e.role_id, e.key",
            &[&tenant_uid],
        )? {
            enforcements
                .entry(r.get(0))
                .or_default()
                .push(EnforcementRow {
                    key: r.get(1),
                    value_type: r.get(2),
                    value: r.get(3),
                });
        }
        let mut users: HashMap<i64, Vec<String>> = HashMap::new();
        for r in self.query(
            "SELECT u.role_id, u.user_uid FROM role_users u \
             JOIN enterprise_roles r ON r.role_id = u.role_id WHERE r.tenant_uid = $1 \
             ORDER BY u.role_id, u.user_uid",
            &[&tenant_uid],
        )? {
            users.entry(r.get(0)).or_default().push(r.get(1));
        }
        for role in &mut roles {
            role.enforcements = enforcements.remove(&role.role_id).unwrap_or_default();
            role.users = users.remove(&role.role_id).unwrap_or_default();
        }
        Ok(roles)
    }

    fn next_role_id(&self, enterprise_id: i64) -> Result<i64> {
        let base = role_id_base(enterprise_id);
        let end = base + (1 << 31);
        Ok(self
            .query_opt(NEXT_ROLE_ID, &[&base, &end])?
            .map_or(base + 1, |r| r.get(0)))
    }

    fn user_nodes(&self, tenant_uid: &str) -> Result<Vec<UserNodeRow>> {
        Ok(self
            .query(
                "SELECT user_uid, tenant_uid, node_id FROM enterprise_users WHERE tenant_uid = $1 \
                 ORDER BY user_uid",
                &[&tenant_uid],
            )?
            .iter()
            .map(user_node_row)
            .collect())
    }

    fn user_node(&self, user_uid: &str) -> Result<Option<UserNodeRow>> {
        Ok(self
            .query_opt(
                "SELECT user_uid, tenant_uid, node_id FROM enterprise_users WHERE user_uid = $1",
                &[&user_uid],
            )?
            .as_ref()
            .map(user_node_row))
    }
}

fn user_node_row(r: &tokio_postgres::Row) -> UserNodeRow {
    UserNodeRow {
        user_uid: r.get(0),
        tenant_uid: r.get(1),
        node_id: r.get(2),
    }
}

impl RolesRead for PgStore {
    fn roles(&self, t: &str) -> Result<Vec<RoleRow>> {
        self.read(|db| db.roles(t))
    }
    fn next_role_id(&self, e: i64) -> Result<i64> {
        self.read(|db| db.next_role_id(e))
    }
    fn user_nodes(&self, t: &str) -> Result<Vec<UserNodeRow>> {
        self.read(|db| db.user_nodes(t))
    }
    fn user_node(&self, u: &str) -> Result<Option<UserNodeRow>> {
        self.read(|db| db.user_node(u))
    }
}

impl RolesTx for Db<'_, '_> {
    fn put_role(&mut self, row: &RoleRow) -> Result<()> {
        self.execute(
            "INSERT INTO enterprise_roles (role_id, tenant_uid, node_id, data, visible_below, \
             new_user_inherit) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (role_id) DO UPDATE SET \
             tenant_uid = EXCLUDED.tenant_uid, node_id = EXCLUDED.node_id, data = EXCLUDED.data, \
             visible_below = EXCLUDED.visible_below, new_user_inherit = EXCLUDED.new_user_inherit",
            &[
                &row.role_id,
                &row.tenant_uid,
                &row.node_id,
                &row.data,
                &row.visible_below,
                &row.new_user_inherit,
            ],
        )?;
        for sql in [
            "DELETE FROM role_enforcements WHERE role_id = $1",
            "DELETE FROM role_users WHERE role_id = $1",
        ] {
            self.execute(sql, &[&row.role_id])?;
        }
        for e in &row.enforcements {
            self.execute(
                "INSERT INTO role_enforcements (role_id, key, value_type, value) VALUES ($1, $2, $3, $4)",
                &[&row.role_id, &e.key, &e.value_type, &e.value],
            )?;
        }
        for u in &row.users {
            self.execute(
                "INSERT INTO role_users (role_id, user_uid) VALUES ($1, $2)",
                &[&row.role_id, u],
            )?;
        }
        Ok(())
    }

    fn put_user_node(&mut self, row: &UserNodeRow) -> Result<()> {
        self.execute(
            "INSERT INTO enterprise_users (user_uid, tenant_uid, node_id) VALUES ($1, $2, $3) \
             ON CONFLICT (user_uid) DO UPDATE SET tenant_uid = EXCLUDED.tenant_uid, \
             node_id = EXCLUDED.node_id",
            &[&row.user_uid, &row.tenant_uid, &row.node_id],
        )?;
        Ok(())
    }

    fn move_enterprise_node(&mut self, row: &NodeRow) -> Result<()> {
        let n = self.execute(
            "UPDATE enterprise_nodes SET tenant_uid = $2, parent_id = $3, data = $4 WHERE node_id = $1",
            &[&row.node_id, &row.tenant_uid, &row.parent_id, &row.data],
        )?;
        if n == 0 {
            return Err(VaultError::NotFound {
                kind: "node",
                name: row.node_id.to_string(),
            });
        }
        Ok(())
    }

    fn move_user(&mut self, user_uid: &str, to_tenant: &str) -> Result<()> {
        for sql in MOVE_USER {
            self.execute(sql, &[&user_uid, &to_tenant])?;
        }
        Ok(())
    }
}
