#!/usr/bin/env bash
# Event-delivery latency: a program's exit -> a listener reading its PROCESS_STATE_EXITED header,
# under steward (release, PID 1 under unshare) and supervisord 4.3.0; N samples each (default 20).
# Then the CPU each spends on a burst of 10,000 REMOTE_COMMUNICATION events into a pool with
# buffer_size=10 and a slow listener (sent as 10 multicalls of 1,000).
# supervisord from the venv of bench/lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${N:-20}
VENV=$(bench_supervisor_venv)
SUPERVISORD=$VENV/bin/supervisord
PY=$VENV/bin/python3
bench_steward
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

setup() { # dir
  local d=$1
  mkdir -p "$d"
  cat > "$d/listener.py" <<PYEOF
import sys, time
out = open('$d/read', 'a')
while True:
    sys.stdout.write('READY\n'); sys.stdout.flush()
    line = sys.stdin.readline()
    t = time.time()
    h = dict(x.split(':', 1) for x in line.split())
    sys.stdin.read(int(h['len']))
    out.write('%.6f\n' % t); out.flush()
    sys.stdout.write('RESULT 2\nOK'); sys.stdout.flush()
PYEOF
  cat > "$d/app.py" <<PYEOF
import os, time
time.sleep(0.3)
with open('$d/exit', 'a') as f:
    f.write('%.6f\n' % time.time())
os._exit(3)
PYEOF
  cat > "$d/supervisord.conf" <<CONF
[supervisord]
nodaemon=true
logfile=$d/main.log
pidfile=$d/pid
childlogdir=$d
[eventlistener:lat]
command=$PY $d/listener.py
events=PROCESS_STATE_EXITED
startsecs=0
[program:app]
command=$PY $d/app.py
startsecs=0
autorestart=true
CONF
}

measure() { # dir name
  local d=$1
  local waited=0
  while [ "$(cat "$d/read" 2>/dev/null | wc -l)" -lt "$N" ]; do
    sleep 0.2; waited=$((waited + 1))
    [ $waited -lt 600 ] || { echo "$2: no events after 120 s; see $d/main.log" >&2; return 1; }
  done
  paste "$d/exit" "$d/read" | head -n "$N" | awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' | sort -n |
    awk -v name="$2" '{ v[NR] = $1; s += $1 }
      END { printf "%-12s exit -> listener read: median %.2f ms, mean %.2f ms, max %.2f ms (n=%d)\n", name, v[int((NR+1)/2)], s/NR, v[NR], NR }'
}

setup "$work/steward"
unshare --pid --fork --mount-proc --kill-child "$STEWARD" -c "$work/steward/supervisord.conf" >/dev/null 2>&1 &
st=$!
init=$(pid1_of $st)
measure "$work/steward" steward
# unshare --fork leaves TERM to its child: steward is the one to tell.
kill "$init"; wait $st 2>/dev/null || true

setup "$work/supervisord"
"$SUPERVISORD" -c "$work/supervisord/supervisord.conf" >/dev/null 2>&1 &
sd=$!
measure "$work/supervisord" supervisord
kill $sd; wait $sd 2>/dev/null || true

burst_setup() { # dir
  local d=$1
  mkdir -p "$d"
  cat > "$d/slow.py" <<PYEOF
import sys, time
while True:
    sys.stdout.write('READY\n'); sys.stdout.flush()
    line = sys.stdin.readline()
    h = dict(x.split(':', 1) for x in line.split())
    payload = sys.stdin.read(int(h['len']))
    with open('$d/got', 'a') as f:
        f.write(payload.split('\n', 1)[1] + '\n')
    time.sleep(0.01)
    sys.stdout.write('RESULT 2\nOK'); sys.stdout.flush()
PYEOF
  cat > "$d/send.py" <<PYEOF
import xmlrpc.client as x
from supervisor.xmlrpc import SupervisorTransport
p = x.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(None, None, 'unix://$d/sock'))
for b in range(10):
    p.system.multicall([{'methodName': 'supervisor.sendRemoteCommEvent', 'params': ['burst', str(i)]}
                        for i in range(b * 1000, b * 1000 + 1000)])
PYEOF
  cat > "$d/supervisord.conf" <<CONF
[supervisord]
nodaemon=true
logfile=$d/main.log
pidfile=$d/pid
childlogdir=$d
[unix_http_server]
file=$d/sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[eventlistener:slow]
command=$PY $d/slow.py
events=REMOTE_COMMUNICATION
buffer_size=10
startsecs=0
CONF
}

burst() { # dir pid name
  local d=$1 waited=0
  until [ -S "$d/sock" ]; do sleep 0.1; done
  sleep 1
  local t0 t1
  t0=$(cpu_ticks "$2")
  "$PY" "$d/send.py"
  until grep -qx 9999 "$d/got" 2>/dev/null; do
    sleep 0.1; waited=$((waited + 1))
    [ $waited -lt 600 ] || { echo "$3: the last event never arrived" >&2; return 1; }
  done
  t1=$(cpu_ticks "$2")
  echo "$3 10,000-event burst: $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) )) ms CPU, $(wc -l < "$d/got") delivered, $(grep -c 'buffer overflowed' "$d/main.log") overflow lines"
}

burst_setup "$work/burst-steward"
unshare --pid --fork --mount-proc --kill-child "$STEWARD" -c "$work/burst-steward/supervisord.conf" >/dev/null 2>&1 &
st=$!
init=$(pid1_of $st)
burst "$work/burst-steward" "$init" steward
kill "$init"; wait $st 2>/dev/null || true

burst_setup "$work/burst-supervisord"
"$SUPERVISORD" -c "$work/burst-supervisord/supervisord.conf" >/dev/null 2>&1 &
sd=$!
burst "$work/burst-supervisord" $sd supervisord
kill $sd; wait $sd 2>/dev/null || true
