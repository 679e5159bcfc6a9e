//! keeper's first-party rotator for local Unix account passwords (the
//! machine keeper runs on), through the `process` capability: only
//! `passwd`, `chpasswd` and `unix_chkpwd` may run, arguments as a list,
//! secrets on standard input only (never in arguments).
//!
//! Two methods (`cmdr:method`):
//!
//! - `passwd` (default, as Commander's plugin): keeper runs as the account
//!   itself, which changes its own password with `passwd <login>`, giving
//!   the current password and the new one twice on standard input. No
//!   privilege is needed.
//! - `chpasswd`: keeper runs as root and sets the password with `chpasswd`
//!   (`<login>:<new>` on standard input), an administrative reset.
//!
//! Either way the old password is checked first with PAM's `unix_chkpwd`
//! helper (password on standard input), so a wrong one is refused before
//! anything changes; **verify** checks the new one the same way (a real
//! check against `/etc/shadow`, not a re-application); **revert** sets the
//! old one back with the same method.
//!
//! Parameters: `login`, `password` (required); `cmdr:method`; programs are
//! found on `PATH` (`unix_chkpwd` usually lives in `/usr/sbin`) or at
//! `cmdr:passwd_path`, `cmdr:chpasswd_path`, `cmdr:unix_chkpwd_path`.
//! Logins must be `[A-Za-z0-9._-]`, not starting with `-`. Passwords may
//! hold any character but control characters (they are lines on standard
//! input) and at most 127 characters (PAM's 512-byte limit).
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-unixpasswd`.

use keeper_plugin_sdk::process;
use keeper_plugin_sdk::ssh::check_unix_login;
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, Secret, log};

/// The unixpasswd rotator.
pub struct Unixpasswd;

/// How the password is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// `passwd <login>` as the account itself.
    Passwd,
    /// `chpasswd` as root.
    Chpasswd,
}

impl Method {
    fn of(req: &Rotation) -> Result<Self, PluginError> {
        match req.param("method").map(str::trim).filter(|m| !m.is_empty()) {
            None => Ok(Self::Passwd),
            Some(m) if m.eq_ignore_ascii_case("passwd") => Ok(Self::Passwd),
            Some(m) if m.eq_ignore_ascii_case("chpasswd") => Ok(Self::Chpasswd),
            Some(other) => Err(PluginError::InvalidConfig(format!(
                "unknown cmdr:method `{other}` (use `passwd` or `chpasswd`)"
            ))),
        }
    }
}

/// unix_chkpwd's exit code for a refused password (PAM_AUTH_ERR).
const PAM_AUTH_ERR: i32 = 7;

impl Rotator for Unixpasswd {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "unixpasswd",
            "Rotates local Unix account passwords with passwd or chpasswd",
        )
        .required_params(["login", "password"])
        .max_length(127)
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let method = Method::of(req)?;
        check(req, req.new_password().expose())?;
        if !password_works(req, req.old_password().expose())? {
            return Err(PluginError::AuthFailed(format!(
                "unix_chkpwd refused the current password of {} (or keeper runs as another \
                 user than {0}, whose password only root can check); nothing was changed",
                req.login()
            )));
        }
        set(
            req,
            method,
            req.old_password().expose(),
            req.new_password().expose(),
        )
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        if password_works(req, req.new_password().expose())? {
            Ok(())
        } else {
            Err(PluginError::AuthFailed(format!(
                "unix_chkpwd refused the new password of {}",
                req.login()
            )))
        }
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        let method = Method::of(req)?;
        check(req, req.old_password().expose())?;
        set(
            req,
            method,
            req.new_password().expose(),
            req.old_password().expose(),
        )
    }
}

/// Refuses logins and passwords that cannot be passed safely.
fn check(req: &Rotation, password: &str) -> Result<(), PluginError> {
    check_unix_login(req.login())?;
    if password.is_empty() {
        return Err(PluginError::InvalidConfig(
            "refusing to set an empty password".into(),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(PluginError::InvalidConfig(
            "the password contains a control character (passwords are lines on standard input)"
                .into(),
        ));
    }
    if password.len() > 512 {
        return Err(PluginError::InvalidConfig(
            "the password is longer than PAM's 512 bytes".into(),
        ));
    }
    Ok(())
}

/// Whether `password` is the login's current password (`unix_chkpwd`).
fn password_works(req: &Rotation, password: &str) -> Result<bool, PluginError> {
    check(req, password)?;
    let input = Secret::new(format!("{password}\0"));
    let out = process::run(
        "unix_chkpwd",
        &[req.login(), "nonull"],
        input.expose().as_bytes(),
    )?;
    match out.exit_code {
        Some(0) => Ok(true),
        Some(PAM_AUTH_ERR) => Ok(false),
        _ => Err(PluginError::Rejected(format!(
            "unix_chkpwd exited with {:?}: {}",
            out.exit_code,
            out.text()
        ))),
    }
}

/// Sets the login's password from `from` to `to` with `method`.
fn set(req: &Rotation, method: Method, from: &str, to: &str) -> Result<(), PluginError> {
    let login = req.login();
    check(req, to)?;
    let out = match method {
        Method::Chpasswd => {
            let input = Secret::new(format!("{login}:{to}\n"));
            process::run("chpasswd", &[], input.expose().as_bytes())?
        }
        Method::Passwd => {
            check(req, from)?;
            let input = Secret::new(format!("{from}\n{to}\n{to}\n"));
            process::run("passwd", &[login], input.expose().as_bytes())?
        }
    };
    if out.success() {
        log::info(&format!("the password of {login} was changed"));
        return Ok(());
    }
    let message = out.text();
    let hint = match method {
        Method::Passwd if message.contains("do not match") => {
            " (passwd did not ask for the current password: keeper runs as root; \
             use cmdr:method=chpasswd)"
        }
        Method::Passwd if message.contains("may not view or modify") => {
            " (passwd changes only the account keeper runs as; run keeper as that \
             account, or as root with cmdr:method=chpasswd)"
        }
        Method::Chpasswd if message.contains("manipulation") || message.contains("ermission") => {
            " (chpasswd needs root; or use cmdr:method=passwd as the account itself)"
        }
        _ => "",
    };
    let program = match method {
        Method::Passwd => "passwd",
        Method::Chpasswd => "chpasswd",
    };
    Err(PluginError::Rejected(format!(
        "{program} exited with {:?}: {message}{hint}",
        out.exit_code
    )))
}

keeper_plugin_sdk::register_rotator!(Unixpasswd);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_unixpasswd() {
        let info = Unixpasswd::describe();
        assert_eq!(info.name, "unixpasswd");
        assert_eq!(info.default_port, None);
        assert_eq!(info.required_params, ["login", "password"]);
        assert!(
            info.disallowed_chars.is_empty(),
            "standard input takes any printable character"
        );
        assert_eq!(info.max_length, Some(127));
    }

    #[test]
    fn methods_are_parsed() {
        let req = |m: &str| Rotation::new("app", "o", "n").with_param("method", m);
        assert_eq!(
            Method::of(&Rotation::new("app", "o", "n")),
            Ok(Method::Passwd)
        );
        assert_eq!(Method::of(&req("CHPASSWD")), Ok(Method::Chpasswd));
        assert_eq!(Method::of(&req("passwd")), Ok(Method::Passwd));
        assert!(matches!(
            Method::of(&req("su")),
            Err(PluginError::InvalidConfig(_))
        ));
    }

    #[test]
    fn unsafe_logins_and_passwords_are_refused_before_anything_runs() {
        for login in ["-x", "a b", "a:b", "a\nb", "", "r;oot", "a/b"] {
            let req = Rotation::new(login, "old", "new");
            assert!(
                matches!(Unixpasswd::rotate(&req), Err(PluginError::InvalidConfig(_))),
                "{login:?}"
            );
        }
        for pw in ["a\nroot:x", "a\0b", "", "\u{7f}"] {
            let req = Rotation::new("app", "old", pw);
            assert!(
                matches!(Unixpasswd::rotate(&req), Err(PluginError::InvalidConfig(_))),
                "{pw:?}"
            );
            let req = Rotation::new("app", pw, "new");
            assert!(
                matches!(
                    Unixpasswd::verify(&Rotation::new("app", "x", pw)),
                    Err(PluginError::InvalidConfig(_))
                ),
                "{pw:?}"
            );
            assert!(matches!(
                Unixpasswd::revert(&req),
                Err(PluginError::InvalidConfig(_))
            ));
        }
        let long = "x".repeat(513);
        assert!(check(&Rotation::new("app", "o", "n"), &long).is_err());
    }
}
