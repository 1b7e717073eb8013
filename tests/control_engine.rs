//! The control server as the running steward serves it (engine behind it), black box: hostile
//! clients, /healthz and `steward ctl health`, bind conflicts, stdin, log clearing, group updates,
//! the inet server with auth, and re-binding on SIGHUP.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use common::http::{body_of, call, mangle, post, raw, status_of, GARBAGE_KINDS};
use common::{wait_for, Pid1};
use proptest::prelude::*;
use steward::control::xmlrpc::{encode_call, Value};

const TWO: &str = "[unix_http_server]\nfile={dir}/sock\n\n\
[program:a]\ncommand=/bin/sleep 1000\nstartsecs=0\nstdout_logfile={dir}/a.out\n\n\
[program:b]\ncommand=/bin/cat\nstartsecs=0\nstdout_logfile={dir}/b.out\nstdout_logfile_backups=2\n";

/// (namespec, statename, pid) of every process.
fn table(sock: &Path) -> Vec<(String, String, i64)> {
    let Ok(Value::Array(all)) = call(sock, "supervisor.getAllProcessInfo", &[]) else {
        panic!("getAllProcessInfo failed");
    };
    all.iter()
        .map(|p| {
            let s = |k: &str| match p.get(k) {
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            let pid = match p.get("pid") {
                Some(Value::Int(i)) => *i,
                _ => 0,
            };
            (format!("{}:{}", s("group"), s("name")), s("statename"), pid)
        })
        .collect()
}

fn all_running(sock: &Path, n: usize) -> Vec<(String, String, i64)> {
    wait_for(Duration::from_secs(10), "all programs RUNNING", || {
        if !sock.exists() {
            return None;
        }
        let t = table(sock);
        (t.len() == n && t.iter().all(|(_, s, _)| s == "RUNNING")).then_some(t)
    })
}

fn start(programs: &str) -> (Pid1, tempfile::TempDir) {
    Pid1::with_conf(programs)
}

fn shutdown(sock: &Path, p: Pid1) {
    common::http::shutdown(sock, p);
    assert!(!sock.exists(), "the socket outlived steward");
}

#[test]
fn thousands_of_bad_requests_leave_steward_serving_and_its_programs_running() {
    let (p, dir) = start(TWO);
    let sock = dir.path().join("sock");
    let before = all_running(&sock, 2);
    let good = post(
        &encode_call("supervisor.getProcessInfo", &[Value::str("a")]),
        "",
    );
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 3000,
        failure_persistence: None,
        ..Default::default()
    });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..300),
        0usize..good.len(),
        0..GARBAGE_KINDS,
    );
    runner
        .run(&strategy, |(noise, cut, kind)| {
            let bytes = mangle(&good, noise, cut, kind);
            let resp = raw(&sock, &bytes);
            prop_assert!(resp.is_empty() || resp.starts_with(b"HTTP/1."));
            Ok(())
        })
        .unwrap();
    let resp = raw(&sock, &good);
    assert_eq!(status_of(&resp), 200);
    assert_eq!(
        call(&sock, "supervisor.getState", &[])
            .unwrap()
            .get("statename"),
        Some(&Value::str("RUNNING"))
    );
    assert_eq!(table(&sock), before, "a program was disturbed");
    shutdown(&sock, p);
}

