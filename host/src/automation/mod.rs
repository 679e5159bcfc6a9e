//! Automation: command lines from batch files, stdin, the shell and the
//! config's `commands`, run in one process against one unlocked vault.
//!
//! - [`line`]: Commander's rules for one line (`@`, `q`, `sleep`, NUL,
//!   `${var}`), shell-style splitting.
//! - [`variables`]: `set` and the `last_*` variables.
//! - [`session`]: the vault unlocked once per process.
//! - [`batch_file`]: `run-batch` globs and files.
//! - [`shell`]: the interactive prompt (line editing, history, completion).
//!
//! Running a parsed command is the command layer's job
//! (`crate::commands::automation`).

pub mod batch_file;
pub mod line;
pub mod session;
pub mod shell;
pub mod variables;

pub use line::Line;
pub use session::{Session, Unlocked};
pub use variables::Variables;
