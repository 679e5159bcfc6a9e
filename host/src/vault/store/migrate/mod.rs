//! `keeper store migrate`: copies every row of a vault to a new location
//! (a file to PostgreSQL or back), as sealed rows — nothing is decrypted,
//! so no password is needed and none could leak.
//!
//! The copy is one transaction on the destination (which must not hold a
//! vault yet); then the destination is read back and compared with the
//! source: the same number of rows in every table, and the same SHA-256
//! over every row in a canonical order. The source is only read.

mod apps;
mod enterprise;
mod roles;

use apps::Apps;
use enterprise::Enterprises;
use roles::Roles;

use super::{
    AttachmentRow, AuditRow, FolderRow, Location, PendingRow, RecordKeyRow, RecordRow,
    RotationLockRow, ShareRow, StoreRead, StoreTx, TeamMemberRow, TeamRow, TenantRow, UserRow,
};
use crate::vault::error::{Result, VaultError};

/// What was copied.
#[derive(Debug, Clone)]
pub struct Copied {
    /// Rows per table, as in [`super::TABLES`].
    pub counts: Vec<(&'static str, i64)>,
    /// SHA-256 over every row (hex), the same on both sides.
    pub checksum: String,
}

/// Every row of a vault, in memory.
#[derive(Default)]
struct Snapshot {
    tenants: Vec<TenantRow>,
    users: Vec<UserRow>,
    teams: Vec<TeamRow>,
    members: Vec<TeamMemberRow>,
    folders: Vec<FolderRow>,
    shares: Vec<ShareRow>,
    links: Vec<(String, String)>,
    records: Vec<RecordRow>,
    keys: Vec<RecordKeyRow>,
    history: Vec<RecordRow>,
    attachments: Vec<AttachmentRow>,
    pendings: Vec<PendingRow>,
    audit: Vec<AuditRow>,
    locks: Vec<RotationLockRow>,
    enterprises: Enterprises,
    apps: Apps,
    roles: Roles,
}

impl Snapshot {
    fn read(store: &dyn StoreRead) -> Result<Self> {
        let mut s = Snapshot {
            tenants: store.tenants()?,
            ..Snapshot::default()
        };
        for t in &s.tenants {
            s.users.extend(store.users(&t.uid)?);
            s.teams.extend(store.teams(&t.uid)?);
            s.members.extend(store.team_members(&t.uid)?);
            s.folders.extend(store.folders(&t.uid)?);
            s.shares.extend(store.shares(&t.uid)?);
            s.links.extend(store.links(&t.uid)?);
            s.audit.extend(store.audit(&t.uid)?);
            let mut records = Vec::new();
            store.tenant_records(&t.uid, &mut |r| {
                records.push(r);
                Ok(())
            })?;
            for r in &records {
                s.keys.extend(store.record_keys(&r.uid)?);
                s.history.extend(store.record_history(&r.uid)?);
                s.attachments.extend(store.attachments(&r.uid)?);
                s.pendings.extend(store.pending(&r.uid)?);
                s.locks.extend(store.rotation_lock(&r.uid)?);
            }
            s.records.extend(records);
        }
        s.enterprises = Enterprises::read(store)?;
        s.apps = Apps::read(store, &s.tenants)?;
        s.roles = Roles::read(store, &s.tenants)?;
        s.sort();
        Ok(s)
    }

    /// A canonical order, whatever order the backend returned.
    fn sort(&mut self) {
        // Backends break ties of equal creation times differently.
        self.tenants.sort_by(|a, b| a.uid.cmp(&b.uid));
        self.users.sort_by(|a, b| a.uid.cmp(&b.uid));
        self.teams.sort_by(|a, b| a.uid.cmp(&b.uid));
        self.members
            .sort_by(|a, b| (&a.team_uid, &a.user_uid).cmp(&(&b.team_uid, &b.user_uid)));
        self.folders.sort_by(|a, b| a.uid.cmp(&b.uid));
        self.shares.sort_by(|a, b| {
            (&a.shared_folder_uid, &a.holder_uid).cmp(&(&b.shared_folder_uid, &b.holder_uid))
        });
        self.links.sort();
        self.records.sort_by(|a, b| a.uid.cmp(&b.uid));
        self.keys
            .sort_by(|a, b| (&a.record_uid, &a.holder_uid).cmp(&(&b.record_uid, &b.holder_uid)));
        self.history
            .sort_by(|a, b| (&a.uid, a.revision).cmp(&(&b.uid, b.revision)));
        self.attachments.sort_by(|a, b| a.uid.cmp(&b.uid));
        self.pendings
            .sort_by(|a, b| a.record_uid.cmp(&b.record_uid));
        self.locks.sort_by(|a, b| a.record_uid.cmp(&b.record_uid));
        // The audit log keeps its own (chronological) order.
    }

