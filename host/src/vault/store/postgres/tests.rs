//! Tests of the PostgreSQL backend against the real server at
//! 127.0.0.1:5432 (`KEEPER_TEST_PG` overrides it), each in a database of
//! its own (`keeper_test_<random>`) that is dropped afterwards.

use super::*;
use crate::vault::crypto;
use crate::vault::store::backend_checks;
use crate::vault::store::enterprise::checks;

/// A fresh database, dropped when this goes away.
pub(crate) struct TempDb {
    pub url: PgUrl,
}

impl TempDb {
    pub fn new() -> Self {
        let server = std::env::var("KEEPER_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut random = [0u8; 8];
        crypto::fill_random(&mut random);
        let name = format!("keeper_test_{}", hex::encode(random));
        let url = PgUrl::parse(&server)
            .expect("server URL")
            .with_dbname(&name);
        create_database(&url).expect("create the test database (is PostgreSQL running?)");
        Self { url }
    }

    fn url_with(&self, query: &str) -> PgUrl {
        PgUrl::parse(&format!("{}?{query}", self.url.to_url_string())).expect("url")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = drop_database(&self.url);
    }
}

fn tenant(uid: &str) -> TenantRow {
    TenantRow {
        uid: uid.into(),
        name: "t".into(),
        parent_uid: None,
        created: 1,
        creator_uid: None,
    }
}

fn record(uid: &str, revision: i64, data: &[u8]) -> RecordRow {
    RecordRow {
        uid: uid.into(),
        tenant_uid: "t1".into(),
        owner_uid: "u1".into(),
        revision,
        created: 1,
        modified: revision,
        data: data.to_vec(),
    }
}

fn key(uid: &str) -> RecordKeyRow {
    RecordKeyRow {
        record_uid: uid.into(),
        holder_uid: "u1".into(),
        wrapped_key: vec![7; 8],
        can_edit: true,
        can_share: false,
        expires: None,
    }
}

fn new_store(db: &TempDb) -> PgStore {
    PgStore::create(&db.url, &mut |tx| {
        tx.insert_tenant(&tenant("t1"))?;
        tx.insert_record(&record("r1", 1, b"one"), &key("r1"))
    })
    .expect("create")
}

/// Create, reopen, refuse a second create, and report a database without
/// a vault; the migration is recorded with its version.
#[test]
fn create_open_and_refusals() {
    let db = TempDb::new();
    match PgStore::open(&db.url) {
        Err(VaultError::NoVault(at)) => assert!(at.contains(&db.url.dbname), "{at}"),
        other => panic!("expected NoVault, got {other:?}"),
    }
    drop(new_store(&db));
    let store = PgStore::open(&db.url).expect("open");
    assert_eq!(store.tenants().expect("tenants").len(), 1);
    let rows = store.keyed_records(&["u1".into()]).expect("records");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record.data, b"one");
    assert!(rows[0].key.can_edit && !rows[0].key.can_share);
    assert!(matches!(
        PgStore::create(&db.url, &mut |_| Ok(())),
        Err(VaultError::AlreadyExists(_))
    ));
    let client = store.conns.get().expect("client");
    let version = schema::version(&Db::Client(&client)).expect("version");
    assert_eq!(version, SCHEMA_VERSION);
}

