#!/usr/bin/env bash
# End-to-end log throughput: 256 MiB through steward into a rotated file, beside the same command writing
# straight to a file (the limit) and beside supervisord 4.3.0 on the same config. Prints MiB/s.
#
#   bench/logs.sh [MIB [DIR]]
#
# Builds steward in release mode; the supervisor venv as in bench/lib.sh. Also runs the pump-only
# micro-benchmark. (bench/compare has the 4 KiB and 128 KiB figures in its one table.)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
VENV=$(bench_supervisor_venv)
bench_steward
for bs in 128K 4K; do
    BENCH_BS=$bs SUPERVISORD="$VENV/bin/supervisord" STEWARD="$STEWARD" \
        cargo bench --bench logs -- --e2e "$@"
    BENCH_BS=$bs cargo bench --bench logs -- "$@"
done
