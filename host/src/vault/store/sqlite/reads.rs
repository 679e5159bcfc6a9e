//! Read queries of the SQLite backend, shared by the store and its write
//! transactions.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use crate::vault::error::{Result, VaultError};
use crate::vault::store::{
    AppClientRow, AppRow, AttachmentRow, AuditRow, FolderKind, FolderRow, HolderKind,
    KeyedRecordRow, PendingRow, RecordKeyRow, RecordRow, RotationLockRow, ShareRow,
    SharedFolderDefaults, StoreRead, TABLES, TeamMemberRow, TeamRow, TenantRow, UserRow,
};

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        uid: r.get(0)?,
        tenant_uid: r.get(1)?,
        email: r.get(2)?,
        kdf: r.get(3)?,
        wrapped_data_key: r.get(4)?,
        public_key: r.get(5)?,
        wrapped_private_key: r.get(6)?,
        checksum: r.get(7)?,
        created: r.get(8)?,
        must_rekey: r.get::<_, i64>(9)? != 0,
    })
}

pub(super) const USER_COLS: &str = "uid, tenant_uid, email, kdf, wrapped_data_key, public_key, wrapped_private_key, checksum, created, must_rekey";
const RECORD_COLS: &str = "r.uid, r.tenant_uid, r.owner_uid, r.revision, r.created, r.modified, r.data, \
     k.holder_uid, k.wrapped_key, k.can_edit, k.can_share, k.expires";
/// The columns [`key_row`] reads.
const KEY_COLS: &str = "record_uid, holder_uid, wrapped_key, can_edit, can_share, expires";
/// Leaves out key rows whose share has ended (`?1` = now, epoch ms).
const UNEXPIRED: &str = "(expires IS NULL OR expires > ?1)";

/// A record row from `uid, tenant_uid, owner_uid, revision, created,
/// modified, data` (the first columns, as in [`RECORD_COLS`]).
fn record_row(r: &Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        uid: r.get(0)?,
        tenant_uid: r.get(1)?,
        owner_uid: r.get(2)?,
        revision: r.get(3)?,
        created: r.get(4)?,
        modified: r.get(5)?,
        data: r.get(6)?,
    })
}

/// A record key row from [`KEY_COLS`].
fn key_row(r: &Row<'_>) -> rusqlite::Result<RecordKeyRow> {
    Ok(RecordKeyRow {
        record_uid: r.get(0)?,
        holder_uid: r.get(1)?,
        wrapped_key: r.get(2)?,
        can_edit: r.get::<_, i64>(3)? != 0,
        can_share: r.get::<_, i64>(4)? != 0,
        expires: r.get(5)?,
    })
}

/// A pending rotation row from `record_uid, started, data`.
fn pending_row(r: &Row<'_>) -> rusqlite::Result<PendingRow> {
    Ok(PendingRow {
        record_uid: r.get(0)?,
        started: r.get(1)?,
        data: r.get(2)?,
    })
}

fn keyed_row(r: &Row<'_>) -> rusqlite::Result<KeyedRecordRow> {
    let record = record_row(r)?;
    let key = RecordKeyRow {
        record_uid: record.uid.clone(),
        holder_uid: r.get(7)?,
        wrapped_key: r.get(8)?,
        can_edit: r.get::<_, i64>(9)? != 0,
        can_share: r.get::<_, i64>(10)? != 0,
        expires: r.get(11)?,
    };
    Ok(KeyedRecordRow { record, key })
}

/// `n` anonymous parameters (numbered after any `?N` before them).
fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 2);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push('?');
    }
    s
}

/// Merges several key rows of one record: keep the first, OR the permissions.
fn dedup_keyed(rows: Vec<KeyedRecordRow>) -> Vec<KeyedRecordRow> {
    let mut out: Vec<KeyedRecordRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match out.last_mut() {
            Some(last) if last.record.uid == row.record.uid => {
                last.key.can_edit |= row.key.can_edit;
                last.key.can_share |= row.key.can_share;
            }
            _ => out.push(row),
        }
    }
    out
}

