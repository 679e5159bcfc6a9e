//! The hostile-plugin suite, part two: what a plugin is shown, what it may
//! hand back and how what it says reaches a person (issue 12).
//!
//! - a rotator sees only the record fields it needs, and every secret it
//!   sees is redacted from what it says, in any case and encoding;
//! - `prepare` may return only what its manifest owns; anything else is
//!   refused by name before the vault or the target is touched;
//! - terminal escapes in errors, logs, descriptions and skipped-item
//!   reasons are escaped in tables, JSON and logs;
//! - an importer's record uid does not address an existing record unless
//!   the user says `--match-uids`.
//!
//! The plugins are real wasm32-wasip2 components: the hostile rotator
//! (`show`, `leak`, `escapes`, `prepare=...`) and the rogue importer.

use std::sync::atomic::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use keeper::testing::rotation::{Engine, Options, Outcome};
use keeper::testing::runtime::plugin::{Field, RecordView, Rotation};
use keeper::testing::runtime::{ArtifactCache, CallContext, Error, PluginError, Runtime, Step};
use keeper::testing::vault::Vault;
use keeper::testing::vault::crypto::KdfParams;
use keeper::testing::vault::model::RecordData;
use serde_json::json;

use crate::plugins;
use crate::sandbox::counting_listener;
use crate::support::Keeper;
use crate::vault::{add, kp, vault};

const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-secret\n-----END OPENSSH PRIVATE KEY-----\n";

fn field(kind: &str, label: Option<&str>, value: &str) -> Field {
    Field {
        kind: kind.into(),
        label: label.map(str::to_string),
        values: vec![value.into()],
    }
}

/// A record with every kind of secret a vault record holds.
fn rich_record() -> RecordView {
    let pair = json!({"privateKey": PRIVATE_KEY, "publicKey": "ssh-ed25519 AAAAC3 me"});
    RecordView {
        uid: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        title: "everything".into(),
        record_type: "sshKeys".into(),
        fields: vec![
            field("login", None, "victim"),
            field("password", None, "Old-Secret-Pass-1"),
            field("keyPair", None, &pair.to_string()),
            field("pinCode", None, "82731"),
            field("oneTimeCode", None, "otpauth://totp/x?secret=TOTPSEEDXYZ"),
            field("password", None, "Another-System-Pass"),
        ],
        custom: vec![
            field("text", Some("cmdr:attack"), "show"),
            field("secret", Some("cmdr:admin_password"), "Admin-Param-Pass-7"),
            field("secret", Some("api token"), "TOKEN-4711-SECRET"),
            field("text", Some("passphrase"), "Correct-Horse-Phrase"),
        ],
        notes: Some("root password is NOTES-SECRET-9".into()),
    }
}

fn request(attack: &str, record: RecordView) -> Rotation {
    Rotation {
        record,
        target: None,
        params: vec![("attack".into(), attack.into())],
        login: "victim".into(),
        old_password: "Old-Secret-Pass-1".into(),
        new_password: "New-Secret-Pass-2".into(),
        prepared: vec![],
    }
}

async fn rejected(attack: &str, record: RecordView) -> String {
    rejected_with(attack, record, &[]).await
}

async fn rejected_with(attack: &str, record: RecordView, params: &[(&str, &str)]) -> String {
    let cache = tempfile::tempdir().expect("cache");
    let runtime = Runtime::new(ArtifactCache::new(cache.path().to_path_buf())).expect("runtime");
    let plugin = runtime
        .load(&plugins::hostile_rotator().package())
        .expect("load");
    let mut req = request(attack, record);
    req.params
        .extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let call = CallContext {
        secrets: vec![
            req.old_password.clone().into(),
            req.new_password.clone().into(),
        ],
        ..Default::default()
    };
    match plugin.rotation_step(Step::Rotate, call, &req).await {
        Err(Error::Plugin {
            error: PluginError::Rejected(msg),
            ..
        }) => msg,
        other => panic!("{attack}: expected the plugin's own error, got {other:?}"),
    }
}

/// Issue 12 item 3: custom `secret` fields, the pin, the TOTP seed and the
/// notes reached every rotator. Now it sees login, host, url, the rotated
/// password, `cmdr:*` and what its manifest needs (`keyPair`,
/// `text:passphrase`).
#[tokio::test]
async fn a_rotator_sees_only_the_fields_it_needs() {
    let shown = rejected("show", rich_record()).await;
    for expected in [
        "login=victim",
        "password=",
        "keyPair=",
        "text:passphrase=",
        "text:cmdr:attack=show",
        "secret:cmdr:admin_password=",
    ] {
        assert!(shown.contains(expected), "{expected} missing from {shown}");
    }
    for hidden in [
        "pinCode",
        "oneTimeCode",
        "TOTPSEED",
        "api token",
        "TOKEN-4711",
        "notes",
        "NOTES-SECRET",
        "Another-System-Pass",
    ] {
        assert!(!shown.contains(hidden), "{hidden} was shown: {shown}");
    }
}

