#!/usr/bin/env bash
# Footprint beside supervisord 4.3.0 and the no-supervisor limit (a shell loop that forks the same
# `sleep`s and kills them): binary size, idle Rss/Pss and wakeups with 10 programs, spawning N=200
# programs, SIGTERM -> exit with those 200, and CPU in a crash loop. Each side runs as PID 1 of its own
# PID namespace (unshare), as in a container; bench/footprint.py says exactly what each figure is.
#
#   bench/footprint.sh          (root; N, REPS, SECS, SETTLE tune it; STEWARD=path skips the build)
#
# FINDINGS (2026-11-30, 2 cores shared with several builds: load 4-15; times are noisy, ratios less so)
# Bytes (cargo bloat --crates; size -A). Before: the dynamic glibc release was 4.7 MB stripped, the
#   static glibc one 5.6 MB. .text 3.2 MiB: steward 1002 KiB, std 766 KiB (with the backtrace
#   symbolizer, gimli/addr2line, that panic=abort keeps), regex_automata 312 + regex_syntax 153 +
#   aho_corasick 134 KiB plus Unicode tables in .rodata, all for one `log:REGEX` check, clap_builder
#   211, tokio 175, rustyline 119, hyper 100, toml 83. Beside .text: .rodata 560 KiB, .rela.dyn 250 KiB
#   (PIE relocations), .eh_frame 230 KiB, .data.rel.ro 200 KiB. Done: regex -> regex-lite, the static
#   build on musl, opt-level "s" (3.5 MB at 3, 2.56 MB at "z"). Now 2.7 MB: .text 2.0 MiB (steward
#   1.0 MiB, std 381 KiB, clap_builder 143, musl + libunwind 117, toml 70, tokio 53, rustyline 41,
#   hyper 40, regex_lite 35), .rodata 260 KiB, .eh_frame + hdr 220 KiB, .rela.dyn 90 KiB. What is
#   left to reach 2 MB is mostly steward's own code (monomorphised async state machines and serde), and
#   std's unwinder/symbolizer and .eh_frame, which only a nightly build-std with panic_immediate_abort
#   removes.
# Memory (/proc/PID/smaps_rollup): static glibc idled at 4.4 MB Rss with 10 programs: three threads
#   (the loop, and the console writers steward-stdout/-stderr), each with its own glibc malloc arena,
#   plus the touched code pages. musl (one small heap) with the smaller code: 2.8 MB.
# Spawn 200 (strace -f -c, strace -r, /proc/PID/stat): before the first fork, start-up removes the
#   old AUTO logs and creates 400 new ones (~3,300 syscalls; musl's malloc adds ~2,600 mmap/munmap).
#   Per spawn the loop makes ~35 syscalls (9 stat for the PATH lookup, 3 pipe2 + std's socketpair,
#   2 epoll_ctl, 2 main-log writes) and the child ~70 before exec (62 rt_sigaction resetting every
#   signal, close_range, dup2s, setpgid). steward's CPU for all of it is 90-120 ms, yet the wall time
#   is 1.3-2.4 s: std's Command::spawn blocks until each child has exec'd, so every spawn is a sleep
#   and a wake-up behind the machine's other runnable tasks (strace -r: median 6 ms, p90 87 ms between
#   forks). The shell loop never waits for exec and forks 200 in 0.2-0.9 s. Fixed: what one autostart
#   starts is forked from 8 threads, so the waits overlap: the 200 forks went from ~1.2 s to ~60 ms,
#   and what is left (~400 ms of 480 here) is start-up before the first fork. supervisord spends
#   1.3-3.3 s in Python start-up alone.
# SIGTERM -> exit: no timer tick anywhere (SIGCHLD wakes the loop), but the ordered stop took the 200
#   groups of equal priority one per round, as supervisord does: 0.45-1.5 s. Now the groups of one
#   priority stop together: 70-110 ms, against supervisord's 1.4-4.3 s (it varies most). What remains
#   (strace -f -c of the stop): per program a stop signal and a SIGCONT, the reap, the pump's last read
#   and closes, and the "stopped:" line: an lseek + write to the main log and, under nodaemon, a wake
#   of the console thread that echoes it to stdout; the shell loop's 30-40 ms is the kernel tearing the
#   200 processes down.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${STEWARD_SUPERVISOR_VENV:-$PWD/target/supervisor-venv}
if [ ! -x "$VENV/bin/supervisord" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check supervisor==4.3.0
fi
if [ -z "${STEWARD:-}" ]; then
  # README's static binary: musl, stripped by the release profile.
  triple="$(uname -m)-unknown-linux-musl"
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  cargo build -q --release --target "$triple" --bin steward
  STEWARD="$PWD/target/$triple/release/steward"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "binary"
printf '  %-12s %6d KiB  (%s)\n' steward "$(($(stat -c %s "$STEWARD") / 1024))" \
  "$(file -b "$STEWARD" | grep -o "static-pie linked\|statically linked\|dynamically linked"), $(file -b "$STEWARD" | grep -o 'stripped\|not stripped' | head -1)"
sup_pkg=$("$VENV/bin/python3" -c 'import supervisor, os; print(os.path.dirname(supervisor.__file__))')
py=$(readlink -f "$VENV/bin/python3")
printf '  %-12s %6d KiB  (the supervisor package; plus the interpreter %s, %d KiB, and its stdlib)\n' \
  supervisord "$(du -sk "$sup_pkg" | cut -f1)" "$py" "$(($(stat -c %s "$py") / 1024))"
python3 bench/footprint.py "$work" "$STEWARD" "$VENV/bin/supervisord"
