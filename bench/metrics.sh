#!/usr/bin/env bash
# What one /metrics scrape costs with 200 running programs, beside the cheapest request steward
# answers (GET /healthz, the no-metrics limit) and supervisord's getAllProcessInfo for the same 200
# programs (supervisord has no metrics; that call is what an exporter scrapes it with).
#
#   bench/metrics.sh      (needs curl; the supervisor venv as in bench/lib.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${N:-200}
SCRAPES=${SCRAPES:-50}
VENV=$(bench_supervisor_venv)
bench_steward
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

conf() { # $1 = name
  { printf '[supervisord]\nnodaemon=true\nlogfile=%s/%s.log\npidfile=%s/%s.pid\nchildlogdir=%s\n' "$work" "$1" "$work" "$1" "$work"
    printf '[unix_http_server]\nfile=%s/%s.sock\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n' "$work" "$1"
    printf '[supervisorctl]\nserverurl=unix://%s/%s.sock\n' "$work" "$1"
    printf '[program:p]\ncommand=sleep 100000\nnumprocs=%s\nprocess_name=%%(program_name)s_%%(process_num)03d\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n' "$N"
  } > "$work/$1.conf"
}
running() { # sock, count
  for _ in $(seq 300); do
    n=$(curl -s --unix-socket "$1" -H 'Content-Type: text/xml' -d '<?xml version="1.0"?><methodCall><methodName>supervisor.getAllProcessInfo</methodName><params></params></methodCall>' http://x/RPC2 | grep -c '<string>RUNNING</string>' || true)
    [ "$n" -ge "$2" ] && return 0; sleep 0.1
  done; return 1
}
ms_per() { # label, curl args…
  local label=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  for _ in $(seq "$SCRAPES"); do curl -s -o /dev/null "$@"; done
  t1=$(date +%s%N)
  printf '%-44s %8.2f ms per request\n' "$label" "$(echo "($t1 - $t0) / $SCRAPES / 1000000" | bc -l)"
}

conf steward; conf supervisord
"$STEWARD" -c "$work/steward.conf" >/dev/null 2>&1 & pids+=($!)
"$VENV/bin/supervisord" -n -c "$work/supervisord.conf" >/dev/null 2>&1 & pids+=($!)
running "$work/steward.sock" "$N"; running "$work/supervisord.sock" "$N"
rpc='<?xml version="1.0"?><methodCall><methodName>supervisor.getAllProcessInfo</methodName><params></params></methodCall>'
echo "$N programs running, $SCRAPES requests each, one at a time (curl's own start-up included):"
ms_per "steward GET /healthz (the limit)" --unix-socket "$work/steward.sock" http://x/healthz
ms_per "steward GET /metrics" --unix-socket "$work/steward.sock" http://x/metrics
ms_per "steward getAllProcessInfo" --unix-socket "$work/steward.sock" -H 'Content-Type: text/xml' -d "$rpc" http://x/RPC2
ms_per "supervisord getAllProcessInfo" --unix-socket "$work/supervisord.sock" -H 'Content-Type: text/xml' -d "$rpc" http://x/RPC2
printf '/metrics size: %s bytes\n' "$(curl -s --unix-socket "$work/steward.sock" http://x/metrics | wc -c)"
