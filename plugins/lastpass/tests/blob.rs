//! The online vault blob end to end: a blob this test builds and encrypts
//! itself (accounts, an RSA-wrapped and an AES-wrapped shared folder,
//! custom fields, secure notes, attachments), and broken blobs.

mod common;

use common::{record, value};
use keeper_plugin_lastpass::LastPassImport;
use keeper_plugin_lastpass::blob::BlobParser;
use keeper_plugin_lastpass::testkit::{
    PlainAccount, PlainAttachment, PlainShare, PlainVault, ShareKeyWrap, TestRng, build_blob,
    chunk, server_fixture,
};
use keeper_plugin_sdk::{Field, ImportItem, PluginError};
use rsa::{RsaPrivateKey, RsaPublicKey};

type Import = LastPassImport<&'static [u8]>;

fn import(blob: Vec<u8>, key: [u8; 32]) -> Result<Vec<ImportItem>, PluginError> {
    let mut import = Import::from_blob(blob, key, None, "login")?;
    let mut all = Vec::new();
    while let Some(batch) = import.next_batch()? {
        all.extend(batch);
    }
    Ok(all)
}

fn vault(rng: &mut TestRng) -> PlainVault {
    let private_key = RsaPrivateKey::new(rng, 1024).unwrap_or_else(|e| panic!("keygen: {e}"));
    let public = RsaPublicKey::from(&private_key);
    let mut github = PlainAccount::login("100", "GitHub", "https://github.com", "octocat", "pw1");
    github.group = r"Dev\Code".into();
    github.notes = "login notes".into();
    github.totp = "JBSWY3DPEHPK3PXP".into();
    github.custom = vec![
        ("PIN".into(), "password".into(), "4321".into()),
        ("Backup mail".into(), "email".into(), "b@example.com".into()),
        ("checkbox".into(), "checkbox".into(), "on".into()),
    ];
    github.attachments = vec![PlainAttachment {
        id: "att1".into(),
        mime: "application/pdf".into(),
        size: "1234".into(),
        filename: "recovery-codes.pdf".into(),
        ..PlainAttachment::default()
    }];
    let server = PlainAccount::note(
        "101",
        "Web server",
        "NoteType:Server\nHostname:web.example.com:2222\nUsername:root\nPassword:srvpw\nNotes:rack 4",
    );
    let mut db = PlainAccount::note(
        "200",
        "Orders DB",
        "NoteType:Database\nType:mysql\nHostname:db.example.com\nPort:3306\nUsername:app\nPassword:dbpw",
    );
    db.group = "Prod".into();
    PlainVault {
        accounts: vec![
            github,
            server,
            PlainAccount::note("102", "Diary", "dear diary"),
            PlainAccount {
                id: "103".into(),
                name: "Folder".into(),
                url: "http://group".into(),
                ..PlainAccount::default()
            },
        ],
        shares: vec![
            PlainShare {
                id: "S1".into(),
                name: "Shared-Ops".into(),
                key: [0x11; 32],
                wrap: ShareKeyWrap::Rsa(public),
                accounts: vec![db],
            },
            PlainShare {
                id: "S2".into(),
                name: "Shared-Team".into(),
                key: [0x22; 32],
                wrap: ShareKeyWrap::Aes,
                accounts: vec![PlainAccount::login(
                    "300",
                    "Team wiki",
                    "https://wiki.example",
                    "team",
                    "pw3",
                )],
            },
        ],
        private_key: Some(private_key),
    }
}

