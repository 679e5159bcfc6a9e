//! Two users on two data directories sharing one vault: alice's data dir
//! made it (`--store URL` saved in her config on PostgreSQL, her
//! `vault.db` on SQLite), bob's config names the same store. They share,
//! edit and revoke, seen from both sides; the raw rows show that once
//! revoked, nothing bob holds opens the record.

use std::path::Path;
use std::process::{Command, Stdio};

use keeper::testing::vault::{Location, SecretString, Vault, holders_opening};

use crate::support::{Keeper, Run, keeper_bin};
use crate::vault::PW;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// `keeper args…` in `dir` as `user`, with only the data dir's config
/// saying where the vault is (no `KEEPER_STORE`).
fn keeper_in(dir: &Path, user: &str, password: &str, args: &[&str]) -> Run {
    let out = Command::new(keeper_bin())
        .env_remove("KEEPER_STORE")
        .env_remove("KEEPER_CONFIG_FILE")
        .env_remove("KEEPER_LOG")
        .env("KEEPER_DATA_DIR", dir)
        .env("KEEPER_USER", user)
        .env("KEEPER_PASSWORD", password)
        .env("KEEPER_TEST_FAST_KDF", "1")
        .env("KEEPER_NEW_USER_PASSWORD", "bob-pw")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run keeper");
    Run(out)
}

/// The one number `sql` returns, read from the store's raw tables
/// (`{t}` is the table prefix: `keeper.` on PostgreSQL).
fn raw_number(k: &Keeper, store: &str, sql: &str) -> i64 {
    if k.on_postgres() {
        let sql = sql.replace("{t}", "keeper.");
        return k
            .sql(&sql)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no number from {sql}"));
    }
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the vault file");
    conn.query_row(&sql.replace("{t}", ""), [], |r| r.get(0))
        .expect("query")
}

/// Runs one statement on the store's raw tables (`{t}` as for
/// [`raw_number`]).
fn raw_execute(k: &Keeper, store: &str, sql: &str) {
    if k.on_postgres() {
        k.sql(&sql.replace("{t}", "keeper."));
        return;
    }
    let conn = rusqlite::Connection::open(store).expect("open the vault file");
    conn.execute(&sql.replace("{t}", ""), [])
        .expect("statement");
}

/// The sealed record data, as stored.
fn raw_record_data(k: &Keeper, store: &str, uid: &str) -> Vec<u8> {
    if k.on_postgres() {
        let hex = k
            .sql(&format!(
                "SELECT encode(data, 'hex') FROM keeper.records WHERE uid = '{uid}'"
            ))
            .expect("the record row");
        return hex::decode(hex.trim()).expect("hex");
    }
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the vault file");
    conn.query_row("SELECT data FROM records WHERE uid = ?1", [uid], |r| {
        r.get(0)
    })
    .expect("the record row")
}

/// What `user`'s own keys open among the record's raw key rows.
fn opened_by(store: &str, user: &str, password: &str, record: &str) -> Vec<String> {
    let vault = Vault::open_at(&Location::parse(store).expect("location"))
        .expect("open")
        .unlock(Some(user), &SecretString::from(password.to_string()))
        .expect("unlock");
    holders_opening(&vault, record).expect("key rows")
}

