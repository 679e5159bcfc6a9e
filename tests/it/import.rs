//! `keeper import --format <plugin>` end to end: the csv and lastpass
//! plugins built into keeper and a third-party importer dropped in.

use serde_json::Value;

use crate::plugins;
use crate::vault::{add, kp, vault};

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

/// An importer's record uid never replaces the existing record it names,
/// unless the user passes `--match-uids` (issue 12: an importer plugin
/// rewrote the title, host and password of any record it named).
#[test]
fn importer_uids_address_existing_records_only_with_match_uids() {
    let k = vault();
    let victim = add(&k, &["-t", "Victim", "login=alice", "password=Kept-pass-1"]);
    let file = k.data_dir().join("named.csv");
    let csv = format!(",Replaced,mallory,pwned,https://evil.example,,,$record_uid,{victim}\n");
    std::fs::write(&file, csv).expect("write");
    let path = file.to_str().expect("utf8");

    kp(&k, &["import", "--format", "csv", path]).ok();
    let all = records(&k);
    let kept = find(&all, "Victim");
    assert_eq!(kept["uid"], victim.as_str(), "{kept}");
    assert_eq!(kept["password"], "Kept-pass-1");
    let new = find(&all, "Replaced");
    assert_ne!(new["uid"], victim.as_str(), "imported as a new record");
    assert_eq!(all.len(), 2);
    // Importing it again recognises the new record by its content.
    kp(&k, &["import", "--format", "csv", path]).ok();
    assert_eq!(records(&k).len(), 2);

    // Asked for explicitly, the uid updates the record it names.
    kp(&k, &["import", "--format", "csv", path, "--match-uids"]).ok();
    let all = records(&k);
    let updated = all
        .iter()
        .find(|r| r["uid"] == victim.as_str())
        .expect("the named record");
    assert_eq!(updated["title"], "Replaced");
    assert_eq!(updated["password"], "pwned");
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

/// A LastPass CSV export with `rows` logins (titles `Site 0`...).
fn lastpass_csv(rows: std::ops::Range<usize>) -> String {
    let mut text = String::from("url,username,password,totp,extra,name,grouping,fav\n");
    for i in rows {
        text.push_str(&format!(
            "https://site{i}.example,user{i},pw-{i},,,Site {i},Folder {},0\n",
            i % 7
        ));
    }
    text
}

#[test]
fn a_large_import_is_written_in_parts_and_resumes_after_a_failure() {
    let k = vault();
    let file = k.data_dir().join("big.csv");
    let file_arg = file.to_str().expect("utf8");
    let rows = keeper::testing::import::PART_RECORDS + 5_000;

    // A source over one part that breaks after the first part: the part
    // written stays, and the error says how to resume.
    let mut broken = lastpass_csv(0..rows);
    broken.push('"');
    broken.push_str(&"x".repeat(9 * 1024 * 1024));
    std::fs::write(&file, broken).expect("write");
    let err = kp(&k, &["import", "--format", "lastpass", file_arg]).fails();
    assert!(
        err.contains(&format!(
            "stopped after 1 part(s) ({} records added, 0 updated, 0 already present)",
            keeper::testing::import::PART_RECORDS
        )) && err.contains("run the same command again"),
        "{err}"
    );
    assert!(err.contains("quote never closed"), "{err}");
    let exported = kp(&k, &["export", "--format", "json"]).json();
    let written = exported["records"].as_array().map_or(0, Vec::len);
    assert_eq!(written, keeper::testing::import::PART_RECORDS);

    // Mended, the same import resumes: the written part is recognised and
    // skipped, the rest added, nothing twice.
    std::fs::write(&file, lastpass_csv(0..rows)).expect("write");
    let run = kp(&k, &["import", "--format", "lastpass", file_arg]);
    let out = run.ok();
    assert!(out.contains("5000 records imported"), "{out}");
    assert!(
        run.stderr().contains(&format!(
            "skipped {} identical",
            keeper::testing::import::PART_RECORDS
        )) && run.stderr().contains("writing it in parts"),
        "{}",
        run.stderr()
    );
    let exported = kp(&k, &["export", "--format", "json"]).json();
    let all = exported["records"].as_array().expect("records");
    assert_eq!(all.len(), rows);
    let mut titles: Vec<&str> = all.iter().filter_map(|r| r["title"].as_str()).collect();
    titles.sort_unstable();
    titles.dedup();
    assert_eq!(titles.len(), rows, "no duplicates");
}

/// A title is stored exactly as the source gave it (a tab, a right-to-left
/// mark: `get --format json` reads it back unchanged, and importing the
/// same source again adds nothing), and escaped only where it is printed:
/// the dry run's plan and `ls -l`.
#[test]
fn a_csv_title_is_stored_as_given_and_escaped_where_printed() {
    let k = vault();
    let title = "Tab\there\u{200f}RTL\u{1b}[2J";
    let shown = "Tab\\there\\u{200f}RTL\\u{1b}[2J";
    let csv = k.data_dir().join("hostile.csv");
    std::fs::write(&csv, format!("Work,{title},octocat,Csv-hostile-1,,\n")).expect("write");
    let csv = csv.to_str().expect("utf8");
    let dry = kp(&k, &["import", "--format", "csv", csv, "--dry-run"]).ok();
    assert!(dry.contains(shown), "{dry}");
    assert!(
        !dry.contains('\u{200f}') && !dry.contains('\u{1b}') && !dry.contains('\t'),
        "{dry:?}"
    );
    kp(&k, &["import", "--format", "csv", csv]).ok();
    let all = records(&k);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["title"], title, "stored as given");
    let uid = all[0]["uid"].as_str().expect("a uid").to_string();
    let got = kp(&k, &["get", &uid, "--format", "json"]).json();
    assert_eq!(got["title"], title, "{got}");
    let list = kp(&k, &["ls", "-l", "Work"]).ok();
    assert!(list.contains(shown), "{list}");
    assert!(
        !list.contains('\u{200f}') && !list.contains('\u{1b}'),
        "{list:?}"
    );
    kp(&k, &["import", "--format", "csv", csv]).ok();
    assert_eq!(records(&k).len(), 1, "re-import duplicated the record");
}
