//! Single-command mode (`steward [--] CMD ARGS…`) as PID 1: exit status, signal forwarding, reaping.

mod common;

use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

#[test]
fn exit_code_is_the_programs() {
    let mut p = Pid1::start(&["--", "sh", "-c", "exit 3"]);
    assert_eq!(p.wait_exit(T), Some(3));
    let mut p = Pid1::start(&["true"]);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn term_is_forwarded_and_exit_is_128_plus_signal() {
    let mut p = Pid1::start(&["--", "sleep", "100"]);
    let init = p.init_pid();
    wait_for(T, "sleep to run", || {
        children(init)
            .into_iter()
            .find(|&c| comm(c).as_deref() == Some("sleep"))
    });
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(143));
}

#[test]
fn other_signals_are_forwarded_too() {
    // The program reports each signal it gets, then exits on TERM with its own code.
    let script = "trap 'echo got USR1' USR1; trap 'echo got HUP' HUP; trap 'exit 7' TERM; \
                  echo ready; while :; do sleep 0.05; done";
    let mut p = Pid1::start(&["--", "sh", "-c", script]);
    p.wait_stdout("ready", T);
    p.signal(libc::SIGUSR1);
    p.wait_stdout("got USR1", T);
    p.signal(libc::SIGHUP);
    p.wait_stdout("got HUP", T);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(7));
}

#[test]
fn missing_command_exits_127() {
    let mut p = Pid1::start(&["--", "/nonexistent/cmd"]);
    assert_eq!(p.wait_exit(T), Some(127));
    assert!(
        p.stderr().contains("can't find command '/nonexistent/cmd'"),
        "{}",
        p.stderr()
    );
}

#[test]
fn orphans_are_reaped() {
    let script =
        "i=0; while [ $i -lt 200 ]; do (true &); i=$((i+1)); done; echo spawned; exec sleep 100";
    let mut p = Pid1::start(&["--", "sh", "-c", script]);
    p.wait_stdout("spawned", T);
    wait_for(T, "no zombies in the namespace", || {
        p.zombies().is_empty().then_some(())
    });
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(143));
}
