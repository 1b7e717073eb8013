#!/usr/bin/env python3
"""Black-box cases for a single-command init: steward, or anything that takes tini's or dumb-init's flags.

    cases.py CASE FLAVOUR BIN [--pid1]

FLAVOUR is steward, tini or dumb-init (which flags to pass); BIN is the executable (steward, a steward
symlink named tini/dumb-init, or the real thing). Exit 0: the case holds; 1: it does not (why on stdout);
3: the flavour has no such option. Every wait polls a state with a deadline; nothing sleeps to synchronise.
Used by tests/single_*.rs and bench/single_compare.sh.
"""

import json
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time

DEADLINE = float(os.environ.get("CASE_DEADLINE", "10"))
NA = 3


class Fail(Exception):
    pass


def wait_for(what, f, timeout=None):
    end = time.monotonic() + (DEADLINE if timeout is None else timeout)
    delay = 0.001
    while True:
        v = f()
        if v:
            return v
        if time.monotonic() > end:
            raise Fail(f"timed out waiting for {what}")
        # Back off while polling: this is a poll interval, not synchronisation.
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()
    # state, ppid, pgrp, session, tty_nr, tpgid
    return {"state": rest[0], "ppid": int(rest[1]), "pgrp": int(rest[2]), "tpgid": int(rest[5])}


def dead(pid):
    s = proc_stat(pid)
    return s is None or s["state"] in "ZX"


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


class Flavour:
    def __init__(self, name, binary, pid1):
        self.name, self.bin, self.pid1 = name, binary, pid1

    # CASE_NO_FLAGS=1: no mode flags, so the mode comes from the defaults and the environment only.
    def group(self):
        if os.environ.get("CASE_NO_FLAGS"):
            return []
        return {"steward": ["-g"], "tini": ["-g"], "dumb-init": []}[self.name]

    def single_child(self):
        if os.environ.get("CASE_NO_FLAGS"):
            return []
        return {"steward": [], "tini": [], "dumb-init": ["-c"]}[self.name]

    def rewrite(self, pairs):
        if self.name == "tini":
            return None
        return [x for a, b in pairs for x in ("-r", f"{a}:{b}")]

    def remap(self, code):
        return None if self.name == "dumb-init" else ["-e", str(code)]

    def pdeathsig(self):
        return {"steward": ["-p", "TERM"], "tini": ["-p", "SIGTERM"], "dumb-init": None}[self.name]

    def argv(self, opts, cmd):
        pre = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] if self.pid1 else []
        return pre + [self.bin] + opts + ["--"] + cmd


class Init:
    """The init under test, started with stdin on /dev/null so it never sees the caller's terminal."""

    def __init__(self, flavour, opts, cmd, **kw):
        self.p = subprocess.Popen(flavour.argv(opts, cmd), stdin=subprocess.DEVNULL, **kw)
        self.pid1 = flavour.pid1
        # Everything seen below the init, killed at the end even if the init died and left it behind.
        self.seen = set()

    def below(self):
        found = descendants(self.p.pid)
        self.seen.update(found)
        return found

    def pid(self):
        if not self.pid1:
            return self.p.pid
        return wait_for("the init under unshare", lambda: (children(self.p.pid) or [None])[0])

    def kill(self, sig):
        os.kill(self.pid(), sig)

    def wait(self, timeout=None):
        return wait_for("the init to exit", lambda: self.p.poll() is not None and [self.p.returncode],
                        timeout)[0]

    def close(self):
        self.below()
        if self.p.poll() is None:
            self.p.kill()
        for pid in self.seen:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.p.wait()


CHILD_SIGNAL = r"""
import os, resource, signal, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
for s in range(1, 32):
    if s not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(s, signal.SIG_DFL)
if n in (signal.SIGCONT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGURG, signal.SIGWINCH):
    signal.signal(n, lambda *a: os._exit(n))
open(sys.argv[2], "w").close()
while True:
    signal.pause()
"""


