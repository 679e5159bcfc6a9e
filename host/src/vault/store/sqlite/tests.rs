//! Tests of the SQLite backend: deferred durability, WAL syncing, upgrades.
use super::*;
use crate::vault::store::enterprise::checks;

fn synchronous(store: &SqliteStore) -> i64 {
    store
        .connection()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("pragma")
}

/// A deferred write commits like any other, and only it skips the
/// fsync: the connection is back to FULL afterwards, even when the
/// transaction failed.
#[test]
fn deferred_writes_commit_and_restore_full_durability() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v.db");
    drop(SqliteStore::create(&path, &mut |_| Ok(())).expect("create"));
    let mut store = SqliteStore::open(&path).expect("open");
    assert_eq!(synchronous(&store), 2, "FULL by default");
    let tenant = |uid: &str| TenantRow {
        uid: uid.into(),
        name: "tenant".into(),
        parent_uid: None,
        created: 0,
        creator_uid: None,
    };
    store
        .write_deferred(&mut |tx| tx.insert_tenant(&tenant("t1")))
        .expect("deferred write");
    assert_eq!(synchronous(&store), 2);
    let failed = store.write_deferred(&mut |tx| {
        tx.insert_tenant(&tenant("t2"))?;
        Err(VaultError::Invalid("abort".into()))
    });
    assert!(failed.is_err());
    assert_eq!(synchronous(&store), 2);
    // A deferred write that panics leaves NORMAL behind; the next
    // durable write puts FULL back before it writes.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.write_deferred(&mut |_| panic!("mid-transaction"));
    }));
    assert!(panicked.is_err());
    assert_eq!(synchronous(&store), 1, "NORMAL after the panic");
    store.write(&mut |_| Ok(())).expect("durable write");
    assert_eq!(synchronous(&store), 2, "FULL again");
    drop(store);
    let reopened = SqliteStore::open(&path).expect("reopen");
    let uids: Vec<String> = reopened
        .tenants()
        .expect("tenants")
        .into_iter()
        .map(|t| t.uid)
        .collect();
    assert_eq!(
        uids,
        ["t1"],
        "the deferred write committed, the failed one did not"
    );
}

/// A write whose wait for the disk comes later: committed at once (and
/// FULL restored), and its flush syncs the vault's own WAL file.
#[test]
fn a_write_then_flush_commits_and_syncs_the_wal_later() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v.db");
    drop(SqliteStore::create(&path, &mut |_| Ok(())).expect("create"));
    let mut store = SqliteStore::open(&path).expect("open");
    let flush = store
        .write_then_flush(&mut |tx| {
            tx.insert_tenant(&TenantRow {
                uid: "t1".into(),
                name: "tenant".into(),
                parent_uid: None,
                created: 0,
                creator_uid: None,
            })
        })
        .expect("write");
    assert_eq!(synchronous(&store), 2, "FULL again for other writes");
    let wal = std::fs::canonicalize(dir.path().join("v.db-wal")).expect("the WAL");
    assert!(
        matches!(&flush, Flush::Sync { path, .. } if *path == wal),
        "{flush:?}"
    );
    assert_eq!(store.tenants().expect("tenants").len(), 1, "committed");
    flush.wait().expect("synced");
}

/// A version-1 vault (no rotation locks, no share ends) is upgraded when
/// opened, once, keeping its data; a vault from a newer keeper is refused.
#[test]
fn a_version_1_vault_gains_rotation_locks_and_share_ends_when_opened() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v.db");
    drop(SqliteStore::create(&path, &mut |_| Ok(())).expect("create"));
    let conn = Connection::open(&path).expect("sqlite");
    conn.execute_batch(&format!(
        "DROP TABLE rotation_locks; ALTER TABLE record_keys DROP COLUMN expires; {} \
         ALTER TABLE tenants DROP COLUMN creator_uid; {BEFORE_10} \
         DROP TABLE apps; DROP TABLE app_clients; DROP TABLE enterprise_roles; DROP TABLE role_enforcements; DROP TABLE role_users; DROP TABLE enterprise_users; \
         PRAGMA user_version = 1; \
         UPDATE vault_meta SET value = '1' WHERE key = 'version'; \
         INSERT INTO tenants (uid, name, parent_uid, created) VALUES ('t1', 'kept', NULL, 0);",
        checks::DROP_ENTERPRISE_TABLES
    ))
    .expect("make it version 1");
    drop(conn);
    let store = SqliteStore::open(&path).expect("open upgrades");
    let version: i64 = store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(store.rotation_lock("r").expect("the table exists"), None);
    assert!(
        store
            .record_keys("r")
            .expect("the column exists")
            .is_empty()
    );
    assert_eq!(store.tenants().expect("tenants").len(), 1, "data kept");
    assert!(store.apps("t1").expect("the apps table exists").is_empty());
    drop(store);
    SqliteStore::open(&path).expect("a second open has nothing to do");

    let conn = Connection::open(&path).expect("sqlite");
    conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .expect("newer");
    drop(conn);
    assert!(matches!(
        SqliteStore::open(&path),
        Err(VaultError::UnsupportedVersion(v)) if v == SCHEMA_VERSION + 1
    ));
}

