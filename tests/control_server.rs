//! The control server end to end over a real unix socket, against the FakeEngine: good requests,
//! auth, limits, hostile bytes, log streams, health.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::fake::{FakeEngine, FakeProcess, TestServer};
use common::http::{body_of, call, mangle, post, raw, status_of, GARBAGE_KINDS};
use proptest::prelude::*;
use steward::config::model::{Credentials, UnixServerSpec};
use steward::control::client::{CallError, Client, ServerUrl};
use steward::control::server::{bind_unix, Limits};
use steward::control::xmlrpc::{encode_call, Value};
use steward::engine::api::EngineError;

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("steward-ctl-test-")
        .tempdir()
        .unwrap()
}

fn procs(dir: &Path) -> Vec<FakeProcess> {
    vec![
        FakeProcess::new("web", "web", Some(dir)),
        FakeProcess::new("multi", "multi_00", Some(dir)),
        FakeProcess::new("multi", "multi_01", Some(dir)),
        FakeProcess::new("failfast", "failfast", Some(dir)).failing(EngineError::SpawnFailed),
        FakeProcess::new("manual", "manual", None).autostart(false),
    ]
}

fn server(dir: &Path, auth: Option<Credentials>, limits: Limits) -> TestServer {
    let d = dir.to_path_buf();
    TestServer::start(dir.join("sock"), auth, limits, move || {
        let b = FakeEngine::new(procs(&d));
        b.run("web", "web");
        b
    })
    .unwrap()
}

fn get_version_ok(sock: &Path) {
    let resp = raw(sock, &post(&encode_call("supervisor.getVersion", &[]), ""));
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains("content-type: text/xml\r\n") || text.contains("Content-Type: text/xml\r\n")
    );
    assert!(
        text.to_ascii_lowercase()
            .contains("content-length: 129\r\n"),
        "{text}"
    );
    assert!(!text.to_ascii_lowercase().contains("transfer-encoding"));
    assert_eq!(
        body_of(&resp),
        b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>3.0</string></value>\n</param>\n</params>\n</methodResponse>\n"
    );
}

