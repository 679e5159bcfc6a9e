//! keeper's first-party SSH rotator for Unix account passwords.
//!
//! The host runs the SSH client: sessions go only to the record's pinned
//! target, whose host key must be known (`<data dir>/known_hosts`,
//! `--accept-host-key` for a first contact, or a pinned `cmdr:host_key`).
//!
//! - **rotate**: log in as the record's login with the old password and
//!   change the password with the method `cmdr:method` names:
//!   - `passwd` (default): run `passwd` on a pseudo-terminal and answer its
//!     prompts — a prompt mentioning the *current*/*old* password gets the
//!     old password (once), one mentioning a *new*/*retype*/*re-enter*/
//!     *again* password gets the new one (at most twice). Anything that
//!     looks like a refusal ("Authentication token manipulation error",
//!     "BAD PASSWORD", "do not match", ...), an unknown prompt or a non-zero
//!     exit fails with `Rejected` carrying passwd's last output (the host
//!     redacts secrets from plugin messages).
//!   - `chpasswd`: `sudo -n chpasswd` with `<login>:<new>\n` on standard
//!     input when the account may run it without a password, else
//!     `sudo -S -k -p '' chpasswd` with `<old>\n<login>:<new>\n` (the account
//!     authenticates to sudo with its own current password).
//! - **verify**: a fresh login with the new password running `true`.
//! - **revert**: log in with the new password and set the old one back the
//!   same way.
//!
//! **Where passwords go.** Passwords are only ever typed into passwd's
//! prompts or written to chpasswd's (and sudo's) standard input; they never
//! appear in a remote command line, so no shell ever parses them. Because
//! the pseudo-terminal's line discipline *would* interpret control
//! characters (Ctrl-C, Ctrl-U, newline, ...), passwords containing control
//! characters or NUL are refused as invalid configuration, as are logins
//! outside `[A-Za-z0-9._-]` (a login is part of the `chpasswd` input line).
//! The generated-password alphabet still leaves out shell metacharacters
//! (`<>^&|'"$` `` ` `` `\`), `;` and space, for targets whose login shell or
//! PAM stack re-parses them.
//!
//! Windows targets (`ver` → `net user`) are not supported.
//!
//! Built into keeper; to build it alone:
//! `cargo build --target wasm32-wasip2 --profile plugin -p keeper-plugin-ssh`.

use std::time::{Duration, Instant};

use keeper_plugin_sdk::ssh::{Credential, Pty, Session, SshError, check_unix_login};
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, Secret, log};

/// The SSH rotator.
pub struct Ssh;

/// Characters the generated password must not contain (see the crate docs).
pub const DISALLOWED: &str = "<>^&|'\"$`\\; ";

/// Longest the whole `passwd` dialogue may take.
const PASSWD_TIME: Duration = Duration::from_secs(60);
/// How long one read waits for output before checking whether passwd exited.
const READ_SLICE: Duration = Duration::from_millis(500);
/// Most characters of passwd's output quoted in an error.
const QUOTE_MAX: usize = 400;

impl Rotator for Ssh {
    fn describe() -> PluginInfo {
        PluginInfo::new("ssh", "Rotates Unix account passwords over SSH")
            .default_port(22)
            .required_params(["host", "login", "password"])
            .disallowed_chars(DISALLOWED)
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        change(req, req.old_password(), req.new_password())
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        check_unix_login(req.login())?;
        check_password(req.new_password(), "new")?;
        let session = connect(req.login(), req.new_password())?;
        let out = session.exec("true", b"")?;
        if out.success() {
            Ok(())
        } else {
            Err(PluginError::Rejected(format!(
                "logged in with the new password, but `true` exited with {:?}",
                out.exit_status
            )))
        }
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        change(req, req.new_password(), req.old_password())
    }
}

/// How the password is changed on the target (`cmdr:method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// `passwd` on a pseudo-terminal.
    Passwd,
    /// `sudo chpasswd` with the password on standard input.
    Chpasswd,
}

