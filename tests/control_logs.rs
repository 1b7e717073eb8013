//! Process logs through the control server of the running steward (engine behind it), black box:
//! `tail`, `tail -f` (steward ctl and the stock supervisorctl) on a program that logs only to the
//! console, and `clear` going through the log writers so that later output and rotation stay right;
//! a `/logtail` stream across a clear and the removal of its group.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::http::shutdown;
use common::{wait_for, Pid1};
use steward::control::xmlrpc::{decode_response, encode_call, Fault, Value};

const T: Duration = Duration::from_secs(10);

/// `web` reads its stdin and writes it back to the console only; `rot` does the same into a file
/// that rotates at 1000 bytes.
const PROGRAMS: &str = "[unix_http_server]\nfile={dir}/sock\n\n\
[supervisorctl]\nserverurl=unix://{dir}/sock\n\n\
[program:web]\ncommand=/bin/cat\nstartsecs=0\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n\n\
[program:rot]\ncommand=/bin/cat\nstartsecs=0\nstdout_logfile={dir}/rot.log\n\
stdout_logfile_maxbytes=1000\nstdout_logfile_backups=3\n";

fn call(sock: &Path, method: &str, params: &[Value]) -> Result<Value, Fault> {
    let mut s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(T)).unwrap();
    let body = encode_call(method, params);
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let start = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(out.len());
    decode_response(&out[start..]).expect("an XML-RPC response")
}

fn stdin(sock: &Path, name: &str, text: &str) {
    call(
        sock,
        "supervisor.sendProcessStdin",
        &[Value::str(name), Value::str(text)],
    )
    .unwrap();
}

fn both_running(sock: &Path) {
    wait_for(T, "web and rot RUNNING", || {
        if !sock.exists() {
            return None;
        }
        let Ok(Value::Array(all)) = call(sock, "supervisor.getAllProcessInfo", &[]) else {
            return None;
        };
        let running = all
            .iter()
            .filter(|p| p.get("statename") == Some(&Value::str("RUNNING")))
            .count();
        (running == 2).then_some(())
    });
}

/// The whole stdout log of a process as `readProcessStdoutLog(name, 0, 0)` returns it.
fn read_all(sock: &Path, name: &str) -> String {
    match call(
        sock,
        "supervisor.readProcessStdoutLog",
        &[Value::str(name), Value::Int(0), Value::Int(0)],
    ) {
        Ok(Value::String(s)) => s,
        other => panic!("readProcessStdoutLog {name}: {other:?}"),
    }
}

fn ctl(conf: &Path, args: &[&str]) -> Output {
    Command::new(common::bin())
        .arg("ctl")
        .arg("-c")
        .arg(conf)
        .args(args)
        .output()
        .expect("run steward ctl")
}

/// The stock supervisorctl that `scripts/test.sh` provides.
fn supervisorctl() -> PathBuf {
    let Some(p) = std::env::var_os("SUPERVISORCTL").map(PathBuf::from) else {
        common::missing("the stock supervisorctl (SUPERVISORCTL)");
    };
    if !p.is_file() {
        common::missing(&format!("the stock supervisorctl at {}", p.display()));
    }
    p
}

/// A running `tail -f` client whose output is collected by a reader thread.
struct Follow {
    child: std::process::Child,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    got: Vec<u8>,
}

impl Follow {
    fn start(mut cmd: Command) -> Follow {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tail -f");
        let mut out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Follow {
            child,
            rx,
            got: Vec::new(),
        }
    }

