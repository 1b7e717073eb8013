//! The same recording listener, config and script of actions under the real supervisord 4.3.0 and
//! under steward (as PID 1): the sequences of (event name, pool serial, payload) must be identical
//! once pids are normalised. The script makes every event type appear but PROCESS_STATE_UNKNOWN
//! (supervisord as root cannot produce it: it needs a kill that fails; its payload is a unit test in
//! `engine::events`), TICK_60 and TICK_3600: every PROCESS_STATE_* the others can reach,
//! PROCESS_LOG_STDOUT/STDERR and PROCESS_COMMUNICATION_STDOUT/STDERR (with output that is not ASCII
//! and output that is not UTF-8), REMOTE_COMMUNICATION, SUPERVISOR_STATE_CHANGE_*,
//! PROCESS_GROUP_ADDED/REMOVED and TICK_5 (`when:` normalised). The listener is subscribed twice to
//! some events (EVENT beside a subtype, a name written twice), so it gets those twice, with one pool
//! serial. Midway, `avail`, `status`, getAllConfigInfo and getAllProcessInfo (times, pids and log
//! file names masked) must be the same too.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

/// Records `[name, pool serial, payload]`; a tick's serial is `null` and the others' do not count
/// the ticks before them (their number depends on timing). `len` counts characters: stdin is read
/// as UTF-8 text with no newline translation.
const RECORDER: &str = r#"import io, json, sys
out = open(sys.argv[1], 'a')
inp = io.TextIOWrapper(sys.stdin.buffer, encoding='utf-8', newline='')
ticks = 0
while True:
    sys.stdout.write('READY\n'); sys.stdout.flush()
    line = inp.readline()
    if not line:
        break
    h = dict(x.split(':', 1) for x in line.split())
    payload = inp.read(int(h['len']))
    serial = None
    if h['eventname'].startswith('TICK'):
        ticks += 1
    else:
        serial = int(h['poolserial']) - ticks
    out.write(json.dumps([h['eventname'], serial, payload]) + '\n'); out.flush()
    sys.stdout.write('RESULT 2\nOK'); sys.stdout.flush()
"#;

/// getAllConfigInfo and getAllProcessInfo, with what differs between two runs masked.
const INFO: &str = r#"import json, re, sys, xmlrpc.client as x
from supervisor.xmlrpc import SupervisorTransport
d = sys.argv[1]
s = x.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(None, None, 'unix://%s/sock' % d))
def mask(v):
    if isinstance(v, str):
        v = re.sub(r'---supervisor-[^.]*[.]log', '---supervisor-X.log', v.replace(d, 'DIR'))
    return v
out = [{k: mask(v) for k, v in c.items()} for c in s.supervisor.getAllConfigInfo()]
for p in s.supervisor.getAllProcessInfo():
    p = {k: mask(v) for k, v in p.items()}
    for k in ('start', 'stop', 'now', 'pid'):
        p[k] = p[k] and 'T'
    p['description'] = re.sub(r'[0-9]+', 'N', p['description'])
    out.append(p)
print(json.dumps(out, indent=1, sort_keys=True))
"#;

// supervisord reports RUNNING (startsecs=0) only on its next loop turn, up to 1 s later; the output
// waits for that, and each piece waits for the one before to be read. With capture mode on,
// supervisord holds output no longer than a token until more comes, so the lines that must be events
// of their own are longer than that; the last, shorter one is never an event. `\\303\\251` is é, `\\342\\202\\254`
// €; `\\377` is not UTF-8 (supervisord's payload is then `Undecodable: b'...'`).
const TALKER: &str = "sleep 1.6; printf '<!--XSUPERVISOR:BEGIN-->captured<!--XSUPERVISOR:END-->\\n'; \
sleep 0.4; printf 'a plain line long enough to be logged\\n'; sleep 0.4; printf 'to stderr\\n' >&2; \
sleep 0.4; printf '<!--XSUPERVISOR:BEGIN-->err caf\\303\\251 \\377<!--XSUPERVISOR:END-->\\n' >&2; \
sleep 0.4; printf 'caf\\303\\251 \\342\\202\\254, a line longer than a token\\n'; sleep 0.4; \
printf 'a \\377\\376 line, longer than a token\\n'; sleep 0.4; printf 'short\\n' >&2; sleep 0.4";

