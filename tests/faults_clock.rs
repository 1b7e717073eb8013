//! The wall clock stepped an hour forward and back under a running steward (PID 1): its timers
//! (startsecs, the back-off between retries) follow CLOCK_MONOTONIC, so neither step changes them.
//!
//! Stepping the machine's clock would disturb everything else on it, and a time namespace offsets
//! only the monotonic clocks. So steward alone gets a stepped wall clock: libfaketime (Debian's
//! libfaketime, installed by scripts/test.sh) is preloaded into it with `FAKETIME_DONT_FAKE_MONOTONIC`,
//! and the offset is read from a file the test rewrites. The log's timestamps show the steps took
//! effect; the process states show the timers did not move.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::http::call;
use common::*;
use steward::control::xmlrpc::Value;

const T: Duration = Duration::from_secs(15);

fn libfaketime() -> String {
    let multiarch = std::process::Command::new("gcc")
        .arg("-print-multiarch")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    for dir in [
        format!("/usr/lib/{multiarch}/faketime"),
        "/usr/lib/faketime".into(),
    ] {
        let p = format!("{dir}/libfaketimeMT.so.1");
        if Path::new(&p).exists() {
            return p;
        }
    }
    missing("libfaketime (Debian package libfaketime)")
}

fn state_of(sock: &Path, name: &str) -> String {
    let v = call(sock, "supervisor.getProcessInfo", &[Value::str(name)]).unwrap();
    v.get("statename")
        .and_then(Value::as_str)
        .unwrap()
        .to_string()
}

fn wait_state(sock: &Path, name: &str, state: &str) {
    wait_for(T, &format!("{name} {state}"), || {
        (sock.exists() && state_of(sock, name) == state).then_some(())
    });
}

/// Milliseconds between the first lines with `a` and `b` in the log, modulo a day.
fn apart(log: &str, a: &str, b: &str) -> i64 {
    let (ta, tb) = (times_of(log, a)[0], times_of(log, b)[0]);
    (tb - ta).rem_euclid(86_400_000)
}

#[test]
fn stepping_the_wall_clock_an_hour_either_way_moves_no_timer() {
    let lib = libfaketime();
    let offset = tempdir();
    let offset_file = offset.path().join("offset");
    std::fs::write(&offset_file, "+0\n").unwrap();
    // The only test in this binary: the environment is ours to set before steward inherits it.
    std::env::set_var("LD_PRELOAD", &lib);
    std::env::set_var("FAKETIME_TIMESTAMP_FILE", &offset_file);
    std::env::set_var("FAKETIME_NO_CACHE", "1");
    std::env::set_var("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let (p, dir) = Pid1::with_conf(
        "[unix_http_server]\nfile={dir}/sock\n\n\
         [program:bystander]\ncommand=/bin/sleep 1000\nstartsecs=0\n\n\
         [program:slowstart]\ncommand=/bin/sleep 1000\nstartsecs=2\nautostart=false\n\n\
         [program:crash]\ncommand=/bin/false\nstartsecs=1\nstartretries=2\nautostart=false\n",
    );
    for k in [
        "LD_PRELOAD",
        "FAKETIME_TIMESTAMP_FILE",
        "FAKETIME_NO_CACHE",
        "FAKETIME_DONT_FAKE_MONOTONIC",
    ] {
        std::env::remove_var(k);
    }
    let sock = dir.path().join("sock");
    wait_state(&sock, "bystander", "RUNNING");
    let by = call(
        &sock,
        "supervisor.getProcessInfo",
        &[Value::str("bystander")],
    )
    .unwrap();

    // An hour forward just before a start: startsecs still takes its 2 s.
    std::fs::write(&offset_file, "+3600\n").unwrap();
    let t0 = Instant::now();
    call(
        &sock,
        "supervisor.startProcess",
        &[Value::str("slowstart"), Value::Bool(false)],
    )
    .unwrap();
    assert_eq!(state_of(&sock, "slowstart"), "STARTING");
    wait_state(&sock, "slowstart", "RUNNING");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "RUNNING after {took:?}, not startsecs=2"
    );
    let log = p.stdout();
    let fwd = apart(&log, "spawned: 'bystander'", "spawned: 'slowstart'");
    assert!(
        (3_600_000..3_630_000).contains(&fwd),
        "the log did not see the step: {fwd} ms\n{log}"
    );

    // An hour back (two from the last reading): the back-off (1 s, then 2 s) is not an hour longer.
    std::fs::write(&offset_file, "-3600\n").unwrap();
    let t0 = Instant::now();
    // It may already answer with the spawn's fault; the state is what counts.
    let _ = call(
        &sock,
        "supervisor.startProcess",
        &[Value::str("crash"), Value::Bool(false)],
    );
    wait_state(&sock, "crash", "FATAL");
    let took = t0.elapsed();
    assert!(
        (Duration::from_millis(2900)..Duration::from_secs(10)).contains(&took),
        "{took:?}"
    );
    let log = p.stdout();
    let back = apart(&log, "spawned: 'slowstart'", "spawned: 'crash'");
    assert!(
        (79_200_000..79_230_000).contains(&back),
        "the log did not go back: {back} ms"
    );

    std::fs::write(&offset_file, "+0\n").unwrap();
    let out = run(&[
        "ctl",
        "-s",
        &format!("unix://{}", sock.display()),
        "status",
        "bystander",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("RUNNING"),
        "{out:?}"
    );
    assert_eq!(
        call(
            &sock,
            "supervisor.getProcessInfo",
            &[Value::str("bystander")]
        )
        .unwrap()
        .get("pid"),
        by.get("pid")
    );
    let mut p = p;
    assert_eq!(
        call(&sock, "supervisor.shutdown", &[]),
        Ok(Value::Bool(true))
    );
    assert_eq!(p.wait_exit(T), Some(0));
}
