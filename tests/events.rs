//! Event listeners with steward as PID 1: the corpus's quit-on-failure listeners (shell and Python),
//! listeners that break the protocol, a burst far beyond a pool's buffer, ticks, and supervisor_stdout.
//! The comparison with supervisord itself is in `events_parity.rs`.

mod common;

use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

/// As corpus 011 (tiangolo/uwsgi-nginx) and 017 (baserow): a shell listener on
/// STOPPED/EXITED/FATAL that sends SIGQUIT to its parent, which is steward as PID 1.
const STOP_SUPERVISOR_SH: &str = "#!/bin/bash\n\
printf \"READY\\n\";\n\
while read line; do\n\
  echo \"Processing Event: $line\" >&2;\n\
  kill -SIGQUIT $PPID\n\
done < /dev/stdin\n";

fn executable(dir: &Path, name: &str, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = write(dir, name, text);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

/// steward's exit status, within `T`; the log is in the failure message otherwise.
fn exit_code(p: &mut Pid1) -> Option<i32> {
    let t0 = Instant::now();
    loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            return s.code();
        }
        assert!(
            t0.elapsed() < T,
            "steward did not exit; its log:\n{}",
            p.stdout()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn python() -> String {
    match std::env::var("STEWARD_SUPERVISOR_VENV") {
        Ok(v) => format!("{v}/bin/python3"),
        Err(_) => "/usr/bin/env python3".into(),
    }
}

#[test]
fn shell_quit_on_failure_listener_ends_steward_when_the_app_exits() {
    let dir = tempdir();
    let script = executable(dir.path(), "stop-supervisor.sh", STOP_SUPERVISOR_SH);
    let (mut p, _dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[program:app]\ncommand=sh -c 'touch {{dir}}/app.up; while [ ! -e {{dir}}/crash ]; do sleep 0.05; done; exit 3'\n\
             startsecs=0\nautorestart=false\n\n\
             [program:web]\ncommand=sleep 1000\nstartsecs=0\n\n\
             [eventlistener:quit_on_failure]\nevents=PROCESS_STATE_STOPPED,PROCESS_STATE_EXITED,PROCESS_STATE_FATAL\n\
             command={script}\nstderr_logfile=/dev/stdout\nstderr_logfile_maxbytes=0\n"
        ),
    );
    let d = _dir.path();
    p.wait_stdout("success: quit_on_failure entered RUNNING state", T);
    p.wait_stdout("success: web entered RUNNING state", T);
    wait_for(T, "app to start", || {
        d.join("app.up").exists().then_some(())
    });
    let pids = p.namespace_pids();
    assert!(pids.len() >= 3, "{pids:?}");
    std::fs::write(d.join("crash"), "").unwrap();
    assert_eq!(exit_code(&mut p), Some(0));
    let log = p.stdout();
    assert!(
        pos(&log, "exited: app (exit status 3; not expected)")
            < pos(&log, "received SIGQUIT indicating exit request"),
        "{log}"
    );
    assert!(
        log.contains("quit_on_failure | Processing Event: ver:3.0 server:supervisor serial:"),
        "{log}"
    );
    assert!(log.contains("eventname:PROCESS_STATE_EXITED len:"), "{log}");
    for pid in pids {
        assert_eq!(proc_state(pid), None, "pid {pid} outlived steward");
    }
}

/// A Python listener in the style of the corpus's `docker_kill.py`: on FATAL, answer OK and SIGTERM
/// the parent. It also writes down the event it got, so the payload is checked.
#[test]
fn python_fatal_listener_ends_steward_and_sees_the_payload() {
    let dir = tempdir();
    let d = dir.path().display().to_string();
    let script = executable(
        dir.path(),
        "kill_on_fatal.py",
        &r#"#!PYTHON
import os, signal, sys
def main():
    while True:
        sys.stdout.write('READY\n'); sys.stdout.flush()
        line = sys.stdin.readline()
        headers = dict(x.split(':', 1) for x in line.split())
        payload = sys.stdin.read(int(headers['len']))
        with open('DIR/seen', 'a') as f:
            f.write(headers['eventname'] + ' ' + payload + '\n')
        sys.stdout.write('RESULT 2\nOK'); sys.stdout.flush()
        os.kill(os.getppid(), signal.SIGTERM)
main()
"#
        .replace("PYTHON", &python())
        .replace("DIR", &d),
    );
    let (mut p, _dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[program:flaky]\ncommand=sh -c 'exit 1'\nstartsecs=1\nstartretries=1\n\n\
             [eventlistener:fatalexit]\nevents=PROCESS_STATE_FATAL\ncommand={script}\nstartsecs=0\n"
        ),
    );
    assert_eq!(exit_code(&mut p), Some(0));
    let log = p.stdout();
    assert!(log.contains("gave up: flaky entered FATAL state"), "{log}");
    assert!(
        log.contains("received SIGTERM indicating exit request"),
        "{log}"
    );
    let seen = std::fs::read_to_string(_dir.path().join("seen")).unwrap();
    assert_eq!(
        seen,
        "PROCESS_STATE_FATAL processname:flaky groupname:flaky from_state:BACKOFF\n"
    );
}

