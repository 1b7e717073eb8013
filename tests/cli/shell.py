#!/usr/bin/env python3
"""Drive the interactive `steward ctl` shell on a pseudo-terminal, as a person would.

    shell.py BIN SOCKET HISTORY_FILE

Two sessions against the steward at SOCKET (programs `web` and `worker:worker_0/1` running):
TAB completes a command, a signal name and a process name (to the group prefix, then the rest typed), up-arrow
recalls the previous line, quitting writes the history file, and the next session reads it back.
The terminal is raw while a line is edited and as it was (`stty -g`) once the shell has gone, whether
it left by quit, Ctrl-D, Ctrl-C, SIGTERM or SIGHUP; with TERM=dumb lines are read without raw mode.
Exit 0 when all of that holds, 1 with the reason and the screen otherwise. Every wait polls for
text with a deadline; nothing sleeps to synchronise.
"""

import contextlib
import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time

DEADLINE = 10.0
PROMPT = "supervisor> "
UP = "\x1b[A"
# Terminal controls (cursor moves, line clears, bracketed paste, the bell of an ambiguous TAB) are
# dropped; what remains is the text as it reads on the screen, lines redrawn after each edit included.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\r\x07]")


class Fail(Exception):
    pass


def stty(fd):
    """The terminal's settings, as `stty -g` prints them."""
    out = subprocess.run(["stty", "-g"], stdin=fd, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def take_terminal():
    # In the child after setsid: the pty becomes its controlling terminal, as a login's would be.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Shell:
    def __init__(self, argv, term="xterm"):
        env = dict(os.environ, TERM=term)
        # We keep the slave too, to read its settings before, during and after the shell.
        self.fd, self.slave = os.openpty()
        self.cooked = stty(self.slave)
        self.proc = subprocess.Popen(
            argv,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            env=env,
            start_new_session=True,
            preexec_fn=take_terminal,
        )
        self.raw = b""

    def screen(self):
        return ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def read_some(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            return None
        if not data:
            return None
        self.raw += data
        return True

    def expect(self, pattern, after=0):
        """Wait until `pattern` (a regex) matches the screen text from offset `after`; return the end."""
        end = time.monotonic() + DEADLINE
        while True:
            m = re.search(pattern, self.screen()[after:])
            if m:
                return after + m.end()
            left = end - time.monotonic()
            if left <= 0 or self.read_some(left) is None:
                raise Fail(f"timed out waiting for {pattern!r}")

    def prompt(self, after):
        """Wait for the prompt after offset `after`; return the offset just past it."""
        return self.expect(re.escape(PROMPT), after)

    def send(self, s):
        os.write(self.fd, s.encode())

    def raw_mode(self, want):
        """Fail unless the terminal is raw now (`want`), or unless it is as it was before the shell."""
        now = stty(self.slave)
        if want and now == self.cooked:
            raise Fail("the terminal is not raw while a line is edited")
        if not want and now != self.cooked:
            raise Fail(f"terminal settings {now} are not the ones before the shell, {self.cooked}")

    def finish(self):
        """Wait for the shell to exit; its exit code (minus the signal that ended it), the terminal
        checked to be as before."""
        end = time.monotonic() + DEADLINE
        while True:
            code = self.proc.poll()
            if code is not None:
                self.raw_mode(False)
                os.close(self.slave)
                os.close(self.fd)
                return code
            if time.monotonic() > end:
                self.proc.kill()
                self.proc.wait()
                raise Fail("the shell did not exit")
            # Drain output so the child never blocks on a full pty.
            self.read_some(0.05)


    def leave(self, keys, want=0, sig=None):
        """Send `keys` (or `sig`) and expect the shell to exit with `want` (minus a signal)."""
        if keys:
            self.send(keys)
        if sig:
            self.proc.send_signal(sig)
        code = self.finish()
        if code != want:
            raise Fail(f"exit {code}, expected {want}")


@contextlib.contextmanager
def session(argv, name, term="xterm"):
    """A shell on a fresh pty; a failure inside says which session and shows the screen, and the
    shell never outlives it."""
    sh = Shell(argv, term)
    try:
        yield sh
    except Fail as e:
        raise Fail(f"{name}: {e}\n--- screen ---\n{sh.screen()}")
    finally:
        if sh.proc.poll() is None:
            sh.proc.kill()
            sh.proc.wait()


def first_session(argv, history):
    with session(argv, "first session") as sh:
        at = sh.prompt(0)
        sh.raw_mode(True)
        # A command completes from its first letters: `vers` TAB is `version `.
        sh.send("vers\t")
        sh.expect(r"version ", at)
        sh.send("\r")
        at = sh.expect(r"\n4\.3\.0\n", at)
        at = sh.prompt(at)
        # A name completes to the longest common part (`worker:`), the rest is typed.
        sh.send("pid wor\t")
        sh.expect(r"pid worker:", at)
        sh.send("worker_1\r")
        at = sh.expect(r"pid worker:worker_1\n(\d+)\n", at)
        first_pid = re.search(r"pid worker:worker_1\n(\d+)\n", sh.screen()).group(1)
        at = sh.prompt(at)
        # A unique name completes whole: `status we` TAB runs `status web `.
        sh.send("status we\t\r")
        at = sh.expect(r"\nweb +RUNNING", at)
        at = sh.prompt(at)
        # Up-arrow twice recalls `pid worker:worker_1`; Enter runs it again.
        sh.send(UP + UP)
        sh.expect(r"pid worker:worker_1", at)
        sh.send("\r")
        at = sh.expect(r"\n" + first_pid + r"\n", at)
        at = sh.prompt(at)
        # After `signal`, signal names complete (as typed: `te` gives `term`); Ctrl-U drops the line.
        sh.send("signal TE\t")
        sh.expect(r"signal TERM ", at)
        sh.send("\x15signal us\t")
        sh.expect(r"signal usr", at)
        # and after the signal, process names.
        sh.send("2 we\t")
        sh.expect(r"signal usr2 web ", at)
        sh.leave("\x15quit\r")
    try:
        with open(history) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise Fail(f"no history file after quit: {e}")
    want = ["version", "pid worker:worker_1", "status web", "pid worker:worker_1", "quit"]
    if lines[-len(want):] != want:
        raise Fail(f"history file holds {lines!r}, expected it to end with {want!r}")


def second_session(argv):
    with session(argv, "second session") as sh:
        at = sh.prompt(0)
        # The last session's lines come back: up-arrow three times passes quit and the second
        # `pid worker:worker_1` to `status web`.
        sh.send(UP + UP + UP)
        sh.expect(r"status web", at)
        sh.send("\r")
        at = sh.expect(r"\nweb +RUNNING", at)
        sh.prompt(at)
        sh.leave("\x04")  # Ctrl-D on an empty line ends the shell, as in supervisorctl


def ended_mid_line(argv):
    """Ctrl-C leaves the shell, as in supervisorctl; a signal ends it as the signal does."""
    for how, keys, sig in [
        ("Ctrl-C", "\x03", None),
        ("SIGTERM", None, signal.SIGTERM),
        ("SIGHUP", None, signal.SIGHUP),
    ]:
        with session(argv, f"session ended by {how}") as sh:
            at = sh.prompt(0)
            sh.send("stat")
            sh.expect("stat", at)
            sh.raw_mode(True)
            sh.leave(keys, -sig if sig else 0, sig)


def dumb_session(argv):
    """TERM=dumb: no raw mode, the line as the terminal gives it."""
    with session(argv, "TERM=dumb session", "dumb") as sh:
        at = sh.prompt(0)
        sh.raw_mode(False)
        sh.send("version\r")
        at = sh.expect(r"\n4\.3\.0\n", at)
        sh.prompt(at)
        sh.leave("quit\r")


def main():
    binary, socket, history = sys.argv[1:4]
    argv = [binary, "ctl", "-s", f"unix://{socket}", "-r", history]
    try:
        first_session(argv, history)
        second_session(argv)
        ended_mid_line(argv)
        dumb_session(argv)
    except Fail as e:
        print(e)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