def expected_status(n):
    handled = (signal.SIGCONT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGURG, signal.SIGWINCH)
    return n if n in handled else 128 + n


def send_one(init, n, ready):
    wait_for(f"the child to be ready for signal {n}", lambda: os.path.exists(ready))
    pid = init.pid()
    child = wait_for("the child", lambda: (children(pid) or [None])[0])
    init.below()
    init.kill(n)
    # An init that forwards TSTP/TTIN/TTOU and then stops itself waits for the SIGCONT a shell would
    # send. Not before the child has taken the signal: a SIGCONT discards a pending stop signal.
    if n in (signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU):
        wait_for("the init to stop or exit",
                 lambda: init.p.poll() is not None or dead(pid) or (proc_stat(pid) or {}).get("state") == "T",
                 5)
        if (proc_stat(pid) or {}).get("state") == "T":
            try:
                wait_for("the child to take the signal", lambda: dead(child), 5)
            finally:
                os.kill(pid, signal.SIGCONT)
    try:
        return init.wait(5)
    except Fail:
        return "no exit"


def case_signals(fl, d):
    """Every signal 1-31 but KILL, STOP and CHLD reaches the child; its status (or 128+N) comes back."""
    bad = []
    for n in range(1, 32):
        if n in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
            continue
        ready = os.path.join(d, f"ready{n}")
        init = Init(fl, fl.single_child(), [sys.executable, "-c", CHILD_SIGNAL, str(n), ready])
        try:
            got = send_one(init, n, ready)
            if got != expected_status(n):
                bad.append(f"{signal.Signals(n).name}: got {got}, want {expected_status(n)}")
        except Fail as e:
            bad.append(f"{signal.Signals(n).name}: {e}")
        finally:
            init.close()
    if bad:
        raise Fail("; ".join(bad))
    return "28 signals: each reached the child and its status came back"


CHILD_LOG = r"""
import os, signal, sys
log, ready = sys.argv[1], sys.argv[2]
last = getattr(signal, sys.argv[3]) if len(sys.argv) > 3 else signal.SIGUSR2
def note(n, f):
    with open(log, "a") as f:
        f.write(signal.Signals(n).name + "\n")
    if n == last:
        os._exit(0)
for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGINT):
    signal.signal(s, note)
open(ready, "w").close()
while True:
    signal.pause()
"""


def read(path):
    try:
        with open(path) as f:
            return f.read().split()
    except OSError:
        return []


def case_rewrite(fl, d):
    """-r swaps TERM and USR1, maps INT to QUIT and drops HUP."""
    opts = fl.rewrite([(15, 10), (10, 15), (2, 3), (1, 0)])
    if opts is None:
        return NA
    log, ready = os.path.join(d, "log"), os.path.join(d, "ready")
    init = Init(fl, opts, [sys.executable, "-c", CHILD_LOG, log, ready])
    try:
        wait_for("the child to be ready", lambda: os.path.exists(ready))
        init.below()
        init.kill(signal.SIGHUP)
        for sent, seen in ((signal.SIGTERM, "SIGUSR1"), (signal.SIGUSR1, "SIGTERM"), (signal.SIGINT, "SIGQUIT")):
            init.kill(sent)
            wait_for(f"{seen} in the child's log", lambda: seen in read(log))
        init.kill(signal.SIGUSR2)
        code = init.wait()
        got = read(log)
        if got != ["SIGUSR1", "SIGTERM", "SIGQUIT", "SIGUSR2"] or code != 0:
            raise Fail(f"child saw {got}, exit {code}")
        return "TERM->USR1, USR1->TERM, INT->QUIT, HUP dropped"
    finally:
        init.close()


def state(pid):
    return (proc_stat(pid) or {}).get("state")


