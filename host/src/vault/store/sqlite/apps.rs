//! SQLite queries of Secrets Manager applications and client devices.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::vault::error::{Result, VaultError};
use crate::vault::store::{AppClientRow, AppRow};

const CLIENT_COLS: &str = "uid, app_uid, tenant_uid, created, token_expires, access_expires, unlock_ip, \
     token_key, public_key, wrapped_app_key, bound, access_minutes, owner_token_key";

fn client_row(r: &Row<'_>) -> rusqlite::Result<AppClientRow> {
    Ok(AppClientRow {
        uid: r.get(0)?,
        app_uid: r.get(1)?,
        tenant_uid: r.get(2)?,
        created: r.get(3)?,
        token_expires: r.get(4)?,
        access_expires: r.get(5)?,
        unlock_ip: r.get::<_, i64>(6)? != 0,
        token_key: r.get(7)?,
        public_key: r.get(8)?,
        wrapped_app_key: r.get(9)?,
        bound: r.get(10)?,
        access_minutes: r.get(11)?,
        owner_token_key: r.get(12)?,
    })
}

pub(super) fn apps(conn: &Connection, tenant_uid: &str) -> Result<Vec<AppRow>> {
    let mut st = conn.prepare_cached(
        "SELECT uid, tenant_uid, owner_uid, name, wrapped_key, created FROM apps \
         WHERE tenant_uid = ?1 ORDER BY name",
    )?;
    let rows = st.query_map([tenant_uid], |r| {
        Ok(AppRow {
            uid: r.get(0)?,
            tenant_uid: r.get(1)?,
            owner_uid: r.get(2)?,
            name: r.get(3)?,
            wrapped_key: r.get(4)?,
            created: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn clients(conn: &Connection, tenant_uid: &str) -> Result<Vec<AppClientRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {CLIENT_COLS} FROM app_clients WHERE tenant_uid = ?1 ORDER BY created, uid"
    ))?;
    let rows = st.query_map([tenant_uid], client_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn client(conn: &Connection, uid: &str) -> Result<Option<AppClientRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {CLIENT_COLS} FROM app_clients WHERE uid = ?1"
    ))?;
    Ok(st.query_row([uid], client_row).optional()?)
}

pub(super) fn insert_app(conn: &Connection, row: &AppRow) -> Result<()> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO apps (uid, tenant_uid, owner_uid, name, wrapped_key, created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            row.uid,
            row.tenant_uid,
            row.owner_uid,
            row.name,
            row.wrapped_key,
            row.created
        ])?;
    if n == 0 {
        return Err(VaultError::Exists(format!("application {}", row.name)));
    }
    Ok(())
}

pub(super) fn put_client(conn: &Connection, row: &AppClientRow) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO app_clients ({CLIENT_COLS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))?
    .execute(params![
        row.uid,
        row.app_uid,
        row.tenant_uid,
        row.created,
        row.token_expires,
        row.access_expires,
        i64::from(row.unlock_ip),
        row.token_key,
        row.public_key,
        row.wrapped_app_key,
        row.bound,
        row.access_minutes,
        row.owner_token_key
    ])?;
    Ok(())
}

pub(super) fn delete_client(conn: &Connection, uid: &str) -> Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM app_clients WHERE uid = ?1")?
        .execute([uid])?;
    Ok(n > 0)
}

pub(super) fn update_app_key(conn: &Connection, uid: &str, wrapped_key: &[u8]) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE apps SET wrapped_key = ?2 WHERE uid = ?1")?
        .execute(params![uid, wrapped_key])?;
    if n == 0 {
        return Err(VaultError::NotFound {
            kind: "application",
            name: uid.to_string(),
        });
    }
    Ok(())
}

pub(super) fn delete_app(conn: &Connection, uid: &str) -> Result<bool> {
    conn.prepare_cached("DELETE FROM record_keys WHERE holder_uid = ?1")?
        .execute([uid])?;
    conn.prepare_cached("DELETE FROM app_clients WHERE app_uid = ?1")?
        .execute([uid])?;
    let n = conn
        .prepare_cached("DELETE FROM apps WHERE uid = ?1")?
        .execute([uid])?;
    Ok(n > 0)
}

pub(super) fn erase_expired_tokens(conn: &Connection, tenant_uid: &str, now: i64) -> Result<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE app_clients SET token_key = NULL, owner_token_key = NULL \
             WHERE tenant_uid = ?1 AND token_expires <= ?2 \
             AND (token_key IS NOT NULL OR owner_token_key IS NOT NULL)",
        )?
        .execute(params![tenant_uid, now])?;
    Ok(n as u64)
}
