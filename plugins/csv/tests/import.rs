//! End-to-end tests of the CSV importer over fixture files and generated
//! input, driven through `CsvImport` as the plugin drives it over the host's
//! input stream.

use keeper_plugin_csv::{BATCH_ITEMS, CsvImport, MAX_ROW_BYTES};
use keeper_plugin_sdk::{Field, ImportItem, ImportRecord, Options, PluginError};

/// Every item of an import of `data`, or the first error.
fn import_with(data: &[u8], options: &Options) -> Result<Vec<ImportItem>, PluginError> {
    let mut import = CsvImport::new(data, options);
    let mut all = Vec::new();
    while let Some(batch) = import.next_batch()? {
        assert!(batch.len() <= BATCH_ITEMS);
        all.extend(batch);
    }
    Ok(all)
}

fn import(data: &[u8]) -> Vec<ImportItem> {
    match import_with(data, &Options::default()) {
        Ok(items) => items,
        Err(e) => panic!("import failed: {e}"),
    }
}

fn records(items: &[ImportItem]) -> Vec<&ImportRecord> {
    items
        .iter()
        .filter_map(|i| match i {
            ImportItem::Record(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn skipped(items: &[ImportItem]) -> Vec<&str> {
    items
        .iter()
        .filter_map(|i| match i {
            ImportItem::Skipped(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

fn field<'a>(fields: &'a [Field], kind: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.kind == kind)
        .and_then(Field::value)
}

fn custom<'a>(r: &'a ImportRecord, label: &str) -> Option<&'a str> {
    r.custom
        .iter()
        .find(|f| f.label.as_deref() == Some(label))
        .and_then(Field::value)
}

#[test]
fn keeper_layout_fixture() {
    let items = import(include_bytes!("fixtures/keeper.csv"));
    let recs = records(&items);
    assert_eq!(recs.len(), 5, "{items:#?}");

    let gh = recs[0];
    assert_eq!(gh.title, "GitHub", "BOM must not leak into the first cell");
    assert_eq!(gh.record_type, "login");
    assert_eq!(gh.uid.as_deref(), Some("AbCdEfGhIjKlMnOpQrStUv"));
    assert_eq!(field(&gh.fields, "login"), Some("octocat"));
    assert_eq!(field(&gh.fields, "password"), Some("s3cret"));
    assert_eq!(field(&gh.fields, "url"), Some("https://github.com"));
    assert_eq!(gh.notes.as_deref(), Some("two\nlines, with a comma"));
    assert_eq!(
        field(&gh.fields, "oneTimeCode"),
        Some("otpauth://totp/GitHub?secret=JBSWY3DPEHPK3PXP")
    );
    assert_eq!(custom(gh, "Department"), Some("IT"));
    assert_eq!(gh.locations.len(), 1);
    assert_eq!(gh.locations[0].folder.as_deref(), Some(r"Work\Dev"));
    assert_eq!(gh.locations[0].shared_folder, None);

    let db = recs[1];
    assert_eq!(db.record_type, "databaseCredentials");
    assert_eq!(field(&db.fields, "password"), Some("pw,with\"quote"));
    assert_eq!(field(&db.fields, "url"), None, "empty url makes no field");
    assert_eq!(
        field(&db.fields, "host"),
        Some(r#"{"hostName":"db1.example.com","port":"5432"}"#)
    );
    let text = db.fields.iter().find(|f| f.kind == "text");
    assert_eq!(text.and_then(|f| f.label.as_deref()), Some("type"));
    assert_eq!(text.and_then(Field::value), Some("postgres"));
    let loc = &db.locations[0];
    assert_eq!(loc.shared_folder.as_deref(), Some(r"Ops\DB"));
    assert_eq!(loc.folder.as_deref(), Some("Prod"));
    assert!(loc.can_edit && !loc.can_share);

    let server = recs[2];
    assert_eq!(server.record_type, "serverCredentials");
    assert_eq!(
        field(&server.fields, "host"),
        Some(r#"{"hostName":"10.0.0.1","port":"22"}"#)
    );
    assert!(server.locations[0].can_edit && server.locations[0].can_share);
    assert_eq!(server.locations[0].shared_folder.as_deref(), Some("Team"));

    let bs = recs[3];
    assert_eq!(bs.locations[0].folder.as_deref(), Some(r"A\\B"));
    assert_eq!(
        field(&bs.fields, "oneTimeCode"),
        Some("otpauth://totp/?secret=JBSWY3DPEHPK3PXP")
    );
    // An unreadable date is kept as a custom field under its key.
    assert_eq!(custom(bs, "$date:Since"), Some("not a date"));
    assert!(bs.fields.iter().all(|f| f.kind != "date"));

    let mail = recs[4];
    assert_eq!(mail.title, "Webmail");
    assert!(mail.custom.is_empty(), "a key without value is ignored");

    assert_eq!(
        skipped(&items),
        vec![
            "line 6: 3 columns, expected at least 6 (folder, title, login, password, url, notes)",
            "line 7: the record has no title",
        ]
    );
}

#[test]
fn record_type_option_is_the_default() {
    let options = Options::from(vec![("record-type".to_owned(), "general".to_owned())]);
    let items = import_with(b",A,,,,\n,B,,,,,,$type,serverCredentials\n", &options);
    let items = items.unwrap_or_default();
    let recs = records(&items);
    assert_eq!(recs[0].record_type, "general");
    assert_eq!(recs[1].record_type, "serverCredentials");
}

#[test]
fn generic_fixture_maps_by_header() {
    let items = import(include_bytes!("fixtures/generic.csv"));
    let recs = records(&items);
    assert_eq!(recs.len(), 3, "{items:#?}");
    let first = recs[0];
    assert_eq!(first.title, "Chrome entry");
    assert_eq!(field(&first.fields, "login"), Some("alice"));
    assert_eq!(field(&first.fields, "password"), Some("pa55"));
    assert_eq!(field(&first.fields, "url"), Some("https://a.example.com"));
    assert_eq!(first.notes.as_deref(), Some("multi\nline note"));
    assert_eq!(first.locations[0].folder.as_deref(), Some(r"Personal\Web"));
    assert_eq!(
        field(&first.fields, "oneTimeCode"),
        Some("otpauth://totp/?secret=JBSWY3DPEHPK3PXP")
    );
    assert_eq!(custom(first, "Security PIN"), Some("1234"));
    // The second `Username` column is not the login.
    assert_eq!(custom(first, "login"), Some("second-login"));

    assert_eq!(recs[1].title, "https://noname.example.com");
    assert_eq!(recs[2].title, "Third");
    assert!(recs[2].locations.is_empty());
    assert!(skipped(&items).is_empty());
}

#[test]
fn keeper_header_row_is_skipped() {
    let data = b"Folder,Title,Login,Password,Website Address,Notes,Shared Folder,Custom Fields\n\
                 F,T,l,p,u,n,,Key,Value\n";
    let items = import(data);
    let recs = records(&items);
    assert_eq!(recs.len(), 1);
    assert_eq!(custom(recs[0], "Key"), Some("Value"));
}

#[test]
fn crlf_and_invalid_utf8() {
    let mut data = b",One,a,b,c,d\r\n,Two,".to_vec();
    data.extend_from_slice(&[0xff, 0xfe]);
    data.extend_from_slice(b",b,c,d\r\n,Three,,,,\r\n,Four,a,b,c,\"quoted\"\r\n");
    let items = import(&data);
    let recs = records(&items);
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].notes.as_deref(), Some("d"));
    assert_eq!(recs[2].notes.as_deref(), Some("quoted"));
    assert_eq!(skipped(&items), vec!["line 2: column 3 is not valid UTF-8"]);
}

#[test]
fn batches_are_capped() {
    let mut data = String::new();
    for i in 0..1203 {
        data.push_str(&format!("F,Record {i},user{i},pw,https://x/{i},\n"));
    }
    let mut import = CsvImport::new(data.as_bytes(), &Options::default());
    let mut sizes = Vec::new();
    while let Ok(Some(batch)) = import.next_batch() {
        sizes.push(batch.len());
    }
    assert_eq!(sizes, vec![500, 500, 203]);
}

#[test]
fn an_unclosed_quote_fails_cleanly() {
    let mut data = b",T,\"never closed".to_vec();
    data.resize(MAX_ROW_BYTES + 100_000, b'x');
    let err = import_with(&data, &Options::default());
    assert!(
        matches!(&err, Err(PluginError::MalformedInput(m)) if m.contains("quote never closed")),
        "{err:?}"
    );
}

#[test]
fn empty_and_blank_sources() {
    assert!(import(b"").is_empty());
    assert!(import(b"\n\n,,,\n").is_empty());
    assert!(import(&[0xef, 0xbb, 0xbf]).is_empty());
}
