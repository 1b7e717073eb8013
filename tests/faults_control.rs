//! Faults from control clients, black box, steward as PID 1: 500 clients at once during a reload,
//! a client sending a gigabyte, a slowloris holding connections open. Each test ends with steward
//! answering `status` and the programs untouched.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::http::{body_of, call, post, shutdown, status_of, table, try_table};
use common::*;
use steward::control::xmlrpc::{decode_response, encode_call, Value};

const T: Duration = Duration::from_secs(15);

const CONF: &str = "[unix_http_server]\nfile={dir}/sock\n\n\
[program:bystander]\ncommand=/bin/sleep 1000\nstartsecs=0\n\n\
[program:slow]\ncommand=/bin/sh -c 'trap \"sleep 1; exit 0\" TERM; while :; do sleep 0.1; done'\n\
startsecs=0\nstopwaitsecs=5\n";

fn all_running(sock: &Path) -> Vec<(String, String, i64)> {
    wait_for(T, "both programs RUNNING", || {
        if !sock.exists() {
            return None;
        }
        let t = try_table(sock)?;
        (t.len() == 2 && t.iter().all(|r| r.1 == "RUNNING")).then_some(t)
    })
}

#[test]
fn five_hundred_clients_during_a_reload_all_get_an_answer() {
    let (p, dir) = Pid1::with_conf(CONF);
    let sock = dir.path().join("sock");
    all_running(&sock);
    let n = 500;
    let gate = Arc::new(Barrier::new(n + 1));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (sock, gate) = (sock.clone(), gate.clone());
            std::thread::spawn(move || {
                gate.wait();
                let req = post(&encode_call("supervisor.getState", &[]), "");
                let mut s = UnixStream::connect(&sock).map_err(|e| format!("connect: {e}"))?;
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                s.write_all(&req).map_err(|e| format!("write: {e}"))?;
                s.shutdown(std::net::Shutdown::Write).unwrap();
                let mut out = Vec::new();
                s.read_to_end(&mut out).map_err(|e| format!("read: {e}"))?;
                if status_of(&out) != 200 {
                    return Err(String::from_utf8_lossy(&out).into_owned());
                }
                // Like supervisord, steward refuses every method while it restarts.
                match decode_response(body_of(&out)) {
                    Ok(Ok(v)) => Ok(v
                        .get("statename")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()),
                    Ok(Err(f)) if f.code == 6 => Ok(f.string),
                    other => Err(format!("{other:?}")),
                }
            })
        })
        .collect();
    p.signal(libc::SIGHUP);
    p.wait_stdout("received SIGHUP indicating restart request", T);
    let t0 = Instant::now();
    gate.wait();
    let mut states = std::collections::BTreeMap::<String, usize>::new();
    for t in threads {
        let s = t
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("a client failed: {e}"));
        *states.entry(s).or_default() += 1;
    }
    eprintln!(
        "500 clients during a reload: {states:?} in {:?}",
        t0.elapsed()
    );
    assert_eq!(states.values().sum::<usize>(), n);
    assert!(
        states.contains_key("SHUTDOWN_STATE"),
        "the reload was under way: {states:?}"
    );
    all_running(&sock);
    answers_status(&sock);
    shutdown(&sock, p);
}

/// Write `chunk` repeatedly until `total` bytes went or the server stopped reading; returns the
/// bytes written and what the server answered.
fn flood(sock: &Path, head: &[u8], chunk: &[u8], total: u64) -> (u64, Vec<u8>) {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head).unwrap();
    let mut sent = 0u64;
    while sent < total {
        if s.write_all(chunk).is_err() {
            break;
        }
        sent += chunk.len() as u64;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (sent, out)
}

#[test]
fn a_client_sending_a_gigabyte_is_cut_off_early_and_memory_stays_bounded() {
    const GB: u64 = 1 << 30;
    let (p, dir) = Pid1::with_conf(CONF);
    let sock = dir.path().join("sock");
    let before = all_running(&sock);
    let chunk = vec![b'a'; 64 * 1024];
    // Declared up front: refused before the body is read.
    let head = format!("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: {GB}\r\n\r\n");
    let (sent, out) = flood(&sock, head.as_bytes(), &chunk, GB);
    assert_eq!(status_of(&out), 413, "{}", String::from_utf8_lossy(&out));
    eprintln!("Content-Length 1 GiB: cut off after {sent} bytes");
    assert!(
        sent < 64 << 20,
        "steward read {sent} bytes of a refused body"
    );
    // Not declared (chunked): refused once the limit is reached.
    let head = "POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
    framed.extend(&chunk);
    framed.extend(b"\r\n");
    let (sent, out) = flood(&sock, head.as_bytes(), &framed, GB);
    assert_eq!(status_of(&out), 413, "{}", String::from_utf8_lossy(&out));
    eprintln!("chunked 1 GiB: cut off after {sent} bytes");
    assert!(sent < 64 << 20, "steward read {sent} bytes past the limit");
    // A request line that never ends.
    let (sent, out) = flood(&sock, b"GET /", &chunk, GB);
    eprintln!("endless request line: cut off after {sent} bytes");
    assert!(
        sent < 64 << 20,
        "steward read {sent} bytes of one request line"
    );
    assert!(
        out.is_empty() || status_of(&out) >= 400,
        "{}",
        String::from_utf8_lossy(&out)
    );
    let hwm = vm_hwm_kb(p.init_pid());
    assert!(hwm < 48 * 1024, "steward's peak RSS {hwm} kB");
    assert_eq!(table(&sock), before);
    answers_status(&sock);
    shutdown(&sock, p);
}

#[test]
fn a_slowloris_does_not_lock_out_other_clients() {
    // Headers a byte at a time.
    slow_clients_do_not_lock_out(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    // Headers at once, then the body a byte at a time.
    slow_clients_do_not_lock_out(
        b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n\
          Content-Length: 100000\r\n\r\n<?xml",
    );
}

/// More connections than steward serves at once, each sending `prefix` and then a byte at a time.
fn slow_clients_do_not_lock_out(prefix: &[u8]) {
    let (p, dir) = Pid1::with_conf(CONF);
    let sock = dir.path().join("sock");
    let before = all_running(&sock);
    let mut slow: Vec<UnixStream> = (0..300)
        .map(|_| {
            let mut s = UnixStream::connect(&sock).unwrap();
            s.set_nonblocking(true).unwrap();
            let _ = s.write_all(prefix);
            s
        })
        .collect();
    let keep_up = |slow: &mut Vec<UnixStream>| {
        for s in slow.iter_mut() {
            let _ = s.write_all(b"a");
        }
    };
    keep_up(&mut slow);
    // A legitimate client still gets its answer in good time.
    let t0 = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = sock.clone();
    std::thread::spawn(move || {
        let _ = tx.send(call(&s2, "supervisor.getState", &[]));
    });
    let answer = loop {
        keep_up(&mut slow);
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(a) => break a,
            Err(_) if t0.elapsed() > Duration::from_secs(10) => {
                panic!("no answer in 10 s while a slowloris holds the connections")
            }
            Err(_) => {}
        }
    };
    eprintln!(
        "getState under a slowloris of 300 ({:?}…): {:?}",
        String::from_utf8_lossy(&prefix[prefix.len() - 8..]),
        t0.elapsed()
    );
    let answer = answer.unwrap();
    assert_eq!(answer.get("statename"), Some(&Value::str("RUNNING")));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    answers_status(&sock);
    drop(slow);
    assert_eq!(table(&sock), before);
    shutdown(&sock, p);
}