/// The forms of `secret` the hostile rotator's `leak` writes.
fn forms(secret: &str, login: &str) -> Vec<String> {
    let b = secret.as_bytes();
    vec![
        secret.to_string(),
        secret.to_uppercase(),
        secret.to_lowercase(),
        hex::encode(b),
        hex::encode_upper(b),
        STANDARD.encode(b),
        STANDARD_NO_PAD.encode(b),
        URL_SAFE.encode(b),
        URL_SAFE_NO_PAD.encode(b),
        STANDARD.encode(format!("{login}:{secret}")),
    ]
}

/// Issue 12 item 3: only the two passwords were redacted, and only as
/// they are. Now every secret the call can see is, in any ASCII case, hex,
/// base64 (both alphabets, padded or not) and inside a Basic auth header.
#[tokio::test]
async fn every_secret_a_rotator_sees_is_redacted_in_every_form() {
    let record = rich_record();
    let pair = record.fields[2].values[0].clone();
    let said = rejected("leak", record).await;
    assert!(said.contains("[redacted]"), "{said}");
    assert!(!said.contains("b3BlbnNzaC1rZXktdjEAAAAA"), "{said}");
    for secret in [
        "Old-Secret-Pass-1",
        "New-Secret-Pass-2",
        pair.as_str(),
        "Correct-Horse-Phrase",
        "Admin-Param-Pass-7",
    ] {
        for form in forms(secret, "victim") {
            // What is left around a redaction may be the encoding's first or
            // last characters; the middle of the form must be gone.
            let core = &form[2.min(form.len())..form.len().saturating_sub(3)];
            assert!(
                !said.contains(core),
                "{secret:?} leaked as {form:?}: {said}"
            );
        }
    }
}

/// A secret can leave as a host name the sandbox refuses: what keeper says
/// it denied is redacted too.
#[tokio::test]
async fn a_refused_origin_does_not_carry_a_secret_out() {
    let said = rejected_with(
        "http",
        rich_record(),
        &[("url", "http://new-secret-pass-2.invalid/x")],
    )
    .await;
    assert!(said.contains("keeper denied"), "{said}");
    assert!(!said.to_lowercase().contains("new-secret-pass-2"), "{said}");
}

/// Builds an engine over a fresh vault with the hostile rotator dropped in.
fn engine_with(record: RecordData) -> (Engine, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let plugin_dir = dir.path().join("plugins");
    // Installed with its capabilities granted: a connection to the target
    // would go through, so the listener counting none means none was tried.
    let staged = dir.path().join("package");
    plugins::hostile_rotator().package_into(&staged);
    let package = keeper::testing::runtime::registry::read_candidate(&staged).expect("package");
    keeper::testing::runtime::registry::install(
        &plugin_dir,
        &package,
        &package.manifest.capabilities,
        false,
    )
    .expect("install");
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "a@example.com",
        &secrecy::SecretString::from("master password"),
        &KdfParams::insecure_fast(),
    )
    .expect("vault");
    let uid = vault.add_record(record, None).expect("record");
    let engine = Engine::new(
        vault,
        plugin_dir,
        dir.path().join("cache"),
        dir.path().join("known_hosts"),
    )
    .expect("engine");
    (engine, uid, dir)
}

fn hostile_record(target: &str, prepare: &str, attack: &str) -> RecordData {
    let mut data = RecordData::new("login", "db");
    data.set_field(false, "login", None, vec![json!("app")], 0);
    data.set_field(false, "password", None, vec![json!("Old-pass-1")], 0);
    for (label, value) in [
        ("cmdr:plugin", "hostile-rotator"),
        ("cmdr:host", target),
        ("cmdr:attack", attack),
        ("cmdr:prepare", prepare),
    ] {
        data.set_field(true, "text", Some(label), vec![json!(value)], 0);
    }
    data
}

