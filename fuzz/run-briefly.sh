#!/usr/bin/env sh
# Runs every importer fuzz target for a short while (default 20 s each).
# Usage: fuzz/run-briefly.sh [SECONDS]
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -eu
seconds="${1:-20}"
cd "$(dirname "$0")/.."
for target in csv_keeper lastpass_csv lastpass_blob; do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "fuzz/corpus/$target"
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536
done
