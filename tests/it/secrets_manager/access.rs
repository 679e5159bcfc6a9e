//! Who may manage an application, and how long a device may read, through
//! the binary on both stores: a user who does not own an application is
//! refused every change to it (nothing written); `--access-expire-in-min`
//! counts from the device's first access (Commander's meaning), and the
//! minutes are bound into the token's key.

use super::{Machine, location, raw_execute, raw_number, shared_app, sm, token, value_after};
use crate::vault::{PW, add_user, run_as};

#[test]
fn only_the_owner_manages_an_application() {
    let (k, db, _, _) = shared_app();
    let (_, client) = token(&k, "CI", &[]);
    add_user(&k, "bob@example.com", "bob-pw");
    let own = run_as(
        &k,
        Some("bob@example.com"),
        "bob-pw",
        &["add", "-t", "Bob's", "password=Bob-pass-5!"],
    )
    .ok()
    .trim()
    .to_string();
    let snapshot = || {
        [
            "SELECT count(*) FROM {t}record_keys WHERE holder_uid = (SELECT uid FROM {t}apps WHERE name = 'CI')",
            "SELECT count(*) FROM {t}app_clients",
            "SELECT count(*) FROM {t}apps",
        ]
        .map(|sql| raw_number(&k, sql))
    };
    let before = snapshot();
    assert_eq!(before, [2, 1, 1]);
    // `secrets-manager ARGS` as `user`.
    let sm_as = |user: &str, password: &str, args: &[&str]| {
        let mut all = vec!["secrets-manager"];
        all.extend_from_slice(args);
        run_as(&k, Some(user), password, &all)
    };
    let attempts: [&[&str]; 5] = [
        &["app", "share", "--app", "CI", "--secret", &own],
        &["app", "unshare", "--app", "CI", "--secret", &own],
        &["client", "add", "--app", "CI"],
        &["client", "remove", "--app", "CI", "--client", &client],
        &["app", "remove", "CI", "-f"],
    ];
    for args in attempts {
        let err = sm_as("bob@example.com", "bob-pw", args).fails();
        assert!(
            err.contains("application CI belongs to another user"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("One-Time Access Token"), "{err}");
    }
    assert_eq!(snapshot(), before, "nothing written");
    let listed = sm_as(
        "bob@example.com",
        "bob-pw",
        &["app", "list", "--format", "json"],
    )
    .json();
    assert_eq!(listed, serde_json::json!([]), "bob sees no application");
    // alice still manages it.
    let share = ["app", "share", "--app", "CI", "--secret", &db];
    let alice = sm_as("alice@example.com", PW, &share).ok();
    assert!(alice.contains("left as they were"), "{alice}");
}

#[test]
fn access_is_counted_from_the_first_access() {
    let (k, db, _, _) = shared_app();
    let store = location(&k);
    let (t, id) = token(&k, "CI", &["--access-expire-in-min", "30"]);
    let column = |name: &str| {
        raw_number(
            &k,
            &format!("SELECT coalesce({name}, -1) FROM {{t}}app_clients WHERE uid = '{id}'"),
        )
    };
    assert_eq!(
        column("access_expires"),
        -1,
        "no end before the first access"
    );
    assert_eq!(column("access_minutes"), 30);
    let listed = sm(&k, &["client", "list", "--format", "json"]).json();
    assert_eq!(listed[0]["access_minutes"], 30, "{listed}");
    assert!(listed[0]["access_expires"].is_null(), "{listed}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let dev = Machine::device();
    dev.init(&store, &t, &[]).ok();
    let (created, bound, end) = (column("created"), column("bound"), column("access_expires"));
    assert!(bound > created, "bound {bound} after issue {created}");
    assert_eq!(end, bound + 30 * 60_000, "30 minutes from the first access");
    assert_eq!(
        dev.run(&["secret", "get", &db, "--field", "password"])
            .ok()
            .trim(),
        "Db-pass-1!"
    );

    // The minutes are bound into the token's key: a token whose minutes
    // were dropped in the store does not open (no endless access).
    let (t2, id2) = token(&k, "CI", &["--access-expire-in-min", "30"]);
    raw_execute(
        &k,
        &format!("UPDATE {{t}}app_clients SET access_minutes = NULL WHERE uid = '{id2}'"),
    );
    let err = Machine::device().init(&store, &t2, &[]).fails();
    assert!(err.contains("does not open"), "{err}");

    // Bound at once (--config-init): the end is fixed at issue.
    let out = sm(
        &k,
        &[
            "client",
            "add",
            "--app",
            "CI",
            "--access-expire-in-min",
            "30",
            "--config-init",
            "b64",
        ],
    )
    .ok();
    let id3 = value_after(&out, "Client ID:");
    let row = |name: &str| {
        raw_number(
            &k,
            &format!("SELECT {name} FROM {{t}}app_clients WHERE uid = '{id3}'"),
        )
    };
    assert_eq!(row("access_expires"), row("bound") + 30 * 60_000);
}
