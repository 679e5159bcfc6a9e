//! Password rotation: plugin selection, host-side password generation, and
//! the staged, crash-safe protocol that drives rotator plugins.
//!
//! | file | concern |
//! |---|---|
//! | `params.rs` | which plugin, which parameters (Commander's rules, fixed) |
//! | `password.rs` | new passwords from `cmdr:rules` (CSPRNG, no modulo bias) |
//! | `options.rs` | what the command line asks of a rotation |
//! | `engine.rs` | plugins, scheduling (`--parallel`), `--dry-run` plans |
//! | `protocol.rs` | one record: create → set → test → finish, recovery and resumption |
//! | `commit.rs` | the vault the rotations share; group commit of pending states |
//! | `report.rs` | outcomes, reports, plans and audit entries |
//! | `error.rs` | [`RotationError`]: why a rotation stopped early |
//! | `lock.rs` | each record's rotation lock: take (or wait), heartbeat, let go |
//! | `view.rs` | the record as a plugin sees it |
//! | `fault.rs` | test-only fault injection at each protocol stage |
//!
//! Imports run one way: `engine` → `protocol` → `commit`, `report`,
//! `options`, `error`.

mod commit;
pub mod engine;
mod error;
pub mod fault;
mod lock;
mod options;
pub mod params;
pub mod password;
mod protocol;
mod report;
pub mod view;

pub use engine::{Engine, MAX_PARALLEL, NOOP};
pub use options::Options;
pub use report::{Outcome, Report, native_label};