#[test]
fn good_requests_and_socket_mode() {
    let dir = tmp();
    let srv = server(dir.path(), None, Limits::default());
    let mode = std::fs::metadata(&srv.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    get_version_ok(&srv.socket);

    let all = call(&srv.socket, "supervisor.getAllProcessInfo", &[]).unwrap();
    let names: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.get("name").unwrap().as_str().unwrap().to_string())
        .collect();
    // Sorted by group, then name.
    assert_eq!(names, ["failfast", "manual", "multi_00", "multi_01", "web"]);
    let keys: Vec<&str> = match &all.as_array().unwrap()[4] {
        Value::Struct(m) => m.iter().map(|(k, _)| k.as_str()).collect(),
        _ => panic!(),
    };
    assert_eq!(
        keys,
        [
            "name",
            "group",
            "start",
            "stop",
            "now",
            "state",
            "statename",
            "spawnerr",
            "exitstatus",
            "logfile",
            "stdout_logfile",
            "stderr_logfile",
            "pid",
            "description"
        ]
    );
    let web = &all.as_array().unwrap()[4];
    assert!(web
        .get("description")
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("pid "));

    // Faults with supervisord's codes and texts.
    let f = call(
        &srv.socket,
        "supervisor.startProcess",
        &[Value::str("nosuch")],
    )
    .unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (10, "BAD_NAME: nosuch"));
    let f = call(&srv.socket, "supervisor.startProcess", &[Value::str("web")]).unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (60, "ALREADY_STARTED: web"));
    let f = call(
        &srv.socket,
        "supervisor.startProcess",
        &[Value::str("failfast")],
    )
    .unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (50, "SPAWN_ERROR: failfast"));
    let f = call(
        &srv.socket,
        "supervisor.stopProcess",
        &[Value::str("manual")],
    )
    .unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (70, "NOT_RUNNING: manual"));
    let f = call(
        &srv.socket,
        "supervisor.signalProcess",
        &[Value::str("web"), Value::str("FOO")],
    )
    .unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (11, "BAD_SIGNAL: FOO"));
    let f = call(&srv.socket, "supervisor.getPID", &[Value::Int(1)]).unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (2, "INCORRECT_PARAMETERS"));
    let f = call(&srv.socket, "a.b.c", &[]).unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (1, "UNKNOWN_METHOD"));
    let f = call(&srv.socket, "supervisor._private", &[]).unwrap_err();
    assert_eq!(f.code, 1);
    let f = call(&srv.socket, "supervisor.startProcess", &[Value::Int(5)]).unwrap_err();
    assert_eq!(f.code, 2);

    // Group forms, and the result structs.
    let r = call(
        &srv.socket,
        "supervisor.startProcess",
        &[Value::str("multi:*")],
    )
    .unwrap();
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].get("status"), Some(&Value::Int(80)));
    assert_eq!(r[0].get("description"), Some(&Value::str("OK")));
    assert_eq!(r[0].get("group"), Some(&Value::str("multi")));
    let r = call(
        &srv.socket,
        "supervisor.signalProcess",
        &[Value::str("multi:"), Value::str("USR1")],
    )
    .unwrap();
    assert_eq!(r.as_array().unwrap().len(), 2);
    let sigs = srv.with(|b| b.inner.borrow().signals.clone());
    assert_eq!(
        sigs,
        vec![
            ("multi:multi_00".to_string(), 10),
            ("multi:multi_01".to_string(), 10)
        ]
    );
    assert!(call(
        &srv.socket,
        "supervisor.stopProcess",
        &[Value::str("multi:multi_00")]
    )
    .is_ok());

    // Multicall mixes plain values and fault structs.
    let calls = Value::Array(vec![
        Value::structure([
            ("methodName", Value::str("supervisor.getAPIVersion")),
            ("params", Value::Array(vec![])),
        ]),
        Value::structure([
            ("methodName", Value::str("supervisor.startProcess")),
            ("params", Value::Array(vec![Value::str("web")])),
        ]),
        Value::structure([
            ("methodName", Value::str("system.multicall")),
            ("params", Value::Array(vec![])),
        ]),
        Value::structure([("params", Value::Array(vec![]))]),
        Value::structure([("methodName", Value::str("supervisor.getState"))]),
    ]);
    let r = call(&srv.socket, "system.multicall", &[calls]).unwrap();
    let r = r.as_array().unwrap();
    assert_eq!(r[0], Value::str("3.0"));
    assert_eq!(r[1].get("faultCode"), Some(&Value::Int(60)));
    assert_eq!(
        r[2].get("faultString"),
        Some(&Value::str(
            "INCORRECT_PARAMETERS: Recursive system.multicall forbidden"
        ))
    );
    assert_eq!(
        r[3].get("faultString"),
        Some(&Value::str("INCORRECT_PARAMETERS: No methodName"))
    );
    assert_eq!(r[4].get("statename"), Some(&Value::str("RUNNING")));

    let m = call(&srv.socket, "system.listMethods", &[]).unwrap();
    assert_eq!(m.as_array().unwrap().len(), 41);
    let sig = call(
        &srv.socket,
        "system.methodSignature",
        &[Value::str("supervisor.tailProcessStdoutLog")],
    )
    .unwrap();
    assert_eq!(
        sig,
        Value::Array(
            ["array", "string", "int", "int"]
                .iter()
                .map(|s| Value::str(*s))
                .collect()
        )
    );
    let f = call(&srv.socket, "system.methodHelp", &[Value::str("nope.nope")]).unwrap_err();
    assert_eq!(f.code, 4);
}

