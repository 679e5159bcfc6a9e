//! Writes of the PostgreSQL backend. The store hands them out only inside
//! a `SERIALIZABLE` transaction ([`super::PgStore`]'s `write`), so several
//! rows changed together either all change or none, whatever other
//! machines do meanwhile.

use super::conn::Db;
use super::reads::USER_COLS;
use crate::vault::error::{Result, VaultError};
use crate::vault::store::{
    AppClientRow, AppRow, AttachmentRow, AuditRow, FolderRow, PendingRow, RecordKeyRow, RecordRow,
    RotationLockRow, ShareRow, StoreTx, TeamMemberRow, TeamRow, TenantRow, UserRow,
};

impl StoreTx for Db<'_, '_> {
    fn insert_tenant(&mut self, row: &TenantRow) -> Result<()> {
        self.execute(
            "INSERT INTO tenants (uid, name, parent_uid, created, creator_uid) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &row.uid,
                &row.name,
                &row.parent_uid,
                &row.created,
                &row.creator_uid,
            ],
        )?;
        Ok(())
    }

    fn insert_user(&mut self, row: &UserRow) -> Result<()> {
        let n = self.execute(
            &format!(
                "INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &row.uid,
                &row.tenant_uid,
                &row.email,
                &row.kdf,
                &row.wrapped_data_key,
                &row.public_key,
                &row.wrapped_private_key,
                &row.checksum,
                &row.created,
                &row.must_rekey,
            ],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!("user {}", row.email)));
        }
        Ok(())
    }

    fn update_user(&mut self, row: &UserRow) -> Result<()> {
        self.execute(
            "UPDATE users SET kdf = $2, wrapped_data_key = $3, wrapped_private_key = $4, checksum = $5, \
             public_key = $6, must_rekey = $7 WHERE uid = $1",
            &[
                &row.uid,
                &row.kdf,
                &row.wrapped_data_key,
                &row.wrapped_private_key,
                &row.checksum,
                &row.public_key,
                &row.must_rekey,
            ],
        )?;
        Ok(())
    }

    fn insert_team(&mut self, row: &TeamRow) -> Result<()> {
        let n = self.execute(
            "INSERT INTO teams (uid, tenant_uid, name, created) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
            &[&row.uid, &row.tenant_uid, &row.name, &row.created],
        )?;
        if n == 0 {
            return Err(VaultError::Exists(format!("team {}", row.name)));
        }
        Ok(())
    }

    fn put_team_member(&mut self, row: &TeamMemberRow) -> Result<()> {
        self.execute(
            "INSERT INTO team_members (team_uid, user_uid, wrapped_key) VALUES ($1, $2, $3) \
             ON CONFLICT (team_uid, user_uid) DO UPDATE SET wrapped_key = EXCLUDED.wrapped_key",
            &[&row.team_uid, &row.user_uid, &row.wrapped_key],
        )?;
        Ok(())
    }

    fn delete_team_member(&mut self, team_uid: &str, user_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM team_members WHERE team_uid = $1 AND user_uid = $2",
            &[&team_uid, &user_uid],
        )?;
        Ok(())
    }

    fn put_folder(&mut self, row: &FolderRow) -> Result<()> {
        self.execute(
            "INSERT INTO folders (uid, tenant_uid, kind, parent_uid, shared_folder_uid, owner_uid, revision, \
             data, default_manage_users, default_manage_records, default_can_edit, default_can_share) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (uid) DO UPDATE SET tenant_uid = EXCLUDED.tenant_uid, kind = EXCLUDED.kind, \
             parent_uid = EXCLUDED.parent_uid, shared_folder_uid = EXCLUDED.shared_folder_uid, \
             owner_uid = EXCLUDED.owner_uid, revision = EXCLUDED.revision, data = EXCLUDED.data, \
             default_manage_users = EXCLUDED.default_manage_users, \
             default_manage_records = EXCLUDED.default_manage_records, \
             default_can_edit = EXCLUDED.default_can_edit, default_can_share = EXCLUDED.default_can_share",
            &[
                &row.uid,
                &row.tenant_uid,
                &row.kind.as_str(),
                &row.parent_uid,
                &row.shared_folder_uid,
                &row.owner_uid,
                &row.revision,
                &row.data,
                &row.defaults.manage_users,
                &row.defaults.manage_records,
                &row.defaults.can_edit,
                &row.defaults.can_share,
            ],
        )?;
        Ok(())
    }

    fn delete_folder(&mut self, uid: &str) -> Result<()> {
        for sql in [
            "DELETE FROM folder_records WHERE folder_uid = $1",
            "DELETE FROM shares WHERE shared_folder_uid = $1",
            "DELETE FROM folders WHERE uid = $1",
        ] {
            self.execute(sql, &[&uid])?;
        }
        Ok(())
    }

    fn put_share(&mut self, row: &ShareRow) -> Result<()> {
        self.execute(
            "INSERT INTO shares (shared_folder_uid, holder_uid, holder_kind, wrapped_key, manage_users, \
             manage_records, parent_uid) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (shared_folder_uid, holder_uid) DO UPDATE SET holder_kind = EXCLUDED.holder_kind, \
             wrapped_key = EXCLUDED.wrapped_key, manage_users = EXCLUDED.manage_users, \
             manage_records = EXCLUDED.manage_records, parent_uid = EXCLUDED.parent_uid",
            &[
                &row.shared_folder_uid,
                &row.holder_uid,
                &row.holder_kind.as_str(),
                &row.wrapped_key,
                &row.manage_users,
                &row.manage_records,
                &row.parent_uid,
            ],
        )?;
        Ok(())
    }

    fn delete_share(&mut self, shared_folder_uid: &str, holder_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM shares WHERE shared_folder_uid = $1 AND holder_uid = $2",
            &[&shared_folder_uid, &holder_uid],
        )?;
        Ok(())
    }

    fn insert_record(&mut self, row: &RecordRow, key: &RecordKeyRow) -> Result<()> {
        self.execute(
            "INSERT INTO records (uid, tenant_uid, owner_uid, revision, created, modified, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &row.uid,
                &row.tenant_uid,
                &row.owner_uid,
                &row.revision,
                &row.created,
                &row.modified,
                &row.data,
            ],
        )?;
        self.put_record_key(key)
    }

    fn update_record(&mut self, row: &RecordRow, expected_revision: i64) -> Result<()> {
        // The row is locked first, so a concurrent writer of the same
        // record waits here and then sees the new revision.
        let current = self.query_opt(
            "SELECT revision FROM records WHERE uid = $1 FOR UPDATE",
            &[&row.uid],
        )?;
        if current.map(|r| r.get::<_, i64>(0)) != Some(expected_revision) {
            return Err(VaultError::Conflict(format!("record {}", row.uid)));
        }
        self.execute(
            "INSERT INTO record_history (record_uid, revision, owner_uid, tenant_uid, created, modified, data) \
             SELECT uid, revision, owner_uid, tenant_uid, created, modified, data FROM records \
             WHERE uid = $1 AND revision = $2",
            &[&row.uid, &expected_revision],
        )?;
        let n = self.execute(
            "UPDATE records SET revision = $2, modified = $3, data = $4, owner_uid = $5 \
             WHERE uid = $1 AND revision = $6",
            &[
                &row.uid,
                &row.revision,
                &row.modified,
                &row.data,
                &row.owner_uid,
                &expected_revision,
            ],
        )?;
        if n != 1 {
            return Err(VaultError::Conflict(format!("record {}", row.uid)));
        }
        Ok(())
    }

    fn insert_history(&mut self, row: &RecordRow) -> Result<()> {
        self.execute(
            "INSERT INTO record_history (record_uid, revision, owner_uid, tenant_uid, created, modified, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &row.uid,
                &row.revision,
                &row.owner_uid,
                &row.tenant_uid,
                &row.created,
                &row.modified,
                &row.data,
            ],
        )?;
        Ok(())
    }

    fn delete_record(&mut self, uid: &str) -> Result<()> {
        for sql in [
            "DELETE FROM record_keys WHERE record_uid = $1",
            "DELETE FROM folder_records WHERE record_uid = $1",
            "DELETE FROM record_history WHERE record_uid = $1",
            "DELETE FROM attachments WHERE record_uid = $1",
            "DELETE FROM pending_rotations WHERE record_uid = $1",
            "DELETE FROM rotation_locks WHERE record_uid = $1",
            "DELETE FROM records WHERE uid = $1",
        ] {
            self.execute(sql, &[&uid])?;
        }
        Ok(())
    }

    fn put_record_key(&mut self, row: &RecordKeyRow) -> Result<()> {
        // Only for a record that exists: a key read before a concurrent
        // `rm` committed must not leave a row behind (the read of
        // `records` makes the two transactions conflict, and the retry
        // finds the record gone).
        let n = self.execute(
            "INSERT INTO record_keys (record_uid, holder_uid, wrapped_key, can_edit, can_share, expires) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM records WHERE uid = $1) \
             ON CONFLICT (record_uid, holder_uid) DO UPDATE SET \
             wrapped_key = EXCLUDED.wrapped_key, can_edit = EXCLUDED.can_edit, \
             can_share = EXCLUDED.can_share, expires = EXCLUDED.expires",
            &[
                &row.record_uid,
                &row.holder_uid,
                &row.wrapped_key,
                &row.can_edit,
                &row.can_share,
                &row.expires,
            ],
        )?;
        if n == 0 {
            return Err(gone(&row.record_uid));
        }
        Ok(())
    }

    fn set_record_owner(&mut self, uid: &str, owner_uid: &str) -> Result<()> {
        self.execute(
            "UPDATE records SET owner_uid = $2 WHERE uid = $1",
            &[&uid, &owner_uid],
        )?;
        Ok(())
    }

    fn delete_record_key(&mut self, record_uid: &str, holder_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM record_keys WHERE record_uid = $1 AND holder_uid = $2",
            &[&record_uid, &holder_uid],
        )?;
        Ok(())
    }

    fn link(&mut self, folder_uid: &str, record_uid: &str) -> Result<()> {
        // As for keys: only a record that exists is linked.
        let n = self.execute(
            "INSERT INTO folder_records (folder_uid, record_uid) SELECT $1, $2 \
             WHERE EXISTS (SELECT 1 FROM records WHERE uid = $2) ON CONFLICT DO NOTHING",
            &[&folder_uid, &record_uid],
        )?;
        if n == 0
            && self
                .query_opt("SELECT 1 FROM records WHERE uid = $1", &[&record_uid])?
                .is_none()
        {
            return Err(gone(record_uid));
        }
        Ok(())
    }

    fn unlink(&mut self, folder_uid: &str, record_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM folder_records WHERE folder_uid = $1 AND record_uid = $2",
            &[&folder_uid, &record_uid],
        )?;
        Ok(())
    }

    fn insert_attachment(&mut self, row: &AttachmentRow) -> Result<()> {
        self.execute(
            "INSERT INTO attachments (uid, record_uid, data) VALUES ($1, $2, $3)",
            &[&row.uid, &row.record_uid, &row.data],
        )?;
        Ok(())
    }

    fn put_pending(&mut self, row: &PendingRow) -> Result<()> {
        self.execute(
            "INSERT INTO pending_rotations (record_uid, started, data) VALUES ($1, $2, $3) \
             ON CONFLICT (record_uid) DO UPDATE SET started = EXCLUDED.started, data = EXCLUDED.data",
            &[&row.record_uid, &row.started, &row.data],
        )?;
        Ok(())
    }

    fn delete_pending(&mut self, record_uid: &str) -> Result<()> {
        self.execute(
            "DELETE FROM pending_rotations WHERE record_uid = $1",
            &[&record_uid],
        )?;
        Ok(())
    }

    fn insert_audit(&mut self, row: &AuditRow) -> Result<()> {
        self.execute(
            "INSERT INTO audit (tenant_uid, record_uid, plugin, target, outcome, duration_ms, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &row.tenant_uid,
                &row.record_uid,
                &row.plugin,
                &row.target,
                &row.outcome,
                &row.duration_ms,
                &row.at,
            ],
        )?;
        Ok(())
    }

    fn take_rotation_lock(
        &mut self,
        row: &RotationLockRow,
        replacing: Option<&str>,
    ) -> Result<bool> {
        let n = match replacing {
            None => self.execute(
                "INSERT INTO rotation_locks (record_uid, token, pid, host, machine, process_start, acquired, \
                 heartbeat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (record_uid) DO NOTHING",
                &[
                    &row.record_uid,
                    &row.token,
                    &row.pid,
                    &row.host,
                    &row.machine,
                    &row.process_start,
                    &row.acquired,
                    &row.heartbeat,
                ],
            )?,
            Some(old) => self.execute(
                "UPDATE rotation_locks SET token = $2, pid = $3, host = $4, machine = $5, process_start = $6, \
                 acquired = $7, heartbeat = $8 WHERE record_uid = $1 AND token = $9",
                &[
                    &row.record_uid,
                    &row.token,
                    &row.pid,
                    &row.host,
                    &row.machine,
                    &row.process_start,
                    &row.acquired,
                    &row.heartbeat,
                    &old,
                ],
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
            "UPDATE rotation_locks SET heartbeat = $3 WHERE record_uid = $1 AND token = $2",
            &[&record_uid, &token, &heartbeat],
        )?;
        Ok(n == 1)
    }

    fn release_rotation_lock(&mut self, record_uid: &str, token: &str) -> Result<bool> {
        let n = self.execute(
            "DELETE FROM rotation_locks WHERE record_uid = $1 AND token = $2",
            &[&record_uid, &token],
        )?;
        Ok(n == 1)
    }

    fn insert_app(&mut self, row: &AppRow) -> Result<()> {
        super::apps::insert_app(self, row)
    }

    fn put_app_client(&mut self, row: &AppClientRow) -> Result<()> {
        super::apps::put_client(self, row)
    }

    fn delete_app_client(&mut self, uid: &str) -> Result<bool> {
        super::apps::delete_client(self, uid)
    }

    fn update_app_key(&mut self, uid: &str, wrapped_key: &[u8]) -> Result<()> {
        super::apps::update_app_key(self, uid, wrapped_key)
    }

    fn delete_app(&mut self, uid: &str) -> Result<bool> {
        super::apps::delete_app(self, uid)
    }

    fn erase_expired_tokens(&mut self, tenant_uid: &str, now: i64) -> Result<u64> {
        super::apps::erase_expired_tokens(self, tenant_uid, now)
    }
}

/// A record that is not (or no longer) there.
fn gone(uid: &str) -> VaultError {
    VaultError::NotFound {
        kind: "record",
        name: uid.to_string(),
    }
}
