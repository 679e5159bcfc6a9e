//! End-to-end tests of persistent login and `this-device`: commands run
//! without the master password until the session times out, `logout`, a
//! master-password change, or `--new-login`. The OS keyring is unreachable
//! here (as in CI), so the device key falls back to a 0600 file with a
//! warning; that fallback is what these tests exercise.

use std::time::Duration;

use serde_json::Value;

use crate::automation::{keeper, kp, titles, vault};
use crate::support::{Keeper, Run};

/// `keeper ARGS` with no password anywhere (stdin is empty).
fn nopw(k: &Keeper, args: &[&str]) -> Run {
    Run(keeper(k, args).output().expect("run keeper"))
}

fn config(k: &Keeper) -> Value {
    let text = std::fs::read_to_string(k.data_dir().join("config.json")).expect("config.json");
    serde_json::from_str(&text).expect("config is JSON")
}

/// Registers the device and turns persistent login on, as the seed does.
fn persistent(k: &Keeper, timeout: &str) -> Run {
    kp(k, &["this-device", "register"]).ok();
    let on = kp(k, &["this-device", "persistent-login", "on"]);
    on.ok();
    kp(k, &["this-device", "ip-auto-approve", "on"]).ok();
    kp(k, &["this-device", "timeout", timeout]).ok();
    on
}

#[test]
fn persistent_login_runs_commands_without_the_password_until_logout() {
    let k = vault();
    kp(&k, &["add", "-t", "Web", "login=me"]).ok();
    assert!(nopw(&k, &["ls"]).fails().contains("no master password"));
    let on = persistent(&k, "30d");
    // No keyring daemon here: the device key went to a file, with a warning.
    assert!(
        on.stderr().contains("OS keyring is not available"),
        "{}",
        on.stderr()
    );
    let c = config(&k);
    let device = c["device_token"]
        .as_str()
        .expect("device_token")
        .to_string();
    let key = k.data_dir().join("devices").join(format!("{device}.key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&k.data_dir().join("config.json")), 0o600);
    }
    assert_eq!(c["config_storage"], "file");
    assert_eq!(c["persistent_login"], true);
    assert_eq!(c["logout_timer"], 30 * 86_400);
    assert!(c.get("password").is_none());
    // Now: no password.
    assert!(nopw(&k, &["ls"]).ok().contains("Web"));
    let who = nopw(&k, &["whoami", "--format", "json"]).json();
    assert_eq!(who["user"], "alice@example.com");
    assert_eq!(who["persistent_login"], true);
    // this-device as a table and as JSON with Commander's keys.
    let table = nopw(&k, &["this-device"]).ok();
    for label in [
        "Device Name",
        "Data Key Present: ON",
        "Persistent Login: ON",
        "Logout Timeout: 30 days",
        "IP Auto Approve: ON",
    ] {
        assert!(table.contains(label), "{label}:\n{table}");
    }
    let json = nopw(&k, &["this-device", "--format", "json"]).json();
    for key in [
        "device_name",
        "data_key_present",
        "ip_auto_approve",
        "persistent_login",
        "security_key_no_pin",
        "device_logout_timeout",
        "enterprise_logout_timeout",
        "effective_logout_timeout",
        "is_sso_user",
        "config_file",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
    assert_eq!(json["data_key_present"], true);
    // --new-login ignores the session.
    assert!(
        nopw(&k, &["--new-login", "ls"])
            .fails()
            .contains("no master password")
    );
    // logout ends it and deletes the device key.
    nopw(&k, &["logout"]).ok();
    assert!(!key.exists());
    assert!(config(&k).get("clone_code").is_none());
    assert!(nopw(&k, &["ls"]).fails().contains("no master password"));
    // A password login starts a new session (persistent login is still on).
    kp(&k, &["login"]).ok();
    assert!(nopw(&k, &["ls"]).ok().contains("Web"));
}

#[test]
fn sessions_expire() {
    let k = vault();
    persistent(&k, "2");
    assert_eq!(titles(&k).len(), 0);
    nopw(&k, &["ls"]).ok();
    std::thread::sleep(Duration::from_millis(3100));
    let err = nopw(&k, &["ls"]).fails();
    assert!(err.contains("session expired"), "{err}");
    assert!(err.contains("no master password"), "{err}");
}

#[test]
fn a_changed_master_password_ends_the_session() {
    let k = vault();
    persistent(&k, "1h");
    // Another copy of the session (a second config file) made before the change.
    let copy = k.data_dir().join("copy.json");
    std::fs::copy(k.data_dir().join("config.json"), &copy).expect("copy");
    nopw(&k, &["--config", copy.to_str().expect("utf-8"), "ls"]).ok();
    let changed = Run(keeper(&k, &["change-master-password"])
        .env("KEEPER_PASSWORD", crate::vault::PW)
        .env("KEEPER_NEW_MASTER_PASSWORD", "a brand new master password")
        .output()
        .expect("run"));
    changed.ok();
    assert!(nopw(&k, &["ls"]).fails().contains("no master password"));
    let err = nopw(&k, &["--config", copy.to_str().expect("utf-8"), "ls"]).fails();
    assert!(err.contains("master password changed"), "{err}");
    assert!(kp(&k, &["ls"]).fails().contains("wrong master password"));
    Run(keeper(&k, &["ls"])
        .env("KEEPER_PASSWORD", "a brand new master password")
        .output()
        .expect("run"))
    .ok();
}

#[test]
fn a_device_key_file_others_can_read_is_not_used() {
    let k = vault();
    persistent(&k, "1h");
    let device = config(&k)["device_token"].as_str().expect("id").to_string();
    let key = k.data_dir().join("devices").join(format!("{device}.key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = nopw(&k, &["ls"]).fails();
        assert!(err.contains("readable by other users"), "{err}");
    }
}
