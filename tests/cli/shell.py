#!/usr/bin/env python3
"""Drive the interactive `steward ctl` shell on a pseudo-terminal, as a person would.

    shell.py BIN SOCKET HISTORY_FILE

Two sessions against the steward at SOCKET (programs `web` and `worker:worker_0/1` running):
TAB completes a command, a signal name and a process name (to the group prefix, then the rest typed), up-arrow
recalls the previous line, quitting writes the history file, and the next session reads it back.
Exit 0 when all of that holds, 1 with the reason and the screen otherwise. Every wait polls for
text with a deadline; nothing sleeps to synchronise.
"""

import os
import pty
import re
import select
import sys
import time

DEADLINE = 10.0
PROMPT = "supervisor> "
UP = "\x1b[A"
# Terminal controls (cursor moves, line clears, bracketed paste, the bell of an ambiguous TAB) are
# dropped; what remains is the text as it reads on the screen, lines redrawn after each edit included.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\r\x07]")


class Fail(Exception):
    pass


class Shell:
    def __init__(self, argv):
        env = dict(os.environ, TERM="xterm")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
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

    def finish(self):
        end = time.monotonic() + DEADLINE
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > end:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
                raise Fail("the shell did not exit after quit")
            # Drain output so the child never blocks on a full pty.
            self.read_some(0.05)


def first_session(argv, history):
    sh = Shell(argv)
    try:
        at = sh.prompt(0)
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
        sh.send("\x15")
        sh.send("quit\r")
        code = sh.finish()
        if code != 0:
            raise Fail(f"quit exited {code}")
    except Fail as e:
        raise Fail(f"first session: {e}\n--- screen ---\n{sh.screen()}")
    try:
        with open(history) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise Fail(f"no history file after quit: {e}")
    want = ["version", "pid worker:worker_1", "status web", "pid worker:worker_1", "quit"]
    if lines[-len(want):] != want:
        raise Fail(f"history file holds {lines!r}, expected it to end with {want!r}")


def second_session(argv):
    sh = Shell(argv)
    try:
        at = sh.prompt(0)
        # The last session's lines come back: up-arrow three times passes quit and the second
        # `pid worker:worker_1` to `status web`.
        sh.send(UP + UP + UP)
        sh.expect(r"status web", at)
        sh.send("\r")
        at = sh.expect(r"\nweb +RUNNING", at)
        sh.prompt(at)
        sh.send("\x04")  # Ctrl-D on an empty line ends the shell, as in supervisorctl
        code = sh.finish()
        if code != 0:
            raise Fail(f"Ctrl-D exited {code}")
    except Fail as e:
        raise Fail(f"second session: {e}\n--- screen ---\n{sh.screen()}")


def main():
    binary, socket, history = sys.argv[1:4]
    argv = [binary, "ctl", "-s", f"unix://{socket}", "-r", history]
    try:
        first_session(argv, history)
        second_session(argv)
    except Fail as e:
        print(e)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
