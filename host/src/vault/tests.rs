//! Unit tests of the vault's core: create, open and unlock, refusals of
//! foreign files, pending rotations written together or not at all, and
//! prepared material never taking the password or the target.

use super::*;
use model::{PendingRotation, PreparedField};

fn pw(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

#[test]
fn create_unlock_wrong_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.db");
    let v = Vault::create(&path, "a@b.c", &pw("pw"), &KdfParams::insecure_fast()).expect("create");
    assert!(v.has_weak_kdf());
    drop(v);
    assert!(matches!(
        Vault::create(&path, "a@b.c", &pw("pw"), &KdfParams::insecure_fast()),
        Err(VaultError::AlreadyExists(_))
    ));
    let err = Vault::open(&path)
        .expect("open")
        .unlock(None, &pw("nope"))
        .expect_err("wrong password");
    assert!(matches!(err, VaultError::WrongPassword));
    let v = Vault::open(&path)
        .expect("open")
        .unlock(Some("A@b.c"), &pw("pw"))
        .expect("unlock");
    assert_eq!(v.user().email, "a@b.c");
}

#[test]
fn foreign_and_missing_files_are_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.db");
    assert!(matches!(Vault::open(&missing), Err(VaultError::NoVault(_))));
    let text = dir.path().join("text.db");
    std::fs::write(&text, "hello, this is not a database at all, but it is long enough to have a header......................................").expect("write");
    let before = std::fs::read(&text).expect("read");
    assert!(matches!(
        Vault::open(&text),
        Err(VaultError::Foreign { .. })
    ));
    assert_eq!(std::fs::read(&text).expect("read"), before);
    let other = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&other).expect("sqlite");
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .expect("sql");
    drop(conn);
    let before = std::fs::read(&other).expect("read");
    assert!(matches!(
        Vault::open(&other),
        Err(VaultError::Foreign { .. })
    ));
    assert_eq!(std::fs::read(&other).expect("read"), before);
}

/// Group-committed pending states: all stored, or none when one of the
/// records cannot take one.
#[test]
fn pending_rotations_are_written_together_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.db");
    let mut v =
        Vault::create(&path, "a@b.c", &pw("pw"), &KdfParams::insecure_fast()).expect("create");
    let a = v
        .add_record(RecordData::new("login", "a"), None)
        .expect("add");
    let b = v
        .add_record(RecordData::new("login", "b"), None)
        .expect("add");
    let state = |new: &str| PendingRotation {
        new_password: zeroize::Zeroizing::new(new.into()),
        old_password: zeroize::Zeroizing::new("old".into()),
        plugin: "noop".into(),
        target: String::new(),
        started: 1,
        prepared: Vec::new(),
        keeps_password: false,
    };
    let (sa, sb) = (state("new-a"), state("new-b"));
    let (la, lb) = (
        v.lock_rotation(&a).expect("lock a"),
        v.lock_rotation(&b).expect("lock b"),
    );
    let ghost = RotationLock::never_taken("no-such-record");
    let failed = v.set_pending_rotations(&[(&la, &sa), (&ghost, &sb), (&lb, &sb)]);
    assert!(matches!(failed, Err(VaultError::LockLost(_))), "{failed:?}");
    assert!(
        v.pending_rotation(&a).expect("read").is_none(),
        "nothing stored"
    );
    assert!(v.pending_rotation(&b).expect("read").is_none());
    v.set_pending_rotations(&[(&la, &sa), (&lb, &sb)])
        .expect("both");
    assert_eq!(
        v.pending_rotation(&a)
            .expect("read")
            .map(|p| p.new_password.to_string()),
        Some("new-a".into())
    );
    assert_eq!(
        v.pending_rotation(&b)
            .expect("read")
            .map(|p| p.new_password.to_string()),
        Some("new-b".into())
    );

    // A pending state is never overwritten, nor finished or cleared by
    // someone expecting another one.
    let other = state("other");
    assert!(matches!(
        v.set_pending_rotation(&la, &other),
        Err(VaultError::Conflict(_))
    ));
    assert!(matches!(
        v.clear_pending_rotation(&la, "other", None),
        Err(VaultError::Conflict(_))
    ));
    let audit = store::AuditRow {
        tenant_uid: String::new(),
        record_uid: a.clone(),
        plugin: "noop".into(),
        target: String::new(),
        outcome: "rotated".into(),
        duration_ms: 1,
        at: 1,
    };
    assert!(matches!(
        v.complete_rotation(&la, "other", &audit),
        Err(VaultError::Conflict(_))
    ));
    assert_eq!(
        v.pending_rotation(&a)
            .expect("read")
            .map(|p| p.new_password.to_string()),
        Some("new-a".into()),
        "untouched"
    );
    v.complete_rotation(&la, "new-a", &audit).expect("complete");
    assert!(v.pending_rotation(&a).expect("read").is_none());
    assert!(matches!(
        v.complete_rotation(&la, "new-a", &audit),
        Err(VaultError::NotFound { .. })
    ));
    v.clear_pending_rotation(&lb, "new-b", None).expect("clear");
    assert!(v.pending_rotation(&b).expect("read").is_none());
}