#[test]
fn log_reads_follow_supervisord_offset_rules() {
    let dir = tmp();
    let srv = server(dir.path(), None, Limits::default());
    let log = dir.path().join("web.stdout.log");
    std::fs::write(&log, b"0123456789").unwrap();
    let read = |o: i64, l: i64| {
        call(
            &srv.socket,
            "supervisor.readProcessStdoutLog",
            &[Value::str("web"), Value::Int(o), Value::Int(l)],
        )
    };
    assert_eq!(read(-4, 0).unwrap(), Value::str("6789"));
    assert_eq!(read(-100, 0).unwrap(), Value::str("0123456789"));
    assert_eq!(read(2, 3).unwrap(), Value::str("234"));
    assert_eq!(read(7, 0).unwrap(), Value::str("789"));
    assert_eq!(read(-4, 2).unwrap_err().code, 3);
    assert_eq!(read(0, -1).unwrap_err().code, 3);
    let tail = |o: i64, l: i64| {
        call(
            &srv.socket,
            "supervisor.tailProcessStdoutLog",
            &[Value::str("web"), Value::Int(o), Value::Int(l)],
        )
        .unwrap()
    };
    assert_eq!(
        tail(0, 4),
        Value::Array(vec![Value::str("6789"), Value::Int(10), Value::Bool(true)])
    );
    // Python's tailFile moves a short read back so it still ends at EOF.
    assert_eq!(
        tail(8, 4),
        Value::Array(vec![Value::str("6789"), Value::Int(10), Value::Bool(false)])
    );
    assert_eq!(
        tail(10, 4),
        Value::Array(vec![Value::str(""), Value::Int(10), Value::Bool(false)])
    );
    // stderr log never written: NO_FILE for read, empty for tail.
    let f = call(
        &srv.socket,
        "supervisor.readProcessStderrLog",
        &[Value::str("web"), Value::Int(0), Value::Int(0)],
    )
    .unwrap_err();
    assert_eq!(f.code, 20);
    let t = call(
        &srv.socket,
        "supervisor.tailProcessStderrLog",
        &[Value::str("web"), Value::Int(0), Value::Int(10)],
    )
    .unwrap();
    assert_eq!(
        t,
        Value::Array(vec![Value::str(""), Value::Int(0), Value::Bool(false)])
    );
    assert_eq!(
        call(
            &srv.socket,
            "supervisor.clearProcessLogs",
            &[Value::str("web")]
        )
        .unwrap(),
        Value::Bool(true)
    );
    assert_eq!(std::fs::read(&log).unwrap(), b"");
}

#[test]
fn auth_plain_and_sha() {
    for password in [
        "thepassword",
        "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d",
    ] {
        let dir = tmp();
        let creds = Credentials {
            username: "user".into(),
            password: password.into(),
        };
        let srv = server(dir.path(), Some(creds), Limits::default());
        let body = encode_call("supervisor.getVersion", &[]);
        let resp = raw(&srv.socket, &post(&body, ""));
        let text = String::from_utf8_lossy(&resp).to_string();
        assert_eq!(status_of(&resp), 401, "{text}");
        assert!(text.contains("Basic realm=\"default\""), "{text}");
        assert!(!text.contains("3.0"));
        // user:wrong
        let resp = raw(
            &srv.socket,
            &post(&body, "Authorization: Basic dXNlcjp3cm9uZw==\r\n"),
        );
        assert_eq!(status_of(&resp), 401);
        // user:thepassword
        let resp = raw(
            &srv.socket,
            &post(&body, "Authorization: Basic dXNlcjp0aGVwYXNzd29yZA==\r\n"),
        );
        assert_eq!(status_of(&resp), 200);
        // Every path is behind auth, health too.
        let resp = raw(&srv.socket, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status_of(&resp), 401);
        // The client sends credentials.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = ServerUrl::Unix(srv.socket.clone());
        let good = Client::new(url.clone(), Some("user".into()), Some("thepassword".into()));
        assert_eq!(
            rt.block_on(good.call("supervisor.getVersion", &[]))
                .unwrap(),
            Value::str("3.0")
        );
        let bad = Client::new(url, Some("user".into()), Some("nope".into()));
        assert!(matches!(
            rt.block_on(bad.call("supervisor.getVersion", &[])),
            Err(CallError::Http { status: 401, .. })
        ));
    }
}

