//! keeper's first-party Windows rotator: `net user` on the computer keeper
//! runs on, through the `process` capability (only `net` may run, arguments
//! as a list, never through a shell).
//!
//! - **rotate**: check the old password with a login to the computer's own
//!   `IPC$` share, `net use \\127.0.0.1\IPC$ <old> /user:<login>` (then
//!   `net use \\127.0.0.1\IPC$ /delete /y`), so a wrong one is refused
//!   before anything changes; then `net user <name> <new>` (with `/domain`
//!   for a `DOMAIN\user` login, as Commander's plugin). A record without an
//!   old password skips the check (an administrative reset).
//! - **verify**: the same `net use` login with the new password, a real
//!   check by Windows (the Server service must run, as it does by default).
//! - **revert**: `net user <name> <old>`.
//!
//! Parameters: `login` (required), `password` (checked when present);
//! `net` is found on `PATH` or at `cmdr:net_path`.
//!
//! `net` takes passwords as command-line arguments (as for pspasswd, the
//! one place keeper lets a password reach a child's arguments, because the
//! tool demands it; other local users may see it while it runs), and
//! Windows programs re-parse their command line, so logins and passwords
//! with `"`, `^`, `&`, `|`, `<`, `>`, `%` or control characters are
//! refused, and the generated alphabet leaves those and space out. A
//! password starting with `/` (a `net` option, e.g. `/delete`) or equal to
//! `*` (a prompt) is refused too. Windows accepts up to 127 characters.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-windows`.

use keeper_plugin_sdk::process::{self, Output, check_windows_argument};
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, log};

/// The Windows rotator.
pub struct Windows;

/// Characters the generated password must not contain.
pub const DISALLOWED: &str = "<>^&|%\" /";

/// The share whose login checks a password.
const IPC: &str = "\\\\127.0.0.1\\IPC$";

impl Rotator for Windows {
    fn describe() -> PluginInfo {
        PluginInfo::new("windows", "Rotates Windows account passwords with net user")
            .required_params(["login"])
            .disallowed_chars(DISALLOWED)
            .max_length(127)
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let account = Account::of(req.login())?;
        check_password(req.new_password().expose())?;
        let old = req.old_password().expose();
        if old.is_empty() {
            log::info("the record has no current password: net user resets it without a check");
        } else if !logs_in(&account, old)? {
            return Err(PluginError::AuthFailed(format!(
                "Windows refused the current password of {}; nothing was changed",
                req.login()
            )));
        }
        set(&account, req.new_password().expose())
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let account = Account::of(req.login())?;
        if logs_in(&account, req.new_password().expose())? {
            Ok(())
        } else {
            Err(PluginError::AuthFailed(format!(
                "Windows refused the new password of {}",
                req.login()
            )))
        }
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        set(&Account::of(req.login())?, req.old_password().expose())
    }
}

/// A checked login: `user` or `DOMAIN\user`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    /// What `net use /user:` takes: the login as written.
    full: String,
    /// What `net user` takes: the user name without the domain.
    name: String,
    /// Whether it is a domain account (`net user ... /domain`).
    domain: bool,
}

impl Account {
    fn of(login: &str) -> Result<Self, PluginError> {
        check_windows_argument("login", login)?;
        let (domain, name) = match login.split_once('\\') {
            Some((domain, name)) => (Some(domain), name),
            None => (None, login),
        };
        let bad = name.is_empty()
            || name.starts_with(['/', '-'])
            || name.contains(['\\', '/', ' ', ':', '*', '?'])
            || domain.is_some_and(|d| d.is_empty() || d.contains(['/', ' ']));
        if bad {
            return Err(PluginError::InvalidConfig(format!(
                "login {login:?} is not a Windows account name (user or DOMAIN\\user)"
            )));
        }
        Ok(Self {
            full: login.to_owned(),
            name: name.to_owned(),
            domain: domain.is_some(),
        })
    }
}

/// Refuses passwords `net` would misread.
fn check_password(password: &str) -> Result<(), PluginError> {
    if password.is_empty() || password == "*" || password.starts_with('/') {
        return Err(PluginError::InvalidConfig(
            "the password is empty, `*` or starts with `/`, which net would read as a prompt \
             or an option"
                .into(),
        ));
    }
    check_windows_argument("password", password)
}

