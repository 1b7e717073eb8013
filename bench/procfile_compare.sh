#!/usr/bin/env bash
# A Procfile run of steward beside the real honcho (PyPI, in target/honcho-venv as scripts/test.sh
# installs it) on the same Procfile and .env: the time from launch until every program is up (the
# Python HTTP server answers on its PORT, the two shell programs have written their marker), and the
# resident memory of the runner itself (VmRSS of steward / of honcho's Python), and of the runner
# plus its programs. Not a test: it prints a table (medians of RUNS runs, 7 by default).
#   bench/procfile_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

venv="$PWD/target/honcho-venv"
if [ ! -x "$venv/bin/honcho" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'honcho==2.0.0'
fi
cargo build -q --release
RUNS=${RUNS:-7} python3 - "$PWD/target/release/steward" "$venv/bin/honcho" <<'PY'
import os, signal, socket, statistics, subprocess, sys, tempfile, time

steward, honcho = sys.argv[1], sys.argv[2]
runs = int(os.environ["RUNS"])

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
        except OSError:
            pass
    return out

def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
            c.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return c.recv(12).startswith(b"HTTP/1.0 200")
    except OSError:
        return False

def one(argv):
    d = tempfile.mkdtemp(prefix="procfile-bench-")
    port = free_port() // 1000 * 1000 % 60000 or 20000
    while any(not free(port + i) for i in (0, 100, 200)):
        port += 7
    open(f"{d}/Procfile", "w").write(
        "web: exec python3 -m http.server $PORT --bind 127.0.0.1\n"
        "worker: touch worker.up; while true; do sleep 1; done\n"
        "clock: touch clock.up; exec sleep 600\n")
    open(f"{d}/.env", "w").write("GREETING='hello there'\nexport MODE=development\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "XDG_RUNTIME_DIR")}
    t0 = time.monotonic()
    p = subprocess.Popen(argv + ["-p", str(port)], cwd=d, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    while not (answers(port) and os.path.exists(f"{d}/worker.up") and os.path.exists(f"{d}/clock.up")):
        if time.monotonic() - t0 > 20:
            raise SystemExit(f"{argv[0]} did not bring everything up in 20 s")
        time.sleep(0.002)
    up = time.monotonic() - t0
    time.sleep(0.5)  # let the runner settle before its memory is read
    own = rss_kib(p.pid)
    total = sum(rss_kib(x) for x in tree(p.pid))
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    subprocess.run(["rm", "-rf", d])
    return up, own, total

def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()

rows = []
for name, argv in [("steward", [steward, "-f", "Procfile"]), ("honcho 2.0.0", [honcho, "start"])]:
    r = [one(argv) for _ in range(runs)]
    rows.append((name, statistics.median(x[0] for x in r) * 1000,
                 statistics.median(x[1] for x in r) / 1024, statistics.median(x[2] for x in r) / 1024))
print(f"| runner | all up (ms, median of {runs}) | runner RSS (MiB) | runner + programs RSS (MiB) |")
print("|---|---|---|---|")
for name, up, own, total in rows:
    print(f"| {name} | {up:.0f} | {own:.1f} | {total:.1f} |")
PY