#[test]
fn limits_and_bad_http() {
    let dir = tmp();
    let limits = Limits {
        max_body: 4096,
        body_timeout: Duration::from_millis(300),
        header_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let srv = server(dir.path(), None, limits);
    // Declared too large: refused before reading.
    let resp = raw(
        &srv.socket,
        b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
    );
    assert_eq!(status_of(&resp), 413);
    // Chunked past the limit.
    let mut req = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(format!("800\r\n{}\r\n", "a".repeat(0x800)).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(status_of(&raw(&srv.socket, &req)), 413);
    assert_eq!(
        status_of(&raw(&srv.socket, b"GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n")),
        400
    );
    assert_eq!(
        status_of(&raw(&srv.socket, &post("<methodCall><oops", ""))),
        400
    );
    assert_eq!(status_of(&raw(&srv.socket, b"BLAH\r\n\r\n")), 400);
    assert_eq!(
        status_of(&raw(
            &srv.socket,
            b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
        )),
        404
    );
    // A body that never arrives: 408 once the body timeout passes (no other client waits on it).
    let mut slow = UnixStream::connect(&srv.socket).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc")
        .unwrap();
    get_version_ok(&srv.socket);
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert_eq!(status_of(&buf), 408);
    // Headers that never finish: the connection is dropped after the header timeout.
    let mut half = UnixStream::connect(&srv.socket).unwrap();
    half.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    half.write_all(b"POST /RPC2 HTTP/1.1\r\nHo").unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = half.read_to_end(&mut buf);
    assert!(started.elapsed() < Duration::from_secs(9));
    get_version_ok(&srv.socket);
}

/// `resp` with every `date:` header's value (an HTTP date, checked) replaced by `D`.
fn undated(resp: &[u8]) -> String {
    let text = String::from_utf8_lossy(resp);
    let mut out = String::new();
    for line in text.split_inclusive("\r\n") {
        match line.strip_prefix("date: ") {
            Some(d) => {
                assert!(d.len() == 31 && d.ends_with(" GMT\r\n"), "{d:?}");
                out.push_str("date: D\r\n");
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The exact bytes hyper sent when it served here (captured before it was replaced): header case
/// and order, `Connection` answers for HTTP/1.0 and 1.1, keep-alive past an unread body, HEAD,
/// 100-continue before a chunked body, the bare 400 for a head that cannot be read.
#[test]
fn the_bytes_on_the_wire() {
    let dir = tmp();
    let srv = server(dir.path(), None, Limits::default());
    let not_found = |version: &str, connection: &str| {
        format!(
            "HTTP/1.{version} 404 Not Found\r\nContent-Type: text/plain\r\n{connection}\
             Content-Length: 14\r\ndate: D\r\n\r\n404 Not Found\n"
        )
    };
    let resp = raw(
        &srv.socket,
        b"GET /x HTTP/1.0\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\n\r\n",
    );
    assert_eq!(undated(&resp), not_found("0", ""));
    let resp = raw(
        &srv.socket,
        b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
          GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\
          HEAD /x HTTP/1.1\r\n\r\n\
          GET /x HTTP/1.1\r\nconnection: Close\r\n\r\nGET /never HTTP/1.1\r\n\r\n",
    );
    let head_only = not_found("1", "").replace("404 Not Found\n", "");
    assert_eq!(
        undated(&resp),
        not_found("0", "Connection: keep-alive\r\n")
            + &not_found("1", "")
            + &head_only
            + &not_found("1", "Connection: close\r\n")
    );
    let call = encode_call("supervisor.getVersion", &[]);
    let resp = raw(
        &srv.socket,
        format!(
            "POST /RPC2 HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n\
             {:x}\r\n{call}\r\n0\r\n\r\n",
            call.len()
        )
        .as_bytes(),
    );
    let text = undated(&resp);
    assert!(
        text.starts_with(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\
             Content-Length: 129\r\ndate: D\r\n\r\n<?xml"
        ),
        "{text}"
    );
    let bad =
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\ndate: D\r\n\r\n";
    for req in [
        &b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\nGET / HTTP/1.1\r\n\r\n"[..],
        b"POST /RPC2 HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /RPC2 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        assert_eq!(undated(&raw(&srv.socket, req)), bad);
    }
    let resp = raw(&srv.socket, &post(&call, "Sec-Fetch-Site: cross-site\r\n"));
    assert_eq!(
        undated(&resp),
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\
         Content-Length: 58\r\ndate: D\r\n\r\n403 Forbidden: a call from another site's page is refused\n"
    );
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let dir = tmp();
    let srv = server(dir.path(), None, Limits::default());
    let body = encode_call("supervisor.getVersion", &[]);
    let mut req = post(&body, "");
    req.extend(post(&body, ""));
    req.extend(post(&body, "Connection: close\r\n"));
    let resp = raw(&srv.socket, &req);
    let text = String::from_utf8_lossy(&resp);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
}

#[test]
fn garbage_never_stops_the_server() {
    let dir = tmp();
    let srv = server(
        dir.path(),
        None,
        Limits {
            header_timeout: Duration::from_millis(500),
            ..Limits::default()
        },
    );
    let good = post(&encode_call("supervisor.getAllProcessInfo", &[]), "");
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 4000,
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
            let resp = raw(&srv.socket, &bytes);
            // Whatever came back is well formed HTTP or nothing at all.
            prop_assert!(resp.is_empty() || resp.starts_with(b"HTTP/1."));
            Ok(())
        })
        .unwrap();
    // Some clients that connect and say nothing, left open while a good request is served.
    let idle: Vec<UnixStream> = (0..20)
        .map(|_| UnixStream::connect(&srv.socket).unwrap())
        .collect();
    get_version_ok(&srv.socket);
    drop(idle);
    let resp = raw(&srv.socket, &good);
    assert_eq!(status_of(&resp), 200);
}

#[test]
fn logtail_streams_and_follows_growth() {
    let dir = tmp();
    let srv = server(
        dir.path(),
        None,
        Limits {
            tail_poll: Duration::from_millis(20),
            ..Limits::default()
        },
    );
    let log = dir.path().join("web.stdout.log");
    let mut big = vec![b'x'; 2000];
    big.extend_from_slice(b"END\n");
    std::fs::write(&log, &big).unwrap();
    let mut s = UnixStream::connect(&srv.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /logtail/web/stdout HTTP/1.1\r\nHost: \r\nAccept-Encoding: chunked\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let read_until = |s: &mut UnixStream, got: &mut Vec<u8>, needle: &[u8]| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while !got.windows(needle.len()).any(|w| w == needle) {
            assert!(
                Instant::now() < deadline,
                "timed out: {}",
                String::from_utf8_lossy(got)
            );
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(got));
            got.extend_from_slice(&buf[..n]);
        }
    };
    read_until(&mut s, &mut got, b"END\n");
    let text = String::from_utf8_lossy(&got).to_string();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked"));
    assert!(
        text.contains("\r\n400\r\n"),
        "first chunk is the last 1024 bytes: {text}"
    );
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"more-output\n").unwrap();
    read_until(&mut s, &mut got, b"more-output\n");
    drop(s);
    // Unknown process or no file: 404.
    assert_eq!(
        status_of(&raw(
            &srv.socket,
            b"GET /logtail/nosuch HTTP/1.1\r\nHost: x\r\n\r\n"
        )),
        404
    );
    assert_eq!(
        status_of(&raw(
            &srv.socket,
            b"GET /logtail/web/stderr HTTP/1.1\r\nHost: x\r\n\r\n"
        )),
        404
    );
    assert_eq!(
        status_of(&raw(
            &srv.socket,
            b"GET /mainlogtail HTTP/1.1\r\nHost: x\r\n\r\n"
        )),
        404
    );
}

#[test]
fn healthz_reflects_autostart_processes() {
    let dir = tmp();
    let srv = server(dir.path(), None, Limits::default());
    let resp = raw(&srv.socket, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status_of(&resp), 503);
    let text = String::from_utf8_lossy(&resp).to_string();
    assert!(text.contains("multi:multi_00 STOPPED"), "{text}");
    assert!(!text.contains("manual"), "manual is not autostart: {text}");
    srv.with(|b| {
        b.run("multi", "multi_00");
        b.run("multi", "multi_01");
        b.run("failfast", "failfast");
    });
    let resp = raw(&srv.socket, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status_of(&resp), 200, "{}", String::from_utf8_lossy(&resp));
}

#[test]
fn stale_socket_is_replaced_and_live_one_refused() {
    let dir = tmp();
    let path: PathBuf = dir.path().join("sock");
    // A stale socket file: bound once, listener gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let spec = UnixServerSpec {
        file: path.clone(),
        chmod: 0o770,
        chown: None,
        auth: None,
    };
    let b = bind_unix(&spec).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o770);
    // While that binding's listener is alive, a second bind reports the address in use.
    let err = match bind_unix(&spec) {
        Err(e) => e,
        Ok(_) => panic!("second bind succeeded"),
    };
    assert!(
        err.0.contains("Another program is already listening"),
        "{}",
        err.0
    );
    assert!(path.exists());
    drop(b);
    assert!(!path.exists(), "socket file removed with the binding");
}

