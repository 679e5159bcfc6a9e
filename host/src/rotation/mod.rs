//! Password rotation: plugin selection, host-side password generation, and
//! the staged, crash-safe protocol that drives rotator plugins.
//!
//! | file | concern |
//! |---|---|
//! | `params.rs` | which plugin, which parameters (Commander's rules, fixed) |
//! | `password.rs` | new passwords from `cmdr:rules` (CSPRNG, no modulo bias) |
//! | `engine.rs` | create → set → test → finish, recovery and resumption |
//! | `lock.rs` | each record's rotation lock: take (or wait), heartbeat, let go |
//! | `view.rs` | the record as a plugin sees it |
//! | `fault.rs` | test-only fault injection at each protocol stage |

pub mod engine;
pub mod fault;
mod lock;
pub mod params;
pub mod password;
pub mod view;

pub use engine::{Engine, MAX_PARALLEL, Options, Outcome, Plan, Report};
