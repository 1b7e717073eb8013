//! Container lifecycles beyond supervisord, black-box with steward as PID 1: critical programs and
//! steward's exit status, `depends_on` start and stop order, ready checks (tcp, http, sd_notify),
//! liveness restarts, the clean end of leftover processes, programs that daemonize themselves.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

/// `[unix_http_server]` in the test directory, so `steward ctl` and supervisorctl can talk to it.
const SOCKET: &str =
    "[unix_http_server]\nfile={dir}/s.sock\n[supervisorctl]\nserverurl=unix://{dir}/s.sock\n";

fn ctl(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("ctl")
        .arg("-c")
        .arg(dir.join("supervisord.conf"))
        .args(args)
        .output()
        .expect("run steward ctl")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The line of `status` output for `name`.
fn status_line(dir: &Path, name: &str) -> String {
    text(&ctl(dir, &["status", name]))
}

fn supervisorctl() -> PathBuf {
    let Some(p) = std::env::var_os("SUPERVISORCTL").map(PathBuf::from) else {
        missing("the stock supervisorctl (SUPERVISORCTL)");
    };
    if !p.is_file() {
        missing(&format!("the stock supervisorctl at {}", p.display()));
    }
    p
}

fn python() -> &'static str {
    if Command::new("python3").arg("-V").output().is_err() {
        missing("python3");
    }
    "python3"
}

#[test]
fn critical_program_exit_3_stops_the_rest_in_order_and_is_steward_status() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:first]\ncommand=sleep 1000\npriority=1\nstartsecs=0\n\
         [program:second]\ncommand=sleep 1000\npriority=2\nstartsecs=0\n\
         [program:main]\ncommand=sh -c 'sleep 0.5; exit 3'\npriority=3\nstartsecs=0\n\
         autorestart=false\ncritical=true\n",
    );
    assert_eq!(p.wait_exit(T), Some(3));
    let log = p.stdout();
    assert!(
        log.contains(
            "CRIT critical program main entered EXITED (exit status 3): stopping everything, steward will exit 3"
        ),
        "{log}"
    );
    assert!(pos(&log, "stopped: second") < pos(&log, "stopped: first"));
}

#[test]
fn critical_program_killed_by_sigkill_is_137() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:other]\ncommand=sleep 1000\nstartsecs=0\n\
         [program:main]\ncommand=sh -c 'sleep 0.3; kill -9 $$'\nstartsecs=0\nautorestart=false\n\
         critical=true\n",
    );
    assert_eq!(p.wait_exit(T), Some(137));
    let log = p.stdout();
    assert!(log.contains("terminated by SIGKILL"), "{log}");
    assert!(log.contains("stopped: other"), "{log}");
}

#[test]
fn critical_program_that_cannot_be_spawned_is_127() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:other]\ncommand=sleep 1000\nstartsecs=0\n\
         [program:main]\ncommand=/nonexistent/server\nstartretries=1\ncritical=true\n",
    );
    assert_eq!(p.wait_exit(T), Some(127));
    let log = p.stdout();
    assert!(
        log.contains("critical program main entered FATAL (it could not be spawned)"),
        "{log}"
    );
}

