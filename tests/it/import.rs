//! `keeper import --format <plugin>` end to end: the csv and lastpass
//! plugins built into keeper and a third-party importer dropped in.

use serde_json::Value;

use crate::plugins;
use crate::vault::{kp, vault};

fn fixture(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn records(k: &crate::support::Keeper) -> Vec<Value> {
    kp(k, &["export", "--format", "json"]).json()["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn find<'a>(records: &'a [Value], title: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["title"] == title)
        .unwrap_or_else(|| panic!("no record {title}"))
}

#[test]
fn keeper_csv_imports_once_with_folders_and_reports_bad_rows() {
    let k = vault();
    let csv = fixture("plugins/csv/tests/fixtures/keeper.csv");

    let dry = kp(&k, &["import", "--format", "csv", &csv, "--dry-run"]).ok();
    assert!(
        dry.contains("would be imported") && dry.contains("GitHub"),
        "{dry}"
    );
    assert!(records(&k).is_empty(), "a dry run writes nothing");

    let run = kp(&k, &["import", "--format", "csv", &csv, "--show-skipped"]);
    let out = run.ok();
    assert!(out.contains("records imported successfully"), "{out}");
    assert!(
        run.stderr().contains("skipped: line 6"),
        "bad rows are reported with line numbers: {}",
        run.stderr()
    );
    let first = records(&k);
    let github = find(&first, "GitHub");
    assert_eq!(github["login"], "octocat");
    assert_eq!(github["password"], "s3cret");
    assert_eq!(github["notes"], "two\nlines, with a comma");
    let db = find(&first, "orders-db");
    assert_eq!(db["$type"], "databaseCredentials");
    assert_eq!(db["password"], "pw,with\"quote");
    let tree = kp(&k, &["tree"]).ok();
    assert!(
        tree.contains("Work") && tree.contains("Dev") && tree.contains("Ops"),
        "{tree}"
    );

    // The same import again creates no duplicates.
    kp(&k, &["import", "--format", "csv", &csv]).ok();
    assert_eq!(
        records(&k).len(),
        first.len(),
        "re-import duplicated records"
    );
}

#[test]
fn import_under_a_folder_and_errors_are_clear() {
    let k = vault();
    let csv = fixture("plugins/csv/tests/fixtures/generic.csv");
    kp(
        &k,
        &["import", "--format", "csv", &csv, "--folder", "Imported"],
    )
    .ok();
    let ls = kp(&k, &["ls", "Imported", "--format", "json"]).json();
    assert!(
        ls.as_array().is_some_and(|entries| !entries.is_empty()),
        "records land under --folder: {ls}"
    );
    assert!(
        kp(&k, &["ls", "--format", "json"])
            .json()
            .as_array()
            .is_some_and(|root| root.iter().all(|e| e["kind"] == "folder")),
        "nothing at the root"
    );
    let err = kp(&k, &["import", "--format", "nope", &csv]).fails();
    assert!(err.contains("no plugin named \"nope\""), "{err}");
    let err = kp(&k, &["import", "--format", "csv", "/nonexistent/file.csv"]).fails();
    assert!(err.contains("does not exist"), "{err}");
    let err = kp(&k, &["import", "--format", "mysql", &csv]).fails();
    assert!(err.contains("not an importer"), "{err}");
}

#[test]
fn lastpass_csv_export_maps_note_types() {
    let k = vault();
    let csv = fixture("plugins/lastpass/tests/fixtures/export-totp.csv");
    kp(&k, &["import", "--format", "lastpass", &csv]).ok();
    let all = records(&k);
    let types: Vec<&str> = all.iter().filter_map(|r| r["$type"].as_str()).collect();
    for expected in [
        "bankAccount",
        "bankCard",
        "address",
        "serverCredentials",
        "databaseCredentials",
        "sshKeys",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
}

#[test]
fn a_dropped_in_importer_works_without_rebuilding_keeper() {
    let k = vault();
    let dir = k.data_dir().join("plugins/bitwarden");
    plugins::bitwarden_importer().package_into(&dir);
    let export = k.data_dir().join("bitwarden.json");
    std::fs::write(
        &export,
        r#"{"encrypted":false,"folders":[{"id":"f1","name":"Personal"}],
            "items":[{"type":1,"name":"Forum","folderId":"f1","notes":"hi",
                      "login":{"username":"bob","password":"pw-1","uris":[{"uri":"https://forum.example"}]}},
                     {"type":2,"name":"Note only","notes":"secret note","secureNote":{"type":0}}]}"#,
    )
    .expect("write export");
    let out = kp(
        &k,
        &[
            "import",
            "--format",
            "bitwarden",
            export.to_str().expect("utf8"),
        ],
    )
    .ok();
    assert!(out.contains("2 records imported"), "{out}");
    let all = records(&k);
    assert_eq!(find(&all, "Forum")["login"], "bob");
    assert_eq!(find(&all, "Note only")["$type"], "encryptedNotes");
}