    /// Rows per table, in [`super::TABLES`] order.
    fn counts(&self) -> Vec<(&'static str, i64)> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            ("tenants", n(self.tenants.len())),
            ("users", n(self.users.len())),
            ("teams", n(self.teams.len())),
            ("team_members", n(self.members.len())),
            ("folders", n(self.folders.len())),
            ("shares", n(self.shares.len())),
            ("records", n(self.records.len())),
            ("record_keys", n(self.keys.len())),
            ("folder_records", n(self.links.len())),
            ("record_history", n(self.history.len())),
            ("attachments", n(self.attachments.len())),
            ("pending_rotations", n(self.pendings.len())),
            ("audit", n(self.audit.len())),
            ("rotation_locks", n(self.locks.len())),
        ]
        .into_iter()
        .chain(self.enterprises.counts())
        .chain(self.apps.counts())
        .chain(self.roles.counts())
        .collect()
    }

    fn checksum(&self) -> String {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        let mut put = |parts: &[&[u8]]| {
            h.update((parts.len() as u64).to_le_bytes());
            for p in parts {
                h.update((p.len() as u64).to_le_bytes());
                h.update(p);
            }
        };
        let i = |v: i64| v.to_le_bytes();
        let b = |v: bool| [u8::from(v)];
        let o = |v: &Option<String>| {
            v.as_deref()
                .map_or(b"\xff".to_vec(), |s| s.as_bytes().to_vec())
        };
        for t in &self.tenants {
            put(&[
                b"tenant",
                t.uid.as_bytes(),
                t.name.as_bytes(),
                &o(&t.parent_uid),
                &i(t.created),
                &o(&t.creator_uid),
            ]);
        }
        for u in &self.users {
            put(&[
                b"user",
                u.uid.as_bytes(),
                u.tenant_uid.as_bytes(),
                u.email.as_bytes(),
                &u.kdf,
                &u.wrapped_data_key,
                &u.public_key,
                &u.wrapped_private_key,
                &u.checksum,
                &i(u.created),
                &b(u.must_rekey),
            ]);
        }
        for t in &self.teams {
            put(&[
                b"team",
                t.uid.as_bytes(),
                t.tenant_uid.as_bytes(),
                t.name.as_bytes(),
                &i(t.created),
            ]);
        }
        for m in &self.members {
            put(&[
                b"member",
                m.team_uid.as_bytes(),
                m.user_uid.as_bytes(),
                &m.wrapped_key,
            ]);
        }
        for f in &self.folders {
            put(&[
                b"folder",
                f.uid.as_bytes(),
                f.tenant_uid.as_bytes(),
                f.kind.as_str().as_bytes(),
                &o(&f.parent_uid),
                &o(&f.shared_folder_uid),
                f.owner_uid.as_bytes(),
                &i(f.revision),
                &f.data,
                &b(f.defaults.manage_users),
                &b(f.defaults.manage_records),
                &b(f.defaults.can_edit),
                &b(f.defaults.can_share),
            ]);
        }
        for s in &self.shares {
            put(&[
                b"share",
                s.shared_folder_uid.as_bytes(),
                s.holder_uid.as_bytes(),
                s.holder_kind.as_str().as_bytes(),
                &s.wrapped_key,
                &b(s.manage_users),
                &b(s.manage_records),
                &o(&s.parent_uid),
            ]);
        }
        for (folder, record) in &self.links {
            put(&[b"link", folder.as_bytes(), record.as_bytes()]);
        }
        for (tag, rows) in [
            (&b"record"[..], &self.records),
            (&b"history"[..], &self.history),
        ] {
            for r in rows {
                put(&[
                    tag,
                    r.uid.as_bytes(),
                    r.tenant_uid.as_bytes(),
                    r.owner_uid.as_bytes(),
                    &i(r.revision),
                    &i(r.created),
                    &i(r.modified),
                    &r.data,
                ]);
            }
        }
        for k in &self.keys {
            put(&[
                b"key",
                k.record_uid.as_bytes(),
                k.holder_uid.as_bytes(),
                &k.wrapped_key,
                &b(k.can_edit),
                &b(k.can_share),
                &k.expires.map_or(b"\xff".to_vec(), |t| i(t).to_vec()),
            ]);
        }
        for a in &self.attachments {
            put(&[
                b"attachment",
                a.uid.as_bytes(),
                a.record_uid.as_bytes(),
                &a.data,
            ]);
        }
        for p in &self.pendings {
            put(&[b"pending", p.record_uid.as_bytes(), &i(p.started), &p.data]);
        }
        for a in &self.audit {
            put(&[
                b"audit",
                a.tenant_uid.as_bytes(),
                a.record_uid.as_bytes(),
                a.plugin.as_bytes(),
                a.target.as_bytes(),
                a.outcome.as_bytes(),
                &i(a.duration_ms),
                &i(a.at),
            ]);
        }
        for l in &self.locks {
            put(&[
                b"lock",
                l.record_uid.as_bytes(),
                l.token.as_bytes(),
                &i(l.pid),
                l.host.as_bytes(),
                l.machine.as_bytes(),
                &i(l.process_start),
                &i(l.acquired),
                &i(l.heartbeat),
            ]);
        }
        self.enterprises.hash(&mut put);
        self.apps.hash(&mut put);
        self.roles.hash(&mut put);
        hex::encode(h.finalize())
    }

