//! Writes of the SQLite backend, inside the `BEGIN IMMEDIATE` transaction
//! [`super::SqliteStore`]'s `write` opens.

use rusqlite::{Connection, params};

use super::reads::USER_COLS;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::{
    AppClientRow, AppRow, AttachmentRow, AuditRow, FolderRow, PendingRow, RecordKeyRow, RecordRow,
    RotationLockRow, ShareRow, StoreTx, TeamMemberRow, TeamRow, TenantRow, UserRow,
};

/// A write transaction in progress.
pub(super) struct SqliteTx<'c> {
    pub(super) conn: &'c Connection,
}

impl SqliteTx<'_> {
    /// Runs one statement through the connection's statement cache: a
    /// rotation's few writes were dominated by parsing their SQL.
    fn execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    fn record_exists(&self, uid: &str) -> Result<bool> {
        let mut st = self
            .conn
            .prepare_cached("SELECT 1 FROM records WHERE uid = ?1")?;
        Ok(st.exists(params![uid])?)
    }
}

fn b(v: bool) -> i64 {
    i64::from(v)
}

/// A record that is not (or no longer) there.
fn gone(uid: &str) -> VaultError {
    VaultError::NotFound {
        kind: "record",
        name: uid.to_string(),
    }
}

impl StoreTx for SqliteTx<'_> {
    fn insert_tenant(&mut self, row: &TenantRow) -> Result<()> {
        self.execute(
            "INSERT INTO tenants (uid, name, parent_uid, created, creator_uid) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![row.uid, row.name, row.parent_uid, row.created, row.creator_uid],
        )?;
        Ok(())
    }

    fn insert_user(&mut self, row: &UserRow) -> Result<()> {
        let n = self.execute(
            &format!("INSERT OR IGNORE INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![
                row.uid,
                row.tenant_uid,
                row.email,
                row.kdf,
                row.wrapped_data_key,
                row.public_key,
                row.wrapped_private_key,
                row.checksum,
                row.created,
                row.must_rekey
            ],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!("user {}", row.email)));
        }
        Ok(())
    }

    fn update_user(&mut self, row: &UserRow) -> Result<()> {
        self.execute(
            "UPDATE users SET kdf = ?2, wrapped_data_key = ?3, wrapped_private_key = ?4, checksum = ?5, \
             public_key = ?6, must_rekey = ?7 WHERE uid = ?1",
            params![
                row.uid,
                row.kdf,
                row.wrapped_data_key,
                row.wrapped_private_key,
                row.checksum,
                row.public_key,
                row.must_rekey
            ],
        )?;
        Ok(())
    }

    fn insert_team(&mut self, row: &TeamRow) -> Result<()> {
        let n = self.execute(
            "INSERT OR IGNORE INTO teams (uid, tenant_uid, name, created) VALUES (?1, ?2, ?3, ?4)",
            params![row.uid, row.tenant_uid, row.name, row.created],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!("team {}", row.name)));
        }
        Ok(())
    }

    fn put_team_member(&mut self, row: &TeamMemberRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO team_members (team_uid, user_uid, wrapped_key) VALUES (?1, ?2, ?3)",
            params![row.team_uid, row.user_uid, row.wrapped_key],
        )?;
        Ok(())
    }

    fn delete_team_member(&mut self, team_uid: &str, user_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM team_members WHERE team_uid = ?1 AND user_uid = ?2",
            params![team_uid, user_uid],
        )?;
        Ok(())
    }

    fn put_folder(&mut self, row: &FolderRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO folders (uid, tenant_uid, kind, parent_uid, shared_folder_uid, owner_uid, \
             revision, data, default_manage_users, default_manage_records, default_can_edit, default_can_share) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                row.uid,
                row.tenant_uid,
                row.kind.as_str(),
                row.parent_uid,
                row.shared_folder_uid,
                row.owner_uid,
                row.revision,
                row.data,
                b(row.defaults.manage_users),
                b(row.defaults.manage_records),
                b(row.defaults.can_edit),
                b(row.defaults.can_share)
            ],
        )?;
        Ok(())
    }

    fn delete_folder(&mut self, uid: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM folder_records WHERE folder_uid = ?1", [uid])?;
        self.conn
            .execute("DELETE FROM shares WHERE shared_folder_uid = ?1", [uid])?;
        self.conn
            .execute("DELETE FROM folders WHERE uid = ?1", [uid])?;
        Ok(())
    }

    fn put_share(&mut self, row: &ShareRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO shares (shared_folder_uid, holder_uid, holder_kind, wrapped_key, manage_users, \
             manage_records, parent_uid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.shared_folder_uid,
                row.holder_uid,
                row.holder_kind.as_str(),
                row.wrapped_key,
                b(row.manage_users),
                b(row.manage_records),
                row.parent_uid
            ],
        )?;
        Ok(())
    }

    fn delete_share(&mut self, shared_folder_uid: &str, holder_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM shares WHERE shared_folder_uid = ?1 AND holder_uid = ?2",
            params![shared_folder_uid, holder_uid],
        )?;
        Ok(())
    }

    fn insert_record(&mut self, row: &RecordRow, key: &RecordKeyRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO records (uid, tenant_uid, owner_uid, revision, created, modified, data) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![row.uid, row.tenant_uid, row.owner_uid, row.revision, row.created, row.modified, row.data])?;
        self.put_record_key(key)
    }

    fn update_record(&mut self, row: &RecordRow, expected_revision: i64) -> Result<()> {
        let moved = self.execute(
            "INSERT INTO record_history (record_uid, revision, owner_uid, tenant_uid, created, modified, data) \
             SELECT uid, revision, owner_uid, tenant_uid, created, modified, data FROM records \
             WHERE uid = ?1 AND revision = ?2",
            params![row.uid, expected_revision],
        )?;
        if moved == 0 {
            return Err(VaultError::Conflict(format!("record {}", row.uid)));
        }
        self.execute(
            "UPDATE records SET revision = ?2, modified = ?3, data = ?4, owner_uid = ?5 WHERE uid = ?1",
            params![row.uid, row.revision, row.modified, row.data, row.owner_uid],
        )?;
        Ok(())
    }

    fn insert_history(&mut self, row: &RecordRow) -> Result<()> {
        self.execute(
            "INSERT INTO record_history (record_uid, revision, owner_uid, tenant_uid, created, modified, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![row.uid, row.revision, row.owner_uid, row.tenant_uid, row.created, row.modified, row.data],
        )?;
        Ok(())
    }

    fn delete_record(&mut self, uid: &str) -> Result<()> {
        for sql in [
            "DELETE FROM record_keys WHERE record_uid = ?1",
            "DELETE FROM folder_records WHERE record_uid = ?1",
            "DELETE FROM record_history WHERE record_uid = ?1",
            "DELETE FROM attachments WHERE record_uid = ?1",
            "DELETE FROM pending_rotations WHERE record_uid = ?1",
            "DELETE FROM rotation_locks WHERE record_uid = ?1",
            "DELETE FROM records WHERE uid = ?1",
        ] {
            self.execute(sql, [uid])?;
        }
        Ok(())
    }

    fn put_record_key(&mut self, row: &RecordKeyRow) -> Result<()> {
        // Only for a record that exists (a key read before a concurrent
        // `rm` committed must not leave a row behind).
        let n = self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO record_keys (record_uid, holder_uid, wrapped_key, can_edit, can_share, expires) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM records WHERE uid = ?1)",
            )?
            .execute(params![row.record_uid, row.holder_uid, row.wrapped_key, b(row.can_edit), b(row.can_share), row.expires])?;
        if n == 0 {
            return Err(gone(&row.record_uid));
        }
        Ok(())
    }

    fn set_record_owner(&mut self, uid: &str, owner_uid: &str) -> Result<()> {
        self.execute(
            "UPDATE records SET owner_uid = ?2 WHERE uid = ?1",
            params![uid, owner_uid],
        )?;
        Ok(())
    }

    fn delete_record_key(&mut self, record_uid: &str, holder_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM record_keys WHERE record_uid = ?1 AND holder_uid = ?2",
            params![record_uid, holder_uid],
        )?;
        Ok(())
    }

    fn link(&mut self, folder_uid: &str, record_uid: &str) -> Result<()> {
        // As for keys: only a record that exists is linked.
        let n = self.execute(
            "INSERT OR IGNORE INTO folder_records (folder_uid, record_uid) SELECT ?1, ?2 \
             WHERE EXISTS (SELECT 1 FROM records WHERE uid = ?2)",
            params![folder_uid, record_uid],
        )?;
        if n == 0 && !self.record_exists(record_uid)? {
            return Err(gone(record_uid));
        }
        Ok(())
    }

    fn unlink(&mut self, folder_uid: &str, record_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM folder_records WHERE folder_uid = ?1 AND record_uid = ?2",
            params![folder_uid, record_uid],
        )?;
        Ok(())
    }

    fn insert_attachment(&mut self, row: &AttachmentRow) -> Result<()> {
        self.execute(
            "INSERT INTO attachments (uid, record_uid, data) VALUES (?1, ?2, ?3)",
            params![row.uid, row.record_uid, row.data],
        )?;
        Ok(())
    }

    fn put_pending(&mut self, row: &PendingRow) -> Result<()> {
        self.execute(
            "INSERT OR REPLACE INTO pending_rotations (record_uid, started, data) VALUES (?1, ?2, ?3)",
            params![row.record_uid, row.started, row.data],
        )?;
        Ok(())
    }

    fn delete_pending(&mut self, record_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM pending_rotations WHERE record_uid = ?1",
            [record_uid],
        )?;
        Ok(())
    }

    fn insert_audit(&mut self, row: &AuditRow) -> Result<()> {
        self.execute(
            "INSERT INTO audit (tenant_uid, record_uid, plugin, target, outcome, duration_ms, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.tenant_uid,
                row.record_uid,
                row.plugin,
                row.target,
                row.outcome,
                row.duration_ms,
                row.at
            ],
        )?;
        Ok(())
    }

    fn take_rotation_lock(
        &mut self,
        row: &RotationLockRow,
        replacing: Option<&str>,
    ) -> Result<bool> {
        let values = params![
            row.record_uid,
            row.token,
            row.pid,
            row.host,
            row.machine,
            row.process_start,
            row.acquired,
            row.heartbeat,
            replacing
        ];
        let n = match replacing {
            None => self.execute(
                "INSERT OR IGNORE INTO rotation_locks (record_uid, token, pid, host, machine, process_start, \
                 acquired, heartbeat) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &values[..8],
            )?,
            Some(_) => self.execute(
                "UPDATE rotation_locks SET token = ?2, pid = ?3, host = ?4, machine = ?5, process_start = ?6, \
                 acquired = ?7, heartbeat = ?8 WHERE record_uid = ?1 AND token = ?9",
                values,
            )?,
        };
        Ok(n == 1)
    }

    fn touch_rotation_lock(
        &mut self,
        record_uid: &str,
        token: &str,
        heartbeat: i64,
    ) -> Result<bool> {
        let n = self.execute(
            "UPDATE rotation_locks SET heartbeat = ?3 WHERE record_uid = ?1 AND token = ?2",
            params![record_uid, token, heartbeat],
        )?;
        Ok(n == 1)
    }

    fn release_rotation_lock(&mut self, record_uid: &str, token: &str) -> Result<bool> {
        let n = self.execute(
            "DELETE FROM rotation_locks WHERE record_uid = ?1 AND token = ?2",
            params![record_uid, token],
        )?;
        Ok(n == 1)
    }

    fn insert_app(&mut self, row: &AppRow) -> Result<()> {
        super::apps::insert_app(self.conn, row)
    }

    fn put_app_client(&mut self, row: &AppClientRow) -> Result<()> {
        super::apps::put_client(self.conn, row)
    }

    fn delete_app_client(&mut self, uid: &str) -> Result<bool> {
        super::apps::delete_client(self.conn, uid)
    }

    fn update_app_key(&mut self, uid: &str, wrapped_key: &[u8]) -> Result<()> {
        super::apps::update_app_key(self.conn, uid, wrapped_key)
    }

    fn delete_app(&mut self, uid: &str) -> Result<bool> {
        super::apps::delete_app(self.conn, uid)
    }

    fn erase_expired_tokens(&mut self, tenant_uid: &str, now: i64) -> Result<u64> {
        super::apps::erase_expired_tokens(self.conn, tenant_uid, now)
    }
}
