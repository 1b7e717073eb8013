#!/usr/bin/env bash
# steward's own CPU while programs crash-loop (release build, steward as PID 1 under unshare).
# STEWARD_BENCH_SECS sets the measurement window per scenario (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q --release --test engine_bench -- --ignored --nocapture 2>&1 | grep -E 'spawns in|test result'
