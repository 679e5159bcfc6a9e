//! The crash-safety check every rotator's end-to-end tests run: abort
//! `keeper rotate` at each stage of the protocol (`KEEPER_FAULT`, debug
//! builds) and prove that `rotate --resume` always leaves a vault password
//! that logs in. Zero lock-outs.

use crate::support::Keeper;
use crate::vault::{crash_at, kp, vault_password};

/// For each of the engine's fault points: `setup(point)` makes a fresh
/// vault holding one record to rotate (its uid) and whatever keeps its
/// target account alive; `keeper rotate <uid>` is killed at that point;
/// `rotate --resume` must succeed and leave nothing pending, the vault's
/// password must pass `logs_in`, and a later rotation must work too.
pub fn crash_at_every_stage<T>(
    mut setup: impl FnMut(&str) -> (Keeper, String, T),
    logs_in: impl Fn(&T, &str) -> bool,
) {
    for point in keeper::testing::rotation::fault::POINTS {
        let (k, uid, target) = setup(point);
        let crashed = crash_at(&k, &["rotate", &uid], point);
        assert!(
            !crashed.status.success(),
            "{point}: the injected fault must kill the process"
        );
        assert!(
            String::from_utf8_lossy(&crashed.stderr).contains("injected fault"),
            "{point}: {}",
            String::from_utf8_lossy(&crashed.stderr)
        );

        let resumed = kp(&k, &["rotate", "--resume", "--format", "json"]);
        assert!(
            resumed.0.status.success(),
            "{point}: resume failed: {}{}",
            resumed.stdout(),
            resumed.stderr()
        );
        assert!(
            logs_in(&target, &vault_password(&k, &uid)),
            "{point}: LOCK-OUT: the vault's password does not log in"
        );
        assert!(
            kp(&k, &["rotate", "--resume"]).ok().contains("No pending"),
            "{point}: still pending"
        );
        // A later rotation works normally.
        kp(&k, &["rotate", &uid]).ok();
        assert!(
            logs_in(&target, &vault_password(&k, &uid)),
            "{point}: rotation after resume"
        );
    }
}
