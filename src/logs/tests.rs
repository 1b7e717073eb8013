//! Tests of the `Logs` facade and the pump, with real pipes and files.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::config::SupervisordSpec;

pub(crate) fn log_spec(target: LogTarget, maxbytes: u64, backups: u32) -> LogSpec {
    LogSpec {
        maxbytes,
        backups,
        ..LogSpec::new(target)
    }
}

pub(crate) fn process(name: &str, stdout: LogSpec, stderr: LogSpec) -> ProcessSpec {
    ProcessSpec {
        stdout,
        stderr,
        ..ProcessSpec::new(name, &["true"])
    }
}

pub(crate) fn config(childlogdir: &Path, procs: Vec<ProcessSpec>) -> Config {
    Config::of_processes(
        SupervisordSpec {
            logfile: LogTarget::None,
            pidfile: None,
            silent: true,
            nocleanup: false,
            ..SupervisordSpec::new(childlogdir, childlogdir)
        },
        procs,
    )
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
}

/// A console whose output a test reads back; returns the reader end.
fn test_console() -> (Console, std::fs::File) {
    let (r, w) = pipe();
    (Console::from_fd(w), std::fs::File::from(r))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every file of a rotated log, oldest first, concatenated.
fn rotated_contents(p: &Path, backups: u32) -> Vec<u8> {
    let mut all = Vec::new();
    for i in (1..=backups).rev() {
        if let Ok(b) = std::fs::read(rotate::numbered(p, i)) {
            all.extend_from_slice(&b);
        }
    }
    all.extend_from_slice(&std::fs::read(p).unwrap_or_default());
    all
}

fn numbered_lines(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        v.extend_from_slice(format!("{i:08} the quick brown fox\n").as_bytes());
    }
    v
}

#[test]
fn pump_is_lossless_across_rotation_and_drains_to_eof() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("x.log");
    let spec = process(
        "x",
        log_spec(LogTarget::File(p.clone()), 10_000, 10_000),
        log_spec(LogTarget::None, 0, 0),
    );
    let logs = Logs::new(&config(d.path(), vec![spec.clone()]));
    let (r, w) = pipe();
    let data = numbered_lines(50_000);
    let expect = data.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::from(w);
        // Odd write sizes: rotation points fall mid-line.
        for c in data.chunks(7777) {
            f.write_all(c).unwrap();
        }
    });
    rt().block_on(async {
        logs.pump_tapped(&spec, Stream::Stdout, r, None)
            .unwrap()
            .await
            .unwrap()
    });
    writer.join().unwrap();
    let got = rotated_contents(&p, 10_000);
    assert_eq!(got.len(), expect.len());
    assert!(got == expect, "content differs");
    // Every backup reached the limit; at most one read chunk above it.
    for i in 1..=5 {
        let len = std::fs::metadata(rotate::numbered(&p, i)).unwrap().len();
        assert!(
            (10_000..10_000 + pump::READ_BUF as u64).contains(&len),
            "{len}"
        );
    }
}

