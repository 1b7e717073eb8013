//! The web page at `/` in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven by Selenium from `tests/web/drive.py`, against steward serving an
//! `[inet_http_server]` on a free loopback port, behind Basic auth. The browser sees a change made over
//! XML-RPC without a reload; starts, restarts and stops a program from its row; follows a live tail on
//! stdout and stderr and clears it; stops and starts everything; shows markup in names and log lines
//! as text; and at 390 px renders rows as cards with no sideways scroll. Without Chromium or the Selenium venv
//! (`scripts/test.sh` installs both) the test fails.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;

fn browser_tools() -> PathBuf {
    let venv = std::env::var_os("STEWARD_WEB_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-venv"));
    let python = venv.join("bin/python3");
    let missing: Vec<String> = [
        PathBuf::from("/usr/bin/chromium"),
        PathBuf::from("/usr/bin/chromedriver"),
        python.clone(),
    ]
    .into_iter()
    .filter(|p| !p.exists())
    .map(|p| p.display().to_string())
    .collect();
    if missing.is_empty() {
        return python;
    }
    let why = format!(
        "missing {} (scripts/test.sh installs chromium, chromium-driver and the selenium venv)",
        missing.join(", ")
    );
    common::missing(&why)
}

/// Basic auth for `admin:s3cret`.
const AUTH: &str = "Authorization: Basic YWRtaW46czNjcmV0\r\n";

fn http_get(port: u16, path: &str) -> Option<String> {
    http_get_with(port, path, "")
}

fn http_get_with(port: u16, path: &str, headers: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn rpc_state(port: u16, name: &str) -> Option<String> {
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.getProcessInfo</methodName>\
         <params><param><value><string>{name}</string></value></param></params></methodCall>"
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         {AUTH}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let at = out.find("<name>statename</name>")?;
    let rest = &out[at..];
    let v = &rest[rest.find("<string>")? + 8..];
    Some(v[..v.find('<')?].to_string())
}

#[test]
fn browser_drives_rows_tails_and_a_narrow_window() {
    let python = browser_tools();
    let port = free_port();
    let dir = tempdir();
    let fifo = dir.path().join("lines.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let programs = format!(
        "[inet_http_server]\nport=127.0.0.1:{port}\nusername=admin\npassword=s3cret\n\n\
         [program:sleeper]\ncommand=sleep 600\n\n\
         [program:echoer]\n\
         command=sh -c 'echo echoer ready; while :; do while IFS= read -r l; do printf \"%%s\\n\" \"$l\"; printf \"err:%%s\\n\" \"$l\" >&2; done < {fifo}; done'\n\n\
         [program:<b>x&amp;\"']\ncommand=sleep 600\n\n\
         [program:quitter]\ncommand=true\nautorestart=false\nstartsecs=0\n",
        fifo = fifo.display()
    );
    let (steward, dir) = Pid1::in_dir(dir, "", &programs);
    wait_for(Duration::from_secs(10), "the web page", || {
        http_get_with(port, "/", AUTH).filter(|r| r.starts_with("HTTP/1.1 200"))
    });
    wait_for(Duration::from_secs(10), "sleeper RUNNING", || {
        (rpc_state(port, "sleeper")? == "RUNNING").then_some(())
    });

    let mut cmd = Command::new(&python);
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/web/drive.py"))
        // The page behind Basic auth, credentials in the URL as a person may type them.
        .arg(format!("http://admin:s3cret@127.0.0.1:{port}/"))
        .arg(&fifo);
    if let Some(shot) = std::env::var_os("STEWARD_WEB_SHOT") {
        cmd.env("STEWARD_WEB_SHOT", shot);
    }
    let out = cmd.output().expect("run drive.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser run failed:\n{stdout}\n{}\nsteward:\n{}",
        String::from_utf8_lossy(&out.stderr),
        steward.stdout()
    );

    // Start all was the last action: it reached the supervisor, not just the page.
    assert_eq!(rpc_state(port, "sleeper").as_deref(), Some("RUNNING"));
    assert_eq!(rpc_state(port, "echoer").as_deref(), Some("RUNNING"));

    let line = stdout.lines().last().unwrap_or_default();
    let result: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let ms: Vec<f64> = result["latencies_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    assert_eq!(ms.len(), 8, "latencies in {line:?}");
    let pids = &result["restart_pids"];
    assert_ne!(pids[0], pids[1], "Restart kept the pid: {line}");
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    eprintln!(
        "tail latency (line written -> visible in the page): median {} ms, max {} ms; \
         restart pids {pids}; at 390 px [scrollWidth, clientWidth, innerWidth] = {}",
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        result["narrow"]
    );
    // The server looks for new log data every 200 ms; a second means the page is not following.
    assert!(sorted[sorted.len() - 1] < 1000.0, "tail too slow: {ms:?}");
    drop(steward);
    drop(dir);
}

#[test]
fn page_assets_carry_a_strict_content_security_policy() {
    let port = free_port();
    let programs = format!("[inet_http_server]\nport=127.0.0.1:{port}\n");
    let (_steward, _dir) = Pid1::with_conf(&programs);
    let page = wait_for(Duration::from_secs(10), "the web page", || {
        http_get(port, "/").filter(|r| r.starts_with("HTTP/1.1 200"))
    });
    for path in ["/", "/web/app.js", "/web/style.css", "/web/icon.svg"] {
        let r = http_get(port, path).unwrap();
        assert!(r.starts_with("HTTP/1.1 200"), "{path}: {r}");
        let csp = r
            .lines()
            .find_map(|l| l.strip_prefix("Content-Security-Policy: "))
            .unwrap_or_else(|| panic!("{path} has no CSP"));
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(r.contains("X-Content-Type-Options: nosniff"), "{path}");
    }
    assert!(page.contains("Content-Type: text/html"));
    assert!(page.contains("<script src=\"/web/app.js\""));
    assert!(http_get(port, "/web/nope.js")
        .unwrap()
        .starts_with("HTTP/1.1 404"));
}

#[test]
fn page_is_behind_the_same_auth_as_rpc() {
    let port = free_port();
    let programs = format!("[inet_http_server]\nport=127.0.0.1:{port}\nusername=u\npassword=p\n");
    let (_steward, _dir) = Pid1::with_conf(&programs);
    let r = wait_for(Duration::from_secs(10), "the server", || {
        http_get(port, "/")
    });
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    for path in ["/web/app.js", "/metrics"] {
        let r = http_get(port, path).unwrap();
        assert!(r.starts_with("HTTP/1.1 401"), "{path}: {r}");
    }
    // The right credentials (u:p) open /metrics.
    let r = http_get_with(port, "/metrics", "Authorization: Basic dTpw\r\n").unwrap();
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("steward_uptime_seconds"), "{r}");
}

#[test]
fn the_unix_socket_server_serves_the_same_page() {
    let dir = tempdir();
    let sock = dir.path().join("s.sock");
    let programs = format!("[unix_http_server]\nfile={}\n", sock.display());
    let (_steward, _dir) = Pid1::in_dir(dir, "", &programs);
    wait_for(Duration::from_secs(10), "the socket", || {
        sock.exists().then_some(())
    });
    for path in ["/", "/web/app.js", "/web/style.css"] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let resp = common::http::raw(&sock, req.as_bytes());
        assert_eq!(common::http::status_of(&resp), 200, "{path}");
        let text = String::from_utf8_lossy(&resp);
        assert!(
            text.contains("Content-Security-Policy: default-src 'none'"),
            "{path}: {text}"
        );
    }
}