/// Read queries shared by the store and its transactions.
pub(super) fn reads(conn: &Connection) -> Reads<'_> {
    Reads(conn)
}

pub(super) struct Reads<'c>(pub(super) &'c Connection);

impl StoreRead for Reads<'_> {
    fn tenants(&self) -> Result<Vec<TenantRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT uid, name, parent_uid, created, creator_uid FROM tenants ORDER BY created",
        )?;
        let rows = st.query_map([], |r| {
            Ok(TenantRow {
                uid: r.get(0)?,
                name: r.get(1)?,
                parent_uid: r.get(2)?,
                created: r.get(3)?,
                creator_uid: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn users(&self, tenant_uid: &str) -> Result<Vec<UserRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users WHERE tenant_uid = ?1 ORDER BY created"
        ))?;
        let rows = st.query_map([tenant_uid], user_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn all_users(&self) -> Result<Vec<UserRow>> {
        let mut st = self
            .0
            .prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY created"))?;
        let rows = st.query_map([], user_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn user(&self, uid: &str) -> Result<Option<UserRow>> {
        let mut st = self
            .0
            .prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE uid = ?1"))?;
        Ok(st.query_row([uid], user_row).optional()?)
    }

    fn teams(&self, tenant_uid: &str) -> Result<Vec<TeamRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT uid, tenant_uid, name, created FROM teams WHERE tenant_uid = ?1 ORDER BY name",
        )?;
        let rows = st.query_map([tenant_uid], |r| {
            Ok(TeamRow {
                uid: r.get(0)?,
                tenant_uid: r.get(1)?,
                name: r.get(2)?,
                created: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn team_members(&self, tenant_uid: &str) -> Result<Vec<TeamMemberRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT m.team_uid, m.user_uid, m.wrapped_key FROM team_members m JOIN teams t ON t.uid = m.team_uid \
             WHERE t.tenant_uid = ?1",
        )?;
        let rows = st.query_map([tenant_uid], |r| {
            Ok(TeamMemberRow {
                team_uid: r.get(0)?,
                user_uid: r.get(1)?,
                wrapped_key: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn folders(&self, tenant_uid: &str) -> Result<Vec<FolderRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT uid, tenant_uid, kind, parent_uid, shared_folder_uid, owner_uid, revision, data, \
             default_manage_users, default_manage_records, default_can_edit, default_can_share \
             FROM folders WHERE tenant_uid = ?1",
        )?;
        let rows = st.query_map([tenant_uid], |r| {
            let kind: String = r.get(2)?;
            Ok((
                kind,
                FolderRow {
                    uid: r.get(0)?,
                    tenant_uid: r.get(1)?,
                    kind: FolderKind::User,
                    parent_uid: r.get(3)?,
                    shared_folder_uid: r.get(4)?,
                    owner_uid: r.get(5)?,
                    revision: r.get(6)?,
                    data: r.get(7)?,
                    defaults: SharedFolderDefaults {
                        manage_users: r.get::<_, i64>(8)? != 0,
                        manage_records: r.get::<_, i64>(9)? != 0,
                        can_edit: r.get::<_, i64>(10)? != 0,
                        can_share: r.get::<_, i64>(11)? != 0,
                    },
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, mut folder) = row?;
            folder.kind = FolderKind::parse(&kind).ok_or_else(|| {
                VaultError::Corrupted(format!("folder {} has unknown kind {kind:?}", folder.uid))
            })?;
            out.push(folder);
        }
        Ok(out)
    }

    fn shares(&self, tenant_uid: &str) -> Result<Vec<ShareRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT s.shared_folder_uid, s.holder_uid, s.holder_kind, s.wrapped_key, s.manage_users, \
             s.manage_records, s.parent_uid FROM shares s JOIN folders f ON f.uid = s.shared_folder_uid \
             WHERE f.tenant_uid = ?1",
        )?;
        let rows = st.query_map([tenant_uid], |r| {
            let kind: String = r.get(2)?;
            Ok(ShareRow {
                shared_folder_uid: r.get(0)?,
                holder_uid: r.get(1)?,
                holder_kind: if kind == "team" {
                    HolderKind::Team
                } else {
                    HolderKind::User
                },
                wrapped_key: r.get(3)?,
                manage_users: r.get::<_, i64>(4)? != 0,
                manage_records: r.get::<_, i64>(5)? != 0,
                parent_uid: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn links(&self, tenant_uid: &str) -> Result<Vec<(String, String)>> {
        let mut st = self.0.prepare_cached(
            "SELECT l.folder_uid, l.record_uid FROM folder_records l JOIN records r ON r.uid = l.record_uid \
             WHERE r.tenant_uid = ?1",
        )?;
        let rows = st.query_map([tenant_uid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn keyed_records(&self, holders: &[String]) -> Result<Vec<KeyedRecordRow>> {
        let mut out = Vec::new();
        self.scan_keyed_records(holders, &mut |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    fn scan_keyed_records(
        &self,
        holders: &[String],
        f: &mut dyn FnMut(KeyedRecordRow) -> Result<()>,
    ) -> Result<()> {
        if holders.is_empty() {
            return Ok(());
        }
        // Two sequential scans joined in memory are several times faster
        // than SQLite's indexed join (and than sorting 100 000 blobs).
        let sql = format!(
            "SELECT {KEY_COLS} FROM record_keys WHERE {UNEXPIRED} AND holder_uid IN ({})",
            placeholders(holders.len())
        );
        let mut st = self.0.prepare(&sql)?;
        let mut keys: HashMap<String, RecordKeyRow> = HashMap::new();
        let now = crate::vault::now_ms();
        let params = std::iter::once(&now as &dyn rusqlite::ToSql)
            .chain(holders.iter().map(|h| h as &dyn rusqlite::ToSql));
        let rows = st.query_map(params_from_iter(params), key_row)?;
        for row in rows {
            let row = row?;
            match keys.get_mut(&row.record_uid) {
                Some(k) => {
                    k.can_edit |= row.can_edit;
                    k.can_share |= row.can_share;
                }
                None => {
                    keys.insert(row.record_uid.clone(), row);
                }
            }
        }
        let cols = "uid, tenant_uid, owner_uid, revision, created, modified, data";
        if keys.len() < 2000 {
            let mut st = self
                .0
                .prepare_cached(&format!("SELECT {cols} FROM records WHERE uid = ?1"))?;
            for (uid, key) in keys {
                if let Some(r) = st.query_row([&uid], record_row).optional()? {
                    f(KeyedRecordRow { record: r, key })?;
                }
            }
        } else {
            let mut st = self
                .0
                .prepare_cached(&format!("SELECT {cols} FROM records"))?;
            let rows = st.query_map([], record_row)?;
            for r in rows {
                let r = r?;
                if let Some(key) = keys.remove(&r.uid) {
                    f(KeyedRecordRow { record: r, key })?;
                }
            }
        }
        Ok(())
    }

    fn keyed_record(&self, uid: &str, holders: &[String]) -> Result<Option<KeyedRecordRow>> {
        if holders.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {RECORD_COLS} FROM record_keys k JOIN records r ON r.uid = k.record_uid \
             WHERE (k.expires IS NULL OR k.expires > ?1) AND r.uid = ?2 AND k.holder_uid IN ({})",
            placeholders(holders.len())
        );
        // Cached: the text only changes with the number of holders, and
        // parsing it was most of a rotation's vault time.
        let mut st = self.0.prepare_cached(&sql)?;
        let now = crate::vault::now_ms();
        let params = [&now as &dyn rusqlite::ToSql, &uid]
            .into_iter()
            .chain(holders.iter().map(|h| h as &dyn rusqlite::ToSql));
        let rows = st.query_map(params_from_iter(params), keyed_row)?;
        Ok(dedup_keyed(rows.collect::<rusqlite::Result<_>>()?)
            .into_iter()
            .next())
    }

    fn record_keys(&self, record_uid: &str) -> Result<Vec<RecordKeyRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {KEY_COLS} FROM record_keys WHERE record_uid = ?1"
        ))?;
        let rows = st.query_map([record_uid], key_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn record_history(&self, record_uid: &str) -> Result<Vec<RecordRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT record_uid, tenant_uid, owner_uid, revision, created, modified, data FROM record_history \
             WHERE record_uid = ?1 ORDER BY revision",
        )?;
        let rows = st.query_map([record_uid], record_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn attachments(&self, record_uid: &str) -> Result<Vec<AttachmentRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT uid, record_uid, data FROM attachments WHERE record_uid = ?1",
        )?;
        let rows = st.query_map([record_uid], |r| {
            Ok(AttachmentRow {
                uid: r.get(0)?,
                record_uid: r.get(1)?,
                data: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn pending(&self, record_uid: &str) -> Result<Option<PendingRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT record_uid, started, data FROM pending_rotations WHERE record_uid = ?1",
        )?;
        Ok(st.query_row([record_uid], pending_row).optional()?)
    }

    fn pendings(&self, tenant_uid: &str) -> Result<Vec<PendingRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT p.record_uid, p.started, p.data FROM pending_rotations p JOIN records r ON r.uid = p.record_uid \
             WHERE r.tenant_uid = ?1 ORDER BY p.started",
        )?;
        let rows = st.query_map([tenant_uid], pending_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn audit(&self, tenant_uid: &str) -> Result<Vec<AuditRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT tenant_uid, record_uid, plugin, target, outcome, duration_ms, at FROM audit \
             WHERE tenant_uid = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([tenant_uid], |r| {
            Ok(AuditRow {
                tenant_uid: r.get(0)?,
                record_uid: r.get(1)?,
                plugin: r.get(2)?,
                target: r.get(3)?,
                outcome: r.get(4)?,
                duration_ms: r.get(5)?,
                at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn rotation_lock(&self, record_uid: &str) -> Result<Option<RotationLockRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT record_uid, token, pid, host, machine, process_start, acquired, heartbeat \
             FROM rotation_locks WHERE record_uid = ?1",
        )?;
        let row = st
            .query_row([record_uid], |r| {
                Ok(RotationLockRow {
                    record_uid: r.get(0)?,
                    token: r.get(1)?,
                    pid: r.get(2)?,
                    host: r.get(3)?,
                    machine: r.get(4)?,
                    process_start: r.get(5)?,
                    acquired: r.get(6)?,
                    heartbeat: r.get(7)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    fn tenant_records(
        &self,
        tenant_uid: &str,
        f: &mut dyn FnMut(RecordRow) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.0.prepare_cached(
            "SELECT uid, tenant_uid, owner_uid, revision, created, modified, data FROM records \
             WHERE tenant_uid = ?1 ORDER BY uid",
        )?;
        let rows = st.query_map([tenant_uid], record_row)?;
        for row in rows {
            f(row?)?;
        }
        Ok(())
    }

    fn row_counts(&self) -> Result<Vec<(&'static str, i64)>> {
        TABLES
            .iter()
            .map(|t| {
                let n: i64 = self
                    .0
                    .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
                Ok((*t, n))
            })
            .collect()
    }

    fn apps(&self, tenant_uid: &str) -> Result<Vec<AppRow>> {
        super::apps::apps(self.0, tenant_uid)
    }

    fn app_clients(&self, tenant_uid: &str) -> Result<Vec<AppClientRow>> {
        super::apps::clients(self.0, tenant_uid)
    }

    fn app_client(&self, uid: &str) -> Result<Option<AppClientRow>> {
        super::apps::client(self.0, uid)
    }

    fn app_record_keys(&self, app_uid: &str) -> Result<Vec<RecordKeyRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {KEY_COLS} FROM record_keys WHERE holder_uid = ?1 ORDER BY record_uid"
        ))?;
        let rows = st.query_map([app_uid], key_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
