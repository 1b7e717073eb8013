//! Black-box compatibility with the stock supervisor 4.3.0 (PyPI) in a venv:
//!
//! * `steward ctl` against a REAL supervisord gives the same output and exit code as the stock
//!   `supervisorctl` does (two identical supervisord instances driven through the same script);
//! * the stock `supervisorctl` drives steward's control server (FakeEngine for now);
//! * the stock `supervisorctl` and `steward ctl` against the full steward binary, side by side with a
//!   real supervisord on the same config and script.
//!
//! The venv comes from `bash tests/compat/setup-venv.sh` (default `/tmp/steward-supervisor-4.3.0-venv`,
//! or `$STEWARD_SUPERVISOR_VENV`; `scripts/test.sh` makes it). Without it these tests fail.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fake::{FakeEngine, FakeProcess, TestServer};
use steward::control::server::Limits;
use steward::engine::api::EngineError;

fn venv() -> PathBuf {
    let dir = std::env::var_os("STEWARD_SUPERVISOR_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/steward-supervisor-4.3.0-venv"));
    if dir.join("bin/supervisord").is_file() && dir.join("bin/supervisorctl").is_file() {
        dir
    } else {
        common::missing(&format!("the supervisor 4.3.0 venv at {}", dir.display()))
    }
}

fn steward() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_steward"))
}

fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What every config here starts with: the socket, the log and pid files in the test's directory,
/// the RPC interface and supervisorctl's server URL.
macro_rules! head {
    () => {
        r#"[unix_http_server]
file=%(here)s/sock

[supervisord]
logfile=%(here)s/main.log
pidfile=%(here)s/supervisord.pid
nodaemon=true
childlogdir=%(here)s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(here)s/sock

"#
    };
}

const CONFIG: &str = concat!(
    head!(),
    r#"[program:web]
command=/bin/sh -c 'echo hello-stdout; echo hello-stderr >&2; exec sleep 1000'
startsecs=0
stdout_logfile=%(here)s/web.out
stderr_logfile=%(here)s/web.err

[program:manual]
command=/bin/sleep 1000
autostart=false
startsecs=0
stdout_logfile=NONE

[program:failfast]
command=/bin/false
autostart=false
startsecs=1
startretries=0

[program:badcmd]
command=/nonexistent/thing
autostart=false

[program:multi]
command=/bin/sleep 100%(process_num)d
numprocs=2
process_name=%(program_name)s_%(process_num)02d
startsecs=0
"#
);

/// The command script both tools run, in order, against identically configured servers.
const SCRIPT: &[&[&str]] = &[
    &["status"],
    &["status", "web"],
    &["status", "nosuch"],
    &["status", "multi:*"],
    &["status", "nosuch:*"],
    &["status", "web", "manual"],
    &["pid"],
    &["pid", "web"],
    &["pid", "manual"],
    &["pid", "nosuch"],
    &["pid", "all"],
    &["start"],
    &["start", "manual"],
    &["start", "manual"],
    &["start", "nosuch"],
    &["start", "nosuch:*"],
    &["start", "failfast"],
    &["start", "badcmd"],
    &["stop", "manual"],
    &["stop", "manual"],
    &["stop", "failfast"],
    &["stop", "nosuch:*"],
    &["stop"],
    &["stop", "multi:*"],
    &["start", "multi:*"],
    &["stop", "multi:multi_01"],
    &["start", "all"],
    &["restart", "manual"],
    &["restart", "multi:*"],
    &["restart"],
    &["signal", "HUP", "web"],
    &["signal", "FOO", "web"],
    &["signal", "USR1", "multi:*"],
    &["signal", "HUP", "badcmd"],
    &["signal", "HUP"],
    &["tail", "web"],
    &["tail", "web", "stderr"],
    &["tail", "-5", "web"],
    &["tail", "nosuch"],
    &["tail", "manual"],
    &["tail", "web", "bogus"],
    &["tail", "-x", "web"],
    &["tail"],
    &["avail"],
    &["reread"],
    &["clear", "web"],
    &["clear", "nosuch"],
    &["clear"],
    &["tail", "web"],
    &["version"],
    &["version", "x"],
    &["foo", "bar"],
    &["shutdown", "now"],
    &["reload", "now"],
    &["status"],
];

/// A real supervisord 4.3.0 on a private config; killed and reaped on drop.
struct Supervisord {
    dir: tempfile::TempDir,
    child: Option<Child>,
    venv: PathBuf,
}

impl Supervisord {
    fn start(venv: &Path) -> Supervisord {
        Supervisord::start_with(venv, CONFIG)
    }

    fn start_with(venv: &Path, config: &str) -> Supervisord {
        let s = Supervisord::launch(&venv.join("bin/supervisord"), venv, config);
        s.wait_ready();
        s
    }

    /// `server -c CONFIG` (supervisord or steward) in a fresh directory, without waiting for it.
    fn launch(server: &Path, venv: &Path, config: &str) -> Supervisord {
        Supervisord::launch_with_fifos(server, venv, config, &[])
    }

