//! The claims of SECURITY.md that no other test shows, black box with steward as PID 1: the
//! default mode of the control socket keeps other users out, and an `inet_http_server` without
//! credentials is a CRIT line at start, a louder one when it listens beyond loopback.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::http::{call, raw, shutdown, status_of};
use common::*;
use steward::control::xmlrpc::Value;

const T: Duration = Duration::from_secs(15);

/// Try to connect to `sock` as `nobody`; `Ok` or the error text.
fn connect_as_nobody(sock: &Path) -> Result<(), String> {
    let o = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
        ])
        .arg(sock)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("python3");
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

#[test]
fn the_control_socket_is_0700_by_default_and_other_users_cannot_connect() {
    common::require_root("switch users");
    for (chmod, open) in [("", false), ("chmod=0777\n", true)] {
        let (p, dir) = Pid1::with_conf(&format!(
            "[unix_http_server]\nfile={{dir}}/sock\n{chmod}\n\
             [program:a]\ncommand=/bin/sleep 1000\nstartsecs=0\n"
        ));
        // Only the socket's own mode stands between `nobody` and steward.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sock = dir.path().join("sock");
        wait_for(T, "the socket", || sock.exists().then_some(()));
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, if open { 0o777 } else { 0o700 });
        let r = connect_as_nobody(&sock);
        if open {
            assert_eq!(r, Ok(()), "chmod=0777 lets anyone in");
        } else {
            let e = r.expect_err("nobody connected to a 0700 root socket");
            assert!(e.contains("Permission denied"), "{e}");
        }
        shutdown(&sock, p);
    }
}

const NO_AUTH: &str = "Server 'inet_http_server' running without any HTTP authentication checking";

#[test]
fn an_unauthenticated_inet_server_is_a_crit_line_louder_beyond_loopback() {
    for (host, auth, crit, loud) in [
        ("0.0.0.0", "", true, true),
        ("127.0.0.1", "", true, false),
        ("0.0.0.0", "username=u\npassword=p\n", false, false),
    ] {
        let port = free_port();
        let (p, dir) = Pid1::with_conf(&format!(
            "[unix_http_server]\nfile={{dir}}/sock\n\n\
             [inet_http_server]\nport={host}:{port}\n{auth}\n\
             [program:a]\ncommand=/bin/sleep 1000\nstartsecs=0\n"
        ));
        let sock = dir.path().join("sock");
        // Once the inet server answers, it has logged whatever it logs at start.
        wait_for(T, "the inet server answering", || {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
            c.set_read_timeout(Some(T)).ok()?;
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut out = Vec::new();
            c.read_to_end(&mut out).ok()?;
            out.starts_with(b"HTTP/1.1 ").then_some(())
        });
        // steward's log reaches stdout through a queue: a line logged after the server started
        // (stopping `a`) marks the point by which any start-up warning is in the file too.
        call(&sock, "supervisor.stopProcess", &[Value::str("a")]).unwrap();
        let log = p.wait_stdout("stopped: a", T);
        let line = log.lines().find(|l| l.contains(NO_AUTH));
        assert_eq!(line.is_some(), crit, "{host} {auth:?}: {log}");
        if let Some(line) = line {
            assert!(line.contains(" CRIT "), "{line}");
            assert_eq!(line.contains("not a loopback address"), loud, "{line}");
            if loud {
                assert!(line.contains(&format!("0.0.0.0:{port}")), "{line}");
            }
        }
        shutdown(&sock, p);
    }
}

/// A page of another site in the user's browser cannot drive the control server (CSRF): what a
/// browser sends cross-site without a CORS preflight is refused; supervisorctl-like clients and
/// steward's own page are not.
#[test]
fn a_call_from_another_sites_page_is_refused_and_changes_nothing() {
    let (p, dir) = Pid1::with_conf(
        "[unix_http_server]\nfile={dir}/sock\n\n\
         [program:a]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
    );
    let sock = dir.path().join("sock");
    let state = || {
        wait_for(T, "a's state", || {
            let v = call(&sock, "supervisor.getProcessInfo", &[Value::str("a")]).ok()?;
            let Value::Struct(m) = v else { return None };
            m.iter()
                .find(|(k, _)| k == "statename")
                .map(|(_, v)| match v {
                    Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                })
        })
    };
    wait_for(T, "the control socket", || sock.exists().then_some(()));
    wait_for(T, "a RUNNING", || (state() == "RUNNING").then_some(()));
    let stop = steward::control::xmlrpc::encode_call("supervisor.stopProcess", &[Value::str("a")]);
    let request = |headers: &str| {
        format!(
            "POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n{headers}Content-Length: {}\r\n\r\n{stop}",
            stop.len()
        )
    };
    for headers in [
        "Origin: http://evil.example\r\nContent-Type: text/plain\r\n",
        "Origin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        "Origin: null\r\nContent-Type: multipart/form-data; boundary=x\r\n",
        "Origin: http://evil.example\r\n",
        "Sec-Fetch-Site: cross-site\r\nContent-Type: text/xml\r\n",
        "Sec-Fetch-Site: same-site\r\nOrigin: http://a.localhost\r\nContent-Type: text/xml\r\n",
    ] {
        let resp = raw(&sock, request(headers).as_bytes());
        assert_eq!(
            status_of(&resp),
            403,
            "{headers:?}: {}",
            String::from_utf8_lossy(&resp)
        );
        assert_eq!(state(), "RUNNING", "{headers:?} stopped a");
    }
    // steward's own page: text/xml from its own origin.
    let own = "Origin: http://127.0.0.1:9001\r\nSec-Fetch-Site: same-origin\r\nContent-Type: text/xml\r\n";
    let resp = raw(&sock, request(own).as_bytes());
    assert_eq!(status_of(&resp), 200, "{}", String::from_utf8_lossy(&resp));
    wait_for(T, "a STOPPED by the page's call", || {
        (state() == "STOPPED").then_some(())
    });
    // A script (curl with its default form type, no Origin) is not a browser and is served.
    let start =
        steward::control::xmlrpc::encode_call("supervisor.startProcess", &[Value::str("a")]);
    let resp = raw(
        &sock,
        format!(
            "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{start}",
            start.len()
        )
        .as_bytes(),
    );
    assert_eq!(status_of(&resp), 200, "{}", String::from_utf8_lossy(&resp));
    wait_for(T, "a RUNNING again", || {
        (state() == "RUNNING").then_some(())
    });
    shutdown(&sock, p);
}