/// Issue 12 item 2: `prepare` could return any field, so a plugin chose or
/// blanked the stored password, changed the login, or moved the host the
/// next rotation is pinned to; 600 000 empty fields cost 474 MB. Each is
/// now refused by name, and neither the vault nor the target is touched.
#[tokio::test]
async fn prepare_may_return_only_what_the_manifest_owns() {
    let cases = [
        ("password", "`password` field, which only keeper sets"),
        ("login", "`login` field, which only keeper sets"),
        ("host", "`host` field, which only keeper sets"),
        ("url", "`url` field, which only keeper sets"),
        ("cmdr", "`text:cmdr:host` field, which only keeper sets"),
        (
            "undeclared",
            "`secret` field, which its manifest does not declare",
        ),
        ("flood", "600000 fields, over the limit of 16"),
    ];
    for (prepare, expected) in cases {
        let (addr, hits) = counting_listener();
        let (engine, uid, _dir) =
            engine_with(hostile_record(&addr.to_string(), prepare, "connect-target"));
        let before = engine.with_vault(|v| v.record(&uid)).expect("record");
        let report = engine.rotate(&uid, None, &Options::default()).await;
        assert_eq!(report.outcome, Outcome::Failed, "{prepare}: {report:?}");
        let message = report.message.clone().unwrap_or_default();
        assert!(
            message.contains("prepare returned") && message.contains(expected),
            "{prepare}: {message}"
        );
        let after = engine.with_vault(|v| v.record(&uid)).expect("record");
        assert_eq!(
            after.revision, before.revision,
            "{prepare}: the record changed"
        );
        assert!(
            engine
                .with_vault(|v| v.pending_rotation(&uid))
                .expect("read")
                .is_none(),
            "{prepare}: a pending state was stored"
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "{prepare}: the target was touched"
        );
    }
}

/// What the manifest owns is stored with the new password, which the host
/// chose.
#[tokio::test]
async fn owned_material_is_stored_with_the_hosts_password() {
    let (addr, _hits) = counting_listener();
    let (engine, uid, _dir) =
        engine_with(hostile_record(&addr.to_string(), "owned", "same-sandbox"));
    let report = engine.rotate(&uid, None, &Options::default()).await;
    assert_eq!(report.outcome, Outcome::Rotated, "{report:?}");
    let record = engine.with_vault(|v| v.record(&uid)).expect("record");
    let password = record.data.password().expect("password").to_string();
    assert_ne!(password, "Old-pass-1");
    assert_ne!(password, "Chosen-by-plugin-1");
    let pair = record
        .data
        .fields
        .iter()
        .find(|f| f.kind == "keyPair")
        .expect("the owned keyPair was stored");
    assert_eq!(pair.value[0]["privateKey"], "NEW-PRIVATE");
}

/// No raw control character of the plugin's `ESCAPES` in `text`.
#[track_caller]
fn assert_no_controls(text: &str, what: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "{what}: raw control characters {raw:?} in {text:?}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("INFO forged line")),
        "{what}: a forged line: {text:?}"
    );
}

/// Issue 12 item 4: ESC, CR, OSC (title, clipboard) and alternate-screen
/// codes in a plugin's error reached the terminal; log lines passed
/// newlines. They are escaped where plugin text enters the host, so tables,
/// JSON and logs all show them harmlessly.
#[test]
fn plugin_escapes_never_reach_the_terminal() {
    let k = vault();
    plugins::hostile_rotator().package_into(&k.data_dir().join("plugins/hostile-rotator"));
    plugins::rogue_importer().package_into(&k.data_dir().join("plugins/rogue-importer"));
    add(
        &k,
        &[
            "-t",
            "escapes",
            "login=app",
            "password=Old-pass-1",
            "c.text.cmdr:plugin=hostile-rotator",
            "c.text.cmdr:attack=escapes",
        ],
    );
    for format in ["table", "json"] {
        let mut cmd = k.cmd(&["rotate", "escapes", "--format", format]);
        cmd.env("KEEPER_PASSWORD", crate::vault::PW)
            .env("KEEPER_TEST_FAST_KDF", "1")
            .env("KEEPER_LOG", "info");
        let out = cmd.output().expect("run");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_no_controls(&stdout, &format!("rotate --format {format}"));
        assert_no_controls(&stderr, &format!("rotate log ({format})"));
        assert!(stdout.contains("\\u{1b}]52;c;"), "{stdout}");
        assert!(
            stderr.contains("\\u{1b}[2J"),
            "the log line is there: {stderr}"
        );
    }
    for args in [
        &["plugin", "info", "hostile-rotator"][..],
        &["plugin", "info", "hostile-rotator", "--format", "json"],
        &["plugin", "info", "rogue-importer"],
        &["plugin", "list"],
        &["plugin", "list", "--format", "json"],
        &["plugin", "list", "--format", "csv"],
    ] {
        let run = k.run(args);
        let out = run.ok();
        assert_no_controls(&out, &args.join(" "));
        assert_no_controls(&run.stderr(), &args.join(" "));
    }
    let run = rogue_import(&k, "AAAAAAAAAAAAAAAAAAAAAA");
    run.ok();
    assert_no_controls(&run.stderr(), "skipped reasons");
    assert!(run.stderr().contains("line 2\\u{1b}"), "{}", run.stderr());
}

