#!/usr/bin/env bash
# Readiness latency and idle wakeups, for the closing note of the container-lifecycle issue.
#
# 1. Readiness latency: a program (python3) waits 1.0 s plus a random 0-200 ms (so the samples do not
#    phase-lock with a poll schedule), becomes ready and records time.time() at that moment; the figure
#    is the timestamp of steward's "entered RUNNING" main-log line minus that time. One form of
#    ready_check at a time (tcp:, http://, exec:test -e FILE, log:REGEX, notify), steward (release) as
#    PID 1 under `unshare --pid --fork --mount-proc`, one program that exits HOLD s after it became
#    ready and is restarted (autorestart=true) until N samples (default 10) are in. Reference rows:
#    supervisord 4.3.0 with startsecs=1 (it has no readiness: its RUNNING line relative to the moment
#    the program became ready, negative when it came first) and the limit, a client that tries to
#    connect to the TCP port every 1 ms and notes its first success.
# 2. Idle wakeups: context switches (voluntary + nonvoluntary, every thread, /proc/PID/task/*/status)
#    over a WINDOW-second window (default 10) once all programs are RUNNING and 2 s more have passed,
#    with 3 idle programs (TCP listeners): (a) steward without checks, (b) steward with a tcp
#    ready_check on each (passed before the window), (c) as (b) plus a tcp health_check every 5 s on
#    one, (d) supervisord 4.3.0 with the programs of (a). The four run side by side.
#
# Main-log timestamps are truncated to the millisecond, so a latency reads up to 1 ms low.
#
#   bench/readiness.sh     (as root, for unshare; the supervisor venv as in bench/lib.sh; ~2.5 min)
#   KEEP=1 bench/readiness.sh   keeps the logs and configs; N=, WINDOW=, HOLD= as above
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${N:-10}
WINDOW=${WINDOW:-10}
HOLD=${HOLD:-0.5}
VENV=$(bench_supervisor_venv)
SUPERVISORD=$VENV/bin/supervisord
PY=$VENV/bin/python3
bench_steward
work=$(mktemp -d)
# steward puts its sd_notify sockets under $TMPDIR/steward-PID; as PID 1 every run would share
# /tmp/steward-1 with any other steward in a namespace on this machine.
export TMPDIR=$work
# Every process started here and not yet ended: the unshare wrappers and supervisord (live), and
# steward as PID 1 in each namespace (inits, told first so that it stops its programs in order;
# --kill-child takes the namespace down with its wrapper anyway).
declare -A live=() inits=()
cleanup() {
  local p
  for p in "${!inits[@]}" "${!live[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "bench: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(load)

free_ports() { # count: ports free on 127.0.0.1 right now
  "$PY" - "$1" <<'PYEOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in socks))
PYEOF
}

# The program: FORM OUT [ARG]. Sleeps 1.0 s + 0-200 ms, becomes ready the FORM's way, appends
# "PID TIME" to OUT, stays HOLD s (env), then exits 0 (an exec: program removes its file first).
cat > "$work/ready.py" <<'PYEOF'
import http.server, os, random, socket, sys, threading, time
form, out = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else ''
time.sleep(1.0 + random.uniform(0, 0.2))
if form == 'tcp':
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', int(arg)))
    s.listen(64)
    t = time.time()
elif form == 'http':
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
        def log_message(self, *a):
            pass
    http.server.HTTPServer.allow_reuse_address = True
    srv = http.server.HTTPServer(('127.0.0.1', int(arg)), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    t = time.time()
elif form == 'exec':
    open(arg, 'w').close()
    t = time.time()
elif form == 'log':
    t = time.time()
    print('app is ready', flush=True)
elif form == 'notify':
    addr = os.environ['NOTIFY_SOCKET']
    if addr.startswith('@'):
        addr = '\0' + addr[1:]
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    t = time.time()
    n.sendto(b'READY=1', addr)
with open(out, 'a') as f:
    f.write('%d %.6f\n' % (os.getpid(), t))
time.sleep(float(os.environ.get('HOLD', '0.5')))
if form == 'exec':
    os.unlink(arg)
os._exit(0)
PYEOF

# An idle TCP listener (accepts and closes what connects): PORT.
cat > "$work/listen.py" <<'PYEOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(64)
while True:
    s.accept()[0].close()
PYEOF

# Pairs each "spawned: ... with pid P" of LOG with the next "entered RUNNING" line, and P with its
# ready time in OUT; prints one latency in ms a line, in the order of the log.
cat > "$work/pair.py" <<'PYEOF'
import re, sys, time
log, out = sys.argv[1], sys.argv[2]
ready = {}
for line in open(out):
    p, t = line.split()
    ready[int(p)] = float(t)
def stamp(line):
    d, ms = line[:23].split(',')
    return time.mktime(time.strptime(d, '%Y-%m-%d %H:%M:%S')) + int(ms) / 1000
pid = None
for line in open(log):
    m = re.search(r"spawned: '.*' with pid (\d+)", line)
    if m:
        pid = int(m.group(1))
    elif 'entered RUNNING state' in line and pid in ready:
        print('%.3f' % ((stamp(line) - ready[pid]) * 1000))
        pid = None
PYEOF

summary() { # label, file of ms values: "label<TAB>median<TAB>max<TAB>n"
  sort -n "$2" | awk -v l="$1" '{ v[NR] = $1 } END {
    if (NR == 0) { printf "%s\t-\t-\t0\n", l; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s\t%.1f\t%.1f\t%d\n", l, m, v[NR], NR }'
}

running_lines() { local n; n=$(grep -sc 'entered RUNNING state' "$1" || true); echo "${n:-0}"; }

wait_running() { # log, count, seconds
  local i
  for i in $(seq $(($3 * 10))); do
    [ "$(running_lines "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "bench: fewer than $2 RUNNING lines in $1 after $3 s" >&2
  return 1
}

conf_head() { # dir
  printf '[supervisord]\nnodaemon=true\nlogfile=%s/main.log\npidfile=%s/pid\nchildlogdir=%s\n' "$1" "$1" "$1"
}

# Starts steward as PID 1 on DIR/supervisord.conf; sets last_unshare and last_init.
start_steward() {
  unshare --pid --fork --mount-proc --kill-child "$STEWARD" -c "$1/supervisord.conf" >/dev/null 2>&1 &
  last_unshare=$!
  live[$last_unshare]=1
  last_init=$(pid1_of "$last_unshare")
  inits[$last_init]=1
}
stop() { # pid (of what is told), pid (of what is waited for)
  kill "$1" 2>/dev/null || true
  wait "$2" 2>/dev/null || true
  unset "inits[$1]" "live[$1]" "live[$2]"
}

rows=()
read -r -a port <<<"$(free_ports 2)"

# --- 1. readiness latency, one form at a time --------------------------------------------------------
for form in tcp http exec log notify; do
  d=$work/$form
  mkdir -p "$d"
  case $form in
    tcp) arg=${port[0]}; check="tcp:127.0.0.1:${port[0]}" ;;
    http) arg=${port[1]}; check="http://127.0.0.1:${port[1]}/" ;;
    exec) arg=$d/ready-file; check="exec:test -e $d/ready-file" ;;
    log) arg=; check='log:^app is ready$' ;;
    notify) arg=; check=notify ;;
  esac
  { conf_head "$d"
    printf '[program:app]\ncommand=%s %s/ready.py %s %s/ready %s\n' "$PY" "$work" "$form" "$d" "$arg"
    printf 'ready_check=%s\nautorestart=true\nenvironment=HOLD="%s"\n' "$check" "$HOLD"
  } > "$d/supervisord.conf"
  start_steward "$d"
  wait_running "$d/main.log" "$N" $((N * 4 + 20))
  stop "$last_init" "$last_unshare"
  "$PY" "$work/pair.py" "$d/main.log" "$d/ready" | head -n "$N" > "$d/ms"
  shown=${check//$d/DIR}
  label="steward \`${shown//${port[0]}/PORT}\`"
  label=${label//${port[1]}/PORT}
  rows+=("$(summary "$label" "$d/ms")")
done

# --- supervisord 4.3.0: RUNNING after startsecs=1, whatever the program is doing ----------------------
d=$work/supervisord
mkdir -p "$d"
{ conf_head "$d"
  printf '[program:app]\ncommand=%s %s/ready.py tcp %s/ready %s\n' "$PY" "$work" "$d" "${port[0]}"
  # Lives 1.3 s after ready: past spawn + startsecs + supervisord's 1 s poll, so RUNNING is logged
  # while it runs.
  printf 'startsecs=1\nautorestart=true\nenvironment=HOLD="1.3"\n'
} > "$d/supervisord.conf"
"$SUPERVISORD" -c "$d/supervisord.conf" >/dev/null 2>&1 &
sd=$!
live[$sd]=1
wait_running "$d/main.log" "$N" $((N * 5 + 20))
stop "$sd" "$sd"
"$PY" "$work/pair.py" "$d/main.log" "$d/ready" | head -n "$N" > "$d/ms"
rows+=("$(summary 'supervisord 4.3.0, startsecs=1 (no readiness; signed)' "$d/ms")")

# --- the limit: a client connecting every 1 ms --------------------------------------------------------
d=$work/limit
mkdir -p "$d"
"$PY" - "$PY" "$work/ready.py" "$d/ready" "${port[0]}" "$N" > "$d/ms" <<'PYEOF'
import errno, os, socket, subprocess, sys, time
py, prog, out, port, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
for _ in range(n):
    p = subprocess.Popen([py, prog, 'tcp', out, str(port)], env=dict(os.environ, HOLD='0.3'))
    try:
        while True:
            s = socket.socket()
            try:
                s.connect(('127.0.0.1', port))
                seen = time.time()
                break
            except OSError:
                pass
            finally:
                s.close()
            time.sleep(0.001)
        p.wait()
    finally:
        p.kill()
        p.wait()
    ready = dict(l.split() for l in open(out))
    print('%.3f' % ((seen - float(ready[str(p.pid)])) * 1000))
PYEOF
rows+=("$(summary 'limit: a client connecting every 1 ms' "$d/ms")")
load_mid=$(load)

# --- 2. idle wakeups ----------------------------------------------------------------------------------
read -r -a lp <<<"$(free_ports 9)"
idle_conf() { # dir, first port index, extra lines for each program (%d = program index)
  local d=$1 i
  mkdir -p "$d"
  { conf_head "$d"
    for i in 0 1 2; do
      printf '[program:p%d]\ncommand=%s %s/listen.py %s\nstartsecs=1\n' "$i" "$PY" "$work" "${lp[$(($2 + i))]}"
      if [ -n "$3" ]; then printf "%s\n" "${3//PORT/${lp[$(($2 + i))]}}"; fi
    done
  } > "$d/supervisord.conf"
}
idle_conf "$work/idle-a" 0 ''
idle_conf "$work/idle-b" 3 'ready_check=tcp:127.0.0.1:PORT'
idle_conf "$work/idle-c" 6 'ready_check=tcp:127.0.0.1:PORT'
# Appended to the last section, p2's.
printf 'health_check=tcp:127.0.0.1:%s\nhealth_interval=5\n' "${lp[8]}" >> "$work/idle-c/supervisord.conf"
idle_conf "$work/idle-d" 0 ''
# supervisord's programs need ports of their own: a's are taken by steward's.
read -r -a dp <<<"$(free_ports 3)"
for i in 0 1 2; do sed -i "s/listen.py ${lp[$i]}$/listen.py ${dp[$i]}/" "$work/idle-d/supervisord.conf"; done

declare -A who wrapper
for c in a b c; do
  start_steward "$work/idle-$c"
  who[$c]=$last_init
  wrapper[$c]=$last_unshare
done
"$SUPERVISORD" -c "$work/idle-d/supervisord.conf" >/dev/null 2>&1 &
who[d]=$!
live[${who[d]}]=1
for c in a b c d; do wait_running "$work/idle-$c/main.log" 3 20; done
sleep 2

switches() { # pid: voluntary + nonvoluntary switches of every thread; thread count
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } /^Pid:/ { n++ } END { print s, n }'
}
declare -A t0 t1 th0 th1
for c in a b c d; do read -r t0[$c] th0[$c] <<<"$(switches "${who[$c]}")"; done
sleep "$WINDOW"
for c in a b c d; do read -r t1[$c] th1[$c] <<<"$(switches "${who[$c]}")"; done
load_end=$(load)
for c in a b c; do stop "${who[$c]}" "${wrapper[$c]}"; done
stop "${who[d]}" "${who[d]}"

# --- report ---------------------------------------------------------------------------------------------
echo
echo "Load average (1, 5, 15 min) at the start: $load_start; after the latency runs: $load_mid; at the end: $load_end"
echo "steward: $STEWARD ($STEWARD_BUILD); $(nproc) CPUs"
echo
echo "| Ready check | median ms | max ms | samples |"
echo "|---|---:|---:|---:|"
for r in "${rows[@]}"; do
  IFS=$'\t' read -r l m x n <<<"$r"
  echo "| $l | $m | $x | $n |"
done
echo
echo "- steward rows: one program, ready after 1.0 s + U(0, 200 ms), exits ${HOLD} s later and is restarted;"
echo "  steward's \"entered RUNNING\" timestamp minus the program's time.time() at the moment it became ready."
echo "- supervisord row: the same with startsecs=1; negative = it said RUNNING before the program was ready."
echo "- limit row: no supervisor; a python client tries connect() every 1 ms; its first success minus ready."
echo "- main-log timestamps are truncated to the millisecond, so the steward and supervisord figures read"
echo "  0-1 ms low: a negative notify figure means RUNNING came within 1 ms."
echo
echo "| Idle, ${WINDOW} s window | context switches | per second | threads |"
echo "|---|---:|---:|---:|"
idle_row() { # letter, label
  local s=$((t1[$1] - t0[$1]))
  printf '| %s | %d | %.1f | %s |\n' "$2" "$s" "$(echo "$s / $WINDOW" | bc -l)" \
    "${th0[$1]}$([ "${th0[$1]}" = "${th1[$1]}" ] || echo " -> ${th1[$1]}")"
}
idle_row a '(a) steward, 3 programs, no checks'
idle_row b '(b) steward, the 3 with a tcp ready_check (passed)'
idle_row c '(c) as (b), plus a tcp health_check every 5 s on one'
idle_row d '(d) supervisord 4.3.0, the 3 programs of (a)'
echo
echo "- all four side by side, each once its 3 programs were RUNNING and 2 s more had passed;"
echo "  voluntary + nonvoluntary context switches summed over /proc/PID/task/*/status of the"
echo "  supervisor itself (not its programs), read before and after the window."
