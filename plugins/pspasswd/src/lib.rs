//! keeper's first-party Windows rotator driving Sysinternals `pspasswd`.
//!
//! Runs `pspasswd -accepteula [\\<host> [-u <admin> -p <admin password>]]
//! <login> <new password>` through the host's `process` capability: the
//! arguments go to the program as a list, never through a shell. The
//! program is `pspasswd` (or `pspasswd64` when `cmdr:pspasswd64_path` is
//! set), found on `PATH` or at `cmdr:pspasswd_path` / `cmdr:pspasswd64_path`.
//!
//! Parameters: `login` and `password` (required); `cmdr:host` (the Windows
//! computer; without it pspasswd changes a local account);
//! `cmdr:admin_login` / `cmdr:admin_password` (credentials for the remote
//! computer, only with a host).
//!
//! - **rotate**: set the new password. It is never run without one: an
//!   empty new password is refused before anything runs (pspasswd would
//!   otherwise prompt for it, or set an empty password).
//! - **verify**: pspasswd cannot test a Windows login, so verify *re-applies*
//!   the password (an idempotent administrative reset): when that succeeds
//!   the account has exactly that password. This keeps keeper's recovery
//!   honest — a failed rotate is never "verified" by a no-op.
//! - **revert**: set the old password again.
//!
//! Exit code 0 is success; "Access is denied" / "The user name or password
//! is incorrect" map to `AuthFailed`, "The network path was not found" to
//! `Unreachable`, anything else non-zero to `Rejected` with the tool's
//! output.
//!
//! `pspasswd` takes the new password as a command-line argument (the one
//! place keeper lets a password reach a child's arguments, because the tool
//! demands it; other local users may see it in the process list while it
//! runs), and Windows programs re-parse their command line, so logins and
//! passwords containing `"`, `^`, `&`, `|`, `<`, `>`, `%` or control
//! characters are refused, and the generated-password alphabet leaves out
//! those and space. Windows accepts passwords up to 127 characters.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-pspasswd`.

use keeper_plugin_sdk::process::{self, Output, check_windows_argument as check};
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, log};

/// The pspasswd rotator.
pub struct Pspasswd;

/// Characters the generated password must not contain (see the crate docs).
pub const DISALLOWED: &str = "<>^&|%\" ";

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

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        set(req, req.new_password().expose())
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        log::info("pspasswd cannot test a Windows login; re-applying the password instead");
        set(req, req.new_password().expose())
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        set(req, req.old_password().expose())
    }
}

/// Sets the record's login's password to `password` with pspasswd.
fn set(req: &Rotation, password: &str) -> Result<(), PluginError> {
    let args = arguments(req, password)?;
    let program = if req.param("pspasswd64_path").is_some() {
        "pspasswd64"
    } else {
        "pspasswd"
    };
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = process::run(program, &refs, b"")?;
    outcome(&out)?;
    log::info(&format!("pspasswd changed the password of {}", req.login()));
    Ok(())
}

/// The argument list, after checking every part of it.
fn arguments(req: &Rotation, password: &str) -> Result<Vec<String>, PluginError> {
    if password.is_empty() {
        return Err(PluginError::InvalidConfig(
            "refusing to run pspasswd without a new password".into(),
        ));
    }
    let login = req.login();
    check("login", login)?;
    if login.starts_with(['-', '/', '\\', '@']) {
        return Err(PluginError::InvalidConfig(format!(
            "login {login:?} would be read as a pspasswd option"
        )));
    }
    check("password", password)?;
    let mut args = vec!["-accepteula".to_owned()];
    let host = req
        .param("host")
        .map(|h| h.trim().trim_start_matches('\\'))
        .filter(|h| !h.is_empty());
    if let Some(host) = host {
        let ok = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !ok {
            return Err(PluginError::InvalidConfig(format!(
                "host {host:?} is not a computer name (letters, digits, `.`, `-`, `_`)"
            )));
        }
        args.push(format!("\\\\{host}"));
        if let Some(admin) = req.param("admin_login").filter(|a| !a.is_empty()) {
            check("cmdr:admin_login", admin)?;
            args.push("-u".into());
            args.push(admin.into());
            if let Some(admin_password) = req.param("admin_password").filter(|p| !p.is_empty()) {
                check("cmdr:admin_password", admin_password)?;
                args.push("-p".into());
                args.push(admin_password.into());
            }
        }
    } else if req.param("admin_login").is_some_and(|a| !a.is_empty()) {
        return Err(PluginError::InvalidConfig(
            "cmdr:admin_login needs cmdr:host (pspasswd uses it for remote computers only)".into(),
        ));
    }
    args.push(login.into());
    args.push(password.into());
    Ok(args)
}

