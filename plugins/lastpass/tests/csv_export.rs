//! LastPass CSV exports end to end: every note type, with and without the
//! totp column, HTML-escaped cells, folder placeholders and bad rows.

mod common;

use common::{record, value};
use keeper_plugin_lastpass::{BATCH_ITEMS, LastPassImport};
use keeper_plugin_sdk::{Field, ImportItem, ImportRecord, Options, PluginError};

fn import(data: &[u8]) -> Result<Vec<ImportItem>, PluginError> {
    let mut import = LastPassImport::csv(data, &Options::default());
    let mut all = Vec::new();
    while let Some(batch) = import.next_batch()? {
        assert!(batch.len() <= BATCH_ITEMS);
        all.extend(batch);
    }
    Ok(all)
}

fn labelled<'a>(fields: &'a [Field], kind: &str, label: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.kind == kind && f.label.as_deref() == Some(label))
        .and_then(Field::value)
}

fn custom<'a>(r: &'a ImportRecord, label: &str) -> Option<&'a str> {
    r.custom
        .iter()
        .find(|f| f.label.as_deref() == Some(label))
        .and_then(Field::value)
}

fn json(text: Option<&str>) -> serde_json::Value {
    serde_json::from_str(text.unwrap_or("null")).unwrap_or_default()
}

