//! Vault safety through the binary: tampered, truncated and foreign files
//! are refused (and left as they were), and concurrent writers lose nothing.

use std::path::Path;

use crate::support::Keeper;
use crate::vault::{add, kp, vault};

fn db(k: &Keeper) -> std::path::PathBuf {
    k.data_dir().join("vault.db")
}

/// Reads one column blob straight from the SQLite file.
fn blob(path: &Path, sql: &str, uid: &str) -> Vec<u8> {
    let conn = rusqlite::Connection::open(path).expect("open sqlite");
    let out: Vec<u8> = conn.query_row(sql, [uid], |r| r.get(0)).expect("query");
    // Closing checkpoints the WAL so the file holds everything.
    conn.close().expect("close");
    out
}

/// Flips one bit of `needle`'s copy inside the file, at `offset` within it.
fn flip_in_file(path: &Path, needle: &[u8], offset: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    let window = &needle[..needle.len().min(48)];
    let pos = bytes
        .windows(window.len())
        .position(|w| w == window)
        .expect("ciphertext found in the file");
    bytes[pos + offset] ^= 0x04;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn flipped_byte_in_a_record_is_refused_and_not_overwritten() {
    let k = vault();
    if !k.has_vault_file() {
        return;
    }
    let uid = add(
        &k,
        &[
            "-t",
            "Victim",
            "login=a",
            "password=p",
            "-n",
            "some notes to make it longer",
        ],
    );
    add(&k, &["-t", "Other", "login=b"]);
    let data = blob(&db(&k), "SELECT data FROM records WHERE uid = ?1", &uid);
    flip_in_file(&db(&k), &data, 30);
    let before = std::fs::read(db(&k)).expect("read");
    for args in [
        &["get", uid.as_str()][..],
        &["ls"],
        &["search", "x"],
        &["add", "-t", "New"],
    ] {
        let err = kp(&k, args).fails();
        assert!(err.contains("corrupted or tampered"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read(db(&k)).expect("read"),
        before,
        "the damaged file was modified"
    );
}

#[test]
fn flipped_byte_in_a_wrapped_record_key_is_refused() {
    let k = vault();
    if !k.has_vault_file() {
        return;
    }
    let uid = add(&k, &["-t", "Victim", "login=a"]);
    let key = blob(
        &db(&k),
        "SELECT wrapped_key FROM record_keys WHERE record_uid = ?1",
        &uid,
    );
    flip_in_file(&db(&k), &key, 40);
    let err = kp(&k, &["get", &uid]).fails();
    assert!(err.contains("corrupted or tampered"), "{err}");
}

#[test]
fn flipped_byte_in_the_key_header_is_refused() {
    let k = vault();
    if !k.has_vault_file() {
        return;
    }
    add(&k, &["-t", "A"]);
    let conn = rusqlite::Connection::open(db(&k)).expect("open");
    let kdf: Vec<u8> = conn
        .query_row("SELECT kdf FROM users", [], |r| r.get(0))
        .expect("kdf");
    let mut tampered = kdf.clone();
    tampered[8] ^= 1; // iterations
    conn.execute("UPDATE users SET kdf = ?1", [tampered])
        .expect("update");
    conn.close().expect("close");
    let err = kp(&k, &["ls"]).fails();
    assert!(err.contains("corrupted or tampered"), "{err}");
}

#[test]
fn truncated_file_is_refused() {
    let k = vault();
    if !k.has_vault_file() {
        return;
    }
    for i in 0..40 {
        add(&k, &["-t", &format!("Record {i}"), "-n", &"x".repeat(500)]);
    }
    let bytes = std::fs::read(db(&k)).expect("read");
    assert!(
        bytes.len() > 8192,
        "vault too small to truncate meaningfully"
    );
    std::fs::write(db(&k), &bytes[..bytes.len() / 2]).expect("truncate");
    let err = kp(&k, &["ls"]).fails();
    assert!(
        err.contains("corrupted or tampered") || err.contains("truncated"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(db(&k)).expect("read").len(),
        bytes.len() / 2,
        "the truncated file was modified"
    );
}

#[test]
fn foreign_files_are_refused_and_left_alone() {
    let k = Keeper::new();
    if !k.has_vault_file() {
        return;
    }
    // Not SQLite at all.
    std::fs::write(
        db(&k),
        "this is a text file that happens to be called vault.db\n".repeat(4),
    )
    .expect("write");
    let before = std::fs::read(db(&k)).expect("read");
    let err = kp(&k, &["ls"]).fails();
    assert!(err.contains("not a keeper vault"), "{err}");
    assert!(
        kp(&k, &["init", "--user", "a@b.c"])
            .fails()
            .contains("already exists")
    );
    assert_eq!(std::fs::read(db(&k)).expect("read"), before);

    // Another application's SQLite database.
    std::fs::remove_file(db(&k)).expect("rm");
    let conn = rusqlite::Connection::open(db(&k)).expect("sqlite");
    conn.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');")
        .expect("sql");
    conn.close().expect("close");
    let before = std::fs::read(db(&k)).expect("read");
    let err = kp(&k, &["add", "-t", "X"]).fails();
    assert!(err.contains("not a keeper vault"), "{err}");
    assert_eq!(std::fs::read(db(&k)).expect("read"), before);
}

#[test]
fn two_processes_adding_at_once_lose_nothing() {
    let k = vault();
    let per_writer = 50;
    std::thread::scope(|s| {
        for w in 0..2 {
            let k = &k;
            s.spawn(move || {
                for i in 0..per_writer {
                    add(k, &["-t", &format!("w{w}-{i}"), "login=x"]);
                }
            });
        }
    });
    let all = kp(&k, &["search", "^w[01]-", "--format", "json"]).json();
    let mut titles: Vec<String> = all
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["title"].as_str().map(str::to_string))
        .collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), 2 * per_writer);
}

#[test]
fn concurrent_edits_of_one_record_keep_every_change() {
    let k = vault();
    let uid = add(&k, &["-t", "Shared counter"]);
    std::thread::scope(|s| {
        for w in 0..2 {
            let (k, uid) = (&k, &uid);
            s.spawn(move || {
                for i in 0..10 {
                    kp(k, &["edit", "-r", uid, &format!("c.text.w{w}-{i}=v")]).ok();
                }
            });
        }
    });
    let json = kp(&k, &["get", &uid, "--format", "json"]).json();
    assert_eq!(json["custom"].as_array().map(Vec::len), Some(20), "{json}");
    assert_eq!(json["revision"], 21);
}
