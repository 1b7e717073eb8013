#!/usr/bin/env python3
"""The measurements behind bench/compare (which builds steward, finds the supervisor venv and runs this).

Every scenario runs for steward, supervisord 4.3.0 and the no-supervisor limit: the same programs under
a bare shell, or the same syscalls made directly. Each of the three runs as PID 1 of its own PID
namespace (`unshare --pid --fork --mount-proc --kill-child`), as in a container. Control calls are
XML-RPC from this process over the unix socket, for both supervisors alike: a fresh connection per call,
as one `supervisorctl`/`steward ctl` command makes, without either client's start-up in the figure.

Nothing here waits a fixed time for a state: it polls /proc or the RPC with a deadline. Sleeps are
only the idle and crash-loop measurement windows. Every process started is killed by pid on the way
out (normal end, an error, SIGINT/SIGTERM/SIGHUP).

python3 bench/compare.py --steward BIN --build static|static-glibc|dynamic --supervisord BIN
"""

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client

QUICK = os.environ.get("QUICK", "") not in ("", "0")
# ONLY=spawn,logs runs just those scenarios (idle, logs, spawn, status, crash); the others print n/a.
ONLY = set(filter(None, os.environ.get("ONLY", "").split(",")))
HZ = os.sysconf("SC_CLK_TCK")
RUNNING = 20  # supervisord's ProcessStates.RUNNING

# Sizes and repeats: the full run takes about 3 minutes on 2 busy cores, QUICK=1 about 1.
IDLE_SECS = 3 if QUICK else 10
RESTARTS = 5 if QUICK else 11
LOG_MB = 32 if QUICK else 128
LOG_RUNS = 1 if QUICK else 3
SPAWN_RUNS = 1 if QUICK else 3
STATUS_CALLS = 10 if QUICK else 25
CRASH_SECS = 6 if QUICK else 30

UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
WHO = ("steward", "supervisord", "limit")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Stop(Exception):
    pass


def _on_signal(signum, _frame):
    raise Stop(f"signal {signum}")


def poll(what, check, deadline_s, every=0.01):
    """Poll `check()` until it returns a true value (returned) or the deadline passes (error)."""
    end = time.monotonic() + deadline_s
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > end:
            raise RuntimeError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(every)


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


# ---- /proc ----------------------------------------------------------------------------------------


def children(pid):
    """Pids of the children of every thread of `pid`."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tids:
        out += [int(c) for c in read(f"/proc/{pid}/task/{t}/children").split()]
    return out


def comm(pid):
    return read(f"/proc/{pid}/comm").strip()


def status_kb(pid, key):
    for line in read(f"/proc/{pid}/status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def pss_kb(pid):
    for line in read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def ctx_switches(pid):
    n = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        for line in read(f"/proc/{pid}/task/{t}/status").splitlines():
            if "ctxt_switches:" in line:
                n += int(line.split()[1])
    return n


def cpu_ticks(pid):
    """utime + stime of all threads of `pid`, not of its children."""
    stat = read(f"/proc/{pid}/stat")
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


class Counter:
    """Counts children of `init` that have exec'd `name`; a pid once counted stays counted."""

    def __init__(self, init, name):
        self.init, self.name, self.done = init, name, set()

    def __call__(self):
        for c in children(self.init):
            if c not in self.done and comm(c) == self.name:
                self.done.add(c)
        return len(self.done)


# ---- XML-RPC over a unix socket --------------------------------------------------------------------


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def rpc_raw(sock, method, *params):
    """One call on a new connection; the response body, not yet decoded."""
    body = xmlrpc.client.dumps(params, method)
    c = UnixHTTP(sock)
    try:
        c.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        r = c.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{method}: HTTP {r.status}")
    finally:
        c.close()
    return data


def decode(data):
    return xmlrpc.client.loads(data)[0][0]


def rpc(sock, method, *params):
    return decode(rpc_raw(sock, method, *params))


def all_running(sock, n):
    def check():
        try:
            infos = rpc(sock, "supervisor.getAllProcessInfo")
        except (OSError, http.client.HTTPException, xmlrpc.client.Error):
            return False
        return sum(1 for i in infos if i["state"] == RUNNING) >= n

    poll(f"{n} programs RUNNING on {sock}", check, 60, every=0.05)


def ms(t0, t1):
    return (t1 - t0) * 1000


# ---- the bench -------------------------------------------------------------------------------------


