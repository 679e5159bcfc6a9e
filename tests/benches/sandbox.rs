//! Sandbox budget benchmark: what the CPU budget (wasmtime fuel) buys in
//! time, and what allocating sandboxes on demand (the fallback under
//! `ulimit -v`) costs against the reserved pool.
//!
//! Run: `cargo bench -p keeper-tests --bench sandbox` (release build).
//! Uses the hostile test rotator: `loop` (a tight loop until the budget runs
//! out), `hash` (SHA-256 rounds, one compression each: a realistic mix of
//! arithmetic and memory accesses) and `ok` (an empty call). Prints Markdown
//! for docs/BENCHMARKS.md; ratios are against the pooling allocator measured
//! in the same process.

use std::time::{Duration, Instant};

use common::request;
use keeper::testing::runtime::limits::Limits;
use keeper::testing::runtime::{
    Allocation, ArtifactCache, CallContext, Error, LoadedPlugin, Runtime, Step,
};

mod common;

fn package() -> keeper::testing::runtime::PluginPackage {
    common::package(
        env!("KEEPER_TEST_DIR_HOSTILE_ROTATOR"),
        env!("KEEPER_TEST_WASM_HOSTILE_ROTATOR"),
    )
}

/// CPU time this process has used: unlike wall time, it does not grow
/// when other processes share the cores.
fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// One `rotate` step with `params`: its result, CPU time and fuel used.
fn step(
    tokio: &tokio::runtime::Runtime,
    plugin: &LoadedPlugin,
    params: &[(&str, &str)],
) -> (Result<(), Error>, Duration, u64) {
    tokio.block_on(async {
        let mut session = plugin
            .rotation_session(CallContext::default())
            .await
            .expect("sandbox");
        let start = cpu_now();
        let result = session.step(Step::Rotate, &request(params)).await.map(drop);
        (result, cpu_now() - start, session.fuel_used())
    })
}

struct Figures {
    loop_secs: f64,
    hash_secs: f64,
    hash_fuel_per_round: f64,
    call: Duration,
}

fn measure(tokio: &tokio::runtime::Runtime, allocation: Allocation) -> Figures {
    let cache = tempfile::tempdir().expect("cache");
    let runtime =
        Runtime::with_allocation(ArtifactCache::new(cache.path().to_path_buf()), allocation)
            .expect("runtime");
    let plugin = runtime.load(&package()).expect("load");
    let defaults = Limits::default();
    // Budget exhaustion with the default budget; a generous wall clock so
    // that the fuel, not the deadline, ends the call.
    let mut limits = plugin.limits().clone();
    limits.fuel = defaults.fuel;
    limits.timeout = Duration::from_secs(600);
    let plugin = plugin.with_limits(limits);

    let mut loop_secs = f64::MAX;
    for _ in 0..3 {
        let (result, took, _) = step(tokio, &plugin, &[("attack", "loop")]);
        assert!(matches!(result, Err(Error::CpuLimit { .. })), "{result:?}");
        loop_secs = loop_secs.min(took.as_secs_f64());
    }
    let rounds = 200_000u64;
    let mut hash_secs = f64::MAX;
    let mut fuel = 0;
    for _ in 0..3 {
        let (result, took, used) = step(
            tokio,
            &plugin,
            &[("attack", "hash"), ("rounds", &rounds.to_string())],
        );
        result.expect("hash rounds");
        fuel = used;
        // Seconds the whole default budget lasts at this rate.
        let per_fuel = took.as_secs_f64() / used as f64;
        hash_secs = hash_secs.min(per_fuel * defaults.fuel as f64);
    }
    for _ in 0..50 {
        step(tokio, &plugin, &[("attack", "ok")]).0.expect("ok");
    }
    let n = 500;
    let start = Instant::now();
    for _ in 0..n {
        tokio.block_on(async {
            plugin
                .rotation_step(
                    Step::Rotate,
                    CallContext::default(),
                    &request(&[("attack", "ok")]),
                )
                .await
                .expect("ok")
        });
    }
    Figures {
        loop_secs,
        hash_secs,
        hash_fuel_per_round: fuel as f64 / rounds as f64,
        call: start.elapsed() / n,
    }
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let pool = measure(&tokio, Allocation::Pooling);
    let on_demand = measure(&tokio, Allocation::OnDemand);
    let budget = Limits::default().fuel;
    println!("default CPU budget: {budget} fuel per call\n");
    println!("| measure | pooling (baseline) | on demand | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| tight loop: the budget runs out after (CPU) | {:.2} s | {:.2} s | {:.2} |",
        pool.loop_secs,
        on_demand.loop_secs,
        on_demand.loop_secs / pool.loop_secs
    );
    println!(
        "| SHA-256 rounds: the budget lasts (CPU) | {:.2} s | {:.2} s | {:.2} |",
        pool.hash_secs,
        on_demand.hash_secs,
        on_demand.hash_secs / pool.hash_secs
    );
    println!(
        "| fuel per SHA-256 round (one compression) | {:.0} | {:.0} | {:.2} |",
        pool.hash_fuel_per_round,
        on_demand.hash_fuel_per_round,
        on_demand.hash_fuel_per_round / pool.hash_fuel_per_round
    );
    println!(
        "| fresh sandbox + one empty `rotate` call (wall, mean) | {:.1} µs | {:.1} µs | {:.2} |",
        pool.call.as_secs_f64() * 1e6,
        on_demand.call.as_secs_f64() * 1e6,
        on_demand.call.as_secs_f64() / pool.call.as_secs_f64()
    );
    println!(
        "\nSHA-256 compressions within the budget: {:.2e}; PBKDF2-HMAC-SHA256 with 600 000 iterations (1.2e6 compressions) needs about {:.2e} fuel",
        budget as f64 / pool.hash_fuel_per_round,
        1.2e6 * pool.hash_fuel_per_round
    );
}
