#!/usr/bin/env sh
# Runs every importer fuzz target (CSV parser, LastPass CSV and blob
# parsers) for a short while (default 20 s each); a crash fails the run and
# leaves the input under fuzz/artifacts/.
# Usage: fuzz/run-briefly.sh [SECONDS]
# Uses cargo-fuzz (installed here if missing) on the pinned stable
# toolchain: RUSTC_BOOTSTRAP=1 lets it pass the sanitizer flags libFuzzer
# needs, so no nightly toolchain is required.
set -eu
seconds="${1:-20}"
cd "$(dirname "$0")"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${KEEPER_FUZZ_TARGET_DIR:-$HOME/.cache/keeper-fuzz}"
log="$CARGO_TARGET_DIR/fuzz-run.log"
mkdir -p "$CARGO_TARGET_DIR"
for target in csv_keeper lastpass_csv lastpass_blob; do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "corpus/$target"
    if cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 >"$log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
    else
        tail -n 60 "$log"
        echo "fuzz target $target failed; the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
