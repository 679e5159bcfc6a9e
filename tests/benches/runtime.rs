//! Plugin runtime benchmark: cold compile, cached load, instantiation and
//! one call round trip for `examples/minimal-rotator`.
//!
//! Run: `cargo bench -p keeper-tests --bench runtime` (release build).
//! Prints a Markdown table for docs/BENCHMARKS.md; each figure comes with a
//! ratio against a baseline measured in the same process.

use std::time::{Duration, Instant};

use keeper::testing::runtime::{ArtifactCache, CallContext, PluginPackage, Runtime, Step};

mod common;

fn package() -> PluginPackage {
    common::package(
        env!("KEEPER_TEST_DIR_MINIMAL_ROTATOR"),
        env!("KEEPER_TEST_WASM_MINIMAL_ROTATOR"),
    )
}

/// Mean and 95th percentile of `n` runs of `f`.
fn measure(n: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / n as u32;
    (mean, samples[(n * 95 / 100).min(n - 1)])
}

fn request() -> keeper::testing::runtime::plugin::Rotation {
    common::request(&[])
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let package = package();
    let cache_dir = tempfile::tempdir().expect("cache dir");

    // Cold compile: no cache, Cranelift every time (the baseline for loading).
    let cold_runtime = Runtime::new(ArtifactCache::disabled()).expect("runtime");
    let (cold, cold_p95) = measure(5, || drop(cold_runtime.load(&package).expect("load")));

    // Cached load: read + checksum + deserialize + audit + pre-link.
    let runtime =
        Runtime::new(ArtifactCache::new(cache_dir.path().to_path_buf())).expect("runtime");
    runtime.load(&package).expect("warm the cache");
    let (cached, cached_p95) = measure(200, || drop(runtime.load(&package).expect("load")));

    let plugin = runtime.load(&package).expect("load");
    let req = request();
    let call = || {
        tokio
            .block_on(plugin.rotation_step(Step::Verify, CallContext::default(), &req))
            .expect("call");
    };
    for _ in 0..100 {
        call();
    }
    // Instantiate only (fresh Store + instance), then instantiate + one call.
    let (inst, inst_p95) = measure(2000, || {
        tokio
            .block_on(plugin.instantiate_only())
            .expect("instantiate")
    });
    let (full, full_p95) = measure(2000, call);
    // Baseline for the call: the same async plumbing without wasm.
    let (empty, _) = measure(2000, || tokio.block_on(async {}));

    println!("| step | mean | p95 | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| cold compile (no cache) | {:.2} ms | {:.2} ms | 1.00 (baseline) |",
        cold.as_secs_f64() * 1e3,
        cold_p95.as_secs_f64() * 1e3
    );
    println!(
        "| cached load (read, checksum, deserialize, audit, pre-link) | {} | {} | {:.4} of cold compile |",
        us(cached),
        us(cached_p95),
        cached.as_secs_f64() / cold.as_secs_f64()
    );
    println!(
        "| instantiate (fresh Store, limits, WASI ctx) | {} | {} | — |",
        us(inst),
        us(inst_p95)
    );
    println!(
        "| instantiate + one `verify` call round trip | {} | {} | {:.2}× instantiate only |",
        us(full),
        us(full_p95),
        full.as_secs_f64() / inst.as_secs_f64()
    );
    println!(
        "| baseline: empty `block_on` (async plumbing, no wasm) | {} | — | — |",
        us(empty)
    );
    println!(
        "\ncomponent: {} bytes; targets: cached load ≤ 2 ms, instantiate + call ≤ 100 µs",
        package.wasm.len()
    );
}
