"""The measuring half of bench/footprint.sh (which builds, installs and explains). Not a test.

Every run is `unshare --pid --fork --mount-proc INIT ...`, so each supervisor (and the shell loop that
stands for "no supervisor") is PID 1 of its own namespace, as in a container. Times are wall clock on
the monotonic clock, observed from outside the namespace in the same way for every side:

  spawn N     from starting unshare until the init has N children that have all exec'd `sleep`
              ("first after": until its first child appeared, i.e. the start-up before any spawn)
  TERM->exit  from SIGTERM to the init until unshare (which waits for the init) has exited
  idle        Rss/Pss of the init from /proc/PID/smaps_rollup, and its context switches (all threads)
              per second, with 10 sleeping programs, after the start-up settled
  crash       CPU of the init while 5 programs exit at once and are restarted (startsecs=0)
"""

import os
import signal
import statistics
import subprocess
import sys
import time

WORK, STEWARD, SUPERVISORD = sys.argv[1], sys.argv[2], sys.argv[3]
N = int(os.environ.get("N", "200"))
REPS = int(os.environ.get("REPS", "3"))
SECS = float(os.environ.get("SECS", "10"))
SETTLE = float(os.environ.get("SETTLE", "3"))


def conf(name, programs):
    """One supervisord.conf that both supervisors read; every program logs to an AUTO file."""
    path = f"{WORK}/{name}.conf"
    with open(path, "w") as f:
        f.write(
            f"[supervisord]\nnodaemon=true\nlogfile={WORK}/{name}.log\npidfile={WORK}/{name}.pid\n"
            f"childlogdir={WORK}\nminfds=4096\n"
        )
        for p, body in programs:
            f.write(f"[program:{p}]\n{body}")
    return path


def sleepers(n):
    return [(f"p{i:03}", "command=sleep 100000\nstartsecs=0\n") for i in range(n)]


def limit_script(n):
    # dash as PID 1: fork n sleeps; on TERM signal everything else in the namespace and wait for it.
    return ["/bin/sh", "-c",
            f"trap 'kill -TERM -1; wait; exit 0' TERM; i=0; while [ $i -lt {n} ]; do sleep 100000 & "
            "i=$((i+1)); done; wait"]


def argv_of(side, cfg, n):
    if side == "steward":
        return [STEWARD, "-c", cfg]
    if side == "supervisord":
        return [SUPERVISORD, "-n", "-c", cfg]
    return limit_script(n)


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except OSError:
        return []


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def start(side, cfg, n):
    u = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc"] + argv_of(side, cfg, n),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        k = children(u.pid)
        if k:
            return u, int(k[0])
        time.sleep(0.0005)
    raise SystemExit(f"{side}: no init in the namespace after 30 s")


def wait_programs(init, n, deadline, first=None):
    """Poll until the init has n children that all run `sleep` (exec done, not just forked). `first`
    (a list) gets the time the first child appeared: what start-up took before any spawn."""
    pending = None
    while time.monotonic() < deadline:
        k = children(init)
        if k and first is not None and not first:
            first.append(time.monotonic())
        if len(k) >= n:
            pending = [p for p in (pending if pending is not None else k) if comm(p) != "sleep"]
            if not pending:
                return True
        time.sleep(0.0005)
    return False


def stop(u, init):
    try:
        os.kill(init, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        u.wait(timeout=120)
    except subprocess.TimeoutExpired:
        u.kill()
        u.wait()


def spawn_and_term(side, cfg, n):
    t0 = time.monotonic()
    u, init = start(side, cfg, n)
    first = []
    ok = wait_programs(init, n, t0 + 120, first)
    spawn = time.monotonic() - t0
    if not ok:
        stop(u, init)
        raise SystemExit(f"{side}: {n} programs not running after 120 s")
    time.sleep(SETTLE)  # every program RUNNING, nothing else going on
    t1 = time.monotonic()
    stop(u, init)
    return spawn, time.monotonic() - t1, first[0] - t0


def tasks_switches(pid):
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                out[parts[0][:-1]] = int(parts[1])
    return out


def cputicks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def idle(side, cfg):
    u, init = start(side, cfg, 10)
    wait_programs(init, 10, time.monotonic() + 30)
    time.sleep(SETTLE)
    s0 = tasks_switches(init)
    time.sleep(SECS)
    s1 = tasks_switches(init)
    mem = rollup(init)
    stop(u, init)
    return mem["Rss"], mem["Pss"], (s1 - s0) / SECS


def crash(side, cfg):
    u, init = start(side, cfg, 0)
    time.sleep(SETTLE)
    c0 = cputicks(init)
    time.sleep(SECS)
    c1 = cputicks(init)
    stop(u, init)
    return 100 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / SECS


def ratio(a, b):
    return f"{a / b:6.3f}x" if b else "     -"


def main():
    sides = os.environ.get("SIDES", "steward supervisord limit").split()
    big = conf("spawn", sleepers(N))
    ten = conf("idle", sleepers(10))
    flap = conf("crash", [(f"c{i}", "command=/bin/true\nstartsecs=0\nautorestart=true\n") for i in range(5)])

    print(f"spawn {N} and SIGTERM -> exit, median of {REPS} (each side as PID 1 of its own namespace)")
    res = {}
    for side in sides:
        runs = [spawn_and_term(side, big, N) for _ in range(REPS)]
        res[side] = tuple(statistics.median(r[i] for r in runs) for i in range(3))
        spread = " ".join(f"{a * 1000:.0f}/{b * 1000:.0f}" for a, b, _ in runs)
        print(f"  {side:12} spawn {res[side][0] * 1000:8.1f} ms (first after {res[side][2] * 1000:6.1f})"
              f"   TERM->exit {res[side][1] * 1000:8.1f} ms   (runs, spawn/exit ms: {spread})")
    if "steward" in res and "supervisord" in res:
        s, v = res["steward"], res["supervisord"]
        print(f"  steward / supervisord: spawn {ratio(s[0], v[0])} (target <= 0.05x)   "
              f"TERM->exit {ratio(s[1], v[1])} (target <= 0.03x)")

    print(f"idle with 10 programs, {SECS:.0f} s window (the limit: a shell that waits)")
    for side in sides:
        rss, pss, wake = idle(side, ten)
        print(f"  {side:12} Rss {rss:6d} KiB   Pss {pss:6d} KiB   wakeups {wake:5.1f} /s")

    print("crash loop (5 programs exiting at once, startsecs=0, autorestart=true)")
    for side in sides:
        if side != "limit":
            print(f"  {side:12} CPU {crash(side, flap):5.1f}% of one core")


main()