def pending_to_process(pid, n):
    """Signal `n` sent to `pid` and not yet taken (an init that blocks signals and waits for them)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("ShdPnd:"):
                    return int(line.split()[1], 16) >> (n - 1) & 1 == 1
    except OSError:
        pass
    return False


def case_stop_rewritten(fl, d):
    """TSTP rewritten to 0 (dropped) or to TERM: the child does not stop, so neither does the init, and a
    child killed by TERM is reaped at once. dumb-init stops itself anyway (until a CONT)."""
    if fl.pid1:
        return NA
    seen = []
    for to, last in ((0, "SIGUSR2"), (signal.SIGTERM, "SIGTERM")):
        opts = fl.rewrite([(signal.SIGTSTP, to)])
        if opts is None:
            return NA
        log, ready = os.path.join(d, f"log{to}"), os.path.join(d, f"ready{to}")
        init = Init(fl, opts, [sys.executable, "-c", CHILD_LOG, log, ready, last])
        try:
            wait_for("the child to be ready", lambda: os.path.exists(ready))
            pid = init.pid()
            child = wait_for("the child", lambda: (children(pid) or [None])[0])
            init.below()
            init.kill(signal.SIGTSTP)
            if fl.name == "dumb-init":
                wait_for("dumb-init to stop itself", lambda: state(pid) == "T", 5)
                if to:
                    wait_for("the child to exit", lambda: dead(child), 5)
                elif state(child) != "S":
                    raise Fail(f"TSTP dropped, yet the child is in state {state(child)}")
                os.kill(pid, signal.SIGCONT)
            else:
                wait_for("the init to take TSTP", lambda: not pending_to_process(pid, signal.SIGTSTP))
            if not to:
                # Taken after TSTP: an init that stopped itself for TSTP would never pass it on.
                init.kill(signal.SIGUSR2)
            wait_for("the init to exit (or stop)", lambda: init.p.poll() is not None or state(pid) == "T", 5)
            if init.p.poll() is None:
                raise Fail(f"-r TSTP:{to}: the init stopped itself; its child is in state {state(child)}")
            if init.p.returncode != 0 or read(log) != [last]:
                raise Fail(f"-r TSTP:{to}: exit {init.p.returncode}, the child saw {read(log)}")
            seen.append(f"TSTP:{to} -> {read(log) or 'nothing'}")
        finally:
            init.close()
    how = "stopped itself until CONT" if fl.name == "dumb-init" else "never stopped"
    return f"{', '.join(seen)}; the init {how} and exited 0"


PIPELINE = "sleep 300 | sleep 301 & wait"


def pipeline(fl, opts):
    init = Init(fl, opts, ["sh", "-c", PIPELINE])
    pid = init.pid()
    sleeps = wait_for("the pipeline to start", lambda: (lambda s: len(s) == 2 and s)(
        [p for p in init.below() if comm(p) == "sleep"]))
    init.kill(signal.SIGTERM)
    return init, init.wait(), sleeps


def case_group(fl, d):
    """In group mode SIGTERM kills the pipeline of grandchildren too."""
    init, code, sleeps = pipeline(fl, fl.group())
    try:
        if code != 143:
            raise Fail(f"exit {code}, want 143")
        wait_for("the grandchildren to die", lambda: all(dead(p) for p in sleeps), 5)
        return "TERM went to the whole group: exit 143, both grandchildren gone"
    finally:
        init.close()
        for p in sleeps:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def case_single_child(fl, d):
    """In single-child mode only the child gets SIGTERM: the grandchildren live on."""
    if fl.pid1:
        return NA  # the kernel kills the namespace with its init
    init, code, sleeps = pipeline(fl, fl.single_child())
    try:
        if code != 143:
            raise Fail(f"exit {code}, want 143")
        alive = [p for p in sleeps if not dead(p)]
        if len(alive) != 2:
            raise Fail("a grandchild died with the child")
        return "TERM went to the child only: exit 143, both grandchildren alive"
    finally:
        init.close()
        for p in sleeps:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def case_remap(fl, d):
    """-e N turns status N (0-255, and 128+N for a signal) into 0 and leaves other statuses alone."""
    if fl.remap(0) is None:
        return NA
    bad = []
    for c in range(256):
        other = (c + 1) % 256
        for status, want in ((c, 0), (other, other if other != c else 0)):
            r = subprocess.run(fl.argv(fl.remap(c), ["sh", "-c", f"exit {status}"]), stdin=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=DEADLINE)
            if r.returncode != want:
                bad.append(f"-e {c}, exit {status}: got {r.returncode}")
    r = subprocess.run(fl.argv(fl.remap(143), ["sh", "-c", "kill $$"]), stdin=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=DEADLINE)
    if r.returncode != 0:
        bad.append(f"-e 143, killed by TERM: got {r.returncode}")
    if bad:
        raise Fail("; ".join(bad[:5]))
    return "512 runs over 0-255 and a 128+N status: all as expected"


PARENT_EXEC = r"""
import os, signal, sys
mode = sys.argv[1]
if mode == "chld":
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
else:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGALRM, signal.SIGTERM})
    with open("/proc/self/status") as f:
        sets = [l.split()[1] for l in f if l.startswith(("SigBlk", "SigIgn"))]
    print(" ".join(sets), flush=True)