#[test]
fn healthz_and_ctl_health_follow_the_engine() {
    let (p, dir) = start(TWO);
    let sock = dir.path().join("sock");
    all_running(&sock, 2);
    let get = |path: &str| {
        raw(
            &sock,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    };
    let ctl_health =
        || common::run(&["ctl", "-s", &format!("unix://{}", sock.display()), "health"]);
    let r = get("/healthz");
    assert_eq!((status_of(&r), body_of(&r)), (200, &b"ok\n"[..]));
    assert_eq!(ctl_health().status.code(), Some(0));
    call(&sock, "supervisor.stopProcess", &[Value::str("b")]).unwrap();
    let r = get("/healthz");
    assert_eq!(status_of(&r), 503);
    assert!(String::from_utf8_lossy(body_of(&r)).contains("b STOPPED"));
    let o = ctl_health();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    shutdown(&sock, p);
}

#[test]
fn a_socket_in_use_is_exit_2_before_anything_starts() {
    let (p, dir) = start(TWO);
    let sock = dir.path().join("sock");
    all_running(&sock, 2);
    let other = common::tempdir();
    let marker = other.path().join("started");
    let conf = common::write(
        other.path(),
        "second.conf",
        &format!(
            "[supervisord]\nlogfile={o}/log\npidfile={o}/pid\n\n[unix_http_server]\nfile={s}\n\n\
             [program:x]\ncommand=/bin/touch {m}\nstartsecs=0\nautorestart=false\n",
            o = other.path().display(),
            s = sock.display(),
            m = marker.display()
        ),
    );
    let o = common::run(&["-c", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("Error: Another program is already listening"),
        "{err}"
    );
    assert!(!marker.exists(), "a program started despite the bind error");
    assert!(!other.path().join("pid").exists());
    // The first steward still owns and serves the socket.
    all_running(&sock, 2);
    shutdown(&sock, p);
}

#[test]
fn stdin_log_clearing_and_group_updates() {
    let (p, dir) = start(TWO);
    let sock = dir.path().join("sock");
    all_running(&sock, 2);
    call(
        &sock,
        "supervisor.sendProcessStdin",
        &[Value::str("b"), Value::str("through stdin\n")],
    )
    .unwrap();
    common::wait_for_text(
        &dir.path().join("b.out"),
        "through stdin",
        Duration::from_secs(10),
    );
    std::fs::write(dir.path().join("b.out.1"), "old\n").unwrap();
    call(&sock, "supervisor.clearProcessLogs", &[Value::str("b")]).unwrap();
    assert_eq!(std::fs::read(dir.path().join("b.out")).unwrap(), b"");
    // As in supervisord, clearing removes the live file only; rotated backups stay.
    assert!(dir.path().join("b.out.1").exists());
    call(&sock, "supervisor.stopProcess", &[Value::str("b")]).unwrap();
    let f = call(
        &sock,
        "supervisor.sendProcessStdin",
        &[Value::str("b"), Value::str("x")],
    )
    .unwrap_err();
    assert_eq!(f.code, 70, "{f:?}");
    // remove needs it stopped; add of an active group is refused; add brings it back started.
    let f = call(&sock, "supervisor.removeProcessGroup", &[Value::str("a")]).unwrap_err();
    assert_eq!(f.code, 91, "{f:?}");
    call(&sock, "supervisor.removeProcessGroup", &[Value::str("b")]).unwrap();
    let f = call(&sock, "supervisor.addProcessGroup", &[Value::str("a")]).unwrap_err();
    assert_eq!(f.code, 90, "{f:?}");
    call(&sock, "supervisor.addProcessGroup", &[Value::str("b")]).unwrap();
    let t = all_running(&sock, 2);
    assert_eq!(t[0].0, "a:a");
    call(&sock, "supervisor.clearLog", &[]).unwrap();
    shutdown(&sock, p);
}

#[test]
fn sighup_moves_the_socket_and_inet_serves_with_auth() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let inet =
        format!("[inet_http_server]\nport=127.0.0.1:{port}\nusername=u\npassword=p\n\n{TWO}");
    let (p, dir) = start(&inet);
    let sock = dir.path().join("sock");
    all_running(&sock, 2);
    let tcp = |auth: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = encode_call("supervisor.getState", &[]);
        let req = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        status_of(&out)
    };
    assert_eq!(tcp(""), 401);
    // "u:p"
    assert_eq!(tcp("Authorization: Basic dTpw\r\n"), 200);
    let conf = dir.path().join("supervisord.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("/sock\n", "/sock2\n")).unwrap();
    p.signal(libc::SIGHUP);
    let sock2 = dir.path().join("sock2");
    all_running(&sock2, 2);
    wait_for(Duration::from_secs(10), "the old socket to go", || {
        (!sock.exists()).then_some(())
    });
    assert_eq!(tcp("Authorization: Basic dTpw\r\n"), 200);
    shutdown(&sock2, p);
}