/// The one-line listener of corpus 060 (upstream's issue-733 fixture), unchanged.
#[test]
fn corpus_060_one_line_listener() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:missing]\ncommand=/nonexistent/thing\nstartretries=0\n\n\
         [eventlistener:fatalexit]\nevents=PROCESS_STATE_FATAL\n\
         command=sh -c 'while true; do printf \"READY\\n\"; read line; kill -15 $PPID; printf \"RESULT 2\\n\"; printf \"OK\"; done'\n\
         startsecs=0\nstartretries=0\n",
    );
    assert_eq!(exit_code(&mut p), Some(0));
    let log = p.stdout();
    assert!(
        log.contains("received SIGTERM indicating exit request"),
        "{log}"
    );
}

/// One listener that never answers, one that writes garbage, one that dies holding an event (and
/// gets it again when it comes back): the main log says so, and the rest keeps being supervised.
#[test]
fn misbehaving_listeners() {
    let dir = tempdir();
    let d = dir.path().display().to_string();
    // Dies on its first event; its second life records what it is given.
    let dier = executable(
        dir.path(),
        "dier.sh",
        &format!(
            "#!/bin/bash\nprintf 'READY\\n'\nread -r header\n\
if [ ! -e {d}/died ]; then touch {d}/died; exit 1; fi\n\
echo \"$header\" >> {d}/redelivered\n\
len=${{header##*len:}}\nread -r -N \"$len\" payload\nprintf 'RESULT 2\\nOK'\nexec sleep 1000\n"
        ),
    );
    let (mut p, _dir) = Pid1::in_dir(
        dir,
        "loglevel=info",
        &format!(
            "[program:app]\ncommand=sleep 1000\nstartsecs=0\nautostart=false\n\n\
             [eventlistener:silent]\nevents=PROCESS_STATE_RUNNING\ncommand=sh -c 'printf \"READY\\n\"; exec cat > /dev/null'\nstartsecs=0\n\n\
             [eventlistener:garbage]\nevents=PROCESS_STATE_RUNNING\ncommand=sh -c 'printf \"READY\\n\"; read line; echo this is not a result; exec sleep 1000'\nstartsecs=0\n\n\
             [eventlistener:rude]\nevents=PROCESS_STATE_RUNNING\ncommand=sh -c 'echo hello; exec sleep 1000'\nstartsecs=0\n\n\
             [eventlistener:dier]\nevents=PROCESS_STATE_RUNNING\ncommand={dier}\nstartsecs=0\n\n\
             [unix_http_server]\nfile={{dir}}/sock\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        ),
    );
    let d = _dir.path();
    let sock = d.join("sock");
    p.wait_stdout("success: dier entered RUNNING state", T);
    p.wait_stdout("rude: has entered the UNKNOWN state", T);
    let ctl = |args: &[&str]| {
        let mut a = vec!["ctl", "-s"];
        let url = format!("unix://{}", sock.display());
        a.push(&url);
        a.extend_from_slice(args);
        run(&a)
    };
    wait_for(T, "the control socket", || sock.exists().then_some(()));
    let out = ctl(&["start", "app"]);
    assert!(out.status.success(), "{out:?}");
    let log = p.wait_stdout("garbage: bad result line: 'this is not a result'", T);
    assert!(
        log.contains(
            "garbage: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol"
        ),
        "{log}"
    );
    let log = p.wait_stdout("exited: dier (exit status 1; not expected)", T);
    // The dier's event comes back to its next life, with the same serial.
    // (`>>` creates the file before the line is in it: wait for the whole line.)
    let again = wait_for(T, "the event to be redelivered", || {
        std::fs::read_to_string(d.join("redelivered"))
            .ok()
            .filter(|s| s.ends_with('\n'))
    });
    assert!(
        again.contains("eventname:PROCESS_STATE_RUNNING"),
        "{again}\n{log}"
    );
    // Everything is still supervised: stop and start work, the silent one just holds its event.
    let out = ctl(&["restart", "app"]);
    assert!(out.status.success(), "{out:?}");
    let out = ctl(&["status"]);
    let status = String::from_utf8_lossy(&out.stdout);
    for name in ["app", "silent", "garbage", "rude", "dier"] {
        assert!(
            status
                .lines()
                .any(|l| l.starts_with(name) && l.contains("RUNNING")),
            "{status}"
        );
    }
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}

/// Calls `supervisor.sendRemoteCommEvent` `n` times (data `first`, `first + 1`…) in one `system.multicall`, with the stock Python
/// client.
fn remote_events(sock: &Path, first: usize, n: usize, kind: &str) {
    let Ok(venv) = std::env::var("STEWARD_SUPERVISOR_VENV") else {
        missing("supervisor's Python client (STEWARD_SUPERVISOR_VENV)");
    };
    let code = format!(
        "import xmlrpc.client as x\nfrom supervisor.xmlrpc import SupervisorTransport\n\
t = SupervisorTransport(None, None, 'unix://{}')\n\
p = x.ServerProxy('http://127.0.0.1', transport=t)\n\
calls = [{{'methodName': 'supervisor.sendRemoteCommEvent', 'params': ['{kind}', str(i)]}} for i in range({first}, {first} + {n})]\n\
r = p.system.multicall(calls)\nassert r == [True] * {n}, r[:3]\n",
        sock.display()
    );
    let out = std::process::Command::new(format!("{venv}/bin/python3"))
        .args(["-c", &code])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// 10,000 events into a pool of buffer_size=10 whose listener is slow: the overflow is logged with
/// supervisord's line, the listener gets the newest events, and steward keeps supervising.
#[test]
fn a_burst_of_ten_thousand_events_into_a_buffer_of_ten() {
    let dir = tempdir();
    let d = dir.path().display().to_string();
    let listener = executable(
        dir.path(),
        "slow.py",
        &r#"#!PYTHON
import sys, time
while True:
    sys.stdout.write('READY\n'); sys.stdout.flush()
    line = sys.stdin.readline()
    h = dict(x.split(':', 1) for x in line.split())
    payload = sys.stdin.read(int(h['len']))
    with open('DIR/got', 'a') as f:
        f.write(payload.split('\n', 1)[1] + '\n')
    time.sleep(0.01)
    sys.stdout.write('RESULT 2\nOK'); sys.stdout.flush()
"#
        .replace("PYTHON", &python())
        .replace("DIR", &d),
    );
    let (mut p, _dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[program:app]\ncommand=sleep 1000\nstartsecs=0\nautostart=false\n\n\
             [eventlistener:slow]\nevents=REMOTE_COMMUNICATION\nbuffer_size=10\ncommand={listener}\nstartsecs=0\n\n\
             [unix_http_server]\nfile={{dir}}/sock\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        ),
    );
    let d = _dir.path().to_path_buf();
    p.wait_stdout("success: slow entered RUNNING state", T);
    let sock = d.join("sock");
    wait_for(T, "the control socket", || sock.exists().then_some(()));
    let steward = p.init_pid();
    let cpu0 = cpu_ticks(steward).unwrap();
    let t0 = Instant::now();
    for batch in 0..10 {
        remote_events(&sock, batch * 1000, 1000, "burst");
    }
    let got = wait_for(T, "the last event to arrive", || {
        let got = std::fs::read_to_string(d.join("got")).ok()?;
        got.lines().any(|l| l == "9999").then_some(got)
    });
    let cpu = cpu_ticks(steward).unwrap() - cpu0;
    eprintln!(
        "10,000 events into buffer_size=10: {:?} wall, {} ms of steward CPU",
        t0.elapsed(),
        cpu * 10
    );
    let got: Vec<u32> = got.lines().map(|l| l.parse().unwrap()).collect();
    // In order, and at most what the buffer held plus the one in flight after the burst began.
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    assert!(got.len() < 1000, "{} events got through", got.len());
    let log = p.stdout();
    let dropped = count(
        &log,
        "ERRO pool slow event buffer overflowed, discarding event ",
    );
    assert!(dropped >= 9000, "{dropped} overflow lines");
    assert_eq!(dropped + got.len(), 10_000);
    // Still supervising.
    let url = format!("unix://{}", sock.display());
    let out = run(&["ctl", "-s", &url, "start", "app"]);
    assert!(out.status.success(), "{out:?}");
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}

/// TICK_5 is delivered with the period's start; `when` is a multiple of 5.
#[test]
fn tick_5_listener() {
    let dir = tempdir();
    let d = dir.path().display().to_string();
    let (mut p, _dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[eventlistener:ticker]\nevents=TICK_5\nstartsecs=0\n\
             command=bash -c 'printf \"READY\\n\"; read header; read -r -N 15 payload; echo \"$header|$payload\" > {d}/tick.tmp; mv {d}/tick.tmp {d}/tick; printf \"RESULT 2\\nOK\"; exec sleep 1000'\n"
        ),
    );
    let tick = wait_for(Duration::from_secs(12), "a tick", || {
        std::fs::read_to_string(_dir.path().join("tick")).ok()
    });
    let (header, payload) = tick.trim_end().split_once('|').unwrap();
    assert!(header.contains("eventname:TICK_5 len:15"), "{tick}");
    let when: i64 = payload.strip_prefix("when:").unwrap().parse().unwrap();
    assert_eq!(when % 5, 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - when).abs() < 10, "{when} vs {now}");
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}

