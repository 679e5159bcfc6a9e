//! Read queries of the PostgreSQL backend, shared by the store (autocommit)
//! and its write transactions.

use std::collections::HashMap;

use tokio_postgres::Row;

use super::conn::Db;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::{
    AppClientRow, AppRow, AttachmentRow, AuditRow, FolderKind, FolderRow, HolderKind,
    KeyedRecordRow, PendingRow, RecordKeyRow, RecordRow, RotationLockRow, ShareRow,
    SharedFolderDefaults, StoreRead, TABLES, TeamMemberRow, TeamRow, TenantRow, UserRow,
};

pub(super) const USER_COLS: &str = "uid, tenant_uid, email, kdf, wrapped_data_key, public_key, \
     wrapped_private_key, checksum, created, must_rekey";
const RECORD_COLS: &str = "uid, tenant_uid, owner_uid, revision, created, modified, data";
/// The columns [`key_row`] reads.
const KEY_COLS: &str = "record_uid, holder_uid, wrapped_key, can_edit, can_share, expires";

fn user_row(r: &Row) -> UserRow {
    UserRow {
        uid: r.get(0),
        tenant_uid: r.get(1),
        email: r.get(2),
        kdf: r.get(3),
        wrapped_data_key: r.get(4),
        public_key: r.get(5),
        wrapped_private_key: r.get(6),
        checksum: r.get(7),
        created: r.get(8),
        must_rekey: r.get(9),
    }
}

/// A record row from the columns of [`RECORD_COLS`], from `at` on.
fn record_row(r: &Row, at: usize) -> RecordRow {
    RecordRow {
        uid: r.get(at),
        tenant_uid: r.get(at + 1),
        owner_uid: r.get(at + 2),
        revision: r.get(at + 3),
        created: r.get(at + 4),
        modified: r.get(at + 5),
        data: r.get(at + 6),
    }
}

/// A key row from [`KEY_COLS`].
fn key_row(r: &Row) -> RecordKeyRow {
    RecordKeyRow {
        record_uid: r.get(0),
        holder_uid: r.get(1),
        wrapped_key: r.get(2),
        can_edit: r.get(3),
        can_share: r.get(4),
        expires: r.get(5),
    }
}

fn pending_row(r: &Row) -> PendingRow {
    PendingRow {
        record_uid: r.get(0),
        started: r.get(1),
        data: r.get(2),
    }
}