/// Whether Windows accepts `password` for the account (a login to the
/// local `IPC$` share, disconnected again).
fn logs_in(account: &Account, password: &str) -> Result<bool, PluginError> {
    check_password(password)?;
    let user = format!("/user:{}", account.full);
    let out = process::run("net", &["use", IPC, password, &user], b"")?;
    if out.success() {
        let _ = process::run("net", &["use", IPC, "/delete", "/y"], b"");
        return Ok(true);
    }
    let message = out.text();
    if refused_credentials(&message) {
        return Ok(false);
    }
    Err(classify("net use", &out, message))
}

/// `net user <name> <password> [/domain]`.
fn set(account: &Account, password: &str) -> Result<(), PluginError> {
    check_password(password)?;
    let mut args = vec!["user", account.name.as_str(), password];
    if account.domain {
        args.push("/domain");
    }
    let out = process::run("net", &args, b"")?;
    if out.success() {
        log::info(&format!(
            "net user changed the password of {}",
            account.full
        ));
        return Ok(());
    }
    let message = out.text();
    Err(classify("net user", &out, message))
}

/// "The user name or password is incorrect" (error 1326) and its relatives:
/// the credentials were refused.
fn refused_credentials(message: &str) -> bool {
    let lower = message.to_lowercase();
    [
        "error 1326",
        "error 1327",
        "error 1330",
        "error 1331",
        "error 1909",
    ]
    .iter()
    .any(|code| lower.contains(code))
        || lower.contains("user name or password is incorrect")
}

/// Maps a failed `net` run to an error that keeps its message.
fn classify(what: &str, out: &Output, message: String) -> PluginError {
    let lower = message.to_lowercase();
    let text = format!("{what} exited with {:?}: {message}", out.exit_code);
    if lower.contains("network path was not found") || lower.contains("error 53") {
        PluginError::Unreachable(text)
    } else if lower.contains("access is denied") {
        PluginError::Rejected(format!("{text} (keeper must run as an administrator)"))
    } else {
        PluginError::Rejected(text)
    }
}

keeper_plugin_sdk::register_rotator!(Windows);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_windows() {
        let info = Windows::describe();
        assert_eq!(info.name, "windows");
        assert_eq!(info.required_params, ["login"]);
        for c in ['<', '>', '^', '&', '|', '%', '"', ' ', '/'] {
            assert!(info.disallowed_chars.contains(c), "{c:?}");
        }
        assert_eq!(info.max_length, Some(127));
    }

    #[test]
    fn logins_split_into_user_and_domain() {
        assert_eq!(
            Account::of("svc_app").ok(),
            Some(Account {
                full: "svc_app".into(),
                name: "svc_app".into(),
                domain: false
            })
        );
        assert_eq!(
            Account::of("CORP\\svc").ok(),
            Some(Account {
                full: "CORP\\svc".into(),
                name: "svc".into(),
                domain: true
            })
        );
        for bad in [
            "/delete", "a b", "\\svc", "CORP\\", "a&b", "a\"b", "x\\y\\z", "-x", "a:b",
        ] {
            assert!(
                matches!(Account::of(bad), Err(PluginError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn passwords_net_would_misread_are_refused_before_anything_runs() {
        for bad in [
            "",
            "*",
            "/delete",
            "/active:no",
            "a%PATH%",
            "a\"b",
            "a|b",
            "a\nb",
        ] {
            let req = Rotation::new("svc", "Old-pw", bad);
            assert!(
                matches!(Windows::rotate(&req), Err(PluginError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
        assert!(check_password("N3w$(x);`y`'\\--").is_ok());
    }

    fn output(code: i32, stderr: &str) -> Output {
        Output {
            exit_code: Some(code),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn net_messages_map_to_errors() {
        assert!(refused_credentials(
            "System error 1326 has occurred. The user name or password is incorrect."
        ));
        assert!(!refused_credentials("System error 53 has occurred."));
        let out = output(2, "");
        assert!(matches!(
            classify(
                "net use",
                &out,
                "System error 53 has occurred. The network path was not found.".into()
            ),
            PluginError::Unreachable(_)
        ));
        assert!(matches!(
            classify("net user", &out, "System error 5 has occurred. Access is denied.".into()),
            PluginError::Rejected(m) if m.contains("administrator")
        ));
        assert!(matches!(
            classify("net user", &out, "The password does not meet the password policy requirements.".into()),
            PluginError::Rejected(m) if m.contains("policy")
        ));
    }
}
