//! `keeper:plugin/process`: run granted local programs (e.g. pspasswd).
//!
//! Only program names that the manifest declares and the user granted can
//! run. The program is found at an explicit path the host was given for this
//! call (e.g. `cmdr:pspasswd_path`) or on `PATH`; arguments go to it as a
//! list, never through a shell; its environment is empty but for `PATH`; its
//! output is capped and it is killed when the call's time runs out.
//! Note: the arguments are visible to other local users (argv) — pspasswd
//! demands the new password as an argument, which is documented in the
//! pspasswd plugin.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::PluginState;
use crate::runtime::bindings::latest::rotator::keeper::plugin::process::{
    Host, Output, ProcessError,
};

/// Most bytes kept of a program's stdout and of its stderr.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// Longest a program may run.
pub const MAX_RUNTIME: Duration = Duration::from_secs(120);

/// Which programs a call may run, and where they are.
#[derive(Debug, Clone, Default)]
pub struct ProcessGate {
    granted: Vec<String>,
    paths: HashMap<String, PathBuf>,
}

impl ProcessGate {
    /// Allows the `granted` program names, using explicit `paths` where given.
    pub fn new(granted: Vec<String>, paths: HashMap<String, PathBuf>) -> Self {
        Self { granted, paths }
    }

    /// The executable to run for `program`.
    ///
    /// # Errors
    ///
    /// `denied` for programs not granted, `not-found` when it is nowhere.
    pub fn resolve(&self, program: &str) -> Result<PathBuf, ProcessError> {
        if !self.granted.iter().any(|p| p == program) {
            return Err(ProcessError::Denied(format!(
                "running `{program}` is not a granted capability"
            )));
        }
        if let Some(path) = self.paths.get(program) {
            return if path.is_file() {
                Ok(path.clone())
            } else {
                Err(ProcessError::NotFound(format!(
                    "{} does not exist",
                    path.display()
                )))
            };
        }
        find_on_path(program)
            .ok_or_else(|| ProcessError::NotFound(format!("`{program}` is not on PATH")))
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Runs `exe` with `args`, feeding `stdin`, with capped output and a time limit.
async fn run(
    exe: &Path,
    args: &[String],
    stdin: &[u8],
    limit: Duration,
) -> Result<Output, ProcessError> {
    let mut command = tokio::process::Command::new(exe);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| ProcessError::Failed(format!("cannot start {}: {e}", exe.display())))?;
    let mut child_stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let input = stdin.to_vec();
    let work = async move {
        if let Some(pipe) = child_stdin.as_mut() {
            // A program that exits without reading its input is not an error.
            let _ = pipe.write_all(&input).await;
        }
        drop(child_stdin);
        let (out, err) = tokio::join!(read_capped(stdout), read_capped(stderr));
        let status = child.wait().await;
        (status, out, err)
    };
    match tokio::time::timeout(limit, work).await {
        Err(_) => Err(ProcessError::Timeout),
        Ok((Err(e), _, _)) => Err(ProcessError::Failed(format!(
            "waiting for {}: {e}",
            exe.display()
        ))),
        Ok((Ok(status), stdout, stderr)) => Ok(Output {
            exit_code: status.code(),
            stdout,
            stderr,
        }),
    }
}

async fn read_capped(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe
            .take(MAX_OUTPUT_BYTES as u64)
            .read_to_end(&mut out)
            .await;
    }
    out
}

impl Host for PluginState {
    async fn run(
        &mut self,
        program: String,
        args: Vec<String>,
        stdin: Vec<u8>,
    ) -> wasmtime::Result<Result<Output, ProcessError>> {
        let exe = match self.process.resolve(&program) {
            Ok(exe) => exe,
            Err(e) => {
                let program = crate::runtime::text::escaped(&self.redactor.redact(&program));
                tracing::warn!(target: "keeper::sandbox", "denied plugin process `{program}`");
                return Ok(Err(e));
            }
        };
        let limit = self.remaining().min(MAX_RUNTIME);
        Ok(run(&exe, &args, &stdin, limit).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_granted_programs_resolve() {
        let gate = ProcessGate::new(vec!["sh".into()], HashMap::new());
        assert!(matches!(gate.resolve("ls"), Err(ProcessError::Denied(_))));
        assert!(
            gate.resolve("sh").is_ok(),
            "sh is on PATH on every test machine"
        );
        let missing = ProcessGate::new(
            vec!["pspasswd".into()],
            HashMap::from([("pspasswd".into(), PathBuf::from("/nonexistent/pspasswd"))]),
        );
        assert!(matches!(
            missing.resolve("pspasswd"),
            Err(ProcessError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn arguments_are_not_interpreted_by_a_shell() {
        let out = run(
            Path::new("/bin/echo"),
            &["$(id)".into(), "a;b".into(), "`x`".into()],
            b"",
            Duration::from_secs(5),
        )
        .await
        .expect("runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "$(id) a;b `x`\n");
        assert_eq!(out.exit_code, Some(0));
    }

    #[tokio::test]
    async fn stdin_is_fed_and_output_capped_and_time_limited() {
        let out = run(
            Path::new("/bin/cat"),
            &[],
            b"secret input",
            Duration::from_secs(5),
        )
        .await
        .expect("runs");
        assert_eq!(out.stdout, b"secret input");
        let big = run(
            Path::new("/bin/sh"),
            &["-c".into(), "head -c 3000000 /dev/zero".into()],
            b"",
            Duration::from_secs(5),
        )
        .await
        .expect("runs");
        assert_eq!(big.stdout.len(), MAX_OUTPUT_BYTES);
        let slow = run(
            Path::new("/bin/sleep"),
            &["5".into()],
            b"",
            Duration::from_millis(200),
        )
        .await;
        assert!(matches!(slow, Err(ProcessError::Timeout)));
    }
}