/// The record keys `holders` hold, one per record (permissions merged).
fn merged_keys(db: &Db<'_, '_>, holders: &[String]) -> Result<HashMap<String, RecordKeyRow>> {
    let rows = db.query(
        &format!(
            "SELECT {KEY_COLS} FROM record_keys \
             WHERE holder_uid = ANY($1) AND (expires IS NULL OR expires > $2)"
        ),
        &[&holders, &crate::vault::now_ms()],
    )?;
    let mut keys: HashMap<String, RecordKeyRow> = HashMap::with_capacity(rows.len());
    for row in rows {
        let row = key_row(&row);
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
    Ok(keys)
}

impl StoreRead for Db<'_, '_> {
    fn tenants(&self) -> Result<Vec<TenantRow>> {
        let rows = self.query(
            "SELECT uid, name, parent_uid, created, creator_uid FROM tenants ORDER BY created, uid",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| TenantRow {
                uid: r.get(0),
                name: r.get(1),
                parent_uid: r.get(2),
                created: r.get(3),
                creator_uid: r.get(4),
            })
            .collect())
    }

    fn users(&self, tenant_uid: &str) -> Result<Vec<UserRow>> {
        let sql =
            format!("SELECT {USER_COLS} FROM users WHERE tenant_uid = $1 ORDER BY created, uid");
        Ok(self
            .query(&sql, &[&tenant_uid])?
            .iter()
            .map(user_row)
            .collect())
    }

    fn all_users(&self) -> Result<Vec<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY created, uid");
        Ok(self.query(&sql, &[])?.iter().map(user_row).collect())
    }

    fn user(&self, uid: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE uid = $1");
        Ok(self.query(&sql, &[&uid])?.first().map(user_row))
    }

    fn teams(&self, tenant_uid: &str) -> Result<Vec<TeamRow>> {
        let rows = self.query(
            "SELECT uid, tenant_uid, name, created FROM teams WHERE tenant_uid = $1 ORDER BY name",
            &[&tenant_uid],
        )?;
        Ok(rows
            .iter()
            .map(|r| TeamRow {
                uid: r.get(0),
                tenant_uid: r.get(1),
                name: r.get(2),
                created: r.get(3),
            })
            .collect())
    }

    fn team_members(&self, tenant_uid: &str) -> Result<Vec<TeamMemberRow>> {
        let rows = self.query(
            "SELECT m.team_uid, m.user_uid, m.wrapped_key FROM team_members m \
             JOIN teams t ON t.uid = m.team_uid WHERE t.tenant_uid = $1",
            &[&tenant_uid],
        )?;
        Ok(rows
            .iter()
            .map(|r| TeamMemberRow {
                team_uid: r.get(0),
                user_uid: r.get(1),
                wrapped_key: r.get(2),
            })
            .collect())
    }

    fn folders(&self, tenant_uid: &str) -> Result<Vec<FolderRow>> {
        let rows = self.query(
            "SELECT uid, tenant_uid, kind, parent_uid, shared_folder_uid, owner_uid, revision, data, \
             default_manage_users, default_manage_records, default_can_edit, default_can_share \
             FROM folders WHERE tenant_uid = $1",
            &[&tenant_uid],
        )?;
        rows.iter()
            .map(|r| {
                let uid: String = r.get(0);
                let kind: String = r.get(2);
                let kind = FolderKind::parse(&kind).ok_or_else(|| {
                    VaultError::Corrupted(format!("folder {uid} has unknown kind {kind:?}"))
                })?;
                Ok(FolderRow {
                    uid,
                    tenant_uid: r.get(1),
                    kind,
                    parent_uid: r.get(3),
                    shared_folder_uid: r.get(4),
                    owner_uid: r.get(5),
                    revision: r.get(6),
                    data: r.get(7),
                    defaults: SharedFolderDefaults {
                        manage_users: r.get(8),
                        manage_records: r.get(9),
                        can_edit: r.get(10),
                        can_share: r.get(11),
                    },
                })
            })
            .collect()
    }

    fn shares(&self, tenant_uid: &str) -> Result<Vec<ShareRow>> {
        let rows = self.query(
            "SELECT s.shared_folder_uid, s.holder_uid, s.holder_kind, s.wrapped_key, s.manage_users, \
             s.manage_records, s.parent_uid FROM shares s JOIN folders f ON f.uid = s.shared_folder_uid \
             WHERE f.tenant_uid = $1",
            &[&tenant_uid],
        )?;
        Ok(rows
            .iter()
            .map(|r| ShareRow {
                shared_folder_uid: r.get(0),
                holder_uid: r.get(1),
                holder_kind: if r.get::<_, &str>(2) == "team" {
                    HolderKind::Team
                } else {
                    HolderKind::User
                },
                wrapped_key: r.get(3),
                manage_users: r.get(4),
                manage_records: r.get(5),
                parent_uid: r.get(6),
            })
            .collect())
    }

    fn links(&self, tenant_uid: &str) -> Result<Vec<(String, String)>> {
        let rows = self.query(
            "SELECT l.folder_uid, l.record_uid FROM folder_records l JOIN records r ON r.uid = l.record_uid \
             WHERE r.tenant_uid = $1",
            &[&tenant_uid],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
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
        // The keys first (small rows), then the records streamed by uid:
        // decryption overlaps with the transfer.
        let mut keys = merged_keys(self, holders)?;
        if keys.is_empty() {
            return Ok(());
        }
        let uids: Vec<String> = keys.keys().cloned().collect();
        let sql = format!("SELECT {RECORD_COLS} FROM records WHERE uid = ANY($1)");
        let mut deliver = |r: Row| {
            let record = record_row(&r, 0);
            match keys.remove(&record.uid) {
                Some(key) => f(KeyedRecordRow { record, key }),
                None => Ok(()),
            }
        };
        self.for_each(&sql, &[&uids], &mut deliver)
    }

    fn keyed_record(&self, uid: &str, holders: &[String]) -> Result<Option<KeyedRecordRow>> {
        if holders.is_empty() {
            return Ok(None);
        }
        let rows = self.query(
            "SELECT k.record_uid, k.holder_uid, k.wrapped_key, k.can_edit, k.can_share, k.expires, \
             r.uid, r.tenant_uid, r.owner_uid, r.revision, r.created, r.modified, r.data \
             FROM record_keys k JOIN records r ON r.uid = k.record_uid \
             WHERE r.uid = $1 AND k.holder_uid = ANY($2) AND (k.expires IS NULL OR k.expires > $3)",
            &[&uid, &holders, &crate::vault::now_ms()],
        )?;
        let mut out: Option<KeyedRecordRow> = None;
        for r in &rows {
            let key = key_row(r);
            match &mut out {
                Some(row) => {
                    row.key.can_edit |= key.can_edit;
                    row.key.can_share |= key.can_share;
                }
                None => {
                    out = Some(KeyedRecordRow {
                        record: record_row(r, 6),
                        key,
                    });
                }
            }
        }
        Ok(out)
    }

    fn record_keys(&self, record_uid: &str) -> Result<Vec<RecordKeyRow>> {
        let rows = self.query(
            &format!(
                "SELECT {KEY_COLS} FROM record_keys WHERE record_uid = $1 ORDER BY holder_uid"
            ),
            &[&record_uid],
        )?;
        Ok(rows.iter().map(key_row).collect())
    }

    fn record_history(&self, record_uid: &str) -> Result<Vec<RecordRow>> {
        let rows = self.query(
            "SELECT record_uid, tenant_uid, owner_uid, revision, created, modified, data FROM record_history \
             WHERE record_uid = $1 ORDER BY revision",
            &[&record_uid],
        )?;
        Ok(rows.iter().map(|r| record_row(r, 0)).collect())
    }

    fn attachments(&self, record_uid: &str) -> Result<Vec<AttachmentRow>> {
        let rows = self.query(
            "SELECT uid, record_uid, data FROM attachments WHERE record_uid = $1 ORDER BY uid",
            &[&record_uid],
        )?;
        Ok(rows
            .iter()
            .map(|r| AttachmentRow {
                uid: r.get(0),
                record_uid: r.get(1),
                data: r.get(2),
            })
            .collect())
    }

    fn pending(&self, record_uid: &str) -> Result<Option<PendingRow>> {
        Ok(self
            .query_opt(
                "SELECT record_uid, started, data FROM pending_rotations WHERE record_uid = $1",
                &[&record_uid],
            )?
            .map(|r| pending_row(&r)))
    }

    fn pendings(&self, tenant_uid: &str) -> Result<Vec<PendingRow>> {
        let rows = self.query(
            "SELECT p.record_uid, p.started, p.data FROM pending_rotations p \
             JOIN records r ON r.uid = p.record_uid WHERE r.tenant_uid = $1 ORDER BY p.started",
            &[&tenant_uid],
        )?;
        Ok(rows.iter().map(pending_row).collect())
    }

    fn audit(&self, tenant_uid: &str) -> Result<Vec<AuditRow>> {
        let rows = self.query(
            "SELECT tenant_uid, record_uid, plugin, target, outcome, duration_ms, at FROM audit \
             WHERE tenant_uid = $1 ORDER BY id",
            &[&tenant_uid],
        )?;
        Ok(rows
            .iter()
            .map(|r| AuditRow {
                tenant_uid: r.get(0),
                record_uid: r.get(1),
                plugin: r.get(2),
                target: r.get(3),
                outcome: r.get(4),
                duration_ms: r.get(5),
                at: r.get(6),
            })
            .collect())
    }

    fn rotation_lock(&self, record_uid: &str) -> Result<Option<RotationLockRow>> {
        Ok(self
            .query_opt(
                "SELECT record_uid, token, pid, host, machine, process_start, acquired, heartbeat \
                 FROM rotation_locks WHERE record_uid = $1",
                &[&record_uid],
            )?
            .map(|r| RotationLockRow {
                record_uid: r.get(0),
                token: r.get(1),
                pid: r.get(2),
                host: r.get(3),
                machine: r.get(4),
                process_start: r.get(5),
                acquired: r.get(6),
                heartbeat: r.get(7),
            }))
    }

    fn tenant_records(
        &self,
        tenant_uid: &str,
        f: &mut dyn FnMut(RecordRow) -> Result<()>,
    ) -> Result<()> {
        let sql = format!("SELECT {RECORD_COLS} FROM records WHERE tenant_uid = $1 ORDER BY uid");
        self.for_each(&sql, &[&tenant_uid], &mut |r| f(record_row(&r, 0)))
    }

    fn row_counts(&self) -> Result<Vec<(&'static str, i64)>> {
        TABLES
            .iter()
            .map(|t| {
                let n: i64 = self
                    .query_opt(&format!("SELECT count(*) FROM {t}"), &[])?
                    .map_or(0, |r| r.get(0));
                Ok((*t, n))
            })
            .collect()
    }

    fn apps(&self, tenant_uid: &str) -> Result<Vec<AppRow>> {
        super::apps::apps(self, tenant_uid)
    }

    fn app_clients(&self, tenant_uid: &str) -> Result<Vec<AppClientRow>> {
        super::apps::clients(self, tenant_uid)
    }

    fn app_client(&self, uid: &str) -> Result<Option<AppClientRow>> {
        super::apps::client(self, uid)
    }

    fn app_record_keys(&self, app_uid: &str) -> Result<Vec<RecordKeyRow>> {
        let rows = self.query(
            &format!(
                "SELECT {KEY_COLS} FROM record_keys WHERE holder_uid = $1 ORDER BY record_uid"
            ),
            &[&app_uid],
        )?;
        Ok(rows.iter().map(key_row).collect())
    }
}