#[test]
fn console_output_is_prefixed_and_tail_is_kept_in_memory() {
    let d = tempfile::tempdir().unwrap();
    let (out, mut out_r) = test_console();
    let (err, mut err_r) = test_console();
    let mut spec = process(
        "web",
        log_spec(LogTarget::Stdout, 50, 10),
        log_spec(LogTarget::Stderr, 0, 0),
    );
    spec.stdout.also = vec![LogTarget::File(PathBuf::from("/dev/stdout"))];
    let logs = Logs::with_consoles(&config(d.path(), vec![spec.clone()]), out, err);
    let (r1, w1) = pipe();
    let (r2, w2) = pipe();
    std::fs::File::from(w1)
        .write_all(b"GET / 200\nGET /x 404\npartial")
        .unwrap();
    std::fs::File::from(w2).write_all(b"oops\n").unwrap();
    rt().block_on(async {
        let a = logs.pump_tapped(&spec, Stream::Stdout, r1, None).unwrap();
        let b = logs.pump_tapped(&spec, Stream::Stderr, r2, None).unwrap();
        a.await.unwrap();
        b.await.unwrap();
    });
    assert!(logs.flush(Duration::from_secs(10)));
    let mut buf = vec![0; 4096];
    let n = out_r.read(&mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        b"web | GET / 200\nweb | GET /x 404\nweb | partial\n",
        "listed twice, written once"
    );
    let n = err_r.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"web | oops\n");
    // The tail holds the raw bytes (no prefix), with supervisord's offsets.
    assert_eq!(
        logs.read("web", Stream::Stdout, 0, 0).unwrap(),
        b"GET / 200\nGET /x 404\npartial"
    );
    assert_eq!(
        logs.tail("web", Stream::Stdout, 0, 7),
        (b"partial".to_vec(), 28, true)
    );
    assert_eq!(
        logs.tail("web", Stream::Stderr, 5, 100),
        (Vec::new(), 5, false)
    );
    assert_eq!(logs.logfile("web", Stream::Stdout), None);
    assert!(logs.clear("web"));
    assert_eq!(logs.read("web", Stream::Stdout, 0, 0).unwrap(), b"");
    assert_eq!(
        logs.read("nope", Stream::Stdout, 0, 0),
        Err(ReadError::NoFile)
    );
}