#[test]
fn without_a_critical_program_exit_is_0_and_a_plain_exit_changes_nothing() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:once]\ncommand=sh -c 'exit 3'\nstartsecs=0\nautorestart=false\n\
         [program:other]\ncommand=sleep 1000\nstartsecs=0\n",
    );
    p.wait_stdout("exited: once (exit status 3; not expected)", T);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn a_dependency_chain_starts_in_graph_order_and_stops_in_reverse() {
    let py = python();
    let (db_port, app_port) = (free_port(), free_port());
    let dir = tempdir();
    // The database listens only after 2 s; the app serves HTTP at once; migrate is a one-shot.
    write(
        dir.path(),
        "db.py",
        &format!(
            "import socket, time\ntime.sleep(2)\ns = socket.socket()\n\
             s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.bind(('127.0.0.1', {db_port}))\ns.listen()\nprint('db listening', flush=True)\n\
             while True:\n    c, _ = s.accept()\n    c.close()\n"
        ),
    );
    // app and migrate check that db really accepts connections when they start.
    write(
        dir.path(),
        "probe.py",
        &format!("import socket\nsocket.create_connection(('127.0.0.1', {db_port})).close()\n"),
    );
    let probe = format!("{py} {}/probe.py", dir.path().display());
    let programs = format!(
        "{SOCKET}\
         [program:app]\ncommand=sh -c '{probe} && exec {py} -m http.server {app_port} --bind 127.0.0.1'\n\
         priority=1\ndepends_on=db, migrate:exited\nready_check=http://127.0.0.1:{app_port}/\n\
         stopwaitsecs=2\n\
         [program:migrate]\ncommand=sh -c '{probe} && echo migrated'\npriority=2\nstartsecs=0\n\
         autorestart=false\ndepends_on=db\n\
         [program:db]\ncommand={py} -u {{dir}}/db.py\npriority=3\nready_check=tcp:127.0.0.1:{db_port}\n\
         stopwaitsecs=2\n"
    );
    let (mut p, dir) = Pid1::in_dir(dir, "", &programs);
    p.wait_stdout("spawned: 'db'", T);
    // While db is not ready, app and migrate wait, and say so.
    let line = wait_for(T, "app waiting in status", || {
        let l = status_line(dir.path(), "app");
        l.contains("waiting for db").then_some(l)
    });
    assert!(line.starts_with("app "), "{line}");
    assert!(line.contains("STOPPED"), "{line}");
    // The stock supervisorctl shows it too, without breaking.
    let out = Command::new(supervisorctl())
        .args(["-c", dir.path().join("supervisord.conf").to_str().unwrap()])
        .arg("status")
        .output()
        .unwrap();
    let stock = text(&out);
    assert!(stock.contains("waiting for db"), "{stock}");
    assert!(stock.contains("db "), "{stock}");
    assert!(status_line(dir.path(), "db").contains("STARTING"));

    let log = p.wait_stdout(
        "success: app entered RUNNING state, its ready check passed",
        T,
    );
    let at = |needle: &str| times_of(&log, needle)[0];
    let db_spawned = at("spawned: 'db'");
    let db_ready = at("success: db entered RUNNING state, its ready check passed");
    let migrate_spawned = at("spawned: 'migrate'");
    let migrate_done = at("exited: migrate (exit status 0; expected)");
    let app_spawned = at("spawned: 'app'");
    assert!(db_ready - db_spawned >= 2000, "{log}");
    assert!(db_ready <= migrate_spawned, "{log}");
    assert!(migrate_done <= app_spawned, "{log}");
    assert!(pos(&log, "exited: migrate") < pos(&log, "spawned: 'app'"));
    assert!(!log.contains("not expected"), "{log}");

    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    let log = p.stdout();
    assert!(
        pos(&log, "stopped: app") < pos(&log, "stopped: db"),
        "{log}"
    );
}

#[test]
fn a_dependency_that_goes_fatal_leaves_its_dependants_waiting_with_the_reason() {
    let (mut p, dir) = Pid1::with_conf(&format!(
        "{SOCKET}[program:db]\ncommand=/nonexistent/db\nstartretries=0\n\
         [program:web]\ncommand=sleep 1000\ndepends_on=db\n"
    ));
    p.wait_stdout("gave up: db entered FATAL state", T);
    let line = wait_for(T, "web blocked in status", || {
        let l = status_line(dir.path(), "web");
        l.contains("db is FATAL").then_some(l)
    });
    assert!(line.contains("STOPPED"), "{line}");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    assert!(!p.stdout().contains("spawned: 'web'"));
}

