//! keeper's first-party MySQL/MariaDB rotator (skeleton: only `describe` is real).
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-mysql`.
//!
//! Password constraints: the plugin will send the password as a quoted SQL
//! string literal (`ALTER USER ... IDENTIFIED BY '<pw>'`), so the quote
//! characters `'`, `"` and `` ` ``, the backslash (an escape in MySQL's
//! default SQL mode) and `;` are disallowed rather than escaped, and the
//! length is capped at 32, which every MySQL and MariaDB version accepts.

use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator};

/// The MySQL rotator.
pub struct Mysql;

/// Characters the generated password must not contain (see the crate docs).
pub const DISALLOWED: &str = "'\"`\\;";

fn not_yet(op: &str) -> PluginError {
    PluginError::Unsupported(format!("mysql: {op} is not implemented yet"))
}

impl Rotator for Mysql {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "mysql",
            "Rotates MySQL and MariaDB passwords over the MySQL protocol",
        )
        .default_port(3306)
        .required_params(["host", "login", "password"])
        .disallowed_chars(DISALLOWED)
        .max_length(32)
    }

    fn rotate(_req: &Rotation) -> Result<(), PluginError> {
        Err(not_yet("rotate"))
    }

    fn verify(_req: &Rotation) -> Result<(), PluginError> {
        Err(not_yet("verify"))
    }

    fn revert(_req: &Rotation) -> Result<(), PluginError> {
        Err(not_yet("revert"))
    }
}

keeper_plugin_sdk::register_rotator!(Mysql);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_mysql_constraints() {
        let info = Mysql::describe();
        assert_eq!(info.name, "mysql");
        assert_eq!(info.default_port, Some(3306));
        assert_eq!(info.max_length, Some(32));
        assert_eq!(info.required_params, ["host", "login", "password"]);
        for c in ['\'', '"', '\\', ';', '`'] {
            assert!(info.disallowed_chars.contains(c), "{c} must be disallowed");
        }
    }

    #[test]
    fn operations_say_they_are_not_implemented() {
        let req = Rotation::new("app", "old", "new");
        assert!(matches!(
            Mysql::rotate(&req),
            Err(PluginError::Unsupported(m)) if m == "mysql: rotate is not implemented yet"
        ));
    }
}