/// A key row past its `expires` is not handed to its holder (the row
/// stays for its owner to see); a version-1 vault gains the column.
#[test]
fn expired_key_rows_are_left_out_and_version_1_upgrades() {
    let db = TempDb::new();
    let mut store = new_store(&db);
    let now = crate::vault::now_ms();
    store
        .write(&mut |tx| backend_checks::write_ended_and_running_shares(tx, now))
        .expect("share");
    backend_checks::ended_shares_are_left_out(&store, now);

    let client = store.conns.get().expect("client");
    Db::Client(&client)
        .batch(&format!(
            "ALTER TABLE record_keys DROP COLUMN expires; ALTER TABLE tenants DROP COLUMN creator_uid; \
             {BEFORE_9} {} DROP TABLE apps; DROP TABLE app_clients; DROP TABLE enterprise_roles; DROP TABLE role_enforcements; DROP TABLE role_users; DROP TABLE enterprise_users; \
             DELETE FROM migrations WHERE version >= 2;",
            checks::DROP_ENTERPRISE_TABLES
        ))
        .expect("make it version 1");
    drop(client);
    drop(store);
    let store = PgStore::open(&db.url).expect("open upgrades");
    let client = store.conns.get().expect("client");
    assert_eq!(
        schema::version(&Db::Client(&client)).expect("version"),
        SCHEMA_VERSION
    );
    let keys = store.record_keys("r1").expect("the column is back");
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k.expires.is_none()));
    drop(client);
    let mut store = store;
    backend_checks::apps_and_clients_round_trip(&mut store);
}

/// A version-4 vault (applications without re-keying or access from first
/// use) gains `app_clients.access_minutes` and `owner_token_key` when
/// opened.
#[test]
fn a_version_4_vault_gains_the_migration_5_columns() {
    let db = TempDb::new();
    let mut store = upgraded_from(
        &db,
        &format!(
            "ALTER TABLE app_clients DROP COLUMN access_minutes, DROP COLUMN owner_token_key; \
             DROP TABLE enterprise_roles; DROP TABLE role_enforcements; DROP TABLE role_users; \
             DROP TABLE enterprise_users; DELETE FROM migrations WHERE version >= 5;"
        ),
    );
    backend_checks::apps_and_clients_round_trip(&mut store);
}

/// A version-5 vault (before roles) gains the role tables when opened;
/// they then hold and delete roles as they should.
#[test]
fn a_version_5_vault_gains_the_role_tables() {
    let db = TempDb::new();
    let mut store = upgraded_from(
        &db,
        &format!(
            "DROP TABLE enterprise_roles; DROP TABLE role_enforcements; DROP TABLE role_users; \
             DROP TABLE enterprise_users; DELETE FROM migrations WHERE version >= 6;"
        ),
    );
    crate::vault::store::roles::checks::roles_round_trip(&mut store);
}

/// A migration-6 vault gains `tenants.creator_uid`, each tenant's
/// earliest password user (never a company's key-held identity).
#[test]
fn a_version_6_vault_records_who_made_each_tenant() {
    let db = TempDb::new();
    let store = upgraded_from(
        &db,
        "DELETE FROM users; DELETE FROM tenants; \
         INSERT INTO tenants (uid, name, parent_uid, created) VALUES ('t1', 'kept', NULL, 0); \
         INSERT INTO users (uid, tenant_uid, email, kdf, wrapped_data_key, public_key, \
         wrapped_private_key, checksum, created) VALUES \
         ('late', 't1', 'late@x.example', '\\x00', '\\x00', '\\x00', '\\x00', '\\x00', 5), \
         ('first', 't1', 'first@x.example', '\\x00', '\\x00', '\\x00', '\\x00', '\\x00', 2), \
         ('held', 't1', 'held@x.example', convert_to('keeper/key-held', 'UTF8'), '\\x00', '\\x00', \
         '\\x00', '\\x00', 1);",
    );
    let tenants = store.tenants().expect("tenants");
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].creator_uid.as_deref(), Some("first"));
}

/// What migration 8 added (the ledger's company names, price tables).
const BEFORE_8: &str = "ALTER TABLE billing_events DROP COLUMN company; DROP TABLE msp_prices;";

/// A migration-7 vault's ledger events gain an empty company name and the
/// vault a price table when opened; both then hold what is written.
#[test]
fn a_version_7_vault_gains_company_names_and_prices() {
    let db = TempDb::new();
    let mut store = upgraded_from(
        &db,
        "INSERT INTO billing_events (msp_uid, mc_id, at, change, product, licences) \
         VALUES ('m', 7, 1, 'added', 'business', 3);",
    );
    checks::company_names_and_prices_after_upgrade(&mut store);
}

/// What migration 9 added (`users.must_rekey`).
const BEFORE_9: &str = "ALTER TABLE users DROP COLUMN must_rekey;";

