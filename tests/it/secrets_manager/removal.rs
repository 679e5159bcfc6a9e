//! Removal through the binary, on both stores: `client remove` re-keys the
//! application, so a removed device that kept its keeper.ini (its private
//! key, and the application key it opened before) opens none of the raw
//! rows afterwards while the remaining devices and waiting tokens go on;
//! `app remove` takes the application, its clients and its shares away;
//! expired token copies are erased by the next administrative command.

use keeper::testing::profiles::open_device;

use super::{Device, location, raw_number, shared_app, sm, token};
use crate::vault::add;

#[test]
fn removing_a_client_rekeys_what_the_others_keep() {
    let (k, db, api, outside) = shared_app();
    let store = location(&k);
    let (t1, removed_id) = token(&k, "CI", &[]);
    let (t2, _) = token(&k, "CI", &[]);
    let (waiting, _) = token(&k, "CI", &[]);
    let (removed, kept) = (Device::new(), Device::new());
    removed.init(&store, &t1, &[]).ok();
    kept.init(&store, &t2, &[]).ok();
    // The removed device as an attacker who kept everything: its profile
    // and the application key it opened while it could.
    let stale = open_device(Some(&removed.ini()), None).expect("opens before removal");
    let app = stale.app_uid().to_string();
    assert_eq!(stale.holders_opening(&db).expect("rows"), [app.as_str()]);
    let rows_before = raw_number(
        &k,
        &format!("SELECT count(*) FROM {{t}}record_keys WHERE holder_uid = '{app}'"),
    );
    assert_eq!(rows_before, 2);

    let out = sm(
        &k,
        &["client", "remove", "--app", "CI", "--client", &removed_id],
    )
    .ok();
    // Every raw row the application holds is wrapped anew: none opens
    // with what the removed device kept; one row per record, as before.
    for record in [&db, &api] {
        assert!(
            stale.holders_opening(record).expect("rows").is_empty(),
            "record {record}: a row still opens with the removed device's keys"
        );
    }
    assert_eq!(
        raw_number(
            &k,
            &format!("SELECT count(*) FROM {{t}}record_keys WHERE holder_uid = '{app}'"),
        ),
        rows_before
    );
    assert!(
        out.contains("new key (2 record key(s), 1 device(s), 1 waiting token(s) re-wrapped)"),
        "{out}"
    );
    let err = removed.run(&["secret", "list"]).fails();
    assert!(err.contains("was removed"), "{err}");

    // The remaining device and the waiting token work with the new key.
    assert_eq!(
        kept.run(&["secret", "get", &db, "--field", "password"])
            .ok()
            .trim(),
        "Db-pass-1!"
    );
    let late = Device::new();
    late.init(&store, &waiting, &[]).ok();
    assert_eq!(
        late.run(&["secret", "get", "API", "--field", "password"])
            .ok()
            .trim(),
        "Api-pass-2!"
    );
    // A record shared afterwards: readable by the devices, not by the
    // removed one's keys.
    sm(&k, &["app", "share", "--app", "CI", "--secret", &outside]).ok();
    assert_eq!(
        kept.run(&["secret", "get", &outside, "--field", "password"])
            .ok()
            .trim(),
        "Not-for-ci-3!"
    );
    assert!(stale.holders_opening(&outside).expect("rows").is_empty());
    drop(stale);
    // The devices' own view agrees: the kept device opens every row.
    let fresh = open_device(Some(&kept.ini()), None).expect("opens");
    for record in [&db, &api, &outside] {
        assert_eq!(fresh.holders_opening(record).expect("rows"), [app.as_str()]);
    }
}

#[test]
fn removing_an_application_refuses_its_devices() {
    let (k, db, _, _) = shared_app();
    let store = location(&k);
    let (t, _) = token(&k, "CI", &[]);
    let (_unused, _) = token(&k, "CI", &[]);
    let dev = Device::new();
    dev.init(&store, &t, &[]).ok();
    let app = open_device(Some(&dev.ini()), None)
        .expect("opens")
        .app_uid()
        .to_string();
    sm(&k, &["app", "create", "Other"]).ok();
    sm(&k, &["app", "share", "--app", "Other", "--secret", &db]).ok();

    // Without a terminal and without -f: refused, nothing removed.
    let err = sm(&k, &["app", "remove", "CI"]).fails();
    assert!(err.contains("--force"), "{err}");
    assert!(dev.run(&["secret", "list"]).ok().contains("Prod DB"));

    let out = sm(&k, &["app", "remove", "CI", "-f"]).ok();
    assert!(
        out.contains("Application \"CI\" removed (2 record share(s), 2 client device(s))"),
        "{out}"
    );
    let count = |table: &str, column: &str| {
        raw_number(
            &k,
            &format!("SELECT count(*) FROM {{t}}{table} WHERE {column} = '{app}'"),
        )
    };
    assert_eq!(count("apps", "uid"), 0);
    assert_eq!(count("app_clients", "app_uid"), 0);
    assert_eq!(count("record_keys", "holder_uid"), 0);
    let err = dev.run(&["secret", "get", &db]).fails();
    assert!(err.contains("its application was removed"), "{err}");
    let err = sm(&k, &["client", "add", "--app", "CI"]).fails();
    assert!(err.contains("application not found"), "{err}");

    // The other application, the records and their owner are untouched.
    let apps = sm(&k, &["app", "list", "--format", "json"]).json();
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");
    assert_eq!(apps[0]["name"], "Other");
    assert_eq!(apps[0]["records"], 1);
    assert_eq!(crate::vault::vault_password(&k, &db), "Db-pass-1!");
}

#[test]
fn expired_token_copies_are_erased_by_the_next_command() {
    let (k, _, _, _) = shared_app();
    let (late, late_id) = token(&k, "CI", &["--first-access-expires-in-min", "5"]);
    let (_live, live_id) = token(&k, "CI", &[]);
    let copies = |uid: &str| {
        raw_number(
            &k,
            &format!(
                "SELECT count(*) FROM {{t}}app_clients WHERE uid = '{uid}' \
                 AND token_key IS NOT NULL AND owner_token_key IS NOT NULL"
            ),
        )
    };
    assert_eq!((copies(&late_id), copies(&live_id)), (1, 1));
    // Expired (the deadline moved back in the raw row, a stand-in for
    // waiting): its copies stay until an administrative command runs.
    super::raw_execute(
        &k,
        &format!("UPDATE {{t}}app_clients SET token_expires = 1 WHERE uid = '{late_id}'"),
    );
    assert_eq!(copies(&late_id), 1);
    add(&k, &["-t", "Unrelated", "password=x"]);
    sm(&k, &["app", "create", "Later"]).ok();
    let erased = raw_number(
        &k,
        &format!(
            "SELECT count(*) FROM {{t}}app_clients WHERE uid = '{late_id}' \
             AND token_key IS NULL AND owner_token_key IS NULL AND public_key IS NULL"
        ),
    );
    assert_eq!(
        erased, 1,
        "the expired token's copies are gone, its row kept"
    );
    assert_eq!(copies(&live_id), 1, "a live token keeps its copies");
    let listed = sm(&k, &["client", "list", "--format", "json"]).json();
    assert!(listed.to_string().contains(&late_id), "{listed}");
    let err = Device::new().init(&location(&k), &late, &[]).fails();
    assert!(err.contains("expired"), "{err}");
}