#[test]
fn silent_and_idle_connections_are_dropped_after_the_header_timeout() {
    let dir = tmp();
    let srv = server(
        dir.path(),
        None,
        Limits {
            header_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
    );
    // Says nothing at all.
    let mut silent = UnixStream::connect(&srv.socket).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = silent.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "silent client kept"
    );
    // Keep-alive connection left idle after one answer.
    let mut idle = UnixStream::connect(&srv.socket).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    idle.write_all(&post(&encode_call("supervisor.getVersion", &[]), ""))
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = idle.read_to_end(&mut buf);
    assert!(status_of(&buf) == 200);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "idle client kept"
    );
}

#[test]
fn tcp_server_with_auth() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let spec = steward::config::model::InetServerSpec {
            host: "127.0.0.1".into(),
            port: 0,
            auth: Some(Credentials {
                username: "u".into(),
                password: "p".into(),
            }),
        };
        let listener = steward::control::server::bind_tcp(&spec).unwrap();
        tx.send(listener.local_addr().unwrap().port()).unwrap();
        let backend = std::rc::Rc::new(FakeEngine::new(vec![]));
        let srv =
            steward::control::server::Server::new(backend, spec.auth.clone(), Limits::default());
        rt.block_on(async move {
            tokio::select! {
                _ = srv.serve_tcp(listener) => {}
                _ = stop_rx => {}
            }
        });
    });
    let port = rx.recv().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = ServerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let anon = Client::new(url.clone(), None, None);
    assert!(matches!(
        rt.block_on(anon.call("supervisor.getVersion", &[])),
        Err(CallError::Http { status: 401, .. })
    ));
    let ok = Client::new(url, Some("u".into()), Some("p".into()));
    assert_eq!(
        rt.block_on(ok.call("supervisor.getSupervisorVersion", &[]))
            .unwrap(),
        Value::str("4.3.0")
    );
    stop_tx.send(()).unwrap();
    thread.join().unwrap();
}