/// A migration-8 vault's users need no re-key when opened; the flag then
/// holds what is written.
#[test]
fn a_version_8_vault_gains_must_rekey() {
    let db = TempDb::new();
    let mut store = upgraded_from(
        &db,
        "DELETE FROM users; DELETE FROM tenants; \
         INSERT INTO tenants (uid, name, parent_uid, created) VALUES ('t1', 'kept', NULL, 0); \
         INSERT INTO users (uid, tenant_uid, email, kdf, wrapped_data_key, public_key, \
         wrapped_private_key, checksum, created) VALUES \
         ('old', 't1', 'old@x.example', '\\x00', '\\x00', '\\x00', '\\x00', '\\x00', 1);",
    );
    crate::vault::store::backend_checks::must_rekey_after_upgrade(&mut store);
}

/// A new vault in `db` made older by `sql`, then opened: upgraded to
/// [`SCHEMA_VERSION`].
fn upgraded_from(db: &TempDb, sql: &str) -> PgStore {
    let store = new_store(db);
    let client = store.conns.get().expect("client");
    // Every older version lacks `tenants.creator_uid` (migration 7), the
    // ledger's company names and price tables (migration 8) and
    // `users.must_rekey` (migration 9).
    Db::Client(&client)
        .batch(&format!(
            "ALTER TABLE tenants DROP COLUMN creator_uid; {BEFORE_8} {BEFORE_9} \
             DELETE FROM migrations WHERE version >= 7; {sql}"
        ))
        .expect("make it older");
    drop(client);
    drop(store);
    let store = PgStore::open(&db.url).expect("open upgrades");
    let client = store.conns.get().expect("client");
    assert_eq!(
        schema::version(&Db::Client(&client)).expect("version"),
        SCHEMA_VERSION
    );
    drop(client);
    store
}

/// A version-2 vault (before MSPs) gains the enterprise tables when
/// opened; they then hold and delete what they should.
#[test]
fn a_version_2_vault_gains_the_enterprise_tables() {
    let db = TempDb::new();
    let mut store = upgraded_from(
        &db,
        &format!(
            "{} DROP TABLE apps; DROP TABLE app_clients; DROP TABLE enterprise_roles; DROP TABLE role_enforcements; DROP TABLE role_users; DROP TABLE enterprise_users; DELETE FROM migrations WHERE version >= 3; \
             DELETE FROM records; DELETE FROM record_keys; \
             DELETE FROM tenants;",
            checks::DROP_ENTERPRISE_TABLES
        ),
    );
    checks::enterprise_rows_round_trip(&mut store);
}

/// A failing `init` leaves the database without any keeper schema.
#[test]
fn a_failed_create_leaves_nothing() {
    let db = TempDb::new();
    let err = PgStore::create(&db.url, &mut |tx| {
        tx.insert_tenant(&tenant("t1"))?;
        Err(VaultError::Invalid("stop".into()))
    });
    assert!(matches!(err, Err(VaultError::Invalid(_))));
    assert!(matches!(
        PgStore::open(&db.url),
        Err(VaultError::NoVault(_))
    ));
    drop(new_store(&db));
}

/// A vault upgraded by a newer keeper is refused, not used.
#[test]
fn a_newer_schema_is_refused() {
    let db = TempDb::new();
    let store = new_store(&db);
    let client = store.conns.get().expect("client");
    Db::Client(&client)
        .batch("INSERT INTO migrations (version, description, applied) VALUES (99, 'future', 0)")
        .expect("insert");
    assert!(matches!(
        PgStore::open(&db.url),
        Err(VaultError::UnsupportedVersion(99))
    ));
}

