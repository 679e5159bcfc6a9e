//! keeper's first-party SSH rotator for Unix accounts (skeleton: only
//! `describe` is real).
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-ssh`.
//!
//! Password constraints: the password is typed into `passwd` on a
//! pseudo-terminal or fed to `chpasswd`, and some targets pass it through a
//! shell, so shell metacharacters (`<>^&|'"$` `` ` `` `\`), `;` and spaces
//! are disallowed.

use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator};

/// The SSH rotator.
pub struct Ssh;

/// Characters the generated password must not contain (see the crate docs).
pub const DISALLOWED: &str = "<>^&|'\"$`\\; ";

fn not_yet(op: &str) -> PluginError {
    PluginError::Unsupported(format!("ssh: {op} is not implemented yet"))
}

impl Rotator for Ssh {
    fn describe() -> PluginInfo {
        PluginInfo::new("ssh", "Rotates Unix account passwords over SSH")
            .default_port(22)
            .required_params(["host", "login", "password"])
            .disallowed_chars(DISALLOWED)
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

keeper_plugin_sdk::register_rotator!(Ssh);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_ssh_constraints() {
        let info = Ssh::describe();
        assert_eq!(info.name, "ssh");
        assert_eq!(info.default_port, Some(22));
        for c in ['<', '>', '^', '&', '|', '\'', '"', '$', '`', '\\', ' '] {
            assert!(
                info.disallowed_chars.contains(c),
                "{c:?} must be disallowed"
            );
        }
    }

    #[test]
    fn operations_say_they_are_not_implemented() {
        let req = Rotation::new("root", "old", "new");
        assert!(matches!(
            Ssh::verify(&req),
            Err(PluginError::Unsupported(m)) if m == "ssh: verify is not implemented yet"
        ));
    }
}