/// A version-3 vault (before MSPs) gains the enterprise tables when
/// opened, keeping its data; they then hold and delete what they should.
#[test]
fn a_version_3_vault_gains_the_enterprise_tables() {
    let (_dir, mut store) = upgraded_from(
        3,
        &format!(
            "{} DROP TABLE apps; DROP TABLE app_clients; DROP TABLE enterprise_roles; DROP TABLE role_enforcements; DROP TABLE role_users; DROP TABLE enterprise_users;",
            checks::DROP_ENTERPRISE_TABLES
        ),
    );
    store
        .write(&mut |tx| tx.delete_managed_company("t1"))
        .expect("delete the old tenant");
    checks::enterprise_rows_round_trip(&mut store);
}

/// A version-4 vault (before Secrets Manager applications) gains `apps`
/// and `app_clients` when opened, keeping its rows; they then hold
/// applications and clients like any other table.
#[test]
fn a_version_4_vault_gains_applications_when_opened() {
    let (_dir, mut store) = upgraded_from(
        4,
        &format!(
            "DROP TABLE apps; DROP TABLE app_clients; DROP TABLE enterprise_roles; \
             DROP TABLE role_enforcements; DROP TABLE role_users; DROP TABLE enterprise_users;"
        ),
    );
    crate::vault::store::backend_checks::apps_and_clients_round_trip(&mut store);
}

/// A version-5 vault (applications without re-keying or access from first
/// use) gains `app_clients.access_minutes`, `owner_token_key` and the
/// `app_clients_tenant` index when opened.
#[test]
fn a_version_5_vault_gains_the_schema_6_columns_and_index() {
    let (_dir, mut store) = upgraded_from(
        5,
        &format!(
            "DROP INDEX app_clients_tenant; ALTER TABLE app_clients DROP COLUMN access_minutes; \
             ALTER TABLE app_clients DROP COLUMN owner_token_key; DROP TABLE enterprise_roles; \
             DROP TABLE role_enforcements; DROP TABLE role_users; DROP TABLE enterprise_users;"
        ),
    );
    let plan: String = store
        .connection()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT uid FROM app_clients WHERE tenant_uid = 't1'",
            [],
            |r| r.get(3),
        )
        .expect("plan");
    assert!(plan.contains("app_clients_tenant"), "{plan}");
    crate::vault::store::backend_checks::apps_and_clients_round_trip(&mut store);
}

/// A version-6 vault (before roles) gains the role tables when opened,
/// keeping its rows; they then hold and delete roles as they should.
#[test]
fn a_version_6_vault_gains_roles_when_opened() {
    let (_dir, mut store) = upgraded_from(
        6,
        &format!(
            "DROP TABLE enterprise_roles; DROP TABLE role_enforcements; DROP TABLE role_users; \
             DROP TABLE enterprise_users;"
        ),
    );
    crate::vault::store::roles::checks::roles_round_trip(&mut store);
}

/// A version-7 vault gains `tenants.creator_uid`, each tenant's earliest
/// password user (never a company's key-held identity, whatever its
/// time).
#[test]
fn a_version_7_vault_records_who_made_each_tenant() {
    let (_dir, store) = upgraded_from(
        7,
        "INSERT INTO users (uid, tenant_uid, email, kdf, wrapped_data_key, public_key, \
         wrapped_private_key, checksum, created) VALUES \
         ('late', 't1', 'late@x.example', X'00', X'00', X'00', X'00', X'00', 5), \
         ('first', 't1', 'first@x.example', X'00', X'00', X'00', X'00', X'00', 2), \
         ('held', 't1', 'held@x.example', CAST('keeper/key-held' AS BLOB), X'00', X'00', X'00', X'00', 1);",
    );
    let tenants = store.tenants().expect("tenants");
    assert_eq!(tenants[0].creator_uid.as_deref(), Some("first"));
}

/// What version 9 added (the ledger's company names, price tables).
const BEFORE_9: &str = "ALTER TABLE billing_events DROP COLUMN company; DROP TABLE msp_prices;";

/// A version-8 vault's ledger events gain an empty company name and the
/// vault a price table when opened; both then hold what is written.
#[test]
fn a_version_8_vault_gains_company_names_and_prices_when_opened() {
    let (_dir, mut store) = upgraded_from(
        8,
        "INSERT INTO billing_events (msp_uid, mc_id, at, change, product, licences) \
         VALUES ('m', 7, 1, 'added', 'business', 3);",
    );
    checks::company_names_and_prices_after_upgrade(&mut store);
}