#[test]
fn every_note_type_maps_to_its_record_type() {
    let items = import(include_bytes!("fixtures/export-totp.csv")).unwrap_or_default();
    let expect = [
        ("GitHub", "login"),
        ("Bank", "bankAccount"),
        ("Visa", "bankCard"),
        ("Home", "address"),
        ("License", "driverLicense"),
        ("Passport", "passport"),
        ("SSN", "ssnCard"),
        ("Health", "healthInsurance"),
        ("Insurance", "healthInsurance"),
        ("Club", "membership"),
        ("Mail", "login"),
        ("IRC", "login"),
        ("Orders DB", "databaseCredentials"),
        ("Web server", "serverCredentials"),
        ("Deploy key", "sshKeys"),
        ("Editor", "softwareLicense"),
        ("Wifi", "wifiCredentials"),
        ("Recipe", "encryptedNotes"),
        ("Plain note", "encryptedNotes"),
    ];
    for (title, kind) in expect {
        assert_eq!(record(&items, title).record_type, kind, "{title}");
    }

    let gh = record(&items, "GitHub");
    assert_eq!(value(&gh.fields, "login"), Some("octocat"));
    assert_eq!(value(&gh.fields, "password"), Some("s3cret"));
    assert_eq!(value(&gh.fields, "url"), Some("https://github.com"));
    assert_eq!(
        value(&gh.fields, "oneTimeCode"),
        Some("otpauth://totp/?secret=JBSWY3DPEHPK3PXP")
    );
    assert_eq!(gh.notes.as_deref(), Some("login notes"));
    assert_eq!(gh.locations[0].folder.as_deref(), Some(r"Dev\Code"));

    let bank = record(&items, "Bank");
    let account = json(value(&bank.fields, "bankAccount"));
    assert_eq!(account["accountType"], "Checking");
    assert_eq!(account["routingNumber"], "123456789");
    assert_eq!(account["accountNumber"], "987654321");
    assert_eq!(value(&bank.fields, "pinCode"), Some("1234"));
    assert_eq!(custom(bank, "Bank Name"), Some("Bank of the Shire"));
    assert_eq!(custom(bank, "Language"), None);
    assert_eq!(
        custom(bank, "IBAN Number"),
        None,
        "blank keys make no field"
    );
    assert_eq!(bank.notes.as_deref(), Some("keep safe"));

    let card = record(&items, "Visa");
    let pc = json(value(&card.fields, "paymentCard"));
    assert_eq!(pc["cardNumber"], "4111111111111111");
    assert_eq!(pc["cardExpirationDate"], "06/2030");
    assert_eq!(pc["cardSecurityCode"], "123");
    assert_eq!(
        labelled(&card.fields, "text", "cardholderName"),
        Some("Bilbo Baggins")
    );
    assert_eq!(custom(card, "Type"), Some("Visa"));

    let home = record(&items, "Home");
    let addr = json(value(&home.fields, "address"));
    assert_eq!(addr["street1"], "Bag End");
    assert_eq!(addr["street2"], "Bagshot Row");
    assert_eq!(addr["city"], "Hobbiton");
    assert_eq!(addr["zip"], "12345");
    assert_eq!(json(value(&home.fields, "name"))["last"], "Baggins");
    assert_eq!(value(&home.fields, "email"), Some("bilbo@shire.me"));
    assert_eq!(
        json(labelled(&home.fields, "phone", "Phone"))["number"],
        "5551234"
    );
    assert!(value(&home.fields, "birthDate").is_some());
    assert!(home.locations.is_empty());

    let dl = record(&items, "License");
    assert_eq!(
        labelled(&dl.fields, "accountNumber", "dlNumber"),
        Some("DL123")
    );
    assert_eq!(value(&dl.fields, "expirationDate"), Some("1906502400000"));
    assert_eq!(custom(dl, "License Class"), Some("B"));

    let pp = record(&items, "Passport");
    assert_eq!(
        labelled(&pp.fields, "accountNumber", "passportNumber"),
        Some("P12345")
    );
    assert_eq!(
        labelled(&pp.fields, "date", "dateIssued"),
        Some("1590969600000")
    );

    let ssn = record(&items, "SSN");
    assert_eq!(
        labelled(&ssn.fields, "accountNumber", "identityNumber"),
        Some("123-45-6789")
    );
    assert_eq!(json(value(&ssn.fields, "name"))["first"], "Bilbo");

    assert_eq!(
        value(&record(&items, "Health").fields, "accountNumber"),
        Some("HI-1")
    );
    let ins = record(&items, "Insurance");
    assert_eq!(value(&ins.fields, "accountNumber"), Some("INS-2"));
    assert_eq!(value(&ins.fields, "url"), Some("https://ins.example"));

    let club = record(&items, "Club");
    assert_eq!(value(&club.fields, "accountNumber"), Some("MEM-9"));
    assert_eq!(value(&club.fields, "password"), Some("clubpw"));

    let mail = record(&items, "Mail");
    assert_eq!(value(&mail.fields, "login"), Some("bilbo"));
    assert_eq!(value(&mail.fields, "password"), Some("mailpw"));
    assert_eq!(custom(mail, "Server"), Some("imap.shire.me"));
    assert_eq!(
        value(&record(&items, "IRC").fields, "login"),
        Some("bilbo_irc")
    );

    let db = record(&items, "Orders DB");
    assert_eq!(labelled(&db.fields, "text", "type"), Some("postgres"));
    assert_eq!(
        value(&db.fields, "host"),
        Some(r#"{"hostName":"db.shire.me","port":"5432"}"#)
    );
    assert_eq!(value(&db.fields, "login"), Some("app"));
    assert_eq!(value(&db.fields, "password"), Some("dbpw"));
    assert_eq!(value(&db.fields, "url"), None);
    assert_eq!(custom(db, "Database"), Some("orders"));
    assert_eq!(db.locations[0].shared_folder.as_deref(), Some("Shared-Ops"));
    assert_eq!(db.locations[0].folder.as_deref(), Some("DB"));

    let srv = record(&items, "Web server");
    assert_eq!(
        value(&srv.fields, "host"),
        Some(r#"{"hostName":"web.shire.me","port":"2222"}"#)
    );
    assert_eq!(value(&srv.fields, "login"), Some("root"));
    assert_eq!(srv.notes.as_deref(), Some("multi\nline: notes"));
    assert_eq!(
        srv.locations[0].shared_folder.as_deref(),
        Some("Shared-Ops")
    );
    assert_eq!(srv.locations[0].folder, None);

    let ssh = record(&items, "Deploy key");
    let pair = json(value(&ssh.fields, "keyPair"));
    assert_eq!(
        pair["privateKey"],
        "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----"
    );
    assert_eq!(pair["publicKey"], "ssh-rsa AAAAB3 bilbo@shire");
    assert_eq!(value(&ssh.fields, "password"), Some("sshpass"));
    assert_eq!(
        value(&ssh.fields, "host"),
        Some(r#"{"hostName":"git.shire.me","port":""}"#)
    );

    assert_eq!(
        value(&record(&items, "Editor").fields, "licenseNumber"),
        Some("ABCD-EFGH")
    );
    let wifi = record(&items, "Wifi");
    assert_eq!(labelled(&wifi.fields, "text", "SSID"), Some("shire-net"));
    assert_eq!(value(&wifi.fields, "password"), Some("wifipw"));

    let recipe = record(&items, "Recipe");
    assert!(value(&recipe.fields, "note").is_some_and(|n| n.starts_with("NoteType:Recipe")));
    let plain = record(&items, "Plain note");
    assert_eq!(
        value(&plain.fields, "note"),
        Some("just a plain note\nwith two lines")
    );
    assert!(plain.locations.is_empty(), "(none) is no folder");

    // The shared folder comes once, before its first record.
    let shared: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| matches!(i, ImportItem::SharedFolder(f) if f.path == "Shared-Ops"))
        .map(|(n, _)| n)
        .collect();
    let first_db = items
        .iter()
        .position(|i| matches!(i, ImportItem::Record(r) if r.title == "Orders DB"));
    assert_eq!(shared.len(), 1);
    assert!(Some(shared[0]) < first_db);

    let skipped: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            ImportItem::Skipped(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped[0].contains("\"Empty folder\" is a LastPass folder placeholder"),
        "{}",
        skipped[0]
    );
    assert_eq!(skipped[1], "line 189: 4 columns, the header has 8");
}

#[test]
fn html_escaped_export_without_totp() {
    let items = import(include_bytes!("fixtures/export-escaped.csv")).unwrap_or_default();
    let tj = record(&items, "Tom & Jerry");
    assert_eq!(
        value(&tj.fields, "url"),
        Some("https://tj.example/?a=1&b=2")
    );
    assert_eq!(value(&tj.fields, "password"), Some("p<w>\"x'"));
    assert_eq!(value(&tj.fields, "oneTimeCode"), None);
    assert_eq!(tj.locations[0].folder.as_deref(), Some("Cartoons & More"));
    assert_eq!(record(&items, "Missing Title 1").fields.len(), 3);
}

#[test]
fn a_foreign_header_is_malformed_input() {
    let err = import(b"title,login\na,b\n");
    assert!(
        matches!(&err, Err(PluginError::MalformedInput(m)) if m.starts_with("line 1: not a LastPass CSV export")),
        "{err:?}"
    );
    assert_eq!(import(b"").map(|i| i.len()), Ok(0));
}

#[test]
fn bad_rows_are_skipped_with_line_numbers() {
    let mut data = b"url,username,password,extra,name,grouping,fav\n".to_vec();
    data.extend_from_slice(b"https://a,u,p,,A,,0\n");
    data.extend_from_slice(b"https://b,u,p,\"two\nlines\",B,,0\n");
    data.extend_from_slice(b"https://c,u,p,,C,,0,extra-cell\n");
    data.extend_from_slice(b"https://d,u,\xff,,D,,0\n");
    data.extend_from_slice(b"https://e,u,p,,E,,0\n");
    let items = import(&data).unwrap_or_default();
    let skipped: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            ImportItem::Skipped(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            "line 5: 8 columns, the header has 7",
            "line 6: column 3 is not valid UTF-8"
        ]
    );
    assert_eq!(record(&items, "E").title, "E");
    assert_eq!(record(&items, "B").notes.as_deref(), Some("two\nlines"));
}

#[test]
fn an_unclosed_quote_fails_cleanly() {
    let mut data =
        b"url,username,password,totp,extra,name,grouping,fav\nhttps://a,me,\"never closed".to_vec();
    data.resize(
        keeper_plugin_lastpass::csv_export::MAX_ROW_BYTES + 100_000,
        b'x',
    );
    let err = import(&data);
    assert!(
        matches!(&err, Err(PluginError::MalformedInput(m)) if m.contains("line 2: a row is larger than 8 MiB; is a quote never closed?")),
        "{err:?}"
    );
}