/// A stale revision is refused ("changed by another process") and
/// overwrites nothing; the current one moves the old row to the history.
#[test]
fn stale_updates_are_refused() {
    let db = TempDb::new();
    let mut a = new_store(&db);
    let mut b = PgStore::open(&db.url).expect("open");
    a.write(&mut |tx| tx.update_record(&record("r1", 2, b"two"), 1))
        .expect("update");
    let stale = b.write(&mut |tx| tx.update_record(&record("r1", 2, b"other"), 1));
    assert!(matches!(stale, Err(VaultError::Conflict(_))), "{stale:?}");
    let row = b
        .keyed_record("r1", &["u1".into()])
        .expect("read")
        .expect("row");
    assert_eq!(
        (row.record.revision, row.record.data.as_slice()),
        (2, &b"two"[..])
    );
    let history = b.record_history("r1").expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].data, b"one");
}

/// A key or a folder link for a record that is gone is refused, never
/// left behind: sequentially (the backends' shared check), and when
/// another machine's delete commits while the key's transaction is open
/// (the server cancels one of the two; the retry finds the record gone).
#[test]
fn keys_and_links_of_a_deleted_record_are_refused() {
    let db = TempDb::new();
    let mut a = new_store(&db);
    let mut b = PgStore::open(&db.url).expect("open");
    a.write(&mut |tx| tx.insert_record(&record("r2", 1, b"two"), &key("r2")))
        .expect("r2");
    let mut attempts = 0;
    let shared = a.write(&mut |tx| {
        attempts += 1;
        tx.put_record_key(&RecordKeyRow {
            holder_uid: "u2".into(),
            ..key("r2")
        })?;
        if attempts == 1 {
            // Another machine deletes r2 before this transaction commits.
            b.write(&mut |tx| tx.delete_record("r2")).expect("rm");
        }
        Ok(())
    });
    assert!(
        matches!(shared, Err(VaultError::NotFound { .. })),
        "{shared:?} after {attempts} attempts"
    );
    crate::vault::store::backend_checks::keys_and_links_of_a_deleted_record_are_refused(&mut a);
}

/// Many threads with stores of their own read-modify-write the same row
/// in SERIALIZABLE transactions: the server cancels some, the store runs
/// them again, and no increment is lost.
#[test]
fn concurrent_read_modify_writes_lose_nothing() {
    let db = TempDb::new();
    drop(new_store(&db));
    const THREADS: i64 = 4;
    const EACH: i64 = 15;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let mut store = PgStore::open(&db.url).expect("open");
                for _ in 0..EACH {
                    store
                        .write(&mut |tx| {
                            let row = tx
                                .keyed_record("r1", &["u1".into()])?
                                .ok_or_else(|| VaultError::Invalid("gone".into()))?;
                            let n = row.record.revision;
                            tx.update_record(&record("r1", n + 1, &n.to_be_bytes()), n)
                        })
                        .expect("write");
                }
            });
        }
    });
    let store = PgStore::open(&db.url).expect("open");
    let row = store
        .keyed_record("r1", &["u1".into()])
        .expect("read")
        .expect("row");
    assert_eq!(row.record.revision, 1 + THREADS * EACH);
    assert_eq!(
        store.record_history("r1").expect("history").len() as i64,
        THREADS * EACH
    );
}

/// The rotation lock is a compare-and-set across connections (two
/// machines): one taker wins, a replacement needs the old token.
#[test]
fn rotation_locks_are_compare_and_set() {
    let db = TempDb::new();
    let mut a = new_store(&db);
    let mut b = PgStore::open(&db.url).expect("open");
    let lock = |token: &str| RotationLockRow {
        record_uid: "r1".into(),
        token: token.into(),
        pid: 1,
        host: "h".into(),
        machine: String::new(),
        process_start: 0,
        acquired: 1,
        heartbeat: 1,
    };
    let mut took = false;
    a.write(&mut |tx| {
        took = tx.take_rotation_lock(&lock("A"), None)?;
        Ok(())
    })
    .expect("a");
    assert!(took);
    b.write(&mut |tx| {
        took = tx.take_rotation_lock(&lock("B"), None)?;
        Ok(())
    })
    .expect("b");
    assert!(!took, "held by A");
    b.write(&mut |tx| {
        took = tx.take_rotation_lock(&lock("B"), Some("not-A"))?;
        Ok(())
    })
    .expect("b");
    assert!(!took, "replacing needs A's token");
    b.write(&mut |tx| {
        took = tx.take_rotation_lock(&lock("B"), Some("A"))?;
        Ok(())
    })
    .expect("b");
    assert!(took);
    a.write(&mut |tx| {
        took = tx.touch_rotation_lock("r1", "A", 5)?;
        Ok(())
    })
    .expect("a");
    assert!(!took, "A lost it");
    assert_eq!(
        a.rotation_lock("r1").expect("read").map(|l| l.token),
        Some("B".into())
    );
}