    /// [`Supervisord::launch`] with the named FIFOs made in the directory first.
    fn launch_with_fifos(server: &Path, venv: &Path, config: &str, fifos: &[&str]) -> Supervisord {
        let dir = tempfile::Builder::new()
            .prefix("steward-compat-")
            .tempdir()
            .unwrap();
        for f in fifos {
            nix::unistd::mkfifo(&dir.path().join(f), nix::sys::stat::Mode::S_IRWXU).unwrap();
        }
        std::fs::write(dir.path().join("supervisord.conf"), config).unwrap();
        let child = Command::new(server)
            .arg("-c")
            .arg(dir.path().join("supervisord.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Supervisord {
            dir,
            child: Some(child),
            venv: venv.to_path_buf(),
        }
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("supervisord.conf")
    }

    /// Rewrite this instance's config file through `edit`.
    fn edit_conf(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(self.conf()).unwrap();
        std::fs::write(self.conf(), edit(text)).unwrap();
    }

    /// Socket up and the autostart processes RUNNING.
    fn wait_ready(&self) {
        self.wait_running(3);
    }

    fn wait_running(&self, n: usize) {
        wait_for(Duration::from_secs(20), "supervisord ready", || {
            let o = self.supervisorctl(&["status"]);
            let t = String::from_utf8_lossy(&o.stdout).to_string();
            (t.matches("RUNNING").count() == n).then_some(())
        });
    }

    fn supervisorctl(&self, args: &[&str]) -> Output {
        Command::new(self.venv.join("bin/supervisorctl"))
            .arg("-c")
            .arg(self.conf())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {args:?}: {e}"))
    }

    fn steward_ctl(&self, args: &[&str]) -> Output {
        Command::new(steward())
            .arg("ctl")
            .arg("-c")
            .arg(self.conf())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {args:?}: {e}"))
    }

    fn wait_exit(&mut self) {
        if let Some(c) = self.child.as_mut() {
            wait_for(Duration::from_secs(20), "supervisord exit", || {
                c.try_wait().ok().flatten()
            });
        }
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling our own child by pid; it is reaped just below.
            unsafe {
                libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Make outputs of two servers comparable: their directories, pids, uptimes, stop times and
/// Python traceback locations differ by nature.
/// The config change reread/update are checked with: one program changed, one added, one removed.
fn change_one_add_one_remove_one(conf: String) -> String {
    let conf = conf.replace(
        "command=/bin/sleep 1000\nautostart=false",
        "command=/bin/sleep 999\nautostart=false",
    );
    let conf = conf.replace(
        "[program:badcmd]\ncommand=/nonexistent/thing\nautostart=false\n",
        "",
    );
    conf + "\n[program:newone]\ncommand=/bin/sleep 1000\nstartsecs=0\n"
}

fn normalize(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.display().to_string(), "DIR");
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        if let Some(i) = line.find(": file: ") {
            line.truncate(i);
        }
        if !line.is_empty() && line.chars().all(|c| c.is_ascii_digit()) && line != "0" {
            line = "N".into();
        }
        if let Some(i) = line.find("pid ") {
            let rest: String = line[i + 4..]
                .chars()
                .skip_while(|c| c.is_ascii_digit())
                .collect();
            line = format!("{}pid N{rest}", &line[..i]);
        }
        if let Some(i) = line.find("uptime ") {
            line = format!("{}uptime T", &line[..i]);
        }
        for m in [
            "Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ",
            "Dec ",
        ] {
            if let Some(i) = line.find(m) {
                if line.ends_with(" AM") || line.ends_with(" PM") {
                    line = format!("{}DATE", &line[..i]);
                }
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}stderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run `args` with supervisorctl against `a` and with steward ctl against `b`; same output, same code.
/// `left(a)` and `right(b)` at the same time: two servers, each with its own client, so neither
/// waits for the other (the Python client's start-up alone is a few hundred ms a command).
fn side_by_side(
    a: &Supervisord,
    left: impl FnOnce(&Supervisord) -> Output + Send,
    b: &Supervisord,
    right: impl FnOnce(&Supervisord) -> Output + Send,
) -> (Output, Output) {
    std::thread::scope(|s| {
        let x = s.spawn(|| left(a));
        let y = right(b);
        (x.join().unwrap(), y)
    })
}

fn same(a: &Supervisord, b: &Supervisord, args: &[&str]) -> String {
    let (x, y) = side_by_side(a, |a| a.supervisorctl(args), b, |b| b.steward_ctl(args));
    let nx = normalize(&show(&x), a.dir.path());
    let ny = normalize(&show(&y), b.dir.path());
    assert_eq!(
        nx,
        ny,
        "`{}`: supervisorctl (left) and steward ctl (right) differ",
        args.join(" ")
    );
    nx
}

/// Like [`same`], with the output lines compared as a set: result arrays of `all`/group
/// operations come back in completion order, which races even between two real supervisords.
fn same_unordered(a: &Supervisord, b: &Supervisord, args: &[&str]) {
    let sorted = |o: &Output, d: &Path| {
        let mut lines: Vec<String> = normalize(&show(o), d).lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    let (x, y) = side_by_side(a, |a| a.supervisorctl(args), b, |b| b.steward_ctl(args));
    assert_eq!(
        sorted(&x, a.dir.path()),
        sorted(&y, b.dir.path()),
        "`{}`: supervisorctl (left) and steward ctl (right) differ",
        args.join(" ")
    );
}

/// Follow `tail -f`-style output until `needle` shows, then kill the client.
fn follow_until(mut cmd: Command, needle: &str) -> String {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&got).contains(needle) && Instant::now() < deadline {
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            got.extend(chunk);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    String::from_utf8_lossy(&got).to_string()
}

#[test]
fn steward_ctl_matches_supervisorctl_against_real_supervisord() {
    let venv = venv();
    let a = Supervisord::start(&venv);
    let b = Supervisord::start(&venv);
    for args in SCRIPT {
        if args.contains(&"all") || args.iter().any(|a| a.ends_with(":*")) {
            same_unordered(&a, &b, args);
        } else {
            same(&a, &b, args);
        }
    }
    // maintail: contents carry timestamps and pids; compare exit codes and line counts only.
    let (x, y) = (
        a.supervisorctl(&["maintail", "-200"]),
        b.steward_ctl(&["maintail", "-200"]),
    );
    assert_eq!(x.status.code(), y.status.code());
    assert_eq!(
        b.steward_ctl(&["maintail", "bogus"]).status.code(),
        a.supervisorctl(&["maintail", "bogus"]).status.code()
    );

    // tail -f goes through /logtail (chunked HTTP), not XML-RPC. The log was cleared above, so
    // give it fresh content.
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(b.dir.path().join("web.out"))
            .unwrap();
        f.write_all(b"hello-stdout\n").unwrap();
    }
    let mut cmd = Command::new(steward());
    cmd.args(["ctl", "-c"])
        .arg(b.conf())
        .args(["tail", "-f", "web"]);
    let got = follow_until(cmd, "hello-stdout");
    assert!(got.starts_with("==> Press Ctrl-C to exit <==\n"), "{got}");
    assert!(got.contains("hello-stdout\n"), "{got}");

    // reread / update after the same config change on both sides.
    for s in [&a, &b] {
        s.edit_conf(change_one_add_one_remove_one);
    }
    same(&a, &b, &["tail", "-f", "nosuch"]);
    same(&a, &b, &["reread"]);
    same(&a, &b, &["avail"]);
    same(&a, &b, &["update", "nosuch"]);
    same(&a, &b, &["update"]);
    same(&a, &b, &["reread"]);
    same(&a, &b, &["status"]);
    same(&a, &b, &["add", "nosuch"]);
    same(&a, &b, &["add", "newone"]);
    same(&a, &b, &["remove", "newone"]);
    same(&a, &b, &["stop", "newone"]);
    same(&a, &b, &["remove", "newone"]);
    same(&a, &b, &["reread"]);
    same(&a, &b, &["add", "newone"]);
    // A config that no longer parses.
    for s in [&a, &b] {
        // A program section without a command: the config no longer loads.
        s.edit_conf(|c| c + "\n[program:broken]\n");
    }
    same(&a, &b, &["reread"]);
}

#[test]
fn steward_ctl_matches_supervisorctl_on_reload_shutdown_and_dead_servers() {
    let venv = venv();
    let mut a = Supervisord::start(&venv);
    let mut b = Supervisord::start(&venv);
    same(&a, &b, &["reload"]);
    a.wait_ready();
    b.wait_ready();
    same(&a, &b, &["status"]);
    same(&a, &b, &["shutdown"]);
    a.wait_exit();
    b.wait_exit();
    for args in [
        &["status"][..],
        &["start", "web"],
        &["pid"],
        &["reread"],
        &["shutdown"],
        &["tail", "web"],
    ] {
        same(&a, &b, args);
    }
    // Connection refused (a socket file nobody listens on).
    for s in [&a, &b] {
        let _ = std::fs::remove_file(s.dir.path().join("sock"));
        drop(std::os::unix::net::UnixListener::bind(s.dir.path().join("sock")).unwrap());
    }
    same(&a, &b, &["status"]);
    same(&a, &b, &["stop", "web"]);
}

#[test]
fn steward_ctl_matches_supervisorctl_with_auth() {
    let venv = venv();
    let config = CONFIG
        .replace(
            "file=%(here)s/sock\n",
            "file=%(here)s/sock\nusername=user\npassword={SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\n",
        )
        .replace(
            "serverurl=unix://%(here)s/sock\n",
            "serverurl=unix://%(here)s/sock\nusername=user\npassword=thepassword\n",
        );
    let a = Supervisord::start_with(&venv, &config);
    let b = Supervisord::start_with(&venv, &config);
    for args in [
        &["status"][..],
        &["-p", "wrong", "status"],
        &["-p", "wrong", "reread"],
        &["-u", "nobody", "version"],
        &["-p", "wrong", "tail", "-f", "web"],
        &["version"],
    ] {
        same(&a, &b, args);
    }
}

#[test]
fn config_errors_match_supervisorctl() {
    let venv = venv();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("noctl.conf"), "[program:x]\ncommand=ls\n").unwrap();
    let link = dir.path().join("supervisorctl");
    std::os::unix::fs::symlink(steward(), &link).unwrap();
    for args in [
        vec![
            "-c".to_string(),
            dir.path().join("nope.conf").display().to_string(),
            "status".into(),
        ],
        vec![
            "-c".to_string(),
            dir.path().join("noctl.conf").display().to_string(),
            "status".into(),
        ],
    ] {
        let x = Command::new(venv.join("bin/supervisorctl"))
            .args(&args)
            .output()
            .unwrap();
        let y = Command::new(&link).args(&args).output().unwrap();
        let strip = |o: &Output| {
            let e = String::from_utf8_lossy(&o.stderr).to_string();
            (
                o.status.code(),
                e.lines().next().unwrap_or("").to_string(),
                e.lines().count(),
            )
        };
        assert_eq!(strip(&x), strip(&y), "{} vs {}", show(&x), show(&y));
        assert!(String::from_utf8_lossy(&y.stderr)
            .contains(&format!("For help, use {} -h", link.display())));
    }
}

fn fake_server(dir: &Path, auth: Option<steward::config::model::Credentials>) -> TestServer {
    let d = dir.to_path_buf();
    TestServer::start(dir.join("sock"), auth, Limits::default(), move || {
        let b = FakeEngine::new(vec![
            FakeProcess::new("web", "web", Some(&d)),
            FakeProcess::new("multi", "multi_00", None),
            FakeProcess::new("multi", "multi_01", None),
            FakeProcess::new("failfast", "failfast", None).failing(EngineError::SpawnFailed),
            FakeProcess::new("manual", "manual", None).autostart(false),
        ]);
        b.run("web", "web");
        b.run("multi", "multi_00");
        b.run("multi", "multi_01");
        b
    })
    .unwrap()
}

/// The stock supervisorctl and steward ctl, both against steward's server, agree with each other
/// and with what supervisord would print for the same states.
#[test]
fn stock_supervisorctl_drives_steward_server() {
    let venv = venv();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.stdout.log"), "hello-stdout\n").unwrap();
    let srv = fake_server(dir.path(), None);
    let url = format!("unix://{}", srv.socket.display());
    let ctl = |args: &[&str]| {
        Command::new(venv.join("bin/supervisorctl"))
            .args(["-s", &url])
            .args(args)
            .output()
            .unwrap()
    };
    let ours = |args: &[&str]| {
        Command::new(steward())
            .args(["ctl", "-s", &url])
            .args(args)
            .output()
            .unwrap()
    };
    let check = |args: &[&str], code: i32, want: &str| {
        let o = ctl(args);
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", show(&o));
        assert!(t.contains(want), "{args:?}: want {want:?} in {t}");
        // Same as steward ctl's answer for the same command, state permitting: the fake's
        // transitions are immediate, so run ours only for read-only commands.
    };
    let status = ctl(&["status"]);
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    assert_eq!(status.status.code(), Some(3), "{}", show(&status));
    assert!(
        text.contains("web                              RUNNING   pid "),
        "{text}"
    );
    assert!(
        text.contains("manual                           STOPPED   Not started\n"),
        "{text}"
    );
    let o = ours(&["status"]);
    assert_eq!(
        normalize(&show(&status), dir.path()),
        normalize(&show(&o), dir.path())
    );
    check(&["start", "manual"], 0, "manual: started");
    check(&["start", "manual"], 0, "manual: ERROR (already started)");
    check(&["start", "failfast"], 7, "failfast: ERROR (spawn error)");
    check(&["start", "nosuch"], 1, "nosuch: ERROR (no such process)");
    check(&["stop", "multi:*"], 0, "multi:multi_00: stopped");
    check(&["start", "multi:*"], 0, "multi:multi_01: started");
    check(&["signal", "HUP", "web"], 0, "web: signalled");
    check(&["signal", "FOO", "web"], 1, "web: ERROR (bad signal name)");
    check(&["pid", "web"], 0, "");
    check(&["pid", "nosuch"], 1, "No such process nosuch");
    check(&["tail", "web"], 0, "hello-stdout\n");
    check(&["clear", "web"], 0, "web: cleared");
    check(&["reread"], 0, "No config updates to processes");
    check(
        &["avail"],
        0,
        "manual                           in use    manual    999:999",
    );
    check(&["version"], 0, "4.3.0");
    check(&["reload"], 0, "Restarted supervisord");
    check(&["shutdown"], 0, "Shut down");
    assert_eq!(
        srv.with(|b| (b.inner.borrow().restarts, b.inner.borrow().shutdowns)),
        (1, 1)
    );
    // supervisorctl's own chunked-HTTP client on /logtail.
    std::fs::write(dir.path().join("web.stdout.log"), "hello-again\n").unwrap();
    let mut cmd = Command::new(venv.join("bin/supervisorctl"));
    cmd.args(["-s", &url, "tail", "-f", "web"]);
    let got = follow_until(cmd, "hello-again");
    assert!(got.contains("hello-again"), "{got}");
}

#[test]
fn stock_supervisorctl_auth_against_steward_server() {
    let venv = venv();
    let dir = tempfile::tempdir().unwrap();
    let creds = steward::config::model::Credentials {
        username: "user".into(),
        password: "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d".into(),
    };
    let srv = fake_server(dir.path(), Some(creds));
    let url = format!("unix://{}", srv.socket.display());
    let run = |bin: &Path, pre: &[&str], pass: &str| {
        Command::new(bin)
            .args(pre)
            .args(["-s", &url, "-u", "user", "-p", pass, "version"])
            .output()
            .unwrap()
    };
    let ok = run(&venv.join("bin/supervisorctl"), &[], "thepassword");
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    let bad = run(&venv.join("bin/supervisorctl"), &[], "wrong");
    let ours = run(&steward(), &["ctl"], "wrong");
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        normalize(&show(&bad), dir.path()),
        normalize(&show(&ours), dir.path())
    );
    let ours_ok = run(&steward(), &["ctl"], "thepassword");
    assert_eq!(String::from_utf8_lossy(&ours_ok.stdout), "4.3.0\n");
}

impl Supervisord {
    /// The steward binary itself as the server, on the same config (killed and reaped on drop).
    fn steward(venv: &Path) -> Supervisord {
        let s = Supervisord::launch(&steward(), venv, CONFIG);
        s.wait_ready();
        s
    }
}

/// Both outputs, normalized; sorted by line for results that come in completion order.
fn compare(a: &Supervisord, x: &Output, b: &Supervisord, y: &Output, args: &[&str]) {
    let mut nx: Vec<String> = normalize(&show(x), a.dir.path())
        .lines()
        .map(str::to_string)
        .collect();
    let mut ny: Vec<String> = normalize(&show(y), b.dir.path())
        .lines()
        .map(str::to_string)
        .collect();
    if args.contains(&"all") || args.iter().any(|a| a.ends_with(":*")) || args == ["update"] {
        nx.sort();
        ny.sort();
    }
    assert_eq!(
        nx, ny,
        "{args:?}: supervisord (left) and steward (right) differ"
    );
}

/// Run the script with the stock supervisorctl against a real supervisord and with `right_ctl`
/// against steward; then tail -f, reread/update/add/remove after a config change, reload,
/// shutdown, and the answers of a server that is gone.
fn script_against_steward(steward_ctl: bool) {
    let venv = venv();
    let right_ctl = if steward_ctl {
        Supervisord::steward_ctl
    } else {
        Supervisord::supervisorctl
    };
    let mut a = Supervisord::start(&venv);
    let mut b = Supervisord::steward(&venv);
    let both = |a: &Supervisord, b: &Supervisord, args: &[&str]| {
        let (x, y) = side_by_side(a, |a| a.supervisorctl(args), b, |b| right_ctl(b, args));
        compare(a, &x, b, &y, args);
    };
    for args in SCRIPT {
        if *args == ["tail", "manual"] {
            // Deliberate difference (README): a stream without a log file (stdout_logfile=NONE)
            // is served from its in-memory tail, empty here; supervisord has nothing to show.
            let (x, y) = side_by_side(&a, |a| a.supervisorctl(args), &b, |b| right_ctl(b, args));
            assert_eq!(
                (x.status.code(), String::from_utf8_lossy(&x.stdout).as_ref()),
                (Some(1), "manual: ERROR (no log file)\n")
            );
            assert_eq!(
                (y.status.code(), String::from_utf8_lossy(&y.stdout).as_ref()),
                (Some(0), "\n")
            );
            continue;
        }
        both(&a, &b, args);
    }

    // tail -f reads /logtail (chunked HTTP). `clear web` above emptied the log.
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(b.dir.path().join("web.out"))
            .unwrap();
        f.write_all(b"hello-follow\n").unwrap();
    }
    let mut cmd = if steward_ctl {
        let mut c = Command::new(steward());
        c.arg("ctl");
        c
    } else {
        Command::new(venv.join("bin/supervisorctl"))
    };
    cmd.arg("-c").arg(b.conf()).args(["tail", "-f", "web"]);
    let got = follow_until(cmd, "hello-follow");
    assert!(got.starts_with("==> Press Ctrl-C to exit <==\n"), "{got}");
    assert!(got.contains("hello-follow\n"), "{got}");

    // The same config change on both sides: one program changed, one added, one removed.
    for s in [&a, &b] {
        s.edit_conf(change_one_add_one_remove_one);
    }
    for args in [
        &["reread"][..],
        &["avail"],
        &["update", "nosuch"],
        &["update"],
        &["reread"],
        &["status"],
        &["add", "nosuch"],
        &["add", "newone"],
        &["remove", "newone"],
        &["stop", "newone"],
        &["remove", "newone"],
        &["avail"],
        &["reread"],
        &["add", "newone"],
        &["status"],
    ] {
        both(&a, &b, args);
    }
    // A config that no longer loads: the loaders' messages differ, the verdict does not.
    let good: Vec<String> = [&a, &b]
        .iter()
        .map(|s| std::fs::read_to_string(s.conf()).unwrap())
        .collect();
    for s in [&a, &b] {
        // A program section without a command: the config no longer loads.
        s.edit_conf(|c| c + "\n[program:broken]\n");
    }
    let (x, y) = (a.supervisorctl(&["reread"]), right_ctl(&b, &["reread"]));
    assert_eq!(
        x.status.code(),
        y.status.code(),
        "{} vs {}",
        show(&x),
        show(&y)
    );
    assert!(
        String::from_utf8_lossy(&y.stdout).starts_with("ERROR: CANT_REREAD: "),
        "{}",
        show(&y)
    );
    for (s, text) in [&a, &b].into_iter().zip(&good) {
        std::fs::write(s.conf(), text).unwrap();
    }

    both(&a, &b, &["reload"]);
    a.wait_running(4);
    b.wait_running(4);
    both(&a, &b, &["status"]);
    both(&a, &b, &["shutdown"]);
    a.wait_exit();
    b.wait_exit();
    assert!(
        !b.dir.path().join("sock").exists(),
        "steward left its socket behind"
    );
    assert!(!b.dir.path().join("supervisord.pid").exists());
    for args in [&["status"][..], &["start", "web"], &["tail", "web"]] {
        both(&a, &b, args);
    }
}

/// The stock supervisorctl drives the whole steward binary (engine + control) as it drives supervisord.
#[test]
fn stock_supervisorctl_drives_steward_binary() {
    script_against_steward(false);
}

/// steward ctl drives the steward binary as supervisorctl drives supervisord.
#[test]
fn steward_ctl_drives_steward_binary() {
    script_against_steward(true);
}

/// Send one raw XML-RPC request over a unix socket; (status code, body).
fn raw_call(sock: &Path, body: &str) -> (u16, Vec<u8>) {
    use std::io::Write as _;
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let status = String::from_utf8_lossy(&out)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => out[i + 4..].to_vec(),
        None => Vec::new(),
    };
    (status, body)
}

/// steward's server and a real supervisord answer the same requests with the same bytes, for
/// every answer that does not depend on pids, clocks or the engine's timing.
#[test]
fn wire_parity_with_real_supervisord() {
    use steward::control::xmlrpc::{encode_call, Value};
    let venv = venv();
    let real = Supervisord::start(&venv);
    let dir = tempfile::tempdir().unwrap();
    let fake = TestServer::start(dir.path().join("sock"), None, Limits::default(), || {
        // In supervisord's start order: equal priorities, so by group name.
        let b = FakeEngine::new(vec![
            FakeProcess::new("badcmd", "badcmd", None).autostart(false),
            FakeProcess::new("failfast", "failfast", None).autostart(false),
            FakeProcess::new("manual", "manual", None).autostart(false),
            FakeProcess::new("multi", "multi_00", None),
            FakeProcess::new("multi", "multi_01", None),
            FakeProcess::new("web", "web", None),
        ]);
        b.run("web", "web");
        b.run("multi", "multi_00");
        b.run("multi", "multi_01");
        b
    })
    .unwrap();
    let s = |x: &str| Value::str(x);
    let i = Value::Int;
    let call = |name: &str, params: Vec<Value>| encode_call(name, &params);
    let mc = |calls: Vec<Value>| encode_call("system.multicall", &[Value::Array(calls)]);
    let entry = |m: &str, p: Vec<Value>| {
        Value::structure([("methodName", Value::str(m)), ("params", Value::Array(p))])
    };
    let mut requests = vec![
        call("system.listMethods", vec![]),
        call("supervisor.getAPIVersion", vec![]),
        call("supervisor.getVersion", vec![]),
        call("supervisor.getSupervisorVersion", vec![]),
        call("supervisor.getIdentification", vec![]),
        call("supervisor.getState", vec![]),
        call("a.b.c", vec![]),
        call("supervisor._update", vec![]),
        call("supervisor.nosuch", vec![]),
        call("nosuch.getState", vec![]),
        call("supervisor", vec![]),
        call("supervisor.getPID", vec![i(1)]),
        call("supervisor.startProcess", vec![]),
        call("supervisor.getProcessInfo", vec![s("nosuch")]),
        call("supervisor.getProcessInfo", vec![s("multi:*")]),
        call("supervisor.getProcessInfo", vec![s("multi_00")]),
        call("supervisor.getProcessInfo", vec![s("multi:nosuch")]),
        call("supervisor.startProcess", vec![s("web")]),
        call("supervisor.startProcess", vec![s("multi:multi_00")]),
        call("supervisor.startProcess", vec![s("nosuch:*")]),
        call("supervisor.startProcessGroup", vec![s("nosuch")]),
        call("supervisor.stopProcess", vec![s("manual")]),
        call("supervisor.stopProcessGroup", vec![s("nosuch")]),
        call("supervisor.signalProcess", vec![s("web"), s("FOO")]),
        call("supervisor.signalProcess", vec![s("web"), s("99")]),
        call("supervisor.signalProcess", vec![s("manual"), s("HUP")]),
        call("supervisor.signalProcess", vec![s("nosuch"), s("HUP")]),
        call("supervisor.signalProcessGroup", vec![s("nosuch"), s("HUP")]),
        call("supervisor.signalAllProcesses", vec![s("NOPE")]),
        call(
            "supervisor.readProcessStdoutLog",
            vec![s("manual"), i(0), i(0)],
        ),
        call(
            "supervisor.readProcessStdoutLog",
            vec![s("nosuch"), i(0), i(0)],
        ),
        call(
            "supervisor.tailProcessStdoutLog",
            vec![s("manual"), i(0), i(10)],
        ),
        call(
            "supervisor.tailProcessStderrLog",
            vec![s("nosuch"), i(0), i(10)],
        ),
        call("supervisor.addProcessGroup", vec![s("web")]),
        call("supervisor.addProcessGroup", vec![s("zzz")]),
        call("supervisor.removeProcessGroup", vec![s("web")]),
        call("supervisor.removeProcessGroup", vec![s("zzz")]),
        call("supervisor.clearProcessLogs", vec![s("nosuch")]),
        call("supervisor.sendProcessStdin", vec![s("manual"), s("x")]),
        call("supervisor.sendProcessStdin", vec![s("nosuch"), s("x")]),
        call("supervisor.reloadConfig", vec![]),
        call("system.methodSignature", vec![s("nope.nope")]),
        call("system.methodHelp", vec![s("nope.nope")]),
        mc(vec![
            entry("supervisor.getAPIVersion", vec![]),
            entry("supervisor.startProcess", vec![s("web")]),
            Value::structure([("params", Value::Array(vec![]))]),
            entry("system.multicall", vec![]),
            entry("nope.nope", vec![]),
            Value::structure([("methodName", Value::str("supervisor.getState"))]),
        ]),
    ];
    for (m, _) in steward::control::rpc::METHODS {
        requests.push(call("system.methodSignature", vec![s(m)]));
    }
    // Forms only supervisord's lenient parser accepts: unknown types read as strings, any
    // boolean text but "1" is false, params may be left out, untyped values are strings.
    requests.extend(
        [
            "<methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value><i8>nosuch</i8></value></param></params></methodCall>",
            "<methodCall><methodName>supervisor.stopProcess</methodName><params><param><value>manual</value></param><param><value><boolean>yes</boolean></value></param></params></methodCall>",
            "<methodCall><methodName>supervisor.getAPIVersion</methodName></methodCall>",
            "<?xml version=\"1.0\"?><!-- c --><methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value><string>m&#117;lti:nosuch &amp; &lt;x&gt;</string></value></param></params></methodCall>",
        ]
        .map(String::from),
    );
    let real_sock = real.dir.path().join("sock");
    for req in &requests {
        let (a, b) = (raw_call(&real_sock, req), raw_call(&fake.socket, req));
        assert_eq!(
            (a.0, String::from_utf8_lossy(&a.1)),
            (b.0, String::from_utf8_lossy(&b.1)),
            "request:\n{req}"
        );
    }
    // Unparsable bodies: both 400.
    for bad in [
        "<methodCall><oops",
        "<methodCall><methodName></methodName></methodCall>",
        "<methodCall><methodName>supervisor.getPID</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
    ] {
        assert_eq!(raw_call(&real_sock, bad).0, 400, "{bad}");
        assert_eq!(raw_call(&fake.socket, bad).0, 400, "{bad}");
    }
    // An empty body: supervisord never answers it (a quirk); steward says 400.
    assert_eq!(raw_call(&fake.socket, "").0, 400);
}

/// Priorities that differ from name order, a group between programs (and tied with one: the group
/// name decides), a program whose start waits for startsecs (listed after the immediate answers
/// although its priority is lowest), and one whose command does not exist (an immediate fault).
/// Each program ignores SIGTERM and ends when its FIFO is opened and closed (see [`stop_together`]).
const ORDER_CONFIG: &str = concat!(
    head!(),
    r#"[program:late]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
priority=1
startsecs=1

[program:mid]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
priority=5
startsecs=0

[program:zeta]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
priority=10
startsecs=0

[program:nofile]
command=/nonexistent/thing
priority=12
autostart=false

[group:grp]
programs=gb,ga
priority=15

[program:gb]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
priority=900
startsecs=0

[program:ga]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
startsecs=0

[program:yak]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
priority=15
startsecs=0

[program:beta]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
priority=30
startsecs=0

[program:aardvark]
command=/bin/sh -c 'trap "" TERM; read x < %(here)s/%(program_name)s.fifo; exit 0'
priority=40
startsecs=0
"#
);

const ORDER_PROGRAMS: &[&str] = &["late", "mid", "zeta", "gb", "ga", "yak", "beta", "aardvark"];

impl Supervisord {
    /// `ctl CTL_ARGS -c CONF ARGS` (the stock supervisorctl, or steward with `ctl`) as a command.
    fn ctl_command(&self, ctl: &Path, ctl_args: &[&str], args: &[&str]) -> Command {
        let mut c = Command::new(ctl);
        c.args(ctl_args).arg("-c").arg(self.conf()).args(args);
        c
    }

