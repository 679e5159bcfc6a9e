//! Folders as one user sees them: personal folders, shared folders (placed
//! at the root or under a personal folder), sub-folders inside shared
//! folders, and the links that put a record in one or several folders.
//!
//! The user's root folder has the user's uid. Paths use Commander's
//! backslash syntax ([`super::path`]).
//!
//! - `tree.rs`: [`FolderTree`], the tree one user sees (read-only);
//! - `ops.rs`: what changes folders (mkdir, mv, ln, rmdir) and the link
//!   targets record writes use;
//! - `lookup.rs`: records by uid, path or title.

mod lookup;
mod ops;
mod tree;

pub(crate) use ops::{ensure_path_tx, target_for};
pub use tree::FolderTree;