/// The engine runs on a current_thread runtime, likely inside its own LocalSet: serving from a
/// task spawned there must work, and dropping that task must remove the socket file.
#[test]
fn serves_from_inside_an_outer_local_set() {
    let dir = tmp();
    let sock = dir.path().join("sock");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let spec = UnixServerSpec {
        file: sock.clone(),
        chmod: 0o700,
        chown: None,
        auth: None,
    };
    local.block_on(&rt, async {
        let backend = std::rc::Rc::new(FakeEngine::new(procs(dir.path())));
        let binding = bind_unix(&spec).unwrap();
        let srv = steward::control::server::Server::new(backend, None, Limits::default());
        let task = tokio::task::spawn_local(srv.serve_unix(binding));
        let client = Client::new(ServerUrl::Unix(sock.clone()), None, None);
        let v = client
            .call("supervisor.getAllProcessInfo", &[])
            .await
            .unwrap();
        assert_eq!(v.as_array().unwrap().len(), 5);
        task.abort();
        let _ = task.await;
    });
    assert!(!sock.exists());
}

#[test]
fn the_other_methods() {
    let dir = tmp();
    let srv = server(dir.path(), None, Limits::default());
    let s = &srv.socket;
    assert_eq!(
        call(s, "supervisor.getState", &[]).unwrap(),
        Value::structure([
            ("statecode", Value::Int(1)),
            ("statename", Value::str("RUNNING"))
        ])
    );
    assert_eq!(
        call(s, "supervisor.getIdentification", &[]).unwrap(),
        Value::str("supervisor")
    );
    assert_eq!(
        call(s, "supervisor.getPID", &[]).unwrap(),
        Value::Int(std::process::id().into())
    );
    assert_eq!(
        call(s, "supervisor.readLog", &[Value::Int(0), Value::Int(0)])
            .unwrap_err()
            .string,
        "NO_FILE"
    );
    assert_eq!(
        call(
            s,
            "supervisor.sendProcessStdin",
            &[Value::str("web"), Value::str("hi\n")]
        )
        .unwrap(),
        Value::Bool(true)
    );
    assert_eq!(
        call(
            s,
            "supervisor.sendProcessStdin",
            &[Value::str("manual"), Value::str("x")]
        )
        .unwrap_err()
        .string,
        "NOT_RUNNING: manual"
    );
    assert_eq!(
        call(
            s,
            "supervisor.sendProcessStdin",
            &[Value::str("web"), Value::Int(1)]
        )
        .unwrap_err()
        .code,
        2
    );
    assert_eq!(
        srv.with(|b| b.inner.borrow().stdin.clone()),
        vec![("web".to_string(), "hi\n".to_string())]
    );
    assert_eq!(
        call(
            s,
            "supervisor.sendRemoteCommEvent",
            &[Value::str("t"), Value::str("d")]
        )
        .unwrap(),
        Value::Bool(true)
    );
    let cfg = call(s, "supervisor.getAllConfigInfo", &[]).unwrap();
    let first = &cfg.as_array().unwrap()[0];
    let keys: Vec<&str> = match first {
        Value::Struct(m) => m.iter().map(|(k, _)| k.as_str()).collect(),
        _ => panic!(),
    };
    assert_eq!(keys.len(), 29);
    assert_eq!(
        &keys[..5],
        ["autostart", "directory", "uid", "command", "exitcodes"]
    );
    assert_eq!(keys[28], "serverurl");
    assert_eq!(
        first.get("name"),
        Some(&Value::str("failfast")),
        "sorted by name"
    );
    assert_eq!(first.get("serverurl"), Some(&Value::str("none")));
    assert_eq!(first.get("directory"), Some(&Value::str("none")));
    let empty = Value::Array(vec![]);
    assert_eq!(
        call(s, "supervisor.reloadConfig", &[]).unwrap(),
        Value::Array(vec![Value::Array(vec![
            empty.clone(),
            empty.clone(),
            empty
        ])])
    );
    srv.with(|b| b.inner.borrow_mut().changes = Err(EngineError::CantReread("bad file".into())));
    let f = call(s, "supervisor.reloadConfig", &[]).unwrap_err();
    assert_eq!((f.code, f.string.as_str()), (92, "CANT_REREAD: bad file"));
    assert_eq!(
        call(s, "supervisor.addProcessGroup", &[Value::str("web")])
            .unwrap_err()
            .string,
        "ALREADY_ADDED: web"
    );
    assert_eq!(
        call(s, "supervisor.addProcessGroup", &[Value::str("zzz")])
            .unwrap_err()
            .string,
        "BAD_NAME: zzz"
    );
    assert_eq!(
        call(s, "supervisor.removeProcessGroup", &[Value::str("web")])
            .unwrap_err()
            .string,
        "STILL_RUNNING: web"
    );
    assert_eq!(
        call(s, "supervisor.removeProcessGroup", &[Value::str("manual")]).unwrap(),
        Value::Bool(true)
    );
    let r = call(s, "supervisor.clearAllProcessLogs", &[]).unwrap();
    assert_eq!(r.as_array().unwrap().len(), 4);
    let r = call(s, "supervisor.stopAllProcesses", &[Value::Bool(false)]).unwrap();
    assert_eq!(r.as_array().unwrap().len(), 1, "only web was running");
    let r = call(s, "supervisor.startAllProcesses", &[]).unwrap();
    let statuses: Vec<i64> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.get("status").unwrap().as_int().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|c| **c == 80).count(), 3);
    assert_eq!(statuses.iter().filter(|c| **c == 50).count(), 1);
    let r = call(s, "supervisor.signalAllProcesses", &[Value::Int(1)]).unwrap();
    assert_eq!(r.as_array().unwrap().len(), 3);
    assert_eq!(
        call(
            s,
            "supervisor.signalProcessGroup",
            &[Value::str("nosuch"), Value::str("HUP")]
        )
        .unwrap_err()
        .code,
        10
    );
    assert_eq!(
        call(s, "supervisor.shutdown", &[]).unwrap(),
        Value::Bool(true)
    );
    srv.with(|b| b.inner.borrow_mut().state = steward::engine::api::SupervisorState::Shutdown);
    assert_eq!(
        call(s, "supervisor.getVersion", &[]).unwrap_err().string,
        "SHUTDOWN_STATE"
    );
    assert_eq!(
        call(
            s,
            "supervisor.sendRemoteCommEvent",
            &[Value::str("t"), Value::str("d")]
        )
        .unwrap(),
        Value::Bool(true)
    );
    assert_eq!(
        call(s, "system.listMethods", &[])
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        41
    );
}