    fn run_ctl(&self, ctl: &Path, ctl_args: &[&str], args: &[&str]) -> Output {
        self.ctl_command(ctl, ctl_args, args).output().unwrap()
    }

    /// Every running program ignores SIGTERM by now (its shell ran `trap`).
    fn wait_settled(&self, running: usize) {
        wait_for(
            Duration::from_secs(20),
            "every program ignoring SIGTERM",
            || {
                let o = self.supervisorctl(&["pid", "all"]);
                let pids: Vec<i32> = String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .filter(|&p| p > 0)
                    .collect();
                let ignoring = pids.iter().all(|p| {
                    let status =
                        std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("SigIgn:\t"))
                        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
                        .is_some_and(|m| m & (1 << (libc::SIGTERM - 1)) != 0)
                });
                (pids.len() == running && ignoring).then_some(())
            },
        );
    }
}

/// Open (and close at once) the write end of a program's FIFO: the program's `read` gets EOF and it
/// exits 0. Non-blocking, so it fails (ENXIO) rather than waits while the program has yet to open its
/// end.
fn open_fifo_for_writing(fifo: &Path) {
    use std::os::unix::fs::OpenOptionsExt as _;
    wait_for(
        Duration::from_secs(20),
        "the program's end of its FIFO",
        || {
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(fifo)
                .ok()
        },
    );
}

