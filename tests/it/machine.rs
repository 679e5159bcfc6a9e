//! Another machine for the binary (a client device, a container): its own
//! home, working folder, data directory and keeper.ini, in a temporary
//! directory, and no master password or store from the test's environment.
//! What `profile_setup` and `secrets_manager` share about such machines and
//! the application tokens they are given.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{Keeper, Run, keeper_bin};
use crate::vault::kp;

/// The environment a [`Machine`]'s processes start with, besides its home
/// and data directory.
enum Environment {
    /// The test's own, less every variable of keeper's that names a
    /// password, store, user, configuration, log, keeper.ini or token, or
    /// asks for the test-only key derivation.
    Inherited,
    /// Nothing but `PATH`.
    Empty,
}

/// Keeper's variables that [`Environment::Inherited`] leaves out.
const KEEPER_VARIABLES: [&str; 9] = [
    "KEEPER_PASSWORD",
    "KEEPER_STORE",
    "KEEPER_USER",
    "KEEPER_CONFIG_FILE",
    "KEEPER_LOG",
    "KEEPER_INI_DIR",
    "KEEPER_INI_FILE",
    "KEEPER_CLI_TOKEN",
    "KEEPER_TEST_FAST_KDF",
];

/// A machine of its own: home, working folder and data directory.
pub(crate) struct Machine {
    dir: tempfile::TempDir,
    environment: Environment,
}

impl Machine {
    fn new(environment: Environment) -> Self {
        Self {
            dir: tempfile::tempdir().expect("machine dir"),
            environment,
        }
    }

    /// A client device: the test's environment without keeper's variables.
    pub(crate) fn device() -> Self {
        Self::new(Environment::Inherited)
    }

    /// A machine with nothing but `PATH` in its environment.
    pub(crate) fn bare() -> Self {
        Self::new(Environment::Empty)
    }

    pub(crate) fn home(&self) -> &Path {
        self.dir.path()
    }

    /// keeper.ini in the home (and working folder).
    pub(crate) fn ini(&self) -> PathBuf {
        self.home().join("keeper.ini")
    }

    /// `keeper ARGS` on this machine, standard input empty.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_with(args, &[])
    }

    /// `keeper ARGS` on this machine with `env` set, standard input empty.
    pub(crate) fn cmd_with(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(keeper_bin());
        match self.environment {
            Environment::Inherited => {
                for var in KEEPER_VARIABLES {
                    cmd.env_remove(var);
                }
            }
            Environment::Empty => {
                cmd.env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default());
            }
        }
        cmd.env("HOME", self.home())
            .env("KEEPER_DATA_DIR", self.home().join("data"))
            .envs(env.iter().copied())
            .current_dir(self.home())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    pub(crate) fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run(self.cmd_with(args, env).output().expect("run keeper"))
    }
}

/// Where alice's vault is, as a device is told (`--store`).
pub(crate) fn location(k: &Keeper) -> String {
    k.store_url()
        .unwrap_or_else(|| k.data_dir().join("vault.db").to_string_lossy().into_owned())
}

/// The value after `label: ` on one line of `out`.
pub(crate) fn value_after(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in {out}"))
        .trim()
        .to_string()
}

/// Creates application CI and shares `secret` (a record or folder) with
/// it; returns what the share printed.
pub(crate) fn app_sharing(k: &Keeper, secret: &str) -> String {
    kp(k, &["secrets-manager", "app", "create", "CI"]).ok();
    kp(
        k,
        &[
            "secrets-manager",
            "app",
            "share",
            "--app",
            "CI",
            "--secret",
            secret,
        ],
    )
    .ok()
}

/// Issues one client of `app` and returns (one-time token, client id).
pub(crate) fn token(k: &Keeper, app: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["secrets-manager", "client", "add", "--app", app];
    args.extend_from_slice(extra);
    let out = kp(k, &args).ok();
    (
        value_after(&out, "One-Time Access Token:"),
        value_after(&out, "Client ID:"),
    )
}

/// What `client add --app APP --config-init FORMAT` prints: a client of
/// `app` bound at once, its configuration in `format`.
pub(crate) fn config_init(k: &Keeper, app: &str, format: &str) -> String {
    kp(
        k,
        &[
            "secrets-manager",
            "client",
            "add",
            "--app",
            app,
            "--config-init",
            format,
        ],
    )
    .ok()
}