#[test]
fn a_built_blob_imports_completely() {
    let mut rng = TestRng::new(7);
    let vault = vault(&mut rng);
    let fx = server_fixture("Me@Example.com", "master password", 5000, &vault, &mut rng);
    assert_eq!(fx.blob_base64.len() % 4, 0);
    let items = import(fx.blob, fx.key).unwrap_or_else(|e| panic!("{e}"));

    let gh = record(&items, "GitHub");
    assert_eq!(gh.uid.as_deref(), Some("100"));
    assert_eq!(gh.record_type, "login");
    assert_eq!(value(&gh.fields, "login"), Some("octocat"));
    assert_eq!(value(&gh.fields, "password"), Some("pw1"));
    assert_eq!(value(&gh.fields, "url"), Some("https://github.com"));
    assert_eq!(
        value(&gh.fields, "oneTimeCode"),
        Some("otpauth://totp/?secret=JBSWY3DPEHPK3PXP")
    );
    assert_eq!(gh.notes.as_deref(), Some("login notes"));
    assert_eq!(gh.locations[0].folder.as_deref(), Some(r"Dev\Code"));
    let pin = gh.custom.iter().find(|f| f.label.as_deref() == Some("PIN"));
    assert_eq!(pin.map(|f| f.kind.as_str()), Some("secret"));
    assert_eq!(pin.and_then(Field::value), Some("4321"));
    let mail = gh
        .custom
        .iter()
        .find(|f| f.label.as_deref() == Some("Backup mail"));
    assert_eq!(
        mail.map(|f| (f.kind.as_str(), f.value())),
        Some(("email", Some("b@example.com")))
    );
    assert_eq!(
        gh.custom
            .iter()
            .find(|f| f.label.as_deref() == Some("checkbox"))
            .and_then(Field::value),
        Some("on")
    );

    let srv = record(&items, "Web server");
    assert_eq!(srv.record_type, "serverCredentials");
    assert_eq!(
        value(&srv.fields, "host"),
        Some(r#"{"hostName":"web.example.com","port":"2222"}"#)
    );
    assert_eq!(value(&srv.fields, "login"), Some("root"));
    assert_eq!(srv.notes.as_deref(), Some("rack 4"));

    let diary = record(&items, "Diary");
    assert_eq!(diary.record_type, "encryptedNotes");
    assert_eq!(value(&diary.fields, "note"), Some("dear diary"));

    let db = record(&items, "Orders DB");
    assert_eq!(db.record_type, "databaseCredentials");
    assert_eq!(
        value(&db.fields, "host"),
        Some(r#"{"hostName":"db.example.com","port":"3306"}"#)
    );
    assert_eq!(db.locations[0].shared_folder.as_deref(), Some("Shared-Ops"));
    assert_eq!(db.locations[0].folder.as_deref(), Some("Prod"));

    let wiki = record(&items, "Team wiki");
    assert_eq!(
        wiki.locations[0].shared_folder.as_deref(),
        Some("Shared-Team")
    );
    assert_eq!(wiki.locations[0].folder, None);

    let folders: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            ImportItem::SharedFolder(f) => Some(f.path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(folders, vec!["Shared-Ops", "Shared-Team"]);
    let skipped: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            ImportItem::Skipped(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    // Without an online session (a dry run, or this parser alone) the
    // attachment is reported, not silently dropped.
    assert!(
        skipped[0].contains("attachment \"recovery-codes.pdf\" of \"GitHub\": not downloaded"),
        "{}",
        skipped[0]
    );
    assert!(skipped[1].contains("folder placeholder"), "{}", skipped[1]);
}

#[test]
fn an_rsa_share_without_private_key_is_skipped_not_fatal() {
    let mut rng = TestRng::new(8);
    let mut vault = vault(&mut rng);
    vault.private_key = None;
    let key = [5u8; 32];
    let items = import(build_blob(&vault, &key, &mut rng), key).unwrap_or_else(|e| panic!("{e}"));
    let skipped: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            ImportItem::Skipped(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with("LastPass shared folder S1: its key is RSA-encrypted")),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with("LastPass account 200: it is in shared folder S1")),
        "{skipped:?}"
    );
    // The next (AES) share is fine again.
    assert_eq!(
        record(&items, "Team wiki").locations[0]
            .shared_folder
            .as_deref(),
        Some("Shared-Team")
    );
}

#[test]
fn truncated_and_corrupted_blobs_are_malformed_input() {
    let mut rng = TestRng::new(9);
    let vault = PlainVault {
        accounts: vec![PlainAccount::login("1", "A", "https://a", "u", "p")],
        ..PlainVault::default()
    };
    let key = [3u8; 32];
    let blob = build_blob(&vault, &key, &mut rng);
    for cut in [0, 3, 8, 20, blob.len() - 1] {
        let err = import(blob[..cut].to_vec(), key);
        assert!(
            matches!(&err, Err(PluginError::MalformedInput(m)) if m.starts_with("LastPass vault blob:")),
            "cut {cut}: {err:?}"
        );
    }
    // A chunk size pointing past the end.
    let mut bad = blob.clone();
    bad[7] = 0xff;
    bad[6] = 0xff;
    assert!(matches!(
        import(bad, key),
        Err(PluginError::MalformedInput(_))
    ));
    // An item size pointing past its chunk.
    let mut inner = Vec::new();
    chunk(&mut inner, b"ACCT", &[0, 0, 1, 0, b'x']);
    chunk(&mut inner, b"ENDM", b"OK");
    assert!(
        matches!(import(inner, key), Err(PluginError::MalformedInput(m)) if m.contains("item claims"))
    );
    // Flipped ciphertext: that account is skipped.
    let mut flipped = blob.clone();
    let last_cipher_byte = blob.len() - 13 - 40;
    flipped[last_cipher_byte] ^= 0x55;
    let items = import(flipped, key).unwrap_or_default();
    assert!(
        items
            .iter()
            .all(|i| !matches!(i, ImportItem::SharedFolder(_)))
    );
    // The wrong key: every account is reported, none imported.
    let items = import(blob, [4u8; 32]).unwrap_or_default();
    assert!(
        items
            .iter()
            .all(|i| matches!(i, ImportItem::Skipped(s) if s.contains("cannot decrypt"))),
        "{items:#?}"
    );
}

#[test]
fn the_private_key_from_the_login_reply_is_used() {
    let mut rng = TestRng::new(10);
    let mut vault = vault(&mut rng);
    let private_key = vault.private_key.take();
    let key = [6u8; 32];
    // Encrypt the key the way privatekeyenc carries it: a PRIK chunk's payload.
    let with_prik = build_blob(
        &PlainVault {
            private_key,
            ..PlainVault::default()
        },
        &key,
        &mut rng,
    );
    // LPAV chunk: 4 + 4 + 3 bytes; PRIK follows.
    let prik_start = 11;
    let size = u32::from_be_bytes([
        with_prik[prik_start + 4],
        with_prik[prik_start + 5],
        with_prik[prik_start + 6],
        with_prik[prik_start + 7],
    ]) as usize;
    let hex =
        String::from_utf8_lossy(&with_prik[prik_start + 8..prik_start + 8 + size]).into_owned();
    let blob = build_blob(&vault, &key, &mut rng);
    let mut parser = BlobParser::new(blob, key, Some(&hex)).unwrap_or_else(|e| panic!("{e}"));
    let mut shared = Vec::new();
    while let Ok(Some(event)) = parser.next_event() {
        if let keeper_plugin_lastpass::blob::Event::SharedFolder { name, .. } = event {
            shared.push(name);
        }
    }
    assert_eq!(shared, vec!["Shared-Ops", "Shared-Team"]);
}

/// Writes a seed blob (key `[3; 32]`, as the `lastpass_blob` fuzz target
/// uses) to `$KEEPER_FUZZ_SEED`: `KEEPER_FUZZ_SEED=fuzz/seeds/lastpass_blob/built
/// cargo test -p keeper-plugin-lastpass --test blob -- --ignored`.
#[test]
#[ignore = "writes the fuzz seed on request"]
fn write_fuzz_seed() {
    let Ok(path) = std::env::var("KEEPER_FUZZ_SEED") else {
        return;
    };
    let mut rng = TestRng::new(11);
    let mut vault = vault(&mut rng);
    if let Some(share) = vault.shares.first_mut() {
        share.wrap = ShareKeyWrap::Aes;
    }
    vault.private_key = None;
    let blob = build_blob(&vault, &[3; 32], &mut rng);
    std::fs::write(path, blob).unwrap_or_else(|e| panic!("{e}"));
}
