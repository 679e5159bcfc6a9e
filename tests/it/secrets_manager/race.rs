//! Several machines redeeming the same one-time token at once, through
//! real `keeper profile init --token` processes started together, on both
//! stores: exactly one device is bound, every other one is told the token
//! was already used and keeps no keeper.ini, and the client row is never
//! half-written — also when one of the processes is killed (SIGKILL) at a
//! random moment.

use std::process::{Child, Output, Stdio};
use std::time::Duration;

use keeper::testing::profiles::open_device;

use super::{Keeper, Machine, location, raw_number, shared_app, token};
use crate::support::Rng;

/// Processes started at once per round.
const RACERS: usize = 6;

/// Starts [`RACERS`] `profile init --token TOKEN` processes, each on its
/// own device, before waiting for any.
fn start(store: &str, token: &str) -> Vec<(Machine, Child)> {
    (0..RACERS)
        .map(|_| {
            let dev = Machine::device();
            let child = dev
                .cmd(&["--store", store, "profile", "init", "--token", token])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start keeper");
            (dev, child)
        })
        .collect()
}

fn finish(racers: Vec<(Machine, Child)>) -> Vec<(Machine, Output)> {
    racers
        .into_iter()
        .map(|(dev, child)| (dev, child.wait_with_output().expect("wait")))
        .collect()
}

/// Whether client `id`'s row is bound as one transaction leaves it: a
/// public key, the application key sealed to it, the bind time, and no
/// token copy left. Panics on any other state (half-written).
fn bound(k: &Keeper, id: &str) -> bool {
    let count = |cond: &str| {
        raw_number(
            k,
            &format!("SELECT count(*) FROM {{t}}app_clients WHERE uid = '{id}' AND {cond}"),
        )
    };
    let whole = count(
        "public_key IS NOT NULL AND wrapped_app_key IS NOT NULL AND bound IS NOT NULL \
         AND token_key IS NULL AND owner_token_key IS NULL",
    );
    let untouched = count(
        "public_key IS NULL AND wrapped_app_key IS NULL AND bound IS NULL \
         AND token_key IS NOT NULL AND owner_token_key IS NOT NULL",
    );
    assert_eq!(whole + untouched, 1, "client {id}: a half-written row");
    whole == 1
}

/// Checks the device that won reads, and that every process that lost
/// was told so and wrote no keeper.ini.
fn check_losers(results: &[(Machine, Output)], skip: Option<usize>) {
    for (i, (dev, out)) in results.iter().enumerate() {
        if out.status.success() || Some(i) == skip {
            continue;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("already used"), "racer {i}: {err}");
        assert!(!dev.ini().exists(), "racer {i} lost but wrote keeper.ini");
    }
}

#[test]
fn racing_processes_bind_a_token_once() {
    let (k, db, _, _) = shared_app();
    let store = location(&k);

    let (t, id) = token(&k, "CI", &[]);
    let results = finish(start(&store, &t));
    let winners: Vec<usize> = (0..RACERS)
        .filter(|&i| results[i].1.status.success())
        .collect();
    assert_eq!(winners.len(), 1, "exactly one process binds the token");
    check_losers(&results, None);
    assert!(bound(&k, &id));
    let winner = &results[winners[0]].0;
    assert_eq!(
        winner
            .run(&["secret", "get", &db, "--field", "password"])
            .ok()
            .trim(),
        "Db-pass-1!"
    );

    // One racer killed with SIGKILL at a random moment (before, during or
    // after its transaction): still one binding at most, never half of one.
    let mut rng = Rng::seeded("KEEPER_TEST_RACE_SEED");
    for round in 0..3 {
        let (t, id) = token(&k, "CI", &[]);
        let mut racers = start(&store, &t);
        let victim = rng.index(RACERS);
        std::thread::sleep(Duration::from_millis(rng.below(120)));
        let _ = racers[victim].1.kill();
        let results = finish(racers);
        let winners: Vec<usize> = (0..RACERS)
            .filter(|&i| results[i].1.status.success())
            .collect();
        assert!(winners.len() <= 1, "round {round}: {winners:?} all bound");
        check_losers(&results, Some(victim));
        assert!(
            bound(&k, &id),
            "round {round}: the survivors left the token unused"
        );
        // The bound key is the one a keeper.ini holds: the winner's, or
        // the victim's when it was killed after its commit.
        let holders: Vec<usize> = (0..RACERS)
            .filter(|&i| results[i].0.ini().exists())
            .collect();
        assert!(holders.len() <= 1, "round {round}: {holders:?}");
        if let [w] = winners.as_slice() {
            assert_eq!(holders, [*w], "round {round}");
        }
        for &i in &holders {
            let dev = open_device(Some(&results[i].0.ini()), None)
                .unwrap_or_else(|e| panic!("round {round}: racer {i}'s profile: {e}"));
            assert!(dev.records().expect("reads").len() == 2);
        }
    }
}