/// `result_handler=supervisor_stdout:event_handler` with the listener half of supervisor_stdout
/// (which echoes each log event back as its result): program output comes out on steward's stdout
/// as `name channel | line`.
#[test]
fn supervisor_stdout_forwarder() {
    let dir = tempdir();
    let listener = executable(
        dir.path(),
        "supervisor_stdout.py",
        &r#"#!PYTHON
import sys
while True:
    sys.stdout.write('READY\n'); sys.stdout.flush()
    line = sys.stdin.readline()
    h = dict(x.split(':', 1) for x in line.split())
    payload = sys.stdin.read(int(h['len']))
    sys.stdout.write('RESULT %d\n%s' % (len(payload), payload)); sys.stdout.flush()
"#
        .replace("PYTHON", &python()),
    );
    let (mut p, _dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[program:app]\ncommand=sh -c 'sleep 1; echo hello from app; exec sleep 1000'\nstdout_events_enabled=true\nstdout_logfile=NONE\n\n\
             [eventlistener:stdout]\ncommand={listener}\nbuffer_size=100\nevents=PROCESS_LOG\n\
             result_handler=supervisor_stdout:event_handler\nstartsecs=0\n"
        ),
    );
    let out = p.wait_stdout("app stdout | hello from app\n", T);
    assert!(!out.contains("WARN"), "{out}");
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}