    fn write(&self, tx: &mut dyn StoreTx) -> Result<()> {
        for t in &self.tenants {
            tx.insert_tenant(t)?;
        }
        for u in &self.users {
            tx.insert_user(u)?;
        }
        for t in &self.teams {
            tx.insert_team(t)?;
        }
        for m in &self.members {
            tx.put_team_member(m)?;
        }
        for f in &self.folders {
            tx.put_folder(f)?;
        }
        for s in &self.shares {
            tx.put_share(s)?;
        }
        let mut keys = self.keys.iter().peekable();
        for r in &self.records {
            // Keys are sorted by record like the records: the first one
            // goes in with the record, the rest after it.
            while keys.next_if(|k| k.record_uid < r.uid).is_some() {}
            let first = keys.next_if(|k| k.record_uid == r.uid).ok_or_else(|| {
                VaultError::Invalid(format!(
                    "record {} has no key in the source; nobody can open it, so it is not copied \
                     and the migration stops",
                    r.uid
                ))
            })?;
            tx.insert_record(r, first)?;
            while let Some(k) = keys.next_if(|k| k.record_uid == r.uid) {
                tx.put_record_key(k)?;
            }
        }
        for (folder, record) in &self.links {
            tx.link(folder, record)?;
        }
        for h in &self.history {
            tx.insert_history(h)?;
        }
        for a in &self.attachments {
            tx.insert_attachment(a)?;
        }
        for p in &self.pendings {
            tx.put_pending(p)?;
        }
        for a in &self.audit {
            tx.insert_audit(a)?;
        }
        for l in &self.locks {
            tx.take_rotation_lock(l, None)?;
        }
        self.enterprises.write(tx)?;
        self.apps.write(tx)?;
        self.roles.write(tx)
    }
}

/// Copies every row of `source` to a new vault at `to`, then verifies the
/// copy (counts and checksum). `source` is only read.
///
/// # Errors
///
/// [`VaultError::AlreadyExists`] when `to` holds a vault already;
/// [`VaultError::Invalid`] when the source has rows the copy cannot carry
/// (a record without any key, a row pointing at a missing tenant) — counted
/// by the table but not reachable; [`VaultError::Corrupted`] when the
/// copy read back differs (the new vault is then left for inspection, and
/// named in the message); storage errors.
pub fn copy(source: &dyn StoreRead, to: &Location) -> Result<Copied> {
    let snapshot = Snapshot::read(source)?;
    let counts = snapshot.counts();
    let in_tables = source.row_counts()?;
    if in_tables != counts {
        let diff: Vec<String> = in_tables
            .iter()
            .zip(&counts)
            .filter(|(a, b)| a != b)
            .map(|((t, n), (_, m))| format!("{t}: {n} rows, {m} reachable"))
            .collect();
        return Err(VaultError::Invalid(format!(
            "the source holds rows that belong to nothing (orphans), which the copy would drop: {}; \
             nothing was written",
            diff.join(", ")
        )));
    }
    let checksum = snapshot.checksum();
    let dest = super::create(to, &mut |tx| snapshot.write(tx))?;
    let copied = Snapshot::read(dest.as_ref())?;
    let dest_counts = dest.row_counts()?;
    if dest_counts != counts || copied.counts() != counts || copied.checksum() != checksum {
        return Err(VaultError::Corrupted(format!(
            "the copy at {to} does not match the source (counts {dest_counts:?} vs {counts:?}); \
             the source is untouched; remove the copy before trying again"
        )));
    }
    Ok(Copied { counts, checksum })
}
