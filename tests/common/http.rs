//! Raw HTTP/XML-RPC over a unix socket, for tests of the control server: exact bytes in, exact bytes out.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use steward::control::xmlrpc::{decode_response, encode_call, Fault, Value};

/// Send raw bytes, half-close, read everything the server says. The server must accept the connection.
pub fn raw(sock: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// A `POST /RPC2` request around `body`; `extra_headers` are whole `Name: value\r\n` lines.
pub fn post(body: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The status code of a response, 0 when there is none.
pub fn status_of(resp: &[u8]) -> u16 {
    String::from_utf8_lossy(resp)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Everything after the header block.
pub fn body_of(resp: &[u8]) -> &[u8] {
    let i = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    &resp[i + 4..]
}

/// One XML-RPC call; the HTTP layer must answer 200.
pub fn call(sock: &Path, method: &str, params: &[Value]) -> Result<Value, Fault> {
    let resp = raw(sock, &post(&encode_call(method, params), ""));
    assert_eq!(status_of(&resp), 200, "{}", String::from_utf8_lossy(&resp));
    decode_response(body_of(&resp)).unwrap()
}

/// The kinds [`mangle`] knows: feed `0..GARBAGE_KINDS` to it.
pub const GARBAGE_KINDS: u8 = 5;

/// A hostile request built from random `noise` and a `good` one: pure noise, `good` cut at `cut`, the cut
/// followed by noise, a valid envelope around noise, or a valid call with bytes of its body overwritten.
pub fn mangle(good: &[u8], noise: Vec<u8>, cut: usize, kind: u8) -> Vec<u8> {
    match kind {
        0 => noise,
        1 => good[..cut].to_vec(),
        2 => {
            let mut g = good[..cut].to_vec();
            g.extend(noise);
            g
        }
        3 => post(&String::from_utf8_lossy(&noise), ""),
        _ => {
            let mut body =
                encode_call("supervisor.getProcessInfo", &[Value::str("a")]).into_bytes();
            for (i, b) in noise.iter().enumerate().take(8) {
                let at = (cut + i * 31) % body.len();
                body[at] = *b;
            }
            let mut req = format!(
                "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            req.extend(body);
            req
        }
    }
}

/// `(name, statename, pid)` of every process, from `getAllProcessInfo`.
pub fn table(sock: &Path) -> Vec<(String, String, i64)> {
    try_table(sock).expect("getAllProcessInfo failed")
}

/// [`table`], `None` for a fault (SHUTDOWN_STATE while a reload is under way).
pub fn try_table(sock: &Path) -> Option<Vec<(String, String, i64)>> {
    let Ok(Value::Array(all)) = call(sock, "supervisor.getAllProcessInfo", &[]) else {
        return None;
    };
    let t = all
        .iter()
        .map(|p| {
            let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (
                s("name"),
                s("statename"),
                p.get("pid").and_then(Value::as_int).unwrap_or(0),
            )
        })
        .collect();
    Some(t)
}

/// `supervisor.shutdown` over the socket, then steward (`p`) must exit 0 within 15 s.
pub fn shutdown(sock: &Path, mut p: super::Pid1) {
    assert_eq!(
        call(sock, "supervisor.shutdown", &[]),
        Ok(Value::Bool(true))
    );
    assert_eq!(p.wait_exit(Duration::from_secs(15)), Some(0));
}
