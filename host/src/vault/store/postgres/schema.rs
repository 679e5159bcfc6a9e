//! The PostgreSQL schema and its versioned migrations.
//!
//! Every table lives in the `keeper` schema. `keeper.migrations` records
//! each applied version with its description and time; keeper applies what
//! is missing when it opens the vault, one version per transaction, under a
//! transaction-scoped advisory lock so that processes on several machines
//! opening an old vault at once upgrade it exactly once. A vault whose
//! newest version is above [`SCHEMA_VERSION`] is refused (an older keeper
//! would not honour what the new tables mean).
//!
//! Columns mirror the SQLite backend's; sealed blobs are `bytea`, times
//! epoch-ms `bigint`, flags `boolean`. `records.revision` and
//! `folders.revision` are the optimistic-concurrency revisions.

use super::conn::{Db, SCHEMA};
use crate::vault::error::{Result, VaultError};

/// The newest schema version this keeper knows.
pub const SCHEMA_VERSION: i64 = 9;

/// The advisory-lock key serialising schema changes (`KPRV` + 1).
pub(super) const MIGRATION_LOCK: i64 = 0x4B50_5256_0001;

/// Version, description, SQL. Applied in order; never edited once released.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "vault tables (as SQLite vault format 2)",
        r#"
CREATE TABLE vault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tenants (uid TEXT PRIMARY KEY, name TEXT NOT NULL, parent_uid TEXT, created BIGINT NOT NULL);
CREATE TABLE users (
  uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, email TEXT NOT NULL, kdf BYTEA NOT NULL,
  wrapped_data_key BYTEA NOT NULL, public_key BYTEA NOT NULL, wrapped_private_key BYTEA NOT NULL,
  checksum BYTEA NOT NULL, created BIGINT NOT NULL, UNIQUE (tenant_uid, email));
CREATE TABLE teams (uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, name TEXT NOT NULL, created BIGINT NOT NULL,
  UNIQUE (tenant_uid, name));
CREATE TABLE team_members (team_uid TEXT NOT NULL, user_uid TEXT NOT NULL, wrapped_key BYTEA NOT NULL,
  PRIMARY KEY (team_uid, user_uid));
CREATE TABLE folders (
  uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, kind TEXT NOT NULL, parent_uid TEXT, shared_folder_uid TEXT,
  owner_uid TEXT NOT NULL, revision BIGINT NOT NULL, data BYTEA NOT NULL,
  default_manage_users BOOLEAN NOT NULL, default_manage_records BOOLEAN NOT NULL,
  default_can_edit BOOLEAN NOT NULL, default_can_share BOOLEAN NOT NULL);
CREATE INDEX folders_tenant ON folders (tenant_uid);
CREATE TABLE shares (
  shared_folder_uid TEXT NOT NULL, holder_uid TEXT NOT NULL, holder_kind TEXT NOT NULL, wrapped_key BYTEA NOT NULL,
  manage_users BOOLEAN NOT NULL, manage_records BOOLEAN NOT NULL, parent_uid TEXT,
  PRIMARY KEY (shared_folder_uid, holder_uid));
CREATE TABLE records (
  uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, owner_uid TEXT NOT NULL, revision BIGINT NOT NULL,
  created BIGINT NOT NULL, modified BIGINT NOT NULL, data BYTEA NOT NULL);
CREATE INDEX records_tenant ON records (tenant_uid);
CREATE TABLE record_keys (
  record_uid TEXT NOT NULL, holder_uid TEXT NOT NULL, wrapped_key BYTEA NOT NULL,
  can_edit BOOLEAN NOT NULL, can_share BOOLEAN NOT NULL, PRIMARY KEY (record_uid, holder_uid));
CREATE INDEX record_keys_holder ON record_keys (holder_uid);
CREATE TABLE folder_records (folder_uid TEXT NOT NULL, record_uid TEXT NOT NULL,
  PRIMARY KEY (folder_uid, record_uid));
CREATE INDEX folder_records_record ON folder_records (record_uid);
CREATE TABLE record_history (record_uid TEXT NOT NULL, revision BIGINT NOT NULL, owner_uid TEXT NOT NULL,
  tenant_uid TEXT NOT NULL, created BIGINT NOT NULL, modified BIGINT NOT NULL, data BYTEA NOT NULL,
  PRIMARY KEY (record_uid, revision));