fn load_listener(events: &str, extra: &str) -> steward::config::Config {
    let dir = tempdir();
    let conf = write(
        dir.path(),
        "s.conf",
        &format!("[supervisord]\n[eventlistener:l]\ncommand=cat\nevents={events}\n{extra}"),
    );
    let opts = steward::config::LoadOptions {
        env: Default::default(),
        root: "/".into(),
        host_checks: false,
        host_node_name: "node".into(),
        spawn_checks: false,
    };
    steward::config::load(&conf, &opts).unwrap()
}

/// supervisord makes a set of `events=`: a name written twice, in any case, subscribes once (an
/// abstract type beside one of its subtypes stays two subscriptions; see `events_parity.rs`).
#[test]
fn duplicate_event_names_subscribe_once() {
    let c = load_listener(
        "REMOTE_COMMUNICATION,remote_communication,PROCESS_STATE,Remote_Communication",
        "",
    );
    let steward::config::GroupKind::EventListener(l) = &c.groups[0].kind else {
        panic!("{:?}", c.groups[0].kind);
    };
    assert_eq!(l.events, ["REMOTE_COMMUNICATION", "PROCESS_STATE"]);
}

/// supervisord gives a listener's group priority -1 when the section sets none, and its processes
/// 999 (`avail` shows `-1:999`); a priority= sets both.
#[test]
fn listener_priorities_are_supervisords() {
    let c = load_listener("PROCESS_STATE", "");
    assert_eq!(
        (c.groups[0].priority, c.groups[0].processes[0].priority),
        (-1, 999)
    );
    let c = load_listener("PROCESS_STATE", "priority=5\n");
    assert_eq!(
        (c.groups[0].priority, c.groups[0].processes[0].priority),
        (5, 5)
    );
}

