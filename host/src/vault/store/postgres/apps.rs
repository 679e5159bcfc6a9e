//! PostgreSQL queries of Secrets Manager applications and client devices.

use tokio_postgres::Row;

use super::conn::Db;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::{AppClientRow, AppRow};

const CLIENT_COLS: &str = "uid, app_uid, tenant_uid, created, token_expires, access_expires, unlock_ip, \
     token_key, public_key, wrapped_app_key, bound, access_minutes, owner_token_key";

fn client_row(r: &Row) -> AppClientRow {
    AppClientRow {
        uid: r.get(0),
        app_uid: r.get(1),
        tenant_uid: r.get(2),
        created: r.get(3),
        token_expires: r.get(4),
        access_expires: r.get(5),
        unlock_ip: r.get(6),
        token_key: r.get(7),
        public_key: r.get(8),
        wrapped_app_key: r.get(9),
        bound: r.get(10),
        access_minutes: r.get(11),
        owner_token_key: r.get(12),
    }
}

pub(super) fn apps(db: &Db<'_, '_>, tenant_uid: &str) -> Result<Vec<AppRow>> {
    let rows = db.query(
        "SELECT uid, tenant_uid, owner_uid, name, wrapped_key, created FROM apps \
         WHERE tenant_uid = $1 ORDER BY name",
        &[&tenant_uid],
    )?;
    Ok(rows
        .iter()
        .map(|r| AppRow {
            uid: r.get(0),
            tenant_uid: r.get(1),
            owner_uid: r.get(2),
            name: r.get(3),
            wrapped_key: r.get(4),
            created: r.get(5),
        })
        .collect())
}

pub(super) fn clients(db: &Db<'_, '_>, tenant_uid: &str) -> Result<Vec<AppClientRow>> {
    let rows = db.query(
        &format!(
            "SELECT {CLIENT_COLS} FROM app_clients WHERE tenant_uid = $1 ORDER BY created, uid"
        ),
        &[&tenant_uid],
    )?;
    Ok(rows.iter().map(client_row).collect())
}

pub(super) fn client(db: &Db<'_, '_>, uid: &str) -> Result<Option<AppClientRow>> {
    let row = db.query_opt(
        &format!("SELECT {CLIENT_COLS} FROM app_clients WHERE uid = $1"),
        &[&uid],
    )?;
    Ok(row.as_ref().map(client_row))
}

pub(super) fn insert_app(db: &Db<'_, '_>, row: &AppRow) -> Result<()> {
    let n = db.execute(
        "INSERT INTO apps (uid, tenant_uid, owner_uid, name, wrapped_key, created) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[
            &row.uid,
            &row.tenant_uid,
            &row.owner_uid,
            &row.name,
            &row.wrapped_key,
            &row.created,
        ],
    )?;
    if n == 0 {
        return Err(VaultError::Exists(format!("application {}", row.name)));
    }
    Ok(())
}

pub(super) fn put_client(db: &Db<'_, '_>, row: &AppClientRow) -> Result<()> {
    db.execute(
        &format!(
            "INSERT INTO app_clients ({CLIENT_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (uid) DO UPDATE SET app_uid = EXCLUDED.app_uid, \
             tenant_uid = EXCLUDED.tenant_uid, created = EXCLUDED.created, \
             token_expires = EXCLUDED.token_expires, access_expires = EXCLUDED.access_expires, \
             unlock_ip = EXCLUDED.unlock_ip, token_key = EXCLUDED.token_key, \
             public_key = EXCLUDED.public_key, wrapped_app_key = EXCLUDED.wrapped_app_key, \
             bound = EXCLUDED.bound, access_minutes = EXCLUDED.access_minutes, \
             owner_token_key = EXCLUDED.owner_token_key"
        ),
        &[
            &row.uid,
            &row.app_uid,
            &row.tenant_uid,
            &row.created,
            &row.token_expires,
            &row.access_expires,
            &row.unlock_ip,
            &row.token_key,
            &row.public_key,
            &row.wrapped_app_key,
            &row.bound,
            &row.access_minutes,
            &row.owner_token_key,
        ],
    )?;
    Ok(())
}

pub(super) fn delete_client(db: &Db<'_, '_>, uid: &str) -> Result<bool> {
    Ok(db.execute("DELETE FROM app_clients WHERE uid = $1", &[&uid])? > 0)
}

pub(super) fn update_app_key(db: &Db<'_, '_>, uid: &str, wrapped_key: &[u8]) -> Result<()> {
    let n = db.execute(
        "UPDATE apps SET wrapped_key = $2 WHERE uid = $1",
        &[&uid, &wrapped_key],
    )?;
    if n == 0 {
        return Err(VaultError::NotFound {
            kind: "application",
            name: uid.to_string(),
        });
    }
    Ok(())
}

pub(super) fn delete_app(db: &Db<'_, '_>, uid: &str) -> Result<bool> {
    db.execute("DELETE FROM record_keys WHERE holder_uid = $1", &[&uid])?;
    db.execute("DELETE FROM app_clients WHERE app_uid = $1", &[&uid])?;
    Ok(db.execute("DELETE FROM apps WHERE uid = $1", &[&uid])? > 0)
}

pub(super) fn erase_expired_tokens(db: &Db<'_, '_>, tenant_uid: &str, now: i64) -> Result<u64> {
    db.execute(
        "UPDATE app_clients SET token_key = NULL, owner_token_key = NULL \
         WHERE tenant_uid = $1 AND token_expires <= $2 \
         AND (token_key IS NOT NULL OR owner_token_key IS NOT NULL)",
        &[&tenant_uid, &now],
    )
}