/// `failer` exits at once; its startsecs is long because supervisord reaps up to a second (more under
/// load) late, and a reap later than startsecs makes it report RUNNING then EXITED (its known race).
fn config(dir: &Path, python: &str) -> PathBuf {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(dir.join("rec.py"), RECORDER).unwrap();
    let text = format!(
        "[supervisord]\nnodaemon=true\nlogfile={d}/main.log\npidfile={d}/pid\nchildlogdir={d}\n\n\
         [unix_http_server]\nfile={d}/sock\n\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{d}/sock\n\n\
         [include]\nfiles=conf.d/*.conf\n\n\
         [eventlistener:rec]\ncommand={python} {d}/rec.py {d}/events\n\
         events=EVENT,PROCESS_GROUP_ADDED,remote_communication,REMOTE_COMMUNICATION\nbuffer_size=1000\nstartsecs=0\n\n\
         [program:slowstop]\ncommand=sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\npriority=0\nautostart=false\nstartsecs=0\nstopwaitsecs=1\nkillasgroup=true\n\n\
         [program:app]\ncommand=sleep 1000\nautostart=false\nstartsecs=0\n\n\
         [program:failer]\ncommand=sh -c 'exit 1'\nautostart=false\nstartsecs=3\nstartretries=1\n\n\
         [program:talker]\ncommand=sh -c \"{TALKER}\"\nautostart=false\nstartsecs=0\nautorestart=false\n\
         stdout_capture_maxbytes=1MB\nstderr_capture_maxbytes=1MB\nstdout_events_enabled=true\nstderr_events_enabled=true\n"
    );
    write(dir, "supervisord.conf", &text)
}

struct Run<'a> {
    dir: &'a Path,
    conf: PathBuf,
    ctl: PathBuf,
    python: String,
}

/// One recorded event: name, pool serial (`None` for a tick), payload with pids normalised.
type Recorded = (String, Option<i64>, String);

