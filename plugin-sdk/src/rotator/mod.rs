//! The [`Rotator`] trait: what a password-rotation plugin implements.

mod info;
mod rotation;

pub use info::PluginInfo;
pub use rotation::Rotation;

use crate::{Field, PluginError};

/// A password rotator: changes a password on a target system.
///
/// The host drives a staged protocol and never lets a plugin invent a
/// password. It generates the new one from the record's rules and the limits
/// in [`PluginInfo`], stores it durably as pending, and only then calls
/// [`prepare`](Self::prepare), [`rotate`](Self::rotate) (set it on the
/// target) and [`verify`](Self::verify) (log in with it); if anything fails
/// after `rotate` it calls [`revert`](Self::revert) (put the old one back).
///
/// These are associated functions without `self`: keep no state between
/// calls. A record's `prepare`, `rotate` and `verify` usually run in one
/// sandbox instance (it is cheaper), but a resumed or recovering rotation
/// runs each call in a fresh one, so never rely on memory, connections or
/// sessions surviving from one call to the next; above all, `verify` must
/// log in afresh with the new password. `rotate`, `verify` and `revert` may
/// be retried after a crash, so make them idempotent (e.g. `rotate` may
/// find the new password already set).
///
/// Register the implementation with [`register_rotator!`](crate::register_rotator)
/// (API 1.0) or `v1_1::register_rotator!` (feature `v1_1`).
pub trait Rotator {
    /// Describes the plugin: name, default port, required parameters and
    /// password constraints. Must not touch the network.
    fn describe() -> PluginInfo;

    /// Called before anything touches the target. Returns credential
    /// material the plugin generates itself (e.g. a new SSH key pair as a
    /// `keyPair` field); the host stores it as pending and passes it back in
    /// [`Rotation::prepared`]. The default returns nothing, which is right
    /// for password-only plugins.
    ///
    /// Only fields the manifest declares in `[fields] owns` may be
    /// returned, at most 16 with 64 values in all, and never `password`,
    /// `login`, `host`, `url` or `cmdr:` fields: the host alone picks the
    /// password and the target. Anything else fails the rotation before
    /// anything is stored or touched.
    fn prepare(req: &Rotation) -> Result<Vec<Field>, PluginError> {
        let _ = req;
        Ok(Vec::new())
    }

    /// Sets [`Rotation::new_password`] (and the prepared material) on the
    /// target, logging in with [`Rotation::old_password`]. Every rotator
    /// implements this, or (API 1.1) [`rotate_generating`](Self::rotate_generating);
    /// the default says it is not implemented.
    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let _ = req;
        Err(PluginError::Unsupported(
            "this plugin does not implement rotate (one that generates material implements \
             rotate_generating and registers with keeper_plugin_sdk::v1_1::register_rotator!)"
                .into(),
        ))
    }

    /// API 1.1: as [`rotate`](Self::rotate), also returning credential
    /// material the target generated while the password was set (e.g. a
    /// new access key's secret, shown once). keeper checks it like
    /// `prepare`'s (only `[fields] owns`), stores it durably with the
    /// pending rotation before anything else, passes it to `verify` and
    /// `revert` in [`Rotation::prepared`] and writes it into the record.
    /// If keeper stops before it stored the material, it is lost: a retried
    /// call must be able to make it again. The default calls `rotate` and
    /// returns nothing. Only a plugin registered with
    /// `v1_1::register_rotator!` (feature `v1_1`) is called through this.
    fn rotate_generating(req: &Rotation) -> Result<Vec<Field>, PluginError> {
        Self::rotate(req).map(|()| Vec::new())
    }

    /// Checks that the target accepts [`Rotation::new_password`] with a fresh
    /// login. The default says verification is unsupported, which makes the
    /// host treat the rotation as unverified.
    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let _ = req;
        Err(PluginError::Unsupported(
            "this plugin cannot verify a rotated password (verify is not implemented)".into(),
        ))
    }

    /// Puts [`Rotation::old_password`] back on the target, logging in with
    /// [`Rotation::new_password`]. The default says revert is unsupported.
    fn revert(req: &Rotation) -> Result<(), PluginError> {
        let _ = req;
        Err(PluginError::Unsupported(
            "this plugin cannot put the old password back (revert is not implemented)".into(),
        ))
    }
}