/// Run a stopping command (`stop …`, `restart …`) with `ctl`, and end the `stopping` programs once the
/// server has signalled them all (they ignore SIGTERM). supervisord answers a stop of several processes
/// from polls 50 ms apart, each poll's stopped processes in start order; left to die on SIGTERM on a
/// busy machine, some die a poll later than others and its answer comes in an order that is the
/// machine's. So the server is stopped (SIGSTOP) while they end, and reaps them all at once: the
/// order supervisord gives on an idle machine, every time.
fn stop_together(
    s: &Supervisord,
    ctl: &Path,
    ctl_args: &[&str],
    args: &[&str],
    stopping: &[&str],
) -> Output {
    let status = String::from_utf8_lossy(&s.supervisorctl(&["status"]).stdout).to_string();
    let pids: Vec<i32> = status
        .lines()
        .filter(|l| {
            let spec = l.split_whitespace().next().unwrap_or_default();
            stopping.contains(&spec.rsplit(':').next().unwrap_or_default())
        })
        .filter_map(|l| l.split("pid ").nth(1)?.split(',').next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), stopping.len(), "{status}");
    let child = s
        .ctl_command(ctl, ctl_args, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(Duration::from_secs(20), "every program STOPPING", || {
        let o = s.supervisorctl(&["status"]);
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        (t.matches("STOPPING").count() == stopping.len()).then_some(())
    });
    let server = s.child.as_ref().unwrap().id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    unsafe { libc::kill(server, libc::SIGSTOP) };
    for name in stopping {
        open_fifo_for_writing(&s.dir.path().join(format!("{name}.fifo")));
    }
    wait_for(
        Duration::from_secs(20),
        "every stopped program a zombie",
        || {
            pids.iter()
                .all(|p| {
                    std::fs::read_to_string(format!("/proc/{p}/stat"))
                        .ok()
                        .and_then(|st| {
                            st.rsplit_once(')')
                                .map(|(_, r)| r.trim_start().starts_with('Z'))
                        })
                        .unwrap_or(false)
                })
                .then_some(())
        },
    );
    // SAFETY: as above.
    unsafe { libc::kill(server, libc::SIGCONT) };
    child.wait_with_output().unwrap()
}