/// Maps pspasswd's exit code and output to a result.
fn outcome(out: &Output) -> Result<(), PluginError> {
    let text = out.text();
    if out.success() {
        return Ok(());
    }
    let lower = text.to_lowercase();
    let message = format!("pspasswd exited with {:?}: {text}", out.exit_code);
    if lower.contains("access is denied") || lower.contains("user name or password is incorrect") {
        Err(PluginError::AuthFailed(message))
    } else if lower.contains("network path was not found") {
        Err(PluginError::Unreachable(message))
    } else {
        Err(PluginError::Rejected(message))
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
        for c in ['<', '>', '^', '&', '|', '%', '"', ' '] {
            assert!(
                info.disallowed_chars.contains(c),
                "{c:?} must be disallowed"
            );
        }
    }

    #[test]
    fn builds_the_pspasswd_argument_list() {
        let req = Rotation::new("svc", "old", "new");
        assert_eq!(
            arguments(&req, "N3w$(x);`y`").ok(),
            Some(vec![
                "-accepteula".into(),
                "svc".into(),
                "N3w$(x);`y`".into()
            ])
        );
        let req = Rotation::new("CORP\\svc", "old", "new")
            .with_param("host", "\\\\srv-01.corp")
            .with_param("admin_login", "CORP\\admin")
            .with_param("admin_password", "Adm!n");
        assert_eq!(
            arguments(&req, "pw").ok(),
            Some(
                [
                    "-accepteula",
                    "\\\\srv-01.corp",
                    "-u",
                    "CORP\\admin",
                    "-p",
                    "Adm!n",
                    "CORP\\svc",
                    "pw"
                ]
                .map(String::from)
                .to_vec()
            )
        );
    }

    #[test]
    fn never_runs_without_a_new_password_or_with_unsafe_characters() {
        let req = Rotation::new("svc", "old", "");
        assert!(matches!(
            Pspasswd::rotate(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("without a new password")
        ));
        let req = Rotation::new("svc", "", "new");
        assert!(matches!(
            Pspasswd::revert(&req),
            Err(PluginError::InvalidConfig(_))
        ));
        for bad in [
            "a\"b", "a^b", "a&b", "a|b", "a<b", "a>b", "a%PATH%", "a\nb", "a\0b",
        ] {
            let req = Rotation::new("svc", "old", bad);
            assert!(
                matches!(Pspasswd::rotate(&req), Err(PluginError::InvalidConfig(_))),
                "{bad:?}"
            );
            let req = Rotation::new(bad, "old", "new");
            assert!(
                matches!(Pspasswd::rotate(&req), Err(PluginError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
        for bad in ["-u", "/?", "\\\\evil", "@file"] {
            let req = Rotation::new(bad, "old", "new");
            assert!(
                matches!(arguments(&req, "new"), Err(PluginError::InvalidConfig(_))),
                "{bad}"
            );
        }
        let req = Rotation::new("svc", "old", "new").with_param("host", "srv;calc");
        assert!(matches!(
            arguments(&req, "new"),
            Err(PluginError::InvalidConfig(_))
        ));
        let req = Rotation::new("svc", "old", "new").with_param("admin_login", "adm");
        assert!(matches!(
            arguments(&req, "new"),
            Err(PluginError::InvalidConfig(_))
        ));
    }

    fn output(code: i32, stdout: &str) -> Output {
        Output {
            exit_code: Some(code),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn maps_exit_codes_and_messages() {
        assert!(outcome(&output(0, "Password successfully changed")).is_ok());
        assert!(matches!(
            outcome(&output(5, "Access is denied.")),
            Err(PluginError::AuthFailed(m)) if m.contains("Access is denied")
        ));
        assert!(matches!(
            outcome(&output(1326, "The user name or password is incorrect.")),
            Err(PluginError::AuthFailed(_))
        ));
        assert!(matches!(
            outcome(&output(53, "The network path was not found.")),
            Err(PluginError::Unreachable(_))
        ));
        assert!(matches!(
            outcome(&output(2245, "The password does not meet the password policy")),
            Err(PluginError::Rejected(m)) if m.contains("policy")
        ));
    }
}