#[test]
fn prefix_off_passes_bytes_through_and_ends_the_last_line() {
    let d = tempfile::tempdir().unwrap();
    let (out, mut out_r) = test_console();
    let (err, _err_r) = test_console();
    let mut spec = process(
        "raw",
        log_spec(LogTarget::Stdout, 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    spec.console_prefix = ConsolePrefix::Off;
    let logs = Logs::with_consoles(&config(d.path(), vec![spec.clone()]), out, err);
    let (r, w) = pipe();
    let bytes: Vec<u8> = b"\xff\xfe invalid utf-8\n\x00no newline at end".to_vec();
    std::fs::File::from(w).write_all(&bytes).unwrap();
    rt().block_on(async {
        logs.pump_tapped(&spec, Stream::Stdout, r, None)
            .unwrap()
            .await
            .unwrap()
    });
    assert!(logs.flush(Duration::from_secs(10)));
    let mut buf = vec![0; 4096];
    let n = out_r.read(&mut buf).unwrap();
    // Only a newline is added, after the unterminated last line, so the next line is not glued to it.
    let mut expect = bytes.clone();
    expect.push(b'\n');
    assert_eq!(&buf[..n], &expect[..]);
}

#[test]
fn two_processes_share_one_file_and_file_plus_console_both_get_everything() {
    let d = tempfile::tempdir().unwrap();
    let shared = d.path().join("shared.log");
    let (out, mut out_r) = test_console();
    let (err, _err_r) = test_console();
    let mut a = process(
        "a",
        log_spec(LogTarget::File(shared.clone()), 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    a.stdout.also = vec![LogTarget::Stdout];
    let b = process(
        "b",
        log_spec(LogTarget::File(shared.clone()), 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    let logs = Logs::with_consoles(&config(d.path(), vec![a.clone(), b.clone()]), out, err);
    let (ra, wa) = pipe();
    let (rb, wb) = pipe();
    std::fs::File::from(wa).write_all(b"from a\n").unwrap();
    std::fs::File::from(wb).write_all(b"from b\n").unwrap();
    rt().block_on(async {
        logs.pump_tapped(&a, Stream::Stdout, ra, None)
            .unwrap()
            .await
            .unwrap();
        logs.pump_tapped(&b, Stream::Stdout, rb, None)
            .unwrap()
            .await
            .unwrap();
    });
    assert_eq!(std::fs::read(&shared).unwrap(), b"from a\nfrom b\n");
    assert!(logs.flush(Duration::from_secs(10)));
    let mut buf = vec![0; 100];
    let n = out_r.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"a | from a\n");
    assert_eq!(logs.logfile("a", Stream::Stdout), Some(shared.clone()));
    // With a file, read/tail come from the file.
    assert_eq!(logs.read("b", Stream::Stdout, -7, 0).unwrap(), b"from b\n");
}

#[test]
fn reopen_follows_logrotate_and_strip_ansi_applies_to_files() {
    reopen_case(true);
}

#[test]
fn reopen_follows_logrotate_on_the_splice_path() {
    reopen_case(false);
}

fn reopen_case(strip_ansi: bool) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.log");
    let spec = process(
        "c",
        log_spec(LogTarget::File(p.clone()), 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    let mut cfg = config(d.path(), vec![spec.clone()]);
    cfg.supervisord.strip_ansi = strip_ansi;
    let logs = Logs::new(&cfg);
    let (r, w) = pipe();
    let mut w = std::fs::File::from(w);
    let rt = rt();
    rt.block_on(async {
        let h = logs.pump_tapped(&spec, Stream::Stdout, r, None).unwrap();
        if strip_ansi {
            w.write_all(b"\x1b[32mgreen\x1b[0m\n").unwrap();
        } else {
            w.write_all(b"green\n").unwrap();
        }
        wait_until(|| std::fs::read(&p).unwrap_or_default() == b"green\n").await;
        std::fs::rename(&p, d.path().join("c.log.old")).unwrap();
        logs.reopen();
        w.write_all(b"after\n").unwrap();
        drop(w);
        h.await.unwrap();
    });
    assert_eq!(
        std::fs::read(d.path().join("c.log.old")).unwrap(),
        b"green\n"
    );
    assert_eq!(std::fs::read(&p).unwrap(), b"after\n");
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[test]
fn missing_log_directory_keeps_the_program_running() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("later").join("m.log");
    let spec = process(
        "m",
        log_spec(LogTarget::File(p.clone()), 1000, 2),
        log_spec(LogTarget::None, 0, 0),
    );
    let logs = Logs::new(&config(d.path(), vec![spec.clone()]));
    let (r, w) = pipe();
    let dir = p.parent().unwrap().to_path_buf();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::File::from(w);
        // The pipe keeps draining although nothing can be written: the child never blocks on a dead sink.
        for _ in 0..64 {
            w.write_all(&[b'x'; 65536]).unwrap();
        }
        std::fs::create_dir(dir).unwrap();
        w.write_all(b"back\n").unwrap();
    });
    rt().block_on(async {
        logs.pump_tapped(&spec, Stream::Stdout, r, None)
            .unwrap()
            .await
            .unwrap()
    });
    writer.join().unwrap();
    assert!(rotated_contents(&p, 2).ends_with(b"back\n"));
}

#[test]
fn slow_console_blocks_the_child_instead_of_buffering_or_dropping() {
    let d = tempfile::tempdir().unwrap();
    let (out, out_r) = test_console();
    let (err, _err_r) = test_console();
    let spec = process(
        "s",
        log_spec(LogTarget::Stdout, 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    let logs = Logs::with_consoles(&config(d.path(), vec![spec.clone()]), out, err);
    let (r, w) = pipe();
    const TOTAL: usize = 64 << 20;
    let written = Arc::new(AtomicUsize::new(0));
    let progress = written.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::from(w);
        let line = [b'z'; 1023];
        let mut buf = Vec::new();
        while progress.load(Ordering::Relaxed) < TOTAL {
            buf.clear();
            for _ in 0..64 {
                buf.extend_from_slice(&line);
                buf.push(b'\n');
            }
            f.write_all(&buf).unwrap();
            progress.fetch_add(buf.len(), Ordering::Relaxed);
        }
    });
    let rt_thread = {
        let logs = logs.clone();
        std::thread::spawn(move || {
            rt().block_on(async {
                logs.pump_tapped(&spec, Stream::Stdout, r, None)
                    .unwrap()
                    .await
                    .unwrap()
            })
        })
    };
    // Nobody reads the console yet: the child must stall once the pipes and the bounded queue are full.
    let bound = 8 << 20;
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        assert!(
            written.load(Ordering::Relaxed) < bound,
            "child was never blocked: output is buffered without bound"
        );
        std::thread::yield_now();
    }
    // Now read everything: every line arrives, whole and prefixed.
    let mut reader = std::io::BufReader::new(out_r);
    let mut line = Vec::new();
    let mut lines = 0;
    while lines < TOTAL / 1024 {
        line.clear();
        std::io::BufRead::read_until(&mut reader, b'\n', &mut line).unwrap();
        assert_eq!(line.len(), 4 + 1024, "torn or unprefixed line");
        assert!(line.starts_with(b"s | z"));
        lines += 1;
    }
    writer.join().unwrap();
    rt_thread.join().unwrap();
}

#[test]
fn auto_logs_are_named_like_supervisord_and_cleaned_at_start() {
    let d = tempfile::tempdir().unwrap();
    let old = d.path().join("web-stdout---supervisor-abcd1234.log");
    let old_backup = d.path().join("web-stdout---supervisor-abcd1234.log.3");
    let other = d.path().join("web-stdout---other-abcd1234.log");
    let keep = d.path().join("notes.txt");
    for f in [&old, &old_backup, &other, &keep] {
        std::fs::write(f, b"x").unwrap();
    }
    let spec = process(
        "web",
        log_spec(LogTarget::Auto, 0, 0),
        log_spec(LogTarget::Auto, 0, 0),
    );
    let logs = Logs::new(&config(d.path(), vec![spec]));
    assert!(!old.exists() && !old_backup.exists());
    assert!(other.exists() && keep.exists());
    let out = logs.logfile("web", Stream::Stdout).unwrap();
    let err = logs.logfile("web", Stream::Stderr).unwrap();
    assert_ne!(out, err);
    for (p, ch) in [(&out, "stdout"), (&err, "stderr")] {
        let name = p.file_name().unwrap().to_str().unwrap();
        let prefix = format!("web-{ch}---supervisor-");
        assert!(
            name.starts_with(&prefix) && name.ends_with(".log"),
            "{name}"
        );
        let rand = &name[prefix.len()..name.len() - 4];
        assert_eq!(rand.len(), 8);
        assert!(rand
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        assert!(
            !p.exists(),
            "not created before the program writes or someone reads it"
        );
    }
    assert_eq!(
        logs.tail("web", Stream::Stdout, 0, 0),
        (Vec::new(), 0, false)
    );
    assert!(out.exists(), "created by the first read, empty");
    assert!(!err.exists());
    let mut cfg = config(d.path(), Vec::new());
    cfg.supervisord.nocleanup = true;
    let _ = Logs::new(&cfg);
    assert!(out.exists());
    let _ = Logs::new(&config(d.path(), Vec::new()));
    assert!(!out.exists());
}

#[test]
fn auto_log_name_pattern() {
    for yes in [
        "a---supervisor-b.log",
        "web-stdout---supervisor-x_1.log.10",
        "a---supervisor-b.logfoo",
    ] {
        assert!(is_auto_log_name(yes, "supervisor"), "{yes}");
    }
    for no in [
        "---supervisor-b.log",
        "a---supervisor-.log",
        "a---supervisor- b.log",
        "a---other-b.log",
        "x.log",
    ] {
        assert!(!is_auto_log_name(no, "supervisor"), "{no}");
    }
}

#[test]
fn unwritable_childlogdir_falls_back_to_the_memory_tail() {
    let d = tempfile::tempdir().unwrap();
    let spec = process(
        "q",
        log_spec(LogTarget::Auto, 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    let logs = Logs::new(&config(&d.path().join("missing"), vec![spec.clone()]));
    assert_eq!(logs.logfile("q", Stream::Stdout), None);
    let (r, w) = pipe();
    std::fs::File::from(w).write_all(b"still here\n").unwrap();
    rt().block_on(async {
        logs.pump_tapped(&spec, Stream::Stdout, r, None)
            .unwrap()
            .await
            .unwrap()
    });
    assert_eq!(
        logs.read("q", Stream::Stdout, 0, 0).unwrap(),
        b"still here\n"
    );
}

#[test]
fn a_prompt_without_newline_shows_after_a_short_wait() {
    let d = tempfile::tempdir().unwrap();
    let (out, mut out_r) = test_console();
    let (err, _err_r) = test_console();
    let spec = process(
        "p",
        log_spec(LogTarget::Stdout, 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    let logs = Logs::with_consoles(&config(d.path(), vec![spec.clone()]), out, err);
    let (r, w) = pipe();
    let mut w = std::fs::File::from(w);
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        let mut told = false;
        while !got.ends_with(b"next\n") {
            let n = out_r.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
            if !told && got.ends_with(b"p | Password: \n") {
                told = true;
                seen_tx.send(()).unwrap();
            }
        }
        got
    });
    rt().block_on(async {
        let h = logs.pump_tapped(&spec, Stream::Stdout, r, None).unwrap();
        w.write_all(b"Password: ").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen_rx.try_recv().is_err() {
            assert!(
                Instant::now() < deadline,
                "the prompt never reached the console"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        w.write_all(b"secret\nnext\n").unwrap();
        drop(w);
        h.await.unwrap();
    });
    // The flushed piece is a line of its own; its continuation is prefixed again.
    assert_eq!(
        reader.join().unwrap(),
        b"p | Password: \np | secret\np | next\n"
    );
}

#[test]
fn loglevel_debug_copies_child_output_into_the_main_log() {
    let d = tempfile::tempdir().unwrap();
    let spec = process(
        "dbg",
        log_spec(LogTarget::None, 0, 0),
        log_spec(LogTarget::None, 0, 0),
    );
    let mut cfg = config(d.path(), vec![spec.clone()]);
    cfg.supervisord.loglevel = LogLevel::Debug;
    cfg.supervisord.logfile = LogTarget::File(d.path().join("main.log"));
    let (main, _) = MainLog::new(&cfg.supervisord);
    let logs = Logs::new(&cfg);
    let sub = tracing_subscriber::fmt()
        .event_format(main_log::SupervisordFormat)
        .with_writer(main.clone())
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let (r, w) = pipe();
    std::fs::File::from(w).write_all(b"hello\n").unwrap();
    tracing::subscriber::with_default(sub, || {
        rt().block_on(async {
            logs.pump_tapped(&spec, Stream::Stdout, r, None)
                .unwrap()
                .await
                .unwrap()
        })
    });
    let text = std::fs::read_to_string(d.path().join("main.log")).unwrap();
    assert!(
        text.contains(" DEBG 'dbg' stdout output:\nhello\n"),
        "{text:?}"
    );
}

#[test]
fn output_that_is_not_utf8_is_shown_as_python_shows_bytes() {
    assert_eq!(super::output_text(b"caf\xc3\xa9\n"), "café\n");
    assert_eq!(
        super::output_text(b"a\xff'\\\t\n\x01"),
        "Undecodable: b\"a\\xff'\\\\\\t\\n\\x01\""
    );
    assert_eq!(super::output_text(b"\xfe'\""), "Undecodable: b'\\xfe\\'\"'");
}

/// How many of this process's fds are open on `path`.
fn fds_on(path: &Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target == path)
        .count()
}

/// removeProcessGroup frees its processes' log streams: the file closes once its last user is gone.
#[test]
fn removing_a_process_closes_its_log_file() {
    let d = tempfile::tempdir().unwrap();
    let shared = d.path().join("shared.log");
    let own = d.path().join("own.log");
    let spec = |name: &str, stdout: &Path| {
        process(
            name,
            log_spec(LogTarget::File(stdout.to_path_buf()), 0, 0),
            log_spec(LogTarget::None, 0, 0),
        )
    };
    let (out, _out_r) = test_console();
    let (err, _err_r) = test_console();
    let logs = Logs::with_consoles(&config(d.path(), vec![]), out, err);
    logs.add_process(&spec("a", &shared));
    logs.add_process(&spec("b", &shared));
    logs.add_process(&spec("c", &own));
    assert_eq!((fds_on(&shared), fds_on(&own)), (1, 1));
    logs.remove_process("c");
    assert_eq!(logs.logfile("c", Stream::Stdout), None);
    assert_eq!(fds_on(&own), 0);
    // A file another process still writes stays open until that one goes too.
    logs.remove_process("a");
    assert_eq!(fds_on(&shared), 1);
    assert_eq!(logs.logfile("b", Stream::Stdout), Some(shared.clone()));
    logs.remove_process("b");
    assert_eq!(fds_on(&shared), 0);
}