/// `keeper import` of a source holding `content` with the rogue importer,
/// skipped lines and the plugin's log lines shown.
fn rogue_import(k: &Keeper, content: &str) -> crate::support::Run {
    let source = k.data_dir().join("source.txt");
    std::fs::write(&source, content).expect("write");
    let path = source.to_str().expect("utf8");
    let mut cmd = crate::vault::kp_command(
        k,
        &[
            "import",
            "--format",
            "rogue-importer",
            path,
            "--show-skipped",
        ],
    );
    cmd.env("KEEPER_LOG", "info");
    crate::support::Run(cmd.output().expect("run keeper"))
}

/// Issue 12 item 5: a capability-less importer replaced an existing record
/// (title, host, password) by naming its uid. By default it now comes in as
/// a new record; `--match-uids` is the explicit way to let uids update.
#[test]
fn an_importer_cannot_take_over_a_record_by_its_uid() {
    let k: Keeper = vault();
    plugins::rogue_importer().package_into(&k.data_dir().join("plugins/rogue-importer"));
    let victim = add(&k, &["-t", "Victim", "login=alice", "password=Kept-pass-1"]);
    let source = k.data_dir().join("uid.txt");
    std::fs::write(&source, &victim).expect("write");
    let path = source.to_str().expect("utf8");
    let export = |k: &Keeper| kp(k, &["export", "--format", "json"]).json()["records"].clone();

    kp(&k, &["import", "--format", "rogue-importer", path]).ok();
    let records = export(&k);
    let records = records.as_array().expect("records");
    assert_eq!(records.len(), 2, "{records:?}");
    let kept = records
        .iter()
        .find(|r| r["uid"] == victim.as_str())
        .expect("the victim is still there");
    assert_eq!(kept["title"], "Victim");
    assert_eq!(kept["password"], "Kept-pass-1");
    assert_eq!(kept["login"], "alice");

    kp(
        &k,
        &["import", "--format", "rogue-importer", path, "--match-uids"],
    )
    .ok();
    let records = export(&k);
    let named = records
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["uid"] == victim.as_str())
        .cloned()
        .expect("the named record");
    assert_eq!(named["title"], "Taken over", "the user asked for it");
}

/// Issue 19: a WIT importer's words are redacted of the passwords of the
/// records it returned, as a native importer's are (one implementation,
/// `runtime/plugin/import.rs`). The rogue importer's leak attack returns
/// a record with a password and a skipped line quoting it, then logs it
/// and fails quoting it upper-cased: none of them reaches stdout (the
/// import's report), stderr (skipped lines, the error, the log) or the
/// audit (its command and the store's audit table); nothing is written.
/// Seen failing without the fix.
#[test]
fn a_wit_importers_words_are_redacted_of_the_passwords_it_returned() {
    const LEAKED: &str = "leaked-wit-pass-7";
    let k = vault();
    plugins::rogue_importer().package_into(&k.data_dir().join("plugins/rogue-importer"));
    let run = rogue_import(&k, "!leak\n");
    let shown = run.fails();
    for said in [
        "skipped: after the password [redacted]",
        "still holding the password [redacted]",
        "cannot go on after the password [redacted]",
        "nothing was imported",
    ] {
        assert!(shown.contains(said), "{said}: {shown}");
    }
    let everything = format!("{}{shown}", run.stdout()).to_lowercase();
    assert!(!everything.contains(LEAKED), "{everything}");
    let exported = kp(&k, &["export", "--format", "json"]).json();
    assert_eq!(exported["records"].as_array().map(Vec::len), Some(0));
    let log = kp(&k, &["audit-log", "--format", "json"]).stdout();
    assert!(!log.to_lowercase().contains(LEAKED), "{log}");
    let audit = if k.on_postgres() {
        k.sql_rows("SELECT * FROM keeper.audit").join("\n")
    } else {
        let bytes = crate::secrets_manager::removal::vault_bytes(&k);
        String::from_utf8_lossy(&bytes).into_owned()
    };
    assert!(!audit.to_lowercase().contains(LEAKED), "in the store");
}