impl Method {
    /// The method `cmdr:method` names (default `passwd`).
    fn of(req: &Rotation) -> Result<Self, PluginError> {
        match req.param("method").map(str::trim) {
            None | Some("") => Ok(Self::Passwd),
            Some(m) if m.eq_ignore_ascii_case("passwd") => Ok(Self::Passwd),
            Some(m) if m.eq_ignore_ascii_case("chpasswd") => Ok(Self::Chpasswd),
            Some(other) => Err(PluginError::InvalidConfig(format!(
                "unknown cmdr:method `{other}` (use `passwd` or `chpasswd`)"
            ))),
        }
    }
}

/// Logs in with `from` and changes the record's login's password to `to`.
fn change(req: &Rotation, from: &Secret, to: &Secret) -> Result<(), PluginError> {
    let login = req.login();
    check_unix_login(login)?;
    check_password(from, "current")?;
    check_password(to, "new")?;
    if to.is_empty() {
        return Err(PluginError::InvalidConfig(
            "refusing to set an empty password".into(),
        ));
    }
    let method = Method::of(req)?;
    let session = connect(login, from)?;
    match method {
        Method::Passwd => passwd(&session, from, to),
        Method::Chpasswd => chpasswd(&session, login, from, to),
    }
    .map_err(PluginError::target_may_have_changed)
}

/// Logs in to the pinned target as `login` with `password`.
///
/// Nothing on the target has changed when logging in fails, and keeper's
/// recovery relies on the error saying so ([`Session::login`]).
fn connect(login: &str, password: &Secret) -> Result<Session, PluginError> {
    Session::login(login, Credential::password(password.clone()))
}

/// Refuses passwords with control characters (which a terminal interprets).
fn check_password(password: &Secret, which: &str) -> Result<(), PluginError> {
    if password.expose().chars().any(char::is_control) {
        Err(PluginError::InvalidConfig(format!(
            "the {which} password contains a newline, NUL or other control character, \
             which cannot be typed into passwd safely"
        )))
    } else {
        Ok(())
    }
}

/// What a passwd prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    /// The current (old) password.
    Current,
    /// The new password, or its confirmation.
    New,
    /// A prompt this plugin does not understand.
    Unknown,
}

/// The prompt `output` ends with, if it ends with one: its last line,
/// trimmed, ends with `:` (or a full-width `：`).
fn prompt(output: &str) -> Option<Prompt> {
    let last = output
        .rsplit(['\n', '\r'])
        .find(|line| !line.trim().is_empty())?
        .trim();
    if !(last.ends_with(':') || last.ends_with('：')) {
        return None;
    }
    let lower = last.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    if lower.contains("current") || has("old") || lower.contains("aktuell") || has("actuel") {
        Some(Prompt::Current)
    } else if has("new")
        || lower.contains("retype")
        || lower.contains("re-enter")
        || lower.contains("reenter")
        || has("again")
        || lower.contains("neue")
        || has("nouveau")
    {
        Some(Prompt::New)
    } else {
        Some(Prompt::Unknown)
    }
}

/// Messages by which passwd (or PAM) says the change failed, lower-case.
const FAILURES: &[&str] = &[
    "authentication token manipulation error",
    "authentication failure",
    "bad password",
    "bad:",
    "password unchanged",
    "passwords do not match",
    "passwords don't match",
    "do not match",
    "have exhausted maximum number of retries",
    "you must wait longer",
    "you must choose a longer password",
    "is too similar",
    "too simple",
    "too short",
    "password change failed",
    "permission denied",
];

/// The failure message in `output`, if passwd printed one.
fn failure(output: &str) -> bool {
    let lower = output.to_lowercase();
    FAILURES.iter().any(|f| lower.contains(f))
}

/// The last [`QUOTE_MAX`] characters of `output`, whitespace collapsed.
fn quote(output: &str) -> String {
    let text = output.split_whitespace().collect::<Vec<_>>().join(" ");
    let count = text.chars().count();
    if count > QUOTE_MAX {
        let tail: String = text.chars().skip(count - QUOTE_MAX).collect();
        format!("…{tail}")
    } else {
        text
    }
}

/// `secret` followed by a newline, as keystrokes.
fn line(secret: &Secret) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(secret.expose().len() + 1);
    bytes.extend_from_slice(secret.expose().as_bytes());
    bytes.push(b'\n');
    bytes
}

/// Reads whatever else passwd prints within a moment (for error messages).
fn drain(pty: &Pty, transcript: &mut String) {
    if let Ok(more) = pty.read(Duration::from_millis(300)) {
        transcript.push_str(&String::from_utf8_lossy(&more));
    }
}