/// Prepared material never picks the stored password nor rewrites the
/// login, the target or a `cmdr:` parameter, even from a pending state
/// stored before the rotation contract refused such fields.
#[test]
fn prepared_material_never_picks_the_password_or_the_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = Vault::create(
        &dir.path().join("v.db"),
        "a@b.c",
        &pw("pw"),
        &KdfParams::insecure_fast(),
    )
    .expect("create");
    let mut data = RecordData::new("login", "db");
    data.set_field(false, "login", None, vec!["app".into()], 0);
    data.set_field(false, "password", None, vec!["Old-pass-1".into()], 0);
    data.set_field(
        false,
        "host",
        None,
        vec![serde_json::json!({"hostName": "db1"})],
        0,
    );
    data.set_field(true, "text", Some("cmdr:plugin"), vec!["mysql".into()], 0);
    let uid = v.add_record(data, None).expect("add");
    let prepared = |kind: &str, label: Option<&str>, value: &str| PreparedField {
        kind: kind.into(),
        label: label.map(str::to_string),
        values: zeroize::Zeroizing::new(vec![value.into()]),
    };
    let state = PendingRotation {
        new_password: zeroize::Zeroizing::new("New-pass-2".into()),
        old_password: zeroize::Zeroizing::new("Old-pass-1".into()),
        plugin: "mysql".into(),
        target: "db1:3306".into(),
        started: 1,
        prepared: vec![
            prepared("password", None, "plugin-chosen"),
            prepared("login", None, "root"),
            prepared("host", None, r#"{"hostName":"127.0.0.2"}"#),
            prepared("url", None, "mysql://127.0.0.2"),
            prepared("text", Some("cmdr:plugin"), "noop"),
            prepared("keyPair", None, r#"{"privateKey":"k","publicKey":"p"}"#),
        ],
        keeps_password: false,
    };
    let lock = v.lock_rotation(&uid).expect("lock");
    v.set_pending_rotation(&lock, &state).expect("pending");
    let audit = store::AuditRow {
        tenant_uid: String::new(),
        record_uid: uid.clone(),
        plugin: "mysql".into(),
        target: String::new(),
        outcome: "rotated".into(),
        duration_ms: 1,
        at: 1,
    };
    let record = v
        .complete_rotation(&lock, "New-pass-2", &audit)
        .expect("complete");
    let d = &record.data;
    assert_eq!(d.password(), Some("New-pass-2"));
    let value = |kind: &str| {
        d.fields
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.value.to_vec())
    };
    assert_eq!(value("login"), Some(vec![serde_json::json!("app")]));
    assert_eq!(
        value("host"),
        Some(vec![serde_json::json!({"hostName": "db1"})])
    );
    assert!(value("url").unwrap_or_default().is_empty());
    assert_eq!(
        **d.custom[0].value,
        vec![serde_json::json!("mysql")],
        "cmdr:plugin untouched"
    );
    assert!(value("keyPair").is_some(), "owned material is applied");
    assert_eq!(
        d.password_history.len(),
        1,
        "{:?}",
        d.password_history.len()
    );

    // A rotation of the material alone (awskey) keeps the password.
    let keeping = PendingRotation {
        new_password: zeroize::Zeroizing::new("Names-it-3".into()),
        old_password: zeroize::Zeroizing::new("New-pass-2".into()),
        prepared: vec![prepared("secret", Some("aws_secret_access_key"), "s2")],
        keeps_password: true,
        ..state
    };
    v.set_pending_rotation(&lock, &keeping).expect("pending");
    let d = v
        .complete_rotation(&lock, "Names-it-3", &audit)
        .expect("complete")
        .data;
    assert_eq!(d.password(), Some("New-pass-2"), "the password stays");
    assert_eq!(d.password_history.len(), 1, "and so does its history");
    assert!(d.fields.iter().chain(&d.custom).any(|f| f.kind == "secret"
        && f.label.as_deref() == Some("aws_secret_access_key")
        && f.value.first() == Some(&serde_json::json!("s2"))));
}