/// The stock supervisorctl prints the result array of `startAllProcesses`/`stopAllProcesses` (and the
/// group forms) as supervisord returns it; steward's server orders its results the same way, so
/// steward ctl against steward prints the same lines in the same order.
#[test]
fn start_stop_restart_all_print_in_supervisorctls_order() {
    let venv = venv();
    let fifos: Vec<String> = ORDER_PROGRAMS.iter().map(|p| format!("{p}.fifo")).collect();
    let fifos: Vec<&str> = fifos.iter().map(String::as_str).collect();
    let a =
        Supervisord::launch_with_fifos(&venv.join("bin/supervisord"), &venv, ORDER_CONFIG, &fifos);
    let b = Supervisord::launch_with_fifos(&steward(), &venv, ORDER_CONFIG, &fifos);
    let running = ORDER_PROGRAMS.len();
    for s in [&a, &b] {
        s.wait_running(running);
    }
    let supervisorctl = venv.join("bin/supervisorctl");
    // Both clients restart as a stop then a start (the same RPCs as `stop X` and `start X`, from the
    // same states), so each restart compares the stop order and then the start order.
    let script: &[&[&str]] = &[
        &["restart", "all"],
        &["signal", "CONT", "all"],
        &["restart", "grp:*"],
    ];
    for args in script {
        let stopping: &[&str] = match args[1] {
            "all" => ORDER_PROGRAMS,
            _ => &["gb", "ga"],
        };
        let stops = args[0] == "restart";
        let stewards = steward();
        let run = |s: &Supervisord, ctl: &Path, ctl_args: &[&str]| {
            if stops {
                s.wait_settled(running);
                // Both servers list results by poll rounds: line up their reaping alike.
                stop_together(s, ctl, ctl_args, args, stopping)
            } else {
                s.run_ctl(ctl, ctl_args, args)
            }
        };
        // The two servers side by side, each with its own client.
        let (x, y) = std::thread::scope(|scope| {
            let x = scope.spawn(|| run(&a, &supervisorctl, &[]));
            let y = run(&b, &stewards, &["ctl"]);
            (x.join().unwrap(), y)
        });
        assert_eq!(
            show(&x),
            show(&y),
            "`{}`: supervisorctl against supervisord (left) and steward ctl against steward (right) \
             print a different order",
            args.join(" ")
        );
        if *args == ["restart", "all"] {
            // The script is only a test of order if the order is not the alphabet's.
            let out = std::str::from_utf8(&y.stdout).unwrap();
            let stopped = out.lines().filter(|l| l.ends_with(": stopped")).count();
            let started: Vec<&str> = out.lines().filter(|l| l.ends_with(": started")).collect();
            assert_eq!(stopped, running, "{out}");
            assert_eq!(started.first(), Some(&"mid: started"), "{out}");
            assert_eq!(started.last(), Some(&"late: started"), "{out}");
        }
    }
    // Programs that ignore SIGTERM would hold each server's shutdown for stopwaitsecs: end them (EOF on
    // their FIFOs; exit 0 is expected, so they are not restarted) before the servers are dropped.
    for s in [&a, &b] {
        for name in ORDER_PROGRAMS {
            open_fifo_for_writing(&s.dir.path().join(format!("{name}.fifo")));
        }
    }
}