/// Runs `passwd` on a pseudo-terminal and answers its prompts.
fn passwd(session: &Session, old: &Secret, new: &Secret) -> Result<(), PluginError> {
    let pty = session.open_pty("passwd")?;
    let deadline = Instant::now() + PASSWD_TIME;
    // Output since the last answer, and everything passwd printed.
    let mut fresh = String::new();
    let mut transcript = String::new();
    let mut gave_current = false;
    let mut gave_new = 0;
    let rejected = |transcript: &str, why: &str| {
        PluginError::Rejected(format!("passwd {why}: {}", quote(transcript)))
    };
    let status = loop {
        if Instant::now() >= deadline {
            return Err(PluginError::Unreachable(format!(
                "passwd did not finish within {} s: {}",
                PASSWD_TIME.as_secs(),
                quote(&transcript)
            )));
        }
        let chunk = match pty.read(READ_SLICE) {
            Ok(chunk) => chunk,
            // The program exited and all its output was read.
            Err(SshError::Channel(_)) => break pty.wait(Duration::from_secs(5))?,
            Err(e) => return Err(e.into()),
        };
        if chunk.is_empty() {
            match pty.wait(Duration::ZERO) {
                Ok(status) => {
                    drain(&pty, &mut transcript);
                    break status;
                }
                Err(SshError::Timeout) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let text = String::from_utf8_lossy(&chunk);
        fresh.push_str(&text);
        transcript.push_str(&text);
        if failure(&fresh) {
            drain(&pty, &mut transcript);
            return Err(rejected(&transcript, "refused the change"));
        }
        match prompt(&fresh) {
            None => continue,
            Some(Prompt::Current) if gave_current => {
                return Err(rejected(
                    &transcript,
                    "asked for the current password again (is it wrong?)",
                ));
            }
            Some(Prompt::Current) => {
                pty.write(&line(old))?;
                gave_current = true;
            }
            Some(Prompt::New) if gave_new >= 2 => {
                return Err(rejected(
                    &transcript,
                    "asked for the new password a third time (was it refused?)",
                ));
            }
            Some(Prompt::New) => {
                pty.write(&line(new))?;
                gave_new += 1;
            }
            Some(Prompt::Unknown) => {
                return Err(rejected(
                    &transcript,
                    "showed a prompt keeper does not know",
                ));
            }
        }
        fresh.clear();
    };
    if failure(&transcript) {
        return Err(rejected(&transcript, "refused the change"));
    }
    match status {
        Some(0) if gave_new == 2 => {
            log::info(&format!("passwd: {}", quote(&transcript)));
            Ok(())
        }
        Some(0) => Err(rejected(
            &transcript,
            "exited without asking for the new password twice",
        )),
        Some(code) => Err(rejected(&transcript, &format!("exited with status {code}"))),
        None => Err(rejected(&transcript, "ended without an exit status")),
    }
}

/// Changes `login`'s password with `sudo chpasswd`, secrets on stdin only.
///
/// First `sudo -n chpasswd` with just the `login:new` line (accounts that may
/// run chpasswd without a password); when sudo answers that a password is
/// required (chpasswd did not run), `sudo -S -k -p '' chpasswd` with the
/// account's current password on the first line. `-k` ignores cached
/// credentials so that sudo always reads that line and chpasswd never sees
/// it. `LC_ALL=C` keeps sudo's messages recognisable.
fn chpasswd(session: &Session, login: &str, old: &Secret, new: &Secret) -> Result<(), PluginError> {
    // `login` is checked (no `:` or newline); `new` has no control characters.
    let mut entry = format!("{login}:").into_bytes();
    entry.extend_from_slice(new.expose().as_bytes());
    entry.push(b'\n');
    let mut out = session.exec("LC_ALL=C sudo -n chpasswd", &entry)?;
    if !out.success() && needs_password(&out.stderr) {
        let mut input = line(old);
        input.extend_from_slice(&entry);
        out = session.exec("LC_ALL=C sudo -S -k -p '' chpasswd", &input)?;
    }
    if out.success() {
        Ok(())
    } else {
        let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.push(' ');
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        Err(PluginError::Rejected(format!(
            "sudo chpasswd exited with {:?}: {}",
            out.exit_status,
            quote(&text)
        )))
    }
}

/// Whether sudo refused to run without a password (so nothing ran).
fn needs_password(stderr: &[u8]) -> bool {
    String::from_utf8_lossy(stderr)
        .to_lowercase()
        .contains("a password is required")
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
        assert_eq!(info.required_params, ["host", "login", "password"]);
        for c in ['<', '>', '^', '&', '|', '\'', '"', '$', '`', '\\', ' ', ';'] {
            assert!(
                info.disallowed_chars.contains(c),
                "{c:?} must be disallowed"
            );
        }
    }

    #[test]
    fn recognises_passwd_prompts_across_versions() {
        for p in [
            "Changing password for kp_1.\r\nCurrent password: ",
            "(current) UNIX password:",
            "Old Password:",
            "Aktuelles Passwort: ",
        ] {
            assert_eq!(prompt(p), Some(Prompt::Current), "{p}");
        }
        for p in [
            "\r\nNew password: ",
            "Enter new UNIX password:",
            "Retype new password: ",
            "Re-enter new password:",
            "Please enter it again:",
            "Neues Passwort: ",
            "Geben Sie das neue Passwort erneut ein: ",
        ] {
            assert_eq!(prompt(p), Some(Prompt::New), "{p}");
        }
        assert_eq!(prompt("Enter the PIN:"), Some(Prompt::Unknown));
        assert_eq!(prompt("Changing password for kp_1.\r\n"), None);
        assert_eq!(prompt(""), None);
        // "threshold" is not "old", "password" is not "new".
        assert_eq!(prompt("threshold password:"), Some(Prompt::Unknown));
    }

    #[test]
    fn recognises_failures() {
        for f in [
            "passwd: Authentication token manipulation error\r\npasswd: password unchanged",
            "BAD PASSWORD: The password is shorter than 8 characters",
            "Sorry, passwords do not match.",
            "passwd: Authentication failure",
        ] {
            assert!(failure(f), "{f}");
        }
        assert!(!failure("passwd: password updated successfully"));
        assert!(!failure("Current password: "));
    }

    #[test]
    fn control_characters_in_passwords_are_refused_before_connecting() {
        for bad in ["a\nb", "a\rb", "a\0b", "a\u{3}b", "a\u{15}b", "a\u{7f}b"] {
            let req = Rotation::new("app", "old", bad);
            assert!(
                matches!(Ssh::rotate(&req), Err(PluginError::InvalidConfig(m)) if m.contains("new password")),
                "{bad:?}"
            );
            assert!(matches!(
                Ssh::verify(&req),
                Err(PluginError::InvalidConfig(_))
            ));
            let req = Rotation::new("app", bad, "new");
            assert!(
                matches!(Ssh::rotate(&req), Err(PluginError::InvalidConfig(m)) if m.contains("current password"))
            );
        }
        let req = Rotation::new("app", "old", "");
        assert!(matches!(
            Ssh::rotate(&req),
            Err(PluginError::InvalidConfig(_))
        ));
    }

    #[test]
    fn bad_logins_and_methods_are_refused_before_connecting() {
        let req = Rotation::new("a:b", "old", "new");
        assert!(matches!(
            Ssh::rotate(&req),
            Err(PluginError::InvalidConfig(_))
        ));
        let req = Rotation::new("app", "old", "new").with_param("method", "telnet");
        assert!(matches!(
            Ssh::rotate(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("telnet")
        ));
        assert_eq!(
            Method::of(&Rotation::new("a", "o", "n").with_param("method", "CHPASSWD")),
            Ok(Method::Chpasswd)
        );
        assert_eq!(
            Method::of(&Rotation::new("a", "o", "n")),
            Ok(Method::Passwd)
        );
    }

    #[test]
    fn recognises_sudo_asking_for_a_password() {
        assert!(needs_password(b"sudo: a password is required\n"));
        assert!(!needs_password(b"chpasswd: line 1: missing new password\n"));
    }

    #[test]
    fn quotes_are_bounded() {
        let long = "x ".repeat(1000);
        assert!(quote(&long).chars().count() <= QUOTE_MAX + 1);
        assert_eq!(quote("a\r\n  b"), "a b");
    }
}
