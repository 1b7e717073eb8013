//! Reaping and idleness of steward as PID 1.

mod common;

use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

#[test]
fn a_thousand_orphaned_grandchildren_leave_no_zombie() {
    // Each `(true &)` subshell exits at once, orphaning its `true` to PID 1.
    let (mut p, dir) = Pid1::with_conf(
        "[program:forker]\ncommand=sh -c 'i=0; while [ $i -lt 1000 ]; do (true &); i=$((i+1)); done; \
         echo done > {dir}/done; exec sleep 1000'\nstartsecs=0\n",
    );
    wait_for_text(&dir.path().join("done"), "done", T);
    wait_for(T, "every orphan reaped", || {
        (count(&p.stdout(), "reaped unknown pid") >= 1000).then_some(())
    });
    wait_for(T, "no zombie in the namespace", || {
        p.zombies().is_empty().then_some(())
    });
    assert!(p.stdout().contains("(exit status 0)"));
    // Only the forker (now `sleep`) is left.
    assert_eq!(p.namespace_pids().len(), 1);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn an_idle_steward_makes_no_wakeups() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:idle]\ncommand=sleep 1000\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n",
    );
    p.wait_stdout("success: idle", T);
    let init = p.init_pid();
    // With nothing pending (start-up settled: output threads, tracing) steward must not wake at all.
    let woke = idle_wakeups(init, T, Duration::from_millis(1500));
    assert_eq!(woke, 0, "steward woke {woke} times while idle");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn open_log_tails_of_an_idle_program_cost_no_wakeups() {
    use std::io::{Read, Write};
    let (mut p, dir) = Pid1::with_conf(
        "[unix_http_server]\nfile={dir}/s.sock\n\
         [program:idle]\ncommand=sh -c 'echo hello; echo there >&2; exec sleep 1000'\nstartsecs=0\n\
         stdout_logfile={dir}/idle.log\nstderr_logfile=NONE\n",
    );
    p.wait_stdout("success: idle", T);
    // A file, an in-memory tail, the main log: each followed as `tail -f` follows it.
    let tails: Vec<_> = [
        ("/logtail/idle", "hello"),
        ("/logtail/idle/stderr", "there"),
        ("/mainlogtail", "success: idle"),
    ]
    .into_iter()
    .map(|(path, first)| {
        let mut s = std::os::unix::net::UnixStream::connect(dir.path().join("s.sock")).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(first) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "{path} closed: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        s
    })
    .collect();
    let init = p.init_pid();
    // Each stream waits for its log to be written, not for a timer.
    let woke = idle_wakeups(init, T, Duration::from_millis(1500));
    assert_eq!(woke, 0, "steward woke {woke} times with three tails open");
    // Open tails do not hold up the end.
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    drop(tails);
}

#[test]
fn not_pid_1_steward_is_a_subreaper_and_still_reaps_orphans() {
    let dir = tempdir();
    let path = conf(
        dir.path(),
        "[program:forker]\ncommand=sh -c 'i=0; while [ $i -lt 20 ]; do (true &); i=$((i+1)); done; \
         exec sleep 1000'\nstartsecs=0\n",
    );
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(bin())
        .args(["-c", path.to_str().unwrap()])
        .stdout(std::fs::File::create(&out).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    wait_for(T, "20 orphans reaped by steward", || {
        let log = std::fs::read_to_string(&out).unwrap_or_default();
        (count(&log, "reaped unknown pid") >= 20).then_some(())
    });
    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = wait_for(T, "steward to exit", || child.try_wait().ok().flatten());
    assert_eq!(status.code(), Some(0));
    assert!(descendants(pid).is_empty());
}