CREATE TABLE attachments (uid TEXT PRIMARY KEY, record_uid TEXT NOT NULL, data BYTEA NOT NULL);
CREATE INDEX attachments_record ON attachments (record_uid);
CREATE TABLE pending_rotations (record_uid TEXT PRIMARY KEY, started BIGINT NOT NULL, data BYTEA NOT NULL);
CREATE TABLE audit (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_uid TEXT NOT NULL,
  record_uid TEXT NOT NULL, plugin TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL,
  duration_ms BIGINT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX audit_tenant ON audit (tenant_uid, id);
CREATE TABLE rotation_locks (record_uid TEXT PRIMARY KEY, token TEXT NOT NULL, pid BIGINT NOT NULL,
  host TEXT NOT NULL, machine TEXT NOT NULL, process_start BIGINT NOT NULL, acquired BIGINT NOT NULL,
  heartbeat BIGINT NOT NULL);
"#,
    ),
    (
        2,
        "direct shares that end (record_keys.expires, epoch ms)",
        "ALTER TABLE record_keys ADD COLUMN expires BIGINT;",
    ),
    (
        3,
        "enterprises: MSPs, managed companies, licences, the billing ledger (as SQLite vault format 4)",
        r#"
CREATE TABLE enterprises (tenant_uid TEXT PRIMARY KEY, enterprise_id BIGINT NOT NULL UNIQUE, kind TEXT NOT NULL,
  parent_uid TEXT, created BIGINT NOT NULL);
CREATE TABLE enterprise_admins (tenant_uid TEXT NOT NULL, user_uid TEXT NOT NULL, wrapped_tree_key BYTEA NOT NULL,
  PRIMARY KEY (tenant_uid, user_uid));
CREATE TABLE enterprise_nodes (node_id BIGINT PRIMARY KEY, tenant_uid TEXT NOT NULL, parent_id BIGINT,
  data BYTEA NOT NULL);
CREATE TABLE msp_permits (msp_uid TEXT PRIMARY KEY, restricted BOOLEAN NOT NULL, allow_unlimited BOOLEAN NOT NULL,
  allowed_products TEXT NOT NULL, allowed_addons TEXT NOT NULL, max_file_plan TEXT);
CREATE TABLE msp_pools (msp_uid TEXT NOT NULL, plan TEXT NOT NULL, total BIGINT NOT NULL, stash BIGINT NOT NULL,
  PRIMARY KEY (msp_uid, plan));
CREATE TABLE managed_companies (tenant_uid TEXT PRIMARY KEY, msp_uid TEXT NOT NULL, node_id BIGINT NOT NULL,
  plan TEXT NOT NULL, seats BIGINT NOT NULL, file_plan TEXT, paused BOOLEAN NOT NULL,
  wrapped_tree_key BYTEA NOT NULL, data BYTEA NOT NULL);
CREATE INDEX managed_companies_msp ON managed_companies (msp_uid);
CREATE TABLE mc_addons (mc_uid TEXT NOT NULL, addon TEXT NOT NULL, seats BIGINT NOT NULL,
  PRIMARY KEY (mc_uid, addon));
CREATE TABLE billing_events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, msp_uid TEXT NOT NULL,
  mc_id BIGINT NOT NULL, at BIGINT NOT NULL, change TEXT NOT NULL, product TEXT NOT NULL, licences BIGINT NOT NULL);
CREATE INDEX billing_events_msp ON billing_events (msp_uid, at);
"#,
    ),
    (
        4,
        "Secrets Manager applications and client devices: apps, app_clients (as SQLite vault format 5)",
        r#"
CREATE TABLE apps (uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, owner_uid TEXT NOT NULL, name TEXT NOT NULL,
  wrapped_key BYTEA NOT NULL, created BIGINT NOT NULL, UNIQUE (tenant_uid, name));
CREATE TABLE app_clients (uid TEXT PRIMARY KEY, app_uid TEXT NOT NULL, tenant_uid TEXT NOT NULL,
  created BIGINT NOT NULL, token_expires BIGINT NOT NULL, access_expires BIGINT, unlock_ip BOOLEAN NOT NULL,
  token_key BYTEA, public_key BYTEA, wrapped_app_key BYTEA, bound BIGINT);
CREATE INDEX app_clients_app ON app_clients (app_uid);
CREATE INDEX app_clients_tenant ON app_clients (tenant_uid);
"#,
    ),
    (
        5,
        "client devices: access counted from first use, the token's key for re-keying (as SQLite vault format 6)",
        r#"
ALTER TABLE app_clients ADD COLUMN access_minutes BIGINT, ADD COLUMN owner_token_key BYTEA;
"#,
    ),
    (
        6,
        "roles with enforcements and members, users' nodes (as SQLite vault format 7)",
        r#"
CREATE TABLE enterprise_roles (role_id BIGINT PRIMARY KEY, tenant_uid TEXT NOT NULL, node_id BIGINT NOT NULL,
  data BYTEA NOT NULL, visible_below BOOLEAN NOT NULL, new_user_inherit BOOLEAN NOT NULL);
CREATE INDEX enterprise_roles_tenant ON enterprise_roles (tenant_uid);
CREATE TABLE role_enforcements (role_id BIGINT NOT NULL, key TEXT NOT NULL, value_type TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (role_id, key));
CREATE TABLE role_users (role_id BIGINT NOT NULL, user_uid TEXT NOT NULL, PRIMARY KEY (role_id, user_uid));
CREATE TABLE enterprise_users (user_uid TEXT PRIMARY KEY, tenant_uid TEXT NOT NULL, node_id BIGINT NOT NULL);
CREATE INDEX enterprise_users_tenant ON enterprise_users (tenant_uid);
"#,
    ),
    (
        7,
        "who made each tenant: tenants.creator_uid (as SQLite vault format 8)",
        r#"
ALTER TABLE tenants ADD COLUMN creator_uid TEXT;
UPDATE tenants t SET creator_uid = (SELECT u.uid FROM users u WHERE u.tenant_uid = t.uid
  AND u.kdf <> convert_to('keeper/key-held', 'UTF8') ORDER BY u.created, u.uid LIMIT 1)
  WHERE NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.tenant_uid = t.uid AND e.kind = 'mc');
