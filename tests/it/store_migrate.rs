//! `keeper store migrate`: a vault copied from a file to PostgreSQL and
//! back, every row verified, the source untouched; a destination that
//! holds a vault already is refused.

use crate::support::{Keeper, TestDb};
use crate::vault::{add, add_user, kp, run_as, vault};

/// Titles (sorted) and the record count `ls`-style, as one user sees them.
fn titles(k: &Keeper, store: &str, user: Option<&str>, pw: &str) -> Vec<String> {
    let run = run_as(
        k,
        user,
        pw,
        &["--store", store, "search", ".", "--format", "json"],
    );
    let mut out: Vec<String> = run
        .json()
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["title"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

#[test]
fn a_vault_moves_to_postgres_and_back_with_every_row() {
    let k = vault();
    let source = match k.store_url() {
        Some(url) => url,
        None => k.data_dir().join("vault.db").display().to_string(),
    };
    add(&k, &["-t", "Web", "login=alice", "password=pw1"]);
    let uid = add(&k, &["-t", "DB", "login=root", "password=pw2"]);
    kp(&k, &["edit", "-r", &uid, "password=pw3"]).ok();
    kp(&k, &["mkdir", "Team"]).ok();
    add_user(&k, "bob@example.com", "bob's own password");
    let alice = |args: &[&str]| run_as(&k, Some("alice@example.com"), crate::vault::PW, args);
    alice(&["share-record", "-e", "bob@example.com", "-w", &uid]).ok();
    let before = alice(&[
        "--store", &source, "get", &uid, "--format", "json", "--unmask",
    ])
    .json();

    let pg = TestDb::new();
    let pg_url = pg.url.to_url_string();
    // The target database must exist; `store migrate` makes the vault in it.
    let out = alice(&["store", "migrate", "--to", &pg_url, "--format", "json"]).json();
    assert_eq!(out["tables"]["records"], 2, "{out}");
    assert_eq!(out["tables"]["record_history"], 1, "{out}");
    assert_eq!(out["tables"]["users"], 2, "{out}");
    let checksum = out["checksum"].as_str().expect("checksum").to_string();

    // Same records for both users, same record data, history and sharing.
    let pw = crate::vault::PW;
    assert_eq!(
        titles(&k, &pg_url, Some("alice@example.com"), pw),
        titles(&k, &source, Some("alice@example.com"), pw)
    );
    assert_eq!(
        titles(&k, &pg_url, Some("bob@example.com"), "bob's own password"),
        ["DB"]
    );
    let after = alice(&[
        "--store", &pg_url, "get", &uid, "--format", "json", "--unmask",
    ])
    .json();
    assert_eq!(after, before);

    // A second migrate to the same place is refused; the source is intact.
    let err = alice(&["store", "migrate", "--to", &pg_url]).fails();
    assert!(
        err.contains("already exists") && err.contains("untouched"),
        "{err}"
    );

    // And back to a new file: the same checksum over every row.
    let back = k.data_dir().join("back.db");
    let back_s = back.display().to_string();
    let out = alice(&[
        "--store", &pg_url, "store", "migrate", "--to", &back_s, "--format", "json",
    ])
    .json();
    assert_eq!(out["checksum"], checksum.as_str());
    assert_eq!(
        titles(&k, &back_s, Some("alice@example.com"), pw),
        titles(&k, &source, Some("alice@example.com"), pw)
    );
    // The source still works and still has both records.
    assert_eq!(titles(&k, &source, Some("alice@example.com"), pw).len(), 2);
}