class Bench:
    def __init__(self, steward, supervisord, work):
        self.bin = {"steward": steward, "supervisord": supervisord}
        self.work = work
        self.procs = []  # every Popen started, killed by pid at the end
        self.n = 0

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                # unshare runs with --kill-child: its death takes the namespace's init, and with it
                # every process of the namespace. Our own direct children are killed the same way.
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log(f"pid {p.pid} did not die")
        self.procs = []

    def popen(self, argv):
        # Output goes nowhere: each run's main.log stays in its directory under the work dir.
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C reaches this runner only; it ends the rest by pid
        )
        self.procs.append(p)
        return p

    def stop(self, p, init, who):
        """End a namespace: TERM to a supervisor (and wait), SIGKILL to the limit's shell."""
        if who == "limit":
            p.kill()  # unshare --kill-child: the shell and its namespace go with it
            p.wait()
        elif p.poll() is None:
            os.kill(init, signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.remove(p)

    # A config: programs (INI text) under a [supervisord] with a main log and a control socket.
    def conf(self, programs):
        self.n += 1
        d = os.path.join(self.work, f"run{self.n:03d}")
        os.makedirs(d)
        sock = os.path.join(d, "sock")
        text = (
            f"[supervisord]\nnodaemon=true\nlogfile={d}/main.log\npidfile={d}/pid\nchildlogdir={d}\n"
            f"[unix_http_server]\nfile={sock}\n"
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
            + programs.format(dir=d)
        )
        path = os.path.join(d, "supervisord.conf")
        with open(path, "w") as f:
            f.write(text)
        return d, path, sock

    def start(self, who, conf, shell=None):
        """Start `who` as PID 1 of a new namespace: (unshare Popen, init pid). The limit runs `shell`,
        a script for sh or an argv."""
        if who == "steward":
            argv = [self.bin["steward"], "-c", conf]
        elif who == "supervisord":
            argv = [self.bin["supervisord"], "-n", "-c", conf]
        else:
            argv = ["sh", "-c", shell] if isinstance(shell, str) else shell
        p = self.popen(UNSHARE + argv)
        kids = poll("the namespace's init", lambda: children(p.pid), 10, every=0.001)
        return p, kids[0]

    # ---- scenarios ----

    def idle_and_restart(self, who):
        """10 idle programs: RSS, PSS, wakeups over IDLE_SECS; then restart latency of one."""
        progs = "[program:p]\ncommand=sleep 100000\nnumprocs=10\nprocess_name=%(program_name)s_%(process_num)02d\nstartsecs=0\n"
        d, conf, sock = self.conf(progs)
        shell = "i=0; while [ $i -lt 10 ]; do sleep 100000 & i=$((i+1)); done; wait"
        p, init = self.start(who, conf, shell)
        running = Counter(init, "sleep")
        poll("10 programs", lambda: running() >= 10, 30)
        if who != "limit":
            all_running(sock, 10)
        time.sleep(1)  # idle already, but not counted: the window starts clear of the start-up's last wakeups
        s0 = ctx_switches(init)
        time.sleep(IDLE_SECS)  # the idle window itself
        s1 = ctx_switches(init)
        r = {
            "rss": status_kb(init, "VmRSS"),
            "pss": pss_kb(init),
            "wake": (s1 - s0) / IDLE_SECS,
        }
        if who != "limit":
            samples = []
            for _ in range(RESTARTS):
                t0 = time.perf_counter()
                stopped = rpc_raw(sock, "supervisor.stopProcess", "p:p_05", True)
                started = rpc_raw(sock, "supervisor.startProcess", "p:p_05", True)
                samples.append(ms(t0, time.perf_counter()))
                if not (decode(stopped) is True and decode(started) is True):
                    raise RuntimeError(f"{who}: restart answered {stopped!r} {started!r}")
            info = rpc(sock, "supervisor.getProcessInfo", "p:p_05")
            if info["state"] != RUNNING:
                raise RuntimeError(f"{who}: p_05 is {info['statename']} after restart")
            r["restart"] = statistics.median(samples)
            log(f"  restart samples (ms): {' '.join(f'{x:.1f}' for x in sorted(samples))}")
        self.stop(p, init, who)
        if who == "limit":
            r["restart"] = self.restart_limit()
        return r

    def restart_limit(self):
        """What a restart costs the kernel: kill a program, reap it, spawn it again (posix_spawn returns once exec'd)."""
        argv = ["sleep", "100000"]
        pids = [os.posix_spawnp("sleep", argv, os.environ)]
        samples = []
        try:
            for _ in range(RESTARTS):
                t0 = time.perf_counter()
                os.kill(pids[-1], signal.SIGTERM)
                os.waitpid(pids[-1], 0)
                pids.append(os.posix_spawnp("sleep", argv, os.environ))
                samples.append(ms(t0, time.perf_counter()))
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
        log(f"  restart samples (ms): {' '.join(f'{x:.2f}' for x in sorted(samples))}")
        return statistics.median(samples)

    def logs(self, who, src, bs):
        """MB/s of `dd bs=BS` writing LOG_MB to stdout until every byte is in the log file."""
        total = os.path.getsize(src)
        samples = []
        for _ in range(LOG_RUNS):
            progs = (
                f"[program:w]\ncommand=dd if={src} bs={bs} status=none\nautostart=false\nstartsecs=0\n"
                "autorestart=false\nstdout_logfile={dir}/out.log\nstdout_logfile_maxbytes=0\nstderr_logfile=NONE\n"
            )
            d, conf, sock = self.conf(progs)
            out = os.path.join(d, "out.log")
            size = lambda: os.stat(out).st_size if os.path.exists(out) else 0  # noqa: E731
            if who == "limit":
                t0 = time.perf_counter()
                p = self.popen(["sh", "-c", f"dd if={src} bs={bs} status=none | cat > {out}"])
                poll("the bytes in the file", lambda: size() >= total, 120, every=0.001)
                t1 = time.perf_counter()
                p.wait()
                self.procs.remove(p)
            else:
                p, init = self.start(who, conf)
                poll(f"{who}'s control socket", lambda: self.answers(sock), 30)
                t0 = time.perf_counter()
                rpc(sock, "supervisor.startProcess", "w", False)
                poll("the bytes in the log", lambda: size() >= total, 120, every=0.001)
                t1 = time.perf_counter()
                self.stop(p, init, who)
            if size() != total:
                raise RuntimeError(f"{who}: {size()} bytes in {out}, not {total}")
            samples.append(total / 1e6 / (t1 - t0))
            os.unlink(out)
        log(f"  MB/s: {' '.join(f'{x:.0f}' for x in samples)}")
        return max(samples)

    def answers(self, sock):
        try:
            return rpc(sock, "supervisor.getState")["statecode"] == 1
        except (OSError, http.client.HTTPException, xmlrpc.client.Error):
            return False

    def spawn_and_term(self, who):
        """ms from start until 200 programs have exec'd; then ms from SIGTERM until the init is gone."""
        progs = "[program:p]\ncommand=sleep 100000\nnumprocs=200\nprocess_name=%(program_name)s_%(process_num)03d\nstartsecs=0\n"
        shell = (
            "trap 'kill -TERM -1; wait; exit 0' TERM; "
            "i=0; while [ $i -lt 200 ]; do sleep 100000 & i=$((i+1)); done; wait"
        )
        spawn, term = [], []
        for _ in range(SPAWN_RUNS):
            d, conf, sock = self.conf(progs)
            t0 = time.perf_counter()
            p, init = self.start(who, conf, shell)
            running = Counter(init, "sleep")
            poll("200 programs", lambda: running() >= 200, 60, every=0.002)
            spawn.append(ms(t0, time.perf_counter()))
            if who != "limit":
                all_running(sock, 200)
            t0 = time.perf_counter()
            os.kill(init, signal.SIGTERM)
            # A blocking wait: Popen.wait(timeout=…) polls with doubling sleeps, which rounded every
            # figure up to 16, 32 or 64 ms. The timer only ends a supervisor that never exits.
            watchdog = threading.Timer(120, p.kill)
            watchdog.start()
            p.wait()
            watchdog.cancel()
            term.append(ms(t0, time.perf_counter()))
            self.procs.remove(p)
        log(f"  spawn (ms): {' '.join(f'{x:.0f}' for x in spawn)}; SIGTERM (ms): {' '.join(f'{x:.0f}' for x in term)}")
        return {"spawn": min(spawn), "term": min(term)}

    def status(self, who):
        """ms of one getAllProcessInfo with 100 programs; the limit reads their /proc/PID/stat."""
        progs = "[program:p]\ncommand=sleep 100000\nnumprocs=100\nprocess_name=%(program_name)s_%(process_num)03d\nstartsecs=0\n"
        shell = "i=0; while [ $i -lt 100 ]; do sleep 100000 & i=$((i+1)); done; wait"
        d, conf, sock = self.conf(progs)
        p, init = self.start(who, conf, shell)
        running = Counter(init, "sleep")
        poll("100 programs", lambda: running() >= 100, 60)
        samples = []
        if who == "limit":
            for _ in range(STATUS_CALLS):
                t0 = time.perf_counter()
                states = [read(f"/proc/{c}/stat").split(") ", 1)[1][0] for c in children(init)]
                samples.append(ms(t0, time.perf_counter()))
                if len(states) != 100:
                    raise RuntimeError(f"limit: {len(states)} children, not 100")
        else:
            all_running(sock, 100)
            for _ in range(STATUS_CALLS):
                t0 = time.perf_counter()
                data = rpc_raw(sock, "supervisor.getAllProcessInfo")
                samples.append(ms(t0, time.perf_counter()))
                infos = decode(data)  # outside the figure: the client's parsing is not the server's time
                if len(infos) != 100:
                    raise RuntimeError(f"{who}: {len(infos)} processes, not 100")
        self.stop(p, init, who)
        return statistics.median(samples)

    def crashloop(self, who):
        """10 programs that exit at once, autorestart=true: the supervisor's CPU and restarts per minute.

        The limit is a shell restarting 10 `/bin/true` once a second (steward's pace: an autorestart
        comes no sooner than 1 s after the previous start), timing with bash's `read -t`, no process."""
        progs = (
            "[program:c]\ncommand=/bin/true\nnumprocs=10\nprocess_name=%(program_name)s_%(process_num)02d\n"
            "startsecs=0\nautorestart=true\n"
        )
        d, conf, sock = self.conf(progs)
        rounds = os.path.join(d, "rounds")
        fifo = os.path.join(d, "tick")
        os.mkfifo(fifo)
        shell = [
            "bash",
            "-c",
            f"exec 9<>{fifo}; while :; do for i in 0 1 2 3 4 5 6 7 8 9; do /bin/true & done; "
            f"wait; echo >> {rounds}; read -t 1 -u 9; done",
        ]
        main_log = os.path.join(d, "main.log")
        p, init = self.start(who, conf, shell)

        def restarts():
            if who == "limit":
                return 10 * read(rounds).count("\n")
            return read(main_log).count("spawned: ")

        poll("the first restarts", lambda: restarts() >= 20, 30)
        c0, n0, t0 = cpu_ticks(init), restarts(), time.monotonic()
        time.sleep(CRASH_SECS)  # the measurement window
        c1, n1, t1 = cpu_ticks(init), restarts(), time.monotonic()
        self.stop(p, init, who)
        minutes = (t1 - t0) / 60
        cpu = (c1 - c0) / HZ
        return {
            "crash_cpu": cpu / minutes,
            "crash_n": (n1 - n0) / minutes,
            "crash_per": 1000 * cpu / (n1 - n0) if n1 > n0 else None,
        }


def make_source(path, mb):
    """`mb` MB of 80-byte log lines (what a program logs), read once so it is in the page cache."""
    line_count = mb * 1000 * 1000 // 80
    with open(path, "w") as f:
        for i in range(0, line_count, 1000):
            f.write(
                "".join(
                    f"2026-01-01T00:00:00Z INFO request {j:010} GET /api/v1/items?page=3 200 {j % 997:03}ms\n"
                    for j in range(i, min(i + 1000, line_count))
                )
            )
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


ROWS = [
    # key, label, unit, format
    ("rss", "idle RSS, 10 programs", "KiB", "{:.0f}"),
    ("pss", "idle PSS, 10 programs", "KiB", "{:.0f}"),
    ("wake", "idle wakeups, 10 programs", "/s", "{:.1f}"),
    ("restart", "restart one program (median)", "ms", "{:.2f}"),
    ("log4k", "log throughput, 4 KiB writes (best)", "MB/s", "{:.0f}"),
    ("log128k", "log throughput, 128 KiB writes (best)", "MB/s", "{:.0f}"),
    ("spawn", "spawn 200 programs (best)", "ms", "{:.0f}"),
    ("term", "SIGTERM -> exit, 200 programs (best)", "ms", "{:.0f}"),
    ("status", "status, 100 programs (median)", "ms", "{:.2f}"),
    ("crash_cpu", "crash loop, 10 programs: CPU", "s/min", "{:.2f}"),
    ("crash_n", "crash loop: restarts", "/min", "{:.0f}"),
    ("crash_per", "crash loop: CPU per restart", "ms", "{:.2f}"),
]


def ratio(a, b):
    if a is None or b is None:
        return "n/a"
    if b == 0:
        return "—" if a == 0 else "∞"
    if a == 0:
        return "0×"
    r = a / b
    return f"{r:.3f}×" if r < 0.1 else f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def table(res):
    head = ["scenario", "unit", "steward", "supervisord 4.3.0", "no supervisor (limit)", "steward / supervisord", "steward / limit"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 5) + "|"]
    for key, label, unit, fmt in ROWS:
        v = [res[w].get(key) for w in WHO]
        cells = [fmt.format(x) if x is not None else "n/a" for x in v]
        lines.append(
            "| " + " | ".join([label, unit] + cells + [ratio(v[0], v[1]), ratio(v[0], v[2])]) + " |"
        )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steward", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--supervisord", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/compare needs root (unshare --pid)")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    work = tempfile.mkdtemp(prefix="steward-compare-")
    bench = Bench(a.steward, a.supervisord, work)
    res = {w: {} for w in WHO}
    started = time.time()
    load = read("/proc/loadavg").split()[:3]
    try:
        def step(what, w, f, *args):
            t = time.monotonic()
            r = f(w, *args)
            log(f"{what}: {w} ({time.monotonic() - t:.1f} s)")
            return r

        def wanted(name):
            return not ONLY or name in ONLY

        if wanted("idle"):
            for w in WHO:
                res[w].update(step("idle + restart", w, bench.idle_and_restart))
        if wanted("logs"):
            src = os.path.join(work, "source.log")
            make_source(src, LOG_MB)
            for key, bs in (("log4k", "4K"), ("log128k", "128K")):
                for w in WHO:
                    res[w][key] = step(f"logs bs={bs}", w, bench.logs, src, bs)
            os.unlink(src)
        if wanted("spawn"):
            for w in WHO:
                res[w].update(step("spawn 200 + SIGTERM", w, bench.spawn_and_term))
        if wanted("status"):
            for w in WHO:
                res[w]["status"] = step("status 100", w, bench.status)
        if wanted("crash"):
            for w in WHO:
                res[w].update(step("crash loop", w, bench.crashloop))
    except Stop as e:
        log(f"stopped by {e}")
        bench.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        return 130
    except Exception:
        bench.cleanup()
        log(f"bench/compare failed; the configs and main logs are in {work}")
        raise
    bench.cleanup()
    shutil.rmtree(work, ignore_errors=True)
    size = os.path.getsize(a.steward)
    print(table(res))
    print()
    print(
        "Lower is better except log throughput; crash-loop restarts are each supervisor's own pace "
        "(steward restarts a program no sooner than 1 s after its previous start, supervisord at once)."
    )
    print()
    print(
        f"steward: {a.build} release build, {size / 1e6:.2f} MB ({os.path.relpath(a.steward)}); "
        f"supervisord 4.3.0 on Python {python_version(a.supervisord)}. "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, {os.cpu_count()} cores, "
        f"load average {' '.join(load)} at the start, {time.time() - started:.0f} s in all"
        + (", QUICK=1 (fewer and shorter samples)" if QUICK else "")
        + "."
    )
    print(
        "Each supervisor and each limit is PID 1 of its own PID namespace; programs keep the default "
        "logging (AUTO files in childlogdir) except in the log rows. "
        f"Idle: {IDLE_SECS} s window; "
        f"wakeups are context switches of all its threads. Restart: stopProcess + startProcess (what "
        f"`ctl restart` sends), {RESTARTS} times, startsecs=0; status: getAllProcessInfo, {STATUS_CALLS} "
        "times; both from a small Python XML-RPC client over the unix socket, a new connection per call, "
        "so neither ctl's start-up is in the figure. Logs: `dd bs=…` writing "
        f"{LOG_MB} MB of 80-byte lines to stdout, until every byte is in the log file (best of {LOG_RUNS}). "
        f"Spawn: from starting the supervisor until 200 `sleep`s have exec'd; SIGTERM: until the init "
        f"has exited with all 200 stopped (best of {SPAWN_RUNS}: on a shared machine noise only adds). Crash loop: /bin/true, startsecs=0, "
        f"autorestart=true, {CRASH_SECS} s window, CPU of the supervisor itself (not its children)."
    )
    print(
        "The limit: a shell as PID 1 starting the same `sleep`s (idle, spawn; on SIGTERM it passes TERM "
        "to all and waits); kill + waitpid + posix_spawn for a restart; reading the 100 programs' "
        "/proc/PID/stat for status; `dd | cat > file` for logs; a bash loop restarting 10 `/bin/true` "
        "once a second (steward's autorestart pace) for the crash loop."
    )
    return 0


def python_version(supervisord):
    py = os.path.join(os.path.dirname(supervisord), "python3")
    try:
        return subprocess.check_output([py, "-c", "import platform; print(platform.python_version())"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
