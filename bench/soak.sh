#!/usr/bin/env bash
# A soak, not a test: the release steward as PID 1 (unshare) for SOAK_SECS (default 1800) with
# programs crash-looping, programs flooding their logs through rotation, and a ctl client hammering
# status / tail / restart. Every SOAK_EVERY seconds (default 60) it prints steward's RSS, open fds
# and CPU; at the end, for each flooder, the lines it wrote against the lines found in its log files.
# Flat RSS and fds, and `lost 0` on every flooder, is a pass.
#
#   bench/soak.sh                 # 30 minutes
#   SOAK_SECS=300 bench/soak.sh   # a short run
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
secs=${SOAK_SECS:-1800}
every=${SOAK_EVERY:-60}
bench_steward
bin=$STEWARD
dir=$(mktemp -d /tmp/steward-soak.XXXXXX)
ups="" hammer="" pid=""
# steward first: killing unshare alone leaves it running.
# Each kill may find its process gone already; under set -e a failing one ended the trap (exit 1, the
# directory left behind) after a clean run.
trap 'for p in "$hammer" "$pid" "$ups"; do [ -z "$p" ] || kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT

# A flooder writes numbered lines in bursts of 50 (about 5,000 lines/s); on TERM it records how
# many it wrote and exits.
cat >"$dir/flood.sh" <<'EOF'
#!/bin/sh
i=0
trap 'echo "$i" > "$SOAK_DIR/$SUPERVISOR_PROCESS_NAME.count"; exit 0' TERM
while :; do
  n=0
  while [ $n -lt 50 ]; do i=$((i+1)); n=$((n+1)); echo "$SUPERVISOR_PROCESS_NAME $i"; done
  sleep 0.01
done
EOF
chmod +x "$dir/flood.sh"

cat >"$dir/soak.conf" <<EOF
[supervisord]
nodaemon=true
logfile=$dir/steward.log
logfile_maxbytes=1MB
logfile_backups=3
pidfile=$dir/steward.pid
childlogdir=$dir
environment=SOAK_DIR="$dir"

[unix_http_server]
file=$dir/sock

[program:crash]
command=/bin/sh -c 'echo up; sleep 0.3; echo down >&2; exit 1'
numprocs=5
process_name=%(program_name)s_%(process_num)d
startsecs=0
autorestart=true
stdout_logfile=$dir/%(program_name)s_%(process_num)d.out
stdout_logfile_maxbytes=64KB
stdout_logfile_backups=2

[program:flood]
command=$dir/flood.sh
numprocs=3
process_name=%(program_name)s_%(process_num)d
startsecs=0
stopwaitsecs=10
stdout_logfile=$dir/%(program_name)s_%(process_num)d.out
stdout_logfile_maxbytes=5MB
stdout_logfile_backups=200
EOF

unshare --pid --fork --mount-proc --kill-child "$bin" -c "$dir/soak.conf" >"$dir/stdout" 2>&1 &
ups=$!
pid=$(pid1_of $ups) || { echo "steward did not start"; cat "$dir/stdout"; exit 1; }
for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.1; done
[ -S "$dir/sock" ] || { echo "steward did not open its socket"; cat "$dir/stdout"; exit 1; }
ctl() { "$bin" ctl -s "unix://$dir/sock" "$@"; }

# The ctl client: status, tail, restart, as fast as they answer (bounded by the soak's length).
(
  end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    ctl status >/dev/null || true
    ctl tail flood:flood_1 >/dev/null || true
    ctl restart crash:crash_1 >/dev/null || true
  done
) &
hammer=$!

hz=$(getconf CLK_TCK)
sample() {
  local rss fds ticks
  rss=$(proc_field "$pid" VmRSS)
  fds=$(ls "/proc/$pid/fd" | wc -l)
  ticks=$(cpu_ticks "$pid")
  printf '%6ss  rss %6s kB  fds %4s  cpu %7.2fs\n' "$1" "$rss" "$fds" "$(awk -v t="$ticks" -v h="$hz" 'BEGIN {print t / h}')"
}
start=$SECONDS
sample 0
while [ $((SECONDS - start)) -lt "$secs" ]; do
  sleep "$every"
  sample $((SECONDS - start))
done
wait "$hammer" || true

ctl stop "flood:*"
lost_total=0
for f in 0 1 2; do
  name="flood_$f"
  wrote=$(cat "$dir/$name.count")
  # Each line once, in any of the rotated files.
  found=$(cat "$dir/$name.out"* | grep -c "^$name [0-9]*$" || true)
  distinct=$(cat "$dir/$name.out"* | grep "^$name [0-9]*$" | sort -u | wc -l)
  lost=$((wrote - distinct))
  lost_total=$((lost_total + lost))
  echo "$name: wrote $wrote, found $found ($distinct distinct), lost $lost"
done
restarts=$(grep -c "exited: crash" "$dir/stdout" || true)
echo "crash-loop exits handled: $restarts"
sample end
ctl shutdown >/dev/null
wait "$ups" || true
[ "$lost_total" -eq 0 ]