/// `sslmode=require` encrypts (the server says so); `verify-full` checks
/// the certificate, which the local server's self-signed one fails; a
/// wrong password or database is a clear error without the password.
#[test]
fn tls_when_asked_and_clear_connection_errors() {
    let db = TempDb::new();
    drop(new_store(&db));
    let plain = PgStore::open(&db.url).expect("plain");
    let client = plain.conns.get().expect("client");
    let on: String = Db::Client(&client)
        .query_opt("SHOW ssl", &[])
        .expect("show")
        .expect("row")
        .get(0);
    assert_eq!(on, "on", "the test server must offer TLS");
    let ssl_of_this_session = |store: &PgStore| -> bool {
        let client = store.conns.get().expect("client");
        Db::Client(&client)
            .query_opt(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .expect("query")
            .expect("row")
            .get(0)
    };
    assert!(!ssl_of_this_session(&plain), "no TLS unless asked");
    let tls = PgStore::open(&db.url_with("sslmode=require")).expect("require");
    assert!(ssl_of_this_session(&tls));
    assert_eq!(tls.tenants().expect("read over TLS").len(), 1);

    let err = PgStore::open(&db.url_with("sslmode=verify-full"))
        .expect_err("a self-signed certificate is not trusted");
    assert!(err.to_string().contains("cannot connect"), "{err}");

    let missing = db.url.with_dbname("keeper_test_no_such_db");
    let err = PgStore::open(&missing)
        .expect_err("no database")
        .to_string();
    assert!(
        err.contains("keeper_test_no_such_db") && err.contains("does not exist"),
        "{err}"
    );
}

/// The whole vault on PostgreSQL: create, add, reopen and unlock from
/// another connection, edit; the rows hold only sealed blobs.
#[test]
fn a_vault_round_trip_keeps_everything_sealed() {
    use crate::vault::crypto::KdfParams;
    use crate::vault::{Location, RecordData, SecretString, Vault};
    let db = TempDb::new();
    let location = Location::Postgres(db.url.clone());
    let pw = SecretString::from("correct horse".to_string());
    let mut v =
        Vault::create_at(&location, "a@b.c", &pw, &KdfParams::insecure_fast()).expect("create");
    let mut data = RecordData::new("login", "Team DB");
    data.set_field(false, "password", None, vec!["Sup3r-secret".into()], 0);
    let uid = v.add_record(data, None).expect("add");
    drop(v);
    let mut v = Vault::open_at(&location)
        .expect("open")
        .unlock(Some("a@b.c"), &pw)
        .expect("unlock");
    assert_eq!(v.record(&uid).expect("read").data.title, "Team DB");
    v.set_password(&uid, &SecretString::from("N3w-secret".to_string()))
        .expect("edit");
    assert_eq!(
        v.history(&uid).expect("history").len(),
        2,
        "the old and the current revision"
    );
    assert!(matches!(
        Vault::open_at(&location)
            .expect("open")
            .unlock(Some("a@b.c"), &SecretString::from("wrong".to_string())),
        Err(VaultError::WrongPassword)
    ));
    let store = PgStore::open(&db.url).expect("raw");
    let client = store.conns.get().expect("client");
    let raw: Vec<u8> = Db::Client(&client)
        .query_opt("SELECT data FROM records WHERE uid = $1", &[&uid])
        .expect("row")
        .expect("record")
        .get(0);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("Team DB") && !text.contains("secret"),
        "sealed"
    );
}