impl Run<'_> {
    fn recorded(&self) -> Vec<Recorded> {
        let text = std::fs::read_to_string(self.dir.join("events")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let (name, serial, payload): (String, Option<i64>, String) =
                    serde_json::from_str(l).unwrap();
                (name, serial, normalise(&payload))
            })
            .collect()
    }

    /// What was recorded but the ticks.
    fn events(&self) -> Vec<Recorded> {
        let mut ev = self.recorded();
        ev.retain(|(n, _, _)| !n.starts_with("TICK"));
        ev
    }

    fn ticks(&self) -> Vec<(String, String)> {
        let mut ev = self.recorded();
        ev.retain(|(n, _, _)| n.starts_with("TICK"));
        ev.into_iter().map(|(n, _, p)| (n, p)).collect()
    }

    /// `avail`, `status` (numbers masked: pids, uptimes, dates), getAllConfigInfo, getAllProcessInfo.
    fn state(&self) -> String {
        let mut status = String::new();
        for c in self.ctl(&["status"]).chars() {
            match c {
                '0'..='9' if status.ends_with('N') => {}
                '0'..='9' => status.push('N'),
                c => status.push(c),
            }
        }
        let out = Command::new(&self.python)
            .args(["-c", INFO])
            .arg(self.dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        format!(
            "avail:\n{}\nstatus:\n{status}\ninfo:\n{}",
            self.ctl(&["avail"]),
            String::from_utf8_lossy(&out.stdout)
        )
    }

    /// Wait until an event `name` whose payload contains `needle` was recorded after `after` events.
    fn wait(&self, after: usize, name: &str, needle: &str) -> usize {
        wait_for(T, &format!("{name} {needle}"), || {
            let ev = self.events();
            ev.iter()
                .skip(after)
                .any(|(n, _, p)| n == name && p.contains(needle))
                .then_some(ev.len())
        })
    }

    fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(&self.ctl)
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn remote(&self, kind: &str, data: &str) {
        let code = format!(
            "import xmlrpc.client as x\nfrom supervisor.xmlrpc import SupervisorTransport\n\
t = SupervisorTransport(None, None, 'unix://{}/sock')\n\
x.ServerProxy('http://127.0.0.1', transport=t).supervisor.sendRemoteCommEvent({kind:?}, {data:?})\n",
            self.dir.display()
        );
        let st = Command::new(&self.python)
            .args(["-c", &code])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// The script of actions; returns [`Run::state`] taken midway, when its last event was recorded.
    fn script(&self) -> String {
        let n = self.wait(0, "PROCESS_STATE_RUNNING", "processname:rec ");
        self.ctl(&["start", "app"]);
        let n = self.wait(n, "PROCESS_STATE_RUNNING", "processname:app ");
        self.ctl(&["signal", "KILL", "app"]);
        let n = self.wait(n, "PROCESS_STATE_RUNNING", "processname:app ");
        self.ctl(&["stop", "app"]);
        let n = self.wait(n, "PROCESS_STATE_STOPPED", "processname:app ");
        self.remote("mytype", "hello\nworld");
        let n = self.wait(n, "REMOTE_COMMUNICATION", "mytype");
        self.ctl(&["start", "failer"]);
        let n = self.wait(n, "PROCESS_STATE_FATAL", "processname:failer ");
        self.ctl(&["start", "talker"]);
        let n = self.wait(n, "PROCESS_STATE_EXITED", "processname:talker ");
        let state = self.state();
        std::fs::write(
            self.dir.join("conf.d/extra.conf"),
            "[program:extra]\ncommand=sleep 1000\nstartsecs=0\n",
        )
        .unwrap();
        self.ctl(&["update"]);
        let n = self.wait(n, "PROCESS_STATE_RUNNING", "processname:extra ");
        std::fs::remove_file(self.dir.join("conf.d/extra.conf")).unwrap();
        self.ctl(&["update"]);
        let n = self.wait(n, "PROCESS_GROUP_REMOVED", "extra");
        self.ctl(&["start", "slowstop"]);
        let n = self.wait(n, "PROCESS_STATE_RUNNING", "processname:slowstop ");
        // The script runs for more than 5 s, so this rarely waits.
        wait_for(T, "a TICK_5", || {
            self.ticks()
                .iter()
                .any(|(n, _)| n == "TICK_5")
                .then_some(())
        });
        self.ctl(&["shutdown"]);
        self.wait(n, "PROCESS_STATE_STOPPING", "processname:slowstop ");
        state
    }
}

/// Pids and tick times differ between runs. A tick's `when:` must be the start of a period of
/// 5 s (TICK_5) or more.
fn normalise(payload: &str) -> String {
    if let Some(when) = payload.strip_prefix("when:") {
        let when: i64 = when.parse().expect(payload);
        assert_eq!(when % 5, 0, "{payload}");
        return "when:N".into();
    }
    let mut out = String::new();
    let mut rest = payload;
    while let Some(at) = rest.find("pid:") {
        out.push_str(&rest[..at + 4]);
        rest = rest[at + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

fn wait_child(c: &mut Child) {
    wait_for(T, "the supervisor to exit", || c.try_wait().ok().flatten());
}

#[test]
fn the_same_events_as_supervisord() {
    let (Some(sd), Some(sctl), Ok(venv)) = (
        std::env::var_os("SUPERVISORD"),
        std::env::var_os("SUPERVISORCTL"),
        std::env::var("STEWARD_SUPERVISOR_VENV"),
    ) else {
        missing("supervisord 4.3.0 (SUPERVISORD, SUPERVISORCTL, STEWARD_SUPERVISOR_VENV)");
    };
    let python = format!("{venv}/bin/python3");

    // Both at once: supervisord in one thread, steward as PID 1 in this one.
    let real = tempdir();
    let real_dir = real.path().to_path_buf();
    let (py, ctl) = (python.clone(), sctl.clone());
    let theirs = std::thread::spawn(move || {
        let conf = config(&real_dir, &py);
        let mut sv = Command::new(&sd)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let run = Run {
            dir: &real_dir,
            conf: conf.clone(),
            ctl: ctl.into(),
            python: py,
        };
        let state = run.script();
        wait_child(&mut sv);
        (run.events(), run.ticks(), state)
    });

    let ours = tempdir();
    let conf = config(ours.path(), &python);
    let mut p = Pid1::start_in(&["-c", conf.to_str().unwrap()], Some(ours.path()));
    let run = Run {
        dir: ours.path(),
        conf,
        ctl: sctl.into(),
        python,
    };
    let state = run.script();
    assert_eq!(p.wait_exit(T), Some(0));
    let got = run.events();
    let (expected, their_ticks, their_state) = theirs.join().expect("the supervisord run failed");

    assert_eq!(
        state, their_state,
        "steward (left) and supervisord (right) differ"
    );
    let show = |v: &[Recorded]| {
        v.iter()
            .map(|(n, s, p)| format!("{n} {s:?} {p:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        show(&got),
        show(&expected),
        "steward (left) and supervisord (right) differ"
    );
    eprintln!("{} events, identical:\n{}", got.len(), show(&got));
    // Ticks: how many depends on timing; the first TICK_5's payload must be alike.
    let first = |t: &[(String, String)]| t.iter().find(|(n, _)| n == "TICK_5").cloned();
    assert_eq!(first(&run.ticks()), first(&their_ticks));
    assert_eq!(
        first(&their_ticks),
        Some(("TICK_5".into(), "when:N".into()))
    );
    // Subscribed twice: two copies with one pool serial.
    let twice = |name: &str| expected.windows(2).any(|w| w[0] == w[1] && w[0].0 == name);
    assert!(twice("PROCESS_GROUP_ADDED") && twice("REMOTE_COMMUNICATION"));
    let names: std::collections::BTreeSet<&str> =
        expected.iter().map(|(n, _, _)| n.as_str()).collect();
    for name in [
        "PROCESS_STATE_STOPPED",
        "PROCESS_STATE_EXITED",
        "PROCESS_STATE_STARTING",
        "PROCESS_STATE_STOPPING",
        "PROCESS_STATE_BACKOFF",
        "PROCESS_STATE_FATAL",
        "PROCESS_STATE_RUNNING",
        "PROCESS_LOG_STDOUT",
        "PROCESS_LOG_STDERR",
        "PROCESS_COMMUNICATION_STDOUT",
        "PROCESS_COMMUNICATION_STDERR",
        "REMOTE_COMMUNICATION",
        "SUPERVISOR_STATE_CHANGE_RUNNING",
        "SUPERVISOR_STATE_CHANGE_STOPPING",
        "PROCESS_GROUP_ADDED",
        "PROCESS_GROUP_REMOVED",
    ] {
        assert!(names.contains(name), "{name} never appeared");
    }
}