#[test]
fn two_users_on_two_data_dirs_share_edit_and_revoke() {
    let k = Keeper::new();
    let alice_dir = k.data_dir().to_path_buf();
    let bob_home = tempfile::tempdir().expect("bob's data dir");
    let bob_dir = bob_home.path();
    let alice = |args: &[&str]| keeper_in(&alice_dir, ALICE, PW, args);
    let bob = |args: &[&str]| keeper_in(bob_dir, BOB, "bob-pw", args);

    // Alice creates the vault; on PostgreSQL her config records the URL.
    let store = match k.store_url() {
        Some(url) => {
            alice(&["--store", &url, "init", "--user", ALICE]).ok();
            let config = std::fs::read_to_string(alice_dir.join("config.json")).expect("config");
            assert!(config.contains("\"store\""), "{config}");
            url
        }
        None => {
            alice(&["init", "--user", ALICE]).ok();
            alice_dir.join("vault.db").display().to_string()
        }
    };
    alice(&["user", "add", BOB]).ok();
    // Bob's data dir only knows where the store is.
    std::fs::write(
        bob_dir.join("config.json"),
        serde_json::json!({ "store": store }).to_string(),
    )
    .expect("bob's config");
    let users = bob(&["user", "list", "--format", "json"]).json();
    let uid_of = |email: &str| {
        users
            .as_array()
            .and_then(|a| a.iter().find(|u| u["email"] == email))
            .and_then(|u| u["uid"].as_str())
            .unwrap_or_else(|| panic!("{email} in {users}"))
            .to_string()
    };
    let (alice_uid, bob_uid) = (uid_of(ALICE), uid_of(BOB));
    assert!(
        keeper_in(bob_dir, BOB, PW, &["ls"])
            .fails()
            .contains("wrong master password"),
        "bob unlocks with his own password only"
    );

    let uid = alice(&[
        "add",
        "-t",
        "Deploy key",
        "login=deploy",
        "password=first-secret",
    ])
    .ok()
    .trim()
    .to_string();
    let bob_rows = format!(
        "SELECT count(*) FROM {{t}}record_keys WHERE record_uid = '{uid}' AND holder_uid = '{bob_uid}'"
    );
    assert!(bob(&["get", &uid]).fails().contains("not found"));
    assert_eq!(raw_number(&k, &store, &bob_rows), 0);
    assert!(opened_by(&store, BOB, "bob-pw", &uid).is_empty());

    // Shared with write access: bob reads and edits; alice sees his edit.
    alice(&["share-record", "-e", BOB, "-w", "Deploy key"]).ok();
    assert_eq!(raw_number(&k, &store, &bob_rows), 1);
    assert_eq!(opened_by(&store, BOB, "bob-pw", &uid), [bob_uid.clone()]);
    assert!(
        bob(&["get", &uid, "--unmask"])
            .ok()
            .contains("first-secret")
    );
    bob(&["edit", "-r", &uid, "password=second-secret"]).ok();
    assert!(
        alice(&["get", "Deploy key", "--unmask"])
            .ok()
            .contains("second-secret")
    );
    alice(&["edit", "-r", "Deploy key", "--notes", "rotated by alice"]).ok();
    assert!(bob(&["get", &uid]).ok().contains("rotated by alice"));
    assert!(bob(&["search", "deploy"]).ok().contains("Deploy key"));

    // Revoked: bob's keeper no longer finds it, and nothing bob holds opens it.
    alice(&["share-record", "-a", "revoke", "-e", BOB, "Deploy key"]).ok();
    assert!(bob(&["get", &uid]).fails().contains("not found"));
    assert!(!bob(&["search", "."]).ok().contains("Deploy key"));
    assert!(
        bob(&["edit", "-r", &uid, "password=x"])
            .fails()
            .contains("not found")
    );
    assert_eq!(raw_number(&k, &store, &bob_rows), 0);
    assert!(
        opened_by(&store, BOB, "bob-pw", &uid).is_empty(),
        "bob's data key, private key and shared-folder keys open no key row of the record"
    );
    assert_eq!(opened_by(&store, ALICE, PW, &uid), [alice_uid]);
    let sealed = raw_record_data(&k, &store, &uid);
    for plain in [&b"second-secret"[..], b"Deploy key", b"rotated by alice"] {
        assert!(
            !sealed.windows(plain.len()).any(|w| w == plain),
            "the stored record is sealed"
        );
    }
    // Alice still has it, unchanged by the revocation.
    assert!(
        alice(&["get", &uid, "--unmask"])
            .ok()
            .contains("second-secret")
    );

    // A share's end is bound to bob's sealed key: removing it in the store
    // does not give him a share without end, it breaks his copy.
    alice(&["share-record", "-e", BOB, "--expire-in", "1h", &uid]).ok();
    assert!(bob(&["get", &uid]).ok().contains("Deploy key"));
    raw_execute(
        &k,
        &store,
        &format!(
            "UPDATE {{t}}record_keys SET expires = NULL WHERE record_uid = '{uid}' AND holder_uid = '{bob_uid}'"
        ),
    );
    let err = bob(&["get", &uid]).fails();
    assert!(err.contains("tampered"), "{err}");
    assert!(alice(&["get", &uid]).ok().contains("Deploy key"));
}