"#,
    ),
    (
        8,
        "the company's name in each billing event, MSP price tables (as SQLite vault format 9)",
        r#"
ALTER TABLE billing_events ADD COLUMN company TEXT NOT NULL DEFAULT '';
CREATE TABLE msp_prices (msp_uid TEXT PRIMARY KEY, prices TEXT NOT NULL);
"#,
    ),
    (
        9,
        "users who must be re-keyed before use: users.must_rekey (as SQLite vault format 10)",
        "ALTER TABLE users ADD COLUMN must_rekey BOOLEAN NOT NULL DEFAULT FALSE;",
    ),
];

/// Whether the `keeper` schema exists in this database, and whether it
/// holds a vault.
pub(super) fn state(db: &Db<'_, '_>) -> Result<(bool, bool)> {
    let row = db.query_opt(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), \
         to_regclass($2) IS NOT NULL",
        &[&SCHEMA, &format!("{SCHEMA}.vault_meta")],
    )?;
    Ok(row.map_or((false, false), |r| (r.get(0), r.get(1))))
}

/// Creates the schema at the newest version, inside the caller's
/// transaction. The caller checked that no `keeper` schema exists.
pub(super) fn create(db: &Db<'_, '_>) -> Result<()> {
    db.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    db.batch(&format!(
        "CREATE SCHEMA {SCHEMA}; SET LOCAL search_path = {SCHEMA}; \
         CREATE TABLE migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         applied BIGINT NOT NULL);"
    ))?;
    for (version, description, sql) in MIGRATIONS {
        apply(db, *version, description, sql)?;
    }
    db.batch(&format!(
        "INSERT INTO vault_meta (key, value) VALUES ('format', 'keeper-vault'), \
         ('backend', 'postgresql'), ('version', '{SCHEMA_VERSION}')"
    ))
}

fn apply(db: &Db<'_, '_>, version: i64, description: &str, sql: &str) -> Result<()> {
    db.batch(sql)?;
    db.execute(
        "INSERT INTO migrations (version, description, applied) VALUES ($1, $2, $3)",
        &[&version, &description, &crate::vault::now_ms()],
    )?;
    Ok(())
}

/// The newest applied version.
pub(super) fn version(db: &Db<'_, '_>) -> Result<i64> {
    let row = db.query_opt("SELECT max(version) FROM migrations", &[])?;
    Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(0))
}

/// Checks the vault's metadata and version.
///
/// # Errors
///
/// [`VaultError::Corrupted`] without keeper's metadata;
/// [`VaultError::UnsupportedVersion`] for a newer schema.
pub(super) fn check(db: &Db<'_, '_>) -> Result<i64> {
    let format = db
        .query_opt("SELECT value FROM vault_meta WHERE key = 'format'", &[])?
        .map(|r| r.get::<_, String>(0));
    if format.as_deref() != Some("keeper-vault") {
        return Err(VaultError::Corrupted("vault metadata is missing".into()));
    }
    let version = version(db)?;
    if version > SCHEMA_VERSION {
        return Err(VaultError::UnsupportedVersion(version));
    }
    Ok(version)
}

/// Applies every missing migration after `from`, each in the caller's
/// fresh transaction `tx_for(version)`; a concurrent upgrader is waited
/// for, then nothing is left to do.
pub(super) fn upgrade_step(db: &Db<'_, '_>) -> Result<bool> {
    db.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let current = version(db)?;
    let Some((version, description, sql)) = MIGRATIONS.iter().find(|(v, ..)| *v == current + 1)
    else {
        return Ok(false);
    };
    apply(db, *version, description, sql)?;
    db.execute(
        "UPDATE vault_meta SET value = $1 WHERE key = 'version'",
        &[&version.to_string()],
    )?;
    Ok(true)
}
