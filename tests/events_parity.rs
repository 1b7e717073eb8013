//! The same recording listener, config and script of actions under the real supervisord 4.3.0 and
//! under steward (as PID 1): the sequences of (event name, payload) must be identical once pids are
//! normalised. The script makes every event type appear except PROCESS_STATE_UNKNOWN (which needs
//! a failed kill) and the ticks (timing; see `events.rs`).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

const RECORDER: &str = r#"import json, sys
out = open(sys.argv[1], 'a')
while True:
    sys.stdout.write('READY\n'); sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        break
    h = dict(x.split(':', 1) for x in line.split())
    payload = sys.stdin.read(int(h['len']))
    if not h['eventname'].startswith('TICK'):
        out.write(json.dumps([h['eventname'], payload]) + '\n'); out.flush()
    sys.stdout.write('RESULT 2\nOK'); sys.stdout.flush()
"#;

// supervisord reports RUNNING (startsecs=0) only on its next loop turn, up to 1 s later; the output
// waits for that, and each piece waits for the one before to be read.
const TALKER: &str = "sleep 1.6; printf '<!--XSUPERVISOR:BEGIN-->captured<!--XSUPERVISOR:END-->\\n'; \
sleep 0.5; printf 'a plain line long enough to be logged\\n'; sleep 0.5; printf 'to stderr\\n' >&2; sleep 0.5";

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
         [eventlistener:rec]\ncommand={python} {d}/rec.py {d}/events\nevents=EVENT\nbuffer_size=1000\nstartsecs=0\n\n\
         [program:slowstop]\ncommand=sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\npriority=0\nautostart=false\nstartsecs=0\nstopwaitsecs=1\nkillasgroup=true\n\n\
         [program:app]\ncommand=sleep 1000\nautostart=false\nstartsecs=0\n\n\
         [program:failer]\ncommand=sh -c 'exit 1'\nautostart=false\nstartsecs=3\nstartretries=1\n\n\
         [program:talker]\ncommand=sh -c \"{TALKER}\"\nautostart=false\nstartsecs=0\nautorestart=false\n\
         stdout_capture_maxbytes=1MB\nstdout_events_enabled=true\nstderr_events_enabled=true\n"
    );
    write(dir, "supervisord.conf", &text)
}

struct Run<'a> {
    dir: &'a Path,
    conf: PathBuf,
    ctl: PathBuf,
    python: String,
}

impl Run<'_> {
    fn events(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.dir.join("events")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Vec<String> = serde_json::from_str(l).unwrap();
                (v[0].clone(), normalise(&v[1]))
            })
            .collect()
    }

    /// Wait until an event `name` whose payload contains `needle` was recorded after `after` events.
    fn wait(&self, after: usize, name: &str, needle: &str) -> usize {
        wait_for(T, &format!("{name} {needle}"), || {
            let ev = self.events();
            ev.iter()
                .skip(after)
                .any(|(n, p)| n == name && p.contains(needle))
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

    /// The script of actions; returns when its last event was recorded.
    fn script(&self) {
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
        self.ctl(&["shutdown"]);
        self.wait(n, "PROCESS_STATE_STOPPING", "processname:slowstop ");
    }
}

/// Pids differ between runs.
fn normalise(payload: &str) -> String {
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
        run.script();
        wait_child(&mut sv);
        run.events()
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
    run.script();
    assert_eq!(p.wait_exit(T), Some(0));
    let got = run.events();
    let expected = theirs.join().expect("the supervisord run failed");

    let show = |v: &[(String, String)]| {
        v.iter()
            .map(|(n, p)| format!("{n} {p:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        show(&got),
        show(&expected),
        "steward (left) and supervisord (right) differ"
    );
    eprintln!("{} events, identical:\n{}", got.len(), show(&got));
    let names: std::collections::BTreeSet<&str> =
        expected.iter().map(|(n, _)| n.as_str()).collect();
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
        "REMOTE_COMMUNICATION",
        "SUPERVISOR_STATE_CHANGE_RUNNING",
        "SUPERVISOR_STATE_CHANGE_STOPPING",
        "PROCESS_GROUP_ADDED",
        "PROCESS_GROUP_REMOVED",
    ] {
        assert!(names.contains(name), "{name} never appeared");
    }
}