#[test]
fn a_slow_start_does_not_hold_up_other_clients() {
    let dir = tmp();
    let srv = TestServer::start(dir.path().join("sock"), None, Limits::default(), || {
        FakeEngine::new(vec![
            FakeProcess::new("slow", "slow", None).slow(Duration::from_secs(3))
        ])
    })
    .unwrap();
    let sock = srv.socket.clone();
    let started = Instant::now();
    let slow =
        std::thread::spawn(move || call(&sock, "supervisor.startProcess", &[Value::str("slow")]));
    // Once the slow start is under way, others are still answered at once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.with(|b| b.inner.borrow().starts_begun) == 0 {
        assert!(Instant::now() < deadline, "start never began");
        std::thread::sleep(Duration::from_millis(5));
    }
    get_version_ok(&srv.socket);
    wait_for_state(&srv.socket, "STOPPED");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(slow.join().unwrap().unwrap(), Value::Bool(true));
    assert!(started.elapsed() >= Duration::from_secs(3));
    wait_for_state(&srv.socket, "RUNNING");
}

fn wait_for_state(sock: &Path, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = call(sock, "supervisor.getProcessInfo", &[Value::str("slow")]).unwrap();
        if v.get("statename") == Some(&Value::str(want)) {
            return;
        }
        assert!(Instant::now() < deadline, "never {want}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn logtail_follows_an_in_memory_stream_across_a_clear() {
    use steward::engine::api::Stream;
    let dir = tmp();
    let srv = TestServer::start(
        dir.path().join("sock"),
        None,
        Limits {
            // Longer than the test may take: only the tail's change signal can bring the lines.
            tail_poll: Duration::from_secs(3600),
            ..Limits::default()
        },
        || {
            // No log directory: the streams have no file, only the in-memory tail.
            let b = FakeEngine::new(vec![FakeProcess::new("mem", "mem", None)]);
            b.output("mem", "mem", Stream::Stdout, b"first\n");
            // A stream without a file always has a tail in the engine, even before any output.
            b.output("mem", "mem", Stream::Stderr, b"");
            b
        },
    )
    .unwrap();
    let mut s = UnixStream::connect(&srv.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /logtail/mem HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut until = |needle: &[u8]| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while !got.windows(needle.len()).any(|w| w == needle) {
            assert!(Instant::now() < deadline, "timed out");
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).to_string()
    };
    assert!(until(b"first\n").starts_with("HTTP/1.1 200 OK"));
    srv.with(|b| b.output("mem", "mem", Stream::Stdout, b"second\n"));
    until(b"second\n");
    // Cleared, then shorter than where the stream was: followed again from its start.
    let body = encode_call("supervisor.clearProcessLogs", &[Value::str("mem")]);
    assert_eq!(status_of(&raw(&srv.socket, &post(&body, ""))), 200);
    srv.with(|b| b.output("mem", "mem", Stream::Stdout, b"3\n"));
    let text = until(b"3\n");
    assert_eq!(text.matches("first").count(), 1, "{text}");
    // stderr has no file either and nothing in it yet: served (empty) rather than 404.
    let mut e = UnixStream::connect(&srv.socket).unwrap();
    e.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    e.write_all(b"GET /logtail/mem/stderr HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 64];
    let n = e.read(&mut head).unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 200 OK"));
}
