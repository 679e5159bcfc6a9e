//! The role tables in the SQLite backend (`store/roles.rs`).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, named_params, params};

use super::SqliteStore;
use super::reads::Reads;
use super::writes::SqliteTx;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::enterprise::NodeRow;
use crate::vault::store::roles::{
    EnforcementRow, MOVE_USER, NEXT_ROLE_ID, RoleRow, RolesRead, RolesTx, UserNodeRow, role_id_base,
};

/// Roles, their enforcements and members, and users' nodes (vault
/// format 7).
pub(super) const ROLES_DDL: &str = r#"
CREATE TABLE enterprise_roles (role_id INTEGER PRIMARY KEY, tenant_uid TEXT NOT NULL, node_id INTEGER NOT NULL,
  data BLOB NOT NULL, visible_below INTEGER NOT NULL, new_user_inherit INTEGER NOT NULL) STRICT;
CREATE INDEX enterprise_roles_tenant ON enterprise_roles (tenant_uid);
CREATE TABLE role_enforcements (role_id INTEGER NOT NULL, key TEXT NOT NULL, value_type TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (role_id, key)) STRICT;
CREATE TABLE role_users (role_id INTEGER NOT NULL, user_uid TEXT NOT NULL, PRIMARY KEY (role_id, user_uid)) STRICT;
CREATE TABLE enterprise_users (user_uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, node_id INTEGER NOT NULL) STRICT;
CREATE INDEX enterprise_users_tenant ON enterprise_users (tenant_uid);
"#;

fn roles(conn: &Connection, tenant_uid: &str) -> Result<Vec<RoleRow>> {
    let mut st = conn.prepare_cached(
        "SELECT role_id, tenant_uid, node_id, data, visible_below, new_user_inherit \
         FROM enterprise_roles WHERE tenant_uid = ?1 ORDER BY role_id",
    )?;
    let mut roles = st
        .query_map([tenant_uid], |r| {
            Ok(RoleRow {
                role_id: r.get(0)?,
                tenant_uid: r.get(1)?,
                node_id: r.get(2)?,
                data: r.get(3)?,
                visible_below: r.get::<_, i64>(4)? != 0,
                new_user_inherit: r.get::<_, i64>(5)? != 0,
                enforcements: Vec::new(),
                users: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut enforcements: HashMap<i64, Vec<EnforcementRow>> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT e.role_id, e.key, e.value_type, e.value FROM role_enforcements e \
         JOIN enterprise_roles r ON r.role_id = e.role_id WHERE r.tenant_uid = ?1 \
         ORDER BY e.role_id, e.key",
    )?;
    for row in st.query_map([tenant_uid], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            EnforcementRow {
                key: r.get(1)?,
                value_type: r.get(2)?,
                value: r.get(3)?,
            },
        ))
    })? {
        let (id, e) = row?;
        enforcements.entry(id).or_default().push(e);
    }
    let mut users: HashMap<i64, Vec<String>> = HashMap::new();
    let mut st = conn.prepare_cached(
        "SELECT u.role_id, u.user_uid FROM role_users u \
         JOIN enterprise_roles r ON r.role_id = u.role_id WHERE r.tenant_uid = ?1 \
         ORDER BY u.role_id, u.user_uid",
    )?;
    for row in st.query_map([tenant_uid], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })? {
        let (id, u) = row?;
        users.entry(id).or_default().push(u);
    }
    for role in &mut roles {
        role.enforcements = enforcements.remove(&role.role_id).unwrap_or_default();
        role.users = users.remove(&role.role_id).unwrap_or_default();
    }
    Ok(roles)
}

fn next_role_id(conn: &Connection, enterprise_id: i64) -> Result<i64> {
    let base = role_id_base(enterprise_id);
    Ok(conn
        .prepare_cached(NEXT_ROLE_ID)?
        .query_row(named_params! {"$1": base, "$2": base + (1 << 31)}, |r| {
            r.get(0)
        })?)
}

fn user_nodes(conn: &Connection, tenant_uid: &str) -> Result<Vec<UserNodeRow>> {
    let mut st = conn.prepare_cached(
        "SELECT user_uid, tenant_uid, node_id FROM enterprise_users WHERE tenant_uid = ?1 \
         ORDER BY user_uid",
    )?;
    let rows = st.query_map([tenant_uid], |r| {
        Ok(UserNodeRow {
            user_uid: r.get(0)?,
            tenant_uid: r.get(1)?,
            node_id: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn user_node(conn: &Connection, user_uid: &str) -> Result<Option<UserNodeRow>> {
    let mut st = conn.prepare_cached(
        "SELECT user_uid, tenant_uid, node_id FROM enterprise_users WHERE user_uid = ?1",
    )?;
    Ok(st
        .query_row([user_uid], |r| {
            Ok(UserNodeRow {
                user_uid: r.get(0)?,
                tenant_uid: r.get(1)?,
                node_id: r.get(2)?,
            })
        })
        .optional()?)
}

/// Forwards every [`RolesRead`] method to the connection.
macro_rules! forward_role_reads {
    ($ty:ty, $conn:tt) => {
        impl RolesRead for $ty {
            fn roles(&self, t: &str) -> Result<Vec<RoleRow>> {
                roles(&self.$conn, t)
            }
            fn next_role_id(&self, e: i64) -> Result<i64> {
                next_role_id(&self.$conn, e)
            }
            fn user_nodes(&self, t: &str) -> Result<Vec<UserNodeRow>> {
                user_nodes(&self.$conn, t)
            }
            fn user_node(&self, u: &str) -> Result<Option<UserNodeRow>> {
                user_node(&self.$conn, u)
            }
        }
    };
}

forward_role_reads!(SqliteStore, conn);
forward_role_reads!(SqliteTx<'_>, conn);
forward_role_reads!(Reads<'_>, 0);

impl RolesTx for SqliteTx<'_> {
    fn put_role(&mut self, row: &RoleRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO enterprise_roles (role_id, tenant_uid, node_id, data, \
                 visible_below, new_user_inherit) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                row.role_id,
                row.tenant_uid,
                row.node_id,
                row.data,
                i64::from(row.visible_below),
                i64::from(row.new_user_inherit)
            ])?;
        for sql in [
            "DELETE FROM role_enforcements WHERE role_id = ?1",
            "DELETE FROM role_users WHERE role_id = ?1",
        ] {
            self.conn.prepare_cached(sql)?.execute([row.role_id])?;
        }
        let mut st = self.conn.prepare_cached(
            "INSERT INTO role_enforcements (role_id, key, value_type, value) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for e in &row.enforcements {
            st.execute(params![row.role_id, e.key, e.value_type, e.value])?;
        }
        let mut st = self
            .conn
            .prepare_cached("INSERT INTO role_users (role_id, user_uid) VALUES (?1, ?2)")?;
        for u in &row.users {
            st.execute(params![row.role_id, u])?;
        }
        Ok(())
    }

    fn put_user_node(&mut self, row: &UserNodeRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO enterprise_users (user_uid, tenant_uid, node_id) \
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![row.user_uid, row.tenant_uid, row.node_id])?;
        Ok(())
    }

    fn move_enterprise_node(&mut self, row: &NodeRow) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE enterprise_nodes SET tenant_uid = ?2, parent_id = ?3, data = ?4 \
                 WHERE node_id = ?1",
            )?
            .execute(params![
                row.node_id,
                row.tenant_uid,
                row.parent_id,
                row.data
            ])?;
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
            self.conn
                .prepare_cached(sql)?
                .execute(named_params! {"$1": user_uid, "$2": to_tenant})?;
        }
        Ok(())
    }
}