os.execvp(sys.argv[2], sys.argv[2:])
"""


def case_chld_ignored(fl, d):
    """A parent that ignores SIGCHLD: the init still sees its child exit."""
    argv = fl.argv([], ["sh", "-c", "exit 3"])
    p = subprocess.Popen([sys.executable, "-c", PARENT_EXEC, "chld"] + argv, stdin=subprocess.DEVNULL)
    try:
        code = wait_for("the init to exit", lambda: p.poll() is not None and [p.returncode], 5)[0]
    except Fail:
        raise Fail("hangs: the child's exit was never seen")
    finally:
        if p.poll() is None:
            for c in descendants(p.pid):
                os.kill(c, signal.SIGKILL)
            p.kill()
        p.wait()
    if code != 3:
        raise Fail(f"exit {code}, want 3")
    return "exit 3 came back"


def case_sigsets(fl, d):
    """A parent blocks and ignores signals, then execs the init: the child sees the same sets."""
    argv = fl.argv([], ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"])
    r = subprocess.run([sys.executable, "-c", PARENT_EXEC, "sets"] + argv, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=DEADLINE)
    lines = r.stdout.split("\n")
    parent = lines[0].split()
    child = [l.split()[1] for l in lines[1:] if l.startswith("Sig")]
    if parent != child:
        raise Fail(f"parent SigBlk/SigIgn {parent}, child {child}")
    return f"child SigBlk={child[0]} SigIgn={child[1]}, as the parent had them"


PDEATH_PARENT = r"""
import subprocess, sys
subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL).wait()
"""


def case_pdeathsig(fl, d):
    """-p TERM: when the init's parent is SIGKILLed, the init gets TERM and passes it on."""
    opts = fl.pdeathsig()
    if opts is None or fl.pid1:
        return NA
    log, ready = os.path.join(d, "log"), os.path.join(d, "ready")
    child = [sys.executable, "-c", CHILD_LOG, log, ready, "SIGTERM"]
    parent = subprocess.Popen([sys.executable, "-c", PDEATH_PARENT] + fl.argv(opts, child))
    init = None
    try:
        wait_for("the child to be ready", lambda: os.path.exists(ready))
        init = wait_for("the init", lambda: (children(parent.pid) or [None])[0])
        parent.kill()
        parent.wait()
        wait_for("TERM to reach the child", lambda: read(log) == ["SIGTERM"], 5)
        wait_for("the init to exit", lambda: dead(init), 5)
        return "parent SIGKILLed: the child got TERM, the init exited"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if init:
            for p in [init] + descendants(init):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass


