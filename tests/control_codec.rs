//! The XML-RPC codec against real bytes: every body in the supervisord 4.3.0 wire capture decodes,
//! and encoding the decoded value gives back exactly the same bytes (Python's `dumps` layout).

mod common;

use std::path::PathBuf;

use steward::control::xmlrpc::{
    decode_call, decode_response, encode_call, encode_fault, encode_response,
};

fn capture() -> Option<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for rel in ["../shared", "../../shared"] {
        let p = root
            .join(rel)
            .join("reference/supervisord-wire-capture.txt");
        if let Ok(b) = std::fs::read(&p) {
            return Some(b);
        }
    }
    None
}

/// (conn id, direction, bytes), consecutive segments of one direction on one connection joined.
fn messages(cap: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let mut out: Vec<(String, String, Vec<u8>)> = Vec::new();
    let marker = b"===== conn ";
    let mut pos = 0;
    while let Some(off) = find(&cap[pos..], marker) {
        let start = pos + off;
        let line_end = start + find(&cap[start..], b"\n").expect("marker line");
        let line = String::from_utf8_lossy(&cap[start..line_end]).to_string();
        let words: Vec<&str> = line.split_whitespace().collect();
        // "===== conn N DIR LEN bytes =====" at the start of a line; the file's preamble mentions
        // the format in prose, which is skipped.
        let at_line_start = start == 0 || cap[start - 1] == b'\n';
        let len = words.get(4).and_then(|w| w.parse::<usize>().ok());
        let (Some(len), true) = (len, at_line_start && words.len() >= 6) else {
            pos = line_end;
            continue;
        };
        let (conn, dir) = (words[2].to_string(), words[3].to_string());
        let body = cap[line_end + 1..line_end + 1 + len].to_vec();
        pos = line_end + 1 + len;
        match out.last_mut() {
            Some(last) if last.0 == conn && last.1 == dir => last.2.extend(body),
            _ => out.push((conn, dir, body)),
        }
    }
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Split HTTP messages (a direction's bytes may hold one or more) into their XML bodies.
fn bodies(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(h) = find(rest, b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..h]).to_string();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let body_start = h + 4;
        match len {
            Some(n) if rest.len() >= body_start + n => {
                out.push(rest[body_start..body_start + n].to_vec());
                rest = &rest[body_start + n..];
            }
            _ => break,
        }
    }
    out
}

#[test]
fn capture_round_trips_byte_for_byte() {
    let Some(cap) = capture() else {
        common::missing("../shared/reference/supervisord-wire-capture.txt beside the repository");
    };
    let (mut calls, mut responses, mut faults) = (0, 0, 0);
    for (_, dir, bytes) in messages(&cap) {
        for body in bodies(&bytes) {
            if !body.starts_with(b"<?xml") {
                continue;
            }
            let text = String::from_utf8(body.clone()).unwrap();
            if dir == "C->S" {
                let c = decode_call(&body).unwrap_or_else(|e| panic!("{e}: {text}"));
                assert_eq!(encode_call(&c.name, &c.params), text);
                calls += 1;
            } else {
                match decode_response(&body).unwrap_or_else(|e| panic!("{e}: {text}")) {
                    Ok(v) => {
                        assert_eq!(encode_response(&v), text);
                        responses += 1;
                    }
                    Err(f) => {
                        assert_eq!(encode_fault(&f), text);
                        faults += 1;
                    }
                }
            }
        }
    }
    eprintln!("round-tripped {calls} calls, {responses} responses, {faults} faults");
    assert!(calls > 25, "calls {calls}");
    assert!(responses > 25, "responses {responses}");
    assert!(faults >= 5, "faults {faults}");
}