#[test]
fn start_starts_what_a_program_needs_first() {
    let (mut p, dir) = Pid1::with_conf(&format!(
        "{SOCKET}[program:db]\ncommand=sleep 1000\nautostart=false\nstartsecs=1\n\
         [program:web]\ncommand=sleep 1000\nautostart=false\nstartsecs=0\ndepends_on=db\n"
    ));
    p.wait_stdout("steward started", T);
    wait_for(T, "the control socket", || {
        dir.path().join("s.sock").exists().then_some(())
    });
    let out = ctl(dir.path(), &["start", "web"]);
    assert!(text(&out).contains("web: started"), "{}", text(&out));
    // The log reaches stdout through steward's console queue, maybe after ctl's answer.
    let log = p.wait_stdout("spawned: 'web'", T);
    assert!(
        pos(&log, "success: db entered RUNNING") < pos(&log, "spawned: 'web'"),
        "{log}"
    );
    // Stopping a dependency of a running program is allowed, and said.
    let out = ctl(dir.path(), &["stop", "db"]);
    assert!(text(&out).contains("db: stopped"), "{}", text(&out));
    p.wait_stdout("stopping db while web (which depends on it) is running", T);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn a_dependency_cycle_is_a_config_error_naming_it() {
    let dir = tempdir();
    let path = conf(
        dir.path(),
        "[program:a]\ncommand=sleep 1\ndepends_on=b\n\
         [program:b]\ncommand=sleep 1\ndepends_on=c\n\
         [program:c]\ncommand=sleep 1\ndepends_on=a:exited\n\
         [program:d]\ncommand=sleep 1\ndepends_on=nosuch\n",
    );
    let out = run(&["-c", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    let line_of = |entry: &str| 1 + text.lines().position(|l| l == entry).unwrap();
    // The cycle is reported at the depends_on of its first program, with file:line.
    let want = format!(
        "{}:{}: [program:a] depends_on: dependency cycle: a -> b -> c -> a",
        path.display(),
        line_of("depends_on=b")
    );
    assert!(err.contains(&want), "{want}\nin:\n{err}");
    let want = format!(
        "{}:{}: [program:d] depends_on: depends on \"nosuch\", which is no program or group",
        path.display(),
        line_of("depends_on=nosuch")
    );
    assert!(err.contains(&want), "{want}\nin:\n{err}");
    let out = run(&["check", "-c", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sd_notify_ready_after_a_delay_keeps_starting_until_then() {
    let py = python();
    let dir = tempdir();
    write(
        dir.path(),
        "n.py",
        "import os, socket, time\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.connect(os.environ['NOTIFY_SOCKET'])\n\
         s.send(b'STATUS=warming up')\n\
         time.sleep(1.5)\n\
         s.send(b'READY=1\\nSTATUS=serving')\n\
         time.sleep(1000)\n",
    );
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        &format!("{SOCKET}[program:n]\ncommand={py} {{dir}}/n.py\nready_check=notify\n"),
    );
    let line = wait_for(T, "n STARTING with its status text", || {
        let l = status_line(dir.path(), "n");
        l.contains("warming up").then_some(l)
    });
    assert!(line.contains("STARTING"), "{line}");
    let log = p.wait_stdout(
        "success: n entered RUNNING state, its ready check passed",
        T,
    );
    let spawned = times_of(&log, "spawned: 'n'")[0];
    let ready = times_of(&log, "success: n entered RUNNING")[0];
    assert!(ready - spawned >= 1500, "{log}");
    let line = wait_for(T, "the new status text", || {
        let l = status_line(dir.path(), "n");
        l.contains("serving").then_some(l)
    });
    assert!(line.contains("RUNNING"), "{line}");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn not_ready_in_time_is_a_failed_start_then_fatal() {
    let port = free_port();
    let (mut p, _dir) = Pid1::with_conf(&format!(
        "[program:never]\ncommand=sleep 1000\nready_check=tcp:127.0.0.1:{port}\nready_timeout=1\n\
         startretries=1\n"
    ));
    let log = p.wait_stdout("gave up: never entered FATAL state", T);
    assert_eq!(
        count(&log, "was not ready within 1 seconds (tcp:127.0.0.1:"),
        2,
        "{log}"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn a_critical_program_that_is_never_ready_ends_steward_with_124() {
    let port = free_port();
    let (mut p, _dir) = Pid1::with_conf(&format!(
        "[program:never]\ncommand=sleep 1000\nready_check=tcp:127.0.0.1:{port}\nready_timeout=1\n\
         startretries=0\ncritical=true\n"
    ));
    assert_eq!(p.wait_exit(T), Some(124));
    let log = p.stdout();
    assert!(
        log.contains(
            "critical program never entered FATAL (it was never ready: not ready within 1 seconds \
             (ready_timeout)): stopping everything, steward will exit 124"
        ),
        "{log}"
    );
}

#[test]
fn a_failing_liveness_check_restarts_after_the_retries_and_is_unhealthy_meanwhile() {
    let dir = tempdir();
    write(dir.path(), "healthy", "yes");
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "{SOCKET}[program:app]\ncommand=sleep 1000\nstartsecs=0\n\
             health_check=exec:test -f {{dir}}/healthy\nhealth_interval=1\nhealth_retries=3\n"
        ),
    );
    p.wait_stdout("success: app", T);
    wait_for(T, "the control socket", || {
        dir.path().join("s.sock").exists().then_some(())
    });
    // Passing checks: healthy.
    p.wait_stdout("spawned: 'app'", T);
    let out = ctl(dir.path(), &["health"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let healthz = http::raw(
        &dir.path().join("s.sock"),
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(http::status_of(&healthz), 200);
    std::fs::remove_file(dir.path().join("healthy")).unwrap();
    p.wait_stdout("health check of app failed (1 of 3)", T);
    let out = ctl(dir.path(), &["health"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // 1 failure, or 2 if the next check came in between: the reason is the command's status.
    let said = text(&out);
    assert!(
        said.contains("unhealthy: app RUNNING but unhealthy ("),
        "{said}"
    );
    assert!(said.contains(": test exit status 1)"), "{said}");
    let healthz = http::raw(
        &dir.path().join("s.sock"),
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(http::status_of(&healthz), 503);
    let body = String::from_utf8_lossy(http::body_of(&healthz)).into_owned();
    assert!(body.contains("app RUNNING but unhealthy ("), "{body}");
    // Before the restart, the problem stays (not restarted before health_retries).
    let log = p.stdout();
    assert_eq!(count(&log, "spawned: 'app'"), 1, "{log}");
    let log = p.wait_stdout("app failed 3 health checks in a row", T);
    assert!(log.contains("health check of app failed (2 of 3)"), "{log}");
    p.wait_count("spawned: 'app'", 2, T);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn two_hundred_orphans_are_ended_within_the_grace() {
    // 200 background sleeps outlive their program; every fourth ignores SIGTERM.
    let (mut p, dir) = Pid1::with_conf_sd(
        "shutdown_grace=1",
        "[program:spawner]\ncommand=sh -c 'i=0; while [ $i -lt 200 ]; do \
         if [ $((i %% 4)) -eq 0 ]; then (trap \"\" TERM; exec sleep 1000) & else sleep 1000 & fi; \
         i=$((i+1)); done; echo up > {dir}/up; exec sleep 1000'\nstartsecs=0\nstopwaitsecs=2\n",
    );
    wait_for_text(&dir.path().join("up"), "up", T);
    // Each is `sleep` once exec'd (so a `trap` before it has taken effect), the program too.
    wait_for(T, "200 sleeps and the program's own", || {
        let sleeps = p
            .namespace_pids()
            .into_iter()
            .filter(|&pid| comm(pid).as_deref() == Some("sleep"))
            .count();
        (sleeps == 201).then_some(())
    });
    let asked = Instant::now();
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    let took = asked.elapsed();
    let log = p.stdout();
    assert!(
        log.contains("200 process(es) left behind by the programs: sending SIGTERM"),
        "{log}"
    );
    assert!(
        log.contains("50 process(es) still there after 1 s: sending SIGKILL"),
        "{log}"
    );
    assert!(!log.contains("output pipe(s) still open"), "{log}");
    // The grace was honoured, and not much more was spent.
    assert!(took >= Duration::from_secs(1), "{took:?}");
    // Without the clean end, steward would sit 3 s on the pipes the sleeps hold (and say so above).
    assert!(took < Duration::from_millis(3500), "{took:?}");
}

#[test]
fn a_program_that_daemonizes_itself_is_named_with_the_fix() {
    // An "nginx" that forks a child holding its output and exits, started through a shell wrapper.
    let dir = tempdir();
    let script = write(
        dir.path(),
        "nginx",
        "#!/bin/sh\nsleep 1000 &\necho $! > \"$1\"\nexit 0\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        "[program:web]\ncommand=sh -c 'exec {dir}/nginx {dir}/held'\nstartsecs=0\n\
         autorestart=false\n",
    );
    let log = p.wait_stdout("still holds its output", T);
    let held = wait_for_text(&dir.path().join("held"), "\n", T);
    let want =
        "still holds its output: it runs in the background; start it in the foreground, e.g. \
         nginx -g 'daemon off;' (or daemon off; in nginx.conf) (or set pidfile= to follow it)";
    assert!(log.contains("web (pid "), "{log}");
    assert!(
        log.contains(&format!("but pid {} {want}", held.trim())),
        "{log}"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn a_daemon_is_followed_through_its_pidfile() {
    let (mut p, dir) = Pid1::with_conf(&format!(
        "{SOCKET}[program:d]\ncommand=sh -c 'sleep 1000 & echo $! > {{dir}}/d.pid; exit 0'\n\
         pidfile={{dir}}/d.pid\nstartsecs=1\nstopwaitsecs=2\n"
    ));
    let log = p.wait_stdout("success: d entered RUNNING state", T);
    assert!(log.contains("following 'd': its daemon is pid"), "{log}");
    assert!(!log.contains("exited: d"), "{log}");
    let daemon = std::fs::read_to_string(dir.path().join("d.pid")).unwrap();
    let line = status_line(dir.path(), "d");
    assert!(
        line.contains(&format!("RUNNING   pid {}, uptime", daemon.trim())),
        "{line} vs {daemon}"
    );
    // Stopping the program stops the daemon.
    let out = ctl(dir.path(), &["stop", "d"]);
    assert!(text(&out).contains("d: stopped"), "{}", text(&out));
    // The log line reaches stdout through steward's console queue, maybe after ctl's answer.
    p.wait_stdout("stopped: d (terminated by SIGTERM)", T);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    assert!(!p.stdout().contains("left behind"), "{}", p.stdout());
}

#[test]
fn a_passed_ready_check_and_a_waiting_dependant_cost_no_wakeups() {
    let port = free_port();
    let (mut p, _dir) = Pid1::with_conf(&format!(
        "[program:srv]\ncommand={} -m http.server {port} --bind 127.0.0.1\n\
         ready_check=tcp:127.0.0.1:{port}\nstdout_logfile=NONE\nstderr_logfile=NONE\n\
         [program:never]\ncommand=sleep 1000\nautostart=false\n\
         [program:waiter]\ncommand=sleep 1000\ndepends_on=never\n",
        python()
    ));
    p.wait_stdout(
        "success: srv entered RUNNING state, its ready check passed",
        T,
    );
    let init = p.init_pid();
    // The ready check's task is gone once it passed: nothing polls.
    let woke = idle_wakeups(init, T, Duration::from_millis(1500));
    assert_eq!(woke, 0, "steward woke {woke} times");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn start_of_a_program_whose_dependency_cannot_start_answers_with_the_reason() {
    let (mut p, dir) = Pid1::with_conf(&format!(
        "{SOCKET}[program:db]\ncommand=/nonexistent/db\nautostart=false\nstartretries=0\n\
         [program:web]\ncommand=sleep 1000\nautostart=false\ndepends_on=db\n"
    ));
    wait_for(T, "the control socket", || {
        dir.path().join("s.sock").exists().then_some(())
    });
    // Through the stock supervisorctl: an answer, not a hang.
    let out = Command::new(supervisorctl())
        .args(["-c", dir.path().join("supervisord.conf").to_str().unwrap()])
        .args(["start", "web"])
        .output()
        .unwrap();
    let said = format!("{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("web: ERROR (spawn error)"), "{said}");
    let line = status_line(dir.path(), "web");
    assert!(line.contains("db is FATAL"), "{line}");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn bad_lifecycle_values_are_errors_with_file_and_line_in_ini_and_toml() {
    let dir = tempdir();
    let ini = conf(
        dir.path(),
        "[program:a]\ncommand=sleep 1\nready_check=ping\n\
         [program:b]\ncommand=sleep 1\ndepends_on=a:up\n\
         [program:c]\ncommand=sleep 1\nhealth_check=log:ready\nhealth_retries=0\n\
         [program:d]\ncommand=sleep 1\nready_timeout=soon\ncritical=maybe\n\
         [program:e]\ncommand=sleep 1\nready_timeout=0\nhealth_timeout=0\npidfile=\n\
         [supervisord]\nshutdown_grace=-1\n",
    );
    let out = run(&["check", "-c", ini.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&ini).unwrap();
    // The error for `key=value` names the line it is on.
    let at = |entry: &str, rest: &str| {
        let line = 1 + text.lines().position(|l| l == entry).expect(entry);
        let want = format!("{}:{line}: {rest}", ini.display());
        assert!(err.contains(&want), "{want}\nin:\n{err}");
    };
    at(
        "ready_check=ping",
        "[program:a] ready_check: invalid value \"ping\": expected tcp:HOST:PORT",
    );
    at(
        "depends_on=a:up",
        "[program:b] depends_on: invalid value: \"a:up\" has condition \"up\"",
    );
    at(
        "health_check=log:ready",
        "[program:c] health_check: invalid value \"log:ready\": log: is a readiness check only",
    );
    at(
        "health_retries=0",
        "[program:c] health_retries: invalid value 0: expected at least 1",
    );
    at(
        "ready_timeout=soon",
        "[program:d] ready_timeout: invalid value \"soon\"",
    );
    at(
        "critical=maybe",
        "[program:d] critical: invalid value \"maybe\"",
    );
    at(
        "ready_timeout=0",
        "[program:e] ready_timeout: invalid value 0: expected at least 1",
    );
    at(
        "health_timeout=0",
        "[program:e] health_timeout: invalid value 0: expected at least 1",
    );
    at(
        "pidfile=",
        "[program:e] pidfile: invalid value \"\": expected a file's path",
    );
    at(
        "shutdown_grace=-1",
        "[supervisord] shutdown_grace: invalid value \"-1\"",
    );

    let toml = write(
        dir.path(),
        "s.toml",
        "[supervisord]\nlogfile = \"NONE\"\n\
         [program.db]\ncommand = \"sleep 1\"\nready_check = \"tcp:localhost\"\n\
         [program.web]\ncommand = \"sleep 1\"\ndepends_on = [\"db\", \"cache\"]\ncritical = true\n\
         [program.d]\ncommand = \"sleep 1\"\nready_timeout = 0\nhealth_check = \"notify\"\n\
         health_interval = 0\nhealth_timeout = \"soon\"\nhealth_retries = -2\npidfile = \"\"\n",
    );
    let out = run(&["check", "-c", toml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:5: [program:db] ready_check: invalid value \"tcp:localhost\": \"localhost\" has no :PORT",
            toml.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:8: [program:web] depends_on: depends on \"cache\", which is no program or group",
            toml.display()
        )),
        "{err}"
    );
    for (line, rest) in [
        (12, "ready_timeout: invalid value 0: expected at least 1"),
        (14, "health_interval: invalid value 0: expected at least 1"),
        (15, "health_timeout: invalid value \"soon\""),
        (
            16,
            "health_retries: invalid value \"-2\": expected a non-negative integer",
        ),
        (17, "pidfile: invalid value \"\": expected a file's path"),
    ] {
        let want = format!("{}:{line}: [program:d] {rest}", toml.display());
        assert!(err.contains(&want), "{want}\nin:\n{err}");
    }
    // health_check = "notify" is valid.
    assert!(!err.contains(":13:"), "{err}");
}

#[test]
fn a_log_ready_check_reads_only_what_the_new_child_writes() {
    // The first run says "up" and fails after a while; the restart says something else. The old "up"
    // in the log file must not make the second run ready.
    let (mut p, dir) = Pid1::with_conf(
        "[program:l]\ncommand=sh -c 'if [ ! -e {dir}/once ]; then touch {dir}/once; echo up; \
         sleep 1; exit 1; fi; echo starting; exec sleep 1000'\nready_check=log:^up$\nready_timeout=2\n\
         stdout_logfile={dir}/l.log\nstartretries=0\n",
    );
    let log = p.wait_stdout("gave up: l entered FATAL state", T);
    assert_eq!(
        count(
            &log,
            "success: l entered RUNNING state, its ready check passed"
        ),
        1,
        "{log}"
    );
    assert!(
        log.contains("'l' was not ready within 2 seconds (log:^up$)"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("l.log")).unwrap(),
        "up\nstarting\n"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn a_notify_liveness_check_is_a_watchdog_that_restarts_a_silent_program() {
    let py = python();
    let dir = tempdir();
    // Ready, three pings half an interval apart, then silence. The second child is told apart by a
    // marker file: it asks for a restart once (WATCHDOG=trigger), then keeps pinging.
    write(
        dir.path(),
        "w.py",
        "import os, socket, sys, time\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.connect(os.environ['NOTIFY_SOCKET'])\n\
         usec = int(os.environ['WATCHDOG_USEC'])\n\
         print('usec', usec, flush=True)\n\
         s.send(b'READY=1')\n\
         again = os.path.exists(sys.argv[1])\n\
         open(sys.argv[1], 'w').close()\n\
         n = 0\n\
         while again or n < 3:\n\
         \x20   s.send(b'WATCHDOG=trigger' if again and n == 2 else b'WATCHDOG=1')\n\
         \x20   n += 1\n\
         \x20   time.sleep(usec / 2e6)\n\
         time.sleep(1000)\n",
    );
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "{SOCKET}[program:w]\ncommand={py} -u {{dir}}/w.py {{dir}}/again\n\
             ready_check=notify\nhealth_check=notify\nhealth_interval=1\nhealth_retries=2\n\
             stdout_logfile={{dir}}/w.log\n"
        ),
    );
    p.wait_stdout(
        "success: w entered RUNNING state, its ready check passed",
        T,
    );
    wait_for_text(&dir.path().join("w.log"), "usec 1000000", T);
    p.wait_stdout(
        "health check of w failed (1 of 2): no WATCHDOG=1 within 1 s",
        T,
    );
    let out = ctl(dir.path(), &["health"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("w RUNNING but unhealthy (1 failed health check: no WATCHDOG=1"),
        "{}",
        text(&out)
    );
    let log = p.wait_stdout("w failed 2 health checks in a row", T);
    // Not restarted before the second failure.
    let before = &log[..log.find("w failed 2 health checks").unwrap_or(0)];
    assert_eq!(count(before, "spawned: 'w'"), 1, "{log}");
    p.wait_count("success: w entered RUNNING state", 2, T);
    p.wait_stdout(
        "health check of w failed (1 of 2): it sent WATCHDOG=trigger",
        T,
    );
    p.wait_stdout("health check of w passes again", T);
    // The new child pings on: healthy.
    wait_for(T, "health to pass", || {
        (ctl(dir.path(), &["health"]).status.code() == Some(0)).then_some(())
    });
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn an_exec_ready_check_a_group_as_dependency_and_a_health_check_that_hangs() {
    let (mut p, dir) = Pid1::with_conf(&format!(
        "{SOCKET}[group:back]\nprograms=db\n\
         [program:db]\ncommand=sleep 1000\nready_check=exec:test -f {{dir}}/db-ready\n\
         [program:app]\ncommand=sleep 1000\nstartsecs=0\ndepends_on=back\n\
         health_check=exec:sleep 100\nhealth_interval=1\nhealth_timeout=1\nhealth_retries=5\n"
    ));
    wait_for(T, "the control socket", || {
        dir.path().join("s.sock").exists().then_some(())
    });
    // The exec check fails while the file is missing: db STARTING, app waits for the group.
    let line = wait_for(T, "app waiting for its group", || {
        let l = status_line(dir.path(), "app");
        l.contains("waiting for").then_some(l)
    });
    assert!(line.contains("STOPPED"), "{line}");
    assert!(status_line(dir.path(), "back:db").contains("STARTING"));
    // Not yet up is not healthy: `ctl health` names both.
    let out = ctl(dir.path(), &["health"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("unhealthy: app STOPPED"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("unhealthy: back:db STARTING"),
        "{}",
        text(&out)
    );
    write(dir.path(), "db-ready", "");
    p.wait_stdout(
        "success: db entered RUNNING state, its ready check passed",
        T,
    );
    let log = p.wait_stdout("spawned: 'app'", T);
    let ready = times_of(&log, "success: db entered RUNNING")[0];
    let spawned = times_of(&log, "spawned: 'app'")[0];
    assert!(spawned >= ready, "{log}");
    // `sleep 100` never answers: a failed check once health_timeout is over.
    p.wait_stdout(
        "health check of app failed (1 of 5): no answer within 1 s",
        T,
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    // The check's `sleep`, killed at the timeout, was reaped as the check's, not as a stranger.
    let log = p.stdout();
    assert!(!log.contains("reaped unknown pid"), "{log}");
}