    /// Everything received so far, once it contains `needle`.
    fn until(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + T;
        loop {
            let text = String::from_utf8_lossy(&self.got).to_string();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "tail -f never showed {needle:?}: {text:?}"
            );
            if let Ok(chunk) = self.rx.recv_timeout(Duration::from_millis(100)) {
                self.got.extend(chunk);
            }
        }
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tail_and_tail_f_work_for_a_program_that_logs_only_to_the_console() {
    let (p, dir) = Pid1::with_conf(PROGRAMS);
    let sock = dir.path().join("sock");
    let conf = dir.path().join("supervisord.conf");
    both_running(&sock);
    stdin(&sock, "web", "hello-console\n");
    // On the console (prefixed), and in the in-memory tail (raw).
    p.wait_stdout("web | hello-console", T);
    wait_for(T, "the in-memory tail", || {
        read_all(&sock, "web")
            .contains("hello-console")
            .then_some(())
    });

    // supervisord would answer NO_FILE here: there is no log file.
    // supervisorctl ends what it prints with a newline of its own.
    let o = ctl(&conf, &["tail", "web"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "hello-console\n\n",
        "{o:?}"
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = ctl(&conf, &["tail", "-5", "web"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "sole\n\n", "{o:?}");

    let mut cmd = Command::new(common::bin());
    cmd.arg("ctl")
        .arg("-c")
        .arg(&conf)
        .args(["tail", "-f", "web"]);
    let mut f = Follow::start(cmd);
    let seen = f.until("hello-console\n");
    assert!(seen.starts_with("==> Press Ctrl-C to exit <=="), "{seen}");
    stdin(&sock, "web", "while-following\n");
    f.until("while-following\n");
    drop(f);

    let sctl = supervisorctl();
    let o = Command::new(&sctl)
        .arg("-c")
        .arg(&conf)
        .args(["tail", "web"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "hello-console\nwhile-following\n\n",
        "{o:?}"
    );
    let mut cmd = Command::new(&sctl);
    cmd.arg("-c").arg(&conf).args(["tail", "-f", "web"]);
    let mut f = Follow::start(cmd);
    f.until("while-following\n");
    stdin(&sock, "web", "stock-follow\n");
    f.until("stock-follow\n");

    // clear empties the in-memory tail too; only what comes after shows.
    let o = ctl(&conf, &["clear", "web"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "web: cleared\n",
        "{o:?}"
    );
    assert_eq!(read_all(&sock, "web"), "");
    stdin(&sock, "web", "after-clear\n");
    wait_for(T, "output after the clear", || {
        (!read_all(&sock, "web").is_empty()).then_some(())
    });
    let o = ctl(&conf, &["tail", "web"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "after-clear\n\n",
        "{o:?}"
    );
    shutdown(&sock, p);
}

fn file_len(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

/// Send `text` to rot and wait until its log file holds `len` bytes.
fn rot_write(sock: &Path, log: &Path, text: &str, len: u64) {
    stdin(sock, "rot", text);
    wait_for(T, &format!("{} to hold {len} bytes", log.display()), || {
        (file_len(log) == Some(len)).then_some(())
    });
}

#[test]
fn clear_goes_through_the_writer_so_later_output_and_rotation_stay_right() {
    let (p, dir) = Pid1::with_conf(PROGRAMS);
    let sock = dir.path().join("sock");
    let conf = dir.path().join("supervisord.conf");
    let log = dir.path().join("rot.log");
    let backup = dir.path().join("rot.log.1");
    both_running(&sock);
    let line = |c: char, n: usize| format!("{}\n", c.to_string().repeat(n - 1));

    rot_write(&sock, &log, &line('a', 600), 600);
    let o = ctl(&conf, &["clear", "rot"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "rot: cleared\n",
        "{o:?}"
    );
    assert_eq!(file_len(&log), Some(0));

    // 900 bytes after the clear: below maxbytes, so no rotation. A writer that still counted the
    // 600 bytes from before would have rotated at 1200 - and, writing at its old offset, left a
    // hole of NULs at the start of the file.
    rot_write(&sock, &log, &line('b', 300), 300);
    rot_write(&sock, &log, &line('c', 300), 600);
    rot_write(&sock, &log, &line('d', 300), 900);
    assert!(!backup.exists(), "rotated below maxbytes");
    let expect = line('b', 300) + &line('c', 300) + &line('d', 300);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), expect);
    assert_eq!(read_all(&sock, "rot"), expect);

    // Reaching maxbytes rotates: the whole post-clear output moves to rot.log.1.
    stdin(&sock, "rot", &line('e', 200));
    // The fresh file follows the rename by a moment: wait for both.
    wait_for(T, "rotation at 1000 bytes into a fresh file", || {
        (file_len(&backup) == Some(1100) && file_len(&log) == Some(0)).then_some(())
    });
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        expect + &line('e', 200)
    );
    rot_write(&sock, &log, &line('f', 10), 10);
    let o = ctl(&conf, &["tail", "rot"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        line('f', 10) + "\n",
        "{o:?}"
    );
    shutdown(&sock, p);
}

/// Reads `s` until what came in so far satisfies `done`.
fn read_until(s: &mut UnixStream, got: &mut Vec<u8>, what: &str, done: impl Fn(&[u8]) -> bool) {
    let mut buf = [0u8; 4096];
    while !done(got) {
        let n = s
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("{e} before {what}: {:?}", String::from_utf8_lossy(got)));
        assert!(
            n > 0,
            "closed before {what}: {:?}",
            String::from_utf8_lossy(got)
        );
        got.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn a_log_tail_follows_a_clear_and_ends_with_its_group() {
    let (p, dir) = Pid1::with_conf(PROGRAMS);
    let sock = dir.path().join("sock");
    let conf = dir.path().join("supervisord.conf");
    both_running(&sock);
    let mut s = UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"GET /logtail/rot HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, "the head", |g| {
        g.windows(4).any(|w| w == b"\r\n\r\n")
    });
    let has = |needle: String| move |g: &[u8]| String::from_utf8_lossy(g).contains(&needle);
    stdin(&sock, "rot", "the first line\n");
    read_until(
        &mut s,
        &mut got,
        "the first line",
        has("first line\n".into()),
    );
    // Cleared: followed again from the new file's start (a log is known to have been cleared by
    // being shorter than where the tail was, as for supervisord's `tail -f`).
    assert!(ctl(&conf, &["clear", "rot"]).status.success());
    stdin(&sock, "rot", "two\n");
    read_until(&mut s, &mut got, "two", has("two\n".into()));
    // Its group stopped and removed: the stream ends (the last chunk of a chunked body).
    assert!(ctl(&conf, &["stop", "rot"]).status.success());
    call(&sock, "supervisor.removeProcessGroup", &[Value::str("rot")]).unwrap();
    read_until(&mut s, &mut got, "the end of the stream", |g| {
        g.ends_with(b"\r\n0\r\n\r\n")
    });
    shutdown(&sock, p);
}
