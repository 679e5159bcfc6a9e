//! Local programs named in the manifest (capability `process`).
//!
//! Only programs the manifest lists under `[capabilities] process` and the
//! user granted can run. Arguments are passed as a list to the program
//! itself, never through a shell, so they need no quoting.
//!
//! ```no_run
//! use keeper_plugin_sdk::process;
//!
//! # fn demo() -> Result<(), keeper_plugin_sdk::PluginError> {
//! let out = process::run("pspasswd", &["\\\\server", "user"], b"")?;
//! if !out.success() {
//!     return Err(keeper_plugin_sdk::PluginError::Rejected(out.stderr_lossy()));
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use crate::PluginError;
use crate::bindings::rotator::keeper::plugin::process as wit;

/// Why a program could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProcessError {
    /// The program is not declared in the manifest or not granted.
    Denied(String),
    /// The program was not found.
    NotFound(String),
    /// The program did not finish in time and was killed.
    Timeout,
    /// Starting or talking to the program failed.
    Failed(String),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "running the program was denied: {m}"),
            Self::NotFound(m) => write!(f, "program not found: {m}"),
            Self::Timeout => f.write_str("the program did not finish in time and was killed"),
            Self::Failed(m) => write!(f, "running the program failed: {m}"),
        }
    }
}

impl std::error::Error for ProcessError {}

impl From<wit::ProcessError> for ProcessError {
    fn from(err: wit::ProcessError) -> Self {
        match err {
            wit::ProcessError::Denied(m) => Self::Denied(m),
            wit::ProcessError::NotFound(m) => Self::NotFound(m),
            wit::ProcessError::Timeout => Self::Timeout,
            wit::ProcessError::Failed(m) => Self::Failed(m),
        }
    }
}

/// Denied and not-found become invalid configuration, a timeout becomes
/// unreachable, other failures internal errors.
impl From<ProcessError> for PluginError {
    fn from(err: ProcessError) -> Self {
        let text = err.to_string();
        match err {
            ProcessError::Denied(_) | ProcessError::NotFound(_) => Self::InvalidConfig(text),
            ProcessError::Timeout => Self::Unreachable(text),
            ProcessError::Failed(_) => Self::Internal(text),
        }
    }
}

/// What a finished program produced.
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code, or `None` if the program was killed by a signal.
    pub exit_code: Option<i32>,
    /// Standard output (capped by the host).
    pub stdout: Vec<u8>,
    /// Standard error (capped by the host).
    pub stderr: Vec<u8>,
}

impl Output {
    /// True if the program exited with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Standard output then standard error on one line, runs of
    /// whitespace collapsed: the program's message for an error text.
    pub fn text(&self) -> String {
        format!("{} {}", self.stdout_lossy(), self.stderr_lossy())
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("exit_code", &self.exit_code)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .finish()
    }
}

/// Characters a Windows program re-parses on its command line (quoting,
/// cmd.exe metacharacters, environment expansion): an argument holding one
/// cannot be passed to it safely.
pub const WINDOWS_UNSAFE: &[char] = &['"', '^', '&', '|', '<', '>', '%'];

/// Refuses `value` (a login, a password...) if it holds a character of
/// [`WINDOWS_UNSAFE`] or a control character. `what` names it in the
/// error; the value itself is never echoed.
pub fn check_windows_argument(what: &str, value: &str) -> Result<(), PluginError> {
    if value
        .chars()
        .any(|c| WINDOWS_UNSAFE.contains(&c) || c.is_control())
    {
        Err(PluginError::InvalidConfig(format!(
            "the {what} contains a character a Windows command line cannot take safely \
             (\" ^ & | < > % or a control character)"
        )))
    } else {
        Ok(())
    }
}

/// Runs `program` (a name from the manifest) with `args`, writes `stdin` to
/// it and waits for it to exit.
///
/// Fails if the program is not declared or granted, is not found, times out
/// or cannot be started. A program that runs and exits non-zero is not an
/// error: check [`Output::success`].
pub fn run(program: &str, args: &[&str], stdin: &[u8]) -> Result<Output, ProcessError> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = wit::run(program, &args, stdin)?;
    Ok(Output {
        exit_code: out.exit_code,
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_plugin_errors() {
        assert!(matches!(
            PluginError::from(ProcessError::NotFound("pspasswd".into())),
            PluginError::InvalidConfig(m) if m.contains("pspasswd")
        ));
        assert!(matches!(
            PluginError::from(ProcessError::Timeout),
            PluginError::Unreachable(_)
        ));
    }

    #[test]
    fn windows_arguments_with_metacharacters_are_refused() {
        assert!(check_windows_argument("password", "N3w$(x);`y`'\\").is_ok());
        for bad in [
            "a\"b", "a^b", "a&b", "a|b", "a<b", "a>b", "%PATH%", "a\nb", "a\0b",
        ] {
            let err = check_windows_argument("password", bad);
            assert!(
                matches!(&err, Err(PluginError::InvalidConfig(m)) if m.contains("password") && !m.contains(bad)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn output_success_and_text() {
        let out = Output {
            exit_code: Some(0),
            stdout: b"ok".to_vec(),
            stderr: vec![0xff],
        };
        assert!(out.success());
        assert_eq!(out.stdout_lossy(), "ok");
        assert_eq!(out.stderr_lossy(), "\u{fffd}");
        assert_eq!(
            Output {
                exit_code: Some(1),
                stdout: b"Error changing password:\r\n".to_vec(),
                stderr: b"  Access is denied.\n".to_vec(),
            }
            .text(),
            "Error changing password: Access is denied."
        );
        assert!(
            !Output {
                exit_code: None,
                ..out
            }
            .success()
        );
    }
}