/// A result_handler steward cannot run is a warning naming file:line, the key, the value and what
/// steward does instead; `check` passes, and `check --strict` makes it an error.
#[test]
fn an_unknown_result_handler_is_a_load_time_warning() {
    let dir = tempdir();
    let conf = write(
        dir.path(),
        "s.conf",
        "[supervisord]\nlogfile=/dev/null\n[eventlistener:l]\ncommand=cat\nevents=PROCESS_STATE\n\
         result_handler=superlance.foo:handler\n",
    );
    let c = conf.to_str().unwrap();
    let expected = format!(
        "{c}:6: [eventlistener:l] result_handler: \"superlance.foo:handler\" is a Python import \
         steward cannot run; steward uses supervisord's default handler instead (RESULT OK accepts \
         the event, anything else rejects it and it is sent again)\n"
    );
    let out = run(&["check", "-c", c]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("warning: {expected}")
    );
    let out = run(&["check", "--strict", "-c", c]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("Error: {expected}")),
        "{out:?}"
    );
    // The handlers steward knows are not warned about.
    for known in [
        "supervisor.dispatchers:default_handler",
        "supervisor_stdout:event_handler",
    ] {
        let text = std::fs::read_to_string(&conf)
            .unwrap()
            .replace("superlance.foo:handler", known);
        let ok = write(dir.path(), "ok.conf", &text);
        let out = run(&["check", "--strict", "-c", ok.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{known}: {out:?}");
        assert!(out.stderr.is_empty(), "{known}: {out:?}");
    }
}

/// A listener answering FAIL gets the same event again (same serial and pool serial), as with
/// supervisord's default handler: the event is rejected and buffered again at the head.
#[test]
fn a_fail_result_redelivers_the_event() {
    let dir = tempdir();
    let d = dir.path().display().to_string();
    let listener = executable(
        dir.path(),
        "failer.py",
        &r#"#!PYTHON
import sys
seen = set()
while True:
    sys.stdout.write('READY\n'); sys.stdout.flush()
    line = sys.stdin.readline()
    h = dict(x.split(':', 1) for x in line.split())
    sys.stdin.read(int(h['len']))
    with open('DIR/got', 'a') as f:
        f.write(line)
    if h['serial'] in seen:
        sys.stdout.write('RESULT 2\nOK')
    else:
        seen.add(h['serial'])
        sys.stdout.write('RESULT 4\nFAIL')
    sys.stdout.flush()
"#
        .replace("PYTHON", &python())
        .replace("DIR", &d),
    );
    let (mut p, _dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[eventlistener:picky]\nevents=SUPERVISOR_STATE_CHANGE_RUNNING\ncommand={listener}\nstartsecs=0\n"
        ),
    );
    let got = wait_for(T, "the event twice", || {
        let got = std::fs::read_to_string(_dir.path().join("got")).ok()?;
        (got.lines().count() >= 2).then_some(got)
    });
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], lines[1], "{got}");
    assert!(
        lines[0].contains("eventname:SUPERVISOR_STATE_CHANGE_RUNNING"),
        "{got}"
    );
    p.wait_stdout("WARN picky: event was rejected", T);
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
    let got = std::fs::read_to_string(_dir.path().join("got")).unwrap();
    assert_eq!(got.lines().count(), 2, "accepted the second time: {got}");
}