/// `help` in the shell, as a script piped to it would see it: supervisorctl's table unchanged, then
/// steward's own commands, each of which has help of its own.
#[test]
fn shell_help_is_supervisorctls_table_then_stewards_commands() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("unix://{}", dir.path().join("none.sock").display());
    let shell = |ctl: &Path, input: &str| {
        let mut cmd = Command::new(ctl);
        cmd.args(["-s", &url])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        String::from_utf8(common::output_with_input(&mut cmd, input.as_bytes()).stdout).unwrap()
    };
    let theirs = shell(&venv().join("bin/supervisorctl"), "help\n");
    let link = dir.path().join("supervisorctl");
    std::os::unix::fs::symlink(steward(), &link).unwrap();
    let ours = shell(&link, "help\nhelp health\n");
    // The table ends with a blank line; the prompt for the next line (where input ran out) follows.
    let table = &theirs[..theirs.rfind("supervisor> ").unwrap()];
    assert!(
        table.contains("default commands (type help <topic>):"),
        "{theirs}"
    );
    let rest = ours
        .strip_prefix(table)
        .unwrap_or_else(|| panic!("supervisorctl's table changed:\n{ours}\nvs\n{theirs}"));
    let own =
        "steward commands (type help <topic>):\n=====================================\nhealth\n\n";
    let rest = rest
        .strip_prefix(own)
        .unwrap_or_else(|| panic!("no table of steward's commands after it:\n{ours}"));
    assert!(
        rest.starts_with("supervisor> health\t") && rest.contains("RUNNING"),
        "{rest}"
    );
}
