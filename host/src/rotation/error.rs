//! Why a record's rotation stopped before its outcome was decided: the
//! error type of [`crate::rotation`]. Its text is what `keeper rotate`
//! reports in the record's message; none ever contains a password.

use std::sync::Arc;

use super::params::ParamError;
use super::password::RuleError;
use crate::runtime::Error as RuntimeError;
use crate::vault::VaultError;

/// Everything that stops a rotation early (before the target is touched,
/// or when the new password cannot be stored).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// Reading or writing the vault failed (the record is gone, the lock
    /// was lost, a storage error…).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The plugin could not be found, loaded or asked to describe itself.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The record does not say (well enough) how to rotate it.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// No acceptable new password (rules, length, the plugin's
    /// constraints).
    #[error(transparent)]
    Password(#[from] RuleError),
    /// The record cannot be written by this user.
    #[error(
        "the record is not editable but needs to be updated with the new password; nothing was changed"
    )]
    NotEditable,
    /// The target's host name does not resolve.
    #[error("cannot resolve the target {host}:{port}: {error}")]
    Resolve {
        /// Host name.
        host: String,
        /// Port.
        port: u16,
        /// What the resolver said.
        error: std::io::Error,
    },
    /// The new password would be the current one.
    #[error("rotation aborted: the old and new passwords are the same")]
    SamePassword,
    /// The plugin's sandbox could not start, or its `prepare` failed.
    #[error("preparing the rotation failed: {0}")]
    Prepare(RuntimeError),
    /// The group commit that was to write the pending state went away.
    #[error("the pending state was not written")]
    PendingNotWritten,
    /// The pending state was committed but the disk did not confirm it.
    #[error(
        "the pending state was written but could not be made durable ({0}); \
         nothing was changed on the target; it stays pending: run `keeper rotate --resume`"
    )]
    NotDurable(Arc<VaultError>),
    /// The target has the new password but the vault did not store it.
    #[error(
        "the target has the new password but saving it failed ({error}); {}",
        where_it_stays(.error)
    )]
    NotSaved {
        /// Why the vault did not store it.
        error: VaultError,
    },
}

/// Where the new password a failed finish leaves behind stays.
fn where_it_stays(error: &VaultError) -> &'static str {
    if matches!(error, VaultError::LockLost(_)) {
        "the new password stays stored as pending for the lock's new holder"
    } else {
        "it stays stored as pending: run `keeper rotate --resume`"
    }
}
