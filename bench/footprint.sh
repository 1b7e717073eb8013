#!/usr/bin/env bash
# Footprint beside supervisord 4.3.0 on the same config: resident memory, idle wakeups, and CPU in a
# crash loop. Each supervisor runs as PID 1 of its own PID namespace (unshare), as in a container.
#
#   bench/footprint.sh            (root; installs supervisor==4.3.0 into $VENV on first use)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-/tmp/steward-bench-venv}
SECS=${SECS:-10}
if [ ! -x "$VENV/bin/supervisord" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q supervisor==4.3.0
fi
cargo build -q --release --bin steward
STEWARD="$PWD/target/release/steward"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

conf() { # $1 = name, then program sections
  local f="$work/$1.conf"; shift
  printf '[supervisord]\nnodaemon=true\nlogfile=%s/%s.log\npidfile=%s/%s.pid\nchildlogdir=%s\n%s' \
    "$work" "$(basename "$f" .conf)" "$work" "$(basename "$f" .conf)" "$work" "$*" > "$f"
  echo "$f"
}

# The init inside the namespace: the child of unshare.
init_of() { local u=$1 k; for _ in $(seq 200); do k=$(cat /proc/$u/task/$u/children 2>/dev/null | awk '{print $1}'); [ -n "$k" ] && { echo "$k"; return; }; sleep 0.05; done; }
field() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }
switches() { echo $(( $(field "$1" voluntary_ctxt_switches) + $(field "$1" nonvoluntary_ctxt_switches) )); }
cputicks() { awk '{print $14+$15}' "/proc/$1/stat"; }

measure() { # $1 label, $2 config, $3 = what
  local label=$1 cfg=$2 what=$3 u init
  case $label in
    steward) unshare --pid --fork --mount-proc "$STEWARD" -c "$cfg" >/dev/null 2>&1 & ;;
    supervisord) unshare --pid --fork --mount-proc "$VENV/bin/supervisord" -n -c "$cfg" >/dev/null 2>&1 & ;;
  esac
  u=$!
  init=$(init_of $u)
  sleep 3 # let start-up settle: this is a benchmark, not a test
  case $what in
    idle)
      local s0 s1 rss
      s0=$(switches "$init"); sleep "$SECS"; s1=$(switches "$init")
      rss=$(field "$init" VmRSS)
      printf '  %-12s RSS %6d KiB   wakeups while idle: %5.1f /s\n' "$label" "$rss" "$(awk -v a="$s0" -v b="$s1" -v t="$SECS" 'BEGIN{print (b-a)/t}')"
      ;;
    crash)
      local c0 c1 hz
      hz=$(getconf CLK_TCK)
      c0=$(cputicks "$init"); sleep "$SECS"; c1=$(cputicks "$init")
      printf '  %-12s CPU %6.1f%% of one core while 5 programs crash-loop\n' "$label" "$(awk -v a="$c0" -v b="$c1" -v h="$hz" -v t="$SECS" 'BEGIN{print 100*(b-a)/h/t}')"
      ;;
  esac
  kill -TERM "$init" 2>/dev/null || true
  wait $u 2>/dev/null || true
}

idle=$(conf idle "$(for p in web worker cron; do printf '[program:%s]\ncommand=sleep 100000\nstdout_logfile=%s/%s.out\n' $p "$work" $p; done)")
crash=$(conf crash "$(for i in 1 2 3 4 5; do printf '[program:c%s]\ncommand=/bin/true\nstartsecs=0\nautorestart=true\nstdout_logfile=%s/c%s.out\n' $i "$work" $i; done)")

echo "footprint, ${SECS}s windows, each supervisor as PID 1 of its own namespace"
echo "3 idle programs (the no-supervisor limit is 0 KiB and 0 wakeups):"
measure steward "$idle" idle
measure supervisord "$idle" idle
echo "crash loop (startsecs=0, autorestart=true, /bin/true):"
measure steward "$crash" crash
measure supervisord "$crash" crash
printf '  binary: steward %s KiB (static build is larger); supervisord: a Python 3 interpreter plus the package\n' \
  "$(( $(stat -c %s "$STEWARD") / 1024 ))"
