//! Shared by the rotation benchmarks: vault records that rotate accounts.

use keeper::vault::Vault;
use keeper::vault::model::RecordData;
use serde_json::json;

/// Adds a `login` record per account (`<title> 0000`, ...) rotated by
/// `plugin` at 127.0.0.1:`port`; returns the targets for `rotate_all`.
pub fn rotation_records(
    vault: &mut Vault,
    title: &str,
    users: &[String],
    passwords: &[String],
    plugin: &str,
    port: u16,
) -> Vec<(String, Option<String>)> {
    let port = port.to_string();
    users
        .iter()
        .zip(passwords)
        .enumerate()
        .map(|(i, (user, password))| {
            let mut data = RecordData::new("login", &format!("{title} {i:04}"));
            data.set_field(false, "login", None, vec![json!(user)], 0);
            data.set_field(false, "password", None, vec![json!(password)], 0);
            for (label, value) in [
                ("cmdr:plugin", plugin),
                ("cmdr:host", "127.0.0.1"),
                ("cmdr:port", port.as_str()),
            ] {
                data.set_field(true, "text", Some(label), vec![json!(value)], 0);
            }
            (vault.add_record(data, None).expect("add record"), None)
        })
        .collect()
}