/// What version 10 added (`users.must_rekey`).
const BEFORE_10: &str = "ALTER TABLE users DROP COLUMN must_rekey;";

/// A version-9 vault's users need no re-key when opened; the flag then
/// holds what is written.
#[test]
fn a_version_9_vault_gains_must_rekey_when_opened() {
    let (_dir, mut store) = upgraded_from(
        9,
        "INSERT INTO users (uid, tenant_uid, email, kdf, wrapped_data_key, public_key, \
         wrapped_private_key, checksum, created) VALUES \
         ('old', 't1', 'old@x.example', X'00', X'00', X'00', X'00', X'00', 1);",
    );
    crate::vault::store::backend_checks::must_rekey_after_upgrade(&mut store);
}

/// A new vault made into a `version` one by `drop_sql` (with a tenant
/// `t1` to keep), then opened: upgraded to [`SCHEMA_VERSION`], tenant kept.
fn upgraded_from(version: i64, drop_sql: &str) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("v.db");
    drop(SqliteStore::create(&path, &mut |_| Ok(())).expect("create"));
    let conn = Connection::open(&path).expect("sqlite");
    // Every older format lacks `tenants.creator_uid` (format 8).
    let creator = if version < 8 {
        "ALTER TABLE tenants DROP COLUMN creator_uid;"
    } else {
        ""
    };
    // ... and the ledger's company names and price tables (format 9).
    let billing = if version < 9 { BEFORE_9 } else { "" };
    // ... and `users.must_rekey` (format 10).
    let rekey = if version < 10 { BEFORE_10 } else { "" };
    conn.execute_batch(&format!(
        "{creator} {billing} {rekey} {drop_sql} PRAGMA user_version = {version}; \
         UPDATE vault_meta SET value = '{version}' WHERE key = 'version'; \
         INSERT INTO tenants (uid, name, parent_uid, created) VALUES ('t1', 'kept', NULL, 0);"
    ))
    .expect("make it older");
    drop(conn);
    let store = SqliteStore::open(&path).expect("open upgrades");
    let now: i64 = store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(now, SCHEMA_VERSION);
    assert_eq!(store.tenants().expect("tenants").len(), 1, "data kept");
    (dir, store)
}

/// Through a symlink, the WAL synced is SQLite's own, next to the real
/// file (SQLite resolves the link), not one next to the link.
#[cfg(unix)]
#[test]
fn a_symlinked_vault_syncs_the_real_wal() {
    let dir = tempfile::tempdir().expect("dir");
    let real = dir.path().join("real.db");
    drop(SqliteStore::create(&real, &mut |_| Ok(())).expect("create"));
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let mut store = SqliteStore::open(&link).expect("open through the link");
    let flush = store.write_then_flush(&mut |_| Ok(())).expect("write");
    let wal = std::fs::canonicalize(dir.path().join("real.db-wal")).expect("the WAL");
    assert!(
        matches!(&flush, Flush::Sync { path, .. } if *path == wal),
        "{flush:?}"
    );
    flush.wait().expect("synced");
}

/// A new vault file in `dir` holding record `r1`, whose key `u1` holds,
/// with what `more` writes in the same transaction.
fn with_r1(dir: &tempfile::TempDir, more: &dyn Fn(&mut dyn StoreTx) -> Result<()>) -> SqliteStore {
    let record = RecordRow {
        uid: "r1".into(),
        tenant_uid: "t1".into(),
        owner_uid: "u1".into(),
        revision: 1,
        created: 1,
        modified: 1,
        data: b"one".to_vec(),
    };
    let owner = RecordKeyRow {
        record_uid: "r1".into(),
        holder_uid: "u1".into(),
        wrapped_key: vec![7; 8],
        can_edit: true,
        can_share: true,
        expires: None,
    };
    SqliteStore::create(&dir.path().join("v.db"), &mut |tx| {
        tx.insert_record(&record, &owner)?;
        more(tx)
    })
    .expect("create")
}

/// A key row past its `expires` is not handed to its holder; its owner
/// still sees it among the record's keys.
#[test]
fn expired_key_rows_are_left_out() {
    use crate::vault::store::backend_checks;
    let dir = tempfile::tempdir().expect("dir");
    let now = crate::vault::now_ms();
    let store = with_r1(&dir, &|tx| {
        backend_checks::write_ended_and_running_shares(tx, now)
    });
    backend_checks::ended_shares_are_left_out(&store, now);
}

/// A key or a folder link for a record that is gone (deleted by another
/// process after this one read it) is refused, and nothing is written.
#[test]
fn keys_and_links_of_a_deleted_record_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = with_r1(&dir, &|_| Ok(()));
    crate::vault::store::backend_checks::keys_and_links_of_a_deleted_record_are_refused(&mut store);
}
