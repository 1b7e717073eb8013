#!/bin/sh
# End-to-end log throughput: 256 MiB through steward into a rotated file, beside the same command writing
# straight to a file (the limit) and beside supervisord 4.3.0 on the same config. Prints MiB/s.
#
#   bench/logs.sh [MIB [DIR]]
#
# Installs supervisor==4.3.0 into $VENV (default /tmp/steward-bench-venv) on first use and builds
# steward in release mode. Also runs the pump-only micro-benchmark.
set -eu
cd "$(dirname "$0")/.."
VENV=${VENV:-/tmp/steward-bench-venv}
if [ ! -x "$VENV/bin/supervisord" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q supervisor==4.3.0
fi
cargo build --release --bin steward
for bs in 128K 4K; do
    BENCH_BS=$bs SUPERVISORD="$VENV/bin/supervisord" STEWARD="$PWD/target/release/steward" \
        cargo bench --bench logs -- --e2e "$@"
    BENCH_BS=$bs cargo bench --bench logs -- "$@"
done
