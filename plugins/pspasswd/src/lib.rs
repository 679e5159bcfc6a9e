//! keeper's first-party Windows rotator driving Sysinternals `pspasswd`
//! (skeleton: only `describe` is real).
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-pspasswd`.
//!
//! `pspasswd` takes the new password as a command-line argument (the one
//! place keeper lets a password reach a child's arguments, because the tool
//! demands it), and `cmd.exe` may re-parse it, so the characters cmd treats
//! specially (`<>^&|%"` and space) are disallowed. Windows accepts
//! passwords up to 127 characters.

use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator};

/// The pspasswd rotator.
pub struct Pspasswd;

/// Characters the generated password must not contain (see the crate docs).
pub const DISALLOWED: &str = "<>^&|%\" ";

fn not_yet(op: &str) -> PluginError {
    PluginError::Unsupported(format!("pspasswd: {op} is not implemented yet"))
}

impl Rotator for Pspasswd {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "pspasswd",
            "Rotates Windows account passwords with Sysinternals pspasswd",
        )
        .required_params(["login", "password"])
        .disallowed_chars(DISALLOWED)
        .max_length(127)
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

keeper_plugin_sdk::register_rotator!(Pspasswd);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_pspasswd_constraints() {
        let info = Pspasswd::describe();
        assert_eq!(info.name, "pspasswd");
        assert_eq!(info.default_port, None);
        assert_eq!(info.required_params, ["login", "password"]);
        for c in ['<', '>', '^', '&', '|'] {
            assert!(
                info.disallowed_chars.contains(c),
                "{c:?} must be disallowed"
            );
        }
    }

    #[test]
    fn operations_say_they_are_not_implemented() {
        let req = Rotation::new("svc", "old", "new");
        assert!(matches!(
            Pspasswd::revert(&req),
            Err(PluginError::Unsupported(m)) if m == "pspasswd: revert is not implemented yet"
        ));
    }
}