/// A listener that answers and exits at once, one event per life: its answer was written before it
/// exited, so every event arrives once. supervisord reads a child's pipes before handling its exit;
/// a steward that took the exit first would hand the answered event out again.
#[test]
fn an_answer_written_just_before_exiting_counts() {
    let (mut p, dir) = Pid1::with_conf(
        "[program:a]\ncommand=sleep 1000\nstartsecs=0\n\
         [program:b]\ncommand=sleep 1000\nstartsecs=0\n\
         [eventlistener:oneshot]\nevents=PROCESS_GROUP_ADDED,SUPERVISOR_STATE_CHANGE_RUNNING\n\
         startsecs=0\nautorestart=true\n\
         command=sh -c 'printf \"READY\\n\"; read line; echo \"$line\" >> {dir}/got; printf \"RESULT 2\\nOK\"'\n",
    );
    // Three groups added, and steward RUNNING: four events, one per life.
    let got = wait_for(T, "four events", || {
        let got = std::fs::read_to_string(dir.path().join("got")).ok()?;
        (got.lines().count() >= 4).then_some(got)
    });
    let serials: Vec<&str> = got
        .lines()
        .take(4)
        .map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("serial:"))
                .unwrap()
        })
        .collect();
    let mut unique = serials.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "an answered event came again: {got}");
    let running = got
        .lines()
        .filter(|l| l.contains("eventname:SUPERVISOR_STATE_CHANGE_RUNNING"))
        .count();
    assert_eq!(running, 1, "{got}");
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}

/// A pool of two listeners: while one is BUSY with an event, the next goes to the other, as
/// supervisord hands each event to the first READY process of the pool.
#[test]
fn a_pool_of_two_fans_events_out() {
    let (mut p, dir) = Pid1::with_conf(
        "[eventlistener:pool]\nevents=PROCESS_GROUP_ADDED,SUPERVISOR_STATE_CHANGE_RUNNING\n\
         process_name=%(program_name)s_%(process_num)s\nnumprocs=2\nstartsecs=0\n\
         command=sh -c 'printf \"READY\\n\"; read line; echo \"$SUPERVISOR_PROCESS_NAME $line\" >> {dir}/got; exec sleep 1000'\n",
    );
    let got = wait_for(T, "one event for each listener", || {
        let got = std::fs::read_to_string(dir.path().join("got")).ok()?;
        (got.lines().count() >= 2).then_some(got)
    });
    // Each holds its event without answering: the two went to different listeners.
    let mut by: Vec<(&str, &str)> = got
        .lines()
        .map(|l| {
            let name = l.split_whitespace().next().unwrap();
            let event = l.split_whitespace().find(|w| w.starts_with("eventname:"));
            (name, event.unwrap())
        })
        .collect();
    by.sort();
    let names: Vec<&str> = by.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["pool_0", "pool_1"], "{got}");
    let mut events: Vec<&str> = by.iter().map(|(_, e)| *e).collect();
    events.sort();
    assert_eq!(
        events,
        [
            "eventname:PROCESS_GROUP_ADDED",
            "eventname:SUPERVISOR_STATE_CHANGE_RUNNING"
        ],
        "{got}"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}