class Pty:
    """A shell on a new pseudo-terminal, driven by what it prints."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(argv[0], argv, env)
        self.out = b""

    def send(self, b):
        os.write(self.fd, b)

    def type_line(self, line):
        """Type a command line at the shell's prompt, once the shell is reading it."""
        wait_for("the shell to read its terminal", lambda: blocked_reading(self.pid))
        os.write(self.fd, line.encode() + b"\n")

    def expect(self, pattern, timeout=None, after=0):
        rx = re.compile(pattern.encode())
        end = time.monotonic() + (DEADLINE if timeout is None else timeout)
        while True:
            m = rx.search(self.out, after)
            if m:
                return m.end()
            left = end - time.monotonic()
            if left <= 0:
                raise Fail(f"timed out waiting for {pattern!r}; the terminal shows {self.out[-300:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise Fail(f"terminal closed waiting for {pattern!r}; it showed {self.out[-300:]!r}")
                self.out += chunk

    def close(self):
        for p in [self.pid] + descendants(self.pid):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def blocked_reading(pid):
    """`pid` sleeps waiting to read fd 0. Input typed earlier can be lost while a shell switches its terminal
    modes, so the cases wait for this before they type."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    # read(0, …), or readline's pselect6 on fd 0 alone (nfds 1).
    waiting = fields[:2] in (["0", "0x0"], ["270", "0x1"])
    return waiting and (proc_stat(pid) or {}).get("state") == "S"


def reading(shell):
    """A `cat` under the shell is blocked reading its terminal."""
    return any(comm(p) == "cat" and blocked_reading(p) for p in descendants(shell))


def shell_env():
    env = dict(os.environ)
    env.update(PS1="PROMPT$ ", TERM="dumb", HISTFILE="/dev/null", PROMPT_COMMAND="")
    return env


def cmdline(fl, opts, cmd):
    return " ".join(shlex.quote(a) for a in fl.argv(opts, cmd))


def suspend_and_resume(sh, at, fg_shows=None):
    """With a `cat` just started on the terminal of the interactive shell `sh`: a line echoes, Ctrl-Z
    stops everything under the shell and gives the prompt back, `fg` (echoing the job `fg_shows`, when
    given) resumes it and a second line echoes. Returns the offset after that echo."""
    # Typed before the shell leaves readline's raw mode, input would be lost: wait for cat's read.
    wait_for("cat to read its terminal", lambda: reading(sh.pid))
    sh.send(b"one\n")
    at = sh.expect(r"one\r\none\r\n", after=at)
    sh.send(b"\x1a")
    try:
        at = sh.expect(r"Stopped.*\r\n(.*\r\n)?PROMPT\$ ", 3, after=at)
    except Fail:
        raise Fail("Ctrl-Z did not give the prompt back")
    # The shell reports the job stopped when the processes it knows have stopped; what they
    # started may still be on its way (and a SIGCONT sent before its stop would be lost).
    try:
        wait_for("everything under the shell to stop", lambda: all(
            (proc_stat(p) or {}).get("state") in ("T", None) for p in descendants(sh.pid)), 3)
    except Fail:
        raise Fail("Ctrl-Z did not stop everything: " + str(
            [(comm(p), (proc_stat(p) or {}).get("state")) for p in descendants(sh.pid)]))
    sh.type_line("fg")
    if fg_shows is not None:
        at = sh.expect(r"fg\r\n.*" + re.escape(fg_shows) + r"\r\n", after=at)
    try:
        wait_for("cat to read again", lambda: reading(sh.pid), 3)
    except Fail:
        raise Fail("fg did not resume the program")
    sh.send(b"two\n")
    try:
        return sh.expect(r"two\r\ntwo\r\n", 3, after=at)
    except Fail:
        raise Fail("fg did not resume the program")


def case_ctrl_z(fl, d):
    """Under `bash -i`: Ctrl-Z stops the job and gives the prompt back; fg resumes it."""
    if fl.pid1:
        return NA
    sh = Pty(["bash", "--norc", "--noprofile", "-i"], shell_env())
    try:
        at = sh.expect(r"PROMPT\$ ")
        sh.type_line(cmdline(fl, [], ["cat"]))
        at = suspend_and_resume(sh, at, fg_shows="cat")
        sh.send(b"\x04")
        at = sh.expect(r"PROMPT\$ ", after=at)
        sh.type_line("echo status=$?")
        sh.expect(r"status=0\r\n", after=at)
        return "Ctrl-Z gave the prompt back; fg resumed cat; ^D ended it with status 0"
    finally:
        sh.close()


def case_ctrl_z_nested(fl, d):
    """`bash -c 'init -- cat; echo done'` under `bash -i`: Ctrl-Z stops the whole job; fg resumes it."""
    if fl.pid1:
        return NA
    sh = Pty(["bash", "--norc", "--noprofile", "-i"], shell_env())
    try:
        at = sh.expect(r"PROMPT\$ ")
        inner = cmdline(fl, [], ["cat"]) + "; echo done=$?"
        sh.type_line("bash -c " + shlex.quote(inner))
        at = suspend_and_resume(sh, at)
        sh.send(b"\x04")
        sh.expect(r"done=0\r\n", after=at)
        return "Ctrl-Z stopped the whole job; fg resumed cat; the script went on"
    finally:
        sh.close()


def case_background(fl, d):
    """`init -- x &` under `bash -i` leaves the terminal to the shell."""
    if fl.pid1:
        return NA
    sh = Pty(["bash", "--norc", "--noprofile", "-i"], shell_env())
    try:
        at = sh.expect(r"PROMPT\$ ")
        marker = os.path.join(d, "started")
        sh.type_line(cmdline(fl, [], ["sh", "-c", f"touch {marker}; exec sleep 300"]) + " &")
        at = sh.expect(r"PROMPT\$ ", after=at)
        wait_for("the background job's child", lambda: os.path.exists(marker))
        wait_for("sleep to run", lambda: any(comm(p) == "sleep" for p in descendants(sh.pid)))
        st = proc_stat(sh.pid)
        if st["tpgid"] != st["pgrp"]:
            raise Fail(f"the terminal's foreground group is {st['tpgid']}, not the shell's {st['pgrp']}")
        sh.type_line("echo alive$((20+22))")
        try:
            sh.expect(r"alive42\r\n", 3, after=at)
        except Fail:
            raise Fail("the shell cannot use its terminal")
        return "the shell kept the terminal and answers"
    finally:
        sh.close()


def case_give_back(fl, d):
    """`bash -c 'init -- true; read x'`: the terminal comes back when the child exits."""
    if fl.pid1:
        return NA
    script = cmdline(fl, [], ["true"]) + "; read x; echo got=$x"
    sh = Pty(["bash", "-c", script], shell_env())
    try:
        sh.send(b"hi\n")
        try:
            sh.expect(r"got=hi\r\n", 3)
        except Fail:
            raise Fail("the shell could not read its terminal after the init exited")
        return "the shell read from its terminal afterwards"
    finally:
        sh.close()


CASES = {
    "signals": case_signals,
    "rewrite": case_rewrite,
    "stop-rewritten": case_stop_rewritten,
    "group": case_group,
    "single-child": case_single_child,
    "remap": case_remap,
    "chld-ignored": case_chld_ignored,
    "sigsets": case_sigsets,
    "pdeathsig": case_pdeathsig,
    "ctrl-z": case_ctrl_z,
    "ctrl-z-nested": case_ctrl_z_nested,
    "background": case_background,
    "give-back": case_give_back,
}


def main():
    args = sys.argv[1:]
    pid1 = "--pid1" in args
    args = [a for a in args if a != "--pid1"]
    if len(args) != 3 or args[0] not in CASES:
        print(__doc__ + "\ncases: " + " ".join(CASES), file=sys.stderr)
        return 2
    case, flavour, binary = args
    fl = Flavour(flavour, binary, pid1)
    with tempfile.TemporaryDirectory() as d:
        try:
            r = CASES[case](fl, d)
        except Fail as e:
            print(json.dumps({"case": case, "ok": False, "why": str(e)}))
            return 1
    if r == NA:
        print(json.dumps({"case": case, "ok": None, "why": "no such option"}))
        return NA
    print(json.dumps({"case": case, "ok": True, "why": r}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