/// A listener on anything but ticks costs no timer: an idle steward with one makes no wakeups
/// (context switches over a window, as `engine_reap.rs` measures without one).
#[test]
fn an_idle_steward_with_a_listener_makes_no_wakeups() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:idle]\ncommand=sleep 1000\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n\
         [eventlistener:watch]\nevents=PROCESS_STATE,PROCESS_GROUP,REMOTE_COMMUNICATION\nstartsecs=0\n\
         stderr_logfile=NONE\n\
         command=bash -c 'while :; do printf \"READY\\n\"; read -r h || exit; read -r -N \"${h##*len:}\" p; printf \"RESULT 2\\nOK\"; done'\n",
    );
    p.wait_stdout("success: idle", T);
    p.wait_stdout("success: watch", T);
    let init = p.init_pid();
    // Once the start-up events are delivered and the threads parked, nothing wakes it.
    let woke = idle_wakeups(init, T, Duration::from_millis(1500));
    assert_eq!(woke, 0, "steward woke {woke} times while idle");
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}

/// `loglevel=debug` writes supervisord's lines about listeners (checked against supervisord 4.3.0's
/// own log of the same config): the listener's stdout as a bytes repr, no line for READY -> BUSY,
/// the rebuffering of an event that finds no READY listener, and a comm event with its captured
/// output.
#[test]
fn debug_lines_about_listeners_are_supervisords() {
    let (mut p, _dir) = Pid1::with_conf_sd(
        "loglevel=debug",
        "[eventlistener:rec]\nevents=PROCESS_GROUP,PROCESS_GROUP_ADDED,PROCESS_COMMUNICATION\nstartsecs=0\n\
         command=bash -c 'while :; do printf \"READY\\n\"; read -r h || exit; read -r -N \"${h##*len:}\" p; printf \"RESULT 2\\nOK\"; done'\n\n\
         [program:talk]\ncommand=sh -c \"sleep 0.5; printf '<!--XSUPERVISOR:BEGIN-->hi there<!--XSUPERVISOR:END-->' >&2; exec sleep 100\"\n\
         stderr_capture_maxbytes=1MB\nstartsecs=0\n",
    );
    let log = p.wait_stdout("'talk' stderr emitted a comm event", T);
    let lines: Vec<&str> = log
        .lines()
        .map(|l| l.split_once(" DEBG ").map_or(l, |(_, rest)| rest))
        .collect();
    let has = |a: &str, b: &str| lines.windows(2).any(|w| w[0] == a && w[1] == b);
    // Subscribed twice to ADDED: the second copy is logged as rebuffered when accepted…
    assert!(
        lines.contains(&"rebuffering event 0 for pool rec (buf size=1, max=10)"),
        "{log}"
    );
    assert!(has("'rec' stdout output:", "b'READY\\n'"), "{log}");
    // …and the copy behind the event just sent finds the only listener BUSY.
    let sent = lines
        .iter()
        .position(|l| *l == "event 0 sent to listener rec")
        .expect(&log);
    let next = lines[sent + 1..]
        .iter()
        .find(|l| l.starts_with("rebuffering ") || l.starts_with("event "));
    assert!(
        next.is_some_and(|l| l.starts_with("rebuffering event 0 for pool rec (buf size=")),
        "{log}"
    );
    assert!(!log.contains("READY -> BUSY"), "{log}");
    assert!(has("'talk' stderr output:", "hi there"), "{log}");
    p.signal(libc::SIGTERM);
    assert_eq!(exit_code(&mut p), Some(0));
}
